"""How big a reproduction is: data sizes, presets and network counts, as data.

Two scales are defined:

``quick`` (``lumicare reproduce --quick``)
    Small simulated stacks (16 x 128 x 128 voxels; TOMM20 16 x 256 x 256), 4 training stacks per
    specimen, 3 held-out stacks (8 for TOMM20, 4 DMSO + 4 Rotenone, so that
    treatments can be classified), the ``quick`` preset, and **one network
    for all exposures of 1a** (0.5, 1, 2, 5 and 10 s inputs, each paired with
    its 60 s stack) instead of one per exposure: 9 networks in all, which fits
    2 CPU cores in under 30 minutes. The ``quick`` preset is not
    probabilistic (its MAE loss converges much faster on so short a run:
    noise2noise on 5 s pairs reached 29.5-34.3 dB PSNR per held-out stack with it
    and stayed at the raw input's level, 22.7 dB on average, with the
    probabilistic Laplace loss); only 1a trains
    with ``probabilistic=True``, the paper's setting, so that its artefact
    check shows the network's scale map beside each restoration.

``paper`` (``lumicare reproduce``, for a GPU)
    The paper's stack sizes and counts (8 cytoplasmic stacks of 16 x 1024 x
    1024, 14 H2B and 90 TOMM20 stacks of 16 x 512 x 512), held-out stacks
    simulated with another seed (4, 4 and 20), the paper's training table
    per specimen (presets ``cytoplasmic``, ``h2b``, ``tomm20``), one network
    per condition as the paper did ("Networks were trained for each low-high
    signal condition separately"), and 2 x 2 x 2 tiles for prediction: 13
    networks.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from ..errors import UserInputError
from ..presets import Preset, get_preset

ENGINES = ("numpy", "imagej")
SPECIMEN_NAMES = ("cytoplasmic", "h2b", "tomm20")


@dataclass(frozen=True)
class Settings:
    """Everything that decides the numbers of a reproduction (besides the data).

    Attributes
    ----------
    scale : str
        "quick", "paper", or a name of your own.
    shapes : dict
        Simulated stack size (Z, Y, X) per specimen.
    n_train, n_test : dict
        Simulated training and held-out stacks per specimen.
    presets : dict
        Training preset name per specimen (see ``lumicare presets``).
    preset_overrides : dict
        Preset fields replaced for every network (e.g. ``train_epochs=2``).
    experiment_overrides : dict
        Preset fields replaced for the networks of one experiment, by id
        (e.g. ``{"1a": {"probabilistic": True}}``), after ``preset_overrides``.
    mixed_exposures : bool
        1a: one network trained on all short exposures together (True) or
        one network per exposure (False, as the paper).
    tiles : tuple or None
        Prediction tiles (Z, Y, X); the paper used (2, 2, 2).
    seed, test_seed : int
        Simulation seeds of the training and held-out data (different, so
        restorations are of unseen specimens); ``seed`` also seeds patches
        and training (weights, batch order: ``care.train(seed=)``).
    engine : {"numpy", "imagej"}
        Who computes the Fiji steps of the readouts.
    """

    scale: str
    shapes: dict
    n_train: dict
    n_test: dict
    presets: dict
    preset_overrides: dict = field(default_factory=dict)
    experiment_overrides: dict = field(default_factory=dict)
    mixed_exposures: bool = False
    tiles: tuple | None = None
    seed: int = 0
    test_seed: int = 1000
    engine: str = "numpy"

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise UserInputError(f"engine must be one of {ENGINES}; got {self.engine!r}")
        for name in ("shapes", "n_train", "n_test", "presets"):
            missing = [s for s in SPECIMEN_NAMES if s not in getattr(self, name)]
            if missing:
                raise UserInputError(f"settings.{name} lacks {', '.join(missing)}")
        for specimen in SPECIMEN_NAMES:
            if self.n_train[specimen] < 1 or self.n_test[specimen] < 1:
                raise UserInputError(f"{specimen}: at least one training and one held-out stack are needed")
            self.preset(specimen)  # checks preset names and overrides early
            for experiment in self.experiment_overrides:
                self.preset(specimen, experiment)

    def preset(self, specimen: str, experiment: str | None = None) -> Preset:
        """The training preset of a specimen's networks (in one experiment), overrides applied."""
        return get_preset(self.presets[specimen],
                          **{**self.preset_overrides, **self.experiment_overrides.get(experiment, {})})

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["shapes"] = {k: list(v) for k, v in self.shapes.items()}
        d["tiles"] = list(self.tiles) if self.tiles else None
        return d

    def fingerprint(self) -> str:
        """A stable text of the settings: finished results are reused only under the same one."""
        return json.dumps(self.as_dict(), sort_keys=True)


def quick() -> Settings:
    """The ``--quick`` scale (2 CPU cores, under 30 minutes)."""
    return Settings(
        scale="quick",
        # TOMM20 at the simulator's small size (16 x 256 x 256, 33 um): a 128 x 128 crop holds only 6-9
        # mitochondria in a DMSO cell, too few for a stable per-image mean aspect ratio.
        shapes={"cytoplasmic": (16, 128, 128), "h2b": (16, 128, 128), "tomm20": (16, 256, 256)},
        n_train={"cytoplasmic": 4, "h2b": 4, "tomm20": 4},
        n_test={"cytoplasmic": 3, "h2b": 3, "tomm20": 8},
        presets={s: "quick" for s in SPECIMEN_NAMES},
        preset_overrides={},
        experiment_overrides={"1a": {"probabilistic": True}},
        mixed_exposures=True,
        tiles=None,
    )


def paper() -> Settings:
    """The paper's data sizes and training table (a GPU machine)."""
    from ..simulate import SPECIMENS

    return Settings(
        scale="paper",
        shapes={s: tuple(SPECIMENS[s].shape_zyx) for s in SPECIMEN_NAMES},
        n_train={s: SPECIMENS[s].n_stacks for s in SPECIMEN_NAMES},
        n_test={"cytoplasmic": 4, "h2b": 4, "tomm20": 20},
        presets={s: s for s in SPECIMEN_NAMES},
        preset_overrides={},
        mixed_exposures=False,
        tiles=(2, 2, 2),
    )


SCALES = {"quick": quick, "paper": paper}
