"""Closest approach of helix pairs and extrapolation to cylinders and planes."""

from __future__ import annotations

import numpy as np

from events import extrapolation, helix, vertexing


def _pairs_from_common_vertices(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Opposite-charge helix pairs that start at the same displaced vertex (a V0 decay)."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.5, 30.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    vertex = np.stack([r * np.cos(phi), r * np.sin(phi), rng.uniform(-20, 20, n)], axis=-1)
    p1 = rng.normal(0, 0.5, (n, 3)) + 0.3 * vertex / np.linalg.norm(vertex, axis=-1, keepdims=True)
    p2 = rng.normal(0, 0.5, (n, 3)) + 0.3 * vertex / np.linalg.norm(vertex, axis=-1, keepdims=True)
    h1 = np.stack(helix.from_cartesian(vertex, p1, np.ones(n)), axis=-1)
    h2 = np.stack(helix.from_cartesian(vertex, p2, -np.ones(n)), axis=-1)
    return h1, h2, vertex


def test_closest_approach_recovers_common_vertices() -> None:
    h1, h2, vertex = _pairs_from_common_vertices(500)
    ca = vertexing.closest_approach(h1, h2)
    assert np.median(ca.dca) < 1e-6
    assert np.mean(np.linalg.norm(ca.vertex - vertex, axis=-1) < 1e-4) > 0.97
    # where it is not the generated vertex, it found another crossing at least as close
    assert (ca.dca < 1e-4).mean() > 0.99


def test_dca_of_shifted_helices_is_the_shift() -> None:
    """Two copies of a helix moved apart along z are parallel: the DCA is the shift."""
    h1, _, _ = _pairs_from_common_vertices(50, seed=2)
    h2 = h1.copy()
    h1_flat = h1.copy()
    h1_flat[:, 4] = 0.0  # tan_lambda = 0: helices in planes
    h2 = h1_flat.copy()
    h2[:, 3] += 0.7
    ca = vertexing.closest_approach(h1_flat, h2)
    np.testing.assert_allclose(ca.dca, 0.7, atol=1e-9)
    np.testing.assert_allclose(ca.point2[:, 2] - ca.point1[:, 2], 0.7, atol=1e-9)


def test_extrapolation_to_radius_and_plane() -> None:
    rng = np.random.default_rng(5)
    n = 200
    tracks = {
        "d0": rng.normal(0, 0.05, n),
        "phi0": rng.uniform(-np.pi, np.pi, n),
        "omega": rng.choice([-1, 1], n) * rng.uniform(5e-4, 1.5e-2, n),
        "z0": rng.normal(0, 1, n),
        "tan_lambda": rng.normal(0, 0.8, n),
    }
    radius = 60.0
    at_r = extrapolation.to_radius(tracks, radius)
    reaches = helix.max_radius(tracks["d0"], tracks["omega"]) > radius
    np.testing.assert_array_equal(at_r.reached, reaches)
    np.testing.assert_allclose(np.hypot(*at_r.position[reaches, :2].T), radius, rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(at_r.direction[reaches], axis=-1), 1.0)
    # the direction is the derivative of the position
    step = 1e-4
    ahead = extrapolation.at_arc_length(tracks, at_r.s + step).position
    tangent = (ahead - at_r.position) / np.linalg.norm(ahead - at_r.position, axis=-1, keepdims=True)
    np.testing.assert_allclose(tangent[reaches], at_r.direction[reaches], atol=1e-4)
    at_z = extrapolation.to_z(tracks, 50.0)
    forward = tracks["tan_lambda"] * (50.0 - tracks["z0"]) > 0
    np.testing.assert_array_equal(at_z.reached, forward)
    np.testing.assert_allclose(at_z.position[forward, 2], 50.0)
    out = extrapolation.to_cylinder(tracks, 100.0, -50.0, 120.0)
    ok = out.reached
    on_barrel = np.isclose(np.hypot(*out.position[ok, :2].T), 100.0)
    on_endcap = np.isclose(out.position[ok, 2], -50.0) | np.isclose(out.position[ok, 2], 120.0)
    assert (on_barrel | on_endcap).all()
