"""Track helices in the Belle II perigee convention, vectorized over all tracks.

Conventions (docs/detector.md §10): parameters (d0, phi0, omega, z0, tan_lambda);
perigee at (d0 sin phi0, -d0 cos phi0, z0); sign(omega) is the charge; a positive track turns
clockwise seen from +z. The shape needs no field; only omega <-> pT does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

C_LIGHT = 29.9792458  # cm/ns
BZ_DEFAULT = 1.5  # T
PT_PER_CURVATURE = C_LIGHT * 1e-4  # GeV per (T * 1/cm): pT = 0.0029979 * Bz / |omega|

F8 = NDArray[np.float64]


def _sinc(x: F8) -> F8:
    """sin(x)/x, smooth through 0."""
    return np.sinc(x / np.pi)


def _asinc(x: F8) -> F8:
    """asin(x)/x, smooth through 0 (NaN beyond |x| > 1)."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-6
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.arcsin(x) / np.where(small, 1.0, x)
    return np.where(small, 1.0 + x * x / 6.0, out)


def transverse_momentum(omega: ArrayLike, bz: ArrayLike = BZ_DEFAULT) -> F8:
    with np.errstate(divide="ignore"):
        return (
            PT_PER_CURVATURE * np.asarray(bz, dtype=np.float64) / np.abs(np.asarray(omega, dtype=np.float64))
        )


def momentum(phi0: ArrayLike, omega: ArrayLike, tan_lambda: ArrayLike, bz: ArrayLike = BZ_DEFAULT) -> F8:
    """Momentum at the perigee, shape (..., 3) [GeV]."""
    pt = transverse_momentum(omega, bz)
    phi0 = np.asarray(phi0, dtype=np.float64)
    return np.stack([pt * np.cos(phi0), pt * np.sin(phi0), pt * np.asarray(tan_lambda)], axis=-1)


def perigee(d0: ArrayLike, phi0: ArrayLike, z0: ArrayLike) -> F8:
    """Point of closest approach to the z axis, shape (..., 3) [cm]."""
    d0 = np.asarray(d0, dtype=np.float64)
    phi0 = np.asarray(phi0, dtype=np.float64)
    return np.stack([d0 * np.sin(phi0), -d0 * np.cos(phi0), np.broadcast_to(z0, d0.shape)], axis=-1)


def positions(
    d0: ArrayLike, phi0: ArrayLike, omega: ArrayLike, z0: ArrayLike, tan_lambda: ArrayLike, s: ArrayLike
) -> F8:
    """Points at transverse arc lengths ``s`` (broadcast against the parameters), shape (..., 3) [cm]."""
    d0, phi0, omega, z0, tan_lambda, s = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (d0, phi0, omega, z0, tan_lambda, s))
    )
    chi = -omega * s
    xp = s * _sinc(chi)
    yp = s * _sinc(chi / 2) * np.sin(chi / 2) - d0
    c, sn = np.cos(phi0), np.sin(phi0)
    return np.stack([xp * c - yp * sn, xp * sn + yp * c, z0 + s * tan_lambda], axis=-1)


def direction(phi0: ArrayLike, omega: ArrayLike, tan_lambda: ArrayLike, s: ArrayLike) -> F8:
    """Unit direction of flight at arc length ``s``, shape (..., 3)."""
    phi = np.asarray(phi0) - np.asarray(omega) * np.asarray(s)
    tl = np.broadcast_to(tan_lambda, phi.shape)
    d = np.stack([np.cos(phi), np.sin(phi), tl], axis=-1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def max_radius(d0: ArrayLike, omega: ArrayLike) -> F8:
    """Largest transverse distance from the z axis the helix reaches [cm] (inf for a straight line)."""
    d0 = np.asarray(d0, dtype=np.float64)
    omega = np.asarray(omega, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(d0 + 1.0 / omega) + 1.0 / np.abs(omega)


def arc_length_to_radius(d0: ArrayLike, omega: ArrayLike, radius: ArrayLike) -> F8:
    """Smallest positive transverse arc length at which the helix reaches ``radius``; NaN if never."""
    d0 = np.asarray(d0, dtype=np.float64)
    omega = np.asarray(omega, dtype=np.float64)
    r = np.asarray(radius, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        secant = np.sqrt((r + d0) * (r - d0) / (1.0 + omega * d0))
        return secant * _asinc(omega * secant / 2.0)


def arc_length_to_z(z0: ArrayLike, tan_lambda: ArrayLike, z: ArrayLike) -> F8:
    """Transverse arc length at which the helix crosses the plane at ``z`` (may be negative or inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.asarray(z, dtype=np.float64) - np.asarray(z0)) / np.asarray(tan_lambda, dtype=np.float64)


def from_cartesian(
    position: ArrayLike, momentum_: ArrayLike, charge: ArrayLike, bz: ArrayLike = BZ_DEFAULT
) -> tuple[F8, F8, F8, F8, F8]:
    """Perigee parameters (d0, phi0, omega, z0, tan_lambda) of a particle at ``position`` with ``momentum_``.

    Arrays of shape (..., 3); the particle need not be at its perigee.
    """
    pos = np.asarray(position, dtype=np.float64)
    mom = np.asarray(momentum_, dtype=np.float64)
    x, y, z = pos[..., 0], pos[..., 1], pos[..., 2]
    px, py, pz = mom[..., 0], mom[..., 1], mom[..., 2]
    pt = np.hypot(px, py)
    omega = np.asarray(charge, dtype=np.float64) * PT_PER_CURVATURE * np.asarray(bz) / pt
    tan_lambda = pz / pt
    phi = np.arctan2(py, px)
    rho = 1.0 / omega
    cx, cy = x + rho * np.sin(phi), y - rho * np.cos(phi)  # centre of the circle
    dist = np.hypot(cx, cy)
    sgn = np.sign(rho)
    d0 = sgn * dist - rho
    phi0 = np.arctan2(sgn * cx, -sgn * cy)
    # arc length from the perigee to the point: phi = phi0 - omega * s
    dphi = np.angle(np.exp(1j * (phi0 - phi)))
    s = dphi / omega
    z0 = z - s * tan_lambda
    return d0, phi0, omega, z0, tan_lambda


def draw_arc_lengths(
    d0: ArrayLike,
    omega: ArrayLike,
    z0: ArrayLike,
    tan_lambda: ArrayLike,
    r_max: float,
    z_min: float,
    z_max: float,
) -> F8:
    """Arc length at which to stop drawing each track: leaving the cylinder (r_max, z_min..z_max).

    Curlers that never reach ``r_max`` are drawn for one full turn.
    """
    omega = np.asarray(omega, dtype=np.float64)
    s_r = arc_length_to_radius(d0, omega, r_max)
    with np.errstate(divide="ignore"):
        full_turn = 2.0 * np.pi / np.abs(omega)
    s_r = np.where(np.isnan(s_r), full_turn, s_r)
    tl = np.asarray(tan_lambda, dtype=np.float64)
    z_end = np.where(tl >= 0, z_max, z_min)
    s_z = np.abs(arc_length_to_z(z0, tl, z_end))
    return np.fmin(s_r, s_z)


def polylines(
    d0: ArrayLike,
    phi0: ArrayLike,
    omega: ArrayLike,
    z0: ArrayLike,
    tan_lambda: ArrayLike,
    s_end: ArrayLike,
    n_points: int = 64,
) -> F8:
    """Points from the perigee to ``s_end`` for every track, shape (N, n_points, 3)."""
    frac = np.linspace(0.0, 1.0, n_points)
    s = np.asarray(s_end, dtype=np.float64)[:, None] * frac[None, :]

    def column(a: ArrayLike) -> F8:
        return np.asarray(a, dtype=np.float64)[:, None]

    return positions(column(d0), column(phi0), column(omega), column(z0), column(tan_lambda), s)
