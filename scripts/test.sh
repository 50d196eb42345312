#!/usr/bin/env bash
# Install everything the test suite needs, from scratch, then run all of it.
# Debian packages: xvfb (ImageJ macros need a display), a JDK (javac), chromium + chromium-driver. Python: this package
# with its test extra (TensorFlow CPU, csbdeep, scyjava, ...). Java jars
# (ImageJ 1.53t) are resolved from Maven Central on first use and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v xvfb-run >/dev/null 2>&1 || need_apt+=(xvfb)
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)  # TF Java check compiles a runner
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # the reproduce report is opened in headless Chromium
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)  # the full-disk tests mount a small tmpfs in a namespace
if ((${#need_apt[@]})); then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# The versions the suite passed with (constraints.txt); LUMICARE_NEWEST=1 tests the newest ones instead.
constraints=(-c constraints.txt)
[ "${LUMICARE_NEWEST:-0}" = "1" ] && constraints=()
python3 -m pip install --quiet --disable-pip-version-check "${constraints[@]}" -e ".[test]"
python3 -m pytest "$@"
