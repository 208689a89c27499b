"""The two-photon and ISR samplers against their analytic distributions (docs/physics.md §5.1, §5.2).

Each expectation is computed here independently of the samplers' tables (scipy quadrature of the
formulas), and the samples are compared with a Kolmogorov-Smirnov test at a fixed seed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, stats

from events import kinematics
from events.generator import beams, generate, physics, twophoton
from events.generator.particles import MASS, Particles

S = float(beams.SQRT_S**2)
M_E, M_MU = MASS[11], MASS[13]


def budnev(x: float, q2_max: float) -> float:
    """f(x) of Budnev et al. (1975), written out again: (α/π)/x [(1 − x + x²/2) ln(Q²max/Q²min)
    − (1 − x)(1 − Q²min/Q²max)], Q²min = m_e² x²/(1 − x)."""
    q2_min = M_E**2 * x * x / (1 - x)
    if q2_min >= q2_max:
        return 0.0
    return (
        beams.ALPHA
        / np.pi
        / x
        * ((1 - x + x * x / 2) * np.log(q2_max / q2_min) - (1 - x) * (1 - q2_min / q2_max))
    )


def breit_wheeler_dc(c: float, beta: float) -> float:
    """dσ/dcos θ* of γγ → ℓ+ℓ- up to 2πα²β/W²: |M|² of the crossed e+e- → γγ (Peskin & Schroeder 5.105)
    with p·k₁,₂ = (W²/4)(1 ∓ βc), m²/W² = (1 − β²)/4, written as the four terms."""
    k1, k2 = (1 - beta * c) / 4, (1 + beta * c) / 4  # p·k in units of W²
    m2 = (1 - beta**2) / 4
    inv = 1 / k1 + 1 / k2
    return (k2 / k1 + k1 / k2 + 2 * m2 * inv - m2 * m2 * inv * inv) / 2


def sigma_pt_window(w: float, m: float) -> float:
    beta = np.sqrt(1 - 4 * m * m / w**2)
    p_star = w * beta / 2
    if p_star <= twophoton.PT_MIN:
        return 0.0
    c_cut = np.sqrt(1 - (twophoton.PT_MIN / p_star) ** 2)
    return beta / w**2 * integrate.quad(breit_wheeler_dc, -c_cut, c_cut, args=(beta,), limit=200)[0]


def luminosity(tau: float, q2_max: float | None = None) -> float:
    """L(τ) = ∫ f(√τe^y) f(√τe^−y) dy, Q²max = W² = τs unless given."""
    q2 = tau * S if q2_max is None else q2_max
    y_max = -0.5 * np.log(tau)
    f = lambda y: budnev(np.sqrt(tau) * np.exp(y), q2) * budnev(np.sqrt(tau) * np.exp(-y), q2)  # noqa: E731
    return integrate.quad(f, -y_max, y_max, limit=200, epsrel=1e-6)[0]


def test_the_angular_cdf_integrates_the_matrix_element_to_the_breit_wheeler_cross_section() -> None:
    for beta in (0.3, 0.82, 0.999999):
        for c in (0.1, 0.6, 0.95):
            quad = integrate.quad(breit_wheeler_dc, 0, c, args=(beta,))[0]
            assert twophoton.angular_cdf(np.array(c), np.array(beta)) == pytest.approx(quad, rel=1e-7)
        w = 2 * M_MU / np.sqrt(1 - beta**2)
        full = 2 * twophoton.angular_cdf(np.array(1.0 - 1e-12), np.array(beta)) * beta / w**2
        assert full == pytest.approx(2 * physics.breit_wheeler(np.array(w), M_MU), rel=1e-5)


@pytest.mark.parametrize(("m", "w"), [(M_MU, 0.6), (M_E, 1.2)])
def test_lepton_angles_follow_the_massive_breit_wheeler_form_inside_the_pt_window(m: float, w: float) -> None:
    n = 20_000
    beta = np.full(n, np.sqrt(1 - 4 * m * m / w**2))
    c_max = twophoton.cos_cut(np.full(n, w), m)
    c = twophoton.sample_cos(np.random.default_rng(1), beta, c_max)
    assert (np.abs(c) <= c_max).all()
    b, cm = float(beta[0]), float(c_max[0])
    total = integrate.quad(breit_wheeler_dc, -cm, cm, args=(b,), limit=200)[0]
    grid = np.linspace(-cm, cm, 801)
    cdf = np.array([integrate.quad(breit_wheeler_dc, -cm, g, args=(b,), limit=200)[0] for g in grid]) / total
    result = stats.kstest(c, lambda v: np.interp(v, grid, cdf))
    assert result.pvalue > 0.01, result


@pytest.fixture(scope="module")
def photon_pairs() -> tuple[np.ndarray, np.ndarray]:
    return twophoton.sample_photons(np.random.default_rng(2), 40_000, M_MU)


def test_the_photon_photon_mass_follows_the_equivalent_photon_luminosity(photon_pairs) -> None:
    """ln τ (τ = x₁x₂ = W²/s) ∝ τ · L(τ) · σ_cut(W): Budnev fluxes, Breit-Wheeler in the pT window."""
    x1, x2 = photon_pairs
    u = np.log(x1 * x2)
    grid = np.linspace(np.log(twophoton.W_MIN**2 / S), np.log(0.5), 240)
    dens = np.array(
        [np.exp(g) * luminosity(np.exp(g)) * sigma_pt_window(np.sqrt(np.exp(g) * S), M_MU) for g in grid]
    )
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    assert (u >= grid[0] - 1e-9).all()
    below = u < grid[-1]  # W above 7.5 GeV: ≈ 1e-4 of the events, left out of the comparison
    assert below.mean() > 0.999
    result = stats.kstest(u[below], lambda v: np.interp(v, grid, cdf / cdf[-1]))
    assert result.pvalue > 0.01, result
    # and the EPA's own cross section in the pT window, from the same formulas
    sigma = integrate.trapezoid(dens, grid) * twophoton.GEV2_TO_NB * 2 * np.pi * beams.ALPHA**2
    assert twophoton.cross_section_nb(M_MU) == pytest.approx(sigma, rel=0.01)


def test_the_photon_rapidity_at_fixed_mass_follows_the_product_of_the_fluxes(photon_pairs) -> None:
    x1, x2 = photon_pairs
    u = np.log(x1 * x2)
    u0 = np.log(0.9**2 / S)
    band = np.abs(u - u0) < 0.03
    assert band.sum() > 500
    y = 0.5 * np.log(x1[band] / x2[band])
    tau, y_max = np.exp(u0), -0.5 * u0
    grid = np.linspace(-y_max, y_max, 601)
    f = [budnev(np.sqrt(tau) * np.exp(g), tau * S) * budnev(np.sqrt(tau) * np.exp(-g), tau * S) for g in grid]
    cdf = integrate.cumulative_trapezoid(f, grid, initial=0.0)
    # the band's own width moves y_max by 0.015: compare in y / y_max of each event
    v = y / (-0.5 * u[band])
    result = stats.kstest(v, lambda t: np.interp(t * y_max, grid, cdf / cdf[-1]))
    assert result.pvalue > 0.01, result


def test_generated_two_photon_events_pass_the_basf2_preselection() -> None:
    """At least one lepton at 17-150° with pT > 0.1 GeV (basf2 add_aafh_generator), W > 0.5 GeV, the pair
    balanced in pT (collinear photons) and the tagging e± along the beams."""
    for name in ("eeee", "eemumu"):
        parts = physics.SAMPLERS[name](np.random.default_rng(3), 3000, physics.GeneratorConfig())
        code = 11 if name == "eeee" else 13
        rows = np.flatnonzero(np.abs(parts.pdg) == code)
        pair = rows[-2 * 3000 :] if name == "eemumu" else rows.reshape(3000, 4)[:, 2:].ravel()
        p4 = parts.p4[pair].reshape(3000, 2, 4)
        lab = beams.to_lab(p4.reshape(-1, 4)).reshape(3000, 2, 4)
        pt = np.hypot(lab[..., 1], lab[..., 2])
        theta = np.degrees(np.arctan2(pt, lab[..., 3]))
        ok = ((theta >= 17) & (theta <= 150) & (pt >= 0.1)).any(axis=1)
        assert ok.all(), name
        w = np.sqrt(kinematics.mass_squared(p4.sum(axis=1)))
        assert (w > twophoton.W_MIN - 1e-9).all()
        np.testing.assert_allclose(p4[:, :, 1:3].sum(axis=1), 0.0, atol=1e-9)


def test_isr_fraction_follows_the_kuraev_fadin_radiator_times_the_born_ratio() -> None:
    """μμ events: the recorded ISR photons' x against ∫ W_KF(x) σ₀(s(1−x))/σ₀(s), KS and a tail fraction."""
    n = 6000
    batch = generate(n, seed=14, processes=["mumu"])
    mc = batch.mc
    isr = (mc["pdg"] == 22) & (mc["mother"] < 0)
    assert (np.bincount(mc.event_index()[isr], minlength=n) <= 1).all()
    p4 = np.stack([mc["energy"], mc["px"], mc["py"], mc["pz"]], 1)[isr].astype(np.float64)
    x = 2 * kinematics.cms_energy(p4) / beams.SQRT_S
    x_max = 1 - (1.0 / beams.SQRT_S) ** 2

    def dens(t: float) -> float:  # per unit ln x
        xx = np.exp(t)
        return float(beams.kf_radiator(xx) * beams.born_ratio(xx, M_MU)) * xx

    b = beams.BETA_ISR
    assert (
        pytest.approx(
            beams.ALPHA / np.pi * (np.pi**2 / 3 - 0.5) + 0.75 * b + b * b * (9 / 32 - np.pi**2 / 12)
        )
        == beams.KF_DELTA
    )
    total = integrate.quad(dens, -200, np.log(x_max), limit=400)[0]
    grid = np.log(np.unique(np.concatenate([np.geomspace(beams.ISR_MIN_FRACTION, 0.5, 200),
                                            1 - np.geomspace(0.5, 1 - x_max, 300)])))  # fmt: skip
    tail = np.array([integrate.quad(dens, g, np.log(x_max), limit=400)[0] for g in grid]) / total
    # the fraction of events with a recorded photon (x > 1e-4), then the shape of x above it
    expected = tail[0]
    assert len(x) / n == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / n))
    cdf = 1 - tail / tail[0]
    drawn = beams.sample_isr_fraction(np.random.default_rng(4), 40_000, np.full(40_000, x_max), M_MU)
    result = stats.kstest(np.log(drawn[drawn > 0]), lambda v: np.interp(v, grid, cdf))
    assert result.pvalue > 0.01, result
    generated = stats.kstest(np.log(x), lambda v: np.interp(v, grid, cdf))  # the events' own photons
    assert generated.pvalue > 0.01, generated
    # the radiative tail the Born ratio brings: ∫ W σ₀(s')/σ₀(s) = 1.25 at this order, against
    # σ(μμ(γ)) / σ_Born = 1.148 / 0.776 nb = 1.48 of the literature (which has no cut on s' either)
    assert total == pytest.approx(1.25, abs=0.02)


def test_two_photon_hadrons_follow_the_regge_fit_and_the_preselection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """e+e- → e+e- hadrons: the EPA cross section and acceptance behind processes.EEHADRONS_NB, and every
    event with a charged hadron at 17-150° above 0.1 GeV of pT and a hadronic mass above 1 GeV."""
    from events.generator import processes

    assert twophoton.sigma_hadrons_nb(np.array(1.0)) == pytest.approx(508.0)
    assert twophoton.cross_section_nb(None) == pytest.approx(processes.EEHADRONS_EPA_NB, rel=0.002)
    # the acceptance: the share of candidate events the preselection keeps
    seen: list[tuple[int, int]] = []
    real = physics.preselected

    def counting(rng: np.random.Generator, n: int, make: Callable[[int], tuple[Particles, int]]) -> Particles:
        def spy(m: int) -> tuple[Particles, int]:
            parts, k = make(m)
            seen.append((m, k))
            return parts, k

        return real(rng, n, spy)

    monkeypatch.setattr(physics, "preselected", counting)
    n = 4000
    parts = physics.two_photon_hadrons(np.random.default_rng(5), n, physics.GeneratorConfig())
    tried, kept = (sum(c) for c in zip(*seen, strict=True))
    acceptance = kept / tried
    assert acceptance == pytest.approx(processes.EEHADRONS_ACCEPTANCE, abs=4 * np.sqrt(0.1 * 0.9 / tried))
    primary = parts.mother < 0
    charged = primary & np.isin(np.abs(parts.pdg), (211, 321))
    lab = beams.to_lab(parts.p4[charged])
    pt = np.hypot(lab[:, 1], lab[:, 2])
    theta = np.degrees(np.arctan2(pt, lab[:, 3]))
    ok = (theta >= 17) & (theta <= 150) & (pt >= 0.1)
    assert (np.bincount(parts.event[charged][ok], minlength=n) >= 1).all()
    hadronic = primary & (np.abs(parts.pdg) != 11)  # the photons of π0 decays are not primaries
    w2 = kinematics.mass_squared(np.stack([np.bincount(parts.event[hadronic], parts.p4[hadronic, k], n)
                                           for k in range(4)], axis=1))  # fmt: skip
    assert (np.sqrt(w2) > twophoton.HADRONS_W_MIN - 1e-6).all()
    # charge balance in every event
    charge = np.bincount(parts.event[charged], np.sign(parts.pdg[charged]), n)
    assert (charge == 0).all()


def test_the_hadronic_photon_photon_mass_follows_the_regge_fit_times_the_luminosity() -> None:
    """ln τ of e+e- → e+e- hadrons ∝ τ · L(τ; Q²max = m_ρ²) · σ(γγ → hadrons)(W), W > 1 GeV."""
    x1, x2 = twophoton.sample_photons(np.random.default_rng(6), 30_000, None)
    u = np.log(x1 * x2)
    grid = np.linspace(np.log(twophoton.HADRONS_W_MIN**2 / S), np.log(0.99), 240)

    def regge(w: float) -> float:  # Schuler & Sjöstrand, written out again [nb]
        return 211.0 * (w * w) ** 0.0808 + 297.0 * (w * w) ** -0.4525

    q2 = twophoton.HADRONS_Q2_MAX
    dens = np.array([np.exp(g) * luminosity(np.exp(g), q2) * regge(np.sqrt(np.exp(g) * S)) for g in grid])
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    below = u < grid[-1]
    assert below.mean() > 0.9999
    result = stats.kstest(u[below], lambda v: np.interp(v, grid, cdf / cdf[-1]))
    assert result.pvalue > 0.01, result
    assert twophoton.cross_section_nb(None) == pytest.approx(integrate.trapezoid(dens, grid), rel=0.01)
