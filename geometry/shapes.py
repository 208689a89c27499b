"""Whole-array mesh primitives: hexahedra (boxes, crystals, wedges), extruded rings and polygons.

Everything is vectorized over the elements; faces are wound so that their normals point outward.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from geometry.mesh import Mesh

# hexahedron corners: 0–3 on the front face (−w), 4–7 on the back face (+w), each counter-clockwise seen
# from +w, starting at (−u, −v): (−,−), (+,−), (+,+), (−,+)
_QUADS = np.array(
    [
        [0, 3, 2, 1],  # front, normal −w
        [4, 5, 6, 7],  # back, normal +w
        [0, 1, 5, 4],  # side 0 (v = −), normal −v
        [1, 2, 6, 5],  # side 1 (u = +), normal +u
        [2, 3, 7, 6],  # side 2 (v = +), normal +v
        [3, 0, 4, 7],  # side 3 (u = −), normal −u
    ]
)
FRONT, BACK, SIDE_V_LOW, SIDE_U_HIGH, SIDE_V_HIGH, SIDE_U_LOW = range(6)
_TRIANGLES = np.stack([_QUADS[:, [0, 1, 2]], _QUADS[:, [0, 2, 3]]], axis=1)  # (6 quads, 2, 3)
_SIGNS = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)


def hexahedra(
    corners: npt.ArrayLike, element: npt.ArrayLike | None = None, keep: npt.ArrayLike | None = None
) -> Mesh:
    """Mesh of N hexahedra from their (N, 8, 3) corners.

    ``element`` (N,) gives each hexahedron's element index (default: its own index); ``keep`` (N, 6) or
    (6,) bool selects which of the faces FRONT, BACK, SIDE_* are drawn (default: all).
    """
    corners = np.asarray(corners, dtype=np.float64)
    n = len(corners)
    element = np.arange(n, dtype=np.int32) if element is None else np.asarray(element, dtype=np.int32)
    mask = np.ones((n, 6), bool) if keep is None else np.broadcast_to(np.asarray(keep, bool), (n, 6))
    which, quad = np.nonzero(mask)
    tri = (8 * which[:, None, None] + _TRIANGLES[quad]).reshape(-1, 3)
    return Mesh(
        corners.reshape(-1, 3).astype(np.float32),
        tri.astype(np.uint32),
        np.repeat(element[which], 2).astype(np.int32),
    )


def box_corners(
    centre: npt.ArrayLike,
    u: npt.ArrayLike,
    v: npt.ArrayLike,
    half_u: npt.ArrayLike,
    half_v: npt.ArrayLike,
    half_w: npt.ArrayLike,
) -> np.ndarray:
    """(N, 8, 3) corners of boxes with centre, in-plane unit axes u, v (w = u × v) and half-sizes."""
    centre, u, v = (np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (centre, u, v))
    w = np.cross(u, v)
    hu, hv, hw = (
        np.broadcast_to(np.asarray(a, dtype=np.float64), (len(centre),)) for a in (half_u, half_v, half_w)
    )
    face = np.array([-1.0, 1.0])[None, :, None] * (hw[:, None, None] * w[:, None, :]) + centre[:, None, :]
    return (
        face[:, :, None, :]
        + (hu[:, None, None, None] * _SIGNS[None, None, :, 0, None]) * u[:, None, None, :]
        + (hv[:, None, None, None] * _SIGNS[None, None, :, 1, None]) * v[:, None, None, :]
    ).reshape(-1, 8, 3)


def frustum_corners(
    front_centre: np.ndarray,
    back_centre: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    half_u: np.ndarray,
    half_v: np.ndarray,
) -> np.ndarray:
    """(N, 8, 3) corners of truncated pyramids: half-sizes (N, 2) give the front and back face sizes."""
    ends = np.stack([front_centre, back_centre], axis=1)  # (N, 2, 3)
    hu, hv = np.asarray(half_u, dtype=np.float64), np.asarray(half_v, dtype=np.float64)
    return (
        ends[:, :, None, :]
        + (hu[:, :, None, None] * _SIGNS[None, None, :, 0, None]) * u[:, None, None, :]
        + (hv[:, :, None, None] * _SIGNS[None, None, :, 1, None]) * v[:, None, None, :]
    ).reshape(-1, 8, 3)


def directions(theta: npt.ArrayLike, phi: npt.ArrayLike) -> np.ndarray:
    """(..., 3) unit vectors at polar angle ``theta`` from +z and azimuth ``phi`` from +x."""
    theta, phi = np.asarray(theta, dtype=np.float64), np.asarray(phi, dtype=np.float64)
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=-1)


def ring_points(radius: npt.ArrayLike, phi: npt.ArrayLike) -> np.ndarray:
    """(..., 2) points at radius and φ (broadcast)."""
    radius, phi = np.broadcast_arrays(np.asarray(radius, np.float64), np.asarray(phi, np.float64))
    return np.stack([radius * np.cos(phi), radius * np.sin(phi)], axis=-1)


def extrude_rings(
    inner: npt.ArrayLike,
    outer: npt.ArrayLike,
    z0: npt.ArrayLike,
    z1: npt.ArrayLike,
    closed: bool,
    element: npt.ArrayLike | None = None,
) -> Mesh:
    """Solid bands between inner and outer polylines (N, M+1, 2) in x–y, extruded from z0 to z1 (N,).

    Each band is cut into M hexahedra along the polyline; only outer surfaces are drawn. ``closed``
    bands (full rings) have no end walls. ``element`` (N,) names each band (default: its index).
    """
    inner, outer = np.asarray(inner, np.float64), np.asarray(outer, np.float64)
    n, m = inner.shape[0], inner.shape[1] - 1
    z0 = np.broadcast_to(np.asarray(z0, np.float64), (n,))
    z1 = np.broadcast_to(np.asarray(z1, np.float64), (n,))
    # corners (u radial, v along the polyline): (in, j), (out, j), (out, j+1), (in, j+1)
    xy = np.stack([inner[:, :-1], outer[:, :-1], outer[:, 1:], inner[:, 1:]], axis=2)  # (N, M, 4, 2)
    z = np.stack([z0, z1], axis=1)[:, None, :, None].repeat(m, axis=1).repeat(4, axis=3)  # (N, M, 2, 4)
    corners = np.concatenate([np.repeat(xy[:, :, None], 2, axis=2), z[..., None]], axis=-1)
    corners = corners.reshape(n * m, 8, 3)
    keep = np.ones((n, m, 6), bool)
    keep[:, :, SIDE_V_LOW] = False
    keep[:, :, SIDE_V_HIGH] = False
    if not closed:
        keep[:, 0, SIDE_V_LOW] = True
        keep[:, -1, SIDE_V_HIGH] = True
    el = np.arange(n) if element is None else np.asarray(element)
    return hexahedra(corners, np.repeat(el, m), keep.reshape(-1, 6))


def tubes(
    r_in: npt.ArrayLike,
    r_out: npt.ArrayLike,
    z0: npt.ArrayLike,
    z1: npt.ArrayLike,
    segments: int = 96,
    phi0: npt.ArrayLike = 0.0,
    phi1: npt.ArrayLike = 2 * np.pi,
    element: npt.ArrayLike | None = None,
) -> Mesh:
    """Cylindrical shells (or annular sectors from phi0 to phi1) r_in–r_out, z0–z1; vectorized over N."""
    r_in, r_out, z0, z1, p0, p1 = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, np.float64)) for a in (r_in, r_out, z0, z1, phi0, phi1))
    )
    closed = bool(np.allclose(p1 - p0, 2 * np.pi))
    phi = p0[:, None] + (p1 - p0)[:, None] * np.linspace(0.0, 1.0, segments + 1)[None, :]
    return extrude_rings(
        ring_points(r_in[:, None], phi), ring_points(r_out[:, None], phi), z0, z1, closed, element
    )


def polygon_points(apothem: npt.ArrayLike, sides: int, phi_first_vertex: float) -> np.ndarray:
    """(N, 2·sides + 1, 2) closed regular polygons of given apothems, with the midpoints of the sides."""
    apothem = np.atleast_1d(np.asarray(apothem, np.float64))
    k = np.arange(2 * sides + 1)
    phi = phi_first_vertex + np.pi / sides * k
    radius = np.where(k % 2 == 0, 1.0 / np.cos(np.pi / sides), 1.0)  # vertices, then side midpoints
    return ring_points(apothem[:, None] * radius[None, :], phi[None, :])


def polygon_shells(
    apothem_in: npt.ArrayLike,
    apothem_out: npt.ArrayLike,
    z0: npt.ArrayLike,
    z1: npt.ArrayLike,
    sides: int,
    phi_first_vertex: float,
    element: npt.ArrayLike | None = None,
) -> Mesh:
    """Regular-polygon shells (e.g. the KLM octagons), vectorized over N."""
    return extrude_rings(
        polygon_points(apothem_in, sides, phi_first_vertex),
        polygon_points(apothem_out, sides, phi_first_vertex),
        z0,
        z1,
        True,
        element,
    )


def tilted(mesh: Mesh, angle_y: float) -> Mesh:
    """The mesh turned by angle_y about the y axis (x–z plane, like the beam crossing angle)."""
    c, s = np.cos(angle_y), np.sin(angle_y)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return Mesh((mesh.vertices.astype(np.float64) @ rot.T).astype(np.float32), mesh.faces, mesh.element)


def polygon_ring_points(apothem: float, sides: int, phi_first_vertex: float, per_side: int) -> np.ndarray:
    """(sides · per_side + 1, 2) closed regular polygon sampled at equal steps of φ from its first
    vertex, ``per_side`` steps per side (so a circle sampled at the same φ matches it point by point)."""
    phi = phi_first_vertex + 2 * np.pi * np.arange(sides * per_side + 1) / (sides * per_side)
    step = 2 * np.pi / sides
    off = np.mod(phi - phi_first_vertex, step) - step / 2  # angle from the middle of the point's side
    return ring_points(apothem / np.cos(off), phi)
