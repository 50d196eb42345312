"""The 16 methods of ``ij.process.AutoThresholder`` (ImageJ 1.53t) on a 256-bin histogram.

Each function takes the histogram as a length-256 sequence of ints and
returns the threshold bin exactly as ImageJ 1.53t computes it, including its
tie rules, its loop limits and its floating-point order of operations:

* sums that ImageJ accumulates sequentially in double are done with
  ``np.cumsum`` (a strictly sequential accumulation) or plain Python loops;
  sums of integers that stay below 2**53 are exact, so their order is free;
* Java ``int`` arithmetic that can overflow is wrapped to 32 bits;
* Java casts and ``Math.round`` come from :mod:`._javamath`.

Java's ``Math.log`` and NumPy's ``log`` agree except in rare last-bit cases
(about 3 in 1000 arguments); a threshold could only differ if two candidate
entropies tied to within one unit in the last place. No such case turned up
in the conformance tests (several thousand images x 16 methods).

The algorithms are G. Landini's Auto_Threshold ports (see the references in
each docstring), re-expressed here in Python/NumPy - vectorised wherever the
order of floating-point operations allows - to reproduce 1.53t's results.
"""

from __future__ import annotations

import math

import numpy as np

from ._javamath import java_int, java_round, wrap_int32

_DBL_EPSILON = 2.220446049250313e-16
_DBL_MIN_VALUE = 5e-324  # Java's Double.MIN_VALUE (smallest positive double)
_BINS = np.arange(256, dtype=np.float64)


def _first_last_nonzero(data) -> tuple[int, int]:
    nz = np.flatnonzero(np.asarray(data))
    return int(nz[0]), int(nz[-1])


def _normalized(data):
    """``norm_histo``, ``P1`` and ``P2`` as the entropy methods build them."""
    counts = np.asarray(data, dtype=np.float64)
    total = float(np.cumsum(counts)[-1])
    norm = counts / total
    p1 = np.cumsum(norm)           # P1[i] = P1[i-1] + norm[i], sequentially
    p2 = 1.0 - p1
    return norm, p1, p2


def _entropy_bin_range(p1, p2) -> tuple[int, int]:
    """First bin with P1 != 0 and last bin with P2 != 0 (within DBL_EPSILON)."""
    first = 0
    for ih in range(256):
        if not abs(p1[ih]) < _DBL_EPSILON:
            first = ih
            break
    last = 255
    for ih in range(255, first - 1, -1):
        if not abs(p2[ih]) < _DBL_EPSILON:
            last = ih
            break
    return first, last


def _row_sums(terms: np.ndarray) -> np.ndarray:
    """Sequential left-to-right sum of each row (Java's ``s += t`` loop)."""
    return np.cumsum(terms, axis=1)[:, -1]


def _first_max(values, start: float) -> int:
    """Index of the first value that beats a running max started at ``start`` with '>'."""
    best, index = start, -1
    for i, v in enumerate(values):
        if v > best:
            best, index = v, i
    return index


# ---------------------------------------------------------------------------
# Default (ImageJ's modified IsoData) and IJ_IsoData
# ---------------------------------------------------------------------------

def ij_isodata(data) -> int:
    """ImageJ's original iterative intermeans, ignoring the end bins 0 and 255."""
    counts = np.asarray(data, dtype=np.int64).copy()
    counts[0] = 0
    counts[255] = 0
    nz = np.flatnonzero(counts)
    if nz.size < 2:
        return 128                           # ImageJ: min >= max -> data.length/2
    lo, hi = int(nz[0]), int(nz[-1])
    # ImageJ re-sums both classes in double at every step; the terms are
    # integers and the sums stay far below 2**53, so prefix sums are exact.
    cum_n = np.concatenate(([0], np.cumsum(counts)))
    cum_w = np.concatenate(([0], np.cumsum(counts * np.arange(256))))
    moving = lo
    while True:
        sum1 = float(cum_w[moving + 1] - cum_w[lo])
        sum2 = float(cum_n[moving + 1] - cum_n[lo])
        sum3 = float(cum_w[hi + 1] - cum_w[moving + 1])
        sum4 = float(cum_n[hi + 1] - cum_n[moving + 1])
        result = (sum1 / sum2 + sum3 / sum4) / 2.0
        moving += 1
        if not ((moving + 1) <= result and moving < hi - 1):
            break
    return java_int(java_round(result))


def default_isodata(data) -> int:
    """"Default": IJ_IsoData after capping the mode at 1.5x the second-highest bin."""
    data2 = [int(v) for v in data]
    mode, max_count = 0, 0
    for i, count in enumerate(data2):
        if count > max_count:
            max_count, mode = count, i
    max_count2 = 0
    for i, count in enumerate(data2):
        if count > max_count2 and i != mode:
            max_count2 = count
    if max_count > max_count2 * 2 and max_count2 != 0:
        data2[mode] = java_int(max_count2 * 1.5)
    return ij_isodata(data2)


# ---------------------------------------------------------------------------
# Huang
# ---------------------------------------------------------------------------

def huang(data) -> int:
    """Huang & Wang (1995) fuzzy entropy (Shannon), minimised."""
    counts = np.asarray(data, dtype=np.int64)
    first, last = _first_last_nonzero(counts)
    with np.errstate(all="ignore"):
        term = np.float64(1.0) / np.float64(last - first)
        weighted = _BINS * counts
        mu0 = np.zeros(256)
        mu0[first:] = np.cumsum(weighted[first:]) / np.cumsum(counts[first:].astype(np.float64))
        mu1 = np.zeros(256)
        # mu_1[ih - 1] accumulates from the last bin down to ih (ih >= 1).
        if last >= 1:
            rev_w = np.cumsum(weighted[last:0:-1])
            rev_n = np.cumsum(counts[last:0:-1].astype(np.float64))
            mu1[last - 1::-1] = rev_w / rev_n
        ih = _BINS[np.newaxis, :]
        it = np.arange(256)[:, np.newaxis]
        mu = np.where(ih <= it, mu0[:, np.newaxis], mu1[:, np.newaxis])
        mu_x = 1.0 / (1.0 + term * np.abs(ih - mu))
        keep = ~((mu_x < 1e-06) | (mu_x > 0.999999))
        ent_terms = counts[np.newaxis, :] * (-mu_x * np.log(mu_x) - (1.0 - mu_x) * np.log(1.0 - mu_x))
        ent = _row_sums(np.where(keep, ent_terms, 0.0))
    threshold, min_ent = -1, np.finfo(np.float64).max
    for t in range(256):
        if ent[t] < min_ent:
            min_ent, threshold = ent[t], t
    return threshold


# ---------------------------------------------------------------------------
# Intermodes and Minimum (iterative 3-point smoothing)
# ---------------------------------------------------------------------------

_SMOOTHING_LIMIT = 10000   # both methods give up after 10000 smoothings
_BATCH = 64


def _smooth_until_bimodal(hist: np.ndarray):
    """Smooth with a 3-point running mean until exactly two strict peaks remain.

    This is the loop shared by ImageJ's Intermodes and Minimum:
    ``while (!bimodalTest(h)) { h = smooth(h); if (++iter > 10000) give up; }``
    with ``smooth(h)[i] = ((h[i-1] + h[i]) + h[i+1]) / 3`` and zeros outside
    the array (both ImageJ variants reduce to this exactly). A peak is a bin
    strictly above both neighbours. Returns the first bimodal state, or None.

    The states are produced in batches so that the peak test is vectorised
    across a batch; each smoothing step is still applied one after the other,
    with the same double arithmetic as ImageJ.
    """
    length = hist.size
    if length < 3:
        return None                     # no interior bin: never bimodal
    states = np.zeros((_BATCH + 1, length + 2))
    states[0, 1:-1] = hist
    total = np.empty(length)
    # Views made once: left/centre/right neighbours of each state, and its body.
    left = [row[:-2] for row in states]
    centre = [row[1:-1] for row in states]
    right = [row[2:] for row in states]
    add, divide = np.add, np.divide
    done = 0                            # smoothing steps applied to states[0]
    while True:
        for b in range(1, _BATCH + 1):
            add(left[b - 1], centre[b - 1], out=total)
            add(total, right[b - 1], out=total)
            divide(total, 3.0, out=centre[b])
        h = states[:, 1:-1]
        mid = h[:, 1:-1]
        peaks = np.count_nonzero((h[:, :-2] < mid) & (h[:, 2:] < mid), axis=1)
        hits = np.flatnonzero(peaks == 2)
        if hits.size:
            step = done + int(hits[0])
            return h[hits[0]].copy() if step <= _SMOOTHING_LIMIT else None
        done += _BATCH
        if done >= _SMOOTHING_LIMIT:
            return None
        states[0] = states[_BATCH]


def intermodes(data) -> int:
    """Prewitt & Mendelsohn (1966): smooth until bimodal, threshold midway between the peaks.

    Works on the histogram cropped to its first..last non-empty bins.
    """
    counts = np.asarray(data)
    nz = np.flatnonzero(counts)
    minbin, maxbin = int(nz[0]), int(nz[-1])
    hist = _smooth_until_bimodal(counts[minbin:maxbin + 1].astype(np.float64))
    if hist is None:
        return -1                       # ImageJ logs "Intermodes Threshold not found..."
    peaks = np.flatnonzero((hist[:-2] < hist[1:-1]) & (hist[2:] < hist[1:-1])) + 1
    tt = int(peaks.sum())
    return java_int(math.floor(tt / 2.0)) + minbin


def minimum(data) -> int:
    """Prewitt & Mendelsohn (1966): smooth until bimodal, threshold at the valley.

    The valley is the first bin i with h[i-1] > h[i] <= h[i+1].
    """
    hist = _smooth_until_bimodal(np.asarray(data, dtype=np.float64))
    if hist is None:
        return -1                       # ImageJ logs "Minimum: threshold not found..."
    valley = np.flatnonzero((hist[:-2] > hist[1:-1]) & (hist[2:] >= hist[1:-1]))
    return int(valley[0]) + 1 if valley.size else -1


# ---------------------------------------------------------------------------
# IsoData, Li, Mean, MinError, Moments, Otsu, Percentile
# ---------------------------------------------------------------------------

def isodata(data) -> int:
    """Ridler & Calvard (1978) intermeans as in Auto_Threshold's IsoData."""
    counts = np.asarray(data, dtype=np.int64)
    nz = np.flatnonzero(counts[1:])
    g = int(nz[0]) + 2 if nz.size else 0
    # Exact integer prefix sums; 'l' and 'totl' are Java ints (wrapped), 'h'
    # and 'toth' doubles (exact: integer sums below 2**53).
    cum_n = np.concatenate(([0], np.cumsum(counts)))
    cum_w = np.concatenate(([0], np.cumsum(counts * np.arange(256))))
    total_n, total_w = int(cum_n[-1]), int(cum_w[-1])
    while True:
        totl = wrap_int32(int(cum_n[g]))
        l_sum = wrap_int32(int(cum_w[g]))
        toth = float(total_n - int(cum_n[min(g + 1, 256)]))
        h_sum = float(total_w - int(cum_w[min(g + 1, 256)]))
        if totl > 0 and toth > 0:
            # Java int division truncates toward zero.
            l_mean = l_sum // totl if l_sum >= 0 else -((-l_sum) // totl)
            h_mean = h_sum / toth
            if g == java_int(java_round((l_mean + h_mean) / 2.0)):
                break
        g += 1
        if g > 254:
            return -1
    return g


def li(data) -> int:
    """Li & Tam (1998) iterative minimum cross entropy."""
    counts = [int(v) for v in data]
    num_pixels = float(sum(counts))
    mean = 0.0
    for ih in range(1, 256):
        mean += float(ih) * counts[ih]
    mean = _jdiv(mean, num_pixels)
    new_thresh = mean
    while True:
        old_thresh = new_thresh
        threshold = java_int(old_thresh + 0.5)
        sum_back = num_back = 0.0
        for ih in range(0, min(threshold, 255) + 1):
            sum_back += float(ih) * counts[ih]
            num_back += counts[ih]
        mean_back = 0.0 if num_back == 0 else sum_back / num_back
        sum_obj = num_obj = 0.0
        for ih in range(threshold + 1, 256):
            sum_obj += float(ih) * counts[ih]
            num_obj += counts[ih]
        mean_obj = 0.0 if num_obj == 0 else sum_obj / num_obj
        temp = _jdiv(mean_back - mean_obj, _jlog(mean_back) - _jlog(mean_obj))
        if temp < -_DBL_EPSILON:
            new_thresh = float(java_int(temp - 0.5))
        else:
            new_thresh = float(java_int(temp + 0.5))
        if not abs(new_thresh - old_thresh) > 0.5:
            break
    return threshold


def mean(data) -> int:
    """Glasbey (1993): the mean grey level, floored."""
    tot, total = 0.0, 0.0
    for i, count in enumerate(data):
        tot += int(count)
        total += float(i) * int(count)
    return java_int(math.floor(total / tot))


def min_error_i(data) -> int:
    """Kittler & Illingworth (1986) minimum error, iterated from the Mean threshold."""
    counts = [int(v) for v in data]

    def a(j):
        j = min(j, 255)
        x = 0.0
        for i in range(j + 1):
            x += counts[i]
        return x

    def b(j):
        j = min(j, 255)
        x = 0.0
        for i in range(j + 1):
            x += wrap_int32(i * counts[i])          # Java int product
        return x

    def c(j):
        j = min(j, 255)
        x = 0.0
        for i in range(j + 1):
            x += wrap_int32(i * i * counts[i])      # overflows for bins > 33025 counts
        return x

    a_all, b_all, c_all = a(255), b(255), c(255)
    threshold = mean(counts)
    previous = -2
    while threshold != previous:
        a_t, b_t, c_t = a(threshold), b(threshold), c(threshold)
        mu = _jdiv(b_t, a_t)
        nu = _jdiv(b_all - b_t, a_all - a_t)
        p = _jdiv(a_t, a_all)
        q = _jdiv(a_all - a_t, a_all)
        sigma2 = _jdiv(c_t, a_t) - mu * mu
        tau2 = _jdiv(c_all - c_t, a_all - a_t) - nu * nu
        w0 = _jdiv(1.0, sigma2) - _jdiv(1.0, tau2)
        w1 = _jdiv(mu, sigma2) - _jdiv(nu, tau2)
        w2 = (_jdiv(mu * mu, sigma2) - _jdiv(nu * nu, tau2)
              + _jlog10(_jdiv(sigma2 * (q * q), tau2 * (p * p))))
        sqterm = w1 * w1 - w0 * w2
        if sqterm < 0:
            # ImageJ logs "MinError(I): not converging." and keeps the current threshold.
            return threshold
        previous = threshold
        temp = _jdiv(w1 + math.sqrt(sqterm), w0) if not math.isnan(sqterm) else math.nan
        if math.isnan(temp):
            threshold = previous
        else:
            threshold = java_int(math.floor(temp))
    return threshold


def moments(data) -> int:
    """Tsai (1985) moment-preserving threshold."""
    counts = np.asarray(data, dtype=np.float64)
    total = float(np.cumsum(counts)[-1])
    histo = counts / total
    m0, m1, m2, m3 = 1.0, 0.0, 0.0, 0.0
    for i in range(256):
        di = float(i)
        h = float(histo[i])
        m1 += di * h
        m2 += di * di * h
        m3 += di * di * di * h
    with np.errstate(all="ignore"):
        cd = np.float64(m0 * m2 - m1 * m1)
        c0 = (-m2 * m2 + m1 * m3) / cd
        c1 = (m0 * -m3 + m2 * m1) / cd
        root = np.sqrt(c1 * c1 - 4.0 * c0)
        z0 = 0.5 * (-c1 - root)
        z1 = 0.5 * (-c1 + root)
        p0 = (z1 - m1) / (z1 - z0)
    running = 0.0
    for i in range(256):
        running += float(histo[i])
        if running > p0:
            return i
    return -1


def otsu(data) -> int:
    """Otsu (1979): maximal between-class variance; ties go to the last bin."""
    counts = [int(v) for v in data]
    s_total, n_total = 0.0, 0.0
    for k in range(256):
        s_total += float(k) * counts[k]
        n_total += counts[k]
    s_k, n1 = 0.0, float(counts[0])
    bcv_max, k_star = 0.0, 0
    for k in range(1, 255):
        s_k += float(k) * counts[k]
        n1 += counts[k]
        denom = n1 * (n_total - n1)
        if denom != 0:
            num = (n1 / n_total) * s_total - s_k
            bcv = (num * num) / denom
        else:
            bcv = 0.0
        if bcv >= bcv_max:
            bcv_max, k_star = bcv, k
    return k_star


def percentile(data) -> int:
    """Doyle (1962): the bin whose cumulative fraction is closest to 50%."""
    counts = np.asarray(data, dtype=np.float64)
    partial = np.cumsum(counts)         # integer counts: exact
    total = float(partial[-1])
    threshold, best = -1, 1.0
    for i in range(256):
        v = abs(partial[i] / total - 0.5)
        if v < best:
            best, threshold = v, i
    return threshold


# ---------------------------------------------------------------------------
# Entropy methods: MaxEntropy, RenyiEntropy, Shanbhag, Yen
# ---------------------------------------------------------------------------

def _kapur_entropies(norm, p1, p2, counts, first, last):
    """Total Shannon entropy (background + object) for thresholds first..last."""
    its = np.arange(first, last + 1)
    ih = np.arange(256)[np.newaxis, :]
    with np.errstate(all="ignore"):
        r1 = norm[np.newaxis, :] / p1[its][:, np.newaxis]
        back = np.where((ih <= its[:, np.newaxis]) & (counts[np.newaxis, :] != 0), -(r1 * np.log(r1)), 0.0)
        r2 = norm[np.newaxis, :] / p2[its][:, np.newaxis]
        obj = np.where((ih > its[:, np.newaxis]) & (counts[np.newaxis, :] != 0), -(r2 * np.log(r2)), 0.0)
        return _row_sums(back) + _row_sums(obj)


def max_entropy(data) -> int:
    """Kapur, Sahoo & Wong (1985) maximum entropy."""
    counts = np.asarray(data)
    norm, p1, p2 = _normalized(counts)
    first, last = _entropy_bin_range(p1, p2)
    ent = _kapur_entropies(norm, p1, p2, counts, first, last)
    index = _first_max(ent, _DBL_MIN_VALUE)
    return -1 if index < 0 else first + index


def renyi_entropy(data) -> int:
    """Kapur, Sahoo & Wong (1985) Renyi entropy: three thresholds combined."""
    counts = np.asarray(data)
    norm, p1, p2 = _normalized(counts)
    first, last = _entropy_bin_range(p1, p2)
    its = np.arange(first, last + 1)
    ih = np.arange(256)[np.newaxis, :]
    below = ih <= its[:, np.newaxis]

    # alpha = 1: Kapur's maximum entropy (started at 0.0, not Double.MIN_VALUE).
    ent = _kapur_entropies(norm, p1, p2, counts, first, last)
    index = _first_max(ent, 0.0)
    t_star2 = 0 if index < 0 else first + index

    with np.errstate(all="ignore"):
        # alpha = 0.5
        back = _row_sums(np.where(below, np.sqrt(norm[np.newaxis, :] / p1[its][:, np.newaxis]), 0.0))
        obj = _row_sums(np.where(~below, np.sqrt(norm[np.newaxis, :] / p2[its][:, np.newaxis]), 0.0))
        prod = back * obj
        ent = (1.0 / (1.0 - 0.5)) * np.where(prod > 0.0, np.log(np.where(prod > 0.0, prod, 1.0)), 0.0)
    index = _first_max(ent, 0.0)
    t_star1 = 0 if index < 0 else first + index

    with np.errstate(all="ignore"):
        # alpha = 2
        sq = norm * norm
        p1sq = p1[its] * p1[its]
        p2sq = p2[its] * p2[its]
        back = _row_sums(np.where(below, sq[np.newaxis, :] / p1sq[:, np.newaxis], 0.0))
        obj = _row_sums(np.where(~below, sq[np.newaxis, :] / p2sq[:, np.newaxis], 0.0))
        prod = back * obj
        ent = (1.0 / (1.0 - 2.0)) * np.where(prod > 0.0, np.log(np.where(prod > 0.0, prod, 1.0)), 0.0)
    index = _first_max(ent, 0.0)
    t_star3 = 0 if index < 0 else first + index

    # Sort the three thresholds with ImageJ's three compare-and-swap steps.
    if t_star2 < t_star1:
        t_star1, t_star2 = t_star2, t_star1
    if t_star3 < t_star2:
        t_star2, t_star3 = t_star3, t_star2
    if t_star2 < t_star1:
        t_star1, t_star2 = t_star2, t_star1
    if abs(t_star1 - t_star2) <= 5:
        beta = (1, 2, 1) if abs(t_star2 - t_star3) <= 5 else (0, 1, 3)
    else:
        beta = (3, 1, 0) if abs(t_star2 - t_star3) <= 5 else (1, 2, 1)
    omega = float(p1[t_star3] - p1[t_star1])
    value = (t_star1 * (float(p1[t_star1]) + 0.25 * omega * beta[0])
             + 0.25 * t_star2 * omega * beta[1]
             + t_star3 * (float(p2[t_star3]) + 0.25 * omega * beta[2]))
    return java_int(value)


def shanbhag(data) -> int:
    """Shanbhag (1994) information-measure threshold."""
    counts = np.asarray(data)
    norm, p1, p2 = _normalized(counts)
    first, last = _entropy_bin_range(p1, p2)
    its = np.arange(first, last + 1)
    ih = np.arange(256)[np.newaxis, :]
    with np.errstate(all="ignore"):
        term_b = 0.5 / p1[its]
        p1_prev = np.concatenate(([0.0], p1[:-1]))          # P1[ih - 1]
        back_terms = -(norm[np.newaxis, :] * np.log(1.0 - term_b[:, np.newaxis] * p1_prev[np.newaxis, :]))
        back = _row_sums(np.where((ih >= 1) & (ih <= its[:, np.newaxis]), back_terms, 0.0)) * term_b
        term_o = 0.5 / p2[its]
        obj_terms = -(norm[np.newaxis, :] * np.log(1.0 - term_o[:, np.newaxis] * p2[np.newaxis, :]))
        obj = _row_sums(np.where(ih > its[:, np.newaxis], obj_terms, 0.0)) * term_o
        tot = np.abs(back - obj)
    threshold, min_ent = -1, np.finfo(np.float64).max
    for i, v in enumerate(tot):
        if v < min_ent:
            min_ent, threshold = v, first + i
    return threshold


def yen(data) -> int:
    """Yen, Chang & Chang (1995) maximum correlation criterion."""
    counts = np.asarray(data)
    norm, p1, _ = _normalized(counts)
    sq = norm * norm
    p1_sq = np.cumsum(sq)
    # P2_sq[ih] = P2_sq[ih + 1] + norm[ih + 1]^2, accumulated from the top bin down.
    p2_sq = np.zeros(256)
    p2_sq[254::-1] = np.cumsum(sq[:0:-1])
    with np.errstate(all="ignore"):
        prod = p1_sq * p2_sq
        first_term = -1.0 * np.where(prod > 0.0, np.log(np.where(prod > 0.0, prod, 1.0)), 0.0)
        spread = p1 * (1.0 - p1)
        second_term = 2 * np.where(spread > 0.0, np.log(np.where(spread > 0.0, spread, 1.0)), 0.0)
        crit = first_term + second_term
    return _first_max(crit, _DBL_MIN_VALUE)


def triangle(data) -> int:
    """Zack, Rogers & Latt (1977) triangle method, ImageJ's variant.

    The line runs from the histogram peak to one bin beyond the last
    non-empty bin on the side with the longer tail (the histogram is flipped
    when that side is the right one); the split is the bin farthest below
    the line, minus one.
    """
    counts = [int(v) for v in data]
    lo = 0
    for i in range(256):
        if counts[i] > 0:
            lo = i
            break
    if lo > 0:
        lo -= 1
    hi = 0
    for i in range(255, 0, -1):
        if counts[i] > 0:
            hi = i
            break
    if hi < 255:
        hi += 1
    peak, peak_count = 0, 0
    for i in range(256):
        if counts[i] > peak_count:
            peak, peak_count = i, counts[i]
    inverted = False
    if (peak - lo) < (hi - peak):
        inverted = True
        counts = counts[::-1]
        lo = 255 - hi
        peak = 255 - peak
    if lo == peak:
        return lo
    nx = float(counts[peak])
    ny = float(lo - peak)
    d = math.sqrt(nx * nx + ny * ny)
    nx /= d
    ny /= d
    d = nx * lo + ny * counts[lo]
    split, split_distance = lo, 0.0
    for i in range(lo + 1, peak + 1):
        distance = nx * i + ny * counts[i] - d
        if distance > split_distance:
            split, split_distance = i, distance
    split -= 1
    return 255 - split if inverted else split


# ---------------------------------------------------------------------------
# Java double arithmetic for scalars (no Python exceptions on 0 or log(0))
# ---------------------------------------------------------------------------

def _jdiv(a: float, b: float) -> float:
    """IEEE division as Java does it: x/0 gives +-Inf or NaN instead of raising."""
    try:
        return a / b
    except ZeroDivisionError:
        if math.isnan(a) or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _jlog(x: float) -> float:
    """``Math.log``: log(0) = -Inf, log(<0) = NaN."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


def _jlog10(x: float) -> float:
    """``Math.log10`` with Java's special values."""
    if x > 0.0:
        return math.log10(x)
    if x == 0.0:
        return -math.inf
    return math.nan


METHODS = {
    "Default": default_isodata,
    "Huang": huang,
    "Intermodes": intermodes,
    "IsoData": isodata,
    "Li": li,
    "MaxEntropy": max_entropy,
    "Mean": mean,
    "MinError": min_error_i,
    "Minimum": minimum,
    "Moments": moments,
    "Otsu": otsu,
    "Percentile": percentile,
    "RenyiEntropy": renyi_entropy,
    "Shanbhag": shanbhag,
    "Triangle": triangle,
    "Yen": yen,
}


def get_threshold(method: str, histogram) -> int:
    """``AutoThresholder.getThreshold(method, histogram)``: -1 becomes 0."""
    threshold = METHODS[method](histogram)
    return 0 if threshold == -1 else threshold
