"""Fused numba kernels: compute the observable and fill the histogram in one pass over the data.

The events are split into one block per thread. Each thread walks its block in slices of
``SLICE`` events held in small buffers that stay in L1 cache: a first loop computes the
coordinates (no stores to the histogram, so the compiler vectorizes it; it reads the slice
through views that start at 0, whose indices the compiler knows are non-negative, so the
columns load as contiguous vectors instead of one wrapped index per element, 2.5x faster),
a second turns them into bins and increments ``LANES`` interleaved sub-histograms (event ``j``
goes to lane ``j % LANES``), so consecutive increments of one bin do not wait on each other.
Lanes and threads are summed at the end (benchmarks/recoil_throughput.py).

The arithmetic repeats ``observables`` operation for operation in float64 (no fastmath) and the
bin rule is ``axes.Axis.index``, so the counts equal the numpy backend's bin by bin.

1D recoil masses of float32 momenta (``fill_screened``) are screened in float32 first, with the
error bound of ``screened``: 16 events a vector, float32 square roots, no float64 conversions;
the ~0.3 % of events whose interval touches a bin edge are computed again in float64 by the rule
above. The screened kernel walks blocks of ``BLOCK`` events (``_screen_fill``): every ``STEP``
events, a vectorized loop of fixed length screens the next events into an int32 row that stays
in L1 (packed float32 square roots, ``vsqrtps`` on 16 lanes here) and notes, with one vector
compare and a mask test, whether the step holds an unproven event (a minimum over the lanes
instead took a shuffle tree, ~8 % of the kernel); a scalar loop increments the sub-histograms
with the cells screened ``LAG`` events before, two instructions an event (``movslq`` of the
cell, ``incq`` of its counter: the cell comes out of the screen already multiplied by
``LANES`` and the counters are bin-major, hist[cell * LANES + lane], so one base register
serves the four lanes), and prefetches the events ``PREFETCH`` ahead. The screen's constants
are read into scalars once per block (``_constants``; read from their array inside the loop,
they were broadcast from it again every step: the compiler cannot prove the stores to the cells
leave the array alone; now the register allocator keeps them, or spills the broadcast vectors).
Interleaving the two keeps the vector units, the scalar fill and the reads from memory busy
together: screened in one loop over a slice and filled in a second, the fill left the memory
idle, and the kernel took about its compute time plus the read time. The unproven events of
the flagged steps are then copied into small rows and computed again in float64 in one
vectorized loop (``_redo``). Where the time goes, on the 2-core development machine, in cache
(benchmarks/recoil_throughput.py, best of many short samples): 1.0-1.1 ns an event (the kernel
before: 1.1-1.3), of which the screen ~0.5 (without the square roots the kernel is only ~0.03 ns
faster: the cost is the ~50 packed operations per 16 events), the fill ~0.29, redoing the
unproven ~0.04 (0.08 with the bound before), against 0.24 ns for the read of the same 24 B;
streaming from memory the kernel adds ~0.2-0.4 ns where the read alone takes 0.75-0.95.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

LANES = 4  # a power of two
SLICE = 512
BLOCK = 4096  # events a block of the screened kernel: its int32 cells (16 KB) stay in L1
STEP = 32  # events screened at a time, one vectorized loop of fixed length (2 vectors of 16)
LAG = 64  # events between the screen of an event and its fill
PREFETCH = 256  # events ahead of the fill that the memory is asked for
RAD_TO_DEG = 180.0 / math.pi


def _prefetch_typing(typingctx, array, i):
    """Ask the memory for the cache line of array[i] (``llvm.prefetch``: read, into L1); an
    address past the end is harmless, the callers clamp it anyway."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1]], wraparound=False, boundscheck=False
        )
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0"
        )
        read, locality, data = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        builder.call(fn, [builder.bitcast(pointer, i8p), read, locality, data])
        return context.get_dummy_value()

    return types.void(array, i), codegen


_prefetch: Any = intrinsic(_prefetch_typing)


@njit(cache=True, inline="always")
def _index(v: float, lo: float, span: float, bins: int) -> int:
    z = (v - lo) / span
    return int(z * bins) if (z >= 0.0 and z < 1.0) else -1


@njit(cache=True, inline="always")
def _signed_sqrt(m2: float) -> float:
    return math.copysign(math.sqrt(abs(m2)), m2)


@njit(cache=True, inline="always")
def _mass2(e: float, x: float, y: float, z: float) -> float:
    return e * e - x * x - y * y - z * z


@njit(cache=True, inline="always")
def _count_1d(values, n, lo, span, bins, index, hist):
    for j in range(n):
        index[j] = _index(values[j], lo, span, bins)
    for j in range(n):
        k = index[j]
        if k >= 0:
            hist[j & (LANES - 1), k] += 1


@njit(cache=True, inline="always")
def _count_2d(xs, ys, n, xlo, xspan, nx, ylo, yspan, ny, index, hist):
    for j in range(n):
        ix = _index(xs[j], xlo, xspan, nx)
        iy = _index(ys[j], ylo, yspan, ny)
        index[j] = ix * ny + iy if (ix >= 0 and iy >= 0) else -1
    for j in range(n):
        k = index[j]
        if k >= 0:
            hist[j & (LANES - 1), k] += 1


@njit(cache=True, inline="always")
def _pair_slice(p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, kind, xs, ys):
    """Coordinates of a slice: kind 0/1 M^2_rec into xs; 2 (M^2_mumu, M^2_rec); 3 (M^2_rec, theta)."""
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    for j in range(p1x.shape[0]):
        ax, ay, az = np.float64(p1x[j]), np.float64(p1y[j]), np.float64(p1z[j])
        cx, cy, cz = np.float64(p2x[j]), np.float64(p2y[j]), np.float64(p2z[j])
        e1 = math.sqrt(ax * ax + ay * ay + az * az + m2)
        e2 = math.sqrt(cx * cx + cy * cy + cz * cz + m2)
        re, rx, ry, rz = be - e1 - e2, bx - ax - cx, by - ay - cy, bz - az - cz
        if kind <= 1:
            xs[j] = _mass2(re, rx, ry, rz)
        elif kind == 2:
            xs[j] = _mass2(e1 + e2, ax + cx, ay + cy, az + cz)
            ys[j] = _mass2(re, rx, ry, rz)
        else:
            xs[j] = _mass2(re, rx, ry, rz)
            ys[j] = math.atan2(math.sqrt(rx * rx + ry * ry), rz) * RAD_TO_DEG


@njit(cache=True)
def _block_pair(
    p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, kind, xlo, xspan, nx, ylo, yspan, ny, start, stop, hist
):
    """Muon-pair observable ``kind`` (see ``fill_pair``) of events start..stop into hist[lane, bin].

    Each slice is read through views starting at 0: indices the compiler knows are non-negative
    load as contiguous vectors (``p1x[s + j]`` would be wrapped per element, a gather)."""
    index = np.empty(SLICE, np.int64)
    xs = np.empty(SLICE)
    ys = np.empty(SLICE)
    for s in range(start, stop, SLICE):
        e = min(stop, s + SLICE)
        n = e - s
        ax, ay, az = p1x[s:e], p1y[s:e], p1z[s:e]
        bx, by, bz = p2x[s:e], p2y[s:e], p2z[s:e]
        # one loop per kind, each without branches, so each vectorizes
        if kind == 0:
            _pair_slice(ax, ay, az, bx, by, bz, beam, m2, 0, xs, ys)
        elif kind == 1:
            _pair_slice(ax, ay, az, bx, by, bz, beam, m2, 1, xs, ys)
            for j in range(n):
                xs[j] = _signed_sqrt(xs[j])
        elif kind == 2:
            _pair_slice(ax, ay, az, bx, by, bz, beam, m2, 2, xs, ys)
            for j in range(n):
                xs[j] = _signed_sqrt(xs[j])
                ys[j] = _signed_sqrt(ys[j])
        else:
            _pair_slice(ax, ay, az, bx, by, bz, beam, m2, 3, xs, ys)
        if kind <= 1:
            _count_1d(xs, n, xlo, xspan, nx, index, hist)
        else:
            _count_2d(xs, ys, n, xlo, xspan, nx, ylo, yspan, ny, index, hist)


@njit(cache=True)
def _block_photon(energy, theta, phi, beam, sqrt_s, lo, span, bins, start, stop, hist):
    """E*_gamma = (P_beam . p_gamma) / sqrt(s) of photons (E, theta, phi) start..stop."""
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    index = np.empty(SLICE, np.int64)
    values = np.empty(SLICE)
    for s in range(start, stop, SLICE):
        e = min(stop, s + SLICE)
        energies, thetas, phis = energy[s:e], theta[s:e], phi[s:e]
        for j in range(e - s):
            en, th, ph = np.float64(energies[j]), np.float64(thetas[j]), np.float64(phis[j])
            st = math.sin(th)
            px = en * st * math.cos(ph)
            py = en * st * math.sin(ph)
            pz = en * math.cos(th)
            values[j] = (be * en - bx * px - by * py - bz * pz) / sqrt_s
        _count_1d(values, e - s, lo, span, bins, index, hist)


@njit(cache=True, inline="always")
def _constants(c):
    """The float32 constants of the screen (``screened.constants``) as a tuple of scalars, read
    once before a loop (read from the array inside it, they were loaded again every step: the
    compiler cannot prove that the stores to the cells leave the array alone)."""
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10])


@njit(cache=True, inline="always")
def _screen_cell(ax, ay, az, cx, cy, cz, k, kind):
    """Cell of one event whose bin the float32 screen of ``screened`` proves, times ``LANES``
    (cell 1 below the axis, bin + 2, bins + 2 above), 0 if not proven; kind 0: M^2_rec, 1:
    M_rec; ``k``: ``_constants``.

    The operations are those of ``screened.recoil_interval`` and ``screened.screen`` in float32.
    The loops that call it allow only contraction into fused multiply-adds (an FMA rounds once
    where a multiply and an add round twice, so the error bound still holds); no reassociation,
    no approximate square roots, and NaN kept: an end that is NaN is never proven."""
    be, bx, by, bz, m2, two_be, bound_c, scale, offset_lower, offset_upper, top = k
    zero = np.float32(0.0)
    # m^2 first: the sum of the squares is then three FMAs (one add fewer)
    e1 = math.sqrt(m2 + ax * ax + ay * ay + az * az)
    e2 = math.sqrt(m2 + cx * cx + cy * cy + cz * cz)
    re, rx, ry, rz = be - e1 - e2, bx - ax - cx, by - ay - cy, bz - az - cz
    s = two_be - re  # E_beam + E1 + E2
    bound = s * s * bound_c
    mass2 = re * re - rx * rx - ry * ry - rz * rz
    lower, upper = mass2 - bound, mass2 + bound
    if kind == 1:  # the signed square root is monotonic
        lower = math.copysign(math.sqrt(abs(lower)), lower)
        upper = math.copysign(math.sqrt(abs(upper)), upper)
    tl = lower * scale + offset_lower  # one FMA each
    th = upper * scale + offset_upper
    cl = tl if tl > zero else zero  # NaN -> 0, caught below
    ch = th if th > zero else zero
    il = np.int32(cl if cl < top else top)
    ih = np.int32(ch if ch < top else top)
    proven = (il == ih) & (tl == tl) & (th == th)
    return np.int32((il + np.int32(1)) * np.int32(LANES) if proven else np.int32(0))


@njit(cache=True, fastmath={"contract"})
def _screen_slice(p1x, p1y, p1z, p2x, p2y, p2z, c, kind, cells):
    """The screen's cell (``_screen_cell``) of every event of a slice, one vectorized loop (the
    screen alone, for benchmarks/recoil_throughput.py's ``fused_profile``)."""
    k = _constants(c)
    for j in range(p1x.shape[0]):
        cells[j] = _screen_cell(p1x[j], p1y[j], p1z[j], p2x[j], p2y[j], p2z[j], k, kind)


@njit(cache=True, fastmath={"contract"})
def _screen_fill(p1x, p1y, p1z, p2x, p2y, p2z, c, kind, cells, hist, steps):
    """Screen and fill one block (views from 0): phase 1 screens ``STEP`` events at a time in a
    vectorized loop of fixed length into the int32 ``cells`` (the cell times ``LANES``), and
    notes there, branch-free, whether the step holds an unproven event (a cell 0: a vector
    compare and ``kortestw`` here; the first events of such steps go into ``steps``, their
    number is returned); phase 2 increments the cells of the events screened ``LAG`` events
    before into the ``LANES``
    interleaved sub-histograms hist[cell * LANES + lane] (bin-major, so one base address
    serves every lane), one scalar loop through unsigned indices (no negative-index wrap),
    the unproven into cells 0..LANES-1. The two phases alternate every step, so the vector
    units, the scalar fill and the reads from memory overlap, and the fill asks the memory
    for the events ``PREFETCH`` ahead. Only contraction into FMAs is allowed here
    (``_screen_cell``); nothing in float64."""
    k = _constants(c)
    n = p1x.shape[0]
    full = n - n % STEP
    flagged = 0
    for g in range(0, full + LAG, STEP):
        if g < full:
            none = True
            for j in range(STEP):
                i = np.uint64(g + j)
                cell = _screen_cell(p1x[i], p1y[i], p1z[i], p2x[i], p2y[i], p2z[i], k, kind)
                cells[i] = cell
                none &= cell != 0
            steps[flagged] = g  # kept only when the step holds an unproven event
            flagged += not none
        h = g - LAG
        if h >= 0:
            for q in range(h, h + STEP, 16):  # one cache line of each column a turn
                ahead = min(q + PREFETCH, n - 1)
                _prefetch(p1x, ahead)
                _prefetch(p1y, ahead)
                _prefetch(p1z, ahead)
                _prefetch(p2x, ahead)
                _prefetch(p2y, ahead)
                _prefetch(p2z, ahead)
                for j in range(16):
                    hist[np.uint64(cells[np.uint64(q + j)] + (j & (LANES - 1)))] += 1
    if full < n:  # the last events, fewer than a step
        for j in range(full, n):
            cell = _screen_cell(p1x[j], p1y[j], p1z[j], p2x[j], p2y[j], p2z[j], k, kind)
            cells[j] = cell
            hist[np.uint64(cell + (j & (LANES - 1)))] += 1
        steps[flagged] = full
        flagged += 1
    return flagged


@njit(cache=True)
def _redo(ax, ay, az, bx, by, bz, beam, m2, kind, lo, span, bins, cells, steps, flagged, hist, near, xs):
    """The unproven events (cell 0) of the flagged steps of a block, computed again in float64
    by the rule of ``fill_pair`` and filled into hist[(bin + 2) * LANES + lane]: their momenta
    are copied into the rows of ``near`` first, so the float64 pass is one vectorized loop.
    Returns how many. (A branch per event in the fill instead let the compiler if-convert the
    float64 path and compute it for every event.)"""
    n = ax.shape[0]
    u = 0
    for f in range(flagged):
        g = steps[f]
        for i in range(g, min(n, g + STEP)):
            if cells[i] == 0:
                near[0, u], near[1, u], near[2, u] = ax[i], ay[i], az[i]
                near[3, u], near[4, u], near[5, u] = bx[i], by[i], bz[i]
                u += 1
    if u:
        r = near[:, :u]
        _pair_slice(r[0], r[1], r[2], r[3], r[4], r[5], beam, m2, 0, xs, xs[:0])
        if kind == 1:
            for j in range(u):
                xs[j] = _signed_sqrt(xs[j])
        _count_flat(xs, u, lo, span, bins, hist)
    return u


@njit(cache=True, inline="always")
def _count_flat(values, n, lo, span, bins, hist):
    """values[:n] into the bin-major sub-histograms of the screened kernel (bin b in cell b + 2)."""
    for j in range(n):
        b = _index(values[j], lo, span, bins)
        if b >= 0:
            hist[(b + 2) * LANES + (j & (LANES - 1))] += 1


@njit(cache=True)
def _block_screened(p1x, p1y, p1z, p2x, p2y, p2z, c, beam, m2, kind, lo, span, bins, start, stop, hist):
    """M^2_rec (kind 0) or M_rec (1) of float32 events start..stop into the flat bin-major
    hist[cell * LANES + lane] (cell 0: not proven by the screen, 1 and bins + 2: out of range,
    bin + 2).

    Per block of ``BLOCK`` events, read through views that start at 0: the screen and the fill
    (``_screen_fill``), then the unproven events of the flagged steps in float64 (``_redo``).
    If more than an eighth of a block is unproven (bins finer than the bound), the rest of the
    range runs the float64 kernel alone."""
    cells = np.empty(BLOCK, np.int32)
    steps = np.empty(BLOCK // STEP + 1, np.int64)
    near = np.empty((6, BLOCK), p1x.dtype)
    xs = np.empty(BLOCK)
    exact = False
    for s in range(start, stop, BLOCK):
        e = min(stop, s + BLOCK)
        n = e - s
        ax, ay, az = p1x[s:e], p1y[s:e], p1z[s:e]
        bx, by, bz = p2x[s:e], p2y[s:e], p2z[s:e]
        if exact:
            _pair_slice(ax, ay, az, bx, by, bz, beam, m2, 0, xs, xs[:0])
            if kind == 1:
                for j in range(n):
                    xs[j] = _signed_sqrt(xs[j])
            _count_flat(xs, n, lo, span, bins, hist)
            continue
        flagged = _screen_fill(ax, ay, az, bx, by, bz, c, kind, cells, hist, steps)
        unproven = _redo(
            ax, ay, az, bx, by, bz, beam, m2, kind, lo, span, bins, cells, steps, flagged, hist, near, xs
        )
        exact = unproven * 8 > n


@njit(parallel=True, cache=True)
def fill_screened(p1x, p1y, p1z, p2x, p2y, p2z, c, beam, m2, kind, lo, hi, bins, nt):
    """M^2_rec (kind 0) or M_rec (1) of float32 muon pairs on ``nt`` threads, screened in float32
    (``c``: ``screened.constants``): the counts of ``fill_pair``, bin by bin."""
    n = p1x.shape[0]
    hist = np.zeros((nt, (bins + 3) * LANES), np.int64)
    step = (n + nt - 1) // nt
    for t in prange(nt):
        start, stop = t * step, min(n, (t + 1) * step)
        _block_screened(
            p1x, p1y, p1z, p2x, p2y, p2z, c, beam, m2, kind, lo, hi - lo, bins, start, stop, hist[t]
        )
    return hist.sum(axis=0).reshape(bins + 3, LANES).sum(axis=1)[2 : bins + 2]


@njit(parallel=True, cache=True)
def fill_pair(p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, kind, xlo, xhi, nx, ylo, yhi, ny, nt):
    """Muon-pair observables on ``nt`` threads.
    kind 0: M^2_rec; 1: M_rec; 2: (M_mumu, M_rec); 3: (M^2_rec, theta_rec)."""
    n = p1x.shape[0]
    hist = np.zeros((nt, LANES, nx * ny), np.int64)
    step = (n + nt - 1) // nt
    for t in prange(nt):
        start, stop = t * step, min(n, (t + 1) * step)
        _block_pair(
            p1x,
            p1y,
            p1z,
            p2x,
            p2y,
            p2z,
            beam,
            m2,
            kind,
            xlo,
            xhi - xlo,
            nx,
            ylo,
            yhi - ylo,
            ny,
            start,
            stop,
            hist[t],
        )
    return hist.sum(axis=0).sum(axis=0)


@njit(parallel=True, cache=True)
def fill_photon(energy, theta, phi, beam, sqrt_s, lo, hi, bins, nt):
    """E*_gamma of photons given by (E, theta, phi), on ``nt`` threads."""
    n = energy.shape[0]
    hist = np.zeros((nt, LANES, bins), np.int64)
    step = (n + nt - 1) // nt
    for t in prange(nt):
        _block_photon(
            energy, theta, phi, beam, sqrt_s, lo, hi - lo, bins, t * step, min(n, (t + 1) * step), hist[t]
        )
    return hist.sum(axis=0).sum(axis=0)
