"""Run exported models in TensorFlow Java 1.15, the runtime of Fiji's CSBDeep plugin.

A small Java program (``java/RunSavedModel.java`` next to this module) loads a
SavedModel folder with ``SavedModelBundle.load(dir, "serve")``, reads the
``serving_default`` signature's first input and output names from the
MetaGraphDef, feeds a float32 array and fetches the output: the same calls
the plugin makes. It runs in its own ``java`` process, never in this one:
Python's TensorFlow and TensorFlow Java in one process crash.

The Java side needs a JDK (``javac``, Java 8 or newer; Debian:
``openjdk-17-jdk-headless``) and four jars from Maven Central, taken from the
local Maven repository (``~/.m2/repository`` or ``$M2_REPO``) when there and
otherwise downloaded by jgo (scyjava's pure-Python Maven resolver) or, failing
that, by ``mvn dependency:get``. The compiled class is cached under
``$LUMICARE_CACHE_DIR`` (default ``~/.cache/lumicare_ij``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from .errors import TFJavaError

#: The TensorFlow Java version of Fiji's CSBDeep plugin (0.6.0); older Fiji installs run 1.12-1.14.
TF_JAVA_VERSION = "1.15.0"
#: Group:artifact of the jars needed (proto + protobuf read the MetaGraphDef), all at the TF version.
TF_JAVA_ARTIFACTS = ("org.tensorflow:libtensorflow", "org.tensorflow:libtensorflow_jni", "org.tensorflow:proto")
#: The protobuf-java that org.tensorflow:proto 1.12-1.15 depend on.
PROTOBUF_ARTIFACT = "com.google.protobuf:protobuf-java:3.5.1"
JAVA_SOURCE = Path(__file__).parent / "java" / "RunSavedModel.java"


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def run_in_tfjava(model, inputs, check_divisible: bool = True, timeout_s: float = 600,
                  tf_version: str = TF_JAVA_VERSION):
    """Predict with an exported model in TensorFlow Java 1.15, in a separate process.

    Parameters
    ----------
    model : str or Path
        An exported ZIP (unpacked to a temporary folder, as the plugin does) or
        an unpacked SavedModel folder.
    inputs : ndarray or list of ndarray
        Arrays in the network's layout, batch axis first: ``(N, Y, X, C)`` for
        2D models, ``(N, Z, Y, X, C)`` for 3D; converted to float32. A list runs
        all of them in one JVM with the model loaded once.
    check_divisible : bool
        Refuse inputs whose spatial sizes are not multiples of the model's
        ``axes_div_by`` (from ``meta.json``), with a message saying how to pad.
        The network itself cannot handle such sizes (pooling floors, upsampling
        doubles, the skip concatenation then fails); Fiji's plugin avoids this
        by padding its tiles. Pass False to send the array anyway.
    timeout_s : float
        Give up after this many seconds.
    tf_version : str
        TensorFlow Java version from Maven Central; 1.15.0 is the plugin's.

    Returns
    -------
    ndarray or list of ndarray
        float32 outputs, one per input (a list if a list was given).

    Raises
    ------
    ValueError
        An input of the wrong rank or size.
    TFJavaError
        Java, the jars or the model failed; the message holds Java's error.
    """
    single = isinstance(inputs, np.ndarray)
    outputs = run_many_in_tfjava([(model, [inputs] if single else list(inputs))],
                                 check_divisible=check_divisible, timeout_s=timeout_s,
                                 tf_version=tf_version)[0]
    return outputs[0] if single else outputs


def run_many_in_tfjava(jobs, check_divisible: bool = True, timeout_s: float = 600,
                       tf_version: str = TF_JAVA_VERSION) -> list[list[np.ndarray]]:
    """Run several models, each on several inputs, in one TensorFlow Java process.

    Parameters
    ----------
    jobs : list of (model, list of ndarray)
        Models (ZIP or folder) and the inputs to run through each.
    check_divisible, timeout_s, tf_version
        As in :func:`run_in_tfjava`.

    Returns
    -------
    list of list of ndarray
        The outputs, in the order of ``jobs`` and of their inputs.
    """
    with tempfile.TemporaryDirectory(prefix="lumicare-tfjava-") as tmp:
        tmp = Path(tmp)
        lines, out_files = [], []
        for i, (model, arrays) in enumerate(jobs):
            model_dir = _model_folder(Path(model), tmp / f"model{i}")
            div_by = _axes_div_by(model_dir) if check_divisible else None
            outs = []
            for j, array in enumerate(arrays):
                array = np.ascontiguousarray(array, dtype="<f4")
                _check_input(array, div_by, model)
                in_file, out_file = tmp / f"in{i}_{j}.npy", tmp / f"out{i}_{j}.npy"
                np.save(in_file, array)
                lines.append(f"{model_dir}\t{in_file}\t{out_file}")
                outs.append(out_file)
            out_files.append(outs)
        jobs_file = tmp / "jobs.tsv"
        jobs_file.write_text("\n".join(lines) + "\n")
        _run_java(["run", str(jobs_file)], timeout_s, tf_version)
        return [[np.load(f) for f in outs] for outs in out_files]


@functools.lru_cache(maxsize=4)
def tfjava_registered_ops(tf_version: str = TF_JAVA_VERSION) -> dict[str, frozenset[str]]:
    """TensorFlow Java's op registry: op name -> names of its attributes.

    Read from ``TensorFlow.registeredOpList()`` in a separate Java process; use
    it with :func:`lumicare_ij.export.tf1_ops.check_graph_def`.

    Parameters
    ----------
    tf_version : str
        TensorFlow Java version; 1.15.0 (the plugin's) by default.
    """
    with tempfile.TemporaryDirectory(prefix="lumicare-tfjava-") as tmp:
        out = Path(tmp) / "ops.tsv"
        _run_java(["ops", str(out)], timeout_s=300, tf_version=tf_version)
        ops = {}
        for line in out.read_text().splitlines():
            name, _, attrs = line.partition("\t")
            ops[name] = frozenset(a for a in attrs.split(",") if a)
    return ops


def tfjava_version(tf_version: str = TF_JAVA_VERSION) -> str:
    """The version string that the TensorFlow Java runtime reports (``TensorFlow.version()``)."""
    with tempfile.TemporaryDirectory(prefix="lumicare-tfjava-") as tmp:
        stdout = _run_java(["ops", str(Path(tmp) / "ops.tsv")], timeout_s=300, tf_version=tf_version)
    for line in stdout.splitlines():
        if line.startswith("tensorflow_version\t"):
            return line.split("\t", 1)[1]
    raise TFJavaError(f"TensorFlow Java did not report its version; it printed:\n{stdout}")


# --------------------------------------------------------------------------
# Inputs and model folders
# --------------------------------------------------------------------------

def _model_folder(model: Path, unpack_to: Path) -> Path:
    if model.is_dir():
        folder = model
    elif model.is_file():
        from .csbdeep_fiji import unzip_model

        folder = unzip_model(model, unpack_to)
    else:
        raise TFJavaError(f"No model at {model}: give an exported .zip or an unpacked SavedModel folder.")
    if not (folder / "saved_model.pb").is_file():
        raise TFJavaError(f"{folder} has no saved_model.pb; it is not a SavedModel folder.")
    return folder.resolve()


def _axes_div_by(model_dir: Path) -> list[int] | None:
    meta_file = model_dir / "meta.json"
    if not meta_file.is_file():
        return None
    div_by = json.loads(meta_file.read_text()).get("axes_div_by")
    return [int(d) for d in div_by] if div_by else None


def _check_input(array: np.ndarray, div_by: list[int] | None, model) -> None:
    if array.ndim not in (4, 5):
        raise UserInputError(f"Input shape {array.shape}: expected (N, Y, X, C) or (N, Z, Y, X, C), "
                         "batch axis first and channels last, as the network takes it.")
    if div_by is None:
        return
    if len(div_by) != array.ndim - 1:
        raise UserInputError(f"Input shape {array.shape} does not fit the model's axes "
                         f"({len(div_by)} axes besides the batch axis expected).")
    bad = [(size, d) for size, d in zip(array.shape[1:], div_by) if size % d]
    if bad:
        raise UserInputError(
            f"Input shape {array.shape}: spatial sizes must be multiples of {div_by} for {model} "
            f"({', '.join(f'{s} is not a multiple of {d}' for s, d in bad)}). Pad the image first "
            "(for example numpy.pad(..., mode='reflect') up to the next multiple) and crop the result, "
            "as the Fiji plugin does with its tiles.")


# --------------------------------------------------------------------------
# Java: jars, compilation, running
# --------------------------------------------------------------------------

def _run_java(args: list[str], timeout_s: float, tf_version: str = TF_JAVA_VERSION) -> str:
    jars = tfjava_jars(tf_version)
    return run_java_class(_compiled_runner(), jars, "RunSavedModel", args, timeout_s,
                          what=f"TensorFlow Java {tf_version}")


def run_java_class(class_dir: Path, jars, main_class: str, args: list[str], timeout_s: float, what: str) -> str:
    """Run a compiled class in a fresh, headless JVM (never this process); return its stdout."""
    class_path = os.pathsep.join([str(class_dir)] + [str(j) for j in jars])
    command = [_jdk_tool("java"), "-Djava.awt.headless=true", "-cp", class_path, main_class, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as err:
        raise TFJavaError(f"{what} did not finish within {timeout_s} s.") from err
    if done.returncode != 0:
        raise TFJavaError(f"{what} failed (exit {done.returncode}):\n"
                          f"{_last_lines(done.stderr or done.stdout)}")
    return done.stdout


def _last_lines(text: str, n: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def _jdk_tool(name: str) -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / name).is_file():
        return str(Path(java_home) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise TFJavaError(
            f"'{name}' was not found. Running models in TensorFlow Java needs a JDK (Java 8+ with "
            "javac), e.g. 'apt-get install openjdk-17-jdk-headless', or set JAVA_HOME.")
    return found


@functools.lru_cache(maxsize=4)
def tfjava_jars(tf_version: str = TF_JAVA_VERSION) -> tuple[Path, ...]:
    """Paths of the TensorFlow Java jars, resolved from Maven Central on first use."""
    coordinates = [f"{a}:{tf_version}" for a in TF_JAVA_ARTIFACTS] + [PROTOBUF_ARTIFACT]
    return tuple(_resolve_artifact(coordinate) for coordinate in coordinates)


def _local_repo() -> Path:
    return Path(os.environ.get("M2_REPO") or Path.home() / ".m2" / "repository")


def _resolve_artifact(coordinate: str) -> Path:
    group, artifact, version = coordinate.split(":")
    local = _local_repo() / group.replace(".", "/") / artifact / version / f"{artifact}-{version}.jar"
    if local.is_file():
        return local
    errors = []
    try:
        from jgo.maven import MavenContext

        path = Path(MavenContext(repo_cache=_local_repo()).create_dependency(coordinate).artifact.resolve())
        if path.is_file():
            return path
    except Exception as err:  # jgo missing, offline, or its API changed: try mvn next
        errors.append(f"jgo: {err}")
    mvn = shutil.which("mvn")
    if mvn:
        done = subprocess.run([mvn, "-q", "-B", "dependency:get", f"-Dartifact={coordinate}",
                               "-Dtransitive=false", f"-Dmaven.repo.local={_local_repo()}"],
                              capture_output=True, text=True)
        if done.returncode == 0 and local.is_file():
            return local
        errors.append(f"mvn: {_last_lines(done.stdout + done.stderr, 5)}")
    else:
        errors.append("mvn: not installed")
    raise TFJavaError(
        f"Could not get {coordinate} from Maven Central ({'; '.join(errors)}). Check the network, "
        f"or place the jar at {local} (e.g. 'mvn dependency:get -Dartifact={coordinate}').")


def _compiled_runner() -> Path:
    """Compile RunSavedModel.java once per source version into the cache; return the class folder."""
    return compile_java([JAVA_SOURCE], tfjava_jars(), "RunSavedModel")


def compile_java(sources, class_path_jars, main_class: str) -> Path:
    """Compile Java sources once per content into the cache (``tfjava/<hash>``); return the class folder.

    Parameters
    ----------
    sources : list of Path
        ``.java`` files compiled together.
    class_path_jars : sequence of Path
        Jars needed to compile them.
    main_class : str
        A class whose ``.class`` file marks a finished compilation.
    """
    digest = hashlib.sha256()
    for source in sources:
        digest.update(Path(source).read_bytes())
    for jar in class_path_jars:
        digest.update(Path(jar).name.encode())
    key = digest.hexdigest()[:16]
    cache = Path(os.environ.get("LUMICARE_CACHE_DIR") or Path.home() / ".cache" / "lumicare_ij")
    class_dir = cache / "tfjava" / key
    if (class_dir / f"{main_class}.class").is_file():
        return class_dir
    class_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=class_dir.parent))
    try:
        class_path = os.pathsep.join(str(j) for j in class_path_jars)
        done = subprocess.run([_jdk_tool("javac"), "-nowarn", "-d", str(building), "-cp", class_path,
                               *(str(s) for s in sources)], capture_output=True, text=True)
        if done.returncode != 0:
            names = ", ".join(Path(s).name for s in sources)
            raise TFJavaError(f"javac could not compile {names}:\n{_last_lines(done.stderr)}")
        try:
            building.rename(class_dir)  # atomic; another process may have won the race
        except OSError:
            if not (class_dir / f"{main_class}.class").is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return class_dir
