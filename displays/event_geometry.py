"""Pure numpy geometry of the event overlay: the arrays every event visual is fed with.

One function per collection turns the columns of a one-event batch into flat vertex, connect,
colour and face arrays, already projected for the view they go to: ``"3d"`` (x, y, z), ``"rphi"``
(x, y) or ``"rz"`` (z, ±r, sign from the object's azimuth). Nothing here needs a GL context, so
the adapters can be tested, and benchmarked, without one; the only VisPy used is the colour scale
(``vispy.color``, plain numpy), imported when first needed so the scene model stays VisPy-free.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from displays.palette import palette
from displays.scene import ColorMode
from events import helix, pdg
from events.model import Collection, VertexKind
from geometry import cdc as cdc_geometry
from geometry import ecl as ecl_geometry
from geometry.shapes import directions

if TYPE_CHECKING:
    from vispy.color import Colormap

Projection = Literal["3d", "rphi", "rz"]
F4 = NDArray[np.float32]


@dataclass(frozen=True)
class Extent:
    """Cylinder where drawing of tracks and truth particles stops [cm]."""

    r: float
    z_min: float
    z_max: float


# docs/detector.md §4 and §7: the CDC outer wall over its mother volume's z range, and the ECL's
# inner surface (barrel inner radius, endcap front faces), from the geometry tables
CDC_OUTER_WALL = Extent(*map(float, (cdc_geometry.walls().outer[0], *cdc_geometry.walls().volume_z)))
_ECL = ecl_geometry.inner_surface()
ECL_INNER = Extent(_ECL.barrel_r, _ECL.backward_z, _ECL.forward_z)

_P = palette()
CHARGE_COLORS = {1: _P.rgba("charge.positive"), -1: _P.rgba("charge.negative"), 0: _P.rgba("charge.neutral")}
# PID hypothesis order e, mu, pi, K, p, d (docs/detector.md §11)
PID_NAMES = ("e", "μ", "π", "K", "p", "d")
PID_COLORS = np.array([_P.rgba(f"pid.{k}") for k in ("e", "mu", "pi", "K", "p", "d")], dtype=np.float32)
UNKNOWN_PID = _P.rgba("pid.unknown")
DAUGHTER_COLOR = _P.rgba("event.daughter")
VERTEX_COLORS = {
    VertexKind.PRIMARY: _P.rgba("event.vertex_primary"),
    VertexKind.V0: _P.rgba("event.vertex_v0"),
    VertexKind.DISPLACED: _P.rgba("event.vertex_displaced"),
}
MC_CHARGED = _P.rgba("event.mc_charged")
MC_NEUTRAL = _P.rgba("event.mc_neutral")
NEUTRAL_HADRON = _P.rgba("event.neutral_hadron")

# the energy scale of the colour table: position in [0, 1] -> RGBA; energies on a log scale
ENERGY_RANGE = (0.01, 10.0)  # GeV
ENERGY_ANCHOR_COLORS = np.array(_P.stops("energy.stops"))
ENERGY_ANCHORS = np.linspace(0.0, 1.0, len(ENERGY_ANCHOR_COLORS))
MOMENTUM_RANGE = (0.0, 5.0)  # GeV, linear, same colour anchors


@functools.cache
def energy_colormap() -> Colormap:
    """The one colour scale of the towers, the crystals and the legend (a VisPy colormap)."""
    from vispy.color import Colormap

    return Colormap(ENERGY_ANCHOR_COLORS, controls=ENERGY_ANCHORS)


def scale_colors(values: np.ndarray, lo: float, hi: float, log: bool = False) -> F4:
    """RGBA of the energy scale for ``values`` clipped to [lo, hi]."""
    v = np.asarray(values, dtype=np.float64)
    if log:
        x = (np.log10(np.clip(v, lo, hi)) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
    else:
        x = (np.clip(v, lo, hi) - lo) / (hi - lo)
    return energy_colormap().map(np.nan_to_num(x)).astype(np.float32)


def energy_colors(energy: np.ndarray) -> F4:
    return scale_colors(energy, *ENERGY_RANGE, log=True)


def project(points: np.ndarray, mode: Projection, sign: np.ndarray | None = None) -> F4:
    """Project (N, 3) points for a view; in r-z the sign of r is ``sign`` (default: sign of y)."""
    p = np.asarray(points, dtype=np.float64)
    out = np.zeros((len(p), 3), dtype=np.float32)
    if mode == "3d":
        out[:] = p
    elif mode == "rphi":
        out[:, :2] = p[:, :2]
    else:
        s = np.where(p[:, 1] >= 0, 1.0, -1.0) if sign is None else sign
        out[:, 0] = p[:, 2]
        out[:, 1] = s * np.hypot(p[:, 0], p[:, 1])
    return out


def strip_connect(n_lines: int, n_points: int, dashed: bool = False) -> np.ndarray:
    """Connect array for ``n_lines`` strips of ``n_points``: no segment joins two lines."""
    k = np.arange(n_points)
    one = k < n_points - 1
    if dashed:
        one &= k % 2 == 0
    return np.tile(one, n_lines)


# --- tracks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Polylines:
    """Many strips in one array: what one Line visual draws. ``counts`` holds the points of each
    strip when they differ (adaptive sampling); otherwise every strip has ``n_points``."""

    pos: F4  # (total points, 3)
    connect: np.ndarray  # (total points,) bool: False at the last point of every strip
    color: F4  # (total points, 4)
    n_points: int  # points per strip (the most, when ``counts`` is given)
    counts: np.ndarray | None = None

    @property
    def n(self) -> int:
        if self.counts is not None:
            return len(self.counts)
        return len(self.pos) // self.n_points if self.n_points else 0

    def strip_of_point(self) -> np.ndarray:
        """Index of the strip each point belongs to."""
        counts = self.counts if self.counts is not None else np.full(self.n, self.n_points)
        return np.repeat(np.arange(len(counts)), counts)


# Adaptive sampling: a segment turns the track by at most this angle in the transverse plane
# (4.5 deg: a curler's circle stays round), with at least MIN_POINTS points per track.
MAX_TURN = np.radians(4.5)
MIN_POINTS = 6


def points_per_track(
    omega: np.ndarray, s_end: np.ndarray, n_max: int, max_turn: float = MAX_TURN
) -> np.ndarray:
    """Points needed to draw each helix to ``s_end`` with segments turning at most ``max_turn``."""
    turn = np.abs(np.asarray(omega, np.float64)) * np.nan_to_num(np.abs(s_end), nan=0.0, posinf=0.0)
    return np.clip(np.ceil(turn / max_turn).astype(np.int64) + 1, MIN_POINTS, n_max)


def track_colors(tracks: Collection, mode: ColorMode, bz: float | np.ndarray = helix.BZ_DEFAULT) -> F4:
    """One RGBA per track: by charge, by most likely PID hypothesis, or by momentum."""
    if mode == "charge":
        q = np.sign(tracks["charge"]).astype(int)
        table = np.array([CHARGE_COLORS[-1], CHARGE_COLORS[0], CHARGE_COLORS[1]], dtype=np.float32)
        return table[q + 1]
    if mode == "pid":
        logl = tracks["pid_logl"]
        known = np.isfinite(logl).any(axis=1)
        best = np.argmax(np.where(np.isfinite(logl), logl, -np.inf), axis=1)
        out = PID_COLORS[best].copy()
        out[~known] = UNKNOWN_PID
        return out
    if mode == "momentum":
        p = np.linalg.norm(helix.momentum(tracks["phi0"], tracks["omega"], tracks["tan_lambda"], bz), axis=-1)
        return scale_colors(p, *MOMENTUM_RANGE)
    raise ValueError(f"unknown colour mode {mode!r}; use charge, pid or momentum")


def track_end_arc_lengths(tracks: Collection, extent: Extent) -> np.ndarray:
    return helix.draw_arc_lengths(
        tracks["d0"],
        tracks["omega"],
        tracks["z0"],
        tracks["tan_lambda"],
        extent.r,
        extent.z_min,
        extent.z_max,
    )


def track_polylines(
    tracks: Collection,
    mode: Projection,
    colors: np.ndarray,
    extent: Extent = ECL_INNER,
    growth: float = 1.0,
    n_points: int = 64,
    s_end: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    s_start: np.ndarray | None = None,
) -> Polylines:
    """All tracks of an event as strips from the perigee to the extent (times ``growth`` in [0, 1]).

    Every track gets ``n_points`` points, or, with ``counts`` (see ``points_per_track``), its own
    number: a stiff track needs a handful, a curler its full share. The counts are fixed per event
    (not per growth step), so the buffers keep their size while tracks grow. With ``s_start`` the
    strips begin at those transverse arc lengths instead of the perigee (daughters at their vertex,
    ``displays.timeline``).
    """
    n = tracks.size
    if s_end is None:
        s_end = track_end_arc_lengths(tracks, extent)
    s0 = np.zeros(n) if s_start is None else np.nan_to_num(np.asarray(s_start, np.float64))
    s_stop = np.nan_to_num(s_end, nan=0.0, posinf=0.0)
    span = (s_stop - s0) * float(np.clip(growth, 0.0, 1.0))
    if counts is None:
        counts_used = np.full(n, n_points, np.int64)
        frac = np.tile(np.linspace(0.0, 1.0, n_points), n)
    else:
        counts_used = np.asarray(counts, np.int64)
        starts = np.cumsum(counts_used) - counts_used
        local = np.arange(int(counts_used.sum())) - np.repeat(starts, counts_used)
        frac = local / np.repeat(np.maximum(counts_used - 1, 1), counts_used)
    owner = np.repeat(np.arange(n), counts_used)
    d0, phi0, omega, z0, tan_lambda = (
        np.asarray(tracks[k], np.float64)[owner] for k in ("d0", "phi0", "omega", "z0", "tan_lambda")
    )
    pts = helix.positions(d0, phi0, omega, z0, tan_lambda, s0[owner] + span[owner] * frac)
    last = np.cumsum(counts_used) - 1
    connect = np.ones(len(pts), bool)
    connect[last] = False
    sign = None
    if mode == "rz":  # one side per track, from the azimuth of its outermost point
        sign = np.where(pts[last, 1] >= 0, 1.0, -1.0)[owner]
    return Polylines(
        project(pts, mode, sign),
        connect,
        np.asarray(colors, dtype=np.float32)[owner],
        n_points,
        None if counts is None else counts_used,
    )


def daughter_tracks(tracks: Collection, vertices: Collection) -> np.ndarray:
    """Boolean mask over tracks: daughters of a V0 or displaced vertex."""
    mask = np.zeros(tracks.size, dtype=bool)
    secondary = vertices["kind"] != VertexKind.PRIMARY
    for col in ("track_pos", "track_neg"):
        idx = vertices[col][secondary]
        idx = idx[(idx >= 0) & (idx < tracks.size)]
        mask[idx] = True
    return mask


# --- calorimeter -------------------------------------------------------------------------

_BOX_FACES = np.array(
    [
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
    ],
    dtype=np.uint32,
)  # fmt: skip
# corner k = (a, b, c) bits: a along the tower axis, b along e1, c along e2
_CORNERS = np.array([[(k >> 2) & 1, (k >> 1) & 1, k & 1] for k in range(8)], dtype=np.float64) * 2 - 1


def ecl_directions(ecl: Collection) -> np.ndarray:
    return directions(ecl["theta"], ecl["phi"])


def ecl_positions(ecl: Collection) -> np.ndarray:
    return ecl_directions(ecl) * ecl["r"].astype(np.float64)[:, None]


def tower_lengths(energy: np.ndarray) -> np.ndarray:
    """Tower length [cm]: 5 cm plus 25 cm per GeV, at most 100 cm."""
    return np.minimum(5.0 + 25.0 * np.asarray(energy, dtype=np.float64), 100.0)


def tower_mesh(ecl: Collection, mode: Projection, half_width: float = 3.0) -> tuple[F4, np.ndarray, F4]:
    """Energy towers standing on the cluster positions: (vertices, faces, face colours) of one mesh."""
    n = ecl.size
    u = ecl_directions(ecl)
    base = u * ecl["r"].astype(np.float64)[:, None]
    length = tower_lengths(ecl["energy"])
    ph = ecl["phi"].astype(np.float64)
    e1 = np.stack([-np.sin(ph), np.cos(ph), np.zeros(n)], axis=-1)
    e2 = np.cross(u, e1)
    centre = base + u * (length / 2)[:, None]
    corners = (
        centre[:, None, :]
        + _CORNERS[None, :, 0:1] * (u * (length / 2)[:, None])[:, None, :]
        + _CORNERS[None, :, 1:2] * half_width * e1[:, None, :]
        + _CORNERS[None, :, 2:3] * half_width * e2[:, None, :]
    ).reshape(-1, 3)
    sign = np.repeat(np.where(np.sin(ph) >= 0, 1.0, -1.0), 8)
    faces = (_BOX_FACES[None, :, :] + 8 * np.arange(n, dtype=np.uint32)[:, None, None]).reshape(-1, 3)
    colors = np.repeat(energy_colors(ecl["energy"]), len(_BOX_FACES), axis=0)
    return project(corners, mode, sign), faces, colors


def shower_cells(cells: np.ndarray, energy: np.ndarray, share: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """Spread each cluster over its crystal and the 8 around it: (cellIds, energies) to light.

    The neighbours are the crystals one ring forward and back (at the same azimuth, whatever the
    ring's crystal count) and one step either way in phi; each takes ``share`` of the energy (about
    what a neighbour of the seed of an electromagnetic shower collects). The seed keeps its energy,
    and where two clusters share a crystal the higher energy wins.
    """
    cells = np.asarray(cells, np.int64)
    energy = np.asarray(energy, np.float64)
    ok = (cells >= 1) & (cells <= ecl_geometry.N_CRYSTALS)
    cells, energy = cells[ok], energy[ok]
    ring = ecl_geometry.RING_OF_CELL[cells - 1]
    frac = (cells - ecl_geometry.FIRST_CELL[ring] + 0.5) / ecl_geometry.N_PHI[ring]  # azimuth in turns
    out_cells, out_energy = [cells], [energy]
    for dr in (-1, 0, 1):
        r = ring + dr
        inside = (r >= 0) & (r < ecl_geometry.N_RINGS)
        r = np.clip(r, 0, ecl_geometry.N_RINGS - 1)
        n_phi = ecl_geometry.N_PHI[r]
        centre = np.floor(frac * n_phi).astype(np.int64)
        for dp in (-1, 0, 1):
            if dr == 0 and dp == 0:
                continue
            phi_id = np.mod(centre + dp, n_phi)
            out_cells.append((ecl_geometry.FIRST_CELL[r] + phi_id)[inside])
            out_energy.append(share * energy[inside])
    all_cells = np.concatenate(out_cells)
    all_energy = np.concatenate(out_energy)
    order = np.lexsort((-all_energy, all_cells))  # by cell, highest energy first
    all_cells, all_energy = all_cells[order], all_energy[order]
    first = np.ones(len(all_cells), bool)
    first[1:] = all_cells[1:] != all_cells[:-1]
    return all_cells[first], all_energy[first]


N_PHOTONS, NEUTRAL_HADRONS = 16, 32  # ECLCluster hypothesis bits (docs/detector.md §11)


def photon_clusters(ecl: Collection) -> np.ndarray:
    """Mask of clusters with the nPhotons hypothesis (most clusters also carry the hadron one)."""
    return (ecl["hypotheses"] & N_PHOTONS) != 0


def neutral_hadron_only(ecl: Collection) -> np.ndarray:
    """Mask of clusters with the neutral-hadron hypothesis alone (a K_L or a neutron, 3-5 an event)."""
    hyp = ecl["hypotheses"]
    return ((hyp & NEUTRAL_HADRONS) != 0) & ((hyp & N_PHOTONS) == 0)


# --- vertices ----------------------------------------------------------------------------


def vertex_positions(vertices: Collection) -> np.ndarray:
    return np.stack([vertices["x"], vertices["y"], vertices["z"]], axis=-1).astype(np.float64)


def covariance_matrices(cov6: np.ndarray) -> np.ndarray:
    """(N, 3, 3) from (xx, xy, xz, yy, yz, zz)."""
    c = np.asarray(cov6, dtype=np.float64)
    idx = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])
    return c[:, idx]


def error_ellipses(
    vertices: Collection, mode: Projection, n_sigma: float = 3.0, n_points: int = 33
) -> tuple[F4, np.ndarray, np.ndarray]:
    """Rings of the n-sigma error ellipsoid of every vertex with a known covariance.

    3D: three principal rings per vertex; 2D: the ellipse of the projected covariance.
    Returns (positions, connect, owner vertex per point).
    """
    ok = np.flatnonzero(np.isfinite(vertices["cov"]).all(axis=1))
    centre = vertex_positions(vertices)[ok]
    cov = covariance_matrices(vertices["cov"][ok])
    t = np.linspace(0.0, 2 * np.pi, n_points)
    ct, st = np.cos(t), np.sin(t)
    if mode == "3d":
        w, v = np.linalg.eigh(cov)
        axes = v * np.sqrt(np.clip(w, 0, None))[:, None, :] * n_sigma  # columns are scaled principal axes
        rings = []
        for i, j in ((0, 1), (1, 2), (0, 2)):
            rings.append(
                centre[:, None, :]
                + ct[None, :, None] * axes[:, None, :, i]
                + st[None, :, None] * axes[:, None, :, j]
            )
        pts = np.stack(rings, axis=1).reshape(-1, 3)  # (n, 3 rings, n_points, 3)
        owner = np.repeat(ok, 3 * n_points)
        return pts.astype(np.float32), strip_connect(3 * len(ok), n_points), owner
    if mode == "rphi":
        c2 = cov[:, :2, :2]
        c2d = centre[:, :2]
    else:
        phi = np.arctan2(centre[:, 1], centre[:, 0])
        sign = np.where(centre[:, 1] >= 0, 1.0, -1.0)
        rdir = np.stack([np.cos(phi), np.sin(phi), np.zeros(len(ok))], axis=-1) * sign[:, None]
        zdir = np.tile([0.0, 0.0, 1.0], (len(ok), 1))
        basis = np.stack([zdir, rdir], axis=1)  # (n, 2, 3): rows map 3D -> (z, signed r)
        c2 = basis @ cov @ np.transpose(basis, (0, 2, 1))
        c2d = np.stack([centre[:, 2], sign * np.hypot(centre[:, 0], centre[:, 1])], axis=-1)
    w, v = np.linalg.eigh(c2)
    axes = v * np.sqrt(np.clip(w, 0, None))[:, None, :] * n_sigma
    ring = c2d[:, None, :] + ct[None, :, None] * axes[:, None, :, 0] + st[None, :, None] * axes[:, None, :, 1]
    out = np.zeros((len(ok) * n_points, 3), dtype=np.float32)
    out[:, :2] = ring.reshape(-1, 2)
    return out, strip_connect(len(ok), n_points), np.repeat(ok, n_points)


def flight_lines(
    vertices: Collection, mode: Projection, n_points: int = 16, reach: np.ndarray | None = None
) -> tuple[F4, np.ndarray]:
    """Dashed lines from the primary vertex (or the IP) to every secondary vertex; ``reach`` (one per
    vertex, in [0, 1]) draws only that share of each line: the mother on its way."""
    pos = vertex_positions(vertices)
    primary = np.flatnonzero(vertices["kind"] == VertexKind.PRIMARY)
    origin = pos[primary[0]] if len(primary) else np.zeros(3)
    secondary = vertices["kind"] != VertexKind.PRIMARY
    sec = pos[secondary]
    f = np.linspace(0.0, 1.0, n_points)[None, :]
    if reach is not None:
        f = f * np.clip(np.asarray(reach, np.float64)[secondary], 0.0, 1.0)[:, None]
    pts = (origin[None, None, :] + f[:, :, None] * (sec - origin)[:, None, :]).reshape(-1, 3)
    sign = np.repeat(np.where(sec[:, 1] >= 0, 1.0, -1.0), n_points)
    return project(pts, mode, sign), strip_connect(len(sec), n_points, dashed=True)


# --- MC truth ----------------------------------------------------------------------------

_CHARGED_SHOWN = {11, 13, 15, 211, 321, 2212}
_NEUTRAL_SHOWN = {22, 130, 2112, 310, 111}
_INVISIBLE = {12, 14, 16}


def mc_charges(pdg_codes: np.ndarray) -> np.ndarray:
    """Charges of MC particles (events/pdg.py) as float64."""
    return pdg.charge(pdg_codes).astype(np.float64)


def mc_final_state(mc: Collection) -> np.ndarray:
    """Mask of MC particles worth drawing: no daughters, visible species, from inside the detector."""
    n = mc.size
    has_daughter = np.zeros(n, dtype=bool)
    mothers = mc["mother"]
    has_daughter[mothers[(mothers >= 0) & (mothers < n)]] = True
    a = np.abs(mc["pdg"])
    known = np.isin(a, list(_CHARGED_SHOWN)) | np.isin(a, list(_NEUTRAL_SHOWN))
    r = np.hypot(mc["vx"], mc["vy"])
    inside = r < ECL_INNER.r
    moving = np.hypot(np.hypot(mc["px"], mc["py"]), mc["pz"]) > 1e-3
    return ~has_daughter & known & ~np.isin(a, list(_INVISIBLE)) & inside & moving


def mc_polylines(
    mc: Collection, mode: Projection, bz: float, extent: Extent = ECL_INNER, n_points: int = 48
) -> tuple[Polylines, np.ndarray]:
    """Dashed truth trajectories of the final-state MC particles and their MC indices."""
    sel = np.flatnonzero(mc_final_state(mc))
    start = np.stack([mc["vx"], mc["vy"], mc["vz"]], axis=-1).astype(np.float64)[sel]
    p3 = np.stack([mc["px"], mc["py"], mc["pz"]], axis=-1).astype(np.float64)[sel]
    q = mc_charges(mc["pdg"][sel])
    pts = np.empty((len(sel), n_points, 3))
    charged = q != 0
    f = np.linspace(0.0, 1.0, n_points)
    if charged.any():
        c = np.flatnonzero(charged)
        d0, phi0, omega, z0, tl = helix.from_cartesian(start[c], p3[c], q[c], bz)
        phi = np.arctan2(p3[c, 1], p3[c, 0])
        s0 = np.angle(np.exp(1j * (phi0 - phi))) / omega  # arc length of the production point
        s1 = helix.draw_arc_lengths(d0, omega, z0, tl, extent.r, extent.z_min, extent.z_max)
        s1 = np.where(s1 > s0, s1, s0)
        s = s0[:, None] + (s1 - s0)[:, None] * f[None, :]
        pts[c] = helix.positions(d0[:, None], phi0[:, None], omega[:, None], z0[:, None], tl[:, None], s)
    if (~charged).any():
        nc = np.flatnonzero(~charged)
        u = p3[nc] / np.linalg.norm(p3[nc], axis=-1, keepdims=True)
        length = _ray_to_extent(start[nc], u, extent)
        pts[nc] = start[nc, None, :] + (length[:, None] * f[None, :])[:, :, None] * u[:, None, :]
    color = np.where(charged[:, None], np.array(MC_CHARGED), np.array(MC_NEUTRAL)).astype(np.float32)
    sign = np.repeat(np.where(pts[:, -1, 1] >= 0, 1.0, -1.0), n_points)
    lines = Polylines(
        project(pts.reshape(-1, 3), mode, sign),
        strip_connect(len(sel), n_points, dashed=True),
        np.repeat(color, n_points, axis=0),
        n_points,
    )
    return lines, sel


def _ray_to_extent(start: np.ndarray, u: np.ndarray, extent: Extent) -> np.ndarray:
    """Distance along unit ``u`` from ``start`` to the extent cylinder."""
    a = u[:, 0] ** 2 + u[:, 1] ** 2
    b = 2 * (start[:, 0] * u[:, 0] + start[:, 1] * u[:, 1])
    c = start[:, 0] ** 2 + start[:, 1] ** 2 - extent.r**2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_r = (-b + np.sqrt(np.maximum(b * b - 4 * a * c, 0))) / (2 * a)
        t_z = np.where(
            u[:, 2] >= 0, (extent.z_max - start[:, 2]) / u[:, 2], (extent.z_min - start[:, 2]) / u[:, 2]
        )
    t = np.fmin(np.where(a > 0, t_r, np.inf), np.abs(t_z))
    return np.nan_to_num(np.clip(t, 0, None), posinf=0.0)


# --- recoil arrow ------------------------------------------------------------------------


def recoil_arrow(
    direction: np.ndarray, length: float, mode: Projection, n_dash: int = 24
) -> tuple[F4, np.ndarray, np.ndarray]:
    """A dashed arrow from the IP: (positions, connect, tip position in the view)."""
    d = np.asarray(direction, dtype=np.float64)
    norm = float(np.linalg.norm(d))
    d = d / norm if norm > 0 else np.array([0.0, 0.0, 1.0])
    shaft3 = np.linspace(0.0, length, 2 * n_dash)[:, None] * d[None, :]
    shaft = project(shaft3, mode, np.full(len(shaft3), 1.0 if d[1] >= 0 else -1.0)).astype(np.float64)
    tip = shaft[-1]
    axis = tip - shaft[0]
    alen = float(np.linalg.norm(axis))
    axis = axis / alen if alen > 0 else np.array([1.0, 0.0, 0.0])
    perp = np.cross(axis, [0.0, 0.0, 1.0]) if mode != "3d" else np.cross(axis, [0.0, 1.0, 0.0])
    if np.linalg.norm(perp) < 1e-6:
        perp = np.cross(axis, [1.0, 0.0, 0.0])
    perp /= np.linalg.norm(perp)
    head = 0.08 * max(alen, 1.0)
    barbs = np.array([tip, tip - head * axis + 0.5 * head * perp, tip, tip - head * axis - 0.5 * head * perp])
    pts = np.concatenate([shaft, barbs]).astype(np.float32)
    connect = np.concatenate([strip_connect(1, len(shaft), dashed=True), [True, False, True, False]])
    return pts, connect, pts[len(shaft) - 1]
