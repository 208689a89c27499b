"""ECL: the 8736 CsI(Tl) crystals, their cellId numbering, positions, axes and meshes.

Lengths in cm, angles in rad. The crystals are read from ``ecl_crystals.csv`` of the geometry
tables (assets/geometry/, built by ``geometry.build_assets`` from the basf2 placement table and
ring table; origins in assets/geometry/SOURCES.md); the polar limits of the regions from
``figures.json``.

* cellId is 1-based (1…8736), numbered ring by ring from the most forward thetaID 0 to the most
  backward 68; inside a ring phiID runs 0…N−1 with increasing φ.
* Barrel crystal centres come from the basf2 placement table (one 5° sector of 2 × 46 crystals,
  repeated 72 times). Endcap centres lie on the reference planes z = +208 cm / −114 cm at the ring θ
  centre and φ = (phiID + 0.5) · pitch.
* Barrel crystal axes are the table's orientation: basf2 ``get_transform`` turns each crystal
  (long axis along its local z) by the angle ``Rphi1`` about the axis of polar angle ``Rtheta`` and
  azimuth ``Rphi2``. They are not projective: about 1° off the line from the IP, so no photon from
  the IP runs along a gap. Endcap axes point from the IP to the crystal centre.
* Each crystal is drawn as a truncated pyramid about its centre and axis: its faces normal to the
  axis, FILL of the half-widths of its angular cell that the table gives at the front and back face.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from geometry.angles import polar_angle
from geometry.mesh import Mesh
from geometry.reference import GeometryDataError, data_file, figures, read_table
from geometry.shapes import BACK, FRONT, frustum_corners, hexahedra

N_CRYSTALS = 8736
N_RINGS = 69
FORWARD, BARREL, BACKWARD = 0, 1, 2
REGION_NAMES = ("forward", "barrel", "backward")

#: crystals per θ ring (basf2 m_crystalsPerRing): the cellId numbering
N_PHI = np.array([48, 48, 64, 64, 64] + [96] * 6 + [144] * 2 + [144] * 46 + [144] * 2 + [96] * 5 + [64] * 3)
#: first 1-based cellId of each ring
FIRST_CELL = np.concatenate([[1], 1 + np.cumsum(N_PHI)[:-1]])
#: region of each ring: thetaID 0–12 forward, 13–58 barrel, 59–68 backward
RING_REGION = np.repeat([FORWARD, BARREL, BACKWARD], [13, 46, 10])

CRYSTALS_FILE = "ecl_crystals.csv"
FILL = 0.97  # fraction of the angular cell a drawn crystal fills (wrapping and gaps stay visible)

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


@dataclass(frozen=True)
class Crystals:
    """The crystal table by cellId − 1: centre [cm], unit axis, length [cm], the half-widths [cm] of
    the angular cell along φ and θ at the front and back faces, (N, 2) each, and θ, φ of the centre."""

    centre: np.ndarray
    axis: np.ndarray
    length: np.ndarray
    half_phi: np.ndarray
    half_theta: np.ndarray
    theta: np.ndarray
    phi: np.ndarray


def _read_only(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


@functools.cache
def crystals() -> Crystals:
    """The 8736 crystals of ``ecl_crystals.csv``; GeometryDataError naming the file if it is wrong."""
    float_cols = ["x_cm", "y_cm", "z_cm", "axis_x", "axis_y", "axis_z", "length_cm"]
    float_cols += ["front_half_phi_cm", "front_half_theta_cm", "back_half_phi_cm", "back_half_theta_cm"]
    t = read_table(
        CRYSTALS_FILE, {"cellId": int, "thetaID": int, "phiID": int} | dict.fromkeys(float_cols, float)
    )
    path = data_file(CRYSTALS_FILE)
    if len(t["cellId"]) != N_CRYSTALS or not np.array_equal(t["cellId"], np.arange(1, N_CRYSTALS + 1)):
        raise GeometryDataError(f"{path}: expected the {N_CRYSTALS} cellIds 1…{N_CRYSTALS} in order")
    if not np.array_equal(t["thetaID"], RING_OF_CELL) or not np.array_equal(
        t["phiID"], np.arange(N_CRYSTALS) + 1 - FIRST_CELL[RING_OF_CELL]
    ):
        raise GeometryDataError(f"{path}: thetaID / phiID disagree with the cellId numbering")
    centre = np.stack([t["x_cm"], t["y_cm"], t["z_cm"]], axis=1)
    axis = np.stack([t["axis_x"], t["axis_y"], t["axis_z"]], axis=1)
    if np.abs(np.linalg.norm(axis, axis=1) - 1.0).max() > 1e-9:
        raise GeometryDataError(f"{path}: crystal axes are not unit vectors")
    half_phi = np.stack([t["front_half_phi_cm"], t["back_half_phi_cm"]], axis=1)
    half_theta = np.stack([t["front_half_theta_cm"], t["back_half_theta_cm"]], axis=1)
    if min(half_phi.min(), half_theta.min(), t["length_cm"].min()) <= 0:
        raise GeometryDataError(f"{path}: crystal sizes must be positive")
    theta = polar_angle(centre)
    phi = np.mod(np.arctan2(centre[:, 1], centre[:, 0]), 2 * np.pi)
    out = Crystals(centre, axis, t["length_cm"], half_phi, half_theta, theta, phi)
    _read_only(*vars(out).values())
    return out


def crystal_centres() -> np.ndarray:
    """(8736, 3) float64 crystal centres [cm], row cellId − 1."""
    return crystals().centre


def crystal_axes() -> np.ndarray:
    """(8736, 3) unit vectors along each crystal's long axis, outward, row cellId − 1."""
    return crystals().axis


def crystal_theta_phi() -> tuple[np.ndarray, np.ndarray]:
    """θ, φ [rad] of every crystal centre seen from the IP (φ in [0, 2π)), row cellId − 1."""
    c = crystals()
    return c.theta, c.phi


def theta_center_deg() -> np.ndarray:
    """θ of each ring centre [deg] (basf2 thetaIDCenter[]), thetaID order."""
    return figures("ecl").values("theta_center_deg", "deg", N_RINGS)


@dataclass(frozen=True)
class InnerSurface:
    """Where a particle from the IP enters the calorimeter [cm]: the barrel's inner radius and the
    endcaps' front faces (basf2 crystal_placement_barrel.dat and ECL.xml)."""

    barrel_r: float
    backward_z: float
    forward_z: float
    crystal_length: float


@functools.cache
def inner_surface() -> InnerSurface:
    f = figures("ecl")
    return InnerSurface(
        f.value("barrel_inner_r"),
        f.value("backward_front_z"),
        f.value("forward_front_z"),
        f.value("crystal_length"),
    )


def region_theta_deg() -> np.ndarray:
    """(3, 2) polar coverage [deg] of the forward endcap, barrel and backward endcap (ECLCluster.cc)."""
    return figures("ecl").values("region_theta_deg", "deg", 6).reshape(3, 2)


def ring_edges(theta: npt.ArrayLike, limits_deg: npt.ArrayLike) -> np.ndarray:
    """(69, 2) θ edges [rad] of each ring from the θ of every crystal: midpoints between the ring
    centres (mean θ of their crystals), clamped to the (3, 2) region limits [deg]."""
    ring_theta = np.bincount(RING_OF_CELL, weights=np.asarray(theta, np.float64)) / N_PHI
    cuts = 0.5 * (ring_theta[1:] + ring_theta[:-1])
    edges = np.stack([np.concatenate([[0.0], cuts]), np.concatenate([cuts, [np.pi]])], axis=1)
    limits = np.radians(np.asarray(limits_deg, np.float64))[RING_REGION]
    return np.clip(edges, limits[:, :1], limits[:, 1:])


@functools.cache
def _ring_theta_cuts() -> np.ndarray:
    """θ boundaries between neighbouring rings: midpoints of the drawn ring centres (68 values)."""
    ring_theta = np.bincount(RING_OF_CELL, weights=crystals().theta) / N_PHI
    return 0.5 * (ring_theta[1:] + ring_theta[:-1])


@functools.cache
def ring_theta_edges() -> np.ndarray:
    """(69, 2) θ edges [rad] of each ring: midpoints between drawn ring centres, clamped to the regions."""
    out = ring_edges(crystals().theta, region_theta_deg())
    out.flags.writeable = False
    return out


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
    cell_phi = crystals().phi
    guess = np.floor(ph / pitch).astype(np.int64)
    candidates = np.mod(guess[..., None] + np.array([-1, 0, 1]), n[..., None])
    cells = FIRST_CELL[ring][..., None] + candidates
    dphi = np.abs(np.angle(np.exp(1j * (ph[..., None] - cell_phi[cells - 1]))))
    best = np.take_along_axis(cells, np.argmin(dphi, axis=-1)[..., None], axis=-1)[..., 0]
    limits = region_theta_deg()
    lo, hi = np.radians(limits[0, 0]), np.radians(limits[2, 1])
    best = np.where((th >= lo) & (th <= hi), best, 0)
    return _as_output(best, np.ndim(theta) == 0 and np.ndim(phi) == 0)


@functools.cache
def crystal_vertices() -> np.ndarray:
    """(8736, 8, 3) corners [cm] of each crystal: 4 front (towards the IP) then 4 back, row cellId − 1.

    Each crystal is a truncated pyramid of its length about its centre and axis, its faces normal to
    the axis, spanning FILL of its angular cell (φ pitch × ring θ width) at each face.
    """
    c = crystals()
    centre, axis = c.centre, c.axis
    e_phi = np.stack([-np.sin(c.phi), np.cos(c.phi), np.zeros_like(c.phi)], axis=1)
    u = e_phi - np.sum(e_phi * axis, axis=1, keepdims=True) * axis
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axis, u)
    ends = np.array([-0.5, 0.5])[None, :] * c.length[:, None]
    face = centre[:, None, :] + ends[:, :, None] * axis[:, None, :]  # (N, 2, 3)
    corners = frustum_corners(face[:, 0], face[:, 1], u, v, FILL * c.half_phi, FILL * c.half_theta)
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
