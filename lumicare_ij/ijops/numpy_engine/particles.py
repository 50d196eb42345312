"""Analyze Particles: size-filtered masks and shape measurements, in NumPy.

Reproduces ``ij.plugin.filter.ParticleAnalyzer`` of ImageJ 1.53t run on a
0/255 mask thresholded at 255-255, with the measurements of
``ij.plugin.filter.Analyzer`` (Area, Perimeter, Shape descriptors, Fit
ellipse, Centroid) in pixel units.

What ImageJ does, and how it is reproduced here
-----------------------------------------------
ImageJ scans the image in raster order. At the first pixel of a particle it
traces the particle's outer outline with ``ij.gui.Wand`` (legacy mode on a
thresholded image, i.e. 8-connected), makes a traced ``PolygonRoi`` and a
pixel mask of the particle, measures, and erases the mask from the image.

* Particle pixels. Without "include holes" the mask is an 8-connected flood
  fill from the start pixel (``FloodFiller.particleAnalyzerFill``): exactly an
  8-connected component, so holes are *not* part of the area, the centroid or
  the ellipse (verified against ImageJ: a 15x15 square with a 9x9 hole has
  area 144). With "include holes" the mask is the filled outer polygon
  (``PolygonFiller``): the component plus every pixel it encloses, including
  other particles, which are erased with it and never reported. Both are
  computed with ``scipy.ndimage`` (label with a 3x3 structure;
  ``binary_fill_holes`` with a 4-connected background, the dual of
  8-connected particles). A particle one pixel wide or high gets no mask in
  ImageJ; its bounding rectangle is used instead, which holds the same pixels.
* Perimeter (``PolygonRoi.getTracedPerimeter``): the outline's corner points,
  in the Wand's order, give ``sum|dx| + sum|dy| - nCorners * (2 - sqrt 2)``.
  ``nCorners`` is not simply the number of vertices: walking the vertices from
  the first, a vertex whose incoming side has length 1 is counted only if the
  previous vertex was not, so runs of unit sides count every other vertex and
  the count depends on where the Wand starts. The outline is therefore
  rebuilt exactly: straight runs of boundary edges (segments) are found with
  array operations, each segment's successor follows the Wand's rule
  (turn left if the pixel there is inside, else right), hole outlines are
  dropped (their background is not the region outside the particle), and
  every segment's position on its loop is found by pointer doubling, for all
  particles at once. The loop starts where the Wand starts: below the
  top-right corner of the first run of the particle's top row. (So a 5x1
  horizontal line has perimeter 12 - 3(2 - sqrt 2) but a 1x5 vertical one
  12 - 2(2 - sqrt 2), exactly as in ImageJ.)
* Solidity: pixel count over the area of the convex hull of the outline's
  vertices (``FloatPolygon.getConvexHull``, integer shoelace area). The hull
  of a particle's outline equals the hull of its pixel squares, whose
  extreme points are the left and right ends of each pixel row.
* Ellipse and centroid (``ij.process.EllipseFitter``): moments of the mask
  pixels relative to the bounding box, with ImageJ's ``0.08333333`` pixel
  term and its angle rules; the centroid is the fitter's centre (box corner +
  mean + 0.5). A one-pixel-wide particle has no mask, so ImageJ uses its
  rectangle formula (``2 * width / 1.772453851``). Integer sums are exact in
  float64, so the arithmetic after them follows ImageJ's operation order.
* Circularity ``4 pi area / perimeter^2`` capped at 1; AR ``major / minor``;
  Round ``4 area / (pi major^2)``.

Area, perimeter, circularity, solidity and centroid are bit-identical to
ImageJ. Major, minor, angle, AR and Round go through ``atan``, ``sin`` and
``cos``, where Java's ``Math`` and C's libm may differ in the last bit
(observed: <= 3e-15 relative).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

_EIGHT = np.ones((3, 3), dtype=bool)
# Constants exactly as EllipseFitter spells them (not pi/2, sqrt(pi), 1/12).
_HALFPI = 1.5707963267949
_SQRT_PI = 1.772453851
_TWELFTH = 0.08333333
_CORNER_CUT = 2.0 - math.sqrt(2.0)  # (w + h) - sqrt(w*w + h*h) for unit pixels

MEASURE_KEYS = ("area", "perimeter", "circularity", "aspect_ratio", "round", "solidity",
                "major", "minor", "angle", "x_centroid", "y_centroid")


# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------

def particle_mask(mask, min_size, max_size, include_holes):
    """Analyze Particles with show=Masks, slice by slice for a 3D stack.

    Parameters
    ----------
    mask : (Y, X) or (Z, Y, X) uint8 array of 0 and 255
    min_size, max_size : float
        Inclusive limits on the particle's pixel count (with ``include_holes``
        the count includes the enclosed pixels, as in ImageJ).
    include_holes : bool
        ImageJ's "include": a particle is its filled outer outline.

    Returns
    -------
    uint8 array of the input's shape, 255 on kept particles, 0 elsewhere.
    """
    planes = mask if mask.ndim == 3 else mask[None]
    out = np.zeros(planes.shape, np.uint8)
    for k, plane in enumerate(planes):
        inside = plane == 255
        if include_holes:
            # The filled outlines of the outermost particles; particles inside
            # a hole are erased with their host in ImageJ, so they vanish here.
            inside = ndi.binary_fill_holes(inside)
        labels, n = ndi.label(inside, structure=_EIGHT)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel(), minlength=n + 1).astype(np.float64)
        keep = (sizes >= min_size) & (sizes <= max_size)
        keep[0] = False
        out[k][keep[labels]] = 255
    return out if mask.ndim == 3 else out[0]


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

def measure_particles(mask, min_size, max_size):
    """Area, perimeter, shape descriptors, ellipse and centroid of each particle.

    Parameters
    ----------
    mask : (Y, X) uint8 array of 0 and 255
    min_size, max_size : float
        Inclusive pixel-count limits.

    Returns
    -------
    dict of float64 arrays (keys :data:`MEASURE_KEYS`), one entry per kept
    particle, in ImageJ's order (raster order of each particle's first pixel).
    """
    inside = mask == 255
    labels, n = ndi.label(inside, structure=_EIGHT)
    if n == 0:
        return {key: np.zeros(0, np.float64) for key in MEASURE_KEYS}
    parts = _particle_pixels(labels, n)
    keep = (parts["count"] >= min_size) & (parts["count"] <= max_size)
    perimeter = _traced_perimeters(inside, labels, parts["x0"], parts["y0"])
    hull_area = _convex_hull_areas(parts)
    major, minor, angle, xc, yc = _ellipses(parts)

    count = parts["count"].astype(np.float64)
    area = count * 1.0 * 1.0                     # pixelCount * pw * ph
    with np.errstate(divide="ignore", invalid="ignore"):
        circularity = np.where(perimeter == 0.0, 0.0,
                               4.0 * math.pi * (area / (perimeter * perimeter)))
    circularity = np.minimum(circularity, 1.0)
    result = {
        "area": area,
        "perimeter": perimeter,
        "circularity": circularity,
        "aspect_ratio": major / minor,
        "round": 4.0 * area / (math.pi * major * major),
        "solidity": count / hull_area,
        "major": major,
        "minor": minor,
        "angle": angle,
        "x_centroid": xc,
        "y_centroid": yc,
    }
    order = np.argsort(parts["first"], kind="stable")
    order = order[keep[order]]
    return {key: np.ascontiguousarray(result[key][order], dtype=np.float64) for key in MEASURE_KEYS}


def _particle_pixels(labels: np.ndarray, n: int) -> dict:
    """Per-label pixel lists, first pixels and bounding boxes (labels 1..n -> index 0..n-1)."""
    flat = labels.ravel()
    idx = np.flatnonzero(flat)                      # raster order
    lab = flat[idx] - 1
    width = labels.shape[1]
    ys, xs = np.divmod(idx, width)
    # First pixel of each particle in raster order (where ImageJ's scan meets it).
    _, first_pos = np.unique(lab, return_index=True)
    first = idx[first_pos]
    boxes = ndi.find_objects(labels)
    top = np.array([b[0].start for b in boxes])
    bottom = np.array([b[0].stop for b in boxes])
    left = np.array([b[1].start for b in boxes])
    right = np.array([b[1].stop for b in boxes])
    return {
        "lab": lab, "xs": xs, "ys": ys, "first": first,
        "x0": first % width, "y0": first // width,
        "count": np.bincount(lab, minlength=n),
        "top": top, "left": left, "box_w": right - left, "box_h": bottom - top,
        "n": n, "height": labels.shape[0],
    }


# --- perimeter ---------------------------------------------------------------

def _runs(edges: np.ndarray):
    """Runs of True along the last axis of a 2D array: (row, first, last) index arrays."""
    padded = np.zeros(edges.shape[:-1] + (edges.shape[-1] + 2,), dtype=np.int8)
    padded[..., 1:-1] = edges
    d = np.diff(padded, axis=-1)
    rows_s, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    return rows_s, starts, ends - 1                 # row-major order: starts and ends pair up


def _segments(inside: np.ndarray):
    """Straight outline segments of all 8-connected particles, as the Wand walks them.

    Directions follow ``ij.gui.Wand``: 0 = +x, 1 = -y, 2 = -x, 3 = +y, with
    the particle on the side of the pixel "in direction d" of the start
    vertex (vertex (x, y) is the top-left corner of pixel (x, y)).

    Returns start vertex (sx, sy), end vertex (ex, ey), direction and length
    arrays, one entry per segment.
    """
    p = np.pad(inside, 1)
    sx, sy, ex, ey, dirs, lengths = [], [], [], [], [], []

    def add(x0, y0, x1, y1, d, length):
        sx.append(x0); sy.append(y0); ex.append(x1); ey.append(y1)
        dirs.append(np.full(len(x0), d, np.int8)); lengths.append(length)

    below, above = p[1:, 1:-1], p[:-1, 1:-1]        # horizontal grid lines y = 0..H
    y, a, b = _runs(below & ~above)                 # direction 0: particle below, walk +x
    add(a, y, b + 1, y, 0, b - a + 1)
    y, a, b = _runs(above & ~below)                 # direction 2: particle above, walk -x
    add(b + 1, y, a, y, 2, b - a + 1)
    left, right = p[1:-1, :-1].T, p[1:-1, 1:].T     # vertical grid lines x = 0..W, runs along y
    x, a, b = _runs(right & ~left)                  # direction 1: particle right, walk -y
    add(x, b + 1, x, a, 1, b - a + 1)
    x, a, b = _runs(left & ~right)                  # direction 3: particle left, walk +y
    add(x, a, x, b + 1, 3, b - a + 1)
    cat = np.concatenate
    return (cat(sx), cat(sy), cat(ex), cat(ey), cat(dirs), cat(lengths))


def _pixel_at(x, y, k):
    """Padded-array indices of the pixel in direction k of vertex (x, y).

    Wand numbering: 0 = (x, y), 1 = (x, y-1), 2 = (x-1, y-1), 3 = (x-1, y);
    the padding shifts everything by one.
    """
    k = k % 4
    return y + 1 - ((k == 1) | (k == 2)), x + 1 - (k >= 2)


def _traced_perimeters(inside: np.ndarray, labels: np.ndarray, x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """``PolygonRoi.getTracedPerimeter`` of each particle's Wand outline (unit pixels)."""
    height, width = inside.shape
    n_particles = len(x0)
    sx, sy, ex, ey, dirs, lengths = _segments(inside)

    # Keep the outer outlines only. A segment has its particle on the pixel
    # in direction d of its start vertex and background on pixel d+1. The
    # background pixels along one outline are 4-connected, so an outline is
    # an outer one iff its background is the 4-connected background region
    # that holds the pixel above the particle's first pixel (the padding
    # joins everything outside the image into one region).
    padded_labels = np.pad(labels, 1)
    background, _ = ndi.label(padded_labels == 0)            # 4-connected by default
    part = padded_labels[_pixel_at(sx, sy, dirs)] - 1
    outside = background[_pixel_at(sx, sy, dirs + 1)]
    exterior = background[y0, x0 + 1]                         # padded (x0, y0 - 1)
    keep = outside == exterior[part]
    sx, sy, ex, ey, dirs, lengths, part = (a[keep] for a in (sx, sy, ex, ey, dirs, lengths, part))
    n_seg = len(sx)

    # Successor of each segment, as the Wand turns at its end vertex: towards
    # pixel d+1 if it is inside (8-connected: a diagonal neighbour counts),
    # otherwise away from it (d-1). Going straight would have continued the
    # segment. Segments are found by (start vertex, direction) in a table.
    table = np.full((height + 1) * (width + 1) * 4, -1, np.int64)
    table[(sy.astype(np.int64) * (width + 1) + sx) * 4 + dirs] = np.arange(n_seg)
    turn_left = np.pad(inside, 1)[_pixel_at(ex, ey, dirs + 1)]
    new_dir = np.where(turn_left, (dirs + 1) % 4, (dirs + 3) % 4)
    succ = table[(ey.astype(np.int64) * (width + 1) + ex) * 4 + new_dir]
    # The Wand starts below the top-right corner of the first run of the
    # particle's top row, so its last polygon side is the top edge of that
    # run: the segment leaving the first pixel's top-left corner along +x.
    last = table[(y0.astype(np.int64) * (width + 1) + x0) * 4]
    if (succ < 0).any() or (last < 0).any():      # cannot happen for a valid outline
        raise RuntimeError("particle outline tracing failed")

    # Pointer doubling: dist[i] = number of segments from i to nxt[i]; jump
    # until every segment points at its particle's last segment.
    nxt = succ.copy()
    dist = np.ones(n_seg, np.int64)
    is_last = np.zeros(n_seg, bool)
    is_last[last] = True
    nxt[last] = last
    dist[last] = 0
    active = np.flatnonzero(~is_last[nxt])
    while active.size:
        ahead = nxt[active]
        dist[active] += dist[ahead]
        nxt[active] = nxt[ahead]
        active = active[~is_last[nxt[active]]]
    n_vertices = np.bincount(part, minlength=n_particles)
    rank = n_vertices[part] - 1 - dist             # 0 = the Wand's first corner
    # Order segments by (particle, rank) with a counting sort.
    first = np.concatenate(([0], np.cumsum(n_vertices)[:-1]))
    order = np.empty(n_seg, np.int64)
    order[first[part] + rank] = np.arange(n_seg)
    part, rank, seg_len = part[order], rank[order], lengths[order]

    # getTracedPerimeter: vertex i (incoming side = segment i) is a corner if
    # its side is longer than 1 or vertex i-1 was not a corner; before vertex
    # 0 "no corner" is assumed. Within a run of unit sides that follows a
    # long side, every second vertex counts (odd offsets); in a run that
    # starts at vertex 0, the even offsets count.
    unit = seg_len == 1
    prev_unit = np.concatenate(([False], unit[:-1]))
    run_start = unit & ((rank == 0) | ~prev_unit)
    pos = np.arange(n_seg)
    start_of_run = np.maximum.accumulate(np.where(run_start, pos, 0))
    offset = pos - start_of_run
    at_loop_start = rank[start_of_run] == 0
    counted = ~unit | np.where(at_loop_start, offset % 2 == 0, offset % 2 == 1)
    n_corners = np.bincount(part, weights=counted, minlength=n_particles)
    total = np.bincount(part, weights=seg_len, minlength=n_particles)  # sum|dx| + sum|dy|
    return total - n_corners * _CORNER_CUT


# --- convex hull -----------------------------------------------------------------

def _convex_hull_areas(parts: dict) -> np.ndarray:
    """Area of the convex hull of each particle's outline (ImageJ's integer shoelace)."""
    n, height = parts["n"], parts["height"]
    lab, xs, ys = parts["lab"], parts["xs"], parts["ys"]
    # Leftmost and rightmost pixel of every (particle, row): pixels are in
    # raster order, so a stable sort by particle keeps rows and x ascending.
    key = lab.astype(np.int64) * height + ys
    srt = np.argsort(key, kind="stable")
    key_s, xs_s = key[srt], xs[srt]
    starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
    ends = np.r_[starts[1:], len(key_s)] - 1
    row_lab = key_s[starts] // height
    row_y = key_s[starts] % height
    row_min = xs_s[starts]
    row_max = xs_s[ends] + 1                        # right edge of the rightmost pixel
    bounds = np.r_[0, np.cumsum(np.bincount(row_lab, minlength=n))]
    areas = np.empty(n, np.float64)
    y_list, lo_list, hi_list = row_y.tolist(), row_min.tolist(), row_max.tolist()
    for i in range(n):
        s, e = bounds[i], bounds[i + 1]
        points = []
        for y, lo, hi in zip(y_list[s:e], lo_list[s:e], hi_list[s:e]):
            points += [(lo, y), (lo, y + 1), (hi, y), (hi, y + 1)]
        areas[i] = abs(_twice_hull_area(points) / 2.0)
    return areas


def _twice_hull_area(points) -> int:
    """Twice the area of the convex hull of integer points (Andrew's monotone chain)."""
    pts = sorted(set(points))

    def half(seq):
        chain = []
        for p in seq:
            while len(chain) >= 2:
                (ax, ay), (bx, by) = chain[-2], chain[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) <= 0:
                    chain.pop()
                else:
                    break
            chain.append(p)
        return chain

    hull = half(pts)[:-1] + half(pts[::-1])[:-1]
    twice = 0
    for i in range(len(hull)):
        (x1, y1), (x2, y2) = hull[i - 1], hull[i]
        twice += (x2 + x1) * (y2 - y1)
    return twice


# --- ellipse -------------------------------------------------------------------------

def _ellipses(parts: dict):
    """``EllipseFitter.getEllipseParam`` for every particle, vectorised."""
    n = parts["n"]
    lab = parts["lab"]
    xr = (parts["xs"] - parts["left"][lab]).astype(np.float64)   # relative to the bounding box
    yr = (parts["ys"] - parts["top"][lab]).astype(np.float64)
    # Integer sums, exact in float64 whatever the order of summation.
    bit_count = parts["count"].astype(np.float64)
    xsum = np.bincount(lab, weights=xr, minlength=n)
    ysum = np.bincount(lab, weights=yr, minlength=n)
    x2sum = np.bincount(lab, weights=xr * xr, minlength=n)
    y2sum = np.bincount(lab, weights=yr * yr, minlength=n)
    xysum = np.bincount(lab, weights=xr * yr, minlength=n)

    x2sum = x2sum + _TWELFTH * bit_count
    y2sum = y2sum + _TWELFTH * bit_count
    x1 = xsum / bit_count
    y1 = ysum / bit_count
    x2 = x2sum / bit_count
    y2 = y2sum / bit_count
    xy = xysum / bit_count
    u20 = x2 - (x1 * x1)
    u02 = y2 - (y1 * y1)
    u11 = xy - x1 * y1

    m4 = 4.0 * np.abs(u02 * u20 - u11 * u11)
    m4 = np.where(m4 < 0.000001, 0.000001, m4)
    a11 = u02 / m4
    a12 = u11 / m4
    a22 = u20 / m4
    tmp = a11 - a22
    tmp = np.where(tmp == 0.0, 0.000001, tmp)
    theta = 0.5 * np.arctan(2.0 * a12 / tmp)
    theta = np.where(theta < 0.0, theta + _HALFPI, theta)
    theta = np.where(a12 > 0.0, theta + _HALFPI, theta)
    zero = a12 == 0.0
    swap = zero & (a22 > a11)
    theta = np.where(swap, 0.0, theta)
    theta = np.where(zero & ~swap & (a11 != a22), _HALFPI, theta)
    a11, a22 = np.where(swap, a22, a11), np.where(swap, a11, a22)
    tmp = np.sin(theta)
    tmp = np.where(tmp == 0.0, 0.000001, tmp)
    z = a12 * np.cos(theta) / tmp
    major = np.sqrt(1.0 / np.abs(a22 + z))
    minor = np.sqrt(1.0 / np.abs(a11 - z))
    scale = np.sqrt(bit_count / (math.pi * major * minor))
    major = major * scale * 2.0
    minor = minor * scale * 2.0
    angle = 180.0 * theta / math.pi
    angle = np.where(angle == 180.0, 0.0, angle)
    major, minor = np.maximum(major, minor), np.minimum(major, minor)
    left = parts["left"].astype(np.float64)
    top = parts["top"].astype(np.float64)
    xc = left + x1 + 0.5
    yc = top + y1 + 0.5

    # Particles one pixel wide or high get no mask in ImageJ: EllipseFitter
    # then describes the bounding rectangle instead.
    w = parts["box_w"].astype(np.float64)
    h = parts["box_h"].astype(np.float64)
    no_mask = (parts["box_w"] <= 1) | (parts["box_h"] <= 1)
    r_major = (w * 2) / _SQRT_PI
    r_minor = (h * 2) / _SQRT_PI
    r_angle = np.where(r_major < r_minor, 90.0, 0.0)
    r_major, r_minor = np.maximum(r_major, r_minor), np.minimum(r_major, r_minor)
    major = np.where(no_mask, r_major, major)
    minor = np.where(no_mask, r_minor, minor)
    angle = np.where(no_mask, r_angle, angle)
    xc = np.where(no_mask, left + w / 2.0, xc)
    yc = np.where(no_mask, top + h / 2.0, yc)
    return major, minor, angle, xc, yc
