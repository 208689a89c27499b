"""The observables of ``observables`` as numpy kernels on one chunk, without temporaries.

Every operation writes into buffers of a ``Scratch`` that the chunked backend allocates once and
reuses for every chunk, and works on stacked rows (both tracks, all four components) so one
ufunc call covers many values: about 15 calls per chunk instead of ~35, no allocation, and the
float32 columns as stored are converted once, when copied in. The floating-point operations are
those of ``observables`` in the same order, so every value is bit for bit the shared kernel's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from monitoring.histograms.observables import MUON_MASS, RAD_TO_DEG, Beam

F8 = NDArray[np.float64]
M2 = np.float64(MUON_MASS * MUON_MASS)
KERNELS = (
    "recoil_mass",
    "recoil_mass2",
    "pair_mass:recoil_mass",
    "recoil_mass2:recoil_theta",
    "photon_cms_energy",
)


# rows of a four-vector: the component along which the beam has no momentum (y) comes last, so
# the beam is subtracted from three contiguous rows
E, X, Z, Y = 0, 1, 2, 3
MOMENTUM_ROWS = (X, Y, Z)  # the rows of the input columns (px, py, pz)


class Scratch:
    """float64 buffers for chunks of up to ``size`` events, reused from chunk to chunk.

    ``views(n)`` hands out C-contiguous arrays over the start of each buffer, so the rows of a
    short last chunk still reshape without copies."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tracks = np.empty(8 * size)  # per track (E, px, pz, py)
        self._work = np.empty(6 * size)  # squared momenta, then a four-vector and its squares
        self._out = np.empty(2 * size)  # the coordinates handed to the fill
        self._full = (
            self._tracks.reshape(2, 4, size),
            self._work.reshape(6, size),
            self._out.reshape(2, size),
        )

    def views(self, n: int) -> tuple[F8, F8, F8]:
        """Tracks (2, 4, n), work rows (6, n) and output rows (2, n) for a chunk of n events."""
        if n == self.size:
            return self._full
        if n > self.size:
            raise ValueError(f"chunk of {n} events exceeds the scratch size {self.size}")
        return (
            self._tracks[: 8 * n].reshape(2, 4, n),
            self._work[: 6 * n].reshape(6, n),
            self._out[: 2 * n].reshape(2, n),
        )


def _four_vectors(columns: Sequence[np.ndarray], tracks: F8, work: F8) -> None:
    """Copy (p1x, p1y, p1z, p2x, p2y, p2z) into ``tracks`` and add E = sqrt(|p|^2 + m^2)."""
    for k, column in enumerate(columns):
        np.copyto(tracks[k // 3, MOMENTUM_ROWS[k % 3]], column)  # float32 -> float64 here, once
    squares = work.reshape(2, 3, -1)  # per track px^2, pz^2, py^2
    energy = tracks[:, E]
    np.multiply(tracks[:, X:], tracks[:, X:], squares)
    np.add(squares[:, X - 1], squares[:, Y - 1], energy)
    np.add(energy, squares[:, Z - 1], energy)
    np.add(energy, M2, energy)
    np.sqrt(energy, energy)


def _recoil(tracks: F8, beam: Beam, out: F8) -> None:
    """P_beam - p1 - p2 into the four rows of ``out``.

    Without beam momentum along y, (0 - p1y) - p2y = -(p1y + p2y) exactly (rounding is symmetric
    under negation), and only the square of that row is used."""
    b = np.array([[beam.energy], [beam.px], [beam.pz]])
    np.subtract(b, tracks[0, :Y], out[:Y])
    np.subtract(out[:Y], tracks[1, :Y], out[:Y])
    if beam.py == 0.0:
        np.add(tracks[0, Y], tracks[1, Y], out[Y])
    else:
        np.subtract(beam.py, tracks[0, Y], out[Y])
        np.subtract(out[Y], tracks[1, Y], out[Y])


def _mass2(squares: F8, out: F8) -> None:
    """e^2 - x^2 - y^2 - z^2 from the four squared components."""
    np.subtract(squares[E], squares[X], out)
    np.subtract(out, squares[Y], out)
    np.subtract(out, squares[Z], out)


def _signed_sqrt(x: F8, work: F8) -> None:
    np.abs(x, work)
    np.sqrt(work, work)
    np.copysign(work, x, x)


def pair_chunk(name: str, columns: Sequence[np.ndarray], beam: Beam, scratch: Scratch) -> tuple[F8, ...]:
    """Coordinates of a muon-pair observable over one chunk (views into ``scratch``)."""
    tracks, work, out = scratch.views(len(columns[0]))
    _four_vectors(columns, tracks, work)
    four = work[:4]  # a four-vector, squared in place
    if name == "pair_mass:recoil_mass":
        np.add(tracks[0], tracks[1], four)
        np.multiply(four, four, four)
        _mass2(four, out[1])
    _recoil(tracks, beam, four)
    if name == "recoil_mass2:recoil_theta":
        np.copyto(out[1], four[Z])
    np.multiply(four, four, four)
    mass2 = four[E]
    _mass2(four, mass2)
    if name == "recoil_mass2":
        return (mass2,)
    if name == "recoil_mass":
        _signed_sqrt(mass2, work[4])
        return (mass2,)
    if name == "recoil_mass2:recoil_theta":
        transverse = four[X]
        np.add(four[X], four[Y], transverse)
        np.sqrt(transverse, transverse)
        np.arctan2(transverse, out[1], out[1])
        np.multiply(out[1], RAD_TO_DEG, out[1])
        return mass2, out[1]
    if name == "pair_mass:recoil_mass":
        _signed_sqrt(out[1], work[4])
        _signed_sqrt(mass2, work[4])
        return out[1], mass2
    raise ValueError(f"no numpy chunk kernel for {name!r}")


def photon_chunk(columns: Sequence[np.ndarray], beam: Beam, scratch: Scratch) -> tuple[F8]:
    """E*_gamma = (P_beam . p_gamma) / sqrt(s) over one chunk of photons (E, theta, phi)."""
    _, work, out = scratch.views(len(columns[0]))
    energy, theta, phi, e_sin, trig, term = work[:6]
    for row, column in zip((energy, theta, phi), columns, strict=True):
        np.copyto(row, column)  # float64 before any function is taken
    np.sin(theta, e_sin)
    np.multiply(energy, e_sin, e_sin)  # E sin(theta)
    result = out[0]
    np.multiply(energy, beam.energy, result)
    components = (
        (e_sin, np.cos, phi, beam.px),
        (e_sin, np.sin, phi, beam.py),
        (energy, np.cos, theta, beam.pz),
    )
    for length, function, angle, b in components:
        function(angle, trig)
        np.multiply(length, trig, term)  # px, py, pz
        np.multiply(term, b, term)
        np.subtract(result, term, result)
    np.divide(result, beam.sqrt_s, result)
    return (result,)


def chunk(name: str, columns: Sequence[np.ndarray], beam: Beam, scratch: Scratch) -> tuple[F8, ...]:
    """Coordinates of observable ``name`` over one chunk of input columns."""
    if name == "photon_cms_energy":
        return photon_chunk(columns, beam, scratch)
    return pair_chunk(name, columns, beam, scratch)
