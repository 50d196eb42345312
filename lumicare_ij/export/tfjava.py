"""Run exported models in TensorFlow Java 1.15, the runtime of Fiji's CSBDeep plugin.

A small Java program (``java/RunSavedModel.java`` next to this module) loads a
SavedModel folder with ``SavedModelBundle.load(dir, "serve")``, reads the
``serving_default`` signature's first input and output names from the
MetaGraphDef, feeds a float32 array and fetches the output: the same calls
the plugin makes. It runs in its own ``java`` process, never in this one:
Python's TensorFlow and TensorFlow Java in one process crash.

The Java side needs a JDK (``javac``, Java 8 or newer; Debian:
``openjdk-17-jdk-headless``) and four jars from Maven Central; both are found
as everywhere in the package (:mod:`lumicare_ij.javatools`: the local Maven
repository, else jgo or ``mvn`` from Maven Central; the compiled class in the
package's cache).
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..javatools import compile_java, read_sources, resolve_artifact, run_java_class
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
            model_dir = saved_model_folder(Path(model), tmp / f"model{i}")
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
        return [[np.load(f, allow_pickle=False) for f in outs] for outs in out_files]


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

def saved_model_folder(model: Path, unpack_to: Path) -> Path:
    """The SavedModel folder of an exported ZIP (unpacked into ``unpack_to``) or of a folder given as is."""
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
                          what=f"TensorFlow Java {tf_version}", error=TFJavaError)


@functools.lru_cache(maxsize=4)
def tfjava_jars(tf_version: str = TF_JAVA_VERSION) -> tuple[Path, ...]:
    """Paths of the TensorFlow Java jars, resolved from Maven Central on first use."""
    coordinates = [f"{a}:{tf_version}" for a in TF_JAVA_ARTIFACTS] + [PROTOBUF_ARTIFACT]
    return tuple(resolve_artifact(coordinate, error=TFJavaError) for coordinate in coordinates)


def _compiled_runner() -> Path:
    """Compile RunSavedModel.java once per source version into the cache; return the class folder."""
    return compile_java(read_sources(JAVA_SOURCE), tfjava_jars(), "RunSavedModel", error=TFJavaError)
