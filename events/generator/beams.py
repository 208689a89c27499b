"""SuperKEKB beams for the generator: √s with its spread, ISR, the luminous region, CM → lab.

Figures from docs/physics.md §1 and §5.1: √s = 10.5796 GeV with σ 5.0 MeV, boost
β = (0.04149, 0, 0.27253), luminous region σ = (6.4 µm, 0.04 µm, 154 µm). Initial-state radiation: the
photon energy fraction x follows the Kuraev-Fadin radiator (Sov. J. Nucl. Phys. 41 (1985) 466) to O(β²),

    W(x) = β x^(β−1) (1 + δ) − β (1 − x/2)
           + β²/8 [4 (2 − x) ln(1/x) − (1 + 3(1 − x)²)/x · ln(1 − x) − 6 + x],
    δ = (α/π)(π²/3 − 1/2) + 3β/4 + β² (9/32 − π²/12),   β = (2α/π)(ln(s/m_e²) − 1) ≈ 0.088,

times the Born cross section at the reduced energy over the one at √s, σ₀(s(1 − x))/σ₀(s), which for the
s-channel and fixed-angle processes here is 1/(1 − x) (with the fermion-pair threshold factor
β_f(3 − β_f²)/2 for τ pairs); photons along the beams. It is drawn by inverting its tabulated CDF.

Samplers work in a "beam frame": the CM frame rotated so that +z is the incoming electron. The crossing
angle tilts that axis by ≈ 5.8 mrad from the CM z axis; ``to_lab`` applies the rotation and the boost.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from events import kinematics
from events.generator.particles import F8

SQRT_S = kinematics.sqrt_s()  # 10.5796 GeV for the 7.004 / 4.002 GeV preset
SQRT_S_SPREAD = 0.0050  # GeV, 1 sigma
BETA_CM = kinematics.boost_vector(kinematics.beam_four_vector())  # (0.04149, 0, 0.27253)
LUMINOUS_SIGMA_CM = np.array([6.4e-4, 4.0e-6, 1.54e-2])  # cm
ALPHA = 1.0 / 137.035999
BETA_ISR = 2.0 * ALPHA / np.pi * (np.log(SQRT_S**2 / kinematics.ELECTRON_MASS**2) - 1.0)
# the soft-plus-virtual correction of the Kuraev-Fadin radiator
KF_DELTA = ALPHA / np.pi * (np.pi**2 / 3 - 0.5) + 0.75 * BETA_ISR + BETA_ISR**2 * (9 / 32 - np.pi**2 / 12)
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


def sample_isr_fraction_leading_log(rng: np.random.Generator, n: int, x_max: F8 | float) -> F8:
    """x ~ β x^(β−1) truncated to (0, x_max), x = x_max · u^(1/β), tiny fractions set to 0: the soft
    leading-log spectrum the t-channel processes (Bhabha, γγ) keep (docs/physics.md §5.1)."""
    x = np.asarray(x_max) * rng.uniform(0.0, 1.0, n) ** (1.0 / BETA_ISR)
    return np.where(x < ISR_MIN_FRACTION, 0.0, x)


def kf_radiator(x: F8) -> F8:
    """The Kuraev-Fadin radiator W(x) at the nominal √s (module docstring), per unit x."""
    x = np.asarray(x, dtype=np.float64)
    b = BETA_ISR
    hard = b * b / 8 * (4 * (2 - x) * np.log(1 / x) - (1 + 3 * (1 - x) ** 2) / x * np.log1p(-x) - 6 + x)
    return b * x ** (b - 1) * (1 + KF_DELTA) - b * (1 - x / 2) + hard


def born_ratio(x: F8, threshold_mass: float = 0.0) -> F8:
    """σ₀(s(1 − x)) / σ₀(s) of an s-channel fermion pair of ``threshold_mass`` (1/(1 − x) if massless)."""
    x = np.asarray(x, dtype=np.float64)

    def shape(s_red: F8) -> F8:
        beta = np.sqrt(np.clip(1 - 4 * threshold_mass**2 / s_red, 0, None))
        return beta * (3 - beta**2) / 2 / s_red

    s = SQRT_S**2
    return shape(s * (1 - x)) / shape(np.asarray(s))


@cache
def _isr_table(x_top: float, threshold_mass: float) -> tuple[F8, F8]:
    """(CDF, ln x) of W(x)·σ₀(s(1 − x))/σ₀(s) on (0, x_top], unnormalised; the soft x^β part exact."""
    b = BETA_ISR
    # dense at both ends: the soft x^(β−1) and the Born ratio's 1/(1 − x) near x_top
    top = 1.0 - np.geomspace(0.5, 1.0 - x_top, 1500)
    x = np.unique(np.concatenate([np.geomspace(1e-7, 0.5, 1500), top]))
    soft_norm = b * (1 + KF_DELTA)
    density = kf_radiator(x) * born_ratio(x, threshold_mass)
    rest = density - soft_norm * x ** (b - 1)  # regular: integrable (at most ln x) at small x
    cum_rest = np.concatenate([[rest[0] * x[0]], (rest[1:] + rest[:-1]) / 2 * np.diff(x)]).cumsum()
    cdf = (soft_norm / b) * x**b + cum_rest
    return np.maximum.accumulate(cdf), np.log(x)


def isr_cdf(x: F8, x_top: float, threshold_mass: float = 0.0) -> F8:
    """The unnormalised CDF of the ISR fraction at ``x`` (≤ x_top) from the sampler's table."""
    cdf, log_x = _isr_table(float(x_top), float(threshold_mass))
    return np.interp(np.log(np.maximum(x, 1e-300)), log_x, cdf, left=0.0)


def sample_isr_fraction(
    rng: np.random.Generator, n: int, x_max: F8 | float, threshold_mass: float = 0.0
) -> F8:
    """x ~ W(x)·σ₀(s(1 − x))/σ₀(s) on (0, x_max) by inverse CDF; fractions below 1e-4 set to 0.

    The table is built up to the largest ``x_max`` (rounded up, so runs share it); each event's own upper
    limit enters through the CDF value at its ``x_max``.
    """
    x_max = np.broadcast_to(np.asarray(x_max, dtype=np.float64), (n,))
    x_top = float(min(np.ceil(float(x_max.max()) * 1e3) / 1e3, 1 - 1e-6)) if n else 0.5
    cdf, log_x = _isr_table(x_top, float(threshold_mass))
    limit = np.interp(np.log(np.maximum(x_max, 1e-300)), log_x, cdf, left=0.0)
    x = np.exp(np.interp(rng.uniform(0.0, 1.0, n) * limit, cdf, log_x))
    return np.where(x < ISR_MIN_FRACTION, 0.0, np.minimum(x, x_max))


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
