"""Closest approach of two helices, vectorized over pairs of tracks (V0 vertices).

For every pair the 2D circles give seeds (their intersections, or the closest points on the line
of centres when they do not meet); from each seed a few Newton steps on the squared 3D distance
|P1(s1) - P2(s2)|^2 converge, and the better of the two seeds wins. The vertex is the midpoint
of the two closest points; the DCA is their distance (docs/detector.md §10).
Helices are (N, 5) arrays of (d0, phi0, omega, z0, tan_lambda) in the Belle II convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from events import helix

F8 = NDArray[np.float64]
NEWTON_STEPS = 12


@dataclass(frozen=True)
class ClosestApproach:
    point1: F8  # (N, 3) closest point on the first helix [cm]
    point2: F8  # (N, 3) closest point on the second helix
    vertex: F8  # (N, 3) midpoint
    dca: F8  # (N,) distance of closest approach [cm]
    s1: F8  # (N,) transverse arc lengths of the closest points
    s2: F8


def _points(h: F8, s: F8) -> F8:
    return helix.positions(h[:, 0], h[:, 1], h[:, 2], h[:, 3], h[:, 4], s)


def circle_centres(d0: F8, phi0: F8, omega: F8) -> tuple[F8, F8]:
    """Centres of the helices' xy circles: the point is centre + (1/omega)(-sin phi, cos phi)."""
    k = d0 + 1.0 / omega
    return k * np.sin(phi0), -k * np.cos(phi0)


def arc_length_at(h: F8, x: F8, y: F8) -> F8:
    """Arc length of the point of the helix's circle at azimuthal position (x, y), nearest the perigee."""
    d0, phi0, omega = h[:, 0], h[:, 1], h[:, 2]
    xc, yc = circle_centres(d0, phi0, omega)
    phi = np.arctan2(-omega * (x - xc), omega * (y - yc))
    dphi = np.angle(np.exp(1j * (phi0 - phi)))
    return dphi / omega


def _seeds(h1: F8, h2: F8) -> tuple[tuple[F8, F8], tuple[F8, F8]]:
    """Two (x, y) seed points on circle 1 and matching ones on circle 2, per pair."""
    x1, y1 = circle_centres(h1[:, 0], h1[:, 1], h1[:, 2])
    x2, y2 = circle_centres(h2[:, 0], h2[:, 1], h2[:, 2])
    r1, r2 = 1.0 / np.abs(h1[:, 2]), 1.0 / np.abs(h2[:, 2])
    dx, dy = x2 - x1, y2 - y1
    d = np.hypot(dx, dy)
    same = d < 1e-9 * (r1 + r2)  # one circle (parallel helices): seed at the first perigee
    phi0, sgn = h1[:, 1], np.sign(h1[:, 2])
    ux = np.where(same, -sgn * np.sin(phi0), dx / np.where(same, 1.0, d))
    uy = np.where(same, sgn * np.cos(phi0), dy / np.where(same, 1.0, d))
    a = (d * d + r1 * r1 - r2 * r2) / (2 * np.where(same, 1.0, d))
    h = np.sqrt(np.clip(r1 * r1 - a * a, 0.0, None))
    # not meeting: separate circles -> a = r1 side facing circle 2; nested -> the near sides
    meet = (d <= r1 + r2) & (d >= np.abs(r1 - r2)) & ~same
    a = np.where(meet, a, np.where(same | (d > r1 + r2), r1, np.where(r1 > r2, r1, -r1)))
    h = np.where(meet, h, 0.0)
    return (x1 + a * ux - h * uy, y1 + a * uy + h * ux), (x1 + a * ux + h * uy, y1 + a * uy - h * ux)


def _newton(h1: F8, h2: F8, s1: F8, s2: F8) -> tuple[F8, F8]:
    om1, om2 = h1[:, 2], h2[:, 2]
    tl1, tl2 = h1[:, 4], h2[:, 4]
    max_step1, max_step2 = 0.5 / np.abs(om1), 0.5 / np.abs(om2)  # less than a radian of turning
    for _ in range(NEWTON_STEPS):
        p1 = _points(h1, s1)
        p2 = _points(h2, s2)
        phi1, phi2 = h1[:, 1] - om1 * s1, h2[:, 1] - om2 * s2
        t1 = np.stack([np.cos(phi1), np.sin(phi1), tl1], axis=-1)
        t2 = np.stack([np.cos(phi2), np.sin(phi2), tl2], axis=-1)
        a1 = om1[:, None] * np.stack([np.sin(phi1), -np.cos(phi1), np.zeros_like(phi1)], axis=-1)
        a2 = om2[:, None] * np.stack([np.sin(phi2), -np.cos(phi2), np.zeros_like(phi2)], axis=-1)
        d = p1 - p2
        g1, g2 = np.sum(d * t1, -1), -np.sum(d * t2, -1)
        h11 = np.sum(t1 * t1, -1) + np.sum(d * a1, -1)
        h22 = np.sum(t2 * t2, -1) - np.sum(d * a2, -1)
        h12 = -np.sum(t1 * t2, -1)
        det = h11 * h22 - h12 * h12
        # where the Hessian is not positive definite, take the Gauss-Newton (always PSD) one
        bad = (det <= 1e-12) | (h11 <= 0)
        h11 = np.where(bad, np.sum(t1 * t1, -1) + 1e-9, h11)
        h22 = np.where(bad, np.sum(t2 * t2, -1) + 1e-9, h22)
        det = h11 * h22 - h12 * h12
        with np.errstate(divide="ignore", invalid="ignore"):
            ds1 = -(h22 * g1 - h12 * g2) / det
            ds2 = -(h11 * g2 - h12 * g1) / det
        ds1 = np.nan_to_num(np.clip(ds1, -max_step1, max_step1))
        ds2 = np.nan_to_num(np.clip(ds2, -max_step2, max_step2))
        s1, s2 = s1 + ds1, s2 + ds2
    return s1, s2


def closest_approach(helices1: ArrayLike, helices2: ArrayLike) -> ClosestApproach:
    """Closest approach of helix pairs (row i of ``helices1`` with row i of ``helices2``)."""
    h1 = np.atleast_2d(np.asarray(helices1, dtype=np.float64))
    h2 = np.atleast_2d(np.asarray(helices2, dtype=np.float64))
    if h1.shape != h2.shape or h1.shape[-1] != 5:
        raise ValueError(f"helix arrays must both be (N, 5), got {h1.shape} and {h2.shape}")
    # every seed (the two crossings of the circles in x-y) refined in one stacked pass
    seeds = list(_seeds(h1, h2))
    n = len(h1)
    x = np.concatenate([sx for sx, _ in seeds])
    y = np.concatenate([sy for _, sy in seeds])
    t1, t2 = np.tile(h1, (len(seeds), 1)), np.tile(h2, (len(seeds), 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        s1_all, s2_all = _newton(t1, t2, arc_length_at(t1, x, y), arc_length_at(t2, x, y))
        dist = np.linalg.norm(_points(t1, s1_all) - _points(t2, s2_all), axis=-1).reshape(len(seeds), n)
    pick = np.argmin(np.where(np.isnan(dist), np.inf, dist), axis=0)  # first seed on ties
    rows = pick * n + np.arange(n)
    s1, s2, dca = s1_all[rows], s2_all[rows], dist[pick, np.arange(n)]
    p1 = _points(h1, s1)
    p2 = _points(h2, s2)
    return ClosestApproach(p1, p2, 0.5 * (p1 + p2), dca, s1, s2)
