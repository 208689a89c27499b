"""The one PDG table against the scikit-hep ``particle`` package it was generated from."""

from __future__ import annotations

import numpy as np
import pytest
from particle import Particle

from events import kinematics, pdg
from events.generator import particles


def _particle_value(code: int) -> tuple[int, float, float]:
    """(charge, mass [GeV], mass uncertainty [GeV]) as ``particle`` gives them."""
    p = Particle.from_pdgid(code)
    mass_mev = pdg.NUCLEAR_MASS_OVERRIDES.get(code, p.mass or 0.0)
    sigma = max(p.mass_upper or 0.0, p.mass_lower or 0.0) if code not in pdg.NUCLEAR_MASS_OVERRIDES else 0.0
    return int(p.charge or 0), mass_mev / 1000.0, sigma / 1000.0


def test_every_row_agrees_with_particle() -> None:
    """Charges exactly; masses within the PDG uncertainty or the rounding of the row (1e-6)."""
    wrong = []
    for code in pdg.CODES.tolist():
        q, m, sigma = _particle_value(code)
        ours = float(pdg.mass([code])[0])
        if int(pdg.charge([code])[0]) != q or abs(ours - m) > max(sigma, 1e-6 * m):
            wrong.append(f"({code}, {q}, {m * 1000.0!r}),  # {Particle.from_pdgid(code).name}, ours {ours}")
    assert not wrong, "rows that disagree with particle:\n" + "\n".join(wrong)


def test_flight_lengths_agree_with_particle() -> None:
    """c tau within 1 % of particle's (B0 is PDG 2018's 455.7 um, particle's 453.1 um)."""
    for code, ctau_cm in pdg.CTAU_CM.items():
        theirs = (Particle.from_pdgid(code).ctau or 0.0) / 10.0  # mm -> cm
        assert ctau_cm == pytest.approx(theirs, rel=0.01), Particle.from_pdgid(code).name
    assert particles.CTAU is pdg.CTAU_CM


def test_species_the_app_uses_are_rows() -> None:
    used = set(kinematics.HYPOTHESES) | set(particles.MASS) | {130, 2112, 3112, 3122, 3222, 3312, 3334}
    assert used <= set(pdg.CODES.tolist())


def test_whole_array_lookup_signs_antiparticles_and_zeroes_unknown_codes() -> None:
    codes = np.array([[11, -11, 211], [-211, 22, 4900022], [-2212, 0, 1000010020]])
    q = pdg.charge(codes)
    assert q.dtype == np.int8
    assert q.shape == codes.shape
    want_q = [[Particle.from_pdgid(int(c)).charge if pdg.known([c])[0] else 0 for c in row] for row in codes]
    np.testing.assert_array_equal(q, want_q)
    m = pdg.mass(codes)
    assert m[0, 0] == m[0, 1] == pytest.approx((Particle.from_pdgid(11).mass or 0.0) / 1000.0)
    assert m[1, 2] == 0.0
    assert m[2, 1] == 0.0
    # beyond the largest code and below the smallest one
    assert pdg.mass([10**9 + 7, 1]).tolist() == [0.0, 0.0]


def test_the_deuteron_is_the_nucleus_not_the_atom() -> None:
    atom = Particle.from_pdgid(1000010020).mass
    nucleus = float(pdg.mass([1000010020])[0]) * 1000.0
    electron = Particle.from_pdgid(11).mass
    assert atom is not None
    assert electron is not None
    assert atom - nucleus == pytest.approx(electron, abs=0.01)
