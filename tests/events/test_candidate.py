"""The candidate tool against hand-computed kinematics of a known mu mu + recoil event."""

from __future__ import annotations

import numpy as np
import pytest

from events import candidate, helix, kinematics
from events.candidate import CandidateError, Pick
from events.model import Collection, EventBatch

M_MU = kinematics.MASS[13]


def _event_from_lab_momenta(p_lab: np.ndarray, charges: list[int], photons: list[tuple[float, float, float]]):
    """A one-event batch whose tracks have the given lab momenta at the IP (Bz = 1.5 T)."""
    n = len(p_lab)
    d0, phi0, omega, z0, tl = helix.from_cartesian(np.zeros((n, 3)), p_lab, charges, 1.5)
    tracks = Collection.from_columns(
        "tracks",
        [n],
        {
            "d0": d0,
            "phi0": phi0,
            "omega": omega,
            "z0": z0,
            "tan_lambda": tl,
            "charge": charges,
            "pdg": [13] * n,
        },
    )
    ecl = Collection.from_columns(
        "ecl",
        [len(photons)],
        {
            "energy": [p[0] for p in photons],
            "theta": [p[1] for p in photons],
            "phi": [p[2] for p in photons],
            "r": [130.0] * len(photons),
        },
    )
    return EventBatch.build(1, {"bz": [1.5]}, tracks=tracks, ecl=ecl)


def _lab(p_cm: np.ndarray) -> np.ndarray:
    beta = kinematics.boost_vector(kinematics.beam_four_vector())
    return kinematics.boost(p_cm, -beta)


def test_dimuon_recoil_matches_hand_computation() -> None:
    # In the CM frame: mu+ along +x with p* = 3 GeV, mu- along -y with p* = 2 GeV.
    e1, e2 = np.sqrt(9 + M_MU**2), np.sqrt(4 + M_MU**2)
    mu_cm = np.array([[e1, 3.0, 0.0, 0.0], [e2, 0.0, -2.0, 0.0]])
    mu_lab = _lab(mu_cm)
    event = _event_from_lab_momenta(mu_lab[:, 1:], [1, -1], [])
    c = candidate.evaluate(event, [Pick("track", 0, 13), Pick("track", 1, 13)])

    sqrt_s = kinematics.sqrt_s()
    e_star = e1 + e2  # the pair energy in the CM frame
    m2_pair = e_star**2 - (3.0**2 + 2.0**2)  # p*_pair = (3, -2, 0)
    m2_rec = sqrt_s**2 + m2_pair - 2 * sqrt_s * e_star  # physics.md §2
    assert c.e_star == pytest.approx(e_star, abs=1e-9)
    assert c.mass == pytest.approx(np.sqrt(m2_pair), abs=1e-9)
    assert c.recoil_mass_squared == pytest.approx(m2_rec, abs=1e-8)
    assert c.recoil_mass == pytest.approx(np.sqrt(m2_rec), abs=1e-9)
    assert c.recoil_e_star == pytest.approx(sqrt_s - e_star, abs=1e-9)
    # In the CM frame the recoil momentum is -(3, -2, 0): perpendicular to the beam axis.
    assert c.recoil_theta_cms == pytest.approx(np.pi / 2, abs=1e-9)
    np.testing.assert_allclose(c.recoil_p4_cms[1:], [-3.0, 2.0, 0.0], atol=1e-9)
    # In the lab the recoil is boosted forward (toward +z): theta below 90 degrees.
    assert c.recoil_theta < np.pi / 2
    beam = kinematics.beam_four_vector()
    np.testing.assert_allclose(c.recoil_p4, beam - mu_lab.sum(axis=0), atol=1e-9)


def test_back_to_back_muons_at_beam_energy_recoil_nothing() -> None:
    """e+e- -> mu+mu- with E* = sqrt(s)/2 each leaves M^2_recoil = 0 and E*_recoil = 0."""
    half = kinematics.sqrt_s() / 2
    p = np.sqrt(half**2 - M_MU**2)
    th = 0.7
    dirn = np.array([np.sin(th), 0.0, np.cos(th)])
    mu_cm = np.array([[half, *(p * dirn)], [half, *(-p * dirn)]])
    event = _event_from_lab_momenta(_lab(mu_cm)[:, 1:], [1, -1], [])
    c = candidate.evaluate(event, [Pick("track", 0, 13), Pick("track", 1, 13)])
    assert c.recoil_mass_squared == pytest.approx(0.0, abs=1e-7)
    assert c.recoil_e_star == pytest.approx(0.0, abs=1e-9)
    assert c.mass == pytest.approx(kinematics.sqrt_s(), abs=1e-9)


def test_single_photon_recoil_mass() -> None:
    """A photon with E* = (s - M^2) / (2 sqrt(s)) recoils against mass M (physics.md §2)."""
    m_dark = 4.0
    e_star = float(kinematics.single_photon_energy(m_dark))
    th = 1.1
    g_cm = e_star * np.array([1.0, np.sin(th), 0.0, np.cos(th)])
    g_lab = _lab(g_cm)
    theta = np.arctan2(np.hypot(g_lab[1], g_lab[2]), g_lab[3])
    phi = np.arctan2(g_lab[2], g_lab[1])
    event = _event_from_lab_momenta(np.zeros((0, 3)), [], [(g_lab[0], theta, phi)])
    c = candidate.evaluate(event, [Pick("ecl", 0)])
    # the ECL columns are float32: 1e-7 relative on the energy
    assert c.recoil_mass == pytest.approx(m_dark, abs=2e-6)
    assert c.e_star == pytest.approx(e_star, abs=2e-6)
    assert c.mass == pytest.approx(0.0, abs=1e-6)


def test_mass_hypothesis_changes_energy_not_momentum() -> None:
    event = _event_from_lab_momenta(np.array([[0.3, 0.1, 0.2]]), [1], [])
    pion = candidate.object_four_vectors(event, [Pick("track", 0)])[0]
    proton = candidate.object_four_vectors(event, [Pick("track", 0, 2212)])[0]
    np.testing.assert_allclose(pion[1:], proton[1:])
    assert proton[0] == pytest.approx(np.sqrt(0.14 + kinematics.MASS[2212] ** 2), rel=1e-9)


def test_bad_picks_are_explained() -> None:
    event = _event_from_lab_momenta(np.array([[0.3, 0.1, 0.2]]), [1], [])
    with pytest.raises(CandidateError, match="track 3 does not exist"):
        candidate.evaluate(event, [Pick("track", 3)])
    with pytest.raises(CandidateError, match="hypothesis"):
        candidate.evaluate(event, [Pick("track", 0, 999)])
