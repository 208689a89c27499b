"""SuperKEKB beams for the generator: √s with its spread, ISR, the luminous region, CM → lab.

Figures from docs/physics.md §1 and §5.1: √s = 10.5796 GeV with σ 5.0 MeV, boost
β = (0.04149, 0, 0.27253), luminous region σ = (6.4 µm, 0.04 µm, 154 µm), ISR photon energy fraction
x ~ β_ISR x^(β_ISR − 1) with β_ISR = (2α/π)(ln(s/m_e²) − 1) ≈ 0.088, photons along the beams.

Samplers work in a "beam frame": the CM frame rotated so that +z is the incoming electron. The crossing
angle tilts that axis by ≈ 5.8 mrad from the CM z axis; ``to_lab`` applies the rotation and the boost.
"""

from __future__ import annotations

import numpy as np

from events import kinematics
from events.generator.particles import F8

SQRT_S = kinematics.sqrt_s()  # 10.5796 GeV for the 7.004 / 4.002 GeV preset
SQRT_S_SPREAD = 0.0050  # GeV, 1 sigma
BETA_CM = kinematics.boost_vector(kinematics.beam_four_vector())  # (0.04149, 0, 0.27253)
LUMINOUS_SIGMA_CM = np.array([6.4e-4, 4.0e-6, 1.54e-2])  # cm
ALPHA = 1.0 / 137.035999
BETA_ISR = 2.0 * ALPHA / np.pi * (np.log(SQRT_S**2 / kinematics.ELECTRON_MASS**2) - 1.0)
ISR_MIN_FRACTION = 1e-4  # photons below x = 1e-4 (0.5 MeV) are not recorded


def _beam_axis_in_cm() -> F8:
    her, _ = kinematics.beam_four_vectors()
    p = kinematics.boost(her, BETA_CM)[1:]
    return p / np.linalg.norm(p)


BEAM_AXIS_CM = _beam_axis_in_cm()


def _rotation_to_cm() -> F8:
    """Matrix taking beam-frame vectors (z = electron) to CM-frame vectors; y stays y."""
    z = BEAM_AXIS_CM
    y = np.array([0.0, 1.0, 0.0])
    x = np.cross(y, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


ROTATION_TO_CM = _rotation_to_cm()


def sample_sqrt_s(rng: np.random.Generator, n: int, spread: bool = True) -> F8:
    return SQRT_S + (rng.normal(0.0, SQRT_S_SPREAD, n) if spread else np.zeros(n))


def sample_vertex(rng: np.random.Generator, n: int) -> F8:
    """Primary vertices in the luminous region [cm]."""
    return rng.normal(0.0, 1.0, (n, 3)) * LUMINOUS_SIGMA_CM


def sample_isr_fraction(rng: np.random.Generator, n: int, x_max: F8 | float) -> F8:
    """x ~ β x^(β−1) truncated to (0, x_max): x = x_max · u^(1/β); tiny fractions set to 0."""
    x = np.asarray(x_max) * rng.uniform(0.0, 1.0, n) ** (1.0 / BETA_ISR)
    return np.where(x < ISR_MIN_FRACTION, 0.0, x)


def to_lab(p4_beam_frame: F8) -> F8:
    """Beam-frame (CM) four-vectors to the lab."""
    p4 = np.asarray(p4_beam_frame, dtype=np.float64)
    cm = np.concatenate([p4[..., :1], p4[..., 1:] @ ROTATION_TO_CM.T], axis=-1)
    return kinematics.boost(cm, -BETA_CM)


def z_boost(p4: F8, beta_z: F8) -> F8:
    """Boost four-vectors along z by velocity ``beta_z`` (active: a system at rest gets β_z)."""
    gamma = 1.0 / np.sqrt(1.0 - beta_z**2)
    e = gamma * (p4[:, 0] + beta_z * p4[:, 3])
    pz = gamma * (p4[:, 3] + beta_z * p4[:, 0])
    return np.stack([e, p4[:, 1], p4[:, 2], pz], axis=1)
