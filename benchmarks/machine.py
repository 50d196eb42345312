"""One line that says which machine a benchmark ran on (``lumicare_ij.hardware.describe``).

Every benchmark prints it next to its table. Kept as a module of its own so
that the benchmarks import it the same way whether or not the package is
installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from lumicare_ij.hardware import FEATURES, cpu_model_and_flags, describe  # noqa: E402,F401

if __name__ == "__main__":
    print(describe())
