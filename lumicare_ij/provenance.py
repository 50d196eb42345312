"""Which versions made a result: one place for the package's own version and its dependencies'.

Read from the installed distributions' metadata, so asking never imports
TensorFlow, csbdeep or Java.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata

#: Distributions whose versions shape training data, models and readouts, and the key each is recorded under.
_RECORDED = (("lumicare-ij", "lumicare_ij"), ("csbdeep", "csbdeep"), ("numpy", "numpy"), ("scipy", "scipy"),
             ("tifffile", "tifffile"), ("tensorflow", "tensorflow"), ("tensorflow-cpu", "tensorflow"),
             ("keras", "keras"))


def file_sha256(path, chunk_bytes: int = 1 << 20) -> str:
    """The SHA-256 of a file's content, in hex: identifies data by what they are, not by name or size."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_version() -> str:
    """This package's version, or ``"unknown"`` when run from a source tree that is not installed."""
    try:
        return metadata.version("lumicare-ij")
    except metadata.PackageNotFoundError:
        return "unknown"


def package_versions() -> dict:
    """Python's and the recorded distributions' versions (those installed), for provenance records."""
    versions = {"python": platform.python_version()}
    for dist, key in _RECORDED:
        try:
            versions.setdefault(key, metadata.version(dist))
        except metadata.PackageNotFoundError:
            pass
    return versions


__all__ = ["file_sha256", "package_version", "package_versions"]
