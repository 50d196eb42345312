"""The ``lumicare`` command: parse, call one function of the package, print.

Each subcommand is a thin layer over the Python API so that notebooks,
scripts and the command line behave the same.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

DESCRIPTION = """\
lumicare - restore short-exposure luminescence microscopy with CARE and
measure the result exactly as Fiji (ImageJ 1.53t) does.

Typical session:
  lumicare simulate --specimen h2b --out data/ --small   make a dataset to try things on
  lumicare ijcheck                                       check that Java + ImageJ 1.53t start

Run 'lumicare <command> --help' for the options of each command.
"""


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def _shape_zyx(text: str) -> tuple[int, int, int]:
    parts = text.lower().replace("x", ",").split(",")
    try:
        z, y, x = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--size takes Z,Y,X in pixels such as 16,256,256; got {text!r}") from None
    if min(z, y, x) < 1:
        raise argparse.ArgumentTypeError(f"--size must be positive, got {text!r}")
    return z, y, x


def _add_simulate(sub) -> None:
    from .simulate import SPECIMENS

    p = sub.add_parser(
        "simulate", help="simulate luminescence/fluorescence acquisitions (the embedded default data)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Simulate a dataset as the paper's microscope would record it: a
            specimen (cells, nuclei or mitochondria), widefield optics, and an
            EMCCD camera (shot noise, clock-induced charge, EM gain, read noise)
            at several exposures, binnings and repeats, plus the fluorescence
            channel where the specimen has one.

            Writes OUT/<condition>/<stack>.tif (same stack names in every
            condition, the layout csbdeep and 'lumicare prepare' read),
            OUT/ground_truth and OUT/labels (noise-free photons and objects),
            and OUT/manifest.json describing every condition and its physics.
            """),
        epilog="example: lumicare simulate --specimen cytoplasmic --out data/cyto --small --seed 1")
    p.add_argument("--specimen", choices=sorted(SPECIMENS), default="h2b",
                   help="cytoplasmic (NanoLuc cells, 20x), h2b (nuclei + eGFP, 20x) or "
                        "tomm20 (mitochondria + mNeonGreen, 100x, DMSO/Rotenone) [default: h2b]")
    p.add_argument("--out", required=True, type=Path, help="output folder (created; must be empty or new)")
    p.add_argument("--stacks", type=_positive_int, default=None,
                   help="number of stacks (specimens) [default: the paper's count, or 4 with --small]")
    p.add_argument("--size", type=_shape_zyx, default=None, metavar="Z,Y,X",
                   help="stack size in pixels, e.g. 16,512,512 [default: the paper's ROI, smaller with --small]")
    p.add_argument("--small", action="store_true", help="a small CPU-friendly dataset for demos and tests")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same data [0]")
    p.add_argument("--force", action="store_true", help="write into an existing non-empty folder, replacing files")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args) -> int:
    from .simulate import simulate_dataset

    out = args.out
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder name.")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise UserError(f"--out {out} already contains files; choose a new folder or add --force "
                        "to replace the simulated files in it.")
    manifest = simulate_dataset(args.specimen, out, n_stacks=args.stacks, shape_zyx=args.size,
                                small=args.small, seed=args.seed, overwrite=args.force, progress=True)
    print(format_manifest_summary(manifest, out))
    return 0


def format_manifest_summary(manifest: dict, out: Path) -> str:
    """A few lines a microscopist can read: what was simulated and where it is."""
    conditions = manifest.get("conditions", {})
    stacks = manifest.get("stacks", [])
    lines = [f"Simulated {manifest.get('specimen', '?')}: {len(stacks)} stacks x "
             f"{len(conditions)} conditions in {out}/"]
    rows = [("condition", "modality", "exposure_s", "binning", "stack shape (z,y,x)")]
    for name, cond in conditions.items():
        binning = cond.get("binning", 1)
        kind = cond.get("binning_kind", "")
        rows.append((name, str(cond.get("modality", "")), f"{cond.get('exposure_s', '')}",
                     f"{binning}{(' ' + kind) if kind and binning not in (1, [1, 1]) else ''}",
                     "x".join(str(s) for s in cond.get("shape_zyx", []))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.append(f"Manifest: {out / 'manifest.json'}")
    return "\n".join(lines)


def _add_ijcheck(sub) -> None:
    p = sub.add_parser("ijcheck", help="start Java with ImageJ 1.53t and report what was found",
                       description="Start the JVM with the ImageJ jar this package uses (Maven "
                                   "net.imagej:ij:1.53t, or LUMICARE_IJ_JAR / LUMICARE_FIJI_DIR) "
                                   "and print its version; use it to check an installation.")
    p.set_defaults(run=_run_ijcheck)


def _run_ijcheck(args) -> int:
    from .ijops import jvm

    ij = jvm.imagej_classes()
    print(f"ImageJ {ij.IJ.getVersion()} running in Java {ij.jimport('java.lang.System').getProperty('java.version')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lumicare", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lumicare-ij {_version()}")
    sub = parser.add_subparsers(title="commands", metavar="<command>")
    _add_simulate(sub)
    _add_ijcheck(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lumicare-ij")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    from .ijops import ImageJUnavailableError
    from .ijops._checks import InputError
    from .io import StackError

    try:
        return args.run(args)
    except (UserError, StackError, InputError, ImageJUnavailableError, FileExistsError, FileNotFoundError) as err:
        print(f"lumicare: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lumicare: interrupted; finished files are complete, unfinished ones were not written.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser", "format_manifest_summary"]
