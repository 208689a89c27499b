"""ECL: the 8736 CsI(Tl) crystals, their cellId numbering, positions, axes and meshes.

Figures from docs/detector.md §7 (basf2 ``m_crystalsPerRing``, ``thetaIDCenter[]``,
``ecl/data/crystal_placement_barrel.dat``, ECL.xml). Lengths in cm, angles in rad.

* cellId is 1-based (1…8736), numbered ring by ring from the most forward thetaID 0 to the most
  backward 68; inside a ring phiID runs 0…N−1 with increasing φ.
* Barrel crystal centres come from the basf2 placement table (one 5° sector of 2 × 46 crystals,
  repeated 72 times). Endcap centres lie on the reference planes z = +208 cm / −114 cm at the ring θ
  centre and φ = (phiID + 0.5) · pitch.
* Barrel crystal axes are the table's orientation: basf2 ``get_transform`` turns each crystal
  (long axis along its local z) by the angle ``Rphi1`` about the axis of polar angle ``Rtheta`` and
  azimuth ``Rphi2``. They are not projective: about 1° off the line from the IP, so no photon from
  the IP runs along a gap. Endcap axes point from the IP to the crystal centre.
"""

from __future__ import annotations

import functools
import warnings
from typing import Literal

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import GeometryDataError, data_file
from geometry.shapes import BACK, FRONT, directions, frustum_corners, hexahedra

N_CRYSTALS = 8736
N_RINGS = 69
FORWARD, BARREL, BACKWARD = 0, 1, 2
REGION_NAMES = ("forward", "barrel", "backward")

#: crystals per θ ring (basf2 m_crystalsPerRing)
N_PHI = np.array([48, 48, 64, 64, 64] + [96] * 6 + [144] * 2 + [144] * 46 + [144] * 2 + [96] * 5 + [64] * 3)
#: first 1-based cellId of each ring
FIRST_CELL = np.concatenate([[1], 1 + np.cumsum(N_PHI)[:-1]])
#: region of each ring: thetaID 0–12 forward, 13–58 barrel, 59–68 backward
RING_REGION = np.repeat([FORWARD, BARREL, BACKWARD], [13, 46, 10])
#: θ centre of each ring [deg] (basf2 thetaIDCenter[])
THETA_CENTER_DEG = np.concatenate(
    [
        [13.18, 14.70, 16.25, 17.79, 19.26, 20.79, 22.29, 23.77, 25.24, 26.65, 28.06, 29.48, 30.87],
        [32.92, 34.27, 35.66, 37.10, 38.59, 40.14, 41.73, 43.37, 45.07, 46.83, 48.63, 50.49, 52.39],
        [54.37, 56.38, 58.44, 60.55, 62.73, 64.94, 67.19, 69.48, 71.83, 74.20, 76.61, 79.04, 81.52],
        [84.00, 86.50, 88.87, 91.13, 93.50, 96.00, 98.48, 100.96, 103.39, 105.80, 108.17, 110.52],
        [112.81, 115.06, 117.27, 119.45, 121.56, 123.62, 125.63, 127.59],
        [131.37, 133.55, 135.79, 138.06, 140.45, 142.92, 145.52, 148.15, 150.71, 153.36],
    ]
)
#: polar coverage limits [deg]: FWD 12.4–31.4, barrel 32.2–128.7, BWD 130.7–155.1 (ECLCluster.cc)
REGION_THETA_DEG = np.array([[12.4, 31.4], [32.2, 128.7], [130.7, 155.1]])

CRYSTAL_LENGTH = 30.0  # cm (ECL.xml k_Crystall_HalfLength 15 cm)
FORWARD_CENTRE_Z = 208.0  # cm, reference plane of forward crystal centres
BACKWARD_CENTRE_Z = -114.0  # cm, reference plane of backward crystal centres
BARREL_CENTRE_RHO = 137.0  # cm, only used if the placement table is missing
BARREL_SECTORS = 72  # 5° sectors of 2 crystals
PLACEMENT_FILE = "crystal_placement_barrel.dat"
FILL = 0.97  # fraction of the angular pitch a drawn crystal fills (wrapping and gaps stay visible)

RING_OF_CELL = np.repeat(np.arange(N_RINGS), N_PHI)  # index cell_id - 1


def _as_output(values: np.ndarray, scalar: bool) -> np.ndarray | int:
    return int(values) if scalar else values


def _check_cells(cell_id: np.ndarray | int) -> np.ndarray:
    cells = np.asarray(cell_id)
    if not np.issubdtype(cells.dtype, np.integer):
        if np.any(cells != np.round(cells)):
            raise ValueError("ECL cellId must be an integer")
        cells = cells.astype(np.int64)
    bad = (cells < 1) | (cells > N_CRYSTALS)
    if np.any(bad):
        raise ValueError(f"ECL cellId out of range 1…{N_CRYSTALS}: {np.asarray(cells)[bad].ravel()[:5]}")
    return cells


def cell_to_theta_phi_id(cell_id: np.ndarray | int) -> tuple[np.ndarray | int, np.ndarray | int]:
    """(thetaID, phiID) of 1-based cellIds; vectorized. Raises ValueError outside 1…8736."""
    cells = _check_cells(cell_id)
    theta_id = RING_OF_CELL[cells - 1]
    phi_id = cells - FIRST_CELL[theta_id]
    scalar = np.ndim(cell_id) == 0
    return _as_output(theta_id, scalar), _as_output(phi_id, scalar)


def theta_phi_id_to_cell(theta_id: np.ndarray | int, phi_id: np.ndarray | int) -> np.ndarray | int:
    """1-based cellId of (thetaID, phiID); vectorized. Raises ValueError for IDs outside the rings."""
    t = np.asarray(theta_id).astype(np.int64)
    p = np.asarray(phi_id).astype(np.int64)
    if np.any((t < 0) | (t >= N_RINGS)):
        raise ValueError(f"ECL thetaID out of range 0…{N_RINGS - 1}")
    if np.any((p < 0) | (p >= N_PHI[t])):
        raise ValueError("ECL phiID out of range 0…nPhi(thetaID)−1")
    cells = FIRST_CELL[t] + p
    return _as_output(cells, np.ndim(theta_id) == 0 and np.ndim(phi_id) == 0)


def region(cell_id: np.ndarray | int) -> np.ndarray | int:
    """0 forward endcap, 1 barrel, 2 backward endcap; vectorized."""
    cells = _check_cells(cell_id)
    return _as_output(RING_REGION[RING_OF_CELL[cells - 1]], np.ndim(cell_id) == 0)


def rotate(v: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``v`` turned by ``angle`` about the unit ``axis`` (right-handed; Rodrigues), row by row."""
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    along = np.sum(axis * v, axis=-1, keepdims=True) * axis
    return v * cos + np.cross(axis, v) * sin + along * (1.0 - cos)


def _barrel_from_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(R [cm], θ, φ) of the 46 × 144 barrel crystal centres, rings forward to backward, φ ascending,
    and their (46, 144, 3) long axes."""
    rows = np.loadtxt(data_file(PLACEMENT_FILE), comments=("#", "//"))
    if rows.shape != (92, 7):
        raise GeometryDataError(f"{PLACEMENT_FILE}: expected 92 rows of 7 columns, got {rows.shape}")
    turn, turn_theta, turn_phi = rows[:, 1], rows[:, 2], rows[:, 3]
    radius, theta, phi = rows[:, 4] / 10.0, rows[:, 5], rows[:, 6]
    local_z = np.broadcast_to([0.0, 0.0, 1.0], (92, 3))
    table_axes = rotate(local_z, directions(turn_theta, turn_phi), turn)
    order = np.argsort(theta.reshape(46, 2).mean(axis=1), kind="stable")
    pairs = np.arange(92).reshape(46, 2)[order]  # (ring, 2 crystals of the 5° sector at φ ≈ 90°)
    sector = 2.0 * np.pi / BARREL_SECTORS
    # the table's sector spans 87.5°–92.5°; sector k is the same turned by k·5° − 90°
    turns = (-np.pi / 2 + sector * np.arange(BARREL_SECTORS))[None, :, None]
    phis = np.mod((phi[pairs][:, None, :] + turns).reshape(46, 144), 2 * np.pi)
    turns = np.broadcast_to(turns, (46, BARREL_SECTORS, 2)).reshape(46, 144)
    idx = np.broadcast_to(pairs[:, None, :], (46, BARREL_SECTORS, 2)).reshape(46, 144)
    sort = np.argsort(phis, axis=1)
    phis = np.take_along_axis(phis, sort, axis=1)
    idx = np.take_along_axis(idx, sort, axis=1)
    turns = np.take_along_axis(turns, sort, axis=1)
    axes = rotate(table_axes[idx], np.broadcast_to([0.0, 0.0, 1.0], (46, 144, 3)), turns)
    return radius[idx], theta[idx], phis, axes


def _barrel_nominal() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    theta = np.radians(THETA_CENTER_DEG[13:59])[:, None].repeat(144, axis=1)
    phi = (np.arange(144) + 0.5)[None, :].repeat(46, axis=0) * (2 * np.pi / 144)
    return BARREL_CENTRE_RHO / np.sin(theta), theta, phi, directions(theta, phi)


@functools.cache
def _crystals() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(distance from IP [cm], θ, φ) of every crystal centre and its (N, 3) axis, by cellId − 1."""
    theta_id = RING_OF_CELL
    phi_id = np.arange(1, N_CRYSTALS + 1) - FIRST_CELL[theta_id]
    theta = np.radians(THETA_CENTER_DEG)[theta_id]
    phi = (phi_id + 0.5) * (2 * np.pi / N_PHI[theta_id])
    z_plane = np.where(RING_REGION[theta_id] == FORWARD, FORWARD_CENTRE_Z, BACKWARD_CENTRE_Z)
    dist = z_plane / np.cos(theta)
    try:
        b_r, b_theta, b_phi, b_axes = _barrel_from_table()
    except GeometryDataError as err:
        warnings.warn(f"{err}; ECL barrel crystals placed on nominal rings", stacklevel=2)
        b_r, b_theta, b_phi, b_axes = _barrel_nominal()
    barrel = slice(FIRST_CELL[13] - 1, FIRST_CELL[59] - 1)
    dist[barrel], theta[barrel], phi[barrel] = b_r.ravel(), b_theta.ravel(), b_phi.ravel()
    axes = directions(theta, phi)
    axes[barrel] = b_axes.reshape(-1, 3)
    for a in (dist, theta, phi, axes):
        a.flags.writeable = False
    return dist, theta, phi, axes


@functools.cache
def crystal_centres() -> np.ndarray:
    """(8736, 3) float64 crystal centres [cm], row cellId − 1."""
    dist, theta, phi, _ = _crystals()
    out = dist[:, None] * directions(theta, phi)
    out.flags.writeable = False
    return out


def crystal_axes() -> np.ndarray:
    """(8736, 3) unit vectors along each crystal's long axis, outward, row cellId − 1."""
    return _crystals()[3]


def crystal_theta_phi() -> tuple[np.ndarray, np.ndarray]:
    """θ, φ [rad] of every crystal centre seen from the IP (φ in [0, 2π)), row cellId − 1."""
    _, theta, phi, _ = _crystals()
    return theta, phi


@functools.cache
def _ring_theta_cuts() -> np.ndarray:
    """θ boundaries between neighbouring rings: midpoints of the drawn ring centres (68 values)."""
    _, theta, _, _ = _crystals()
    ring_theta = np.bincount(RING_OF_CELL, weights=theta) / N_PHI
    return 0.5 * (ring_theta[1:] + ring_theta[:-1])


@functools.cache
def ring_theta_edges() -> np.ndarray:
    """(69, 2) θ edges [rad] of each ring: midpoints between drawn ring centres, clamped to the regions."""
    cuts = _ring_theta_cuts()
    edges = np.stack([np.concatenate([[0.0], cuts]), np.concatenate([cuts, [np.pi]])], axis=1)
    limits = np.radians(REGION_THETA_DEG)[RING_REGION]
    return np.clip(edges, limits[:, :1], limits[:, 1:])


def cell_at(theta: np.ndarray | float, phi: np.ndarray | float) -> np.ndarray | int:
    """1-based cellId of the crystal nearest to direction (θ, φ) [rad]; 0 outside 12.4°–155.1°.

    Directions in the gaps between barrel and endcaps go to the nearer ring.
    """
    th = np.asarray(theta, dtype=np.float64)
    ph = np.mod(np.asarray(phi, dtype=np.float64), 2 * np.pi)
    th, ph = np.broadcast_arrays(th, ph)
    ring = np.searchsorted(_ring_theta_cuts(), th)
    n = N_PHI[ring]
    pitch = 2 * np.pi / n
    _, _, cell_phi, _ = _crystals()
    guess = np.floor(ph / pitch).astype(np.int64)
    candidates = np.mod(guess[..., None] + np.array([-1, 0, 1]), n[..., None])
    cells = FIRST_CELL[ring][..., None] + candidates
    dphi = np.abs(np.angle(np.exp(1j * (ph[..., None] - cell_phi[cells - 1]))))
    best = np.take_along_axis(cells, np.argmin(dphi, axis=-1)[..., None], axis=-1)[..., 0]
    lo, hi = np.radians(REGION_THETA_DEG[0, 0]), np.radians(REGION_THETA_DEG[2, 1])
    best = np.where((th >= lo) & (th <= hi), best, 0)
    return _as_output(best, np.ndim(theta) == 0 and np.ndim(phi) == 0)


@functools.cache
def crystal_vertices() -> np.ndarray:
    """(8736, 8, 3) corners [cm] of each crystal: 4 front (towards the IP) then 4 back, row cellId − 1.

    Each crystal is a truncated pyramid of length 30 cm about its centre and axis, its faces normal to
    the axis, spanning FILL of its ring's φ pitch and θ width.
    """
    centre, axis = crystal_centres(), crystal_axes()
    _, _, phi, _ = _crystals()
    e_phi = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    u = e_phi - np.sum(e_phi * axis, axis=1, keepdims=True) * axis
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axis, u)
    edges = ring_theta_edges()[RING_OF_CELL]
    d_theta = edges[:, 1] - edges[:, 0]
    d_phi = 2 * np.pi / N_PHI[RING_OF_CELL]
    ends = np.array([-0.5, 0.5]) * CRYSTAL_LENGTH
    face = centre[:, None, :] + ends[None, :, None] * axis[:, None, :]  # (N, 2, 3)
    half_u = 0.5 * FILL * d_phi[:, None] * np.hypot(face[..., 0], face[..., 1])  # (N, 2)
    half_v = 0.5 * FILL * d_theta[:, None] * np.linalg.norm(face, axis=2)
    corners = frustum_corners(face[:, 0], face[:, 1], u, v, half_u, half_v)
    out = corners.reshape(N_CRYSTALS, 8, 3)
    out.flags.writeable = False
    return out


@functools.cache
def crystal_mesh(faces: Literal["all", "shell"] = "all") -> Mesh:
    """All crystals as one Mesh; ``element`` of each face is cellId − 1.

    "all": 12 triangles per crystal (closed truncated pyramid); "shell": only the front and back faces
    (4 triangles), a cheaper level of detail.
    """
    if faces not in ("all", "shell"):
        raise ValueError(f"crystal_mesh faces must be 'all' or 'shell', not {faces!r}")
    keep = np.ones(6, bool) if faces == "all" else np.isin(np.arange(6), [FRONT, BACK])
    mesh = hexahedra(crystal_vertices(), keep=keep)
    for a in (mesh.vertices, mesh.faces, mesh.element):
        a.flags.writeable = False  # cached and shared: callers copy before editing
    return mesh


def crystals_per_region() -> dict[str, int]:
    """Number of crystals in the forward endcap, barrel and backward endcap."""
    counts = np.bincount(RING_REGION, weights=N_PHI, minlength=3).astype(int)
    return dict(zip(REGION_NAMES, (int(c) for c in counts), strict=True))
