"""The paper's experiments as data, and the one procedure that runs any of them.

Each experiment (:class:`Experiment`) names its specimen, the networks to train
(:class:`Network`: regime, input condition(s), target), the test inputs
restored by them (:class:`Arm`), the readout and its reference. One function
per experiment builds the definition (:func:`exposure_1a` ... :func:`mitochondria_2b`);
:func:`run_experiment` trains, restores, measures, checks for artefacts and
draws the figures of any definition, returning a JSON-ready results dict.

=====  ===========  =======================================  ==========================  =================
id     specimen     networks (input -> target)               test inputs                 readout vs
=====  ===========  =======================================  ==========================  =================
1a     cytoplasmic  0.5/1/2/5/10 s -> 60 s (one per           the same exposures          mask MAE vs 60 s
                    exposure; --quick: one for all)
1b     cytoplasmic  0.5 s Fiji-binned 2x2/4x4/8x8 -> 60 s     0.5 s binned 2x2/4x4/8x8     mask MAE vs 60 s
1c     cytoplasmic  5 s <-> 5 s (noise2noise); 5 s -> 60 s   5 s                         mask MAE vs 60 s
2a     h2b          0.5 s -> eGFP; 0.5 s -> 60 s             0.5 s                       Pearson vs 60 s
2b     tomm20       4 s -> mNeonGreen                        4 s (DMSO, Rotenone)        shape vs mNeonGreen
=====  ===========  =======================================  ==========================  =================

Technical noise (1a-1c, 2a) is a second 60 s acquisition against the first.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import io as lio
from .. import objects
from . import artefacts as art
from . import measure
from .settings import Settings

EXPERIMENT_IDS = ("1a", "1b", "1c", "2a", "2b")
EXPOSURES_1A = (0.5, 1, 2, 5, 10)
BINNINGS_1B = (2, 4, 8)
LONG = "lum_60s"
LONG_REPEAT = "lum_60s_rep2"
NETWORK_DONE = "network-done.json"


@dataclass(frozen=True)
class Network:
    """One CARE network: ``inputs`` (one condition, or several trained together) -> ``target``."""

    key: str
    regime: str
    inputs: tuple
    target: str
    bin_factor: int | None = None
    label: str = ""


@dataclass(frozen=True)
class Arm:
    """One test input restored by one network and measured against the experiment's reference."""

    key: str
    label: str
    network: str
    test_input: str
    derive_from: str | None = None  # software-bin this condition when test_input is not recorded
    bin_factor: int = 1


@dataclass(frozen=True)
class Experiment:
    id: str
    title: str
    figure: str
    specimen: str
    readout: str
    reference: str
    technical_noise: str | None
    networks: tuple
    arms: tuple
    description: str
    required_arms: tuple = ()
    show_also: tuple = ()
    notes: tuple = field(default_factory=tuple)

    def network(self, key: str) -> Network:
        return next(n for n in self.networks if n.key == key)

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "figure": self.figure, "specimen": self.specimen,
                "readout": self.readout, "reference": self.reference, "technical_noise": self.technical_noise,
                "networks": [vars(n) | {"inputs": list(n.inputs)} for n in self.networks],
                "arms": [vars(a) for a in self.arms], "description": self.description,
                "show_also": list(self.show_also)}


_PLANES = ("Measured, like the paper's micrographs, on the planes through the cells: the ground truth's in-focus "
           "planes (full width at half maximum of its axial intensity profile); the value over every plane of the "
           "stack is listed too (all_planes).")


def _lum(exposure) -> str:
    return f"lum_{exposure:g}s"


# --------------------------------------------------------------------------
# The experiments, one function each
# --------------------------------------------------------------------------

def exposure_1a(settings: Settings) -> Experiment:
    """Figure 1a: short exposures restored towards 60 s."""
    arms, networks = [], []
    if settings.mixed_exposures:
        inputs = tuple(_lum(e) for e in EXPOSURES_1A)
        networks.append(Network("lum_short-to-lum_60s", "denoise", inputs, LONG,
                                label="0.5, 1, 2, 5, 10 s -> 60 s (one network for all exposures)"))
    for e in EXPOSURES_1A:
        key = "lum_short-to-lum_60s" if settings.mixed_exposures else f"{_lum(e)}-to-lum_60s"
        if not settings.mixed_exposures:
            networks.append(Network(key, "denoise", (_lum(e),), LONG, label=f"{e:g} s -> 60 s"))
        arms.append(Arm(f"{e:g}s", f"{e:g} s ({60 / e:g}-fold shorter)", key, _lum(e)))
    return Experiment(
        "1a", "Shorter exposures", "Figure 1a, S1a", "cytoplasmic", "mask_mae", LONG, LONG_REPEAT,
        tuple(networks), tuple(arms),
        "Cytoplasmic NanoLuc recorded at 0.5-10 s is restored towards the 60 s acquisition (denoise regime). "
        "Cell masks (16-bit, Mean dark threshold, particles >= 100 px) of the raw input and of the "
        "restoration are compared with the 60 s mask by their MAE, next to the technical noise "
        "(two consecutive 60 s acquisitions). " + _PLANES,
        notes=(("One network was trained on all five exposures together (each short stack paired with its "
                "60 s stack), to fit the CPU budget; the paper trained one network per exposure.",)
               if settings.mixed_exposures else ()))


def binning_1b(settings: Settings) -> Experiment:
    """Figure 1b: binned short exposures restored to unbinned 60 s."""
    networks, arms = [], []
    for k in BINNINGS_1B:
        key = f"lum_0.5s-bin{k}-to-lum_60s"
        networks.append(Network(key, "upsample", ("lum_0.5s",), LONG, bin_factor=k,
                                label=f"0.5 s binned {k}x{k} (Fiji Bin, average) -> 60 s unbinned"))
        arms.append(Arm(f"{k}x{k}", f"{k}x{k} binned 0.5 s", key, f"lum_0.5s_swbin{k}", derive_from="lum_0.5s",
                        bin_factor=k))
    return Experiment(
        "1b", "Binned acquisitions", "Figure 1b, S1b", "cytoplasmic", "mask_mae", LONG, LONG_REPEAT,
        tuple(networks), tuple(arms),
        "0.5 s exposures binned 2x2, 4x4 and 8x8 (Fiji's Bin, average, as the paper made its training "
        "data) are upsampled without interpolation and restored to the unbinned 60 s acquisition (upsample "
        "regime, one network per binning). Readout as 1a; the raw input is the binned image upsampled to "
        "full size.")


def noise2noise_1c(settings: Settings) -> Experiment:
    """Figure 1c: noise2noise on 5 s pairs versus supervised training on 60 s targets."""
    networks = (Network("lum_5s-n2n", "n2n", ("lum_5s",), "lum_5s_rep2",
                        label="5 s <-> 5 s (noise2noise, both directions)"),
                Network("lum_5s-to-lum_60s", "denoise", ("lum_5s",), LONG, label="5 s -> 60 s (supervised)"))
    arms = (Arm("n2n", "noise2noise (5 s pairs only)", "lum_5s-n2n", "lum_5s"),
            Arm("supervised", "supervised (60 s targets)", "lum_5s-to-lum_60s", "lum_5s"))
    return Experiment(
        "1c", "Noise2noise", "Figure 1c, S1c", "cytoplasmic", "mask_mae", LONG, LONG_REPEAT, networks, arms,
        "A network trained only on pairs of consecutive 5 s acquisitions (noise2noise) is compared with one "
        "trained on 5 s -> 60 s pairs; both restore held-out 5 s stacks. Readout as 1a.",
        required_arms=("n2n", "supervised"))


def fluorescence_2a(settings: Settings) -> Experiment:
    """Figure 2a: eGFP as ground truth for H2B-NanoLuc, versus 60 s luminescence."""
    networks = (Network("lum_0.5s-to-fluo", "fluorescence", ("lum_0.5s",), "fluo", label="0.5 s -> H2B-eGFP"),
                Network("lum_0.5s-to-lum_60s", "denoise", ("lum_0.5s",), LONG, label="0.5 s -> 60 s luminescence"))
    arms = (Arm("fluo-trained", "trained on eGFP targets", "lum_0.5s-to-fluo", "lum_0.5s"),
            Arm("lum-trained", "trained on 60 s luminescence targets", "lum_0.5s-to-lum_60s", "lum_0.5s"))
    return Experiment(
        "2a", "Fluorescence as ground truth", "Figure 2a, S2a", "h2b", "nuclear_pearson", LONG, LONG_REPEAT,
        networks, arms,
        "H2B-NanoLuc at 0.5 s is restored by a network trained on H2B-eGFP fluorescence targets and by one "
        "trained on 60 s luminescence targets. Readout: Pearson's R of raw pixel values under nuclear masks "
        "(Triangle dark threshold of the 60 s quality-control image, particles >= 5 px) against the 60 s "
        "luminescence. " + _PLANES,
        required_arms=("fluo-trained", "lum-trained"), show_also=("fluo",))


def mitochondria_2b(settings: Settings) -> Experiment:
    """Figure 2b: TOMM20 at 4 s restored towards mNeonGreen; DMSO versus Rotenone."""
    networks = (Network("lum_4s-to-fluo", "fluorescence", ("lum_4s",), "fluo", label="4 s -> TOMM20-mNeonGreen"),)
    arms = (Arm("restored", "4 s restored towards mNeonGreen", "lum_4s-to-fluo", "lum_4s"),)
    return Experiment(
        "2b", "Mitochondrial morphology", "Figure 2b", "tomm20", "mito_morphology", "fluo", None, networks, arms,
        "TOMM20-NanoLuc at 4 s is restored towards TOMM20-mNeonGreen. Per image: maximum projection, rolling "
        "ball (5 px), Default threshold, particles >= 20 px, mean circularity and aspect ratio, from the "
        "restoration, the raw input and the fluorescence ground truth of the same cell; then how well the "
        "two features separate DMSO from Rotenone cells. The paper segmented with a trained ilastik "
        "classifier; this package cannot run ilastik and uses ImageJ's Default threshold instead "
        "(analysis.PixelClassifier is an ilastik-like classifier of this package's own, not ilastik).",
        required_arms=("restored",))


DEFINITIONS = {"1a": exposure_1a, "1b": binning_1b, "1c": noise2noise_1c, "2a": fluorescence_2a,
               "2b": mitochondria_2b}


def define(experiment_id: str, settings: Settings) -> Experiment:
    return DEFINITIONS[experiment_id](settings)


# --------------------------------------------------------------------------
# Planning against the conditions that exist
# --------------------------------------------------------------------------

@dataclass
class Plan:
    experiment: Experiment | None
    skipped: str | None = None
    notes: list = field(default_factory=list)


def plan(exp: Experiment, train_conditions: set, test_conditions: set) -> Plan:
    """Keep the arms whose conditions exist; skip the experiment (saying what is missing) if it cannot run."""
    notes = []
    missing_all = set()
    if exp.reference not in test_conditions:
        missing_all.add(exp.reference)
    kept_arms, kept_networks = [], {}
    for arm in exp.arms:
        net = exp.network(arm.network)
        inputs = tuple(c for c in net.inputs if c in train_conditions)
        needs_train = ({net.target} if net.target not in train_conditions else set())
        if not inputs:
            needs_train |= set(net.inputs)
        test_ok = arm.test_input in test_conditions or (arm.derive_from and arm.derive_from in test_conditions)
        missing = sorted(needs_train | (set() if test_ok else {arm.test_input}))
        if missing:
            missing_all.update(missing)
            notes.append(f"{arm.label}: skipped, missing condition(s) {', '.join(missing)}")
            continue
        kept_arms.append(arm)
        kept_networks[net.key] = replace(net, inputs=inputs)
    dropped_required = [a for a in exp.required_arms if a not in {k.key for k in kept_arms}]
    if exp.reference in missing_all or not kept_arms or dropped_required:
        return Plan(None, f"needs {exp.specimen} condition(s) {', '.join(sorted(missing_all))}", notes)
    for net in kept_networks.values():
        dropped = [c for c in exp.network(net.key).inputs if c not in net.inputs]
        if dropped:
            notes.append(f"network {net.key}: trained without missing input(s) {', '.join(dropped)}")
    if exp.technical_noise and exp.technical_noise not in test_conditions:
        notes.append(f"no {exp.technical_noise}: the technical noise (two consecutive long exposures) "
                     "is not measured")
        exp = replace(exp, technical_noise=None)
    exp = replace(exp, arms=tuple(kept_arms), networks=tuple(kept_networks.values()),
                  show_also=tuple(c for c in exp.show_also if c in test_conditions))
    return Plan(exp, None, notes)


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

@dataclass
class Context:
    settings: Settings
    data: object  # datasets.SpecimenData
    exp_dir: Path
    progress: object  # runner.Progress
    show_bars: bool = True


def _json_write(path: Path, obj) -> None:
    from ..training import to_json

    lio.atomic_write_text(path, to_json(obj), overwrite=True)


def _stage_mixed(net: Network, train_dir: Path, work: Path) -> Path:
    """Pairs of several input conditions as one condition folder (links), for one network on all."""
    root = work / "pairs" / net.key
    if root.exists():
        shutil.rmtree(root)
    for cond in net.inputs:
        for f in sorted((train_dir / cond).glob("*.tif")):
            for side, src in (("input", f), ("target", train_dir / net.target / f.name)):
                dst = root / side / f"{cond}__{f.name}"
                dst.parent.mkdir(parents=True, exist_ok=True)
                if not src.is_file():
                    continue  # find_pairs reports the missing partner by name
                try:
                    os.symlink(src.resolve(), dst)
                except OSError:
                    shutil.copy2(src, dst)
    return root


def train_network(net: Network, ctx: Context, preset) -> dict:
    """Prepare patches and train one network; reuse it when an earlier run finished it."""
    from .. import care, training

    model_dir = ctx.exp_dir / "models" / net.key
    done = model_dir / NETWORK_DONE
    want = {"network": vars(net) | {"inputs": list(net.inputs)}, "preset": preset.as_dict(),
            "seed": ctx.settings.seed,
            # relative, so that a moved or copied output folder still knows its networks
            "data": os.path.relpath(ctx.data.train_dir, ctx.exp_dir)}
    if done.is_file():
        record = json.loads(done.read_text(encoding="utf-8"))
        if record.get("request") == json.loads(json.dumps(want)):
            ctx.progress.note(f"network {net.key}: finished earlier, reused")
            return record
    work = ctx.exp_dir / "work"
    npz = work / f"{net.key}.npz"
    t0 = time.perf_counter()
    if len(net.inputs) > 1:
        data_dir, inp, tgt = _stage_mixed(net, ctx.data.train_dir, work), "input", "target"
    else:
        data_dir, inp, tgt = ctx.data.train_dir, net.inputs[0], net.target
    data_record = training.prepare_training_data(data_dir, net.regime, inp, tgt, npz, preset=preset,
                                                 seed=ctx.settings.seed, bin_factor=net.bin_factor,
                                                 overwrite=True, progress=False)
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model_record = None
    existing = care.read_model_record(model_dir)
    if existing and existing.get("status") in ("interrupted", "failed") and existing.get("epochs_done", 0) > 0:
        try:  # an interrupted run of the same network: continue from its last finished epoch
            ctx.progress.note(f"network {net.key}: resuming after epoch {existing['epochs_done']}")
            model_record = care.train(npz, model_dir, resume=True, progress=ctx.show_bars)
        except care.ModelError:
            model_record = None
    if model_record is None:
        model_record = care.train(npz, model_dir, preset, overwrite=True, progress=ctx.show_bars,
                                  seed=ctx.settings.seed)
    last = (model_record.get("history") or [{}])[-1]
    record = {"request": want, "key": net.key, "label": net.label, "regime": net.regime,
              "inputs": list(net.inputs), "target": net.target, "bin_factor": net.bin_factor,
              "n_patches": data_record["n_patches"], "n_stack_pairs": data_record["n_stack_pairs"],
              "epochs_done": model_record["epochs_done"], "probabilistic": preset.probabilistic,
              "final_loss": last.get("loss"), "final_val_loss": last.get("val_loss"),
              "prepare_seconds": round(prepare_s, 1), "train_seconds": round(time.perf_counter() - t0, 1)}
    _json_write(done, record)  # last: the network is complete
    # The patches are needed only to resume an interrupted training: free the disk
    # (the paper's TOMM20 patches alone take ~56 GB). Their record (.json) stays.
    npz.unlink(missing_ok=True)
    if len(net.inputs) > 1:
        shutil.rmtree(work / "pairs" / net.key, ignore_errors=True)
    return record


def _test_folder(arm: Arm, ctx: Context) -> Path:
    """The held-out inputs of an arm; binned ones are made with Fiji's Bin when not recorded."""
    from .. import ijops

    folder = ctx.data.test_dir / arm.test_input
    if folder.is_dir():
        return folder
    derived = ctx.exp_dir / "work" / "derived" / arm.test_input
    for f in sorted((ctx.data.test_dir / arm.derive_from).glob("*.tif")):
        stack = lio.read_stack(f)
        binned = ijops.bin(stack.values, arm.bin_factor, 1, method="average")
        px = stack.attrs.get("pixel_size_um")
        lio.write_stack(derived / f.name, binned, pixel_size_um=px * arm.bin_factor if px else None,
                        z_step_um=stack.attrs.get("z_step_um"),
                        metadata={**(stack.attrs.get("metadata") or {}),
                                  "derived": f"Fiji Bin {arm.bin_factor}x{arm.bin_factor} average of {f}"},
                        overwrite=True)
    return derived


def _in_planes(mask: np.ndarray, planes):
    return mask if planes is None or mask.ndim == 2 else mask[planes]


def _reference_objects(ref_mask: np.ndarray, labels_path: Path, planes) -> np.ndarray:
    """The ground truth's objects in the measured planes (its mask, split by the simulation's labels)."""
    if not labels_path.is_file():
        return ref_mask
    labels = lio.read_array(labels_path)
    return objects.reference_objects(ref_mask, _in_planes(labels, planes) if ref_mask.ndim == 3 else None)


def _raw_at_reference_size(raw: np.ndarray, ref_shape) -> np.ndarray:
    from .. import ijops

    if raw.shape == tuple(ref_shape):
        return raw
    return ijops.upsample_nearest(raw, tuple(ref_shape))


def run_experiment(exp: Experiment, ctx: Context) -> dict:
    """Train, restore, measure, check artefacts and draw one experiment; returns its results."""
    from .. import care
    from . import figures

    s = ctx.settings
    engine = s.engine
    timings = {}
    exp_dir = ctx.exp_dir
    for stale in ("restored", "figures"):
        if (exp_dir / stale).exists():
            shutil.rmtree(exp_dir / stale)
    preset = s.preset(exp.specimen, exp.id)

    t0 = time.perf_counter()
    networks = []
    for i, net in enumerate(exp.networks, 1):
        ctx.progress.step(f"{exp.id}: network {i}/{len(exp.networks)} {net.label or net.key}")
        networks.append(train_network(net, ctx, preset))
    timings["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ctx.progress.step(f"{exp.id}: restoring held-out stacks ({len(exp.arms)} input(s))")
    test_folders = {}
    for arm in exp.arms:
        test_folders[arm.key] = _test_folder(arm, ctx)
        care.restore_files(exp_dir / "models" / arm.network, test_folders[arm.key], exp_dir / "restored" / arm.key,
                           tiles=s.tiles, save_scale=preset.probabilistic, overwrite=True, progress=False,
                           upsample_factor=arm.bin_factor)
    timings["restore"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ctx.progress.step(f"{exp.id}: measuring ({exp.readout}) and checking for artefacts")
    ref_dir = ctx.data.test_dir / exp.reference
    stacks = ctx.data.test_stacks(exp.reference)
    rows, artefact_rows, morphology_rows = [], [], []
    for stack in stacks:
        reference = lio.read_array(ref_dir / f"{stack}.tif")
        phenotype = ctx.data.phenotypes.get(stack)
        # Figures 1 and 2a: the ground truth's in-focus planes (measure.focus_planes); 2b: the projection.
        planes = measure.focus_planes(reference) if exp.readout != "mito_morphology" else None
        ref_mask = _in_planes(art.object_mask(exp.readout, reference, engine=engine), planes)
        ref_objects = _reference_objects(ref_mask, ctx.data.test_dir / "labels" / f"{stack}.tif", planes)
        if exp.readout == "mito_morphology":
            morphology_rows.append({"stack": stack, "phenotype": phenotype, "kind": "ground truth",
                                    **measure.morphology_features(reference, engine=engine)})
        if exp.technical_noise:
            noise = lio.read_array(ctx.data.test_dir / exp.technical_noise / f"{stack}.tif")
            row = measure.readout_values(exp.readout, noise, reference, engine=engine, planes=planes)
            rows.append({"stack": stack, "arm": "technical noise", "kind": "technical noise", **row})
        for arm in exp.arms:
            raw = _raw_at_reference_size(lio.read_array(test_folders[arm.key] / f"{stack}.tif"), reference.shape)
            restored = lio.read_array(exp_dir / "restored" / arm.key / f"{stack}.tif")
            for kind, image in (("raw", raw), ("restored", restored)):
                row = measure.readout_values(exp.readout, image, reference, engine=engine, planes=planes)
                rows.append({"stack": stack, "arm": arm.key, "kind": kind, "phenotype": phenotype, **row})
                counts = art.compare_objects(_in_planes(art.object_mask(exp.readout, image, engine=engine), planes),
                                             ref_objects, min_size_px=art.PARTICLE_MIN_PX[exp.readout])
                artefact_rows.append({"stack": stack, "arm": arm.key, "kind": kind, **counts})
                if exp.readout == "mito_morphology":
                    morphology_rows.append({"stack": stack, "phenotype": phenotype, "kind": kind, "arm": arm.key,
                                            **{k: row[k] for k in ("mean_circularity", "mean_aspect_ratio",
                                                                   "n_particles")}})
    metrics = list(measure.READOUT_METRICS[exp.readout]) + ["psnr", "ssim"]
    if exp.readout == "mito_morphology":
        metrics.append("mito_mask_mae")
    else:
        metrics.insert(1, f"{exp.readout}_all_planes")
    summary = measure.summarize_rows(rows, metrics)
    artefact_summary = measure.summarize_rows(artefact_rows, objects.OBJECT_COUNTS)
    separation = _separation(morphology_rows) if exp.readout == "mito_morphology" else None
    timings["measure"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ctx.progress.step(f"{exp.id}: drawing figures")
    results = {
        "id": exp.id, "title": exp.title, "figure": exp.figure, "specimen": exp.specimen,
        "readout": exp.readout, "readout_metrics": measure.READOUT_METRICS[exp.readout],
        "reference": exp.reference, "technical_noise": exp.technical_noise,
        "description": exp.description, "definition": exp.as_dict(),
        "arms": [{"key": a.key, "label": a.label, "network": a.network, "test_input": a.test_input,
                  "bin_factor": a.bin_factor, "test_folder": str(test_folders[a.key])} for a in exp.arms],
        "networks": networks, "stacks": stacks, "rows": rows, "summary": summary,
        "artefacts": {"rows": artefact_rows, "summary": artefact_summary, "min_overlap": art.MIN_OVERLAP},
        "morphology": {"rows": morphology_rows, "separation": separation} if separation else None,
        "data": {"origin": ctx.data.origin, "train_dir": str(ctx.data.train_dir), "test_dir": str(ctx.data.test_dir)},
        "settings": s.as_dict(), "preset": preset.as_dict(), "notes": list(exp.notes),
    }
    results["figures"] = figures.draw_experiment(exp, results, ctx)
    timings["figures"] = time.perf_counter() - t0
    results["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    return results


def _separation(morphology_rows: list[dict]) -> dict:
    out = {}
    for kind in ("ground truth", "restored", "raw"):
        subset = [r for r in morphology_rows if r["kind"] == kind and r.get("phenotype") in ("dmso", "rotenone")]
        if not subset:
            continue
        out[kind] = measure.separation([r["mean_circularity"] for r in subset],
                                       [r["mean_aspect_ratio"] for r in subset],
                                       [r["phenotype"] == "rotenone" for r in subset])
    return out


def finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
