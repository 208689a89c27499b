"""The shared helix and kinematics kernels against the formulas of the reference documents."""

from __future__ import annotations

import numpy as np
import pytest

from events import helix, kinematics


def test_beam_four_vector_matches_reference() -> None:
    beam = kinematics.beam_four_vector()
    np.testing.assert_allclose(beam, [11.006, 0.4566, 0.0, 2.9994], atol=2e-4)
    assert kinematics.sqrt_s() == pytest.approx(10.5796, abs=2e-3)


def test_boost_to_cms_brings_the_beam_to_rest() -> None:
    cms = kinematics.to_cms(kinematics.beam_four_vector())
    np.testing.assert_allclose(cms[1:], 0.0, atol=1e-12)
    assert cms[0] == pytest.approx(kinematics.sqrt_s())


def test_recoil_identity_against_cms_energy() -> None:
    """M^2_rec = s + m^2 - 2 sqrt(s) E* (physics.md §2), for random dimuon systems."""
    rng = np.random.default_rng(1)
    p3 = rng.normal(0, 2.0, size=(1000, 3))
    p4 = kinematics.four_vector(p3, 3.0)
    s = kinematics.sqrt_s() ** 2
    lhs = kinematics.recoil_mass_squared(p4)
    rhs = s + 9.0 - 2 * np.sqrt(s) * kinematics.cms_energy(p4)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


def test_single_photon_energy_examples() -> None:
    np.testing.assert_allclose(
        kinematics.single_photon_energy([1.0, 4.0, 8.0, 10.0]), [5.243, 4.534, 2.265, 0.564], atol=2e-3
    )


def test_from_cartesian_round_trip() -> None:
    """A point and momentum on a helix give back that helix's perigee parameters."""
    rng = np.random.default_rng(7)
    n = 500
    d0 = rng.uniform(-2, 2, n)
    phi0 = rng.uniform(-np.pi, np.pi, n)
    omega = rng.choice([-1, 1], n) / rng.uniform(50, 2000, n)
    z0 = rng.uniform(-5, 5, n)
    tl = rng.uniform(-1.5, 1.5, n)
    s = rng.uniform(0, 40, n)
    pos = helix.positions(d0, phi0, omega, z0, tl, s)
    pt = helix.transverse_momentum(omega)
    phi = phi0 - omega * s
    mom = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * tl], axis=-1)
    got = helix.from_cartesian(pos, mom, np.sign(omega))
    for a, b in zip(got, (d0, phi0, omega, z0, tl), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-7, rtol=1e-7)


def test_positive_track_turns_clockwise() -> None:
    p = helix.positions(0.0, 0.0, 1 / 100.0, 0.0, 0.0, 10.0)
    assert p[1] < 0  # starts along +x, bends toward -y


def test_arc_length_to_radius_lands_on_radius_and_curlers_never_do() -> None:
    d0, phi0, omega, z0, tl = 0.3, 0.7, -1 / 300.0, 1.0, 0.4
    s = helix.arc_length_to_radius(d0, omega, 120.0)
    p = helix.positions(d0, phi0, omega, z0, tl, s)
    assert np.hypot(p[0], p[1]) == pytest.approx(120.0, abs=1e-9)
    curler = 1 / 40.0  # R = 40 cm never reaches 120 cm
    assert np.isnan(helix.arc_length_to_radius(0.0, curler, 120.0))
    assert helix.max_radius(0.0, curler) == pytest.approx(80.0)


def test_momentum_from_curvature() -> None:
    p = helix.momentum(0.0, 1 / 222.4, 0.0, 1.5)
    assert p[0] == pytest.approx(1.0, rel=1e-3)
