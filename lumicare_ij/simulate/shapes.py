"""Geometric building blocks for the simulated specimens.

Plain functions over pixel grids: smooth random fields, irregular cell
outlines, soft (anti-aliased) edges, non-overlapping placement and
persistent random walks. Lengths are in pixels unless a name says ``_um``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def soft_step(distance_inside, width):
    """0 outside, 1 inside, with a smooth ramp of about ``width`` across the edge.

    Anti-aliases object edges so that a shape drawn on the pixel grid does
    not carry staircase artefacts into the images a network learns from.
    """
    return 0.5 * (1.0 + np.tanh(np.asarray(distance_inside, dtype=np.float32) / np.float32(width)))


def random_field(shape, sigma_px, rng: np.random.Generator) -> np.ndarray:
    """Smooth Gaussian random field, zero mean and unit standard deviation (float32).

    ``sigma_px`` (scalar or per axis) sets the correlation length.
    """
    noise = rng.standard_normal(shape, dtype=np.float32)
    field = ndi.gaussian_filter(noise, sigma_px, mode="wrap")
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def blob_outline(rng: np.random.Generator, n_harmonics: int = 5, roughness: float = 0.12) -> np.ndarray:
    """Random Fourier coefficients of a star-shaped outline, ``r(theta)/r0``.

    Returns an array of rows ``(k, amplitude, phase)``; amplitudes fall as 1/k so
    outlines are smooth, with a dominant elongation (k = 2).
    """
    ks = np.arange(2, n_harmonics + 2)
    amplitudes = roughness * rng.uniform(0.3, 1.0, ks.size) / (ks - 1)
    phases = rng.uniform(0, 2 * np.pi, ks.size)
    return np.stack([ks, amplitudes, phases], axis=1)


def blob_radius_factor(theta, outline: np.ndarray):
    """``r(theta)/r0`` for an outline from :func:`blob_outline`."""
    factor = np.ones_like(theta)
    for k, amplitude, phase in outline:
        factor = factor + amplitude * np.cos(k * theta + phase)
    return factor


def blob_distance(yy, xx, center_yx, radius_px: float, outline: np.ndarray):
    """Signed distance-like measure to a star-shaped outline, in pixels.

    Returns ``(inside_px, rho)``: ``inside_px`` is positive inside and about the
    distance to the edge near it; ``rho`` is the radius normalised by the
    outline (0 at the centre, 1 on the edge).
    """
    dy, dx = yy - center_yx[0], xx - center_yx[1]
    r = np.hypot(dy, dx)
    edge = radius_px * blob_radius_factor(np.arctan2(dy, dx), outline)
    return edge - r, r / edge


def ellipse_rho(yy, xx, center_yx, semi_axes_px, angle_rad: float):
    """Normalised elliptical radius (1 on the ellipse) of a rotated 2D ellipse."""
    dy, dx = yy - center_yx[0], xx - center_yx[1]
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    u = (c * dx + s * dy) / semi_axes_px[0]
    v = (-s * dx + c * dy) / semi_axes_px[1]
    return np.hypot(u, v)


def ellipsoid_rho(zz, yy, xx, center_zyx, semi_axes_zyx_um, angle_rad: float, spacing_zyx_um):
    """Normalised radius of an ellipsoid rotated about z, on an anisotropic grid.

    ``semi_axes_zyx_um`` are (c, b, a): the axial semi-axis and the two lateral
    ones, the longer lateral axis ``a`` at ``angle_rad`` from the x axis.
    """
    dz = (zz - center_zyx[0]) * spacing_zyx_um[0]
    dy = (yy - center_zyx[1]) * spacing_zyx_um[1]
    dx = (xx - center_zyx[2]) * spacing_zyx_um[2]
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    u = (c * dx + s * dy) / semi_axes_zyx_um[2]
    v = (-s * dx + c * dy) / semi_axes_zyx_um[1]
    w = dz / semi_axes_zyx_um[0]
    return np.sqrt(u * u + v * v + w * w)


def place_disks(radii_px, field_yx, rng: np.random.Generator, min_gap_factor: float = 1.0,
                margin_px: float = 0.0, max_tries: int = 200) -> list[tuple[float, float, float]]:
    """Random sequential placement of disks that overlap at most as ``min_gap_factor`` allows.

    Two disks i, j are accepted when their centres are at least
    ``min_gap_factor * (r_i + r_j)`` apart (1.0: no overlap; < 1: touching and
    overlapping cells). Centres may lie up to ``margin_px`` outside the field so
    that objects are cut by its border as in a real camera ROI. Disks that find
    no place in ``max_tries`` attempts are dropped (the field is full).

    Returns
    -------
    list of (y, x, radius) in pixels.
    """
    placed: list[tuple[float, float, float]] = []
    ny, nx = field_yx
    for radius in radii_px:
        for _ in range(max_tries):
            y = rng.uniform(-margin_px, ny + margin_px)
            x = rng.uniform(-margin_px, nx + margin_px)
            if all((y - py) ** 2 + (x - px) ** 2 >= (min_gap_factor * (radius + pr)) ** 2
                   for py, px, pr in placed):
                placed.append((y, x, radius))
                break
    return placed


def persistent_walk(start_yx, heading_rad: float, length_px: float, persistence_px: float,
                    rng: np.random.Generator, step_px: float = 0.7, allowed=None) -> np.ndarray:
    """A worm-like curve: a 2D random walk whose direction changes slowly.

    The heading diffuses with variance ``step / persistence`` per step, the
    discrete worm-like chain, so ``persistence_px`` is the persistence length.
    The walk stops early where ``allowed(y, x)`` turns False.

    Returns
    -------
    (N, 2) float array of (y, x) points, ``step_px`` apart.
    """
    n_steps = max(1, int(length_px / step_px))
    turn_sigma = np.sqrt(step_px / persistence_px)
    turns = rng.normal(0.0, turn_sigma, n_steps)
    points = np.empty((n_steps + 1, 2))
    points[0] = start_yx
    heading = heading_rad
    y, x = start_yx
    for i in range(n_steps):
        heading += turns[i]
        y, x = y + step_px * np.sin(heading), x + step_px * np.cos(heading)
        if allowed is not None and not allowed(y, x):
            return points[: i + 1]
        points[i + 1] = (y, x)
    return points


def sample_weighted_pixels(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random (y, x) positions, sub-pixel, drawn with probability proportional to ``weights``."""
    flat = np.asarray(weights, dtype=np.float64).ravel()
    total = flat.sum()
    if n == 0 or total <= 0:
        return np.empty((0, 2))
    idx = rng.choice(flat.size, size=n, p=flat / total)
    yx = np.stack(np.unravel_index(idx, weights.shape), axis=1).astype(np.float64)
    return yx + rng.uniform(-0.5, 0.5, yx.shape)


def box(center, half_size, shape):
    """Slices of a box around ``center`` clipped to an array of ``shape`` (None if empty)."""
    slices = []
    for c, h, n in zip(center, half_size, shape):
        lo, hi = max(0, int(np.floor(c - h))), min(n, int(np.ceil(c + h)) + 1)
        if lo >= hi:
            return None
        slices.append(slice(lo, hi))
    return tuple(slices)


def grid(slices):
    """Open float32 index grids (like ``np.ogrid``) over a tuple of slices."""
    n = len(slices)
    return [np.arange(s.start, s.stop, dtype=np.float32).reshape([-1 if i == j else 1 for j in range(n)])
            for i, s in enumerate(slices)]
