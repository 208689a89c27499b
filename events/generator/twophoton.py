"""Two-photon production e+e- → e+e- ℓ+ℓ- in the equivalent-photon approximation (docs/physics.md §5.2).

Each beam lepton radiates a quasi-real photon carrying a fraction x of its energy, with the equivalent-photon
spectrum of Budnev, Ginzburg, Meledin and Serbo (Phys. Rep. 15 (1975) 181), the photon virtuality
integrated from its kinematic minimum Q²min = m_e² x²/(1 − x) up to Q²max = W² (beyond the pair's mass
squared the γ*γ → ℓℓ cross section falls and the quasi-real picture stops holding):

    f(x) dx = (α/π) (dx/x) [(1 − x + x²/2) ln(Q²max/Q²min) − (1 − x)(1 − Q²min/Q²max)].

The two photons collide at W² = x₁x₂s with the exact massive Breit-Wheeler cross section
(the crossed e+e- → γγ matrix element, Peskin & Schroeder eq. (5.105)), in the γγ frame with a = 1 − β²c²:

    dσ/dc = (2πα²β/W²) · g(c),   g(c) = 2(2 − β²)/a − 1 − 2(1 − β²)²/a²,
    G(c) = ∫g dc = 2(2 − β²) atanh(βc)/β − c − (1 − β²)² [c/a + atanh(βc)/β],

whose integral over −1 < c < 1 is the Breit-Wheeler total cross section. The photons are taken collinear
with their beams (their transverse momenta, of order √Q², are neglected), so a lepton's pT is p*·sin θ*
and the generator-level cut pT > 0.1 GeV is the analytic window |c| < c_cut(W) = √(1 − (0.1 GeV / p*)²);
the cross section inside it, σ_cut(W) = (2πα²β/W²)[G(c_cut) − G(−c_cut)], weights the photon-photon
luminosity. Everything is drawn by inverse transforms of whole arrays, with no rejection loops:

* τ = x₁x₂ from the tabulated CDF of τ·L(τ)·σ_cut(√(τs)) in ln τ, L(τ) = ∫ f(√τe^y) f(√τe^−y) dy;
* the γγ rapidity y = ½ ln(x₁/x₂) from the tabulated conditional CDF at the neighbouring τ rows (one of the
  two rows picked with the linear-interpolation weight, which keeps the mixture exact to first order);
* c inside |c| < c_cut by solving G(c) = G(−c_cut) + u·[G(c_cut) − G(−c_cut)] with Newton's method in
  t = atanh(βc), where G is nearly linear (six steps, bracketed).

Only the lab-angle part of the preselection (at least one lepton at 17°–150°, basf2's AAFH preselection) is
left to accept or reject whole events. ``cross_section_nb`` integrates the same tables: the EPA's own σ for
the pT window, a check on the literature normalisation the stream uses (``processes.py``).

e+e- → e+e- hadrons uses the same fluxes with Q²max = m_ρ² and the Regge fit of σ(γγ → hadrons) above
W = 1 GeV (``hadron_tables``); its final state is made in ``physics.two_photon_hadrons``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from events.generator import beams
from events.generator.particles import F8, MASS

ALPHA = beams.ALPHA
M_E = MASS[11]
GEV2_TO_NB = 0.3893794e6  # (ħc)² in GeV² nb
W_MIN = 0.5  # GeV: the AAFH default W > 0.5 GeV (basf2 generators.py), W² > 0.25 GeV²
PT_MIN = 0.1  # GeV: the CDC-acceptance preselection of basf2's AAFH (pT > 0.1 GeV)
N_TAU, N_Y = 700, 257


def photon_flux(x: F8, q2_max: F8) -> F8:
    """Budnev's equivalent-photon spectrum f(x) of an electron (per unit x), Q² from Q²min to ``q2_max``."""
    x = np.asarray(x, dtype=np.float64)
    q2_min = M_E**2 * x * x / np.maximum(1.0 - x, 1e-300)
    ratio = np.maximum(q2_max / np.maximum(q2_min, 1e-300), 1.0)
    f = (ALPHA / np.pi) / x * ((1.0 - x + x * x / 2.0) * np.log(ratio) - (1.0 - x) * (1.0 - 1.0 / ratio))
    return np.where((x > 0) & (x < 1), np.maximum(f, 0.0), 0.0)


def _beta(w: F8, m: float) -> F8:
    return np.sqrt(np.clip(1.0 - 4.0 * m * m / (np.asarray(w) ** 2), 0.0, None))


def angular_density(c: F8, beta: F8) -> F8:
    """g(c) of γγ → ℓ+ℓ- (massive leptons, unpolarised photons), up to 2πα²β/W²."""
    a = 1.0 - beta * beta * c * c
    return 2.0 * (2.0 - beta**2) / a - 1.0 - 2.0 * (1.0 - beta**2) ** 2 / (a * a)


def angular_cdf(c: F8, beta: F8) -> F8:
    """G(c) = ∫₀^c g(c') dc' (odd in c)."""
    a = 1.0 - beta * beta * c * c
    at = np.arctanh(beta * c) / beta
    return 2.0 * (2.0 - beta**2) * at - c - (1.0 - beta**2) ** 2 * (c / a + at)


def cos_cut(w: F8, m: float, pt_min: float = PT_MIN) -> F8:
    """|cos θ*| below which a lepton of the pair has pT > pt_min (collinear photons)."""
    p_star = np.asarray(w) * _beta(w, m) / 2.0
    return np.sqrt(np.clip(1.0 - (pt_min / np.maximum(p_star, 1e-300)) ** 2, 0.0, None))


def sigma_cut(w: F8, m: float, pt_min: float = PT_MIN) -> F8:
    """σ(γγ → ℓ+ℓ-) at W with both leptons above ``pt_min`` [GeV⁻²]."""
    beta = _beta(w, m)
    c = cos_cut(w, m, pt_min)
    safe = np.where(beta > 0, beta, 1.0)
    g = 2.0 * angular_cdf(c, safe)
    return np.where(beta > 0, 2.0 * np.pi * ALPHA**2 * beta / np.asarray(w) ** 2 * g, 0.0)


def sample_cos(rng: np.random.Generator, beta: F8, c_max: F8) -> F8:
    """cos θ* ∝ g(c) on |c| < c_max, by inverting G with Newton's method in t = atanh(βc)."""
    n = len(beta)
    g_max = angular_cdf(c_max, beta)
    target = (2.0 * rng.uniform(0.0, 1.0, n) - 1.0) * g_max
    t_max = np.arctanh(beta * c_max)
    # start from the dominant term 2(2 − β²) t / β, then Newton in t (dG/dt = g(c) · a / β)
    t = np.clip(target * beta / (2.0 * (2.0 - beta**2) - 1.0), -t_max, t_max)
    for _ in range(6):
        c = np.tanh(t) / beta
        a = 1.0 - beta * beta * c * c
        slope = angular_density(c, beta) * a / beta
        t = np.clip(t - (angular_cdf(c, beta) - target) / slope, -t_max, t_max)
    return np.tanh(t) / beta


@dataclass(frozen=True)
class Tables:
    """Inverse-CDF tables of one lepton species at the nominal √s."""

    u: F8  # ln τ grid
    cdf_u: F8  # normalised CDF of τ·L(τ)·σ_cut in u
    v: F8  # y / y_max(τ) grid on [−1, 1]
    cdf_v: F8  # (N_TAU, N_Y): conditional CDF of v in each τ row
    density_u: F8  # τ·L(τ)·σ_cut(W) [GeV⁻²] per unit ln τ (unnormalised)


def _build(w_min: float, sigma_of_w, q2_max: float | None, s: float) -> Tables:
    """Tables of τ·L(τ)·σ(W) (σ in GeV⁻²); Q²max = W² when ``q2_max`` is None, else that constant."""
    u = np.linspace(np.log(w_min**2 / s), np.log(0.999), N_TAU)
    tau = np.exp(u)
    v = np.linspace(-1.0, 1.0, N_Y)
    y_max = -0.5 * np.log(tau)
    # y = v·y_max: keep the grid just inside |y| < y_max, where the flux of the harder photon vanishes
    y = np.clip(v[None, :], -1.0 + 1e-9, 1.0 - 1e-9) * y_max[:, None]
    x1, x2 = np.sqrt(tau)[:, None] * np.exp(y), np.sqrt(tau)[:, None] * np.exp(-y)
    q2 = (tau * s if q2_max is None else np.full(N_TAU, q2_max))[:, None]
    dens = photon_flux(x1, q2) * photon_flux(x2, q2)
    cum = np.concatenate([np.zeros((N_TAU, 1)), np.cumsum((dens[:, 1:] + dens[:, :-1]) / 2, axis=1)], 1)
    lum = cum[:, -1] * (v[1] - v[0]) * y_max  # L(τ) = ∫ f f dy
    cdf_v = cum / np.maximum(cum[:, -1:], 1e-300)
    density_u = tau * lum * sigma_of_w(np.sqrt(tau * s))
    cdf_u = np.concatenate([[0.0], np.cumsum((density_u[1:] + density_u[:-1]) / 2)])
    return Tables(u, cdf_u / cdf_u[-1], v, cdf_v, density_u)


@cache
def tables(lepton_mass: float, s: float = float(beams.SQRT_S**2)) -> Tables:
    """Lepton pairs: W > 0.5 GeV, Q²max = W², Breit-Wheeler inside the pT window."""
    return _build(W_MIN, lambda w: sigma_cut(w, lepton_mass), None, s)


# γγ → hadrons: the Regge fit of Schuler & Sjöstrand (Z. Phys. C 73 (1997) 677; PYTHIA's σ_tot^γγ),
# σ = 211 nb · W^(2ε) + 297 nb · W^(−2η), ε = 0.0808, η = 0.4525 (W in GeV); used above W = 1 GeV (below
# it the γγ → ππ, f₂(1270)-region resonances are not modelled: model); photon virtualities up to
# Q²max = m_ρ² = 0.6 GeV² (the ρ form factor of a hadronic photon, vector-meson dominance: model)
HADRONS_W_MIN = 1.0
HADRONS_Q2_MAX = 0.775**2


def sigma_hadrons_nb(w: F8) -> F8:
    w = np.asarray(w, dtype=np.float64)
    return 211.0 * w ** (2 * 0.0808) + 297.0 * w ** (-2 * 0.4525)


@cache
def hadron_tables(s: float = float(beams.SQRT_S**2)) -> Tables:
    return _build(HADRONS_W_MIN, lambda w: sigma_hadrons_nb(w) / GEV2_TO_NB, HADRONS_Q2_MAX, s)


def cross_section_nb(lepton_mass: float | None) -> float:
    """σ from the EPA tables: e+e- → e+e-ℓ+ℓ- with W > 0.5 GeV and both leptons above 0.1 GeV of pT, or
    (``None``) e+e- → e+e- hadrons with W > 1 GeV, before any angular cut."""
    t = tables(lepton_mass) if lepton_mass is not None else hadron_tables()
    return float(np.trapezoid(t.density_u, t.u) * GEV2_TO_NB)


@cache
def _stacked_cdf(lepton_mass: float | None) -> F8:
    """The rows' CDFs offset by their row number, one non-decreasing array for a single searchsorted."""
    t = tables(lepton_mass) if lepton_mass is not None else hadron_tables()
    return (t.cdf_v + np.arange(N_TAU)[:, None]).ravel()


def sample_photons(rng: np.random.Generator, n: int, lepton_mass: float | None) -> tuple[F8, F8]:
    """(x₁, x₂) of n events: the photon of the electron (+z) and of the positron (−z); ``lepton_mass``
    None: the hadronic tables."""
    t = tables(lepton_mass) if lepton_mass is not None else hadron_tables()
    u = np.interp(rng.uniform(0.0, 1.0, n), t.cdf_u, t.u)
    pos = (u - t.u[0]) / (t.u[1] - t.u[0])
    row = np.minimum(pos.astype(np.int64), N_TAU - 2)
    row += rng.uniform(0.0, 1.0, n) < pos - row  # the upper neighbour with its interpolation weight
    # inverse CDF of v within the chosen row (piecewise-linear CDF)
    q = rng.uniform(0.0, 1.0, n)
    flat = _stacked_cdf(lepton_mass)
    k = np.clip(np.searchsorted(flat, q + row, side="right") - 1 - row * N_Y, 0, N_Y - 2)
    lo, hi = t.cdf_v[row, k], t.cdf_v[row, k + 1]
    frac = np.where(hi > lo, (q - lo) / np.maximum(hi - lo, 1e-300), 0.5)
    v = t.v[k] + frac * (t.v[1] - t.v[0])
    tau = np.exp(u)
    y = v * (-0.5 * u)
    return np.sqrt(tau) * np.exp(y), np.sqrt(tau) * np.exp(-y)
