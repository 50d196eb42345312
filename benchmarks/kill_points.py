"""SIGKILL at seeded moments during every command, many times: the long run behind docs/reliability.md.

The same harness as tests/faults/test_kill_points.py (CI runs 2 points per
command), with more points and the issue's own `lumicare reproduce --quick
--experiment 1c`. Prints the machine, one line per kill point and the table.

    python benchmarks/kill_points.py --out /tmp/kill --points 20
    python benchmarks/kill_points.py --out /tmp/kill-1c --only 'reproduce --quick --experiment 1c' --chains 4 --kills-per-chain 5

The quick reproduction takes minutes per run, too long to rerun from the
start after each of 20 kills: its points come in chains (kill, rerun, kill
the rerun, ...; the last rerun finishes and is compared), see
harness.exercise_chained.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lumicare_ij import hardware  # noqa: E402
from tests.faults import harness, scenarios  # noqa: E402

COLUMNS = ("command", "clean_run_s", "first_write_s", "kill_points", "killed", "killed_after_writing_began", "finished_before_kill", "files_checked_after_kill",
           "temporaries_left_by_kill", "reruns", "results_lost")


def log(line: str) -> None:
    print(line, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work folder (emptied per command)")
    parser.add_argument("--points", type=int, default=20, help="kill points per command [20]")
    parser.add_argument("--chains", type=int, default=4,
                        help="chains of kills for 'reproduce --quick --experiment 1c' (minutes a run) [4]")
    parser.add_argument("--kills-per-chain", type=int, default=5, help="kills in each chain [5]")
    parser.add_argument("--only", default="", help="comma-separated commands to run [all]")
    args = parser.parse_args(argv)
    print(f"[kill points] {hardware.describe()}", flush=True)
    inputs = args.out / "inputs"
    if not (inputs / "model" / "config.json").is_file():
        scenarios.make_inputs(inputs)
    chosen = [n for n in scenarios.SCENARIOS if not args.only or n in args.only.split(",")]
    rows = []
    for name in chosen:
        started = time.perf_counter()
        scenario, work, seed = scenarios.SCENARIOS[name], args.out / "work", zlib.crc32(name.encode())
        if name.startswith("reproduce --quick"):
            stats = harness.exercise_chained(scenario, inputs, work, args.chains, args.kills_per_chain, seed, log=log)
        else:
            stats = harness.exercise(scenario, inputs, work, args.points, seed, log=log)
        stats["wall_s"] = round(time.perf_counter() - started)
        rows.append(stats)
        (args.out / "kill_points.json").write_text(json.dumps(rows, indent=2) + "\n")
        for problem in stats["problems"]:
            print(f"PROBLEM {problem}", flush=True)
    print("| " + " | ".join(COLUMNS) + " | problems |")
    print("|" + "---|" * (len(COLUMNS) + 1))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in COLUMNS) + f" | {len(row['problems'])} |")
    return 1 if any(row["problems"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
