"""Detector response: true particles (lab frame, with vertices) → tracks, ECL/KLM clusters, vertices, mc.

Figures (docs/physics.md §1 and §5.3, docs/detector.md; "approx." marks our own estimates):

* Tracks: CDC acceptance 17°–150°, pT > 0.05 GeV (a 0.05 GeV track still reaches r = 22 cm; below
  0.25 GeV it curls inside the CDC and is kept), production radius < 60 cm, 99 % finding efficiency
  (approx.). Helices from ``events.helix.from_cartesian`` in Bz = 1.5 T, smeared with
  σpT/pT = 0.1 %·pT ⊕ 0.3 %/β, σφ0 = σθ = 1 mrad, σd0 = 12 µm ⊕ 11 µm/(pβ sin^{3/2}θ),
  σz0 = 15 µm ⊕ 19 µm/(pβ sin^{5/2}θ) (impact-parameter terms approx.), correlations ρ(d0, φ0) =
  ρ(z0, tanλ) = −0.4 (approx.); ``cov`` holds exactly the covariance the smearing used. The stored fit is
  the pion hypothesis (pdg 211), as mdst tracks are drawn; p-values are uniform (a correct fit).
* PID: ``pid_logl`` (e, μ, π, K, p, d) = −½(Δ + |z|)² with Gaussian z and per-pair separations Δ (σ)
  from dE/dx (1), ECL E/p (5 for e in the ECL with p > 0.3 GeV), KLM (4 for μ/hadron when the track reaches
  the KLM, p > 0.7 GeV), TOP/ARICH (3.5 for π/K/p below 3 GeV, 2 above). Physics mis-identification on top:
  7 % of KLM-reaching muons look like pions (cracks, inefficiency), 2 % of KLM-reaching pions look like muons
  (decay in flight, punch-through), 5 % / 0.3 % for electrons. With muonID = L_μ/ΣL > 0.9 this gives
  ε(μ) ≈ 92 % and π → μ ≈ 2 % above 1 GeV, in line with Belle II's muon ID (approx.).
* ECL: photons and e± deposit their energy smeared by σE/E = 0.066 %/E ⊕ 0.81 %/E^¼ ⊕ 1.34 %; muons a
  minimum-ionising ≈ 0.2 GeV; hadrons a MIP or (50 % above 0.5 GeV) part of their kinetic energy; K_L
  interact in half the cases. A cluster sits at the hit crystal (``geometry.ecl.cell_at``), at that
  crystal's centre (``geometry.ecl.crystal_centres``); particles sharing a crystal merge. 20 MeV threshold.
* KLM: muons above 0.6 GeV reaching r = 202 cm (barrel) or the endcap planes (z = +277 / −183 cm, r 130–332
  cm) with 95 % efficiency, layer count from the range; 8 % of pions above 0.8 GeV punch through (1–3
  layers); half of the K_L give a cluster.
* Vertices: the primary vertex (σ 10 µm in x, y, 20 µm in z); a V0 (K_S) or DISPLACED (long-lived S)
  vertex for every two-prong decay whose daughters are both tracked, cov from σ⊥ 10 µm / σ∥ 500 µm
  (along the flight direction); every vertex position is the true one plus a draw from its stated
  covariance, so residual / σ has unit width; ``dca`` = the closest approach of the two smeared
  daughter helices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from events import helix, vertexing
from events.generator.particles import F8, Particles, charge_of
from events.generator.processes import PDG_LLP_SCALAR
from events.model import Collection, VertexKind
from geometry.angles import polar_angle
from geometry.ecl import inner_surface as ecl_inner_surface
from geometry.klm import bklm

C_LIGHT = helix.C_LIGHT
CHARGED = (11, 13, 211, 321, 2212)
HYPOTHESIS_INDEX = {11: 0, 13: 1, 211: 2, 321: 3, 2212: 4}
CDC_THETA = (np.radians(17.0), np.radians(150.0))
PT_MIN = 0.05
TRACK_EFFICIENCY = 0.99
MAX_PRODUCTION_RADIUS = 60.0

# where particles enter the ECL and the KLM [cm]: the geometry tables' figures, except where noted
_ECL = ecl_inner_surface()
ECL_BARREL_R = _ECL.barrel_r
ECL_BARREL_Z = (-100.3, 198.7)  # the barrel's inner surface: ECL_BARREL_R / tan(theta) at its edges
ECL_FWD_Z, ECL_BWD_Z = _ECL.forward_z, _ECL.backward_z
ECL_ENDCAP_R = (43.0, ECL_BARREL_R)  # 43 cm: the endcaps' inner edge (ARICH support tube)
ECL_THRESHOLD = 0.02

KLM_BARREL_R = bklm().inner
KLM_Z = (bklm().offset_z - bklm().half_length, bklm().offset_z + bklm().half_length)
KLM_ENDCAP_R = (130.0, 332.0)

PRIMARY_VERTEX_SIGMA = np.array([10e-4, 10e-4, 20e-4])  # cm
SV_SIGMA_PERP, SV_SIGMA_PAR = 10e-4, 500e-4  # cm


def _ecl_geometry():
    """``geometry.ecl`` when available (None otherwise: clusters then keep the hit direction)."""
    try:
        from geometry import ecl
    except ImportError:
        return None
    return ecl


def ecl_resolution(energy: F8) -> F8:
    """σE/E of the CsI(Tl) calorimeter (docs/physics.md §1)."""
    e = np.maximum(energy, 1e-4)
    return np.sqrt((0.00066 / e) ** 2 + (0.0081 / e**0.25) ** 2 + 0.0134**2)


# ---------------------------------------------------------------------------------------- tracks


def _smear_helices(
    rng: np.random.Generator, true: tuple[F8, ...], p: F8, beta: F8, sin_t: F8
) -> tuple[F8, F8]:
    d0, phi0, omega, z0, tl = true
    n = len(d0)
    pt = np.abs(helix.PT_PER_CURVATURE * 1.5 / omega)
    s_rel = np.sqrt((0.001 * pt) ** 2 + (0.003 / beta) ** 2)
    s_omega = np.abs(omega) * s_rel
    s_phi = np.full(n, 1e-3)
    s_tl = 1e-3 / sin_t**2
    pb = p * beta
    s_d0 = np.sqrt(12e-4**2 + (11e-4 / (pb * sin_t**1.5)) ** 2)
    s_z0 = np.sqrt(15e-4**2 + (19e-4 / (pb * sin_t**2.5)) ** 2)
    rho = -0.4
    z = rng.normal(size=(5, n))
    out = np.stack(
        [
            d0 + s_d0 * z[0],
            phi0 + s_phi * (rho * z[0] + np.sqrt(1 - rho**2) * z[1]),
            omega + s_omega * z[2],
            z0 + s_z0 * z[3],
            tl + s_tl * (rho * z[3] + np.sqrt(1 - rho**2) * z[4]),
        ],
        axis=1,
    )
    out[:, 1] = np.angle(np.exp(1j * out[:, 1]))
    cov = np.zeros((n, 15))
    sig = [s_d0, s_phi, s_omega, s_z0, s_tl]
    upper = [(i, j) for i in range(5) for j in range(i, 5)]
    for k, (i, j) in enumerate(upper):
        if i == j:
            cov[:, k] = sig[i] ** 2
        elif (i, j) in ((0, 1), (3, 4)):
            cov[:, k] = rho * sig[i] * sig[j]
    return out, cov


def _pid(rng: np.random.Generator, true_pdg: np.ndarray, p: F8, in_ecl: np.ndarray, in_klm: np.ndarray) -> F8:
    n = len(true_pdg)
    t = (
        np.array([HYPOTHESIS_INDEX[int(a)] for a in np.abs(true_pdg)], dtype=np.int64)
        if n
        else np.zeros(0, int)
    )
    u = rng.uniform(0, 1, n)
    looks = t.copy()
    looks[(t == 1) & in_klm & (u < 0.07)] = 2  # muon seen as pion
    looks[(t == 2) & in_klm & (u < 0.02)] = 1  # pion seen as muon
    looks[(t == 0) & in_ecl & (u < 0.05)] = 2
    looks[(t == 2) & in_ecl & (u > 0.997)] = 0
    ecl = np.where(in_ecl & (p > 0.3), 5.0, 0.0)
    klm = np.where(in_klm, 4.0, 0.0)
    had = np.where(p < 3.0, 3.5, 2.0)
    sep2 = np.ones((n, 6, 6))
    for x in range(6):
        if x != 0:
            sep2[:, 0, x] += ecl**2
        if x >= 2:
            sep2[:, 1, x] += klm**2
    for a, b in ((2, 3), (3, 4), (2, 4), (0, 3), (0, 4), (1, 3), (1, 4)):
        sep2[:, a, b] += had**2
    for x in range(5):
        sep2[:, x, 5] += 36.0
    sep2 = np.maximum(sep2, np.transpose(sep2, (0, 2, 1)))
    delta = np.sqrt(sep2[np.arange(n), looks])  # (n, 6): separation of each hypothesis from the look
    delta[np.arange(n), looks] = 0.0
    zabs = np.abs(rng.normal(size=(n, 6)))
    return -0.5 * (delta + zabs) ** 2


# ---------------------------------------------------------------------------------------- surfaces


def _helix_hit(
    hel: tuple[F8, ...], r_barrel: float, z_range: tuple[float, float], r_endcap: tuple[float, float]
) -> tuple[F8, np.ndarray]:
    """Where each helix first meets a barrel cylinder or an endcap plane; (points, hit flag)."""
    d0, phi0, omega, z0, tl = hel
    s_r = helix.arc_length_to_radius(d0, omega, r_barrel)
    z_r = z0 + s_r * tl
    barrel = np.isfinite(s_r) & (z_r >= z_range[0]) & (z_r <= z_range[1])
    z_plane = np.where(tl >= 0, z_range[1], z_range[0])
    s_z = helix.arc_length_to_z(z0, tl, z_plane)
    s = np.where(barrel, s_r, s_z)
    s = np.where(np.isfinite(s), s, 0.0)
    pts = helix.positions(d0, phi0, omega, z0, tl, s)
    rho = np.hypot(pts[:, 0], pts[:, 1])
    endcap = ~barrel & (s_z > 0) & (rho >= r_endcap[0]) & (rho <= r_endcap[1])
    return pts, barrel | endcap


def _line_hit(
    start: F8, direction: F8, r_barrel: float, z_range: tuple[float, float], r_endcap: tuple[float, float]
) -> tuple[F8, np.ndarray]:
    ux, uy = direction[:, 0], direction[:, 1]
    x0, y0 = start[:, 0], start[:, 1]
    a = ux * ux + uy * uy
    b = 2 * (x0 * ux + y0 * uy)
    c = x0 * x0 + y0 * y0 - r_barrel**2
    with np.errstate(invalid="ignore", divide="ignore"):
        t_r = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
        z_plane = np.where(direction[:, 2] >= 0, z_range[1], z_range[0])
        t_z = (z_plane - start[:, 2]) / direction[:, 2]
    z_r = start[:, 2] + t_r * direction[:, 2]
    barrel = np.isfinite(t_r) & (t_r > 0) & (z_r >= z_range[0]) & (z_r <= z_range[1])
    t = np.where(barrel, t_r, np.where(np.isfinite(t_z), t_z, 0.0))
    pts = start + t[:, None] * direction
    rho = np.hypot(pts[:, 0], pts[:, 1])
    endcap = ~barrel & (t > 0) & (rho >= r_endcap[0]) & (rho <= r_endcap[1])
    return pts, barrel | endcap


def _local_index(global_rows: np.ndarray, event: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.where(global_rows >= 0, global_rows - offsets[event], -1)


def _offsets(event: np.ndarray, n_events: int) -> np.ndarray:
    off = np.zeros(n_events + 1, dtype=np.int64)
    np.cumsum(np.bincount(event, minlength=n_events), out=off[1:])
    return off


# ---------------------------------------------------------------------------------------- response


def respond(
    rng: np.random.Generator,
    parts: Particles,
    production: F8,
    decay: F8,
    primary: F8,
    n_events: int,
    bz: float = 1.5,
    beam_background: bool = False,
) -> dict[str, Collection]:
    """All reconstructed collections and the mc truth for particles sorted by event (lab frame)."""
    n = len(parts)
    apdg = np.abs(parts.pdg)
    final = ~parts.has_daughters()
    p3 = parts.p4[:, 1:]
    p = np.linalg.norm(p3, axis=1)
    pt = np.hypot(p3[:, 0], p3[:, 1])
    energy = parts.p4[:, 0]
    mass = np.sqrt(np.clip(energy**2 - p**2, 0, None))
    theta = polar_angle(p3)
    charge = charge_of(parts.pdg)
    mc_off = _offsets(parts.event, n_events)

    # ---- charged particles: true helices, tracking acceptance, ECL/KLM extrapolation
    charged = np.flatnonzero(final & np.isin(apdg, CHARGED) & (pt > 1e-6))
    true_hel = helix.from_cartesian(production[charged], p3[charged], charge[charged], bz)
    rho_prod = np.hypot(production[charged, 0], production[charged, 1])
    tracked = (
        (theta[charged] >= CDC_THETA[0])
        & (theta[charged] <= CDC_THETA[1])
        & (pt[charged] > PT_MIN)
        & (rho_prod < MAX_PRODUCTION_RADIUS)
        & (np.abs(production[charged, 2]) < 80.0)
        & (rng.uniform(0, 1, len(charged)) < TRACK_EFFICIENCY)
    )
    ecl_pts_c, ecl_hit_c = _helix_hit(true_hel, ECL_BARREL_R, ECL_BARREL_Z, ECL_ENDCAP_R)
    ecl_hit_c &= rho_prod < ECL_BARREL_R - 5
    klm_pts_c, klm_hit_c = _helix_hit(true_hel, KLM_BARREL_R, KLM_Z, KLM_ENDCAP_R)
    klm_hit_c &= ecl_hit_c

    # ---- neutral particles: straight lines
    neutral = np.flatnonzero(final & np.isin(apdg, (22, 130)))
    direction = p3[neutral] / np.maximum(p[neutral], 1e-12)[:, None]
    ecl_pts_n, ecl_hit_n = _line_hit(production[neutral], direction, ECL_BARREL_R, ECL_BARREL_Z, ECL_ENDCAP_R)
    klm_pts_n, klm_hit_n = _line_hit(production[neutral], direction, KLM_BARREL_R, KLM_Z, KLM_ENDCAP_R)

    # ---- ECL deposits
    rows = np.concatenate([charged, neutral])
    pts = np.concatenate([ecl_pts_c, ecl_pts_n])
    hit = np.concatenate([ecl_hit_c, ecl_hit_n])
    dep = _ecl_deposit(rng, apdg[rows], energy[rows], mass[rows], p[rows])
    keep = hit & (dep > 0)
    rows, pts, dep = rows[keep], pts[keep], dep[keep]
    ecl_cols, ecl_event, particle_cluster = _ecl_clusters(rng, parts.event, rows, pts, dep, mc_off, n)

    # ---- tracks
    trk_rows = charged[tracked]
    measured, cov = _smear_helices(
        rng,
        tuple(h[tracked] for h in true_hel),
        p[trk_rows],
        p[trk_rows] / energy[trk_rows],
        np.sin(theta[trk_rows]),
    )
    trk_event = parts.event[trk_rows]
    trk_off = _offsets(trk_event, n_events)
    track_of_particle = np.full(n, -1, dtype=np.int64)
    track_of_particle[trk_rows] = np.arange(len(trk_rows))

    # ---- KLM clusters
    klm_cols, klm_event, particle_klm = _klm_clusters(
        rng, parts.event, charged, klm_pts_c, klm_hit_c, neutral, klm_pts_n, klm_hit_n, apdg, p, mc_off, n
    )
    in_klm = (particle_klm[trk_rows] >= 0) | (
        (apdg[trk_rows] == 13) & (p[trk_rows] > 0.7) & klm_hit_c[tracked]
    )
    in_ecl = particle_cluster[trk_rows] >= 0
    pid = _pid(rng, parts.pdg[trk_rows], p[trk_rows], in_ecl, in_klm)

    ecl_off = _offsets(ecl_event, n_events)
    klm_off = _offsets(klm_event, n_events)
    tracks_cols = {
        "d0": measured[:, 0],
        "phi0": measured[:, 1],
        "omega": measured[:, 2],
        "z0": measured[:, 3],
        "tan_lambda": measured[:, 4],
        "cov": cov,
        "charge": charge[trk_rows],
        "pdg": np.full(len(trk_rows), 211),
        "p_value": rng.uniform(0, 1, len(trk_rows)),
        "pid_logl": pid,
        "ecl_index": _local_index(particle_cluster[trk_rows], trk_event, ecl_off),
        "klm_index": _local_index(particle_klm[trk_rows], trk_event, klm_off),
        "mc_index": trk_rows - mc_off[trk_event],
    }
    # clusters matched to a track
    is_track = np.zeros(len(ecl_event), dtype=bool)
    matched = particle_cluster[trk_rows]
    is_track[matched[matched >= 0]] = True
    ecl_cols["is_track"] = is_track

    # the vertices' smearing draws from a child stream, so the other detector responses of a seed stay
    vtx_cols, vtx_event = _vertices(
        rng.spawn(1)[0], parts, decay, primary, track_of_particle, measured, trk_off, trk_event, n_events
    )

    collections_rows = {
        "tracks": (trk_event, tracks_cols),
        "ecl": (ecl_event, ecl_cols),
        "klm": (klm_event, klm_cols),
        "vertices": (vtx_event, vtx_cols),
    }
    if beam_background:
        collections_rows = _add_beam_background(rng, collections_rows, n_events, bz)
    out = {
        name: Collection.from_columns(name, np.bincount(ev, minlength=n_events), cols)
        for name, (ev, cols) in collections_rows.items()
    }
    out["mc"] = _mc(parts, production, decay, mass, mc_off, n_events)
    return out


def _ecl_deposit(rng: np.random.Generator, apdg: np.ndarray, energy: F8, mass: F8, p: F8) -> F8:
    n = len(apdg)
    e_kin = energy - mass
    mip = np.minimum(e_kin, 0.165 + rng.gamma(1.5, 0.02, n))
    em = energy * (1 + ecl_resolution(energy) * rng.normal(size=n))
    hadron = np.isin(apdg, (211, 321, 2212))
    shower = rng.uniform(0, 1, n) < np.where(p > 0.5, 0.5, 0.15)
    had_dep = np.where(shower, e_kin * rng.uniform(0.15, 0.85, n), mip)
    kl_dep = np.where(rng.uniform(0, 1, n) < 0.5, e_kin * rng.uniform(0.1, 0.7, n), 0.0)
    return np.select(
        [np.isin(apdg, (11, 22)), apdg == 13, hadron, apdg == 130], [em, mip, had_dep, kl_dep], default=0.0
    )


def _ecl_clusters(
    rng: np.random.Generator,
    event_of: np.ndarray,
    rows: np.ndarray,
    pts: F8,
    dep: F8,
    mc_off: np.ndarray,
    n_particles: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    theta = polar_angle(pts)
    phi = np.arctan2(pts[:, 1], pts[:, 0])
    ecl = _ecl_geometry()
    if ecl is not None:
        cell = np.asarray(ecl.cell_at(theta, phi), dtype=np.int64)
        inside = cell > 0
    else:
        cell = np.zeros(len(rows), dtype=np.int64)
        inside = np.ones(len(rows), dtype=bool)
    rows, theta, phi, dep, cell, pts = (
        rows[inside],
        theta[inside],
        phi[inside],
        dep[inside],
        cell[inside],
        pts[inside],
    )
    event = event_of[rows]
    # particles hitting the same crystal of an event merge into one cluster
    key = event * 10_000 + (cell if ecl is not None else np.arange(len(rows)) % 10_000)
    order = np.lexsort((-dep, key))
    rows, cell, event, key = rows[order], cell[order], event[order], key[order]
    theta, phi, dep, pts = theta[order], phi[order], dep[order], pts[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    cluster_of_dep = np.cumsum(first) - 1
    e_cluster = np.bincount(cluster_of_dep, dep) if len(dep) else np.zeros(0)
    lead = np.flatnonzero(first)  # the highest deposit of each cluster
    ok = e_cluster > ECL_THRESHOLD
    new_index = np.cumsum(ok) - 1
    particle_cluster = np.full(n_particles, -1, dtype=np.int64)
    dep_ok = ok[cluster_of_dep]
    particle_cluster[rows[dep_ok]] = new_index[cluster_of_dep[dep_ok]]
    lead = lead[ok]
    energy = e_cluster[ok]
    if ecl is not None and len(lead):
        centre = np.asarray(ecl.crystal_centres())[cell[lead] - 1]
        c_theta = polar_angle(centre)
        c_phi = np.arctan2(centre[:, 1], centre[:, 0])
        c_r = np.linalg.norm(centre, axis=1)
    else:
        c_theta, c_phi, c_r = theta[lead], phi[lead], np.linalg.norm(pts[lead], axis=1) + 15.0
    k = len(lead)
    n_crystals = np.clip(np.round(1 + 9 * np.sqrt(np.maximum(energy, 0)) + rng.normal(0, 1, k)), 1, 60)
    cols = {
        "energy": energy,
        "theta": c_theta,
        "phi": c_phi,
        "r": c_r,
        "time": rng.normal(0, 1, k) * np.sqrt(0.3**2 + (0.05 / np.maximum(energy, 1e-3)) ** 2),
        "cell_id": cell[lead],
        "n_crystals": n_crystals,
        "hypotheses": np.full(k, 48),
        "mc_index": rows[lead] - mc_off[event[lead]],
    }
    return cols, event[lead], particle_cluster


def _klm_clusters(
    rng: np.random.Generator,
    event_of: np.ndarray,
    charged: np.ndarray,
    pts_c: F8,
    hit_c: np.ndarray,
    neutral: np.ndarray,
    pts_n: F8,
    hit_n: np.ndarray,
    apdg: np.ndarray,
    p: F8,
    mc_off: np.ndarray,
    n_particles: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rows = np.concatenate([charged, neutral])
    pts = np.concatenate([pts_c, pts_n])
    hit = np.concatenate([hit_c, hit_n])
    a = apdg[rows]
    pp = p[rows]
    u = rng.uniform(0, 1, len(rows))
    barrel = np.abs(np.hypot(pts[:, 0], pts[:, 1]) - KLM_BARREL_R) < 1.0
    max_layers = np.where(barrel, 15, np.where(pts[:, 2] > 0, 14, 12))
    mu = (a == 13) & (pp > 0.6) & (u < 0.95)
    pi = np.isin(a, (211, 321)) & (pp > 0.8) & (u < 0.08)
    kl = (a == 130) & (u < 0.5)
    layers = np.select(
        [mu, pi, kl],
        [1 + (pp - 0.6) / 0.06, rng.integers(1, 4, len(rows)), rng.integers(1, 6, len(rows))],
        default=0,
    )
    layers = np.minimum(np.floor(layers), max_layers).astype(np.int64)
    keep = np.flatnonzero(hit & (mu | pi | kl) & (layers > 0))
    keep = keep[np.argsort(event_of[rows[keep]], kind="stable")]
    rows, pts, layers, pp = rows[keep], pts[keep], layers[keep], pp[keep]
    event = event_of[rows]
    particle_klm = np.full(n_particles, -1, dtype=np.int64)
    particle_klm[rows] = np.arange(len(rows))
    k = len(rows)
    cols = {
        "x": pts[:, 0],
        "y": pts[:, 1],
        "z": pts[:, 2],
        "layers": layers,
        "innermost_layer": np.ones(k, dtype=np.int64),
        "p": pp * (1 + 0.15 * rng.normal(size=k)),
        "time": np.linalg.norm(pts, axis=1) / C_LIGHT + rng.normal(0, 1.0, k),
        "mc_index": rows - mc_off[event],
    }
    return cols, event, particle_klm


def _vertices(
    rng: np.random.Generator,
    parts: Particles,
    decay: F8,
    primary: F8,
    track_of_particle: np.ndarray,
    measured: F8,
    trk_off: np.ndarray,
    trk_event: np.ndarray,
    n_events: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    # two-prong decays of K_S and long-lived scalars with both daughters tracked
    mothers = np.flatnonzero(np.isin(np.abs(parts.pdg), (310, PDG_LLP_SCALAR)))
    daughters = np.flatnonzero(np.isin(parts.mother, mothers))
    tracked = track_of_particle[daughters] >= 0
    counts = np.bincount(parts.mother[daughters], minlength=len(parts))
    n_tracked = np.bincount(parts.mother[daughters], tracked.astype(np.int64), minlength=len(parts))
    good = mothers[(counts[mothers] == 2) & (n_tracked[mothers] == 2)]
    pos_d = np.full(len(parts), -1, dtype=np.int64)
    neg_d = np.full(len(parts), -1, dtype=np.int64)
    d_charge = charge_of(parts.pdg[daughters])
    pos_d[parts.mother[daughters[d_charge > 0]]] = daughters[d_charge > 0]
    neg_d[parts.mother[daughters[d_charge < 0]]] = daughters[d_charge < 0]
    good = good[(pos_d[good] >= 0) & (neg_d[good] >= 0)]
    t_pos, t_neg = track_of_particle[pos_d[good]], track_of_particle[neg_d[good]]
    dca = vertexing.closest_approach(measured[t_pos], measured[t_neg]).dca
    direction = parts.p4[good, 1:]
    direction = direction / np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    outer = direction[:, :, None] * direction[:, None, :]
    cov3 = SV_SIGMA_PERP**2 * np.eye(3)[None] + (SV_SIGMA_PAR**2 - SV_SIGMA_PERP**2) * outer
    sv_event = parts.event[good]
    k = len(good)
    iu = ([0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2])
    pv_cov = np.tile(np.diag(PRIMARY_VERTEX_SIGMA**2)[iu], (n_events, 1))
    apdg = np.abs(parts.pdg[good])
    # measured = true + a draw from the covariance the vertex states, so pulls have unit width
    pv = primary + PRIMARY_VERTEX_SIGMA * rng.normal(size=(n_events, 3))
    sv = decay[good] + np.einsum("kij,kj->ki", np.linalg.cholesky(cov3), rng.normal(size=(k, 3)))
    cols = {
        "x": np.concatenate([pv[:, 0], sv[:, 0]]),
        "y": np.concatenate([pv[:, 1], sv[:, 1]]),
        "z": np.concatenate([pv[:, 2], sv[:, 2]]),
        "kind": np.concatenate(
            [
                np.full(n_events, VertexKind.PRIMARY),
                np.where(apdg == 310, VertexKind.V0, VertexKind.DISPLACED),
            ]
        ),
        "track_pos": np.concatenate([np.full(n_events, -1), t_pos - trk_off[trk_event[t_pos]] if k else []]),
        "track_neg": np.concatenate([np.full(n_events, -1), t_neg - trk_off[trk_event[t_neg]] if k else []]),
        "dca": np.concatenate([np.full(n_events, np.nan), dca]),
        "cov": np.concatenate([pv_cov, cov3[:, iu[0], iu[1]]]),
        "pdg": np.concatenate([np.zeros(n_events, dtype=np.int64), apdg]),
    }
    event = np.concatenate([np.arange(n_events), sv_event])
    order = np.argsort(event, kind="stable")
    return {key: v[order] for key, v in cols.items()}, event[order]


def _mc(
    parts: Particles, production: F8, decay: F8, mass: F8, mc_off: np.ndarray, n_events: int
) -> Collection:
    mother = np.where(parts.mother >= 0, parts.mother - mc_off[parts.event], -1)
    cols = {
        "pdg": parts.pdg,
        "mother": mother,
        "px": parts.p4[:, 1],
        "py": parts.p4[:, 2],
        "pz": parts.p4[:, 3],
        "energy": parts.p4[:, 0],
        "mass": mass,
        "vx": production[:, 0],
        "vy": production[:, 1],
        "vz": production[:, 2],
        "dx": decay[:, 0],
        "dy": decay[:, 1],
        "dz": decay[:, 2],
    }
    return Collection.from_columns("mc", np.bincount(parts.event, minlength=n_events), cols)


def _add_beam_background(
    rng: np.random.Generator,
    collections: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]],
    n_events: int,
    bz: float,
) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Soft beam-induced ECL clusters (mostly in the endcaps, out of time) and off-IP low-pT tracks."""
    out = dict(collections)
    n_cl = rng.poisson(8.0, n_events)
    ev = np.repeat(np.arange(n_events), n_cl)
    k = len(ev)
    cos_t = np.where(rng.uniform(0, 1, k) < 0.6, rng.choice([-1, 1], k) * rng.uniform(0.8, 0.97, k),
                     rng.uniform(-0.6, 0.8, k))  # fmt: skip
    theta = np.arccos(cos_t)
    phi = rng.uniform(-np.pi, np.pi, k)
    energy = 0.02 + rng.exponential(0.04, k)
    ecl = _ecl_geometry()
    cell = (
        np.asarray(ecl.cell_at(theta, phi), dtype=np.int64)
        if ecl is not None
        else np.zeros(k, dtype=np.int64)
    )
    if ecl is not None:
        sel = cell > 0
        ev, theta, phi, energy, cell = ev[sel], theta[sel], phi[sel], energy[sel], cell[sel]
        centre = np.asarray(ecl.crystal_centres())[cell - 1]
        theta = polar_angle(centre)
        phi = np.arctan2(centre[:, 1], centre[:, 0])
        r = np.linalg.norm(centre, axis=1)
    else:
        r = np.full(len(ev), 140.0)
    m = len(ev)
    bg_ecl = {
        "energy": energy, "theta": theta, "phi": phi, "r": r, "time": rng.uniform(-300, 300, m),
        "cell_id": cell,
        "n_crystals": rng.integers(1, 4, m).astype(float), "hypotheses": np.full(m, 48),
        "is_track": np.zeros(m, dtype=bool), "mc_index": np.full(m, -1),
    }  # fmt: skip
    out["ecl"] = _merge_rows(collections["ecl"], (ev, bg_ecl))
    n_tr = rng.poisson(0.5, n_events)
    ev_t = np.repeat(np.arange(n_events), n_tr)
    j = len(ev_t)
    pt = rng.uniform(0.05, 0.3, j)
    omega = rng.choice([-1.0, 1.0], j) * helix.PT_PER_CURVATURE * bz / pt
    cov = np.zeros((j, 15))
    cov[:, [0, 5, 9, 12, 14]] = [1e-2, 1e-4, 1e-8, 1e-1, 1e-4]
    bg_trk = {
        "d0": rng.normal(0, 1.0, j), "phi0": rng.uniform(-np.pi, np.pi, j), "omega": omega,
        "z0": rng.uniform(-30, 30, j), "tan_lambda": rng.uniform(-1.5, 2.0, j), "cov": cov,
        "charge": np.sign(omega).astype(np.int8), "pdg": np.full(j, 211), "p_value": rng.uniform(0, 0.1, j),
        "pid_logl": -0.5 * np.abs(rng.normal(0, 1, (j, 6))) ** 2, "ecl_index": np.full(j, -1),
        "klm_index": np.full(j, -1), "mc_index": np.full(j, -1),
    }  # fmt: skip
    out["tracks"] = _merge_rows(collections["tracks"], (ev_t, bg_trk))
    return out


def _merge_rows(
    a: tuple[np.ndarray, dict[str, np.ndarray]], b: tuple[np.ndarray, dict[str, Any]]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Append rows b after the rows of a within each event (indices into a stay valid)."""
    event = np.concatenate([a[0], b[0]])
    order = np.argsort(event, kind="stable")
    cols = {}
    for key, first in a[1].items():
        first = np.asarray(first)
        cols[key] = np.concatenate([first, np.asarray(b[1][key]).astype(first.dtype)])[order]
    return event[order], cols
