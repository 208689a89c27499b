"""Physically shaped one-event batches for demos, benchmarks and tests of the event display.

Tracks start at the IP with momenta drawn in the CM frame and boosted with the SuperKEKB boost,
ECL clusters sit where the tracks (or photons) reach the calorimeter, a K_S-like V0 decays a few
cm away with its daughters, and MC truth repeats the generated particles. The collision
generator of events/ produces full physics streams; these are for the display alone.
"""

from __future__ import annotations

import numpy as np

from displays import event_geometry as geo
from events import helix, kinematics
from events.model import Collection, EventBatch, VertexKind

M_PI = kinematics.MASS[211]


def _lab(p3_cm: np.ndarray, mass: float | np.ndarray) -> np.ndarray:
    beta = kinematics.boost_vector(kinematics.beam_four_vector())
    return kinematics.boost(kinematics.four_vector(p3_cm, mass), -beta)[..., 1:]


def _isotropic(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _ecl_where(pos: np.ndarray, p3: np.ndarray, q: np.ndarray, bz: float) -> tuple[np.ndarray, np.ndarray]:
    """(theta, phi) where each particle reaches the ECL inner surface, NaN if it curls inside."""
    d0, phi0, omega, z0, tl = helix.from_cartesian(pos, p3, np.where(q == 0, 1, q), bz)
    ext = geo.ECL_INNER
    s = helix.draw_arc_lengths(d0, omega, z0, tl, ext.r, ext.z_min, ext.z_max)
    hit = helix.positions(d0, phi0, omega, z0, tl, s)
    straight = p3 / np.linalg.norm(p3, axis=1, keepdims=True)
    hit = np.where((q == 0)[:, None], straight * 150.0, hit)
    reaches = (q == 0) | ~np.isnan(helix.arc_length_to_radius(d0, omega, ext.r))
    theta = np.arctan2(np.hypot(hit[:, 0], hit[:, 1]), hit[:, 2])
    phi = np.arctan2(hit[:, 1], hit[:, 0])
    return np.where(reaches, theta, np.nan), phi


def sample_event(
    n_tracks: int = 10,
    n_photons: int = 6,
    seed: int = 0,
    event: int = 1,
    with_v0: bool = True,
    bz: float = 1.5,
) -> EventBatch:
    """One hadronic-looking event with ``n_tracks`` prompt tracks (plus 2 V0 daughters)."""
    rng = np.random.default_rng(seed)
    p_cm = rng.exponential(0.6, n_tracks) + 0.12
    p3 = _lab(_isotropic(rng, n_tracks) * p_cm[:, None], M_PI)
    q = rng.choice([-1, 1], n_tracks)
    pos = rng.normal(0.0, [0.001, 0.0001, 0.02], size=(n_tracks, 3))
    v_tracks = np.zeros((0, 3))
    if with_v0:  # K_S -> pi+ pi- after a few cm of flight
        ks_dir = _isotropic(rng, 1)[0]
        vtx = ks_dir * 6.0
        pd = np.array([[0.5, 0.12, 0.05], [0.35, -0.15, 0.1]]) + 0.3 * ks_dir
        p3 = np.concatenate([p3, pd])
        q = np.concatenate([q, [1, -1]])
        pos = np.concatenate([pos, [vtx, vtx]])
        v_tracks = vtx[None, :]
    n = len(q)
    d0, phi0, omega, z0, tl = helix.from_cartesian(pos, p3, q, bz)
    pid = rng.normal(-8.0, 3.0, size=(n, 6)).astype(np.float32)
    pid[:, 2] += 6.0
    theta, phi = _ecl_where(pos, p3, q, bz)
    reach = np.flatnonzero(~np.isnan(theta))
    g = _lab(_isotropic(rng, n_photons) * (rng.exponential(0.4, n_photons) + 0.05)[:, None], 0.0)
    g_theta, g_phi = _ecl_where(np.zeros((n_photons, 3)), g, np.zeros(n_photons), bz)
    e_track = np.minimum(np.linalg.norm(p3[reach], axis=1), rng.uniform(0.15, 0.35, len(reach)))
    ecl_theta = np.concatenate([theta[reach], g_theta])
    ecl_phi = np.concatenate([phi[reach], g_phi])
    ecl_e = np.concatenate([e_track, np.linalg.norm(g, axis=1)])
    ok = (ecl_theta > np.radians(12.4)) & (ecl_theta < np.radians(155.1))
    ecl_theta, ecl_phi, ecl_e = ecl_theta[ok], ecl_phi[ok], ecl_e[ok]
    ecl_index = np.full(n, -1)
    track_rows = np.flatnonzero(ok[: len(reach)])
    ecl_index[reach[track_rows]] = np.arange(len(track_rows))
    r_ecl = np.where(
        np.abs(np.cos(ecl_theta)) < 0.55, 137.0 / np.sin(ecl_theta), np.abs(200.0 / np.cos(ecl_theta))
    )
    tracks = Collection.from_columns(
        "tracks",
        [n],
        {
            "d0": d0,
            "phi0": phi0,
            "omega": omega,
            "z0": z0,
            "tan_lambda": tl,
            "charge": q,
            "pid_logl": pid,
            "p_value": rng.uniform(0, 1, n),
            "ecl_index": ecl_index,
            "mc_index": np.arange(n),
            "cov": np.full((n, 15), 1e-4),
        },
    )
    ecl = Collection.from_columns(
        "ecl",
        [len(ecl_e)],
        {
            "energy": ecl_e,
            "theta": ecl_theta,
            "phi": ecl_phi,
            "r": r_ecl,
            "n_crystals": np.ceil(ecl_e * 10 + 1),
            "hypotheses": np.full(len(ecl_e), 48),
            "time": rng.normal(0, 5, len(ecl_e)),
        },
    )
    klm_dir = _isotropic(rng, 2)
    klm = Collection.from_columns(
        "klm",
        [2],
        {"x": klm_dir[:, 0] * 250, "y": klm_dir[:, 1] * 250, "z": klm_dir[:, 2] * 150 + 47, "layers": [5, 3],
         "innermost_layer": [1, 2], "p": [0.8, 0.5]},
    )  # fmt: skip
    vx = [[0.0, 0.0, 0.0], *v_tracks]
    kinds = [VertexKind.PRIMARY] + [VertexKind.V0] * len(v_tracks)
    cov = [[1e-6, 0, 0, 1e-8, 0, 4e-6]] + [[0.04, 0.01, 0.0, 0.02, 0.0, 0.09]] * len(v_tracks)
    vertices = Collection.from_columns(
        "vertices",
        [len(vx)],
        {
            "x": [v[0] for v in vx],
            "y": [v[1] for v in vx],
            "z": [v[2] for v in vx],
            "kind": kinds,
            "track_pos": [-1] + [n - 2] * len(v_tracks),
            "track_neg": [-1] + [n - 1] * len(v_tracks),
            "dca": [0.0] + [0.02] * len(v_tracks),
            "cov": cov,
            "pdg": [0] + [310] * len(v_tracks),
        },
    )
    mc_pdg = q * np.where(rng.uniform(size=n) < 0.8, 211, 321)
    e_mc = np.sqrt(np.sum(p3**2, axis=1) + M_PI**2)
    mc = Collection.from_columns(
        "mc",
        [n + n_photons],
        {
            "pdg": np.concatenate([mc_pdg, np.full(n_photons, 22)]),
            "px": np.concatenate([p3[:, 0], g[:, 0]]),
            "py": np.concatenate([p3[:, 1], g[:, 1]]),
            "pz": np.concatenate([p3[:, 2], g[:, 2]]),
            "energy": np.concatenate([e_mc, np.linalg.norm(g, axis=1)]),
            "mass": np.concatenate([np.full(n, M_PI), np.zeros(n_photons)]),
            "vx": np.concatenate([pos[:, 0], np.zeros(n_photons)]),
            "vy": np.concatenate([pos[:, 1], np.zeros(n_photons)]),
            "vz": np.concatenate([pos[:, 2], np.zeros(n_photons)]),
        },
    )
    l1 = np.uint64((1 << 2) | (1 << 10))  # ffb, hie
    header = {"experiment": [0], "run": [1], "event": [event], "bz": [bz], "l1_bits": [l1]}
    return EventBatch.build(
        1, header, source="sample", tracks=tracks, ecl=ecl, klm=klm, vertices=vertices, mc=mc
    )


def sample_batch(n_events: int, seed: int = 0, n_tracks: tuple[int, int] = (2, 14)) -> EventBatch:
    """Several sample events with varying multiplicity."""
    rng = np.random.default_rng(seed)
    events = [
        sample_event(int(rng.integers(*n_tracks)), int(rng.integers(0, 8)), seed=seed * 1000 + i, event=i + 1,
                     with_v0=bool(rng.uniform() < 0.4))
        for i in range(n_events)
    ]  # fmt: skip
    return EventBatch.concat(events)
