"""Starting ImageJ: a missing jar, a wrong version, a JVM that cannot start each get a plain message.

A JVM starts once per process, so each case runs in a fresh Python process.
"""

import os
import subprocess
import sys
import textwrap


def _run(code: str, **env):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, timeout=120)


def _check_error(code: str, expected: str, **env):
    done = _run(f"""
        from lumicare_ij import ijops
        from lumicare_ij.ijops import jvm
        try:
        {textwrap.indent(textwrap.dedent(code), '    ')}
        except ijops.ImageJUnavailableError as err:
            print("ERROR:", err)
        """, **env)
    assert done.returncode == 0, done.stderr
    assert "ERROR:" in done.stdout and expected in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stdout


def test_missing_jar_says_what_to_set():
    _check_error("ijops.bin([[1, 2], [3, 4]], 2, engine='imagej')", "ImageJ jar not found",
                 LUMICARE_IJ_JAR="/nonexistent/ij.jar")


def test_folder_that_is_not_fiji():
    _check_error("jvm.imagej_classes()", "No jars/ij-*.jar inside the Fiji folder", LUMICARE_FIJI_DIR="/tmp")


def test_other_imagej_version_is_refused_unless_accepted():
    _check_error("jvm.IMAGEJ_VERSION = '1.99z'; jvm.imagej_classes()",
                 "lumicare_ij reproduces ImageJ 1.99z exactly")
    accepted = _run("""
        from lumicare_ij.ijops import jvm
        jvm.IMAGEJ_VERSION = '1.99z'
        jvm.configure(require_version=False)
        print(jvm.imagej_classes().IJ.getVersion())
        """)
    assert accepted.stdout.strip() == "1.53t", accepted.stderr


def test_jvm_that_cannot_start():
    _check_error("import scyjava; scyjava.config.add_option('-XX:+ThisOptionDoesNotExist'); jvm.imagej_classes()",
                 "Could not start Java with ImageJ")


def test_configure_after_start_is_refused():
    _check_error("jvm.imagej_classes(); jvm.configure(ij_jar='/x.jar')", "configure() before the first")
