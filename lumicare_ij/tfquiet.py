"""TensorFlow imported without its start-up lines on the terminal.

TensorFlow 2.21 logs through absl before absl is initialised, so at import
two lines reach stderr whatever ``TF_CPP_MIN_LOG_LEVEL`` says ("WARNING: All
log messages before absl::InitializeLog() is called ..." and "oneDNN custom
operations are on ..."), once per process, also in every Dask worker. They
say nothing a microscopist can act on. The commands that need TensorFlow
import it once through here, with the process's stderr (file descriptor 2,
which C++ writes to) pointed at /dev/null for the length of the import. An
import that fails is repeated with stderr open, so that its own messages
are seen.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["import_tensorflow_quietly"]


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras (once per process) without their start-up lines on stderr."""
    if "tensorflow" in sys.modules:
        return
    try:
        with _stderr_to_devnull():
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
    except Exception:  # noqa: BLE001 - imported again below, with stderr open, to show why
        sys.modules.pop("tensorflow", None)
    import keras  # noqa: F401,E402
    import tensorflow  # noqa: F401,E402


@contextlib.contextmanager
def _stderr_to_devnull():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded, some IDEs): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
