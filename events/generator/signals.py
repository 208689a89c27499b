"""Labelled dark-sector signals: spec strings and the samplers of docs/physics.md §4.

Spec strings read ``kind:key=value,...``, for example ``zprime:mass=3.0,fraction=0.01``,
``darkhiggs:ma=6,mh=2,fraction=0.01``, ``darkphoton:mass=4``, ``alp:mass=1.5`` or
``llp:mass=1.0,ctau=5,channel=pipi``. Masses in GeV, ``ctau`` in cm (Belle II units), ``fraction`` is the
share of the generated stream replaced by this signal (default 0.01).

Recipes (beam frame, +z along the incoming electron; signals get the beam-energy spread but no ISR, so the
injected peaks keep their nominal positions):

* ``zprime``: e+e- → μ+μ−Z′, the Z′ radiated off a muon: flat three-body phase space weighted by the
  tree-level matrix element of ``events.generator.fsr`` (both emission diagrams, massive Z′ polarisations,
  no soft approximation); Z′ invisible, so the μμ recoil mass is M(Z′).
* ``darkhiggs``: e+e- → A′h′, p* = λ^½(s, M²A′, M²h′)/(2√s), dσ/dcosθ ∝ p*² sin²θ + 2M²A′; A′ → μμ
  isotropic, h′ invisible: a 2-D peak at (m_μμ, M_rec) = (M_A′, M_h′).
* ``darkphoton``: e+e- → γA′, A′ invisible; E*γ = (s − M²)/(2√s), dσ/dcosθ ∝ (1 + cos²θ)/sin²θ
  (|cosθ*| < 0.97).
* ``alp``: e+e- → γa, dσ/dcosθ ∝ 1 + cos²θ, a → γγ isotropic.
* ``llp``: Υ(4S) → B+B−, one B → K S (isotropic), S → μμ or ππ after an exponential flight of mean
  (p/m)·cτ; the other B decays generically.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from events.generator import beams, fsr
from events.generator.particles import (
    F8,
    MASS,
    Particles,
    ParticleTable,
    cos_one_plus_cos2,
    cos_one_plus_cos2_over_sin2,
    decay_two_body,
    rejection,
    rotate_from_z,
    two_body_momentum,
    unit_vectors,
)
from events.generator.physics import (
    B_CHARGED,
    KAON_CODE,
    MUON,
    PHOTON,
    PI,
    GeneratorConfig,
    back_to_back,
    decay_b_generic,
    upsilon_pairs,
)
from events.generator.processes import (
    PDG_ALP,
    PDG_DARK_HIGGS,
    PDG_DARK_PHOTON,
    PDG_LLP_SCALAR,
    PDG_ZPRIME,
    SIGNAL_BY_NAME,
)

DEFAULT_FRACTION = 0.01
M_MU = MASS[MUON]


class SignalSpecError(ValueError):
    """A signal spec string that cannot be used."""


@dataclass(frozen=True)
class SignalSpec:
    """One injected signal: its kind, the share of the stream it replaces, and its parameters."""

    kind: str
    mass: float
    fraction: float = DEFAULT_FRACTION
    mass2: float = float("nan")  # darkhiggs: M(h')
    ctau: float = float("nan")  # llp: c tau of S [cm]
    channel: str = ""  # llp: "mumu" or "pipi"

    @property
    def code(self) -> int:
        return SIGNAL_BY_NAME[self.kind].code

    def __str__(self) -> str:
        if self.kind == "darkhiggs":
            params = f"ma={self.mass:g},mh={self.mass2:g}"
        elif self.kind == "llp":
            params = f"mass={self.mass:g},ctau={self.ctau:g},channel={self.channel}"
        else:
            params = f"mass={self.mass:g}"
        return f"{self.kind}:{params},fraction={self.fraction:g}"


_KEYS = {
    "zprime": {"mass", "fraction"},
    "darkhiggs": {"ma", "mh", "mass", "fraction"},
    "darkphoton": {"mass", "fraction"},
    "alp": {"mass", "fraction"},
    "llp": {"mass", "ctau", "channel", "fraction"},
}


def parse_signal(spec: str) -> SignalSpec:
    """Parse ``kind:key=value,...`` into a validated ``SignalSpec``; ``SignalSpecError`` says why not."""
    text = spec.strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in _KEYS:
        raise SignalSpecError(f"signal {spec!r}: unknown kind {kind!r} (choose from {', '.join(_KEYS)})")
    values: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not value.strip():
            raise SignalSpecError(f"signal {spec!r}: expected key=value, got {item!r}")
        if key not in _KEYS[kind]:
            raise SignalSpecError(
                f"signal {spec!r}: {kind} takes {', '.join(sorted(_KEYS[kind]))}, not {key!r}"
            )
        values[key] = value.strip()

    def number(key: str, default: float | None = None) -> float:
        if key not in values:
            if default is None:
                raise SignalSpecError(f"signal {spec!r}: {kind} needs {key}=<GeV>")
            return default
        try:
            x = float(values[key])
        except ValueError:
            raise SignalSpecError(f"signal {spec!r}: {key}={values[key]!r} is not a number") from None
        if not np.isfinite(x):
            raise SignalSpecError(f"signal {spec!r}: {key} must be finite")
        return x

    fraction = number("fraction", DEFAULT_FRACTION)
    if not 0.0 < fraction <= 1.0:
        raise SignalSpecError(f"signal {spec!r}: fraction must be in (0, 1], got {fraction:g}")
    sqrt_s = beams.SQRT_S
    if kind == "darkhiggs":
        ma = number("ma") if "ma" in values or "mass" not in values else number("mass")
        mh = number("mh")
        if ma <= 2 * M_MU or mh < 0 or ma + mh >= sqrt_s:
            raise SignalSpecError(
                f"signal {spec!r}: need 2 m_mu < ma and ma + mh < sqrt(s) = {sqrt_s:.3f} GeV, mh >= 0"
            )
        return SignalSpec(kind, ma, fraction, mass2=mh)
    mass = number("mass")
    limits = {
        "zprime": (0.0, sqrt_s - 2 * M_MU),
        "darkphoton": (0.0, sqrt_s),
        "alp": (0.0, sqrt_s),
    }
    if kind == "llp":
        channel = values.get("channel", "mumu").lower()
        if channel not in ("mumu", "pipi"):
            raise SignalSpecError(f"signal {spec!r}: channel must be mumu or pipi, got {channel!r}")
        ctau = number("ctau", 1.0)
        if ctau <= 0:
            raise SignalSpecError(f"signal {spec!r}: ctau must be positive [cm]")
        m_d = MASS[MUON] if channel == "mumu" else MASS[PI]
        hi = MASS[B_CHARGED] - MASS[KAON_CODE]
        if not 2 * m_d < mass < hi:
            raise SignalSpecError(
                f"signal {spec!r}: mass must be in ({2 * m_d:.3f}, {hi:.3f}) GeV for {channel}"
            )
        return SignalSpec(kind, mass, fraction, ctau=ctau, channel=channel)
    lo, hi = limits[kind]
    if not lo <= mass < hi or (kind != "darkphoton" and mass <= 0):
        raise SignalSpecError(f"signal {spec!r}: mass must be in ({lo:g}, {hi:.3f}) GeV")
    return SignalSpec(kind, mass, fraction)


# ---------------------------------------------------------------------------------------- samplers


def _three_body_dalitz(
    rng: np.random.Generator, sqrt_s: F8, m1: float, m2: float, m3: float
) -> tuple[F8, F8]:
    """(m12², m23²) uniform inside the Dalitz plot of each event."""
    n = len(sqrt_s)
    m12 = np.empty(n)
    m23 = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        w = sqrt_s[todo]
        a = rng.uniform((m1 + m2) ** 2, (w - m3) ** 2)
        b = rng.uniform((m2 + m3) ** 2, (w - m1) ** 2)
        m = np.sqrt(a)
        e2 = (a - m1**2 + m2**2) / (2 * m)
        e3 = (w**2 - a - m3**2) / (2 * m)
        q2 = np.sqrt(np.clip(e2**2 - m2**2, 0, None))
        q3 = np.sqrt(np.clip(e3**2 - m3**2, 0, None))
        ok = ((e2 + e3) ** 2 - (q2 + q3) ** 2 <= b) & (b <= (e2 + e3) ** 2 - (q2 - q3) ** 2)
        m12[todo[ok]], m23[todo[ok]] = a[ok], b[ok]
        todo = todo[~ok]
    return m12, m23


def _inside_dalitz(w: F8, m12: F8, m23: F8, m1: float, m2: float, m3: float) -> NDArray[np.bool_]:
    """Whether (m12², m23²) lies inside the Dalitz plot of each event."""
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.sqrt(m12)
        e2 = (m12 - m1**2 + m2**2) / (2 * m)
        e3 = (w**2 - m12 - m3**2) / (2 * m)
        q2 = np.sqrt(np.clip(e2**2 - m2**2, 0, None))
        q3 = np.sqrt(np.clip(e3**2 - m3**2, 0, None))
        inside = ((e2 + e3) ** 2 - (q2 + q3) ** 2 <= m23) & (m23 <= (e2 + e3) ** 2 - (q2 - q3) ** 2)
    return inside & (m12 >= (m1 + m2) ** 2) & (m12 <= (w - m3) ** 2)


def _radiation_dalitz(rng: np.random.Generator, w: F8, mz: float) -> tuple[F8, F8, F8]:
    """(m12², m23², 1/proposal density) of mu-(1) mu+(2) Z'(3), drawn where the radiation is.

    The emission off the mu- goes as 1/D1, D1 = m13² - m², off the mu+ as 1/D2, D2 = m23² - m², so
    the proposal is the even mixture of log-uniform D1 (m23² flat) and log-uniform D2 (m13² flat),
    kept inside the Dalitz plot; phase space is flat in any two of the pair masses.
    """
    m, n = M_MU, len(w)
    lo, hi = np.full(n, (m + mz) ** 2 - m * m), (w - m) ** 2 - m * m  # range of D1 and of D2
    span = np.log(hi / lo)
    m12 = np.empty(n)
    m23 = np.empty(n)
    inverse = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        k = len(todo)
        log_d = lo[todo] * np.exp(span[todo] * rng.uniform(0, 1, k))
        flat = rng.uniform(lo[todo], hi[todo])
        first = rng.uniform(0, 1, k) < 0.5
        d1 = np.where(first, log_d, flat)
        d2 = np.where(first, flat, log_d)
        a, b = d1 + m * m, d2 + m * m  # m13², m23²
        c = w[todo] ** 2 + 2 * m * m + mz * mz - a - b  # m12²
        ok = _inside_dalitz(w[todo], c, b, m, m, mz)
        rows = todo[ok]
        m12[rows], m23[rows] = c[ok], b[ok]
        density = 0.5 / (d1[ok] * span[todo][ok]) + 0.5 / (d2[ok] * span[todo][ok])
        inverse[rows] = 1.0 / (density * (hi[rows] - lo[rows]))
        todo = todo[~ok]
    return m12, m23, inverse


def _zprime_candidates(rng: np.random.Generator, w: F8, mz: float) -> tuple[F8, F8, F8, F8]:
    """mu-, mu+ and Z' four-vectors near the radiation's peaks, the whole event turned at random,
    and the phase-space weight (1/proposal density) of each."""
    n = len(w)
    s = w * w
    m12, m23, inverse = _radiation_dalitz(rng, w, mz)
    e1 = (s + M_MU**2 - m23) / (2 * w)  # mu-
    e3 = (s + mz**2 - m12) / (2 * w)  # Z'
    e2 = w - e1 - e3
    p1, p2, p3 = (np.sqrt(np.clip(e * e - m * m, 0, None)) for e, m in ((e1, M_MU), (e2, M_MU), (e3, mz)))
    with np.errstate(invalid="ignore", divide="ignore"):
        c13 = np.clip((p2**2 - p1**2 - p3**2) / (2 * p1 * p3), -1, 1)
    psi = rng.uniform(-np.pi, np.pi, n)
    s13 = np.sqrt(1 - c13**2)
    v1 = np.stack([0 * p1, 0 * p1, p1], axis=1)
    v3 = np.stack([p3 * s13 * np.cos(psi), p3 * s13 * np.sin(psi), p3 * c13], axis=1)
    axis = unit_vectors(rng.uniform(-1.0, 1.0, n), rng.uniform(-np.pi, np.pi, n))
    v1, v3 = rotate_from_z(v1, axis), rotate_from_z(v3, axis)
    v2 = -(v1 + v3)
    return np.column_stack([e1, v1]), np.column_stack([e2, v2]), np.column_stack([e3, v3]), inverse


def _zprime_weights(rng: np.random.Generator, w: F8, mz: float) -> tuple[F8, F8, F8, F8]:
    p1, p2, k, inverse = _zprime_candidates(rng, w, mz)
    return p1, p2, k, fsr.squared_amplitude(p1, p2, k, M_MU, mz) * inverse


ZPRIME_PILOT = 8192  # phase-space points that set the acceptance bound of the matrix element


@functools.cache
def _zprime_bound(mz: float) -> float:
    """1.25 times the largest weight of a pilot sample at the nominal energy (its own fixed seed)."""
    pilot = _zprime_weights(np.random.default_rng(20260), np.full(ZPRIME_PILOT, beams.SQRT_S), mz)[3]
    return 1.25 * float(pilot.max())


def zprime(spec: SignalSpec, rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    """mu+ mu- Z' by the FSR matrix element (``events.generator.fsr``), unweighted by acceptance."""
    mz = spec.mass
    w_max = _zprime_bound(mz)
    parts: list[tuple[F8, F8, F8]] = []
    have = 0
    while have < n:
        m = max(64, 2 * (n - have))
        p1, p2, k, weight = _zprime_weights(rng, beams.sample_sqrt_s(rng, m, cfg.energy_spread), mz)
        w_max = max(w_max, float(weight.max()))  # a point above the bound raises it for what follows
        keep = rng.uniform(0.0, w_max, m) < weight
        parts.append((p1[keep], p2[keep], k[keep]))
        have += int(keep.sum())
    mu_minus, mu_plus, boson = (np.concatenate(c)[:n] for c in zip(*parts, strict=True))
    table = ParticleTable()
    ev = np.arange(n)
    table.add(ev, MUON, mu_minus)
    table.add(ev, -MUON, mu_plus)
    table.add(ev, PDG_ZPRIME, boson)
    return table.freeze().sorted_by_event()


def darkhiggs(spec: SignalSpec, rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    w = beams.sample_sqrt_s(rng, n, cfg.energy_spread)
    ma, mh = spec.mass, spec.mass2
    p = two_body_momentum(w, ma, mh)
    p_max = float(p.max())
    c = rejection(rng, n, lambda r, m: r.uniform(-1, 1, m), lambda c: p_max**2 * (1 - c * c) + 2 * ma**2,
                  p_max**2 + 2 * ma**2)  # fmt: skip
    a_p4, h_p4 = back_to_back(p, c, rng.uniform(-np.pi, np.pi, n), ma, mh)
    table = ParticleTable()
    ev = np.arange(n)
    a_rows = table.add(ev, PDG_DARK_PHOTON, a_p4)
    table.add(ev, PDG_DARK_HIGGS, h_p4)
    decay_two_body(rng, table, ev, a_rows, a_p4, MUON, -MUON)
    return table.freeze().sorted_by_event()


def darkphoton(spec: SignalSpec, rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    w = beams.sample_sqrt_s(rng, n, cfg.energy_spread)
    c = cos_one_plus_cos2_over_sin2(rng, n, 0.97)
    g, a = back_to_back(
        two_body_momentum(w, 0.0, spec.mass), c, rng.uniform(-np.pi, np.pi, n), 0.0, spec.mass
    )
    table = ParticleTable()
    ev = np.arange(n)
    table.add(ev, PHOTON, g)
    table.add(ev, PDG_DARK_PHOTON, a)
    return table.freeze().sorted_by_event()


def alp(spec: SignalSpec, rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    w = beams.sample_sqrt_s(rng, n, cfg.energy_spread)
    c = cos_one_plus_cos2(rng, n)
    g, a = back_to_back(
        two_body_momentum(w, 0.0, spec.mass), c, rng.uniform(-np.pi, np.pi, n), 0.0, spec.mass
    )
    table = ParticleTable()
    ev = np.arange(n)
    table.add(ev, PHOTON, g)
    a_rows = table.add(ev, PDG_ALP, a)
    decay_two_body(rng, table, ev, a_rows, a, PHOTON, PHOTON)
    return table.freeze().sorted_by_event()


def llp(spec: SignalSpec, rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    table, rows, p4, codes = upsilon_pairs(rng, n, cfg, B_CHARGED)
    ev2 = np.concatenate([np.arange(n), np.arange(n)])
    signal_first = rng.uniform(0, 1, n) < 0.5
    is_signal = np.concatenate([signal_first, ~signal_first])
    sig = np.flatnonzero(is_signal)
    oth = np.flatnonzero(~is_signal)
    k_code = np.sign(codes[sig]) * KAON_CODE
    _, s_rows = decay_two_body(
        rng, table, ev2[sig], rows[sig], p4[sig], k_code, PDG_LLP_SCALAR, ctau2=spec.ctau, mass2=spec.mass
    )
    s_p4 = table.last_block()[2]
    d = MUON if spec.channel == "mumu" else PI
    decay_two_body(rng, table, ev2[sig], s_rows, s_p4, d, -d)
    decay_b_generic(rng, table, ev2[oth], rows[oth], p4[oth], codes[oth])
    return table.freeze().sorted_by_event()


SIGNAL_SAMPLERS = {"zprime": zprime, "darkhiggs": darkhiggs, "darkphoton": darkphoton, "alp": alp, "llp": llp}


def sample_signal(spec: SignalSpec, rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> Particles:
    return SIGNAL_SAMPLERS[spec.kind](spec, rng, n, cfg)
