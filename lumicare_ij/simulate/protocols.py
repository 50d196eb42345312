"""What is simulated, as data: channels, acquisition conditions and the three specimens.

Each :class:`SpecimenProtocol` ties a specimen to the paper's objective,
its channels (reporter, emission wavelength, photon flux) and the list of
:class:`Condition` s recorded of every stack. Change a protocol with
``dataclasses.replace`` (or :meth:`SpecimenProtocol.with_channel`) and pass
it to :func:`lumicare_ij.simulate.simulate_dataset` instead of a name.

Photon fluxes are per voxel of the specimen's grid when in focus
(photons/s that the objective delivers to the camera, after collection
efficiency, before the camera's QE). A relative brightness of 1 in a
specimen map is a bright region of a typical cell; individual cells vary
around it (see :mod:`.specimens`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..errors import UserInputError

MODALITIES = ("luminescence", "fluorescence")
BINNING_KINDS = (None, "hardware", "software")


@dataclass(frozen=True)
class Channel:
    """One reporter of a specimen and how bright it is.

    Attributes
    ----------
    name : {"luminescence", "fluorescence"}
        Also the modality.
    reporter : str
        The fusion protein, e.g. "H2B-NanoLuc".
    emission_wavelength_nm : float
        Sets the PSF width: NanoLuc ~460 nm (no emission filter); eGFP and
        mNeonGreen through the 525/25 filter.
    bright_photons_per_s : float
        Photons/s per voxel from a region of relative brightness 1, in focus.
    background_photons_per_s : float
        Uniform photons/s per pixel reaching the sensor from elsewhere
        (autofluorescence and medium for fluorescence; luminescence has
        practically none).
    """

    name: str
    reporter: str
    emission_wavelength_nm: float
    bright_photons_per_s: float
    background_photons_per_s: float = 0.0

    def __post_init__(self):
        if self.name not in MODALITIES:
            raise UserInputError(f"Channel name must be one of {MODALITIES}; got {self.name!r}")
        if self.bright_photons_per_s < 0 or self.background_photons_per_s < 0:
            raise UserInputError(f"Channel {self.name}: photon fluxes must be >= 0")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Condition:
    """One acquisition setting recorded of every stack.

    Attributes
    ----------
    name : str
        Folder name of its images, e.g. "lum_0.5s_hwbin2".
    channel : str
        Which :class:`Channel` is recorded.
    exposure_s : float
    repeat : int
        1 for the first acquisition, 2 for a second one with the same
        settings and independent noise (noise2noise pairs, technical noise).
    binning : int
        Bin factor in X and Y.
    binning_kind : {None, "hardware", "software"}
        "hardware": charge summed on the chip before gain and readout (the
        image is recorded smaller). "software": Fiji's Bin (average) of the
        images of condition ``derived_from``.
    derived_from : str or None
        For software binning: the condition whose read-out images are binned
        (same noise, no new acquisition).
    """

    name: str
    channel: str
    exposure_s: float
    repeat: int = 1
    binning: int = 1
    binning_kind: str | None = None
    derived_from: str | None = None

    def __post_init__(self):
        if self.binning_kind not in BINNING_KINDS:
            raise UserInputError(f"Condition {self.name}: binning_kind must be one of {BINNING_KINDS}")
        if (self.binning > 1) != (self.binning_kind is not None):
            raise UserInputError(f"Condition {self.name}: give binning_kind exactly when binning > 1")
        if (self.binning_kind == "software") != (self.derived_from is not None):
            raise UserInputError(f"Condition {self.name}: software binning needs derived_from (and only it)")
        if self.exposure_s <= 0:
            raise UserInputError(f"Condition {self.name}: exposure_s must be > 0; got {self.exposure_s}")

    @property
    def modality(self) -> str:
        return self.channel

    def to_dict(self) -> dict:
        return {**asdict(self), "modality": self.modality}


def lum(exposure_s: float, repeat: int = 1, binning: int = 1, binning_kind: str | None = None,
        derived_from: str | None = None) -> Condition:
    """A luminescence condition named like ``lum_5s``, ``lum_5s_rep2``, ``lum_0.5s_hwbin4``."""
    name = f"lum_{exposure_s:g}s"
    if repeat > 1:
        name += f"_rep{repeat}"
    if binning > 1:
        name += f"_{'hw' if binning_kind == 'hardware' else 'sw'}bin{binning}"
    return Condition(name, "luminescence", exposure_s, repeat, binning, binning_kind, derived_from)


def fluo(exposure_s: float, repeat: int = 1) -> Condition:
    """The fluorescence ground-truth condition, ``fluo`` (``fluo_rep2`` for a repeat)."""
    return Condition("fluo" if repeat == 1 else f"fluo_rep{repeat}", "fluorescence", exposure_s, repeat)


#: NanoLuc's emission peak; luminescence is recorded without emission filter.
NANOLUC_NM = 460.0
#: Centre of the 525/25 emission filter used for eGFP and mNeonGreen.
GREEN_FILTER_NM = 525.0
#: Fluorescence exposure time (not given in the paper; short, as for live cells).
FLUORESCENCE_EXPOSURE_S = 0.1


@dataclass(frozen=True)
class SpecimenProtocol:
    """A specimen, its microscope and what is recorded of it.

    Attributes
    ----------
    name : str
        Key in :data:`SPECIMENS` and the name of the generator in :mod:`.specimens`.
    description : str
    objective : str
        Key in :data:`lumicare_ij.simulate.optics.OBJECTIVES`.
    channels : tuple of Channel
    conditions : tuple of Condition
    shape_zyx, n_stacks : the paper's ROI and number of stacks.
    small_shape_zyx, small_n_stacks : a CPU-friendly dataset for demos and tests.
    labels_of : str
        What the label images number ("cell", "nucleus", "mitochondrion").
    phenotypes : tuple of str
        Treatments assigned to stacks in turn (empty: one kind only).
    """

    name: str
    description: str
    objective: str
    channels: tuple[Channel, ...]
    conditions: tuple[Condition, ...]
    shape_zyx: tuple[int, int, int]
    n_stacks: int
    small_shape_zyx: tuple[int, int, int]
    small_n_stacks: int
    labels_of: str
    phenotypes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise UserInputError(f"{self.name}: condition names must be unique; got {names}")
        channels = {c.name for c in self.channels}
        for cond in self.conditions:
            if cond.channel not in channels:
                raise UserInputError(f"{self.name}: condition {cond.name} records channel {cond.channel!r}, "
                                 f"but the specimen has only {sorted(channels)}")
            if cond.derived_from is not None and cond.derived_from not in names[: names.index(cond.name)]:
                raise UserInputError(f"{self.name}: {cond.name} is derived from {cond.derived_from!r}, "
                                 "which must be an earlier condition")

    def channel(self, name: str) -> Channel:
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(f"{self.name} has no {name!r} channel; it has {[c.name for c in self.channels]}")

    def condition(self, name: str) -> Condition:
        for cond in self.conditions:
            if cond.name == name:
                return cond
        raise KeyError(f"{self.name} has no condition {name!r}; it has {[c.name for c in self.conditions]}")

    def with_channel(self, name: str, **changes) -> "SpecimenProtocol":
        """A copy with one channel's parameters changed, e.g. ``bright_photons_per_s=10``."""
        self.channel(name)
        channels = tuple(replace(c, **changes) if c.name == name else c for c in self.channels)
        return replace(self, channels=channels)

    def replace(self, **changes) -> "SpecimenProtocol":
        return replace(self, **changes)


_LUM_EXPOSURES = (
    lum(60), lum(60, repeat=2),
    lum(0.5), lum(1), lum(2), lum(5), lum(5, repeat=2), lum(10),
)

_H2B_CHANNELS = (
    Channel("luminescence", "H2B-NanoLuc", NANOLUC_NM, bright_photons_per_s=3.0),
    Channel("fluorescence", "H2B-eGFP", GREEN_FILTER_NM, bright_photons_per_s=2500.0,
            background_photons_per_s=20.0),
)

#: The paper's three specimens (Online Methods; table "Microscope parameters") and a dense
#: variant of h2b that stresses restorations where nuclei touch.
SPECIMENS: dict[str, SpecimenProtocol] = {
    "cytoplasmic": SpecimenProtocol(
        name="cytoplasmic",
        description="HeLa cells expressing untargeted NanoLuc: cytoplasmic signal, darker nuclei, "
                    "cell-to-cell brightness variation; 20x NA 0.8.",
        objective="20x_NA0.8",
        channels=(Channel("luminescence", "NanoLuc", NANOLUC_NM, bright_photons_per_s=3.0),),
        conditions=_LUM_EXPOSURES + (
            lum(0.5, binning=2, binning_kind="hardware"),
            lum(0.5, binning=4, binning_kind="hardware"),
            lum(0.5, binning=8, binning_kind="hardware"),
            lum(0.5, binning=2, binning_kind="software", derived_from="lum_0.5s"),
            lum(0.5, binning=4, binning_kind="software", derived_from="lum_0.5s"),
            lum(0.5, binning=8, binning_kind="software", derived_from="lum_0.5s"),
        ),
        shape_zyx=(16, 1024, 1024), n_stacks=8,
        small_shape_zyx=(16, 128, 128), small_n_stacks=4,
        labels_of="cell",
    ),
    "h2b": SpecimenProtocol(
        name="h2b",
        description="Nuclei co-transfected with H2B-NanoLuc and H2B-eGFP: textured chromatin, "
                    "a few mitotic figures, some cells expressing only one reporter; 20x NA 0.8.",
        objective="20x_NA0.8",
        channels=_H2B_CHANNELS,
        conditions=_LUM_EXPOSURES + (fluo(FLUORESCENCE_EXPOSURE_S),),
        shape_zyx=(16, 512, 512), n_stacks=14,
        small_shape_zyx=(16, 128, 128), small_n_stacks=4,
        labels_of="nucleus",
    ),
    "h2b_dense": SpecimenProtocol(
        name="h2b_dense",
        description="A confluent H2B-NanoLuc/H2B-eGFP culture (not a paper specimen): touching and "
                    "overlapping nuclei at several heights under out-of-focus haze from cells above "
                    "and below; same optics and photon budget as h2b; 20x NA 0.8.",
        objective="20x_NA0.8",
        channels=_H2B_CHANNELS,
        conditions=_LUM_EXPOSURES + (
            fluo(FLUORESCENCE_EXPOSURE_S),
            # For the upsample regime's held-out inputs (benchmarks/seeds.py).
            lum(0.5, binning=4, binning_kind="software", derived_from="lum_0.5s"),
        ),
        shape_zyx=(16, 512, 512), n_stacks=14,
        small_shape_zyx=(16, 128, 128), small_n_stacks=4,
        labels_of="nucleus",
    ),
    "tomm20": SpecimenProtocol(
        name="tomm20",
        description="A cell co-transfected with TOMM20-NanoLuc and TOMM20-mNeonGreen: mitochondrial "
                    "network, DMSO (tubular, branched) or Rotenone (fragmented, round); 100x NA 1.5 oil.",
        objective="100x_NA1.5_oil",
        channels=(
            Channel("luminescence", "TOMM20-NanoLuc", NANOLUC_NM, bright_photons_per_s=12.0),
            Channel("fluorescence", "TOMM20-mNeonGreen", GREEN_FILTER_NM, bright_photons_per_s=3000.0,
                    background_photons_per_s=30.0),
        ),
        conditions=(lum(4), lum(4, repeat=2), fluo(FLUORESCENCE_EXPOSURE_S)),
        shape_zyx=(16, 512, 512), n_stacks=90,
        small_shape_zyx=(16, 256, 256), small_n_stacks=4,
        labels_of="mitochondrion",
        phenotypes=("dmso", "rotenone"),
    ),
}
