"""Training presets: the paper's table (and a CPU-sized demo preset) as data.

A preset holds everything ``lumicare prepare`` and ``lumicare train`` need
besides the data: how patches are sampled and how the CSBDeep CARE network is
configured and trained. The three paper presets carry the values of the
training table in Rink lab's lumicare paper ("Data recording, Deep Neural
Network training and image restoration") exactly; every CARE setting the
table does not name keeps csbdeep's default, as the paper did ("All other
network parameters were used in default settings").

Presets are plain data (:data:`PRESETS`), checked in one place
(:meth:`Preset.__post_init__`); :func:`get_preset` returns one with fields
overridden, :func:`format_presets` prints the table.

Examples
--------
>>> p = get_preset("h2b", train_epochs=10)
>>> p.patch_size, p.train_epochs
((16, 64, 64), 10)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import UserInputError
from .shapes import parse_sizes

__all__ = ["Preset", "PRESETS", "PRESET_FIELDS", "PAPER_ACQUISITION", "get_preset",
           "preset_names", "format_presets", "care_config_kwargs"]


@dataclass(frozen=True)
class Preset:
    """One row set of the training table.

    Parameters
    ----------
    name : str
        Key in :data:`PRESETS`.
    description : str
        One line shown by ``lumicare presets``.
    patch_size : tuple of int
        Patch shape **(Z, Y, X)** in pixels (the paper writes XYZ: 64x64x16 is
        ``(16, 64, 64)`` here). Each side must be divisible by
        ``2 ** unet_n_depth`` (the U-Net pools that often).
    n_patches_per_image : int
        Random patches sampled from each stack *after* the 8-fold augmentation
        (csbdeep's ``create_patches`` counts every transformed stack as an image).
    train_epochs, train_steps_per_epoch, train_batch_size : int
        As csbdeep's :class:`~csbdeep.models.Config`.
    validation_split : float
        Fraction of the patches held out for validation (0 < v < 1), as
        :func:`csbdeep.io.load_training_data`'s ``validation_split``.
    probabilistic : bool
        Per-pixel Laplace distributions (mean and scale) instead of one value.
    unet_n_depth, unet_n_first, unet_kern_size : int
        U-Net depth, filters of the first level, kernel size (csbdeep defaults
        2, 32, 3 for 3D).
    train_learning_rate : float
        Adam learning rate (csbdeep default 0.0004).
    source : str
        Where the values come from.
    """

    name: str
    description: str
    patch_size: tuple
    n_patches_per_image: int
    train_epochs: int
    train_steps_per_epoch: int
    train_batch_size: int
    validation_split: float
    probabilistic: bool = True
    unet_n_depth: int = 2
    unet_n_first: int = 32
    unet_kern_size: int = 3
    train_learning_rate: float = 0.0004
    source: str = ""

    def __post_init__(self):
        # The one place where preset values are checked, for the table and for overrides.
        object.__setattr__(self, "patch_size", _patch_size(self.patch_size))
        for field in ("n_patches_per_image", "train_epochs", "train_steps_per_epoch", "train_batch_size",
                      "unet_n_depth", "unet_n_first", "unet_kern_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserInputError(f"preset {self.name!r}: {field} must be a whole number >= 1, got {value!r}")
        if self.unet_kern_size % 2 == 0:
            raise UserInputError(f"preset {self.name!r}: unet_kern_size must be odd (3, 5, ...), got {self.unet_kern_size}")
        if not isinstance(self.validation_split, (int, float)) or isinstance(self.validation_split, bool) \
                or not 0 < self.validation_split < 1:
            raise UserInputError(f"preset {self.name!r}: validation_split must be a fraction between 0 and 1 "
                             f"(exclusive), got {self.validation_split!r}")
        object.__setattr__(self, "validation_split", float(self.validation_split))
        if not isinstance(self.train_learning_rate, (int, float)) or isinstance(self.train_learning_rate, bool) \
                or not self.train_learning_rate > 0:
            raise UserInputError(f"preset {self.name!r}: train_learning_rate must be > 0, got {self.train_learning_rate!r}")
        object.__setattr__(self, "train_learning_rate", float(self.train_learning_rate))
        if not isinstance(self.probabilistic, bool):
            raise UserInputError(f"preset {self.name!r}: probabilistic must be True or False, got {self.probabilistic!r}")
        div = 2 ** self.unet_n_depth
        bad = [s for s in self.patch_size if s % div]
        if bad:
            raise UserInputError(
                f"preset {self.name!r}: every side of patch_size {_zyx(self.patch_size)} must be divisible by "
                f"2**unet_n_depth = {div} (the U-Net halves the patch {self.unet_n_depth} times); "
                f"choose e.g. {_zyx(tuple(max(div, s // div * div) for s in self.patch_size))}.")

    def as_dict(self) -> dict:
        """The preset as a JSON-ready dict (patch_size as a list, Z, Y, X)."""
        d = dataclasses.asdict(self)
        d["patch_size"] = list(self.patch_size)
        return d


def _zyx(shape) -> str:
    return "(Z, Y, X) = (" + ", ".join(str(s) for s in shape) + ")"


def _patch_size(value) -> tuple:
    return parse_sizes(value, "patch_size", example="16,64,64")


_PAPER = "lumicare paper, training table (Data recording, Deep Neural Network training and image restoration)"

#: The presets, by name. The paper's three carry its table exactly; ``quick``
#: is sized to train on two CPU cores in one to two minutes and still restore
#: clearly (docs/results.md: every regime on simulated held-out stacks;
#: tests/care/test_quality.py: about 14x lower error than the raw input on
#: synthetic shot-noise data). ``quick`` is not probabilistic: after 192 steps
#: the Laplace loss had improved the mean only 1.6x where the plain MAE loss
#: gave 12x; on so short a run the MAE loss converges much faster. It takes
#: many small steps in few epochs (640 steps of 4 patches in 10 epochs): a
#: CPU step costs about linearly in the batch and every epoch adds a fixed
#: cost (validation, checkpoints), so it trains in about the time of the
#: earlier 15 epochs x 16 steps of 8 patches, sees 1.3x the patches, and
#: restores better (docs/training-and-restoration.md, "The quick preset").
PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("cytoplasmic", "Cytoplasmic NanoLuc, 20x (paper table)",
           patch_size=(16, 64, 64), n_patches_per_image=200, train_epochs=150,
           train_steps_per_epoch=200, train_batch_size=128, validation_split=0.1, source=_PAPER),
    Preset("h2b", "H2B-NanoLuc nuclei, 20x (paper table)",
           patch_size=(16, 64, 64), n_patches_per_image=250, train_epochs=100,
           train_steps_per_epoch=400, train_batch_size=128, validation_split=0.2, source=_PAPER),
    Preset("tomm20", "Tomm20-NanoLuc mitochondria, 100x (paper table)",
           patch_size=(16, 64, 64), n_patches_per_image=150, train_epochs=200,
           train_steps_per_epoch=600, train_batch_size=128, validation_split=0.3, source=_PAPER),
    Preset("quick", "small network for CPU demos and tests (1-2 minutes on 2 cores)",
           patch_size=(16, 32, 32), n_patches_per_image=16, train_epochs=10,
           train_steps_per_epoch=64, train_batch_size=4, validation_split=0.1, probabilistic=False,
           unet_n_depth=2, unet_n_first=16, unet_kern_size=3, train_learning_rate=0.001,
           source="lumicare_ij (tuned for 2 CPU cores; not from the paper)"),
)}

#: The acquisitions behind the paper's presets (for documentation and the
#: simulator; not used in training). Camera ROI is unbinned X, Y, Z.
PAPER_ACQUISITION = {
    "cytoplasmic": {"camera_roi_xyz": (1024, 1024, 16), "z_step_um": 0.57, "n_stacks": 8, "objective": "20x XAPO"},
    "h2b": {"camera_roi_xyz": (512, 512, 16), "z_step_um": 0.57, "n_stacks": 14, "objective": "20x XAPO"},
    "tomm20": {"camera_roi_xyz": (512, 512, 16), "z_step_um": 0.13, "n_stacks": 90, "objective": "100x APO"},
}

#: Fields a user may override, with a short explanation (for --help and the table).
PRESET_FIELDS = {
    "patch_size": "patch shape Z,Y,X in pixels",
    "n_patches_per_image": "random patches per stack (after 8-fold augmentation)",
    "train_epochs": "training epochs",
    "train_steps_per_epoch": "optimiser steps per epoch",
    "train_batch_size": "patches per step",
    "validation_split": "fraction of patches held out for validation",
    "probabilistic": "predict per-pixel mean and scale (Laplace)",
    "unet_n_depth": "U-Net depth (poolings)",
    "unet_n_first": "filters in the first U-Net level",
    "unet_kern_size": "convolution kernel size",
    "train_learning_rate": "Adam learning rate",
}

# Fields passed to csbdeep.models.Config (validation_split and the patch fields are used elsewhere).
_CARE_FIELDS = ("probabilistic", "unet_n_depth", "unet_n_first", "unet_kern_size", "train_epochs",
                "train_steps_per_epoch", "train_batch_size", "train_learning_rate")


def preset_names() -> list[str]:
    """Names of the available presets, in table order."""
    return list(PRESETS)


def get_preset(name, **overrides) -> Preset:
    """A preset by name, with some fields replaced.

    Parameters
    ----------
    name : str or Preset
        One of :func:`preset_names` (or a Preset, returned with the overrides).
    **overrides
        Any field of :data:`PRESET_FIELDS`. ``None`` values are ignored (so a
        command line can pass every option). Strings are converted as the field
        needs (``patch_size="16,64,64"``, ``probabilistic="false"``).

    Returns
    -------
    Preset

    Raises
    ------
    ValueError
        Unknown preset name, unknown field, or a value the field cannot take.
    """
    if isinstance(name, Preset):
        base = name
    else:
        if name not in PRESETS:
            raise UserInputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)} "
                           "(see 'lumicare presets').")
        base = PRESETS[name]
    overrides = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(overrides) - set(PRESET_FIELDS))
    if unknown:
        raise UserInputError(f"unknown preset field(s) {', '.join(unknown)}; fields are {', '.join(PRESET_FIELDS)}.")
    converted = {k: _convert(k, v, getattr(base, k)) for k, v in overrides.items()}
    return dataclasses.replace(base, **converted)


def _convert(field: str, value, like):
    """Turn a command-line string into the field's type; other values pass unchanged."""
    if not isinstance(value, str) or field == "patch_size":
        return value
    text = value.strip()
    try:
        if isinstance(like, bool):
            lowered = text.lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        raise UserInputError(f"{field}: cannot read {value!r} as {type(like).__name__}") from None
    return value


def care_config_kwargs(preset: Preset) -> dict:
    """The preset's csbdeep :class:`~csbdeep.models.Config` keyword arguments."""
    return {k: getattr(preset, k) for k in _CARE_FIELDS}


def format_presets(names=None) -> str:
    """The presets as a text table, one column per preset (as in the paper).

    Parameters
    ----------
    names : list of str, optional
        Presets to show (default: all).

    Returns
    -------
    str
        Rows: the fields of :data:`PRESET_FIELDS`; patch size is shown as
        X x Y x Z as in the paper's table.
    """
    presets = [get_preset(n) for n in (names or PRESETS)]
    rows = [("", [p.name for p in presets])]
    for field in PRESET_FIELDS:
        if field == "patch_size":
            label = "patch_size (XYZ, pixels)"
            cells = ["x".join(str(s) for s in p.patch_size[::-1]) for p in presets]
        else:
            label = field
            cells = [_cell(getattr(p, field)) for p in presets]
        rows.append((label, cells))
    label_w = max(len(r[0]) for r in rows)
    col_w = [max(len(r[1][i]) for r in rows) for i in range(len(presets))]
    lines = []
    for i, (label, cells) in enumerate(rows):
        lines.append("  ".join([label.ljust(label_w)] + [c.rjust(w) for c, w in zip(cells, col_w)]).rstrip())
        if i == 0:
            lines.append("-" * len(lines[0]))
    lines.append("")
    lines.extend(f"{p.name}: {p.description}" for p in presets)
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
