"""Physics samplers of the Standard Model stream (docs/physics.md §5.2).

Each sampler returns the true particles of ``n`` events (events 0..n-1) in the beam frame (CM, +z along
the incoming electron), including initial-state radiation where the configuration asks for it and the
generator-level preselection that defines the process's cross section (see ``processes.py``).
The recipes are toys built from the reference's kinematic descriptions, not full generators:

* two-photon e+e-ℓ+ℓ- and e+e- hadrons: Budnev's equivalent-photon fluxes, the massive Breit-Wheeler
  cross section (W > 0.5 GeV) or the Regge fit of σ(γγ → hadrons) (W > 1 GeV), drawn by inverse transforms
  (``twophoton.py``), tagging e± lost along the beams;
* initial-state radiation: the Kuraev-Fadin radiator times the Born ratio for the s-channel processes, the
  leading-log spectrum for Bhabha and γγ (``beams.py``);
* q q̄: back-to-back jets ∝ 1 + cos²θ, ≈ 10.5 charged particles per event, limited pT to the jet axis
  (⟨pT⟩ ≈ 0.35 GeV), π0 → γγ, K_S → π+π- or π0π0 (PDG fractions, flying), K_L;
* μμ(γ), ττ: ∝ 1 + cos²θ plus ISR; τ decays eνν, μνν, πν, ππ0ν, π2π0ν, 3πν, 3ππ0ν, Kν (PDG fractions);
* BB̄: Υ(4S) → BB̄ at p* ≈ 0.33 GeV (∝ sin²θ, the P wave), isotropic multi-body B decays;
* Bhabha ∝ ((3 + cos²θ)/(1 − cosθ))², γγ ∝ (1 + cos²θ)/sin²θ;
* J/ψ by radiative return, e+e- → γ_ISR J/ψ: the ISR photon collinear with a beam and carrying
  E_γ = (s − M²)/(2√s), J/ψ → μ+μ− ∝ 1 + cos²θ about the beam axis in the J/ψ frame (transverse
  polarisation, as any vector meson made from a virtual photon); preselected: both μ at 17-150°, pT > 0.1 GeV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from events.generator import beams, twophoton
from events.generator.particles import (
    F8,
    I8,
    MASS,
    Particles,
    ParticleTable,
    cos_one_plus_cos2,
    cos_one_plus_cos2_over_sin2,
    decay_many_body,
    decay_two_body,
    isotropic,
    mass_of,
    rejection,
    two_body_momentum,
    unit_vectors,
)
from geometry.angles import polar_angle

ELECTRON, MUON, TAU, PHOTON = 11, 13, 15, 22
PI, PI0, K, KS, KL, PROTON = 211, 111, 321, 310, 130, 2212
KAON_CODE = K
B_CHARGED, B_NEUTRAL, UPSILON_4S = 521, 511, 300553
JPSI = 443
_SELF_CONJUGATE = (22, 111, 130, 310, 443, 300553)
# K_S branching fractions, PDG 2024 (Review of Particle Physics, K_S listing): π+π- (69.20 ± 0.05) %,
# π0π0 (30.69 ± 0.05) %; the rest (< 0.2 %) is left out and the two renormalised
KS_TO_PI_PI, KS_TO_PI0_PI0 = 0.6920, 0.3069


@dataclass(frozen=True)
class GeneratorConfig:
    """Switches of the generator (defaults: the physics of the reference)."""

    isr: bool = True
    energy_spread: bool = True
    beam_background: bool = False
    bz: float = 1.5


Sampler = Callable[[np.random.Generator, int, GeneratorConfig], Particles]


def conjugate(pdg: np.ndarray) -> np.ndarray:
    pdg = np.asarray(pdg)
    return np.where(np.isin(np.abs(pdg), _SELF_CONJUGATE), pdg, -pdg)


def back_to_back(p: F8, cos_theta: F8, phi: F8, m1: float, m2: float) -> tuple[F8, F8]:
    """Two four-vectors back to back along (cos θ, φ), first one along it."""
    u = unit_vectors(cos_theta, phi)
    p3 = p[:, None] * u
    e1 = np.sqrt(p * p + m1 * m1)
    e2 = np.sqrt(p * p + m2 * m2)
    return np.concatenate([e1[:, None], p3], axis=1), np.concatenate([e2[:, None], -p3], axis=1)


def lab_ok(
    p4_beam: F8, theta_deg: tuple[float, float], p_min: float = 0.0, pt_min: float = 0.0
) -> np.ndarray:
    """Lab polar angle inside the range and momentum / pT above the thresholds."""
    lab = beams.to_lab(p4_beam)
    pt = np.hypot(lab[:, 1], lab[:, 2])
    p = np.hypot(pt, lab[:, 3])
    theta = np.degrees(polar_angle(lab[:, 1:]))
    return (theta >= theta_deg[0]) & (theta <= theta_deg[1]) & (p >= p_min) & (pt >= pt_min)


def with_isr(
    rng: np.random.Generator,
    n: int,
    cfg: GeneratorConfig,
    w_min: float,
    hard: Callable[[np.random.Generator, F8], Particles],
    threshold_mass: float | None = 0.0,
) -> Particles:
    """Run ``hard(rng, sqrt_s_hard)`` for n events after optional ISR along the beams, boosted back.

    s-channel annihilation (``threshold_mass`` a number): the ISR fraction follows the Kuraev-Fadin radiator
    times the Born ratio σ₀(s')/σ₀(s) of a fermion pair of that mass (``beams.sample_isr_fraction``), up to
    s' = w_min². t-channel processes (``threshold_mass=None``: Bhabha, γγ) keep the soft leading-log
    spectrum β x^(β−1), with no Born ratio (docs/physics.md §5.1).
    """
    sqrt_s = beams.sample_sqrt_s(rng, n, cfg.energy_spread)
    x_max = 1.0 - (w_min / sqrt_s) ** 2
    if not cfg.isr:
        x = np.zeros(n)
    elif threshold_mass is None:
        x = beams.sample_isr_fraction_leading_log(rng, n, x_max)
    else:
        x = beams.sample_isr_fraction(rng, n, x_max, threshold_mass)
    side = rng.choice([-1.0, 1.0], n)
    e_gamma = x * sqrt_s / 2.0
    hard_parts = hard(rng, sqrt_s * np.sqrt(1.0 - x))
    beta_z = -side * e_gamma / (sqrt_s - e_gamma)
    hard_parts.p4 = beams.z_boost(hard_parts.p4, beta_z[hard_parts.event])
    table = ParticleTable()
    has = np.flatnonzero(x > 0)
    photon = np.stack([e_gamma[has], 0 * has, 0 * has, side[has] * e_gamma[has]], axis=1)
    table.add(has, PHOTON, photon)
    table.extend(hard_parts)
    return table.freeze().sorted_by_event()


def preselected(rng: np.random.Generator, n: int, make: Callable[[int], tuple[Particles, int]]) -> Particles:
    """n events of ``make(m) -> (particles of the k accepted events 0..k-1 among m candidates, k)``."""
    parts: list[Particles] = []
    have = 0
    m = max(64, 2 * n)
    for _ in range(1000):
        if have >= n:
            break
        cand, k = make(m)
        keep = np.arange(k) < n - have
        parts.append(cand.select_events(keep))
        have += int(keep.sum())
        eff = max(k / m, 1e-3)
        m = int(min(2_000_000, max(64, 1.3 * (n - have) / eff + 32)))
    else:
        raise RuntimeError("preselection never accepted enough events")
    table = ParticleTable()
    start = 0
    for part in parts:
        k = int(part.event.max()) + 1 if len(part) else 0
        table.extend(part, np.arange(start, start + max(k, 1)))
        start += k
    return table.freeze()


def _pair(event_p4: tuple[F8, F8], pdg: tuple[int, int]) -> Particles:
    table = ParticleTable()
    ev = np.arange(len(event_p4[0]))
    table.add(ev, pdg[0], event_p4[0])
    table.add(ev, pdg[1], event_p4[1])
    return table.freeze().sorted_by_event()


# ---------------------------------------------------------------------------------------- leptons


def mumu(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    def hard(r: np.random.Generator, w: F8) -> Particles:
        m = MASS[MUON]
        c = cos_one_plus_cos2(r, len(w))
        p = two_body_momentum(w, m, m)
        return _pair(back_to_back(p, c, r.uniform(-np.pi, np.pi, len(w)), m, m), (MUON, -MUON))

    return with_isr(rng, n, cfg, 1.0, hard, MASS[MUON])


def jpsi_isr(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    """e+e- → γ_ISR J/ψ, J/ψ → μ+μ− (both muons at 17-150° with pT > 0.1 GeV in the lab)."""
    m_psi, m_mu = MASS[JPSI], MASS[MUON]

    def make(m: int) -> tuple[Particles, int]:
        sqrt_s = beams.sample_sqrt_s(rng, m, cfg.energy_spread)
        side = rng.choice([-1.0, 1.0], m)
        e_gamma = (sqrt_s**2 - m_psi**2) / (2.0 * sqrt_s)
        beta_z = -side * e_gamma / (sqrt_s - e_gamma)  # the J/ψ recoils against the photon
        p_mu = two_body_momentum(np.full(m, m_psi), m_mu, m_mu)
        mu1, mu2 = back_to_back(p_mu, cos_one_plus_cos2(rng, m), rng.uniform(-np.pi, np.pi, m), m_mu, m_mu)
        mu1, mu2 = beams.z_boost(mu1, beta_z), beams.z_boost(mu2, beta_z)
        ok = lab_ok(mu1, (17.0, 150.0), pt_min=0.1) & lab_ok(mu2, (17.0, 150.0), pt_min=0.1)
        k = int(ok.sum())
        zero = np.zeros(k)
        table = ParticleTable()
        ev = np.arange(k)
        eg, sd = e_gamma[ok], side[ok]
        table.add(ev, PHOTON, np.stack([eg, zero, zero, sd * eg], axis=1))
        psi = table.add(ev, JPSI, mu1[ok] + mu2[ok])
        table.add(ev, MUON, mu1[ok], psi)
        table.add(ev, -MUON, mu2[ok], psi)
        return table.freeze().sorted_by_event(), k

    return preselected(rng, n, make)


def bhabha(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    c_min, c_max = np.cos(np.radians(168.0)), np.cos(np.radians(11.5))

    def propose(r: np.random.Generator, m: int) -> F8:
        t = r.uniform(1 / (1 - c_min), 1 / (1 - c_max), m)  # uniform in 1/(1 - c): proposal ∝ 1/(1-c)²
        return 1.0 - 1.0 / t

    def hard(r: np.random.Generator, w: F8) -> Particles:
        c = rejection(r, len(w), propose, lambda c: ((3 + c * c) / 4) ** 2, 1.0)
        m = MASS[ELECTRON]
        return _pair(back_to_back(w / 2, c, r.uniform(-np.pi, np.pi, len(w)), m, m), (ELECTRON, -ELECTRON))

    return preselected(
        rng, n, lambda m: _both_in(with_isr(rng, m, cfg, 1.0, hard, None), m, (ELECTRON, -ELECTRON))
    )


def gammagamma(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    def hard(r: np.random.Generator, w: F8) -> Particles:
        c = cos_one_plus_cos2_over_sin2(r, len(w), 0.985)
        return _pair(back_to_back(w / 2, c, r.uniform(-np.pi, np.pi, len(w)), 0, 0), (PHOTON, PHOTON))

    return preselected(
        rng, n, lambda m: _both_in(with_isr(rng, m, cfg, 1.0, hard, None), m, (PHOTON, PHOTON))
    )


ECL_THETA = (12.4, 155.1)


def _both_in(parts: Particles, m: int, pdgs: tuple[int, int]) -> tuple[Particles, int]:
    """Accept events whose two hard particles are both in the ECL with p > 0.5 GeV."""
    hard = (parts.mother < 0) & np.isin(parts.pdg, pdgs) & (parts.p4[:, 0] > 0.3)
    if pdgs[0] == PHOTON:  # keep the ISR photon (along the beam) out of the count
        hard &= np.hypot(parts.p4[:, 1], parts.p4[:, 2]) > 1e-9
    ok = lab_ok(parts.p4[hard], ECL_THETA, p_min=0.5)
    accepted = np.bincount(parts.event[hard][ok], minlength=m) >= 2
    return parts.select_events(accepted), int(accepted.sum())


def breit_wheeler(w: F8, m: float) -> F8:
    """σ(γγ → ℓ+ℓ−) at invariant mass W, up to the constant 4πα²:
    [(1 + 4m²/W² − 8m⁴/W⁴) ln((1+β)/(1−β)) − β(1 + 4m²/W²)] / W²."""
    r = 4 * m * m / (w * w)
    beta = np.sqrt(np.clip(1 - r, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.log((1 + beta) / np.maximum(1 - beta, 1e-300))
    return np.where(beta > 0, ((1 + r - r * r / 2) * log - beta * (1 + r)) / (w * w), 0.0)


def two_photon(lepton: int) -> Sampler:
    """e+e- -> e+e- ℓ+ℓ- through two quasi-real photons (preselected: ℓ± at 17-150 deg, pT > 0.1 GeV).

    Budnev's equivalent-photon fluxes times the massive Breit-Wheeler cross section inside the pT window,
    drawn by inverse transforms (``twophoton.py``); only the lab-angle cut accepts or rejects events.
    """
    m_l = MASS[lepton]

    def make(rng: np.random.Generator, m: int, cfg: GeneratorConfig) -> tuple[Particles, int]:
        sqrt_s = beams.sample_sqrt_s(rng, m, cfg.energy_spread)
        x1, x2 = twophoton.sample_photons(rng, m, m_l)
        w = np.sqrt(x1 * x2) * sqrt_s
        beta = np.sqrt(np.clip(1 - 4 * m_l**2 / w**2, 0, None))
        c = twophoton.sample_cos(rng, beta, twophoton.cos_cut(w, m_l))
        l1, l2 = back_to_back(two_body_momentum(w, m_l, m_l), c, rng.uniform(-np.pi, np.pi, m), m_l, m_l)
        beta_z = (x1 - x2) / (x1 + x2)
        l1, l2 = beams.z_boost(l1, beta_z), beams.z_boost(l2, beta_z)
        # basf2's AAFH preselection: at least one charged particle at 17-150 deg with pT > 0.1 GeV (the pT
        # window is already in the sampling; the tagging e± stay along the beams)
        ok = lab_ok(l1, (17.0, 150.0), pt_min=0.1) | lab_ok(l2, (17.0, 150.0), pt_min=0.1)
        ok &= w > twophoton.W_MIN
        l1, l2, x1, x2, sqrt_s = l1[ok], l2[ok], x1[ok], x2[ok], sqrt_s[ok]
        n_ok = len(l1)
        table = ParticleTable()
        ev = np.arange(n_ok)
        for sign, x in ((1.0, x1), (-1.0, x2)):  # the tagging e-, e+ lost along the beams
            e_tag = (1 - x) * sqrt_s / 2
            pz = sign * np.sqrt(np.clip(e_tag**2 - MASS[ELECTRON] ** 2, 0, None))
            zero = np.zeros(n_ok)
            table.add(ev, int(sign) * ELECTRON, np.stack([e_tag, zero, zero, pz], 1))
        table.add(ev, lepton, l1)
        table.add(ev, -lepton, l2)
        return table.freeze().sorted_by_event(), n_ok

    def sample(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
        return preselected(rng, n, lambda m: make(rng, m, cfg))

    return sample


def two_photon_hadrons(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    """e+e- -> e+e- hadrons through two quasi-real photons, W > 1 GeV (preselected: at least one charged
    hadron at 17-150 deg with pT > 0.1 GeV, as basf2 preselects two-photon samples).

    Budnev's fluxes (Q²max = m_ρ²) times the Regge fit of σ(γγ → hadrons) (``twophoton.py``); the final
    state is a toy of soft pions and kaons: 1 + Poisson(1.2 ln(W / 0.8 GeV)) charged pairs and
    Poisson(n_pairs / 2) π0, pT ~ Gamma(2, 0.15 GeV) to the photon axis, rapidity flat in the γγ frame,
    balanced to W by ``decay_many_body``.
    """

    def make(m: int) -> tuple[Particles, int]:
        sqrt_s = beams.sample_sqrt_s(rng, m, cfg.energy_spread)
        x1, x2 = twophoton.sample_photons(rng, m, None)
        w = np.sqrt(x1 * x2) * sqrt_s
        m_pi, m_pi0 = MASS[PI], MASS[PI0]
        pairs_max = np.maximum(np.floor(0.85 * w / (2 * m_pi)), 1).astype(np.int64)
        n_pairs = np.minimum(1 + rng.poisson(np.clip(1.2 * np.log(w / 0.8), 0, None)), pairs_max)
        room = np.floor(np.clip(0.85 * w - 2 * m_pi * n_pairs, 0, None) / m_pi0).astype(np.int64)
        n_pi0 = np.minimum(rng.poisson(0.5 * n_pairs), room)
        ev_pairs = np.repeat(np.arange(m), n_pairs)
        plus = _species(rng, len(ev_pairs), 0.1)
        minus = -_species(rng, len(ev_pairs), 0.1)
        ev_pi0 = np.repeat(np.arange(m), n_pi0)
        event = np.concatenate([ev_pairs, ev_pairs, ev_pi0])
        pdg = np.concatenate([plus, minus, np.full(len(ev_pi0), PI0)])
        counts, pdg, event = _grouped(event, pdg, event, n_parent=m)
        heavy = np.bincount(event, mass_of(pdg), m) > 0.85 * w  # kaons that close the phase space -> pions
        pdg = np.where(heavy[event] & (np.abs(pdg) == K), np.sign(pdg) * PI, pdg)
        k = len(event)
        pt = rng.gamma(2.0, 0.15, k)
        phi = rng.uniform(-np.pi, np.pi, k)
        mt = np.sqrt(pt * pt + mass_of(pdg) ** 2)
        y_span = np.log(np.maximum(w[event] / (2 * mt), 1.0))
        y = rng.uniform(-1.0, 1.0, k) * y_span
        initial = np.stack([pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], axis=1)
        rap = 0.5 * np.log(x1 / x2)
        system = np.stack([w * np.cosh(rap), 0 * w, 0 * w, w * np.sinh(rap)], axis=1)
        table = ParticleTable()
        ev = np.arange(m)
        parent = table.add(ev, 0, system)  # the γγ system is not stored; its daughters are primaries
        rows = decay_many_body(rng, table, ev, parent, system, counts, pdg, initial=initial)
        decay_prompt_neutrals(rng, table, table_rows_p4(table, rows))
        for sign, x in ((1.0, x1), (-1.0, x2)):  # the tagging e-, e+ lost along the beams
            e_tag = (1 - x) * sqrt_s / 2
            pz = sign * np.sqrt(np.clip(e_tag**2 - MASS[ELECTRON] ** 2, 0, None))
            table.add(ev, int(sign) * ELECTRON, np.stack([e_tag, 0 * w, 0 * w, pz], 1))
        parts = table.freeze()
        parts = _drop_rows(parts, parts.pdg != 0)
        charged = (parts.mother < 0) & np.isin(np.abs(parts.pdg), (PI, K))
        ok = lab_ok(parts.p4[charged], (17.0, 150.0), pt_min=0.1)
        accepted = np.bincount(parts.event[charged][ok], minlength=m) >= 1
        return parts.select_events(accepted), int(accepted.sum())

    return preselected(rng, n, make)


# ---------------------------------------------------------------------------------------- tau pairs

# τ- decay modes: (branching fraction, daughters); PDG fractions, renormalised to 1 over these modes
TAU_MODES: tuple[tuple[float, tuple[int, ...]], ...] = (
    (0.178, (ELECTRON, -12, 16)),
    (0.174, (MUON, -14, 16)),
    (0.109, (-PI, 16)),
    (0.255, (-PI, PI0, 16)),
    (0.093, (-PI, PI0, PI0, 16)),
    (0.098, (-PI, -PI, PI, 16)),
    (0.047, (-PI, -PI, PI, PI0, 16)),
    (0.046, (-K, 16)),
)


def decay_taus(
    rng: np.random.Generator, table: ParticleTable, event: I8, rows: I8, p4: F8, pdg: np.ndarray
) -> None:
    bf = np.array([m[0] for m in TAU_MODES])
    mode = rng.choice(len(TAU_MODES), len(rows), p=bf / bf.sum())
    for k, (_, daughters) in enumerate(TAU_MODES):
        sel = np.flatnonzero(mode == k)
        if not len(sel):
            continue
        d = np.tile(np.array(daughters), (len(sel), 1))
        d = np.where((pdg[sel] < 0)[:, None], conjugate(d), d)
        counts = np.full(len(sel), len(daughters))
        rows_d = decay_many_body(rng, table, event[sel], rows[sel], p4[sel], counts, d.ravel(), 0.5)
        decay_prompt_neutrals(rng, table, table_rows_p4(table, rows_d))


def table_rows_p4(table: ParticleTable, rows: I8) -> tuple[I8, I8, np.ndarray, F8]:
    """(rows, events, pdg, p4) of the last block added (the rows just returned by ``add``)."""
    event, pdg, p4 = table.last_block()
    return rows, event, pdg, p4


def decay_prompt_neutrals(
    rng: np.random.Generator, table: ParticleTable, block: tuple[I8, I8, np.ndarray, F8]
) -> None:
    """π0 → γγ at once; K_S → π+π- or π0π0 (PDG fractions) after its flight, for a block's neutral mesons."""
    rows, event, pdg, p4 = block
    pi0 = np.flatnonzero(pdg == PI0)
    if len(pi0):
        decay_two_body(rng, table, event[pi0], rows[pi0], p4[pi0], PHOTON, PHOTON)
    ks = np.flatnonzero(pdg == KS)
    if not len(ks):
        return
    charged = rng.uniform(0, 1, len(ks)) < KS_TO_PI_PI / (KS_TO_PI_PI + KS_TO_PI0_PI0)
    for sel, d1, d2 in ((ks[charged], PI, -PI), (ks[~charged], PI0, PI0)):
        if not len(sel):
            continue
        daughters = decay_two_body(rng, table, event[sel], rows[sel], p4[sel], d1, d2)
        if d1 == PI0:  # the pions of K_S → π0π0 decay to photons at once, like any other π0
            blocks = (table.last_block(2), table.last_block(1))
            for pi0_rows, (pi0_event, _, pi0_p4) in zip(daughters, blocks, strict=True):
                decay_two_body(rng, table, pi0_event, pi0_rows, pi0_p4, PHOTON, PHOTON)


def tautau(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    def hard(r: np.random.Generator, w: F8) -> Particles:
        m = MASS[TAU]
        k = len(w)
        c = cos_one_plus_cos2(r, k)
        t1, t2 = back_to_back(two_body_momentum(w, m, m), c, r.uniform(-np.pi, np.pi, k), m, m)
        table = ParticleTable()
        ev = np.arange(k)
        r1 = table.add(ev, TAU, t1)
        r2 = table.add(ev, -TAU, t2)
        rows = np.concatenate([r1, r2])
        decay_taus(r, table, np.concatenate([ev, ev]), rows, np.concatenate([t1, t2]),
                   np.concatenate([np.full(k, TAU), np.full(k, -TAU)]))  # fmt: skip
        return table.freeze().sorted_by_event()

    return with_isr(rng, n, cfg, 2 * MASS[TAU] + 0.2, hard, MASS[TAU])


# ---------------------------------------------------------------------------------------- hadrons


def _grouped(parent: np.ndarray, *columns: np.ndarray, n_parent: int) -> tuple[np.ndarray, ...]:
    order = np.argsort(parent, kind="stable")
    counts = np.bincount(parent, minlength=n_parent)
    return (counts, *(c[order] for c in columns))


def _species(
    rng: np.random.Generator, k: int, kaon_fraction: float, proton_fraction: float = 0.0
) -> np.ndarray:
    u = rng.uniform(0, 1, k)
    return np.where(u < kaon_fraction, K, np.where(u < kaon_fraction + proton_fraction, PROTON, PI))


def quark_pair(kaon_fraction: float) -> Sampler:
    """e+e- -> q qbar as two jets of pions, kaons, protons, π0, K_S and K_L."""

    def hard(r: np.random.Generator, w: F8) -> Particles:
        n = len(w)
        axis = unit_vectors(cos_one_plus_cos2(r, n), r.uniform(-np.pi, np.pi, n))
        scale = w / beams.SQRT_S  # multiplicity grows with the available energy (hard ISR lowers it)
        n_pairs = 1 + r.poisson(4.25 * scale, n)
        n_pi0 = r.poisson(4.0 * scale, n)
        n_ks = r.poisson(0.35, n)
        n_kl = r.poisson(0.35, n)
        ev_pairs = np.repeat(np.arange(n), n_pairs)
        species = _species(r, len(ev_pairs), kaon_fraction, 0.04)
        plus = species
        minus = -_species(r, len(ev_pairs), kaon_fraction, 0.04)
        neutral_ev = np.concatenate([np.repeat(np.arange(n), c) for c in (n_pi0, n_ks, n_kl)])
        neutral_pdg = np.concatenate(
            [np.full(int(c.sum()), code) for c, code in ((n_pi0, PI0), (n_ks, KS), (n_kl, KL))]
        )
        event = np.concatenate([ev_pairs, ev_pairs, neutral_ev])
        pdg = np.concatenate([plus, minus, neutral_pdg])
        # jet of each particle: the first pair is split between the jets (leading particles), the rest random
        first = np.zeros(len(ev_pairs), dtype=bool)
        first[np.concatenate([[0], np.cumsum(n_pairs)[:-1]])] = True
        jet_plus = np.where(first, 1.0, r.choice([-1.0, 1.0], len(ev_pairs)))
        jet_minus = np.where(first, -1.0, r.choice([-1.0, 1.0], len(ev_pairs)))
        jet = np.concatenate([jet_plus, jet_minus, r.choice([-1.0, 1.0], len(neutral_ev))])
        counts, pdg, jet, event = _grouped(event, pdg, jet, event, n_parent=n)
        heavy = (
            np.bincount(event, mass_of(pdg), n) > 0.6 * w
        )  # keep phase space open: kaons, protons -> pions
        pdg = np.where(heavy[event] & np.isin(np.abs(pdg), (K, PROTON)), np.sign(pdg) * PI, pdg)
        # momentum along the jet axis (harder for leading particles) and transverse to it
        per_jet = counts[event] / 2.0
        p_long = r.gamma(1.3, (w[event] / 2.0) / np.maximum(per_jet, 1.0) / 1.3)
        p_t = r.gamma(2.0, 0.35 / 2.0, len(event))
        ax = axis[event] * jet[:, None]
        perp = np.cross(ax, isotropic(r, len(event)))
        perp /= np.linalg.norm(perp, axis=1, keepdims=True)
        initial = ax * p_long[:, None] + perp * p_t[:, None]
        table = ParticleTable()
        ev = np.arange(n)
        rest = np.stack([w, 0 * w, 0 * w, 0 * w], axis=1)
        # the q qbar system is not stored as a particle; daughters are primaries
        parent = table.add(ev, 0, rest)
        rows = decay_many_body(r, table, ev, parent, rest, counts, pdg, initial=initial)
        decay_prompt_neutrals(r, table, table_rows_p4(table, rows))
        parts = table.freeze()
        keep = parts.pdg != 0
        return _drop_rows(parts, keep)

    def sample(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
        return with_isr(rng, n, cfg, 5.0, hard)

    return sample


def _drop_rows(parts: Particles, keep: np.ndarray) -> Particles:
    """Remove rows (their daughters become primaries)."""
    rows = np.flatnonzero(keep)
    new_row = np.full(len(parts), -1, dtype=np.int64)
    new_row[rows] = np.arange(len(rows))
    mother = parts.mother[rows]
    mother = np.where(mother >= 0, new_row[np.maximum(mother, 0)], -1)
    return Particles(
        parts.event[rows], parts.pdg[rows], parts.p4[rows], mother, parts.ctau[rows]
    ).sorted_by_event()


def decay_b_generic(
    rng: np.random.Generator, table: ParticleTable, event: I8, rows: I8, p4: F8, pdg: np.ndarray
) -> None:
    """Isotropic multi-body decays of B mesons into π±, K±, π0, K_S, K_L and (semileptonic) ℓν."""
    n = len(rows)
    idx = np.arange(n)
    charge = np.sign(pdg) * (np.abs(pdg) == B_CHARGED)
    parent: list[np.ndarray] = []
    codes: list[np.ndarray] = []

    def put(p: np.ndarray, c: np.ndarray) -> None:
        parent.append(p)
        codes.append(c)

    lead = np.flatnonzero(charge != 0)
    put(lead, _species(rng, len(lead), 0.3) * charge[lead])
    n_pairs = np.minimum(1 + rng.poisson(1.2, n), 4)
    pp = np.repeat(idx, n_pairs)
    put(pp, _species(rng, len(pp), 0.15))
    put(pp, -_species(rng, len(pp), 0.15))
    semi = np.flatnonzero(rng.uniform(0, 1, n) < 0.2)
    lep = rng.choice([ELECTRON, MUON], len(semi)) * rng.choice([-1, 1], len(semi))
    put(semi, lep)
    put(semi, -np.sign(lep) * (np.abs(lep) + 1))  # the matching (anti)neutrino
    put(semi, np.sign(lep) * PI)  # balances the lepton's charge
    n_pi0 = np.minimum(rng.poisson(1.5, n), 4)
    put(np.repeat(idx, n_pi0), np.full(int(n_pi0.sum()), PI0))
    ks = np.flatnonzero(rng.uniform(0, 1, n) < 0.25)
    put(ks, np.full(len(ks), KS))
    kl = np.flatnonzero(rng.uniform(0, 1, n) < 0.2)
    put(kl, np.full(len(kl), KL))
    counts, daughters = _grouped(np.concatenate(parent), np.concatenate(codes), n_parent=n)
    # keep the daughters' masses well below the B mass: heavy sets decay to pions instead of kaons
    group = np.repeat(idx, counts)
    heavy = np.bincount(group, mass_of(daughters), n) > MASS[B_NEUTRAL] - 0.3
    daughters = np.where(heavy[group] & (np.abs(daughters) == K), np.sign(daughters) * PI, daughters)
    d_rows = decay_many_body(rng, table, event, rows, p4, counts, daughters, 0.9)
    decay_prompt_neutrals(rng, table, table_rows_p4(table, d_rows))


def upsilon_pairs(
    rng: np.random.Generator, n: int, cfg: GeneratorConfig, b_code: int
) -> tuple[ParticleTable, I8, F8, np.ndarray]:
    """Υ(4S) → B B̄ at rest in the CM (∝ sin²θ); returns the table, B rows, B four-vectors, B codes."""
    w = beams.sample_sqrt_s(rng, n, cfg.energy_spread)
    m_b = MASS[b_code]
    c = rejection(rng, n, lambda r, m: r.uniform(-1, 1, m), lambda c: 1 - c * c, 1.0)
    b1, b2 = back_to_back(two_body_momentum(w, m_b, m_b), c, rng.uniform(-np.pi, np.pi, n), m_b, m_b)
    table = ParticleTable()
    ev = np.arange(n)
    ups = table.add(ev, UPSILON_4S, np.stack([w, 0 * w, 0 * w, 0 * w], axis=1))
    r1 = table.add(ev, b_code, b1, ups)
    r2 = table.add(ev, -b_code, b2, ups)
    rows = np.concatenate([r1, r2])
    codes = np.concatenate([np.full(n, b_code), np.full(n, -b_code)])
    return table, rows, np.concatenate([b1, b2]), codes


def b_pairs(b_code: int) -> Sampler:
    def sample(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
        table, rows, p4, codes = upsilon_pairs(rng, n, cfg, b_code)
        ev = np.concatenate([np.arange(n), np.arange(n)])
        decay_b_generic(rng, table, ev, rows, p4, codes)
        return table.freeze().sorted_by_event()

    return sample


SAMPLERS: dict[str, Sampler] = {
    "eeee": two_photon(ELECTRON),
    "eemumu": two_photon(MUON),
    "eehadrons": two_photon_hadrons,
    "uubar": quark_pair(0.12),
    "ddbar": quark_pair(0.12),
    "ssbar": quark_pair(0.25),
    "ccbar": quark_pair(0.22),
    "mumu": mumu,
    "jpsi_isr": jpsi_isr,
    "bbbar_charged": b_pairs(B_CHARGED),
    "bbbar_mixed": b_pairs(B_NEUTRAL),
    "tautau": tautau,
    "bhabha": bhabha,
    "gammagamma": gammagamma,
}
