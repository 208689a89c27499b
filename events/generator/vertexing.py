"""Closest approach of two helices, vectorized over pairs: the vertex of a two-track decay.

The 2-D circle intersection (or the point between the circles when they miss) gives the start; a few
Gauss-Newton steps on |P1(s1) − P2(s2)|² refine it in 3-D. The vertex is the midpoint of the two closest
points (shared/reference/mdst-and-helix.md §6); the distance between them is the DCA.
"""

from __future__ import annotations

import numpy as np

from events import helix
from events.generator.particles import F8

Helix = tuple[F8, F8, F8, F8, F8]  # d0, phi0, omega, z0, tan_lambda


def _centre(d0: F8, phi0: F8, omega: F8) -> F8:
    k = d0 + 1.0 / omega
    return np.stack([k * np.sin(phi0), -k * np.cos(phi0)], axis=-1)


def _arc_to(h: Helix, point: F8) -> F8:
    """Transverse arc length (nearest to the perigee) at which the circle of ``h`` passes ``point``."""
    d0, phi0, omega, _, _ = h
    c = _centre(d0, phi0, omega)
    rel = (point - c) * omega[:, None]
    phi = np.arctan2(-rel[:, 0], rel[:, 1])
    dphi = np.angle(np.exp(1j * (phi0 - phi)))
    return dphi / omega


def _tangent(h: Helix, s: F8) -> F8:
    _, phi0, omega, _, tl = h
    phi = phi0 - omega * s
    return np.stack([np.cos(phi), np.sin(phi), tl], axis=-1)


def closest_approach(h1: Helix, h2: Helix, iterations: int = 8) -> tuple[F8, F8]:
    """(vertex (N, 3), dca (N,)) of helix pairs given as (d0, phi0, omega, z0, tan_lambda) arrays."""
    h1 = tuple(np.asarray(a, dtype=np.float64) for a in h1)  # type: ignore[assignment]
    h2 = tuple(np.asarray(a, dtype=np.float64) for a in h2)  # type: ignore[assignment]
    c1, c2 = _centre(*h1[:3]), _centre(*h2[:3])
    r1, r2 = 1.0 / np.abs(h1[2]), 1.0 / np.abs(h2[2])
    dvec = c2 - c1
    d = np.maximum(np.linalg.norm(dvec, axis=1), 1e-12)
    u = dvec / d[:, None]
    a = (d * d + r1 * r1 - r2 * r2) / (2 * d)
    h = np.sqrt(np.clip(r1 * r1 - a * a, 0.0, None))
    base = c1 + a[:, None] * u
    perp = np.stack([-u[:, 1], u[:, 0]], axis=1)
    candidates = []
    for sign in (1.0, -1.0):
        p = base + sign * h[:, None] * perp
        s1, s2 = _arc_to(h1, p), _arc_to(h2, p)
        z1 = h1[3] + s1 * h1[4]
        z2 = h2[3] + s2 * h2[4]
        candidates.append((s1, s2, np.abs(z1 - z2)))
    first = candidates[0][2] <= candidates[1][2]
    s1 = np.where(first, candidates[0][0], candidates[1][0])
    s2 = np.where(first, candidates[0][1], candidates[1][1])
    for _ in range(iterations):
        p1 = helix.positions(*h1, s1)
        p2 = helix.positions(*h2, s2)
        t1, t2 = _tangent(h1, s1), _tangent(h2, s2)
        diff = p1 - p2
        a11 = np.sum(t1 * t1, axis=1)
        a22 = np.sum(t2 * t2, axis=1)
        a12 = -np.sum(t1 * t2, axis=1)
        g1 = np.sum(diff * t1, axis=1)
        g2 = -np.sum(diff * t2, axis=1)
        det = a11 * a22 - a12 * a12
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        ds1 = -(a22 * g1 - a12 * g2) / det
        ds2 = -(a11 * g2 - a12 * g1) / det
        step = np.clip(np.maximum(np.abs(ds1), np.abs(ds2)), 1.0, None)
        scale = np.minimum(1.0, 5.0 / step)  # keep steps within a few cm
        s1 = s1 + ds1 * scale
        s2 = s2 + ds2 * scale
    p1 = helix.positions(*h1, s1)
    p2 = helix.positions(*h2, s2)
    return 0.5 * (p1 + p2), np.linalg.norm(p1 - p2, axis=1)
