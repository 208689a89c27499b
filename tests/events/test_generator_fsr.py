"""The Z' radiated off a muon: the matrix element against an independent evaluation and the
textbook limit, and the generated events against flat phase space weighted by that evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from events.generator import fsr, signals
from events.generator.fsr import GAMMA, IDENTITY, METRIC, dot, slash
from events.generator.physics import GeneratorConfig

M_MU = signals.M_MU
SQRT_S = 10.58


# --- an independent evaluation: full lepton and muon tensors, L_{mu mu'} H^{mu nu mu' nu'} P_{nu nu'}


def muon_tensor(p1: np.ndarray, p2: np.ndarray, k: np.ndarray, m: float) -> np.ndarray:
    """H^{mu nu mu' nu'} = Tr[(p1-slash + m) G^{mu nu} (p2-slash - m) Gbar^{mu' nu'}], (N, 4, 4, 4, 4)."""
    prop1 = (slash(p1 + k) + m * IDENTITY) / (dot(p1 + k, p1 + k) - m * m)[:, None, None]
    prop2 = (-slash(p2 + k) + m * IDENTITY) / (dot(p2 + k, p2 + k) - m * m)[:, None, None]
    g = GAMMA
    vertex = np.einsum("vab,nbc,ucd->nuvad", g, prop1, g) + np.einsum("uab,nbc,vcd->nuvad", g, prop2, g)
    adjoint = np.einsum("uab,nbc,vcd->nuvad", g, prop1, g) + np.einsum("vab,nbc,ucd->nuvad", g, prop2, g)
    x = np.einsum("nab,nuvbc,ncd->nuvad", slash(p1) + m * IDENTITY, vertex, slash(p2) - m * IDENTITY)
    return np.einsum("nuvad,nxyda->nuvxy", x, adjoint)


def tensor_amplitude(p1: np.ndarray, p2: np.ndarray, k: np.ndarray, m: float, mz: float) -> np.ndarray:
    w = p1[:, 0] + p2[:, 0] + k[:, 0]
    q1 = np.column_stack([w / 2, 0 * w, 0 * w, w / 2])  # e- along +z
    q2 = np.column_stack([w / 2, 0 * w, 0 * w, -w / 2])
    beam = np.einsum("nab,ubc,ncd,xda->nux", slash(q2), GAMMA, slash(q1), GAMMA)
    beam = np.einsum("ma,nab,bx->nmx", METRIC, beam, METRIC)
    k_low = k @ METRIC
    pol = -METRIC[None] + k_low[:, :, None] * k_low[:, None, :] / mz**2
    value = np.einsum("nux,nuvxy,nvy->n", beam, muon_tensor(p1, p2, k, m), pol)
    return np.real(value) / (w**4)


def phase_space(n: int, mz: float, seed: int, mu: float = M_MU) -> tuple[np.ndarray, ...]:
    """Flat three-body phase space, turned at random: (p1 mu-, p2 mu+, k Z') at SQRT_S."""
    rng = np.random.default_rng(seed)
    w = np.full(n, SQRT_S)
    m12, m23 = signals._three_body_dalitz(rng, w, mu, mu, mz)
    s = w * w
    e1, e3 = (s + mu**2 - m23) / (2 * w), (s + mz**2 - m12) / (2 * w)
    e2 = w - e1 - e3
    p1, p2, p3 = (np.sqrt(np.clip(e * e - mm * mm, 0, None)) for e, mm in ((e1, mu), (e2, mu), (e3, mz)))
    c13 = np.clip((p2**2 - p1**2 - p3**2) / (2 * p1 * p3), -1, 1)
    psi = rng.uniform(-np.pi, np.pi, n)
    v1 = np.column_stack([0 * p1, 0 * p1, p1])
    v3 = np.column_stack(
        [p3 * np.sqrt(1 - c13**2) * np.cos(psi), p3 * np.sqrt(1 - c13**2) * np.sin(psi), p3 * c13]
    )
    axis = signals.unit_vectors(rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n))
    v1, v3 = signals.rotate_from_z(v1, axis), signals.rotate_from_z(v3, axis)
    return np.column_stack([e1, v1]), np.column_stack([e2, -(v1 + v3)]), np.column_stack([e3, v3])


@pytest.mark.parametrize("mz", [0.3, 3.0, 8.0])
def test_the_generators_amplitude_equals_the_full_tensor_contraction(mz: float) -> None:
    p1, p2, k = phase_space(300, mz, seed=1)
    ratio = tensor_amplitude(p1, p2, k, M_MU, mz) / fsr.squared_amplitude(p1, p2, k, M_MU, mz)
    np.testing.assert_allclose(ratio, 2 * SQRT_S**2, rtol=1e-9)  # the beam tensor's 8 E^2 = 2 s


def test_both_currents_are_conserved() -> None:
    p1, p2, k = phase_space(200, 3.0, seed=2)
    h = muon_tensor(p1, p2, k, M_MU)
    scale = np.abs(h).max()
    assert np.abs(np.einsum("nuvxy,nv->nuxy", h, k @ METRIC)).max() < 1e-12 * scale  # Z' index
    q = (p1 + p2 + k) @ METRIC
    assert np.abs(np.einsum("nuvxy,nu->nvxy", h, q)).max() < 1e-12 * scale  # photon index


def test_light_zprime_radiates_like_a_gluon_off_massless_quarks() -> None:
    """Averaged over orientations, (x1^2 + x2^2) / ((1 - x1)(1 - x2)) up to one constant."""
    mu, mz, n = 1e-3, 0.02, 3000
    ratios = []
    for x1, x2 in [(0.6, 0.7), (0.8, 0.5), (0.9, 0.9), (0.5, 0.95), (0.95, 0.3)]:
        rng = np.random.default_rng(int(100 * x1 + x2 * 10))
        e1, e2 = x1 * SQRT_S / 2, x2 * SQRT_S / 2
        e3 = SQRT_S - e1 - e2
        q1, q2, q3 = (np.sqrt(e * e - m * m) for e, m in ((e1, mu), (e2, mu), (e3, mz)))
        c13 = (q2**2 - q1**2 - q3**2) / (2 * q1 * q3)
        psi = rng.uniform(-np.pi, np.pi, n)
        v1 = np.tile([0.0, 0.0, q1], (n, 1))
        v3 = np.column_stack([q3 * np.sqrt(1 - c13**2) * np.cos(psi), q3 * np.sqrt(1 - c13**2) * np.sin(psi),
                              np.full(n, q3 * c13)])  # fmt: skip
        axis = signals.unit_vectors(rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n))
        v1, v3 = signals.rotate_from_z(v1, axis), signals.rotate_from_z(v3, axis)
        p1 = np.column_stack([np.full(n, e1), v1])
        p2 = np.column_stack([np.full(n, e2), -(v1 + v3)])
        k = np.column_stack([np.full(n, e3), v3])
        ratios.append(
            fsr.squared_amplitude(p1, p2, k, mu, mz).mean() / ((x1**2 + x2**2) / ((1 - x1) * (1 - x2)))
        )
    assert np.std(ratios) / np.mean(ratios) < 0.01


def acollinearity(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """pi minus the opening angle of the two muons [rad]."""
    u1 = p1[:, 1:] / np.linalg.norm(p1[:, 1:], axis=1, keepdims=True)
    u2 = p2[:, 1:] / np.linalg.norm(p2[:, 1:], axis=1, keepdims=True)
    return np.pi - np.arccos(np.clip(np.sum(u1 * u2, axis=1), -1, 1))


def test_generated_acollinearity_and_dimuon_pt_follow_the_matrix_element() -> None:
    """The generator's events against flat phase space weighted by the independent tensor evaluation."""
    mz, n = 3.0, 4000
    spec = signals.parse_signal(f"zprime:mass={mz}")
    parts = signals.zprime(spec, np.random.default_rng(5), n, GeneratorConfig(energy_spread=False))
    mu_minus, mu_plus = parts.p4[parts.pdg == 13], parts.p4[parts.pdg == -13]
    p1, p2, k = phase_space(20000, mz, seed=6)
    weight = tensor_amplitude(p1, p2, k, M_MU, mz)
    edges = np.linspace(0.0, np.pi, 13)
    generated = np.histogram(acollinearity(mu_minus, mu_plus), edges)[0]
    expected = np.histogram(acollinearity(p1, p2), edges, weights=weight)[0]
    flat = np.histogram(acollinearity(p1, p2), edges)[0]
    expected_n = expected / expected.sum() * n
    chi2 = np.sum((generated - expected_n) ** 2 / np.maximum(expected_n, 1))
    assert stats.chi2.sf(chi2, len(edges) - 2) > 1e-3
    flat_n = flat / flat.sum() * n
    assert np.sum((generated - flat_n) ** 2 / np.maximum(flat_n, 1)) > 5 * chi2  # FSR is not phase space
    pt = np.hypot(*(mu_minus[:, 1:3] + mu_plus[:, 1:3]).T)
    pt_expected = np.average(np.hypot(*(p1[:, 1:3] + p2[:, 1:3]).T), weights=weight)
    assert np.mean(pt) == pytest.approx(pt_expected, rel=0.03)
