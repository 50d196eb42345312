"""Report what a command left in a folder, from inside the mount namespace that holds it.

``python -m tests.faults.inspect_tree FOLDER REPORT.json``: every file under
a final name read back (harness.check_complete) and every temporary left.
"""

import json
import sys
from pathlib import Path

from tests.faults import harness


def main(folder: str, report: str) -> None:
    root = Path(folder)
    broken = []
    files = harness.final_files(root) if root.exists() else []
    for path in files:
        try:
            harness.check_complete(path)
        except Exception as err:  # noqa: BLE001 - any failure to read back is the finding
            broken.append(f"{path.relative_to(root)}: {type(err).__name__}: {err}")
    Path(report).write_text(json.dumps({
        "final_files": [str(p.relative_to(root)) for p in files], "incomplete": broken,
        "temporaries": [str(p.relative_to(root)) for p in harness.temporaries(root)] if root.exists() else [],
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
