"""Four-vectors, the SuperKEKB beams and recoil quantities, vectorized over whole arrays.

Beams (docs/physics.md §1): HER e- 7.004 GeV at +41.5 mrad to z, LER e+ 4.002 GeV
at pi - 41.5 mrad, both in the x-z plane (83 mrad crossing). Four-vectors are arrays of shape
(..., 4) ordered (E, px, py, pz).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from events import pdg

F8 = NDArray[np.float64]

HER_ENERGY = 7.004  # GeV, e-
LER_ENERGY = 4.002  # GeV, e+
HALF_CROSSING = 0.0415  # rad, each beam to the z axis

# |PDG| -> mass [GeV] (events/pdg.py); hypothesis order of mdst fits and PID: e, mu, pi, K, p, d
HYPOTHESES = (11, 13, 211, 321, 2212, 1000010020)
MASS = pdg.masses(HYPOTHESES)
ELECTRON_MASS = MASS[11]


def beam_four_vectors(
    her: float = HER_ENERGY, ler: float = LER_ENERGY, half_crossing: float = HALF_CROSSING
) -> tuple[F8, F8]:
    """Lab four-vectors of the HER electron and the LER positron."""

    def beam(energy: float, angle: float) -> F8:
        p = np.sqrt(energy**2 - ELECTRON_MASS**2)
        return np.array([energy, p * np.sin(angle), 0.0, p * np.cos(angle)])

    return beam(her, half_crossing), beam(ler, np.pi - half_crossing)


def beam_four_vector(
    her: float = HER_ENERGY, ler: float = LER_ENERGY, half_crossing: float = HALF_CROSSING
) -> F8:
    """Total e+e- four-vector in the lab: about (11.006, 0.4566, 0, 2.9994) GeV."""
    e_minus, e_plus = beam_four_vectors(her, ler, half_crossing)
    return e_minus + e_plus


def mass_squared(p4: ArrayLike) -> F8:
    p4 = np.asarray(p4, dtype=np.float64)
    return p4[..., 0] ** 2 - (p4[..., 1] ** 2 + p4[..., 2] ** 2 + p4[..., 3] ** 2)


def mass(p4: ArrayLike) -> F8:
    """Invariant mass; negative M^2 gives -sqrt(-M^2) so resolution tails stay visible."""
    m2 = mass_squared(p4)
    return np.sign(m2) * np.sqrt(np.abs(m2))


def four_vector(p3: ArrayLike, m: ArrayLike) -> F8:
    """(E, px, py, pz) from momenta (..., 3) and masses."""
    p3 = np.asarray(p3, dtype=np.float64)
    energy = np.sqrt(np.sum(p3 * p3, axis=-1) + np.asarray(m, dtype=np.float64) ** 2)
    return np.concatenate([energy[..., None], p3], axis=-1)


def sqrt_s(beam: ArrayLike | None = None) -> float:
    return float(np.sqrt(mass_squared(beam_four_vector() if beam is None else beam)))


def boost_vector(p4: ArrayLike) -> F8:
    """Velocity beta = p / E of the frame in which ``p4`` is at rest."""
    p4 = np.asarray(p4, dtype=np.float64)
    return p4[..., 1:] / p4[..., :1]


def boost(p4: ArrayLike, beta: ArrayLike) -> F8:
    """Lorentz-transform ``p4`` into the frame moving with velocity ``beta`` (passive boost)."""
    p4 = np.asarray(p4, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    b2 = np.sum(beta * beta, axis=-1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g2 = np.where(b2 > 0, (gamma - 1.0) / b2, 0.0)
    energy = gamma * (p4[..., 0] - bp)
    p3 = p4[..., 1:] + (g2 * bp - gamma * p4[..., 0])[..., None] * beta
    return np.concatenate([energy[..., None], p3], axis=-1)


def to_cms(p4: ArrayLike, beam: ArrayLike | None = None) -> F8:
    """Four-vectors in the e+e- centre-of-mass frame."""
    return boost(p4, boost_vector(beam_four_vector() if beam is None else beam))


def cms_energy(p4: ArrayLike, beam: ArrayLike | None = None) -> F8:
    """E* = (P . p) / sqrt(s): energy in the CM frame without boosting anything."""
    beam = beam_four_vector() if beam is None else np.asarray(beam, dtype=np.float64)
    p4 = np.asarray(p4, dtype=np.float64)
    dot = beam[0] * p4[..., 0] - np.sum(beam[1:] * p4[..., 1:], axis=-1)
    return dot / np.sqrt(mass_squared(beam))


def recoil(p4: ArrayLike, beam: ArrayLike | None = None) -> F8:
    """Four-vector recoiling against ``p4`` (the sum of the selected particles)."""
    beam = beam_four_vector() if beam is None else np.asarray(beam, dtype=np.float64)
    return beam - np.asarray(p4, dtype=np.float64)


def recoil_mass_squared(p4: ArrayLike, beam: ArrayLike | None = None) -> F8:
    return mass_squared(recoil(p4, beam))


def single_photon_energy(m_dark: ArrayLike, s: float | None = None) -> F8:
    """E*_gamma of e+e- -> gamma X for a particle X of mass ``m_dark``: (s - M^2) / (2 sqrt(s))."""
    s = sqrt_s() ** 2 if s is None else s
    return (s - np.asarray(m_dark, dtype=np.float64) ** 2) / (2.0 * np.sqrt(s))
