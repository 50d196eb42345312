#!/usr/bin/env bash
# Install everything the test suite needs, from scratch, then run all of it.
# Debian packages: xvfb (ImageJ macros and napari need a display), a JDK (javac), chromium + chromium-driver, the
# X/GL libraries of Qt. Python: this package
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
# napari's Qt (PyQt6 wheels) needs these X/GL libraries; its tests run in a real viewer under Xvfb (pytest-xvfb).
for pkg in libgl1 libegl1 libdbus-1-3 libfontconfig1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 \
           libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0 \
           libxcb-cursor0; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
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
