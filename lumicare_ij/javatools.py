"""Java for the package, found and used one way: JDK tools, Maven artifacts, compiled helpers, fresh JVMs.

Every part of the package that needs Java outside the in-process JVM (the
TensorFlow Java check, the Java Fiji pipeline, the ImageJ macro launcher,
the ImageJ jar itself) goes through here, so they agree on:

- **which Java**: ``$JAVA_HOME/bin/<tool>`` if it exists, else the tool on ``PATH``;
- **which Maven repository**: ``$M2_REPO`` if set, else the one jgo (scyjava's
  pure-Python Maven resolver) is configured with, else ``~/.m2/repository``.
  An artifact already there is used as is; otherwise jgo downloads it from
  Maven Central, and failing that ``mvn dependency:get`` does;
- **which cache** for compiled helper classes: ``$LUMICARE_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/lumicare_ij``, else ``~/.cache/lumicare_ij``; one folder per
  content hash of the sources, so an edited source is compiled anew.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path

from .errors import LumicareError


class JavaSetupError(LumicareError, RuntimeError):
    """Java, a Maven artifact or a compiled helper is missing or failed; the message says what to install."""


def jdk_tool(name: str, error: type[Exception] = JavaSetupError) -> str:
    """Path of a JDK tool (``java``, ``javac``): ``$JAVA_HOME/bin`` first, then ``PATH``."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / name).is_file():
        return str(Path(java_home) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise error(f"'{name}' was not found (not in $JAVA_HOME/bin, not on PATH). Install a JDK 11 or newer, "
                    "e.g. 'apt-get install openjdk-17-jdk-headless' (Debian/Ubuntu), or set JAVA_HOME.")
    return found


def check_jar(jar: Path, required_entry: str, error: type[Exception] = JavaSetupError, what: str = "jar") -> Path:
    """``jar`` if it is a whole ZIP holding ``required_entry``; else ``error`` saying so and what to do.

    Java reports a damaged jar only as "class not found", long after the
    start, which reads like a class-path mistake; checked first, a cut
    download or a file that is not a jar at all is named as such.
    """
    again = "Download it again, or point to a good copy."
    try:
        with zipfile.ZipFile(jar) as z:
            names = set(z.namelist())
            try:
                damaged = z.testzip()
            except (zlib.error, EOFError, zipfile.BadZipFile) as err:
                damaged = f"? ({err})"
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise error(f"{jar} is not a usable {what}: it is not a complete ZIP archive ({err}). {again}") from None
    if damaged is not None:
        raise error(f"{jar} is not a usable {what}: its content is damaged (entry {damaged}). {again}")
    if required_entry not in names:
        raise error(f"{jar} is not a usable {what}: it holds no {required_entry}. Point to the right jar.")
    return jar


def maven_repository() -> Path:
    """The local Maven repository artifacts are taken from and downloaded into."""
    if os.environ.get("M2_REPO"):
        return Path(os.environ["M2_REPO"])
    try:
        from jgo.config import GlobalSettings

        return Path(GlobalSettings.load().repo_cache)
    except Exception:  # jgo missing or its settings unreadable: Maven's own default
        return Path.home() / ".m2" / "repository"


def artifact_path(coordinate: str) -> Path:
    """Where ``group:artifact:version`` lies in the local Maven repository (present or not)."""
    group, artifact, version = coordinate.split(":")
    return maven_repository() / Path(*group.split(".")) / artifact / version / f"{artifact}-{version}.jar"


def resolve_artifact(coordinate: str, error: type[Exception] = JavaSetupError, hint: str = "") -> Path:
    """The jar of ``group:artifact:version``: from the local repository, else from Maven Central.

    Parameters
    ----------
    coordinate : str
        Maven coordinate, e.g. ``"net.imagej:ij:1.53t"``.
    error : exception class
        Raised, with what was tried and what to do, if the jar cannot be had.
    hint : str
        An extra sentence for that message (e.g. an environment variable that
        points at a local copy instead).
    """
    local = artifact_path(coordinate)
    if local.is_file():
        return local
    tried = []
    try:
        from jgo.maven import MavenContext

        path = Path(MavenContext(repo_cache=maven_repository()).create_dependency(coordinate).artifact.resolve())
        if path.is_file():
            return path
        tried.append("jgo: no jar was downloaded")
    except Exception as err:  # offline, or jgo's API changed: try mvn next
        tried.append(f"jgo: {err}")
    mvn = shutil.which("mvn")
    if mvn:
        done = subprocess.run([mvn, "-q", "-B", "dependency:get", f"-Dartifact={coordinate}", "-Dtransitive=false",
                               f"-Dmaven.repo.local={maven_repository()}"], capture_output=True, text=True)
        if done.returncode == 0 and local.is_file():
            return local
        tried.append(f"mvn: {last_lines(done.stdout + done.stderr, 5)}")
    else:
        tried.append("mvn: not installed")
    raise error(f"Could not get {coordinate} from Maven Central ({'; '.join(tried)}). Connect to Maven Central "
                f"once (the jar is then cached at {local}), or place the jar there yourself. {hint}".strip())


def cache_dir() -> Path:
    """The package's cache folder (compiled Java helpers)."""
    if os.environ.get("LUMICARE_CACHE_DIR"):
        return Path(os.environ["LUMICARE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lumicare_ij"


def compile_java(sources: dict[str, str], class_path_jars, main_class: str, *, javac: str | None = None,
                 error: type[Exception] = JavaSetupError) -> Path:
    """Compile Java sources once per content into the cache; return the folder of the classes.

    Parameters
    ----------
    sources : dict
        File name (``"RunSavedModel.java"``) -> source text, compiled together.
    class_path_jars : sequence of Path
        Jars needed to compile them.
    main_class : str
        A class whose ``.class`` file marks a finished compilation.
    javac : str, optional
        The compiler (default :func:`jdk_tool` ``("javac")``).
    error : exception class
        Raised with javac's message if compilation fails.

    Notes
    -----
    Classes are compiled for Java 8 where the compiler can (``--release 8``),
    so that an older ``java`` than the ``javac`` still runs them. Compilation
    happens in a temporary folder that is renamed into place, so parallel
    processes never see half a compilation.
    """
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode())
    for jar in class_path_jars:
        digest.update(Path(jar).name.encode())
    class_dir = cache_dir() / "java" / digest.hexdigest()[:16]
    if (class_dir / f"{main_class}.class").is_file():
        return class_dir
    javac = javac or jdk_tool("javac", error)
    class_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{class_dir.name}.", dir=class_dir.parent))
    try:
        for name, text in sources.items():
            (building / name).write_text(text, encoding="utf-8")
        files = [str(building / name) for name in sources]
        class_path = os.pathsep.join(str(j) for j in class_path_jars) or "."
        for release in (["--release", "8"], []):
            done = subprocess.run([javac, *release, "-nowarn", "-d", str(building), "-cp", class_path, *files],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                break
        else:
            raise error(f"javac could not compile {', '.join(sources)}:\n{last_lines(done.stderr)}")
        try:
            building.rename(class_dir)  # atomic; another process may have won the race
        except OSError:
            if not (class_dir / f"{main_class}.class").is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return class_dir


def read_sources(*paths) -> dict[str, str]:
    """``{file name: text}`` of Java source files, for :func:`compile_java`."""
    return {Path(p).name: Path(p).read_text(encoding="utf-8") for p in paths}


def run_java_class(class_dir: Path, jars, main_class: str, args: list[str], timeout_s: float, what: str,
                   error: type[Exception] = JavaSetupError) -> str:
    """Run a compiled class in a fresh, headless JVM (never this process); return its stdout."""
    class_path = os.pathsep.join([str(class_dir)] + [str(j) for j in jars])
    command = [jdk_tool("java", error), "-Djava.awt.headless=true", "-cp", class_path, main_class, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise error(f"{what} did not finish within {timeout_s} s.") from None
    if done.returncode != 0:
        raise error(f"{what} failed: Java {exit_description(done.returncode)}:\n"
                    f"{last_lines(done.stderr or done.stdout)}")
    return done.stdout


def exit_description(returncode: int, via_shell: bool = False) -> str:
    """How a Java process ended, in words: "exited with status 1", "was killed (SIGKILL: ...)".

    ``via_shell``: the status came through a shell script (``xvfb-run``),
    which reports a process killed by signal N as 128 + N."""
    if via_shell and 128 < returncode <= 128 + 64:
        returncode = 128 - returncode
    if returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    cause = {"SIGKILL": "out of memory, or stopped by the system or a user",
             "SIGSEGV": "a crash inside the JVM", "SIGABRT": "a crash inside the JVM"}.get(name, "stopped from outside")
    return f"was killed ({name}: {cause})"


def last_lines(text: str, n: int = 25) -> str:
    """The last ``n`` lines of a program's output, for error messages."""
    return "\n".join(text.strip().splitlines()[-n:])


__all__ = ["JavaSetupError", "jdk_tool", "maven_repository", "artifact_path", "resolve_artifact", "cache_dir",
           "compile_java", "read_sources", "run_java_class", "last_lines", "check_jar", "exit_description"]
