"""Noise-free specimens: 3D photon-emission maps and object labels.

Three generators, one per specimen of the paper. Each draws a random
specimen on the camera's voxel grid and returns, per channel, a map of
*relative* brightness (1 = a bright region of a typical cell) plus an
integer label image of the objects and a few facts about them.
:func:`make_specimen` scales the maps by the channel's photon flux from the
:class:`~.protocols.SpecimenProtocol`, giving photons/s per voxel.

Geometry parameters are keyword arguments with physical units; the defaults
describe HeLa-like cells. ``z`` is measured upwards from the bottom of the
stack; the coverslip lies ``glass_z_um`` above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from ..errors import UserInputError
from . import shapes
from .optics import OBJECTIVES, Objective
from .protocols import SPECIMENS, SpecimenProtocol


@dataclass
class Specimen:
    """A simulated specimen: what the microscope looks at.

    Attributes
    ----------
    protocol : SpecimenProtocol
    emission : dict of str -> (Z, Y, X) float32
        Per channel, photons/s per voxel that the objective delivers to the
        camera when the voxel is in focus (before QE).
    labels : (Z, Y, X) uint16
        Objects numbered 1..N (cells, nuclei or mitochondria), 0 elsewhere.
    info : dict
        Phenotype and object counts, JSON-ready.
    """

    protocol: SpecimenProtocol
    emission: dict[str, np.ndarray]
    labels: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def objective(self) -> Objective:
        return OBJECTIVES[self.protocol.objective]

    @property
    def pixel_size_um(self) -> float:
        return self.objective.pixel_size_um

    @property
    def z_step_um(self) -> float:
        return self.objective.z_step_um

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        return tuple(self.labels.shape)


def _plane_heights_um(nz: int, z_step_um: float) -> np.ndarray:
    return (np.arange(nz, dtype=np.float32) + 0.5) * np.float32(z_step_um)


def _lognormal(rng, median: float, sigma: float, size=None):
    return median * np.exp(sigma * rng.standard_normal(size))


# --------------------------------------------------------------------------
# Cytoplasmic NanoLuc
# --------------------------------------------------------------------------

def cytoplasmic_cells(shape_zyx, pixel_size_um: float, z_step_um: float, rng: np.random.Generator, *,
                      cells_per_mm2: float = 300.0, cell_radius_um=(12.0, 26.0),
                      cell_height_um=(4.0, 7.0), glass_z_um: float = 1.2,
                      nucleus_size_fraction=(0.3, 0.45), nuclear_brightness=(0.25, 0.6),
                      brightness_median: float = 0.6, brightness_sigma: float = 0.5,
                      texture_contrast: float = 0.15):
    """Adherent cells filled with untargeted NanoLuc.

    Each cell is an irregular smooth outline (star-shaped, a few Fourier
    harmonics) extruded into a dome of height ``cell_height_um``; its nucleus
    is an ellipse at most 0.2 cell radii off centre, darker by a per-cell
    factor from ``nuclear_brightness`` (NanoLuc partly enters the nucleus).
    Cell brightness is log-normal (expression varies between cells); a smooth
    texture of ``texture_contrast`` modulates the cytoplasm. Cells may touch
    and overlap a little; overlapping pixels belong to the cell whose outline
    is relatively nearer.

    Returns
    -------
    maps : {"luminescence": (Z, Y, X) float32 relative brightness}
    labels : (Z, Y, X) uint16, one label per cell
    info : dict
    """
    nz, ny, nx = shape_zyx
    area_mm2 = ny * nx * (pixel_size_um * 1e-3) ** 2
    n_cells = max(1, rng.poisson(cells_per_mm2 * area_mm2))
    radii_px = np.sort(rng.uniform(*cell_radius_um, n_cells))[::-1] / pixel_size_um
    placed = shapes.place_disks(radii_px, (ny, nx), rng, min_gap_factor=0.75, margin_px=0.3 * radii_px[0])

    owner_rho = np.full((ny, nx), np.inf, dtype=np.float32)
    labels2d = np.zeros((ny, nx), dtype=np.uint16)
    footprint = np.zeros((ny, nx), dtype=np.float32)
    brightness = np.zeros((ny, nx), dtype=np.float32)
    height_um = np.zeros((ny, nx), dtype=np.float32)
    nucleus = np.zeros((ny, nx), dtype=np.float32)
    nuclear_factor = np.ones((ny, nx), dtype=np.float32)
    cell_brightness = np.clip(_lognormal(rng, brightness_median, brightness_sigma, len(placed)), 0.05, 2.5)

    for label, (cy, cx, r) in enumerate(placed, start=1):
        outline = shapes.blob_outline(rng, n_harmonics=6, roughness=0.2)
        extent = r * (1 + outline[:, 1].sum()) + 4
        sl = shapes.box((cy, cx), (extent, extent), (ny, nx))
        height = rng.uniform(*cell_height_um)
        offset_r, offset_a = rng.uniform(0, 0.2 * r), rng.uniform(0, 2 * np.pi)
        nuc_center = (cy + offset_r * np.sin(offset_a), cx + offset_r * np.cos(offset_a))
        nuc_axes = np.sort(rng.uniform(*nucleus_size_fraction, 2))[::-1] * r
        nuc_angle = rng.uniform(0, np.pi)
        dark = rng.uniform(*nuclear_brightness)
        if sl is None:
            continue
        yy, xx = shapes.grid(sl)
        inside_px, rho = shapes.blob_distance(yy, xx, (cy, cx), r, outline)
        take = (rho < owner_rho[sl]) & (inside_px > -4)
        nuc_inside = (1 - shapes.ellipse_rho(yy, xx, nuc_center, nuc_axes, nuc_angle)) * nuc_axes[1]
        for target, value in ((owner_rho, rho), (labels2d, label), (footprint, shapes.soft_step(inside_px, 0.7)),
                              (brightness, cell_brightness[label - 1]),
                              (height_um, height * np.clip(1 - rho * rho, 0, 1) ** 0.6),
                              (nucleus, shapes.soft_step(nuc_inside, 0.7)), (nuclear_factor, dark)):
            target[sl] = np.where(take, value, target[sl])
    labels2d[footprint < 0.5] = 0

    texture = np.clip(1 + texture_contrast * shapes.random_field((ny, nx), 4.0, rng), 0.3, None)
    cytoplasm = brightness * footprint * texture
    emission = np.empty(shape_zyx, dtype=np.float32)
    labels = np.zeros(shape_zyx, dtype=np.uint16)
    edge_um = np.float32(0.3)
    for iz, z in enumerate(_plane_heights_um(nz, z_step_um)):
        above_glass = z - glass_z_um
        in_cell = shapes.soft_step(above_glass, edge_um) * shapes.soft_step(height_um - above_glass, edge_um)
        # The nucleus fills most of the cell's height where it sits, with cytoplasm below and above.
        in_nucleus = nucleus * shapes.soft_step(above_glass - 0.5, edge_um) \
            * shapes.soft_step(0.85 * height_um - above_glass, edge_um)
        emission[iz] = cytoplasm * in_cell * (1 - (1 - nuclear_factor) * in_nucleus)
        labels[iz] = np.where(in_cell > 0.5, labels2d, 0)
    info = {"n_cells": int(len(np.unique(labels2d)) - (0 in labels2d)),
            "cell_brightness": [round(float(b), 4) for b in cell_brightness]}
    return {"luminescence": emission}, labels, info


# --------------------------------------------------------------------------
# H2B-NanoLuc + H2B-eGFP
# --------------------------------------------------------------------------

def h2b_nuclei(shape_zyx, pixel_size_um: float, z_step_um: float, rng: np.random.Generator, *,
               nuclei_per_mm2: float = 600.0, nucleus_semi_axes_um=(5.0, 9.0),
               nucleus_half_height_um=(2.2, 3.2), glass_z_um: float = 1.2, mitotic_fraction: float = 0.04,
               expression_probabilities=(0.7, 0.15, 0.15), luminescence_median: float = 0.7,
               expression_sigma: float = 0.45, channel_ratio_sigma: float = 0.35,
               chromatin_contrast: float = 0.3, min_gap_factor: float = 1.1, height_spread_um: float = 0.4):
    """Nuclei of cells co-transfected with H2B-NanoLuc and H2B-eGFP.

    Nuclei are ellipsoids (lateral semi-axes from ``nucleus_semi_axes_um``,
    flattened to ``nucleus_half_height_um``) with textured chromatin: a 3D
    log-normal random texture, a brighter periphery and 1-3 darker nucleoli.
    About ``mitotic_fraction`` of them (at least one in a field of 6 or more)
    are mitotic figures: a condensed metaphase plate or two anaphase plates,
    brighter and higher above the glass (mitotic cells round up).

    Both channels show the same chromatin; each nucleus has its own
    expression level of each reporter (log-normal, the eGFP/NanoLuc ratio
    varying by ``channel_ratio_sigma``), and a cell expresses both, only
    NanoLuc or only eGFP with ``expression_probabilities``.

    ``min_gap_factor`` spaces the nuclei (centres at least that many times
    the sum of their radii apart: 1.1 leaves a gap, below 1 they touch and
    overlap); each nucleus sits up to ``height_spread_um`` higher than the
    lowest ones.

    Returns
    -------
    maps : {"luminescence": ..., "fluorescence": ...} relative brightness, float32
    labels : (Z, Y, X) uint16, one label per nucleus (or mitotic figure)
    info : dict
    """
    nz, ny, nx = shape_zyx
    spacing = (z_step_um, pixel_size_um, pixel_size_um)
    area_mm2 = ny * nx * (pixel_size_um * 1e-3) ** 2
    n_nuclei = max(1, rng.poisson(nuclei_per_mm2 * area_mm2))
    axes_um = np.sort(rng.uniform(*nucleus_semi_axes_um, (n_nuclei, 2)), axis=1)[:, ::-1]
    axes_um[:, 1] = np.maximum(axes_um[:, 1], axes_um[:, 0] / 1.5)  # aspect ratio at most 1.5
    placed = shapes.place_disks(axes_um[:, 0] / pixel_size_um, (ny, nx), rng, min_gap_factor=min_gap_factor,
                                margin_px=0.5 * axes_um[:, 0].max() / pixel_size_um)
    n = len(placed)
    n_mitotic = rng.binomial(n, mitotic_fraction)
    if n >= 6:
        n_mitotic = max(n_mitotic, 1)
    mitotic = set(rng.choice(n, size=n_mitotic, replace=False).tolist()) if n_mitotic else set()
    kind = rng.choice(3, size=n, p=np.asarray(expression_probabilities) / np.sum(expression_probabilities))
    lum_level = _lognormal(rng, luminescence_median, expression_sigma, n)
    fluo_level = lum_level * _lognormal(rng, 1.0, channel_ratio_sigma, n)
    lum_level[kind == 2] = 0.0  # eGFP only
    fluo_level[kind == 1] = 0.0  # NanoLuc only

    lum = np.zeros(shape_zyx, dtype=np.float32)
    fluo = np.zeros(shape_zyx, dtype=np.float32)
    labels = np.zeros(shape_zyx, dtype=np.uint16)

    def draw(center_zyx, semi_axes_um, angle, label, density_fn):
        half = (semi_axes_um[0] / z_step_um + 2, semi_axes_um[2] / pixel_size_um + 2,
                semi_axes_um[2] / pixel_size_um + 2)
        sl = shapes.box(center_zyx, half, shape_zyx)
        if sl is None:
            return
        zz, yy, xx = shapes.grid(sl)
        rho = shapes.ellipsoid_rho(zz, yy, xx, center_zyx, semi_axes_um, angle, spacing)
        # (1 - rho) * smallest semi-axis approximates the distance to the surface in um.
        value = shapes.soft_step((1 - rho) * min(semi_axes_um), 0.5 * pixel_size_um) * density_fn(zz, yy, xx, rho)
        lum[sl] = np.maximum(lum[sl], value * lum_level[label - 1])
        fluo[sl] = np.maximum(fluo[sl], value * fluo_level[label - 1])
        labels[sl] = np.where(rho < 1, label, labels[sl])

    for i, (cy, cx, _) in enumerate(placed):
        label = i + 1
        angle = rng.uniform(0, np.pi)
        if i in mitotic:
            anaphase = rng.random() < 0.4
            z_um = glass_z_um + rng.uniform(3.0, 4.0)
            plates = [(0.0, rng.uniform(4.0, 6.0))] if not anaphase else \
                [(s * rng.uniform(2.5, 4.0), rng.uniform(3.5, 5.0)) for s in (-1, 1)]
            for shift_um, long_um in plates:
                # Plates lie along `angle`; anaphase plates move apart across it.
                py = cy + shift_um * np.cos(angle) / pixel_size_um
                px = cx - shift_um * np.sin(angle) / pixel_size_um
                draw((z_um / z_step_um - 0.5, py, px), (2.2, 0.9, long_um), angle, label,
                     lambda zz, yy, xx, rho: np.float32(2.0))
            continue
        a_um, b_um = axes_um[i]
        c_um = rng.uniform(*nucleus_half_height_um)
        center = ((glass_z_um + c_um + rng.uniform(0, height_spread_um)) / z_step_um - 0.5, cy, cx)
        nucleoli = []
        for _ in range(rng.integers(1, 4)):
            r_frac, theta = rng.uniform(0, 0.45), rng.uniform(0, 2 * np.pi)
            nucleoli.append(((center[0] + rng.uniform(-0.3, 0.3) * c_um / z_step_um),
                             cy + r_frac * b_um * np.sin(theta) / pixel_size_um,
                             cx + r_frac * a_um * np.cos(theta) / pixel_size_um,
                             rng.uniform(0.8, 1.8)))

        def density(zz, yy, xx, rho, nucleoli=nucleoli):
            # Heterochromatin lines the nuclear envelope; nucleoli hold little histone.
            d = 1 + 0.3 * np.exp(-np.abs(1 - rho) / 0.15)
            for nzc, nyc, nxc, r_um in nucleoli:
                dist_um = np.sqrt(((zz - nzc) * z_step_um) ** 2 + ((yy - nyc) * pixel_size_um) ** 2
                                  + ((xx - nxc) * pixel_size_um) ** 2)
                d = d * (1 - 0.6 * shapes.soft_step(r_um - dist_um, 0.3))
            return d

        draw(center, (c_um, b_um, a_um), angle, label, density)

    chromatin = np.exp(chromatin_contrast * shapes.random_field(shape_zyx, (0.6, 0.9, 0.9), rng))
    chromatin /= np.exp(chromatin_contrast**2 / 2)  # log-normal mean of 1
    lum *= chromatin
    fluo *= chromatin
    info = {"n_nuclei": n, "n_mitotic": len(mitotic), "n_both": int((kind == 0).sum()),
            "n_luminescence_only": int((kind == 1).sum()), "n_fluorescence_only": int((kind == 2).sum())}
    return {"luminescence": lum, "fluorescence": fluo}, labels, info


def dense_h2b_nuclei(shape_zyx, pixel_size_um: float, z_step_um: float, rng: np.random.Generator, *,
                     nuclei_per_mm2: float = 7000.0, min_gap_factor: float = 0.7, height_spread_um: float = 2.5,
                     haze_fraction: float = 0.15, haze_sigma_um: float = 6.0, **h2b_options):
    """A confluent H2B culture: touching, overlapping nuclei under out-of-focus haze.

    The nuclei of :func:`h2b_nuclei`, packed about twelve times as densely
    (``nuclei_per_mm2``; centres down to ``min_gap_factor`` times the sum of
    their radii apart, so neighbours touch and overlap), at heights that
    differ by up to ``height_spread_um`` (cells piled in a crowded dish).
    Cells of layers above and below the stack add haze: another layer of
    nuclei, too far out of focus to show shape, blurred laterally by
    ``haze_sigma_um`` and scaled to ``haze_fraction`` of the in-focus
    nuclei's mean brightness, strongest in the top and bottom planes, fading
    linearly to half of that in the middle plane. The haze belongs to no
    object (label 0).

    This is the specimen on which a network that blurs fills the gaps
    between nuclei with signal, so that thresholded masks merge neighbours:
    a test case the sparse :func:`h2b_nuclei` does not give.
    """
    maps, labels, info = h2b_nuclei(shape_zyx, pixel_size_um, z_step_um, rng, nuclei_per_mm2=nuclei_per_mm2,
                                    min_gap_factor=min_gap_factor, height_spread_um=height_spread_um,
                                    **h2b_options)
    # The haze layer: an independent crowd of nuclei, summed through the stack (defocus hides their planes).
    layer, _, _ = h2b_nuclei(shape_zyx, pixel_size_um, z_step_um, rng, nuclei_per_mm2=nuclei_per_mm2,
                             min_gap_factor=min_gap_factor, **h2b_options)
    nz = shape_zyx[0]
    # Strongest next to the layers above and below, half of it in the middle plane.
    z_weight = 0.5 + 0.5 * np.abs(np.linspace(-1.0, 1.0, nz, dtype=np.float32)) if nz > 1 else np.ones(1, np.float32)
    for channel, image in maps.items():
        inside = image[labels > 0]
        level = float(inside.mean()) if inside.size else 1.0
        blurred = ndi.gaussian_filter(layer[channel].sum(axis=0), haze_sigma_um / pixel_size_um, mode="reflect")
        blurred *= np.float32(haze_fraction * level / max(float(blurred.mean()), 1e-12))
        image += z_weight[:, None, None] * blurred[None]
    info.update(haze_fraction=haze_fraction, haze_sigma_um=haze_sigma_um, min_gap_factor=min_gap_factor)
    return maps, labels, info


# --------------------------------------------------------------------------
# TOMM20-NanoLuc + TOMM20-mNeonGreen
# --------------------------------------------------------------------------

def tomm20_mitochondria(shape_zyx, pixel_size_um: float, z_step_um: float, rng: np.random.Generator, *,
                        phenotype: str = "dmso", cell_radius_um=(17.0, 24.0),
                        nucleus_semi_axes_um=(6.0, 8.5), tubule_um_per_um2: float = 0.8,
                        tubule_length_um_median: float = 3.0, persistence_um: float = 3.0,
                        branch_spacing_um: float = 4.0, tubule_radius_um=(0.15, 0.21),
                        fragments_per_um2: float = 0.3, fragment_radius_um=(0.28, 0.5),
                        z_spread_um: float = 0.45, cytosol_fraction: float = 0.01,
                        channel_ratio_sigma: float = 0.2):
    """One cell's mitochondria, labelled on the outer membrane (TOMM20).

    ``phenotype="dmso"``: a network of worm-like tubules (persistence length
    ``persistence_um``, log-normal lengths around ``tubule_length_um_median``)
    that branch about every ``branch_spacing_um``, ``tubule_um_per_um2`` of
    tubule per um^2 of cytoplasm. ``phenotype="rotenone"``: the same mass
    fragmented into round and short rod-shaped pieces
    (``fragments_per_um2``, radius ``fragment_radius_um``).
    Mitochondria are denser around the nucleus and absent from it, lie within
    about ``z_spread_um`` of the stack's middle plane, and carry a small
    diffuse cytosolic signal (``cytosol_fraction``).

    Returns
    -------
    maps : {"luminescence": ..., "fluorescence": ...} relative brightness, float32
    labels : (Z, Y, X) uint16, one label per mitochondrion (a branched tubule
        or a fragment)
    info : dict
    """
    if phenotype not in ("dmso", "rotenone"):
        raise UserInputError(f"phenotype must be 'dmso' or 'rotenone'; got {phenotype!r}")
    nz, ny, nx = shape_zyx
    px = pixel_size_um
    yy, xx = np.ogrid[:ny, :nx]
    cell_center = (ny / 2 + rng.uniform(-0.1, 0.1) * ny, nx / 2 + rng.uniform(-0.1, 0.1) * nx)
    cell_r_px = rng.uniform(*cell_radius_um) / px
    inside_px, cell_rho = shapes.blob_distance(yy.astype(np.float32), xx.astype(np.float32), cell_center,
                                               cell_r_px, shapes.blob_outline(rng, roughness=0.12))
    offset_r, offset_a = rng.uniform(0, 0.25 * cell_r_px), rng.uniform(0, 2 * np.pi)
    nuc_center = (cell_center[0] + offset_r * np.sin(offset_a), cell_center[1] + offset_r * np.cos(offset_a))
    nuc_axes_px = np.sort(rng.uniform(*nucleus_semi_axes_um, 2))[::-1] / px
    nuc_rho = shapes.ellipse_rho(yy, xx, nuc_center, nuc_axes_px, rng.uniform(0, np.pi))
    cytoplasm = (inside_px > 3) & (nuc_rho > 1.05)
    area_um2 = cytoplasm.sum() * px * px
    # Perinuclear enrichment: density falls from the nucleus towards the cell edge.
    weight = cytoplasm * np.clip(1.3 - cell_rho, 0.15, None)
    margin = 6

    def allowed(y, x):
        iy, ix = int(round(y)), int(round(x))
        if 0 <= iy < ny and 0 <= ix < nx:
            return bool(cytoplasm[iy, ix])
        return -margin < iy < ny + margin and -margin < ix < nx + margin

    z_mid_um = nz * z_step_um / 2
    points = []  # rows: z_um, y_px, x_px, radius_um, label
    brightness = [0.0]  # per label, index 0 = background

    def add_path(yx, radius_um, label, z_start_um):
        drift = np.cumsum(rng.normal(0, 0.015, len(yx)))
        z = np.clip(z_start_um + drift, z_mid_um - 1.6 * z_spread_um, z_mid_um + 1.6 * z_spread_um)
        points.append(np.column_stack([z, yx, np.full(len(yx), radius_um), np.full(len(yx), label)]))
        return z

    if phenotype == "dmso":
        target_px = tubule_um_per_um2 * area_um2 / px
        total_px = 0.0
        label = 0
        for _ in range(100_000):
            if total_px >= target_px:
                break
            start = shapes.sample_weighted_pixels(weight, 1, rng)
            if len(start) == 0:
                break
            label += 1
            brightness.append(float(_lognormal(rng, 1.0, 0.25)))
            radius_um = rng.uniform(*tubule_radius_um)
            length_px = np.clip(_lognormal(rng, tubule_length_um_median, 0.6), 1.0, 12.0) / px
            todo = [(start[0], rng.uniform(0, 2 * np.pi), length_px, z_mid_um + rng.uniform(-1, 1) * z_spread_um, 0)]
            while todo:
                yx0, heading, length, z0, depth = todo.pop()
                path = shapes.persistent_walk(yx0, heading, length, persistence_um / px, rng, allowed=allowed)
                z = add_path(path, radius_um, label, z0)
                total_px += len(path) * 0.7
                if depth >= 1:
                    continue
                # Branch points: a Poisson process along the tubule.
                n_branches = rng.poisson(len(path) * 0.7 * px / branch_spacing_um)
                for j in rng.integers(0, len(path), n_branches):
                    step = path[min(j + 1, len(path) - 1)] - path[max(j - 1, 0)]
                    direction = np.arctan2(step[0], step[1]) + rng.choice((-1, 1)) * rng.uniform(0.6, 1.4)
                    todo.append((path[j], direction, length * rng.uniform(0.3, 0.6), z[j], depth + 1))
        n_objects = label
    else:
        n_objects = int(rng.poisson(fragments_per_um2 * area_um2))
        centers = shapes.sample_weighted_pixels(weight, n_objects, rng)
        for label, yx in enumerate(centers, start=1):
            brightness.append(float(_lognormal(rng, 1.0, 0.25)))
            z0 = z_mid_um + rng.uniform(-1, 1) * z_spread_um
            if rng.random() < 0.65:  # swollen, round
                add_path(yx[None, :], rng.uniform(*fragment_radius_um), label, z0)
            else:  # short rod
                length_px = rng.uniform(0.4, 1.0) / px
                heading = rng.uniform(0, 2 * np.pi)
                t = np.arange(0, length_px + 1e-6, 0.7) - length_px / 2
                yx_path = yx + np.column_stack([t * np.sin(heading), t * np.cos(heading)])
                add_path(yx_path, rng.uniform(0.2, 0.3), label, z0)

    signed_um, owner = _render_tubes(np.concatenate(points) if points else np.empty((0, 5)),
                                     shape_zyx, pixel_size_um, z_step_um)
    mito = shapes.soft_step(signed_um, 0.5 * px) * np.asarray(brightness, dtype=np.float32)[owner]
    labels = np.where(signed_um >= 0, owner, 0).astype(np.uint16)
    cytosol = cytosol_fraction * shapes.soft_step(inside_px, 1.0) * shapes.soft_step((nuc_rho - 1) * 20, 1.0)
    relative = mito + cytosol[None].astype(np.float32)
    fluo_ratio = float(_lognormal(rng, 1.0, channel_ratio_sigma))
    info = {"phenotype": phenotype, "n_mitochondria": int(n_objects),
            "cytoplasm_area_um2": round(float(area_um2), 1), "fluorescence_to_luminescence": round(fluo_ratio, 4)}
    return {"luminescence": relative, "fluorescence": relative * np.float32(fluo_ratio)}, labels, info


def _render_tubes(points: np.ndarray, shape_zyx, pixel_size_um: float, z_step_um: float):
    """Union of balls around path points: signed distance to the surface (um) and owner label.

    Each point (z_um, y_px, x_px, radius_um, label) is stamped into a small
    box; every voxel keeps the ball it lies deepest inside.
    """
    signed = np.full(shape_zyx, -np.inf, dtype=np.float32)
    owner = np.zeros(shape_zyx, dtype=np.int32)
    z_index = points[:, 0] / z_step_um - 0.5
    for zc, (_, yc, xc, r_um, label) in zip(z_index, points):
        half = (r_um / z_step_um + 2, r_um / pixel_size_um + 2, r_um / pixel_size_um + 2)
        sl = shapes.box((zc, yc, xc), half, shape_zyx)
        if sl is None:
            continue
        zz, yy, xx = shapes.grid(sl)
        d2 = ((zz - zc) * z_step_um) ** 2 + ((yy - yc) * pixel_size_um) ** 2 + ((xx - xc) * pixel_size_um) ** 2
        s = np.float32(r_um) - np.sqrt(d2)
        better = s > signed[sl]
        signed[sl] = np.where(better, s, signed[sl])
        owner[sl] = np.where(better, int(label), owner[sl])
    return signed, owner


#: Generators by specimen name (the protocol's ``name``).
GENERATORS = {
    "cytoplasmic": cytoplasmic_cells,
    "h2b": h2b_nuclei,
    "h2b_dense": dense_h2b_nuclei,
    "tomm20": tomm20_mitochondria,
}


def get_protocol(specimen) -> SpecimenProtocol:
    """A :class:`SpecimenProtocol` from a name in :data:`SPECIMENS` or a protocol itself."""
    if isinstance(specimen, SpecimenProtocol):
        if specimen.name not in GENERATORS:
            raise UserInputError(f"protocol {specimen.name!r} has no generator; names: {sorted(GENERATORS)}")
        return specimen
    if specimen not in SPECIMENS:
        raise UserInputError(f"unknown specimen {specimen!r}; choose one of {sorted(SPECIMENS)}")
    return SPECIMENS[specimen]


def make_specimen(specimen="h2b", shape_zyx=None, *, rng=None, small: bool = False,
                  phenotype: str | None = None, **geometry) -> Specimen:
    """Draw one specimen, in photons/s per voxel.

    Parameters
    ----------
    specimen : str or SpecimenProtocol
        "cytoplasmic", "h2b", "tomm20", or a (modified) protocol.
    shape_zyx : tuple of int, optional
        Voxels (Z, Y, X); default the paper's ROI (``small``: the small one).
    rng : numpy Generator or int seed, optional
    small : bool
        Use the protocol's small shape when ``shape_zyx`` is not given.
    phenotype : str, optional
        For tomm20: "dmso" (default) or "rotenone".
    **geometry
        Keyword arguments of the generator (e.g. ``cells_per_mm2=100``).

    Returns
    -------
    Specimen
    """
    protocol = get_protocol(specimen)
    shape = tuple(int(s) for s in (shape_zyx or (protocol.small_shape_zyx if small else protocol.shape_zyx)))
    if len(shape) != 3 or min(shape) < 1:
        raise UserInputError(f"shape_zyx must be three positive sizes (Z, Y, X); got {shape_zyx!r}")
    rng = np.random.default_rng(rng)
    objective = OBJECTIVES[protocol.objective]
    if protocol.phenotypes:
        geometry["phenotype"] = phenotype or protocol.phenotypes[0]
    elif phenotype is not None:
        raise UserInputError(f"{protocol.name} has no phenotypes; leave phenotype=None")
    maps, labels, info = GENERATORS[protocol.name](shape, objective.pixel_size_um, objective.z_step_um, rng,
                                                   **geometry)
    emission = {}
    for channel in protocol.channels:
        emission[channel.name] = (maps[channel.name] * np.float32(channel.bright_photons_per_s)).astype(np.float32)
    return Specimen(protocol, emission, labels, info)
