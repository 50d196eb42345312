"""Seeded test images for the engine conformance suite.

One generator serves every operation so that each is checked on the same
few hundred images: textures, blobs, noise and ImageJ's edge cases, in
8-bit, 16-bit and 32-bit, at sizes that are and are not multiples of 2..8.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

SIZES = [(64, 64), (37, 53), (50, 31), (128, 96)]


def _scale(field: np.ndarray, dtype, rng) -> np.ndarray:
    field = (field - field.min()) / (np.ptp(field) or 1.0)
    if dtype == np.uint8:
        return np.round(field * rng.integers(20, 256)).astype(np.uint8)
    if dtype == np.uint16:
        offset = rng.integers(0, 2000)
        return np.round(offset + field * rng.integers(50, 60000 - offset)).astype(np.uint16)
    return (field * rng.uniform(0.1, 5000) - rng.uniform(0, 100)).astype(np.float32)


def texture(shape, dtype, rng):
    sigma = rng.uniform(0.5, 6)
    return _scale(ndi.gaussian_filter(rng.standard_normal(shape), sigma), dtype, rng)


def blobs(shape, dtype, rng):
    img = np.zeros(shape)
    yy, xx = np.indices(shape)
    for _ in range(rng.integers(1, 12)):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        ry, rx = rng.uniform(1, shape[0] / 4), rng.uniform(1, shape[1] / 4)
        img += rng.uniform(0.3, 1) * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1)
    img = ndi.gaussian_filter(img, rng.uniform(0, 2)) + rng.uniform(0, 0.2) * rng.random(shape)
    return _scale(img, dtype, rng)


def noise(shape, dtype, rng):
    return _scale(rng.poisson(rng.uniform(0.2, 50), shape).astype(float), dtype, rng)


def generated_images(n_per_kind: int = 8, seed: int = 1, dtypes=(np.uint8, np.uint16, np.float32)):
    """Yield (name, 2D image) pairs: ``n_per_kind`` of each kind, size and dtype, plus edge cases."""
    rng = np.random.default_rng(seed)
    for dtype in dtypes:
        tname = np.dtype(dtype).name
        for kind in (texture, blobs, noise):
            for i in range(n_per_kind):
                shape = SIZES[i % len(SIZES)]
                yield f"{kind.__name__}-{tname}-{i}", kind(shape, dtype, rng)
        yield from ((f"{n}-{tname}", img) for n, img in edge_cases(dtype))


def edge_cases(dtype):
    """ImageJ's corner cases: constant, one bright pixel, saturation, NaN, ties."""
    info_max = {np.uint8: 255, np.uint16: 65535}.get(dtype, 3.4e38)
    const = np.full((20, 30), 100, dtype=dtype)
    yield "constant", const
    yield "zeros", np.zeros((17, 19), dtype=dtype)
    one = np.zeros((25, 25), dtype=dtype)
    one[12, 7] = 200
    yield "single-bright-pixel", one
    sat = np.zeros((24, 24), dtype=dtype)
    sat[4:12, 5:20] = info_max if dtype != np.float32 else 65535
    sat[15:20, 2:8] = 30
    yield "saturated", sat
    two = np.zeros((16, 16), dtype=dtype)
    two[:8] = 10
    two[8:] = 90
    yield "two-level-tie", two
    ramp = np.tile(np.arange(40, dtype=np.float64), (9, 1))
    yield "ramp", ramp.astype(dtype)
    if dtype == np.float32:
        nan = texture((30, 33), np.float32, np.random.default_rng(7))
        nan[3:6, 10:14] = np.nan
        yield "nan", nan
        neg = texture((22, 41), np.float32, np.random.default_rng(8)) - 1000.0
        yield "negative", neg.astype(np.float32)


def generated_masks(n: int = 60, seed: int = 2):
    """Yield (name, uint8 0/255 mask): random shapes, touching diagonals, holes, borders."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = SIZES[i % len(SIZES)]
        field = ndi.gaussian_filter(rng.standard_normal(shape), rng.uniform(0.7, 4))
        cut = np.quantile(field, rng.uniform(0.5, 0.95))
        yield f"random-{i}", np.where(field > cut, 255, 0).astype(np.uint8)
    diag = np.zeros((10, 10), np.uint8)
    diag[2, 2] = diag[3, 3] = diag[4, 5] = 255  # 8-connected chain, 4-disconnected
    yield "diagonal-touch", diag
    ring = np.zeros((21, 21), np.uint8)
    ring[3:18, 3:18] = 255
    ring[6:15, 6:15] = 0
    ring[9:12, 9:12] = 255  # a particle inside a hole
    yield "particle-in-hole", ring
    border = np.zeros((12, 15), np.uint8)
    border[0:4, :] = 255
    border[:, 14] = 255
    border[11, 0:3] = 255
    yield "touching-border", border
    yield "empty", np.zeros((9, 9), np.uint8)
    yield "full", np.full((9, 11), 255, np.uint8)
    single = np.zeros((7, 7), np.uint8)
    single[3, 3] = 255
    yield "single-pixel", single


def topology_masks(n: int = 30, seed: int = 3):
    """Yield (name, uint8 0/255 mask) that stress outline tracing and hole filling.

    Dense salt-and-pepper masks (many diagonal contacts, holes touching the
    outline at a corner), blobs with punched holes, nested rings, one-pixel
    lines, a checkerboard and thin images.
    """
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = (int(rng.integers(2, 48)), int(rng.integers(2, 48)))
        yield f"pepper-{i}", np.where(rng.random(shape) < rng.uniform(0.2, 0.8), 255, 0).astype(np.uint8)
    for i in range(n // 2):
        shape = SIZES[i % len(SIZES)]
        field = ndi.gaussian_filter(rng.standard_normal(shape), rng.uniform(0.8, 3))
        blob = field > np.quantile(field, rng.uniform(0.2, 0.7))
        blob ^= rng.random(shape) < 0.04  # holes inside, specks outside
        yield f"holey-{i}", np.where(blob, 255, 0).astype(np.uint8)
    nested = np.zeros((41, 43), bool)
    for r in range(0, 20, 3):
        nested[r:41 - r, r:43 - r] = not nested[r, r] if r else True
    yield "nested-rings", np.where(nested, 255, 0).astype(np.uint8)
    lines = np.zeros((20, 22), np.uint8)
    lines[2, 3:15] = 255      # horizontal line
    lines[5:18, 10] = 255     # vertical line
    lines[0, 0] = lines[19, 21] = 255
    lines[10:12, 0] = 255
    lines[14, 14] = lines[15, 15] = lines[16, 16] = 255   # diagonal line
    yield "lines", lines
    yield "checkerboard", np.where(np.indices((15, 17)).sum(0) % 2 == 0, 255, 0).astype(np.uint8)
    yield "one-row", np.where(rng.random((1, 40)) < 0.5, 255, 0).astype(np.uint8)
    yield "one-column", np.where(rng.random((33, 1)) < 0.5, 255, 0).astype(np.uint8)
    diamond = np.zeros((7, 7), np.uint8)
    diamond[[1, 2, 2, 3, 3, 4, 4, 5], [3, 2, 4, 1, 5, 2, 4, 3]] = 255  # 8-connected ring, 4-connected hole
    yield "diamond-ring", diamond


def generated_stacks(n_per_dtype: int = 4, seed: int = 3, dtypes=(np.uint8, np.uint16, np.float32)):
    """Yield (name, (Z, Y, X) stack): textures/blobs/noise slices plus 3D edge cases.

    Depths 1..9 (some not divisible by 2 or 3), the 2D sizes above, a
    constant slice in some stacks, and for float32 a partly-NaN slice and an
    all-NaN slice.
    """
    rng = np.random.default_rng(seed)
    kinds = (texture, blobs, noise)
    for dtype in dtypes:
        tname = np.dtype(dtype).name
        for i in range(n_per_dtype):
            shape = SIZES[i % len(SIZES)]
            depth = int(rng.integers(1, 10))
            planes = [kinds[int(rng.integers(0, 3))](shape, dtype, rng) for _ in range(depth)]
            stack = np.stack(planes)
            if depth > 2 and i % 2 == 0:
                stack[depth // 2] = stack[depth // 2].flat[0]      # a constant slice
            if dtype == np.float32 and depth > 3 and i % 2 == 1:
                stack[1, 2:6, 3:9] = np.nan
                stack[2] = np.nan
            yield f"stack-{tname}-{i}-z{depth}", stack
