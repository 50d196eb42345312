"""The ``lumicare`` command: parse, call one function of the package, print.

Each subcommand is a thin layer over the Python API so that notebooks,
scripts and the command line behave the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from .errors import LumicareError, UserInputError
from .provenance import package_version
from .shapes import parse_sizes

DESCRIPTION = """\
lumicare - restore short-exposure luminescence microscopy with CARE and
measure the result exactly as Fiji (ImageJ 1.53t) does.

Try it:  lumicare demo        (simulate, train, restore and evaluate in a few minutes)

A session on your own data (DIR/<condition>/<stack>.tif, same names per condition):
  lumicare presets                                          the paper's settings
  lumicare prepare --data DIR --regime denoise --input lum_0.5s --target lum_60s --out train.npz
  lumicare train --data train.npz --model models/denoise     (Ctrl-C, then --resume)
  lumicare predict --model models/denoise DIR/lum_0.5s --out restored/ --tiles 2,2,2
  lumicare evaluate --reference DIR/lum_60s --restored restored/ --raw DIR/lum_0.5s --out eval/
  lumicare export --model models/denoise --format csbdeep-fiji --out denoise.zip

Other tools:
  lumicare simulate --specimen h2b --out data/ --small      simulated acquisitions
  lumicare fiji install --fiji ~/Fiji.app                   the macros under Plugins > LumiCARE
  lumicare ijcheck                                          check that Java + ImageJ 1.53t start

Run 'lumicare <command> --help' for the options of each command.
"""


def positive_int(text: str) -> int:
    """A whole number >= 1 (argparse type: a bad value gets one clear line)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _sizes_argument(option: str, n_axes: int = 3, example: str = "16,256,256"):
    """An argparse type for Z,Y,X sizes that reports mistakes as argparse errors."""
    def parse(text: str):
        try:
            return parse_sizes(text, option, n_axes=n_axes, example=example)
        except UserInputError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return parse


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
    p.add_argument("--stacks", type=positive_int, default=None,
                   help="number of stacks (specimens) [default: the paper's count, or 4 with --small]")
    p.add_argument("--size", type=_sizes_argument("--size"), default=None, metavar="Z,Y,X",
                   help="stack size in pixels, e.g. 16,512,512 [default: the paper's ROI, smaller with --small]")
    p.add_argument("--small", action="store_true", help="a small CPU-friendly dataset for demos and tests")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same data [0]")
    p.add_argument("--force", action="store_true", help="write into an existing non-empty folder, replacing files")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args) -> int:
    from .simulate import simulate_dataset

    out = args.out
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out} is a file; give a folder name.")
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


def _add_fiji(sub) -> None:
    p = sub.add_parser("fiji", help="put the macros and scripts into Fiji's or ImageJ's Plugins menu",
                       description="Tools for Fiji and ImageJ 1.x.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(title="actions", metavar="<action>")
    q = actions.add_parser(
        "install", help="install the macros and scripts under Plugins > LumiCARE",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Copy lumicare-ij's ImageJ macros (mask MAE, nuclear Pearson, mitochondrial
            morphology, bin and upsample) and, into Fiji, its two Groovy scripts (restore a
            folder with the CSBDeep plugin, run the paper's analysis) under Plugins > LumiCARE:
              Fiji.app:      DIR/scripts/Plugins/LumiCARE/
              ImageJ 1.x:    DIR/plugins/LumiCARE/  (macros only: ImageJ 1.x has no Groovy)
            Running it again is safe: unchanged files are left alone, files you edited are
            never replaced without --force, and --uninstall removes exactly what was installed.

            Example:  lumicare fiji install --fiji ~/Fiji.app"""))
    q.add_argument("--fiji", required=True, metavar="DIR", help="the Fiji.app folder, or an ImageJ 1.x folder")
    q.add_argument("--uninstall", action="store_true", help="remove what an earlier install put there")
    q.add_argument("--force", action="store_true", help="also replace (or remove) files you changed")
    q.set_defaults(run=_run_fiji_install)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def _run_fiji_install(args) -> int:
    from . import fiji_install

    if args.uninstall:
        print(fiji_install.describe(fiji_install.uninstall(args.fiji, force=args.force), uninstalling=True))
    else:
        print(fiji_install.describe(fiji_install.install(args.fiji, force=args.force)))
    return 0


def _tiles(text: str):
    if text == "auto":
        return "auto"
    return _sizes_argument("--tiles", example="2,2,2 or 'auto'")(text)


def _add_presets(sub) -> None:
    p = sub.add_parser("presets", help="show the training presets (the paper's table and 'quick')",
                       description="Show the presets: the paper's training table for cytoplasmic NanoLuc, "
                                   "H2B and TOMM20, and 'quick' for CPUs. Any field can be overridden "
                                   "on 'lumicare prepare' and 'lumicare train'.")
    p.add_argument("names", nargs="*", help="presets to show [all]")
    p.set_defaults(run=_run_presets)


def _run_presets(args) -> int:
    from .presets import format_presets

    print(format_presets(args.names or None))
    return 0


def _add_preset_overrides(p, training: bool) -> None:
    p.add_argument("--preset", default=None,
                   help="cytoplasmic, h2b, tomm20 (the paper's table) or quick (CPU); see 'lumicare presets'")
    if training:
        p.add_argument("--epochs", type=positive_int, help="number of epochs (train_epochs)")
        p.add_argument("--steps-per-epoch", type=positive_int, help="train_steps_per_epoch")
        p.add_argument("--batch-size", type=positive_int, help="train_batch_size")
        p.add_argument("--learning-rate", type=float, help="train_learning_rate")
        p.add_argument("--validation-split", type=float, help="fraction of patches for validation")
        p.add_argument("--probabilistic", choices=("true", "false"), help="probabilistic CARE (mean + scale)")
        p.add_argument("--depth", type=positive_int, help="U-Net depth (unet_n_depth)")
        p.add_argument("--first-filters", type=positive_int, help="filters of the first U-Net level (unet_n_first)")
    else:
        p.add_argument("--patch-size", metavar="Z,Y,X", help="patch size in pixels (paper: 16,64,64)")
        p.add_argument("--patches-per-stack", type=positive_int, help="n_patches_per_image")


def _add_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare", help="make a CARE training file from paired stacks (five regimes)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Pair stacks of two conditions by file name (DATA/<input>/<name>.tif with
            DATA/<target>/<name>.tif), augment each pair 8-fold (4 rotations x mirror,
            as the paper), sample random patches and write csbdeep's training file
            (.npz) plus a .json record of how it was made.

            Regimes:
              denoise       short exposure -> long exposure (e.g. lum_0.5s -> lum_60s)
              upsample      binned short exposure -> unbinned long exposure; unbinned
                            inputs are binned with Fiji's Bin (average, --bin-factor)
                            and upsampled without interpolation; chip-binned inputs
                            are upsampled only
              n2n           short exposure <-> second short exposure (noise2noise,
                            both directions)
              fluorescence  short-exposure luminescence -> fluorescence (e.g. fluo)
              n2v           the short exposures alone (Noise2Void, self-supervised: a few
                            pixels of each patch hidden per batch and predicted from their
                            neighbours); no --target
              n2v2          as n2v with N2V2's network (blur-pool, no top skip connection)
                            and median replacement, against N2V's checkerboard artefacts
            """),
        epilog="example: lumicare prepare --data data/ --regime denoise --input lum_0.5s "
               "--target lum_60s --out train.npz --preset quick")
    p.add_argument("--data", required=True, type=Path, help="folder with one subfolder per condition")
    p.add_argument("--regime", required=True, choices=("denoise", "upsample", "n2n", "fluorescence", "n2v", "n2v2"))
    p.add_argument("--input", required=True, help="input condition (subfolder name), e.g. lum_0.5s")
    p.add_argument("--target", help="target condition, e.g. lum_60s, lum_5s_rep2 or fluo (every regime but n2v)")
    p.add_argument("--out", required=True, type=Path, help="training file to write (.npz)")
    p.add_argument("--bin-factor", type=positive_int, help="upsample regime: Fiji Bin factor for unbinned inputs")
    p.add_argument("--seed", type=int, default=0, help="random seed for patch sampling [0]")
    p.add_argument("--force", action="store_true", help="replace an existing training file")
    _add_preset_overrides(p, training=False)
    p.set_defaults(run=_run_prepare, needs_tensorflow=True)


def _run_prepare(args) -> int:
    from .training import prepare_training_data, training_record_path

    if args.target is None and args.regime not in ("n2v", "n2v2"):
        raise UserInputError(f"the {args.regime} regime needs --target (the condition to learn to produce); "
                             "only --regime n2v and n2v2 learn from --input alone.")
    record = prepare_training_data(args.data, args.regime, args.input, args.target, args.out,
                                   preset=args.preset or "quick", patch_size=args.patch_size,
                                   n_patches_per_image=args.patches_per_stack, seed=args.seed,
                                   bin_factor=args.bin_factor, overwrite=args.force)
    print(f"Wrote {args.out} ({record['n_patches']} patches from {record['n_stack_pairs']} stack pairs, "
          f"8-fold augmented) and its record {training_record_path(args.out)}")
    return 0


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train", help="train a CARE network on a training file (resumable)",
        description="Train a 3D CARE network (csbdeep) on a file from 'lumicare prepare'. The model "
                    "folder gets csbdeep's layout (config.json, weights_best.h5, weights_last.h5) plus "
                    "lumicare.json (regime, preset, data, normalization, versions, history). Ctrl-C "
                    "keeps every finished epoch; run the same command with --resume to continue.",
        epilog="example: lumicare train --data train.npz --model models/h2b --preset h2b --epochs 50")
    p.add_argument("--data", required=True, type=Path, help="training file (.npz) from 'lumicare prepare'")
    p.add_argument("--model", required=True, type=Path, help="model folder to create")
    p.add_argument("--resume", action="store_true", help="continue an interrupted training from its last epoch")
    p.add_argument("--force", action="store_true", help="replace an existing model folder")
    p.add_argument("--seed", type=_seed,
                   help="seed of initial weights and batch order (recorded in lumicare.json) [a random one]")
    _add_precision(p, "training")
    p.add_argument("--feed", choices=_FEED_CHOICES, default="auto",
                   help="how batches reach the network: csbdeep (its data wrapper), tf.data (the same batches "
                        "gathered by TensorFlow, prefetched; a second copy of the patches in memory), or auto "
                        "(tf.data with a GPU, else csbdeep) [auto]")
    _add_preset_overrides(p, training=True)
    p.set_defaults(run=_run_train, needs_tensorflow=True)


# precision.PRECISION_CHOICES, spelled out so that building the parser stays light (tests/test_cli.py compares).
_PRECISION_CHOICES = ("float32", "bfloat16", "float16", "auto")
_FEED_CHOICES = ("auto", "csbdeep", "tf.data")  # feed.FEEDS, likewise


def _add_precision(p, what: str) -> None:
    p.add_argument("--precision", choices=_PRECISION_CHOICES, default=None,
                   help=f"arithmetic of {what}: float32 (csbdeep's), bfloat16 or float16 (mixed precision: "
                        "16-bit layers, float32 weights and outputs), or auto (what this hardware runs "
                        "natively: bfloat16 with AMX/AVX512-BF16 or a GPU of compute capability >= 8, "
                        "float16 on older GPUs, else float32) [float32]")


def _add_cluster(p, what: str) -> None:
    g = p.add_argument_group("many stacks at once (Dask distributed; pip install \"lumicare-ij[cluster]\")")
    g.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help=f"{what} on this many worker processes on this machine, one task per stack [one process]")
    g.add_argument("--threads-per-worker", type=positive_int, default=1, metavar="N",
                   help="threads of each worker (TensorFlow uses as many); workers x threads <= cores [1]")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler (tcp://HOST:8786) to run on instead, e.g. one started by "
                        "dask-jobqueue on SLURM or the Dask Kubernetes operator [DASK_SCHEDULER_ADDRESS]")
    g.add_argument("--memory-limit", default="auto", metavar="SIZE",
                   help="memory limit of each local worker, e.g. 4GB [auto: the machine's memory shared]")


def _cluster_kwargs(args) -> dict:
    return {"workers": args.workers, "threads_per_worker": args.threads_per_worker, "scheduler": args.scheduler,
            "memory_limit": args.memory_limit}


def _report_many(results: list[dict], done_phrase: str) -> None:
    done = sum(r["status"] == "done" for r in results)
    skipped = sum(r["status"] == "skipped" for r in results)
    failed = sum(r["status"] == "failed" for r in results)
    print(f"{done_phrase} {done} stack(s)" + (f", skipped {skipped} already done with the same model, input "
                                              "and settings" if skipped else "")
          + (f"; {failed} failed" if failed else ""))


def _say_precision(record) -> None:
    """One line when the precision is not plain float32: what was used and why."""
    if record and record.get("requested") != "float32":
        print(f"precision: {record['used']}" + (f" ({record['reason']})" if record.get("reason") else ""))


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {2**31 - 1}, got {text!r}")
    return value


def _run_train(args) -> int:
    from .care import train

    overrides = {"train_steps_per_epoch": args.steps_per_epoch, "train_batch_size": args.batch_size,
                 "train_learning_rate": args.learning_rate, "validation_split": args.validation_split,
                 "probabilistic": args.probabilistic, "unet_n_depth": args.depth,
                 "unet_n_first": args.first_filters}
    try:
        record = train(args.data, args.model, args.preset, epochs=args.epochs, resume=args.resume,
                       overwrite=args.force, seed=args.seed, precision=args.precision, feed=args.feed,
                       **overrides)
    except KeyboardInterrupt:
        print(f"lumicare: training interrupted; finished epochs are saved in {args.model}. Continue with:\n"
              f"  lumicare train --data {args.data} --model {args.model} --resume", file=sys.stderr)
        return 130
    last = (record.get("history") or [{}])[-1]
    print(f"Trained {args.model}: {record['epochs_done']} epochs in {record.get('training_seconds', 0):.0f} s, "
          f"final val_loss {last.get('val_loss', float('nan')):.4g}, best {record.get('best_val_loss', float('nan')):.4g}, "
          f"seed {record.get('seed')}")
    _say_precision(record.get("precision"))
    return 0


def _add_predict(sub) -> None:
    p = sub.add_parser(
        "predict", help="restore stacks with a trained model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Restore one file, several files or a folder of .tif stacks with a trained
            model. Writes float32 ImageJ TIFFs named like the inputs into --out, with
            the input's calibration and a provenance record (Image > Show Info in Fiji).
            Inputs are never overwritten. Run it again after an interruption: outputs
            made from the same input, model and settings are skipped, the rest done;
            outputs made differently are refused unless --force.

            A damaged or unsuitable stack fails alone; the others are restored.
            Exit status: 0 all restored, 1 some stacks failed (listed), 2 nothing done.

            Normalization (--normalize):
              csbdeep  percentiles 2 / 99.8 of each stack, output mapped back to the
                       input's intensity scale (csbdeep's default; as training)
              fiji     what the CSBDeep Fiji plugin does by default: percentiles
                       3 / 99.8 (nearest rank), clamp below 0, no mapping back, and
                       its tiling; gives the numbers Fiji shows
            """),
        epilog="example: lumicare predict --model models/h2b data/lum_0.5s --out restored/ --tiles 2,2,2 --scale")
    p.add_argument("inputs", nargs="+", type=Path, help="stacks (.tif) or folders of stacks")
    p.add_argument("--model", required=True, type=Path, help="model folder (lumicare train, or any csbdeep CARE model)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--tiles", type=_tiles, default=None,
                   help="tiles Z,Y,X (the paper used 2,2,2) or 'auto' (more tiles on out-of-memory) [none]")
    p.add_argument("--scale", action="store_true",
                   help="probabilistic models: also write the uncertainty (scale) as <name>_scale.tif")
    p.add_argument("--normalize", choices=("csbdeep", "fiji"), default="csbdeep", help="see above [csbdeep]")
    _add_precision(p, "prediction")
    p.add_argument("--force", action="store_true",
                   help="replace existing outputs made differently (inputs are never replaced)")
    v = p.add_argument_group("volumes larger than memory")
    v.add_argument("--format", choices=("tiff", "ome-zarr"), default=None, dest="output_format",
                   help="output format [tiff for .tif inputs, ome-zarr for OME-Zarr volumes and --planes]")
    v.add_argument("--planes", action="store_true",
                   help="each input folder is one volume stored as one 2D .tif per plane (name order)")
    v.add_argument("--block", type=_sizes_argument("--block", example="64,256,256"), default=None,
                   metavar="Z,Y,X", help="volumes are restored block by block, each with a halo of the "
                                         "network's receptive field [the largest up to 64,256,256 that fits "
                                         "half of a worker's memory]")
    v.add_argument("--pyramid", type=int, default=0, metavar="LEVELS",
                   help="OME-Zarr outputs: downsampled levels for viewers (napari, BigDataViewer) [0]")
    _add_cluster(p, "restore")
    p.set_defaults(run=_run_predict, needs_tensorflow=True)


def _run_predict(args) -> int:
    from .care import PREDICT_PERCENTILES
    from .errors import SomeInputsFailed
    from .restore import restore_files

    normalization = "fiji" if args.normalize == "fiji" else PREDICT_PERCENTILES
    try:
        results = restore_files(args.model, args.inputs, args.out, tiles=args.tiles, save_scale=args.scale,
                                overwrite=args.force, normalization=normalization,
                                precision=args.precision or "float32", output_format=args.output_format,
                                planes=args.planes, block_zyx=args.block, pyramid_levels=args.pyramid,
                                **_cluster_kwargs(args))
    except SomeInputsFailed as err:
        if len(err.results) == 1:
            raise
        _report_many(err.results, f"Into {args.out}/: restored")
        print(f"lumicare: error: {err}", file=sys.stderr)
        return 2 if err.all_failed else 1
    _report_many(results, f"Into {args.out}/: restored")
    _say_precision(next((r["precision"] for r in results if r.get("precision")), None))
    return 0


# evaluation.READOUT_CHOICES, spelled out so that building the parser need not import evaluation's
# dependencies (NumPy, xarray: about a second); tests/test_cli.py checks that the two agree.
_READOUT_CHOICES = ("mask_mae", "nuclear_pearson", "mito_morphology", "objects")


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="measure restorations against references (the paper's readouts + PSNR/SSIM)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Compare restored stacks (and optionally the raw inputs and a second reference
            acquisition, the technical noise) with reference stacks of the same names.

            Readouts (--readout, as the paper measured them in Fiji):
              mask_mae         Figure 1: 16-bit, Mean dark threshold, particles >= 100 px,
                               MAE between masks (0 = identical, 255 = all differ)
              nuclear_pearson  Figure 2a: Triangle dark threshold of the reference,
                               particles >= 5 px, Pearson's R of raw pixels under it
              mito_morphology  Figure 2b: max projection, rolling ball 5, Default threshold,
                               particles >= 20 px, mean circularity and aspect ratio
              objects          per plane, Figure 1's segmentation of both images: reference
                               objects that one object merges or several split, spurious
                               and missed objects (give --labels to tell touching ones apart)
            PSNR, SSIM and NRMSE are always computed (after CARE's normalization).
            Writes metrics.csv, metrics.json and summary.txt into --out.
            """),
        epilog="example: lumicare evaluate --reference data/lum_60s --restored restored/ "
               "--raw data/lum_0.5s --baseline data/lum_60s_rep2 --out eval/")
    p.add_argument("--reference", required=True, type=Path, help="reference stacks (e.g. the 60 s exposures)")
    p.add_argument("--restored", required=True, type=Path, help="restored stacks")
    p.add_argument("--raw", type=Path, help="the raw inputs, to compare with the restorations")
    p.add_argument("--baseline", type=Path, help="a second reference acquisition (technical noise)")
    p.add_argument("--readout", action="append", choices=_READOUT_CHOICES,
                   help="readout(s) to compute [mask_mae]; repeat for several")
    p.add_argument("--labels", type=Path,
                   help="object labels of the reference stacks, same names (a simulation's labels/): "
                        "the objects readout then keeps touching objects apart")
    p.add_argument("--engine", choices=("numpy", "imagej"), default="numpy",
                   help="who computes the Fiji steps: numpy (identical results) or the real ImageJ [numpy]")
    p.add_argument("--out", required=True, type=Path, help="folder for metrics.csv/json and summary.txt")
    p.add_argument("--force", action="store_true", help="replace earlier results in --out")
    _add_cluster(p, "evaluate")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args) -> int:
    from .evaluation import evaluate_folders, format_table, summarize, write_results

    compare = {}
    if args.raw:
        compare["raw"] = args.raw
    compare["restored"] = args.restored
    if args.baseline:
        compare["technical noise"] = args.baseline
    rows = evaluate_folders(args.reference, compare, tuple(args.readout or ("mask_mae",)), labels_dir=args.labels,
                            engine=args.engine, **_cluster_kwargs(args))
    paths = write_results(rows, args.out, overwrite=args.force)
    print(format_table(summarize(rows)))
    print(f"Per-stack results: {paths['csv']}")
    return 0


def _add_demo(sub) -> None:
    p = sub.add_parser(
        "demo", help="the whole method in a few minutes on simulated data (no arguments needed)",
        description="Simulate a small H2B dataset, train the 'quick' CARE preset to restore 0.5 s "
                    "luminescence towards 60 s, restore held-out stacks and evaluate them against the "
                    "60 s ground truth, next to the raw 0.5 s input and the technical noise (two 60 s "
                    "acquisitions). Takes a few minutes on 2 CPU cores.")
    p.add_argument("--out", type=Path, default=Path("lumicare-demo"), help="output folder [lumicare-demo]")
    p.add_argument("--epochs", type=positive_int, help="override the quick preset's epochs")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of the simulation, the training patches and the training [0]")
    p.add_argument("--force", action="store_true", help="redo the demo in an existing output folder")
    p.set_defaults(run=_run_demo, needs_tensorflow=True)


def _run_demo(args) -> int:
    from .demo import run_demo
    from .evaluation import format_table

    record = run_demo(args.out, epochs=args.epochs, seed=args.seed, overwrite=args.force)
    print("\nHeld-out H2B stacks, 0.5 s luminescence restored towards 60 s (means over stacks):")
    print(format_table(record["summary"]))
    print(f"\nRestored stacks: {args.out / 'restored'}/   metrics: {args.out / 'metrics.csv'}   "
          f"total {record['total_seconds']:.0f} s")
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export", help="export a model for Fiji (CSBDeep plugin) or bioimage.io",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Export a trained CARE model (any csbdeep CARE model folder) so that Fiji runs it.

              csbdeep-fiji  a SavedModel ZIP for Fiji's CSBDeep plugin ("Run your network"),
                            rebuilt as a TensorFlow 1.x graph that TensorFlow Java 1.15
                            (Fiji's runtime) loads
              bioimageio    a bioimage.io model package (rdf.yaml, format 0.5) with the same
                            weights, test tensors, cover and documentation (deepImageJ / JDLL)
            """),
        epilog="example: lumicare export --model models/h2b --format csbdeep-fiji --out h2b.zip")
    p.add_argument("--model", required=True, type=Path, help="CARE model folder")
    p.add_argument("--format", required=True, choices=("csbdeep-fiji", "bioimageio"))
    p.add_argument("--out", required=True, type=Path, help="ZIP file to write")
    p.add_argument("--output", choices=("mean", "mean+scale"), default="mean",
                   help="probabilistic models: export the mean only, or mean and scale as channels [mean]")
    p.add_argument("--force", action="store_true", help="replace an existing ZIP")
    p.set_defaults(run=_run_export, needs_tensorflow=True)


def _run_export(args) -> int:
    from .export import export_bioimageio, export_csbdeep_fiji

    export = export_csbdeep_fiji if args.format == "csbdeep-fiji" else export_bioimageio
    path = export(args.model, args.out, output=args.output, overwrite=args.force)
    print(f"Wrote {path}")
    if args.format == "csbdeep-fiji":
        from .export.fiji_parity import how_to_run_in_fiji

        print(how_to_run_in_fiji(path))
    return 0


def _add_reproduce(sub) -> None:
    p = sub.add_parser(
        "reproduce", help="reproduce the paper's experiments end to end, with an HTML report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Run the paper's experiments on simulated data (or your own) and write a
            self-contained HTML report (figures like the paper's panels, the paper's
            claims next to what was measured, with computed verdicts), the metrics
            (JSON/CSV) and the restored stacks (TIFF) into --out.

            Experiments (--experiment, repeatable; default all):
              1a  exposure: 0.5-10 s restored towards 60 s (cytoplasmic NanoLuc), mask MAE
              1b  binning: 2x2, 4x4, 8x8 binned 0.5 s restored to unbinned 60 s, mask MAE
              1c  noise2noise on 5 s pairs vs supervised 5 s -> 60 s, mask MAE
              2a  H2B: trained on eGFP vs on 60 s luminescence, nuclear Pearson vs 60 s
              2b  TOMM20 4 s -> mNeonGreen, DMSO vs Rotenone shape separation
            Each also checks for artefacts (objects invented or lost) and shows the
            probabilistic network's scale map beside each restoration.

            --quick: small data and the quick preset, under 30 minutes on 2 CPU cores.
            Default: the paper's data sizes and training table (a GPU machine; days on a CPU).

            Re-running resumes: finished experiments are kept (never recomputed or
            overwritten without --force); an unfinished one reuses its finished networks.

            --data DIR: your own acquisitions instead of the simulator: a folder written
            like 'lumicare simulate' (manifest.json, <condition>/<stack>.tif), a folder with
            cytoplasmic/, h2b/, tomm20/ sub-folders, or a JSON/YAML file mapping each
            specimen to {condition: folder} (or {"train": {...}, "test": {...}}).
            Experiments whose conditions are missing are skipped with a message.
            """),
        epilog="example: lumicare reproduce --quick --out repro/ && open repro/report.html")
    p.add_argument("--out", type=Path, default=Path("lumicare-reproduce"), help="output folder [lumicare-reproduce]")
    p.add_argument("--quick", action="store_true", help="small data and the quick preset (2 CPU cores, < 30 min)")
    p.add_argument("--experiment", action="append", choices=("1a", "1b", "1c", "2a", "2b"),
                   help="run only this experiment; repeat for several [all]")
    p.add_argument("--data", type=Path, help="your own data (folder or JSON/YAML mapping) instead of simulated")
    p.add_argument("--force", action="store_true", help="redo the chosen experiments even if finished")
    p.add_argument("--engine", choices=("numpy", "imagej"), default="numpy",
                   help="who computes the Fiji steps: numpy (identical results) or the real ImageJ [numpy]")
    p.set_defaults(run=_run_reproduce, needs_tensorflow=True)


def _run_reproduce(args) -> int:
    from .reproduce import reproduce

    command = "lumicare " + " ".join(sys.argv[1:]) if sys.argv[1:] else "lumicare reproduce"
    try:
        summary = reproduce(args.out, quick=args.quick, experiments=args.experiment, data=args.data,
                            force=args.force, engine=args.engine, command=command)
    except KeyboardInterrupt:
        print(f"lumicare: interrupted; finished experiments in {args.out} are kept. Run the same command "
              "again to resume.", file=sys.stderr)
        return 130
    failed = [eid for eid, s in summary["experiments"].items() if s["status"] == "failed"]
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lumicare", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lumicare-ij {package_version()}")
    sub = parser.add_subparsers(title="commands", metavar="<command>")
    _add_demo(sub)
    _add_simulate(sub)
    _add_presets(sub)
    _add_prepare(sub)
    _add_train(sub)
    _add_predict(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_fiji(sub)
    _add_ijcheck(sub)
    _add_reproduce(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter helps nobody here
    try:
        if getattr(args, "needs_tensorflow", False):
            from .tfquiet import import_tensorflow_quietly

            import_tensorflow_quietly()
        return args.run(args)
    except LumicareError as err:
        print(f"lumicare: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system said no: disk full, permission denied, a folder that vanished
        print(f"lumicare: error: {err.strerror or err}"
              f"{f': {err.filename}' if err.filename else ''}. Check the path, free space and permissions, "
              "then run the command again; finished files are complete, unfinished ones were not written.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lumicare: interrupted; finished files are complete, unfinished ones were not written.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser", "format_manifest_summary"]
