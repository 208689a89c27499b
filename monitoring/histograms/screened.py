"""Recoil-mass counts in float32, screened by an error bound so every bin is the float64 one.

The muon momenta are stored as float32. Computing the recoil in float32 reads them as they are,
moves half the bytes and takes float32 square roots (3x faster in numpy than float64 ones), but
its value differs from the float64 kernel of ``observables``. Each event therefore gets an interval
that provably holds the float64 value; where the whole interval falls in one bin, that is the bin
the float64 kernel gives. The few events whose interval touches a bin edge (about 2B / bin width
of them) are computed again in float64 (``numpy_kernels``, gathered across chunks). The counts
equal the float64 ones bin by bin, by construction. ``numba_kernels.fill_screened`` runs the same
operations inside the fused kernel, with :func:`constants`.

The bound. Exact values are those of real arithmetic on the float32 momenta with the float64
constants (the float64 kernel is within 24 e' S^2 of them, e' = 2^-53: negligible below). With
S = E_beam + E1 + E2, every four-vector has |p| < E, so |E_rec|, |p_rec| and |M^2| are at most S
and S^2. In float32 (unit roundoff e = 2^-24), with the constants rounded to float32 (e each):
|p|^2 + m^2 is a sum of positive terms, each rounded at most 4 times: 4e relative; its square
root 3e: |E_i,float32 - E_i| <= 3e E_i. The recoil energy (E_beam - E1) - E2: the constant e
E_beam, the two subtractions e (E_beam + E1) and e S: <= 3e E_beam + 5e E1 + 4e E2 <= 5e S, so
its square is off by at most 5e S * 2S = 10 e S^2. A momentum component (b - a) - c is off by at
most 3e |b| + 2e |a| + e |c| <= 3e w_i (w_i = |b_i| + |a_i| + |c_i|); summed over the three
squares, 2 |R_i| 3e w_i <= 6e |w| |R| <= 6 e S^2 (Cauchy-Schwarz, |w| <= S by the triangle
inequality). The four squares rounded: e (E_rec^2 + |p_rec|^2) <= 2 e S^2; the three
subtractions, each partial sum at most 2 S^2: 6 e S^2 (an FMA rounds less). So |M^2_float32 -
M^2| <= 24 e S^2, and rounding an end M^2 -/+ B adds e S^2. The screen uses B = 64 e S^2 (S
itself computed in float32, within 8e S: the bound keeps 2.5 times the derived one; the largest
error seen in the tests is ~5 e S^2). Bin positions t = (x - lo) * bins / span computed in
float32 (or as x * scale + offset, one FMA, with the offset shift - lo * scale rounded once) are
off by at most 7 e (|t| + |lo| bins / span + 1) with the signed square root's rounding; they are
widened by twice that (the widening is itself rounded) for every |t| up to bins + 2, past which
no rounding reaches the axis.
Non-finite values never pass the screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from monitoring.histograms.axes import Axis
from monitoring.histograms.observables import MUON_MASS, Beam

F4 = NDArray[np.float32]
EPS = 2.0**-24  # float32 unit roundoff
BOUND = 64.0  # |M^2_float32 - M^2_float64| <= 24 e S^2, + e S^2 rounding the ends (module docstring)
WIDEN = 16.0  # bin positions are off by at most 7 e (|t| + |lo| bins / span)
KERNELS = ("recoil_mass2", "recoil_mass")


class Scratch:
    """float32 rows, an index row and a mask row for chunks of up to ``size`` events, reused from
    chunk to chunk."""

    ROWS = 8

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows = np.empty(self.ROWS * size, np.float32)
        self._slots = np.empty(size, np.intp)
        self._mask = np.empty(size, np.bool_)

    def rows(self, n: int) -> F4:
        if n > self.size:
            raise ValueError(f"chunk of {n} events exceeds the scratch size {self.size}")
        return self._rows[: self.ROWS * n].reshape(self.ROWS, n)

    def slots(self, n: int) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """An index row and a mask row for a chunk of ``n`` events (``rows(n)`` checked the size)."""
        return self._slots[:n], self._mask[:n]


def applies(name: str, columns: Sequence[np.ndarray], axes: tuple[Axis, ...]) -> bool:
    """Whether the screened float32 path computes this: a 1D recoil histogram of float32 momenta."""
    return name in KERNELS and len(axes) == 1 and all(c.dtype == np.float32 for c in columns)


def _energy(px: F4, py: F4, pz: F4, out: F4, work: F4) -> None:
    """E = sqrt(px^2 + py^2 + pz^2 + m^2) in float32, into ``out``."""
    np.multiply(px, px, out)
    np.multiply(py, py, work)
    np.add(out, work, out)
    np.multiply(pz, pz, work)
    np.add(out, work, out)
    np.add(out, np.float32(MUON_MASS * MUON_MASS), out)
    np.sqrt(out, out)


def recoil_interval(name: str, columns: Sequence[F4], beam: Beam, rows: F4) -> tuple[F4, F4]:
    """Per event, an interval [lower, upper] holding the float64 value of observable ``name``.

    Views into ``rows``; ``columns`` are the six float32 momentum columns of one chunk."""
    p1x, p1y, p1z, p2x, p2y, p2z = columns
    e1, e2, re, rx, ry, rz, lower, upper = rows
    _energy(p1x, p1y, p1z, e1, re)
    _energy(p2x, p2y, p2z, e2, re)
    f4 = np.float32
    np.subtract(f4(beam.energy), e1, re)
    np.subtract(re, e2, re)
    np.subtract(f4(beam.px), p1x, rx)
    np.subtract(rx, p2x, rx)
    if beam.py == 0.0:  # (0 - a) - c = -(a + c) exactly, and only its square is used
        np.add(p1y, p2y, ry)
    else:
        np.subtract(f4(beam.py), p1y, ry)
        np.subtract(ry, p2y, ry)
    np.subtract(f4(beam.pz), p1z, rz)
    np.subtract(rz, p2z, rz)
    bound = e1
    np.subtract(f4(2.0 * beam.energy), re, bound)  # S = E_beam + E1 + E2
    np.multiply(bound, bound, bound)
    np.multiply(bound, f4(BOUND * EPS), bound)  # B = 64 e S^2
    mass2 = re
    for component in (re, rx, ry, rz):
        np.multiply(component, component, component)
    np.subtract(re, rx, mass2)
    np.subtract(mass2, ry, mass2)
    np.subtract(mass2, rz, mass2)
    np.subtract(mass2, bound, lower)
    np.add(mass2, bound, upper)
    if name == "recoil_mass":
        for end in (lower, upper):  # the signed square root is monotonic
            np.abs(end, e2)
            np.sqrt(e2, e2)
            np.copysign(e2, end, end)
    elif name != "recoil_mass2":
        raise ValueError(f"no screened kernel for {name!r}")
    return lower, upper


def positions(axis: Axis) -> tuple[np.float32, np.float32, np.float32, np.float32]:
    """float32 (lo, bins / span, 1 - widening, 1 + widening): slot = floor((end - lo) * scale + shift).

    The widening is the constant 16 e (bins + 2 + |lo| bins / span): past bins + 2 a position is
    further from the axis than its rounding can move it."""
    scale = axis.bins / (axis.hi - axis.lo)
    widen = WIDEN * EPS * (axis.bins + 2 + abs(axis.lo) * scale + 1.0)
    f4 = np.float32
    return f4(axis.lo), f4(scale), f4(1.0 - widen), f4(1.0 + widen)


def constants(axis: Axis, beam: Beam) -> F4:
    """Everything the fused float32 screen of ``numba_kernels`` needs, as float32: the beam
    (E, px, py, pz), m_mu^2, 2 E_beam, BOUND e, the scale and the two offsets of the positions
    (slot = floor(end * scale + offset), one FMA: offset = shift - lo * scale of
    :func:`positions`, rounded once; see the module docstring) and the overflow slot."""
    values = (beam.energy, beam.px, beam.py, beam.pz, MUON_MASS * MUON_MASS, 2.0 * beam.energy, BOUND * EPS)
    lo, scale, shift_lower, shift_upper = (float(v) for v in positions(axis))
    offsets = (shift_lower - lo * scale, shift_upper - lo * scale)
    return np.array([*values, scale, *offsets, axis.bins + 1], np.float32)


def screen_slots(lower: F4, upper: F4, axis: Axis) -> tuple[F4, F4]:
    """The slot of each end in place (0 below the axis, bin + 1, bins + 1 above; NaN stays NaN):
    an event whose two ends share a slot has its bin proven."""
    lo, scale, shift_lower, shift_upper = positions(axis)
    for end, shift in ((lower, shift_lower), (upper, shift_upper)):
        np.subtract(end, lo, end)
        np.multiply(end, scale, end)
        np.add(end, shift, end)
        np.clip(end, 0.0, axis.bins + 1, end)  # NaN stays NaN
        np.floor(end, end)
    return lower, upper


def screen(lower: F4, upper: F4, axis: Axis, work: F4) -> tuple[F4, NDArray[np.bool_]]:
    """Slot of every event whose interval lies inside one (0 below the axis, bin + 1, bins + 1
    above), and which do. ``lower`` and ``upper`` are overwritten; ``work`` is a scratch row
    (bin positions from :func:`positions`)."""
    screen_slots(lower, upper, axis)
    return lower, np.equal(lower, upper, out=work.view(np.bool_)[: len(lower)])


def chunk_counts(
    name: str, columns: Sequence[F4], beam: Beam, axis: Axis, scratch: Scratch
) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Counts of one chunk's events whose bin the bound proves, and the indices of the others
    (near a bin edge), which the caller computes in float64.

    Four passes after the screen's: the unproven (ends in different slots, or NaN) flagged, their
    slot set to 0 (below the axis, dropped), the slots cast into a reused index row, counted."""
    n = len(columns[0])
    rows = scratch.rows(n)
    index, unproven = scratch.slots(n)
    lower, upper = recoil_interval(name, columns, beam, rows)
    slots, _ = screen_slots(lower, upper, axis)
    np.not_equal(slots, upper, out=unproven)  # NaN != NaN
    np.copyto(slots, np.float32(0.0), where=unproven)
    np.copyto(index, slots, casting="unsafe")
    proven = np.bincount(index, minlength=axis.bins + 2)[1 : axis.bins + 1]
    return proven, np.flatnonzero(unproven)
