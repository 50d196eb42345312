"""One JVM per process with ImageJ 1.53t on its class path, started lazily.

Every ``engine="imagej"`` call goes through :func:`imagej_classes`, which
starts the JVM on first use (once; a JVM cannot be restarted in a process) and
returns the Java classes. The ImageJ jar is found, in this order:

1. the ``ij_jar`` argument of :func:`configure`;
2. the environment variable ``LUMICARE_IJ_JAR`` (a path to ``ij.jar``);
3. the environment variable ``LUMICARE_FIJI_DIR`` (a Fiji.app folder; its
   ``jars/ij-*.jar`` is used);
4. ``net.imagej:ij:1.53t`` resolved from Maven Central by jgo on first use
   and cached in ``~/.m2/repository`` (the default).

The JVM is the machine's Java (``fetch='never'``): scyjava never downloads a
JRE. Array copies between NumPy and ImageJ processors live here too, so that
engine modules only contain the ImageJ calls themselves.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LumicareError
from ..javatools import check_jar, resolve_artifact

IMAGEJ_VERSION = "1.53t"
IMAGEJ_MAVEN_ENDPOINT = f"net.imagej:ij:{IMAGEJ_VERSION}"


class ImageJUnavailableError(LumicareError, RuntimeError):
    """ImageJ could not be started or is not the pinned version."""


@dataclass
class _JVMSettings:
    ij_jar: str | None = None
    fiji_dir: str | None = None
    require_version: bool = True


_settings = _JVMSettings()
_classes = None


def configure(ij_jar: str | os.PathLike | None = None,
              fiji_dir: str | os.PathLike | None = None,
              require_version: bool = True) -> None:
    """Choose which ImageJ the ``imagej`` engine starts (before first use).

    Parameters
    ----------
    ij_jar : path, optional
        A local ``ij.jar`` (for example Debian's ``/usr/share/java/ij.jar``).
    fiji_dir : path, optional
        A Fiji.app folder; its ``jars/ij-*.jar`` is put on the class path.
    require_version : bool
        Refuse any ImageJ whose ``IJ.getVersion()`` is not 1.53t, the version
        this package reproduces and is tested against (1.54 changed thresholds
        and Bin).
    """
    if _classes is not None:
        raise ImageJUnavailableError(
            "The JVM is already running with ImageJ on its class path; "
            "call lumicare_ij.ijops.jvm.configure() before the first imagej-engine call.")
    _settings.ij_jar = os.fspath(ij_jar) if ij_jar else None
    _settings.fiji_dir = os.fspath(fiji_dir) if fiji_dir else None
    _settings.require_version = require_version


def _class_path_entry() -> tuple[str, str]:
    """Return ('jar', path) or ('maven', endpoint) for the configured ImageJ."""
    jar = _settings.ij_jar or os.environ.get("LUMICARE_IJ_JAR")
    fiji = _settings.fiji_dir or os.environ.get("LUMICARE_FIJI_DIR")
    if jar:
        if not Path(jar).is_file():
            raise ImageJUnavailableError(
                f"ImageJ jar not found: {jar!r}. Point LUMICARE_IJ_JAR (or ij_jar=) at an "
                f"existing ij.jar of version {IMAGEJ_VERSION}, or unset it to resolve "
                f"{IMAGEJ_MAVEN_ENDPOINT} from Maven Central.")
        return "jar", jar
    if fiji:
        jars = sorted(glob.glob(os.path.join(fiji, "jars", "ij-*.jar")))
        if not jars:
            raise ImageJUnavailableError(
                f"No jars/ij-*.jar inside the Fiji folder {fiji!r}. Give the Fiji.app folder "
                "itself (the one that contains jars/ and plugins/).")
        return "jar", jars[-1]
    return "maven", IMAGEJ_MAVEN_ENDPOINT


def imagej_jar_path() -> Path:
    """The ImageJ jar to use, resolved without starting a JVM.

    ``configure(ij_jar=...)`` / ``LUMICARE_IJ_JAR`` / ``LUMICARE_FIJI_DIR`` first;
    otherwise ``net.imagej:ij:1.53t`` in the local Maven repository
    (``~/.m2/repository``), downloaded from Maven Central on first use
    (:func:`lumicare_ij.javatools.resolve_artifact`).

    The Maven-repository file is used rather than a jgo environment folder
    (``~/.jgo/envs/...``): jgo re-creates that folder's links whenever it
    builds the environment, so a second process starting Java meanwhile
    (a parallel test worker, a macro run) could find the jar missing.
    """
    kind, entry = _class_path_entry()
    if kind == "jar":
        jar = Path(entry)
    else:
        jar = resolve_artifact(entry, error=ImageJUnavailableError,
                               hint=f"Or set LUMICARE_IJ_JAR to a local ImageJ {IMAGEJ_VERSION} ij.jar "
                                    "(Debian: apt-get install imagej; /usr/share/java/ij.jar).")
    return check_jar(jar, "ij/IJ.class", ImageJUnavailableError, f"ImageJ jar (ImageJ {IMAGEJ_VERSION})")


def imagej_classes():
    """Start the JVM once (if needed) and return a namespace of ImageJ classes."""
    global _classes
    if _classes is not None:
        return _classes
    try:
        import scyjava
    except ImportError as err:  # pragma: no cover - scyjava is a hard dependency
        raise ImageJUnavailableError("The imagej engine needs scyjava: pip install scyjava") from err

    fiji = _settings.fiji_dir or os.environ.get("LUMICARE_FIJI_DIR")
    entry = fiji or "the JVM already running in this process"
    if fiji and not scyjava.jvm_started() and _pyimagej_available():
        _class_path_entry()  # a folder that is not a Fiji.app gets the plain message first
        _start_fiji_gateway(fiji)
    if not scyjava.jvm_started():
        scyjava.config.set_java_constraints(fetch="never")
        scyjava.config.add_option("-Djava.awt.headless=true")
        entry = str(imagej_jar_path())
        scyjava.config.add_classpath(entry)
        try:
            scyjava.start_jvm()
        except Exception as err:
            raise ImageJUnavailableError(
                f"Could not start Java with ImageJ ({entry}): {err}. Check that a Java 11+ "
                "runtime is installed (java -version) and, for the Maven route, that Maven "
                "Central is reachable on first use; or set LUMICARE_IJ_JAR to a local ij.jar."
            ) from err
    try:
        _classes = _load_classes(scyjava)
    except Exception as err:  # JPype raises a Java NoClassDefFoundError/TypeError here
        raise ImageJUnavailableError(
            f"Java is running but ImageJ's classes are not on its class path ({entry}): {err}. "
            "Java was probably started before lumicare_ij (one JVM per process); start it through "
            "lumicare_ij first, or set LUMICARE_IJ_JAR to a local ij.jar (1.53t).") from err
    version = str(_classes.IJ.getVersion())
    if _settings.require_version and version != IMAGEJ_VERSION:
        found = version
        _classes = None
        raise ImageJUnavailableError(
            f"ImageJ {found} was found ({entry}), but lumicare_ij reproduces ImageJ "
            f"{IMAGEJ_VERSION} exactly. Use the {IMAGEJ_VERSION} jar (Maven {IMAGEJ_MAVEN_ENDPOINT} "
            "or Debian's imagej package), or configure(require_version=False) to accept it.")
    return _classes


def _pyimagej_available() -> bool:
    try:
        import imagej  # noqa: F401
    except ImportError:
        return False
    return True


#: The pyimagej gateway when the JVM was started from a Fiji installation.
gateway = None


def _start_fiji_gateway(fiji_dir: str) -> None:
    """Start the JVM through pyimagej from a local Fiji.app (all of Fiji's plugins).

    Written against pyimagej's documented API (``imagej.init(dir, mode="headless")``);
    not tested in this project's CI, where no Fiji is available (Fiji/ImageJ2 is
    not on Maven Central). The same ImageJ 1.x calls then run inside Fiji.
    """
    global gateway
    import imagej
    import scyjava

    scyjava.config.set_java_constraints(fetch="never")
    try:
        gateway = imagej.init(fiji_dir, mode="headless")
    except Exception as err:
        raise ImageJUnavailableError(
            f"pyimagej could not start Fiji from {fiji_dir!r}: {err}. Check the folder is a "
            "Fiji.app, or unset LUMICARE_FIJI_DIR to use plain ImageJ 1.53t.") from err


class _Namespace:
    pass


#: Every ImageJ class the imagej engine calls, imported once when the JVM starts.
_CLASSES = (
    "ij.IJ", "ij.Prefs", "ij.ImagePlus", "ij.ImageStack",
    "ij.process.ByteProcessor", "ij.process.ShortProcessor", "ij.process.FloatProcessor",
    "ij.process.ImageProcessor", "ij.process.ImageConverter", "ij.process.Blitter",
    "ij.process.FloatStatistics", "ij.plugin.Binner", "ij.plugin.Resizer", "ij.plugin.ZProjector",
    "ij.plugin.Thresholder", "ij.plugin.filter.ParticleAnalyzer", "ij.plugin.filter.Analyzer",
    "ij.plugin.filter.BackgroundSubtracter", "ij.measure.Measurements", "ij.measure.ResultsTable",
    "ij.gui.Wand",
)


def _load_classes(scyjava):
    jimport = scyjava.jimport
    ns = _Namespace()
    for name in _CLASSES:
        setattr(ns, name.rsplit(".", 1)[1], jimport(name))
    # ImageJ keeps non-daemon worker threads; one thread lets Python exit cleanly.
    ns.Prefs.setThreads(1)
    # False in pure API use, but true after a first IJ.run without prefs: pin it.
    ns.Prefs.blackBackground = True
    ns.jimport = jimport
    return ns


# --------------------------------------------------------------------------
# NumPy <-> ImageJ conversions
# --------------------------------------------------------------------------

_IJ_TYPES = {np.dtype(np.uint8): "ByteProcessor",
             np.dtype(np.uint16): "ShortProcessor",
             np.dtype(np.float32): "FloatProcessor"}


def to_processor(image2d: np.ndarray):
    """Copy a 2D uint8/uint16/float32 array into a new ImageJ ImageProcessor."""
    import jpype

    ij = imagej_classes()
    arr = np.ascontiguousarray(image2d)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {arr.shape}")
    if arr.dtype not in _IJ_TYPES:
        raise TypeError(f"ImageJ has no processor for dtype {arr.dtype}; use uint8, uint16 or float32")
    height, width = arr.shape
    flat = arr.ravel()
    if arr.dtype == np.uint8:
        pixels = jpype.JArray(jpype.JByte)(flat.view(np.int8))
        return ij.ByteProcessor(width, height, pixels)
    if arr.dtype == np.uint16:
        pixels = jpype.JArray(jpype.JShort)(flat.view(np.int16))
        return ij.ShortProcessor(width, height, pixels, None)
    pixels = jpype.JArray(jpype.JFloat)(flat)
    return ij.FloatProcessor(width, height, pixels)


def from_processor(processor) -> np.ndarray:
    """Copy an ImageJ ImageProcessor's pixels into a new 2D NumPy array."""
    width, height = int(processor.getWidth()), int(processor.getHeight())
    pixels = processor.getPixels()
    name = str(processor.getClass().getSimpleName())
    if name == "ByteProcessor":
        arr = np.asarray(pixels, dtype=np.int8).view(np.uint8)
    elif name == "ShortProcessor":
        arr = np.asarray(pixels, dtype=np.int16).view(np.uint16)
    elif name == "FloatProcessor":
        arr = np.asarray(pixels, dtype=np.float32)
    else:
        raise TypeError(f"unsupported ImageJ processor {name}")
    return arr.reshape(height, width).copy()


def to_imageplus(image: np.ndarray, title: str = "lumicare"):
    """Copy a 2D (YX) or 3D (ZYX) array into an ImagePlus (a stack for 3D)."""
    ij = imagej_classes()
    arr = np.asarray(image)
    if arr.ndim == 2:
        return ij.ImagePlus(title, to_processor(arr))
    if arr.ndim != 3:
        raise ValueError(f"expected a 2D (YX) or 3D (ZYX) image, got shape {arr.shape}")
    stack = ij.ImageStack(int(arr.shape[2]), int(arr.shape[1]))
    for plane in arr:
        stack.addSlice(to_processor(plane))
    return ij.ImagePlus(title, stack)


def from_imageplus(imp) -> np.ndarray:
    """Copy an ImagePlus into a 2D array (one slice) or a 3D ZYX array."""
    stack = imp.getStack()
    n = int(stack.getSize())
    planes = [from_processor(stack.getProcessor(i + 1)) for i in range(n)]
    return planes[0] if n == 1 else np.stack(planes)
