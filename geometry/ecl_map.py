"""The unrolled ECL: every crystal as one rectangle in (φ, θ), the cells of the θ-φ map.

Pure numpy. A crystal's cell spans its ring's θ edges (``geometry.ecl.ring_theta_edges``: midpoints
between ring centres, clamped to the region limits, so the real gaps between the forward endcap, the
barrel and the backward endcap stay empty) and one φ pitch of its ring, phiID · 2π/N … (phiID + 1) ·
2π/N. Angles in rad, rows by cellId − 1. The endcap crystal centres sit in the middle of their cells;
the barrel's, tilted off the projective line, 0.04–0.06 of a pitch forward in φ, still inside.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geometry import ecl


@dataclass(frozen=True)
class CellRects:
    """(8736,) φ and θ limits [rad] of every crystal's cell, row cellId − 1 (read-only)."""

    phi_lo: np.ndarray
    phi_hi: np.ndarray
    theta_lo: np.ndarray
    theta_hi: np.ndarray

    @property
    def phi_mid(self) -> np.ndarray:
        return 0.5 * (self.phi_lo + self.phi_hi)

    @property
    def theta_mid(self) -> np.ndarray:
        return 0.5 * (self.theta_lo + self.theta_hi)

    def solid_angle(self) -> np.ndarray:
        """(8736,) solid angle [sr] of every cell: Δφ (cos θ_lo − cos θ_hi)."""
        return (self.phi_hi - self.phi_lo) * (np.cos(self.theta_lo) - np.cos(self.theta_hi))


@functools.cache
def cell_rectangles() -> CellRects:
    """The 8736 cells of the θ-φ map (cached, read-only)."""
    ring = ecl.RING_OF_CELL
    phi_id = np.arange(ecl.N_CRYSTALS) + 1 - ecl.FIRST_CELL[ring]
    pitch = 2 * np.pi / ecl.N_PHI[ring]
    edges = ecl.ring_theta_edges()
    out = CellRects(phi_id * pitch, (phi_id + 1) * pitch, edges[ring, 0].copy(), edges[ring, 1].copy())
    for a in vars(out).values():
        a.flags.writeable = False
    return out


def region_solid_angles() -> np.ndarray:
    """(3,) solid angle [sr] inside the polar limits of the forward endcap, barrel and backward endcap."""
    limits = np.radians(ecl.region_theta_deg())
    return 2 * np.pi * (np.cos(limits[:, 0]) - np.cos(limits[:, 1]))


def cell_in_map(phi: npt.ArrayLike, theta: npt.ArrayLike) -> np.ndarray | int:
    """1-based cellId whose cell holds the direction (φ, θ) [rad]; 0 in the gaps between the regions
    and outside the calorimeter. Vectorized; φ is taken modulo 2π."""
    th = np.asarray(theta, np.float64)
    ph = np.mod(np.asarray(phi, np.float64), 2 * np.pi)
    th, ph = np.broadcast_arrays(th, ph)
    edges = ecl.ring_theta_edges()
    ring = np.clip(np.searchsorted(edges[:, 0], th, side="right") - 1, 0, ecl.N_RINGS - 1)
    inside = (th >= edges[ring, 0]) & (th < edges[ring, 1])
    n = ecl.N_PHI[ring]
    phi_id = np.minimum(np.floor(ph / (2 * np.pi) * n).astype(np.int64), n - 1)
    cells = np.where(inside, ecl.FIRST_CELL[ring] + phi_id, 0)
    return int(cells) if cells.ndim == 0 else cells
