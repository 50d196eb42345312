"""Run the package's ImageJ macros (``lumicare_ij/ijm/*.ijm``) in the real ImageJ 1.53t.

The macros in ``lumicare_ij/ijm/`` are the paper's Fiji
analysis written as plain ImageJ macros, for users who want to run the
analysis themselves in Fiji (Plugins > Macros > Run..., or the macro editor).
This module runs the same files in ImageJ 1.53t from Python, which is how the
test-suite checks that they give exactly what :mod:`lumicare_ij.analysis` and
:mod:`lumicare_ij.ijops` compute.

How a macro is run
------------------
``xvfb-run -a java -cp <ij.jar>:<runner> LumicareMacroRunner -batch <macro.ijm> <argument>``

* ImageJ's ``-batch`` mode runs the macro without the ImageJ window and exits
  when it ends; ``print()`` output goes to stdout, which is returned as the log.
* ImageJ macro commands (``run("...")``) need a display, so the JVM runs under
  a virtual X server (``xvfb-run``, Debian/Ubuntu package ``xvfb``). Headless
  Java (``-Djava.awt.headless=true``) does not work: ImageJ 1.x builds its menus
  on the first ``run()`` and fails.
* A macro error in ImageJ opens a modal dialog, which would wait forever in a
  batch run. A small Java launcher (:data:`_RUNNER_SOURCE`, compiled once into
  the user cache with the JDK's ``javac``) starts ImageJ and watches for dialogs:
  when one opens it prints its text and stops the JVM, so the error reaches
  Python at once as :class:`MacroError`. Without a JDK compiler the plain
  ``ij.jar`` is run and only the timeout guards against such hangs.
* The macros end with ``exit("ERROR: ...")`` on bad input; in batch mode that
  message is printed, and any ``ERROR:`` line also raises :class:`MacroError`.
* By default ImageJ gets a fresh, empty preferences folder (``-Duser.home`` is
  a temporary folder), so a user's ImageJ settings cannot change the results;
  the macros set every option they rely on anyway.

The ImageJ jar is found as the ``imagej`` engine finds it
(:mod:`lumicare_ij.ijops.jvm`): ``LUMICARE_IJ_JAR``, a Fiji folder in
``LUMICARE_FIJI_DIR`` (its ``jars/ij-*.jar``), or ``net.imagej:ij:1.53t``
from the local Maven repository ``~/.m2`` - the same cached file the
in-process JVM uses, downloaded from Maven Central by scyjava's resolver (jgo)
on first use (see :func:`imagej_jar`).

Where the macros are
--------------------
The macros are package data in ``lumicare_ij/ijm/`` (installed with every
wheel and editable install). :func:`macro_path` looks in ``$LUMICARE_MACRO_DIR``
first, then in the package (``importlib.resources``). ``lumicare_ij/ijm/README.md``
documents the macros' parameters and their use in Fiji.
"""

from __future__ import annotations

from importlib import resources
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputNotFoundError, LumicareError, UserInputError
from .ijops import jvm
from .javatools import JavaSetupError, compile_java, exit_description, jdk_tool
from .ijops.jvm import IMAGEJ_MAVEN_ENDPOINT, ImageJUnavailableError

#: The macros shipped in ``lumicare_ij/ijm/`` (file names without ``.ijm``).
MACRO_NAMES = ("bin_and_upsample", "mask_mae", "nuclear_pearson", "mito_morphology")

#: Exit status of the launcher when ImageJ opened a dialog (an error or a question).
DIALOG_EXIT_STATUS = 86
_DIALOG_MARKER = "LUMICARE-IMAGEJ-DIALOG"
#: Exit status of the launcher when the jar is not the required ImageJ version.
VERSION_EXIT_STATUS = 87
_VERSION_MARKER = "LUMICARE-IMAGEJ-VERSION"
_ERROR_PREFIX = "ERROR:"
_JAVA_EXCEPTION = re.compile(r"^(Exception in thread .*|([\w$]+\.)+[\w$]*(Exception|Error)(:.*)?)$")

__all__ = ["MACRO_NAMES", "MacroError", "MacroEnvironmentError", "MacroRun", "macro_dir",
           "macro_path", "imagej_jar", "format_args", "run_macro"]


class MacroError(LumicareError, RuntimeError):
    """The macro failed: it reported an error, ImageJ opened a dialog, crashed or timed out.

    ``run`` holds the :class:`MacroRun` (command, log, stderr) when there is one.
    """

    def __init__(self, message: str, run: "MacroRun | None" = None):
        super().__init__(message)
        self.run = run


class MacroEnvironmentError(ImageJUnavailableError):
    """Java, Xvfb or the ImageJ jar is missing: the macro could not be started."""


@dataclass
class MacroRun:
    """What one macro run did."""

    macro: Path
    argument: str
    command: list[str]
    returncode: int
    log: str
    stderr: str
    seconds: float
    errors: list[str] = field(default_factory=list)
    imagej_version: str | None = None  # as IJ.getVersion() says (None without the launcher)

    def __str__(self) -> str:
        return (f"{self.macro.name} ({self.seconds:.1f} s, exit {self.returncode})\n"
                f"--- log ---\n{self.log}" + (f"--- stderr ---\n{self.stderr}" if self.stderr.strip() else ""))


# --------------------------------------------------------------------------
# Finding the macros
# --------------------------------------------------------------------------

def _candidate_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get("LUMICARE_MACRO_DIR")
    if env:
        dirs.append(Path(env))
    # Package data: a folder on disk for every ordinary install (wheel, editable, source tree).
    dirs.append(Path(str(resources.files("lumicare_ij") / "ijm")))
    return dirs


def macro_dir() -> Path:
    """The folder holding the shipped ``.ijm`` macros."""
    for folder in _candidate_dirs():
        if any((folder / f"{name}.ijm").is_file() for name in MACRO_NAMES):
            return folder
    raise InputNotFoundError(_not_found_message())


def _not_found_message(what: str = "The lumicare_ij ImageJ macros") -> str:
    searched = ", ".join(str(d) for d in _candidate_dirs())
    return (f"{what} not found (looked in {searched}). The macros are package data "
            "(lumicare_ij/ijm/); reinstall lumicare-ij, or set LUMICARE_MACRO_DIR to a folder that holds them.")


def macro_path(name: str) -> Path:
    """Path of a shipped macro, e.g. ``macro_path("mask_mae")`` (``.ijm`` optional)."""
    stem = name[:-4] if name.endswith(".ijm") else name
    if stem not in MACRO_NAMES:
        raise UserInputError(f"unknown macro {name!r}; the shipped macros are {', '.join(MACRO_NAMES)}")
    for folder in _candidate_dirs():
        if (folder / f"{stem}.ijm").is_file():
            return folder / f"{stem}.ijm"
    raise InputNotFoundError(_not_found_message(f"{stem}.ijm"))


# --------------------------------------------------------------------------
# Finding Java, Xvfb and ImageJ
# --------------------------------------------------------------------------

def imagej_jar() -> Path:
    """The ImageJ jar the ``imagej`` engine uses (see :func:`lumicare_ij.ijops.jvm.imagej_jar_path`)."""
    try:
        return jvm.imagej_jar_path()
    except jvm.ImageJUnavailableError as err:
        raise MacroEnvironmentError(str(err)) from None


def _find_java(java: str | os.PathLike | None) -> str:
    return os.fspath(java) if java else jdk_tool("java", error=MacroEnvironmentError)


def _find_xvfb_run() -> str:
    found = shutil.which("xvfb-run")
    if not found:
        raise MacroEnvironmentError(
            "xvfb-run was not found. ImageJ macros need a display; install the virtual X server "
            "with 'apt-get install xvfb' (Debian/Ubuntu; 'dnf install xorg-x11-server-Xvfb' on "
            "Fedora), or pass xvfb=False to use the current $DISPLAY.")
    return found


# --------------------------------------------------------------------------
# The launcher that turns ImageJ dialogs into errors
# --------------------------------------------------------------------------

_RUNNER_CLASS = "LumicareMacroRunner"
_RUNNER_SOURCE = """\
import java.awt.*;
import java.lang.reflect.Field;

/** Starts ImageJ (ij.ImageJ.main) and stops the JVM when a dialog stays open. */
public class LumicareMacroRunner {
    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(() -> {
            java.util.Set<Window> seen = java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>());
            while (true) {
                try { Thread.sleep(150); } catch (InterruptedException e) { return; }
                for (Window w : Window.getWindows()) {
                    // A window being constructed can look "showing" for an instant; a dialog
                    // that waits for the user has a peer and is still open at the next look.
                    boolean open = w instanceof Dialog && w.isDisplayable() && w.isShowing();
                    if (!open) { seen.remove(w); continue; }
                    if (seen.add(w)) continue;
                    StringBuilder text = new StringBuilder();
                    collect(w, text);
                    System.out.flush();
                    System.err.println("%(marker)s: " + ((Dialog) w).getTitle() + " (" + w.getClass().getName()
                                       + "): " + text.toString().trim().replace('\\n', ' '));
                    System.err.flush();
                    Runtime.getRuntime().halt(%(status)d);
                }
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();
        String have = (String) Class.forName("ij.IJ").getMethod("getVersion").invoke(null);
        String want = System.getProperty("lumicare.imagej.version");
        System.err.println("%(version_marker)s: " + have);
        if (want != null && !want.equals(have)) System.exit(%(version_status)d);
        Class.forName("ij.ImageJ").getMethod("main", String[].class).invoke(null, (Object) args);
    }

    static void collect(Component c, StringBuilder out) {
        if (c instanceof Label) out.append(((Label) c).getText()).append(' ');
        else if (c instanceof TextComponent) out.append(((TextComponent) c).getText()).append(' ');
        else {
            for (Field f : c.getClass().getDeclaredFields()) {  // e.g. ij.gui.MultiLineLabel
                if (f.getType() == String[].class) {
                    try {
                        f.setAccessible(true);
                        String[] lines = (String[]) f.get(c);
                        if (lines != null) for (String s : lines) out.append(s).append(' ');
                    } catch (Exception ignored) { }
                }
            }
        }
        if (c instanceof Container)
            for (Component child : ((Container) c).getComponents()) collect(child, out);
    }
}
""" % {"marker": _DIALOG_MARKER, "status": DIALOG_EXIT_STATUS, "version_marker": _VERSION_MARKER,
       "version_status": VERSION_EXIT_STATUS}


def _compiled_runner(java: str) -> Path | None:
    """Folder holding the compiled launcher, or None when no JDK compiler is available."""
    javac = Path(java).resolve().parent / "javac"
    javac_cmd = str(javac) if javac.is_file() else shutil.which("javac")
    if not javac_cmd:
        return None
    try:
        return compile_java({f"{_RUNNER_CLASS}.java": _RUNNER_SOURCE}, [], _RUNNER_CLASS, javac=javac_cmd)
    except OSError:  # read-only home: run without the dialog watchdog
        return None
    except JavaSetupError as err:
        warnings.warn("Could not compile the ImageJ dialog watchdog (macro errors will only be "
                      f"caught by the timeout): {str(err)[:500]}", RuntimeWarning, stacklevel=3)
        return None


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

def format_args(args: dict | None) -> str:
    """``{"input": "/a b", "factor": 4}`` -> ``"input=[/a b] factor=4"`` (ImageJ's option syntax)."""
    if not args:
        return ""
    parts = []
    for key, value in args.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, os.PathLike):
            text = os.fspath(value)
        else:
            text = str(value)
        if "[" in text or "]" in text:
            raise UserInputError(f"{key}={text!r}: ImageJ option values cannot contain '[' or ']'")
        if not text or any(ch.isspace() for ch in text):
            text = f"[{text}]"
        parts.append(f"{key}={text}")
    return " ".join(parts)


def run_macro(macro, args: dict | str | None = None, *, timeout: float = 600.0,
              jar: str | os.PathLike | None = None, java: str | os.PathLike | None = None,
              xvfb: bool = True, isolate_prefs: bool = True, memory: str | None = None,
              require_version: bool = True, check: bool = True,
              imagej_dir: str | os.PathLike | None = None) -> MacroRun:
    """Run an ImageJ macro file in ImageJ 1.53t in a subprocess; return its log.

    Parameters
    ----------
    macro : str or path
        A shipped macro name (see :data:`MACRO_NAMES`) or the path of any ``.ijm`` file.
    args : dict or str, optional
        The macro argument (``getArgument()``): a dict is written as
        ``key=value`` pairs (:func:`format_args`), a string is passed as is.
    timeout : float
        Seconds before ImageJ is killed and :class:`MacroError` raised.
    jar : path, optional
        The ImageJ jar; default :func:`imagej_jar`.
    java : path, optional
        The ``java`` executable; default ``$JAVA_HOME/bin/java`` or ``java`` on PATH.
    xvfb : bool
        Run under ``xvfb-run`` (default). False uses the current ``$DISPLAY``.
    isolate_prefs : bool
        Give ImageJ an empty preferences folder (default) instead of ``~/.imagej``.
    memory : str, optional
        Java heap limit, e.g. ``"4g"``.
    require_version : bool
        Refuse an ImageJ that is not 1.53t (the version lumicare_ij reproduces),
        as :func:`lumicare_ij.ijops.jvm.configure` does; checked by the launcher
        before the macro runs (not checked without a JDK compiler).
    check : bool
        Raise :class:`MacroError` when the macro fails (default); False returns
        the :class:`MacroRun` with ``errors`` filled in.
    imagej_dir : path, optional
        An ImageJ 1.x folder whose ``plugins/`` ImageJ installs as menu commands
        (``-Dplugins.dir``), e.g. one prepared by ``lumicare fiji install``;
        default: none, so only ImageJ's own commands exist.

    Raises
    ------
    MacroEnvironmentError
        Java, xvfb-run or the ImageJ jar is missing, or the jar is not ImageJ 1.53t.
    MacroError
        The macro printed an ``ERROR:`` line, ImageJ opened a dialog (a macro
        error), exited abnormally, or ran past ``timeout``.
    """
    path = Path(macro) if (os.fspath(macro).endswith(".ijm") or os.sep in os.fspath(macro)) else None
    if path is None:
        path = macro_path(os.fspath(macro))
    path = path.resolve()
    if not path.is_file():
        raise InputNotFoundError(f"macro file not found: {path}")
    argument = format_args(args) if isinstance(args, dict) or args is None else str(args)
    java_cmd = _find_java(java)
    jar_path = Path(jar) if jar else imagej_jar()
    if not jar_path.is_file():
        raise MacroEnvironmentError(f"ImageJ jar not found: {jar_path}")
    prefix = [_find_xvfb_run(), "-a", "-s", "-screen 0 1280x1024x24"] if xvfb else []
    if not xvfb and not os.environ.get("DISPLAY"):
        raise MacroEnvironmentError("xvfb=False needs a display, but $DISPLAY is not set; "
                                    "use xvfb=True (apt-get install xvfb).")

    with tempfile.TemporaryDirectory(prefix="lumicare-ij-") as home:
        options = ["-Duser.language=en", "-Duser.country=US", "-Dfile.encoding=UTF-8"]
        if isolate_prefs:
            options.append(f"-Duser.home={home}")
        if memory:
            options.append(f"-Xmx{memory}")
        if imagej_dir is not None:
            options.append(f"-Dplugins.dir={Path(imagej_dir).resolve()}")
        if require_version:
            options.append(f"-Dlumicare.imagej.version={jvm.IMAGEJ_VERSION}")
        runner = _compiled_runner(java_cmd)
        if runner is not None:
            launch = ["-cp", os.pathsep.join([str(jar_path), str(runner)]), _RUNNER_CLASS]
        else:
            launch = ["-jar", str(jar_path)]
        command = prefix + [java_cmd, *options, *launch, "-batch", str(path)]
        if argument:
            command.append(argument)
        for attempt in range(3):
            start = time.monotonic()
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=home, start_new_session=True)
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                out, err = proc.communicate()
                run = MacroRun(path, argument, command, proc.returncode, out, err, time.monotonic() - start)
                raise MacroError(f"{path.name} did not finish within {timeout:g} s and was stopped "
                                 f"(ImageJ may be waiting in a dialog).\n{_tail(run)}", run) from None
            finally:
                # Interrupted (Ctrl-C), or xvfb-run left its Xvfb behind (it can when the
                # command exits at once): never leave ImageJ or Xvfb running.
                _kill_group(proc)
            # xvfb-run -a can lose a race for a display number with a parallel run: retry.
            if not (xvfb and proc.returncode != 0 and "Xvfb failed to start" in err):
                break
            time.sleep(0.5 + attempt)
        seconds = time.monotonic() - start

    run = MacroRun(path, argument, command, proc.returncode, out, err, seconds)
    versions = [line.split(":", 1)[1].strip() for line in err.splitlines() if line.startswith(_VERSION_MARKER)]
    run.imagej_version = versions[0] if versions else None
    run.stderr = "\n".join(line for line in err.splitlines() if not line.startswith(_VERSION_MARKER))
    if proc.returncode == VERSION_EXIT_STATUS and runner is not None:
        raise MacroEnvironmentError(
            f"{jar_path} is ImageJ {run.imagej_version}, but lumicare_ij reproduces ImageJ "
            f"{jvm.IMAGEJ_VERSION} exactly. Use the {jvm.IMAGEJ_VERSION} jar (Maven {IMAGEJ_MAVEN_ENDPOINT}, "
            "LUMICARE_IJ_JAR) or pass require_version=False.")
    run.errors = _errors(run)
    if check and run.errors:
        raise MacroError(f"{path.name} failed: " + "; ".join(run.errors) + f"\n{_tail(run)}", run)
    return run


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill what is left of the run's own process group (ImageJ, xvfb-run, Xvfb)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM if proc.poll() is not None else signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait()


def _errors(run: MacroRun) -> list[str]:
    errors = [line.strip() for line in run.log.splitlines() if line.strip().startswith(_ERROR_PREFIX)]
    for line in run.stderr.splitlines():
        if line.startswith(_DIALOG_MARKER):
            errors.append("ImageJ opened a dialog - " + line[len(_DIALOG_MARKER) + 1:].strip())
    exceptions = [line for line in run.stderr.splitlines() if _JAVA_EXCEPTION.match(line.strip())]
    if exceptions:
        errors.append("Java raised " + exceptions[0].strip())
    if run.returncode not in (0, DIALOG_EXIT_STATUS):
        errors.append(f"ImageJ {exit_description(run.returncode, via_shell='xvfb-run' in run.command[0])}")
    elif run.returncode == DIALOG_EXIT_STATUS and not any("dialog" in e for e in errors):
        errors.append("ImageJ opened a dialog and was stopped")
    return errors


def _tail(run: MacroRun, lines: int = 40) -> str:
    log = "\n".join(run.log.splitlines()[-lines:])
    err = "\n".join(run.stderr.splitlines()[-lines:])
    cmd = " ".join(shlex.quote(c) for c in run.command)
    return f"command: {cmd}\n--- log (last lines) ---\n{log}\n--- stderr (last lines) ---\n{err}"
