"""Collisions replayed in their own time: when each object of an event is reached, t [ns] after the collision.

Every track flies along its helix at its own speed, v = beta c with beta = p / E from the track's
momentum and the mass of its fitted hypothesis (``events.pdg``); the 3D path length is the transverse
arc length times sqrt(1 + tan^2 lambda). A cluster lights when the first track matched to it reaches
the ECL's inner surface; a cluster no track points at (a photon) lights when light from the IP gets
there. KLM hits come when their track (or, unmatched, light) reaches them. A secondary vertex appears
when its mother, flying from the primary vertex at the speed of the daughters' summed momentum, gets
there, and its daughter tracks start from it then. Approximate on purpose (docs/time_playback.md):
a helix in a uniform field, no energy loss, neutral hadrons at the speed of light.

Pure numpy over whole collections (no Qt, no VisPy): ``timeline(event)`` once per event, then
``Timeline.track_arcs(t)`` per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from displays import event_geometry as geo
from events import helix, pdg
from events.field import track_bz
from events.model import Collection, EventBatch, VertexKind

F8 = NDArray[np.float64]
C_LIGHT = helix.C_LIGHT  # cm/ns
MARGIN_NS = 1.0  # after the last arrival, so the slider's end shows everything
MIN_DURATION_NS = 5.0
MAX_DURATION_NS = 60.0  # a 50 MeV proton would take 80 ns to the calorimeter: the slider stops here
NS_PER_S = 1.0  # default slow motion of the event views: one nanosecond per second


def speed(p: ArrayLike, mass: ArrayLike) -> F8:
    """beta c [cm/ns] of particles of momentum ``p`` and ``mass`` [GeV] (c for massless ones)."""
    p = np.abs(np.asarray(p, np.float64))
    m = np.asarray(mass, np.float64)
    energy = np.hypot(p, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(energy > 0, p / energy, 1.0)
    return C_LIGHT * beta


def path_length(s_transverse: ArrayLike, tan_lambda: ArrayLike) -> F8:
    """3D path length [cm] along a helix of transverse arc length ``s_transverse``."""
    return np.asarray(s_transverse, np.float64) * np.hypot(1.0, np.asarray(tan_lambda, np.float64))


def arc_length_of_points(tracks: Collection, points: ArrayLike) -> F8:
    """Signed transverse arc length from the perigee of each track to ``points`` (N, 3), projected onto
    its circle in the transverse plane: where on its helix a track passes a vertex."""
    d0, phi0, omega = (np.asarray(tracks[k], np.float64) for k in ("d0", "phi0", "omega"))
    pts = np.asarray(points, np.float64).reshape(-1, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 / omega
        cx, cy = (d0 + rho) * np.sin(phi0), -(d0 + rho) * np.cos(phi0)  # centre of the circle
        phi = np.arctan2(-(pts[:, 0] - cx) / rho, (pts[:, 1] - cy) / rho)  # direction of flight there
        s = np.angle(np.exp(1j * (phi0 - phi))) / omega
    straight = ~np.isfinite(s)  # no curvature: the projection onto the line
    s_line = pts[:, 0] * np.cos(phi0) + pts[:, 1] * np.sin(phi0)
    return np.where(straight, s_line, s)


def track_momenta(tracks: Collection, bz: float, s: ArrayLike | None = None) -> F8:
    """Momentum vectors (N, 3) [GeV] at transverse arc lengths ``s`` (the perigee by default); ``bz`` is the
    event's field, taken at each track's perigee where it is basf2's map (``events.field.track_bz``)."""
    phi0, omega, tl = (np.asarray(tracks[k], np.float64) for k in ("phi0", "omega", "tan_lambda"))
    pt = helix.transverse_momentum(omega, track_bz(bz, tracks["z0"]))
    phi = phi0 - omega * (0.0 if s is None else np.asarray(s, np.float64))
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * tl], axis=-1)


def track_speeds(tracks: Collection, bz: float) -> F8:
    """beta c [cm/ns] of every track, from its momentum and the mass of its fitted hypothesis."""
    p = np.linalg.norm(track_momenta(tracks, bz), axis=-1)
    return speed(p, pdg.mass(tracks["pdg"]))


@dataclass(frozen=True)
class Timeline:
    """When everything of one event happens [ns after the collision].

    Tracks: ``track_start`` (0, or the time their vertex appears), ``track_s0`` (transverse arc length
    of their start: 0 at the perigee, or where the vertex is), ``track_rate`` (transverse arc length
    per ns) and ``track_end`` (when they reach the ECL's inner surface); ``ecl``, ``klm`` and
    ``vertices``: when each cluster, hit and vertex appears; ``duration``: the slider's range.
    """

    track_start: F8
    track_s0: F8
    track_rate: F8
    track_end: F8
    ecl: F8
    klm: F8
    vertices: F8
    duration: float

    def track_arcs(self, t: float, s_end: ArrayLike) -> tuple[F8, F8]:
        """(start, reached) transverse arc lengths of every track at time ``t``, the reached one at most
        ``s_end`` (where the view stops drawing); a track not yet started has both at its start."""
        s_end = np.nan_to_num(np.asarray(s_end, np.float64), nan=0.0, posinf=0.0)
        flown = np.clip(float(t) - self.track_start, 0.0, None) * self.track_rate
        reached = np.minimum(
            self.track_s0 + np.nan_to_num(flown, posinf=0.0), np.maximum(s_end, self.track_s0)
        )
        return self.track_s0.copy(), reached

    def counts(self, t: float) -> dict[str, int]:
        """How many tracks have started, and clusters, hits and vertices have appeared, at ``t``."""
        return {
            "tracks": int((self.track_start <= t).sum()),
            "ecl": int((self.ecl <= t).sum()),
            "klm": int((self.klm <= t).sum()),
            "vertices": int((self.vertices <= t).sum()),
        }


def vertex_times(vertices: Collection, tracks: Collection, bz: float) -> tuple[F8, NDArray[np.int64], F8]:
    """(appearance time of every vertex, its daughter track pairs (V, 2; -1 none), their arc lengths at it).

    The primary is there at once; a secondary vertex after its mother's flight from the primary (or the
    IP) with beta = p / E, p the daughters' momentum sum at the vertex and the mass of the vertex's
    hypothesis when the PDG table knows it, else the daughters' invariant mass (their hypotheses' masses).
    """
    n = vertices.size
    pos = geo.vertex_positions(vertices)
    primary = np.flatnonzero(vertices["kind"] == VertexKind.PRIMARY)
    origin = pos[primary[0]] if len(primary) else np.zeros(3)
    daughters = np.stack([vertices["track_pos"], vertices["track_neg"]], axis=-1).astype(np.int64)
    daughters = np.where((daughters >= 0) & (daughters < tracks.size), daughters, -1)
    s_at = np.full((n, 2), np.nan)
    p_sum, e_sum = np.zeros((n, 3)), np.zeros(n)
    for j in range(2):
        has = daughters[:, j] >= 0
        if not has.any():
            continue
        idx = daughters[has, j]
        sub = _rows(tracks, idx)
        s = arc_length_of_points(sub, pos[has])
        p = track_momenta(sub, bz, s)
        s_at[has, j] = s
        p_sum[has] += p
        e_sum[has] += np.hypot(np.linalg.norm(p, axis=-1), pdg.mass(sub["pdg"]))
    p_mag = np.linalg.norm(p_sum, axis=-1)
    table = pdg.mass(vertices["pdg"])
    invariant = np.sqrt(np.clip(e_sum**2 - p_mag**2, 0.0, None))
    mass = np.where(table > 0, table, invariant)
    v = np.where((daughters >= 0).any(axis=1), speed(p_mag, mass), C_LIGHT)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.linalg.norm(pos - origin, axis=-1) / v
    t = np.where(vertices["kind"] == VertexKind.PRIMARY, 0.0, np.nan_to_num(t, nan=0.0))
    return t, daughters, s_at


def timeline(event: EventBatch, extent: geo.Extent = geo.ECL_INNER) -> Timeline:
    """The timeline of a one-event batch; tracks end where they reach ``extent``."""
    bz = float(event.header["bz"][0])
    tracks, ecl, klm, vertices = event.tracks, event.ecl, event.klm, event.vertices
    n = tracks.size
    tl = np.asarray(tracks["tan_lambda"], np.float64)
    rate = track_speeds(tracks, bz) / np.hypot(1.0, tl)
    start, s0 = np.zeros(n), np.zeros(n)
    t_vertex, daughters, s_at = vertex_times(vertices, tracks, bz)
    for j in (1, 0):  # a track that is a daughter of two vertices starts at the first
        has = daughters[:, j] >= 0
        start[daughters[has, j]] = t_vertex[has]
        s0[daughters[has, j]] = s_at[has, j]
    s_end = np.nan_to_num(geo.track_end_arc_lengths(tracks, extent), nan=0.0, posinf=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        end = start + np.clip(s_end - s0, 0.0, None) / rate
    end = np.where(np.isfinite(end), end, np.inf)

    # clusters: the first matched track to reach the calorimeter, else light from the IP
    light = np.linalg.norm(geo.ecl_positions(ecl), axis=-1) / C_LIGHT
    t_ecl = np.nan_to_num(light, nan=0.0)
    t_ecl = _first_arrival(t_ecl, np.asarray(tracks["ecl_index"], np.int64), end)

    # KLM hits: flight of the matched track to the hit's radius or z plane, else light from the IP
    hits = np.stack([klm["x"], klm["y"], klm["z"]], axis=-1).astype(np.float64)
    t_klm = np.nan_to_num(np.linalg.norm(hits, axis=-1) / C_LIGHT, nan=0.0)
    k_index = np.asarray(tracks["klm_index"], np.int64)
    matched = np.flatnonzero((k_index >= 0) & (k_index < klm.size))
    if len(matched):
        sub, hit = _rows(tracks, matched), hits[k_index[matched]]
        d0, omega, z0, tls = (np.asarray(sub[k], np.float64) for k in ("d0", "omega", "z0", "tan_lambda"))
        s_r = helix.arc_length_to_radius(d0, omega, np.hypot(hit[:, 0], hit[:, 1]))
        s_z = helix.arc_length_to_z(z0, tls, hit[:, 2])
        s_hit = np.fmin(s_r, np.where(s_z > 0, s_z, np.nan))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_helix = start[matched] + (s_hit - s0[matched]) / rate[matched]
            straight = start[matched] + np.linalg.norm(hit, axis=-1) / (rate[matched] * np.hypot(1.0, tls))
        arrival = np.where(np.isfinite(t_helix) & (t_helix > 0), t_helix, straight)
        t_klm = _first_arrival(t_klm, k_index[matched], np.where(np.isfinite(arrival), arrival, np.inf))

    finite = np.concatenate([end, t_ecl, t_klm, t_vertex])
    finite = finite[np.isfinite(finite)]
    last = float(finite.max()) if len(finite) else 0.0
    duration = float(np.clip(last + MARGIN_NS, MIN_DURATION_NS, MAX_DURATION_NS))
    return Timeline(start, s0, rate, end, t_ecl, t_klm, t_vertex, duration)


def _first_arrival(default: F8, index: NDArray[np.int64], arrival: F8) -> F8:
    """``default`` with, at every row some track points at, the earliest of those tracks' arrivals."""
    out = default.copy()
    ok = (index >= 0) & (index < len(out))
    if ok.any():
        matched = np.full(len(out), np.inf)
        np.minimum.at(matched, index[ok], np.asarray(arrival, np.float64)[ok])
        out = np.where(np.isfinite(matched), matched, out)
    return out


def _rows(col: Collection, index: NDArray[np.int64]) -> Collection:
    index = np.asarray(index, np.int64)
    return Collection.from_columns(col.name, [len(index)], {k: v[index] for k, v in col.columns.items()})
