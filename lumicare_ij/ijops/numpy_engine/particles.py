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
  within every run of consecutive unit sides the offset of each side from
  the run's first one is found by pointer doubling, for all particles at
  once. The loop starts where the Wand starts: below the top-right corner of
  the first run of the particle's top row, and a run of unit sides is cut
  there. (So a 5x1 horizontal line has perimeter 12 - 3(2 - sqrt 2) but a
  1x5 vertical one 12 - 2(2 - sqrt 2), exactly as in ImageJ.)
* Solidity: pixel count over the area of the convex hull of the outline's
  vertices (``FloatPolygon.getConvexHull``, integer shoelace area). The hull
  of a particle's outline equals the hull of its pixel squares, whose
  extreme points are the left and right ends of each pixel row; all hulls
  are found together by dropping non-convex points (see
  :func:`_convex_hull_areas`).
* Ellipse and centroid (``ij.process.EllipseFitter``): moments of the mask
  pixels relative to the bounding box, with ImageJ's ``0.08333333`` pixel
  term and its angle rules; the centroid is the fitter's centre (box corner +
  mean + 0.5). A one-pixel-wide particle has no mask, so ImageJ uses its
  rectangle formula (``2 * width / 1.772453851``). Integer sums are exact in
  float64, so the arithmetic after them follows ImageJ's operation order.

Speed: everything except the outline works on the horizontal runs of
particle pixels rather than on single pixels (counts, boxes and moment sums
have closed forms per run), and particles outside the size limits are
removed before any measurement, so the work scales with the kept particles.
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
# Runs and masks
# ---------------------------------------------------------------------------

def _runs(edges: np.ndarray):
    """Runs of True along the last axis of a 2D bool array: (row, first, stop) index arrays.

    ``stop`` is one past the run's last index; runs come in raster order.
    Each row gets a False column on both sides, so in the flattened array
    the value changes exactly at every run's first index and at its stop,
    alternately: one pass finds both.
    """
    n_rows, n_cols = edges.shape
    padded = np.zeros((n_rows, n_cols + 2), bool)
    padded[:, 1:-1] = edges
    flat = padded.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    row, first = np.divmod(change[0::2], n_cols + 2)
    return row, first - 1, change[1::2] - row * (n_cols + 2) - 1


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
    out = np.empty(planes.shape, np.uint8)
    for k, plane in enumerate(planes):
        inside = plane == 255
        if include_holes:
            # The filled outlines of the outermost particles; particles inside
            # a hole are erased with their host in ImageJ, so they vanish here.
            inside = ndi.binary_fill_holes(inside)
        labels, n = ndi.label(inside, structure=_EIGHT)
        keep = _keep_by_size(inside, labels, n, min_size, max_size)
        # One gather through a per-label table (255 for kept labels, 0 for
        # the background and dropped ones) writes the whole output plane;
        # labels are always valid indices, so mode="clip" only skips the
        # bounds check that would make np.take buffer its output.
        np.take(np.where(keep, np.uint8(255), np.uint8(0)), labels, out=out[k], mode="clip")
    return out if mask.ndim == 3 else out[0]


def _keep_by_size(inside, labels, n, min_size, max_size, runs=None) -> np.ndarray:
    """Bool per label (0 = background, never kept): pixel count within [min_size, max_size].

    The counts are summed over the horizontal runs of particle pixels (each
    run lies in one particle), which touches far fewer elements than a
    histogram of the whole label image; the sums are exact integers.
    """
    if runs is None:
        row, start, stop = _runs(inside)
        runs = row, start, stop, labels[row, start]
    _, start, stop, run_label = runs
    sizes = np.bincount(run_label, weights=stop - start, minlength=n + 1)
    keep = (sizes >= min_size) & (sizes <= max_size)
    keep[0] = False
    return keep


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
    empty = {key: np.zeros(0, np.float64) for key in MEASURE_KEYS}
    inside = mask == 255
    labels, n = ndi.label(inside, structure=_EIGHT)
    if n == 0:
        return empty
    # Everything but the outline is computed from the horizontal runs of
    # particle pixels (a few per particle row instead of every pixel).
    row, start, stop = _runs(inside)                 # stop: one past the run's last pixel
    run_label = labels[row, start]
    keep = _keep_by_size(inside, labels, n, min_size, max_size, (row, start, stop, run_label))
    n_kept = int(np.count_nonzero(keep))
    if n_kept == 0:
        return empty
    if n_kept < n:
        # Measure the kept particles only. Dropping the others changes none
        # of the kept particles' results: particles are 8-connected
        # components, so no pixel of another particle touches a kept one,
        # even diagonally, and the Wand never looks at one (see
        # _traced_perimeters for the outer/hole test).
        inside = np.take(keep, labels, mode="clip")
        chosen = keep[run_label]
        row, start, stop, run_label = row[chosen], start[chosen], stop[chosen], run_label[chosen]
    index_of_label = np.cumsum(keep) - 1             # label -> 0..n_kept-1, in label order
    parts = _particles_from_runs(row, start, stop, index_of_label[run_label], n_kept)
    perimeter = _traced_perimeters(inside, labels, index_of_label, parts["x0"], parts["top"])
    hull_area = _convex_hull_areas(parts)
    major, minor, angle, xc, yc = _ellipses(parts)

    count = parts["count"]
    area = count.astype(np.float64) * 1.0 * 1.0      # pixelCount * pw * ph
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
    # ImageJ's order: raster order of each particle's first pixel.
    first = parts["top"] * mask.shape[1] + parts["x0"]
    order = np.argsort(first, kind="stable")
    return {key: np.ascontiguousarray(result[key][order], dtype=np.float64) for key in MEASURE_KEYS}


def _particles_from_runs(row, start, stop, particle, n):
    """Per-particle runs, first pixel, bounding box and pixel count.

    ``row, start, stop`` are the horizontal runs of particle pixels in raster
    order (``stop`` exclusive) and ``particle`` their particle index
    (0..n-1). A stable sort by particle keeps each particle's runs in raster
    order, so its first run holds its first pixel (where ImageJ's scan meets
    it) and its top row, and its last run its bottom row.
    """
    order = np.argsort(particle, kind="stable")
    row, start, stop, particle = row[order], start[order], stop[order], particle[order]
    n_runs = np.bincount(particle, minlength=n)
    first_run = np.concatenate(([0], np.cumsum(n_runs)[:-1]))
    last_run = first_run + n_runs - 1
    top = row[first_run]
    left = np.minimum.reduceat(start, first_run)
    right = np.maximum.reduceat(stop, first_run)
    return {
        "row": row, "start": start, "stop": stop, "particle": particle, "first_run": first_run,
        "x0": start[first_run], "top": top, "left": left,
        "box_w": right - left, "box_h": row[last_run] + 1 - top,
        "count": np.add.reduceat(stop - start, first_run),
        "n": n,
    }


# --- perimeter ---------------------------------------------------------------

def _segments(p: np.ndarray):
    """Straight outline segments of all 8-connected particles, as the Wand walks them.

    ``p`` is the particle image padded with one background pixel all round.
    Directions follow ``ij.gui.Wand``: 0 = +x, 1 = -y, 2 = -x, 3 = +y, with
    the particle on the side of the pixel "in direction d" of the start
    vertex (vertex (x, y) is the top-left corner of pixel (x, y)).

    Returns the start vertex, direction and length of every segment; a
    vertex (x, y) is given as the flat index of pixel (x, y) in ``p``,
    ``(y + 1) * (W + 2) + x + 1``, so that neighbouring vertices and pixels
    are fixed offsets (see :func:`_pixel_offsets`).
    """
    stride = p.shape[1]
    starts, dirs, lengths = [], [], []

    def add(x0, y0, d, length):
        starts.append((y0 + 1) * stride + x0 + 1)
        dirs.append(np.full(len(x0), d, np.int8))
        lengths.append(length)

    below, above = p[1:, 1:-1], p[:-1, 1:-1]        # horizontal grid lines y = 0..H
    y, a, b = _runs(below & ~above)                 # direction 0: particle below, walk +x
    add(a, y, 0, b - a)
    y, a, b = _runs(above & ~below)                 # direction 2: particle above, walk -x
    add(b, y, 2, b - a)
    # Vertical grid lines x = 0..W: runs along y are rows of the transposed image.
    pt = np.ascontiguousarray(p.T)
    left, right = pt[:-1, 1:-1], pt[1:, 1:-1]
    x, a, b = _runs(right & ~left)                  # direction 1: particle right, walk -y
    add(x, b, 1, b - a)
    x, a, b = _runs(left & ~right)                  # direction 3: particle left, walk +y
    add(x, a, 3, b - a)
    cat = np.concatenate
    return cat(starts), cat(dirs), cat(lengths)


def _pixel_offsets(stride: int) -> np.ndarray:
    """Offset from vertex (x, y) (as a padded flat index) to the pixel in direction k.

    Wand numbering: pixel 0 = (x, y), 1 = (x, y-1), 2 = (x-1, y-1), 3 = (x-1, y).
    """
    return np.array([0, -stride, -stride - 1, -1], np.int64)


def _traced_perimeters(inside: np.ndarray, labels: np.ndarray, index_of_label: np.ndarray,
                       x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """``PolygonRoi.getTracedPerimeter`` of each particle's Wand outline (unit pixels).

    ``inside`` holds the measured particles only; ``index_of_label`` maps a
    label of ``labels`` to its particle index; ``(x0, y0)`` is each
    particle's first pixel.
    """
    n_particles = len(x0)
    padded = np.pad(inside, 1)
    stride = padded.shape[1]
    flat_inside = padded.ravel()
    pixel = _pixel_offsets(stride)
    step = np.array([1, -stride, -1, stride], np.int64)      # one edge along direction d
    start, dirs, lengths = _segments(padded)

    # Keep the outer outlines only. A segment has its particle on the pixel
    # in direction d of its start vertex and background on pixel d+1. The
    # background pixels along one outline are 4-connected, so an outline is
    # an outer one iff its background is the 4-connected background region
    # that holds the pixel above the particle's first pixel (the padding
    # joins everything outside the image into one region). Particles left
    # out of ``inside`` only merge background regions; a hole of a measured
    # particle is closed off by that particle's own pixels, so it never
    # merges with the particle's exterior and the test is unchanged.
    background = ndi.label(~padded)[0].ravel()                # 4-connected by default
    # The particle pixel of each segment, as a flat index into the unpadded
    # ``labels``: padded (r + 1, c + 1) is unpadded (r, c).
    part_pixel = start + pixel[dirs]
    part_pixel += 1 - stride - 2 * (part_pixel // stride)
    part = index_of_label[labels.ravel()[part_pixel]]
    outside = background[start + pixel[(dirs + 1) % 4]]
    first_vertex = (y0.astype(np.int64) + 1) * stride + x0 + 1
    exterior = background[first_vertex - stride]              # the pixel above the first one
    keep = outside == exterior[part]
    start, dirs, lengths, part = start[keep], dirs[keep], lengths[keep], part[keep]
    n_seg = len(start)
    end = start + lengths * step[dirs]

    # Successor of each segment, as the Wand turns at its end vertex: towards
    # pixel d+1 if it is inside (8-connected: a diagonal neighbour counts),
    # otherwise away from it (d-1). Going straight would have continued the
    # segment. Segments are found by (start vertex, direction) in a table.
    table = np.full(padded.size * 4, -1, np.int32)
    table[start * 4 + dirs] = np.arange(n_seg, dtype=np.int32)
    turn_left = flat_inside[end + pixel[(dirs + 1) % 4]]
    new_dir = np.where(turn_left, (dirs + 1) % 4, (dirs + 3) % 4)
    succ = table[end * 4 + new_dir].astype(np.int64)
    # The Wand starts below the top-right corner of the first run of the
    # particle's top row, so its last polygon side is the top edge of that
    # run: the segment leaving the first pixel's top-left corner along +x.
    last = table[first_vertex * 4].astype(np.int64)
    if (succ < 0).any() or (last < 0).any():      # cannot happen for a valid outline
        raise RuntimeError("particle outline tracing failed")

    # getTracedPerimeter: vertex i (incoming side = segment i, in the Wand's
    # order from its first corner) is a corner if its side is longer than 1
    # or vertex i-1 was not a corner; before vertex 0 "no corner" is
    # assumed. So every long side counts, and within a run of consecutive
    # unit sides only the offset from the run's first side matters: after a
    # long side the odd offsets count, in a run that starts at vertex 0 the
    # even ones. Runs are followed backwards along the loop (pred), cut at
    # vertex 0 (the successor of the last side); no loop-wide ranking needed.
    unit = lengths == 1
    pred = np.empty(n_seg, np.int64)
    pred[succ] = np.arange(n_seg)                   # outer outlines are closed loops
    first_side = np.zeros(n_seg, bool)
    first_side[succ[last]] = True
    run_head = unit & (first_side | ~unit[pred])
    # Pointer doubling along pred inside runs: offset[i] = sides from i back
    # to its run's head, head[i] = that head.
    head = np.where(run_head, np.arange(n_seg), pred)
    offset = np.where(run_head, 0, 1)
    active = np.flatnonzero(unit & ~run_head)
    active = active[~run_head[head[active]]]
    while active.size:
        behind = head[active]
        offset[active] += offset[behind]
        head[active] = head[behind]
        active = active[~run_head[head[active]]]
    counted = ~unit | np.where(first_side[head], offset % 2 == 0, offset % 2 == 1)
    n_corners = np.bincount(part, weights=counted, minlength=n_particles)
    total = np.bincount(part, weights=lengths, minlength=n_particles)  # sum|dx| + sum|dy|
    return total - n_corners * _CORNER_CUT


# --- convex hull -----------------------------------------------------------------

def _convex_hull_areas(parts: dict) -> np.ndarray:
    """Area of the convex hull of each particle's outline (ImageJ's integer shoelace).

    The hull of the outline is the hull of the particle's pixel squares. At
    every vertex level ``v`` (the grid line between rows ``v - 1`` and
    ``v``) only the leftmost and the rightmost square corner can be hull
    points, so the hull is ``{L(v) <= x <= R(v)}`` with ``L`` the convex
    minorant of the leftmost corners and ``R`` the concave majorant of the
    rightmost ones, and twice its area is the exact integer
    ``sum over edges of dv * (x_i + x_j)`` of the right chain minus that of
    the left chain. The area is that of the same polygon ImageJ builds, so
    ``|twice| / 2.0`` is the same double.
    """
    n = parts["n"]
    row, start, stop, particle = parts["row"], parts["start"], parts["stop"], parts["particle"]
    # Leftmost and rightmost pixel edge of every (particle, row): the runs of
    # one particle row are consecutive and sorted by x.
    new_row = np.ones(len(row), bool)
    new_row[1:] = (particle[1:] != particle[:-1]) | (row[1:] != row[:-1])
    row_first = np.flatnonzero(new_row)
    row_last = np.concatenate((row_first[1:], [len(row)])) - 1
    row_min = start[row_first].astype(np.int64)
    row_max = stop[row_last].astype(np.int64)
    row_y = row[row_first].astype(np.int64)
    row_particle = particle[row_first]
    # A particle's rows are contiguous (it is connected), so a particle with
    # h rows has h + 1 vertex levels: the top edge of each row and the bottom
    # edge of the last. Level k + p is the top of row k of particle p.
    n_levels = len(row_first) + n
    top_level = np.arange(len(row_first)) + row_particle
    below = top_level + 1
    big = np.iinfo(np.int64).max
    lo = np.full(n_levels, big, np.int64)
    hi = np.full(n_levels, -big, np.int64)
    lo[top_level], hi[top_level] = row_min, row_max
    lo[below], hi[below] = np.minimum(lo[below], row_min), np.maximum(hi[below], row_max)
    level = np.empty(n_levels, np.int64)
    level[top_level], level[below] = row_y, row_y + 1
    owner = np.empty(n_levels, np.int64)
    owner[top_level], owner[below] = row_particle, row_particle
    # Left chains, then right chains with x negated (a concave majorant of x
    # is a convex minorant of -x); chain c < n is particle c's left side.
    chain, v, x = _convex_minorants(np.concatenate((owner, owner + n)),
                                    np.concatenate((level, level)),
                                    np.concatenate((lo, -hi)))
    edge = chain[1:] == chain[:-1]
    terms = (v[1:] - v[:-1]) * (x[1:] + x[:-1])
    sums = np.bincount(chain[:-1][edge], weights=terms[edge], minlength=2 * n)  # small exact integers
    twice = -(sums[:n] + sums[n:])                  # right chain minus left chain
    return np.abs(twice / 2.0)


def _convex_minorants(chain, v, x):
    """Reduce each chain of points (sorted by ``v``) to the vertices of its convex minorant.

    Every round drops, in all chains at once, each interior point that is
    not strictly below the chord of its two neighbours. Such a point is
    never a corner of the minorant (a corner lies strictly below any chord
    that spans it), so the corners all survive and the minorant never
    changes; when no point is dropped, every chain is strictly convex, i.e.
    it is its own minorant. Integer arithmetic, so the tests are exact.
    """
    while len(x) > 2:
        dv_prev = v[1:-1] - v[:-2]
        dv_next = v[2:] - v[1:-1]
        # x_j >= chord(v_j)  <=>  x_j (v_q - v_p) >= x_p (v_q - v_j) + x_q (v_j - v_p)
        on_or_above = x[1:-1] * (dv_prev + dv_next) >= x[:-2] * dv_next + x[2:] * dv_prev
        drop = (chain[:-2] == chain[2:]) & on_or_above
        if not drop.any():
            break
        kept = np.ones(len(x), bool)
        kept[1:-1] = ~drop
        chain, v, x = chain[kept], v[kept], x[kept]
    return chain, v, x


# --- ellipse -------------------------------------------------------------------------

def _moment_sums(parts: dict):
    """Per-particle sums of x, y, x^2, y^2 and x*y over the pixels, relative to the bounding box.

    Each run contributes closed-form integer sums (an arithmetic series and
    a sum of squares), added up exactly in int64; the totals are the same
    integers a pixel-by-pixel sum gives, whatever the order.
    """
    particle, first_run = parts["particle"], parts["first_run"]
    x_from = (parts["start"] - parts["left"][particle]).astype(np.int64)   # first x of the run
    x_to = (parts["stop"] - parts["left"][particle]).astype(np.int64)      # one past its last x
    y = (parts["row"] - parts["top"][particle]).astype(np.int64)
    length = x_to - x_from

    def squares_below(k):                            # 0^2 + 1^2 + ... + (k-1)^2
        return (k - 1) * k * (2 * k - 1) // 6

    run_x = (x_from + x_to - 1) * length // 2
    run_x2 = squares_below(x_to) - squares_below(x_from)
    sums = [np.add.reduceat(s, first_run).astype(np.float64)
            for s in (run_x, y * length, run_x2, y * y * length, y * run_x)]
    return sums


def _ellipses(parts: dict):
    """``EllipseFitter.getEllipseParam`` for every particle, vectorised."""
    # Integer sums, exact in float64 whatever the order of summation.
    bit_count = parts["count"].astype(np.float64)
    xsum, ysum, x2sum, y2sum, xysum = _moment_sums(parts)

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
