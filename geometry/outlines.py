"""2D outlines of every subdetector for the r-phi and r-z projections, as line segments in cm.

* "rphi": (x, y), the cross-section at z = 0 (as the basf2 display and Atlantis draw it); the
  endcap detectors ARICH and EKLM, which the z = 0 plane does not cut, appear as their projection
  along z.
* "rz": (z, signed r) with r = √(x² + y²) · sign(y): the detector cut by the y–z plane, both halves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from geometry import beampipe, cdc, ecl, klm, pid, solenoid, vxd
from geometry.shapes import polygon_points

VIEWS = ("rphi", "rz")
CIRCLE_SEGMENTS = 180


def polyline(points: np.ndarray, closed: bool = False) -> np.ndarray:
    """(M, 2) points → (K, 2, 2) segments joining them in order."""
    pts = np.asarray(points, np.float64)
    if closed:
        pts = np.concatenate([pts, pts[:1]])
    return np.stack([pts[:-1], pts[1:]], axis=1)


def circles(radius: np.ndarray | list[float], segments: int = CIRCLE_SEGMENTS) -> np.ndarray:
    """Segments of circles about the origin."""
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)
    return np.concatenate(
        [polyline(np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)) for r in np.atleast_1d(radius)]
    )


def quads(corners: np.ndarray) -> np.ndarray:
    """(N, 4, 2) quadrilaterals → (4N, 2, 2) segments."""
    c = np.asarray(corners, np.float64)
    return np.stack([c, np.roll(c, -1, axis=1)], axis=2).reshape(-1, 2, 2)


def rectangles(
    z0: npt.ArrayLike, z1: npt.ArrayLike, r0: npt.ArrayLike, r1: npt.ArrayLike, mirror: bool = True
) -> np.ndarray:
    """Segments of (z, r) rectangles, also mirrored to negative r if asked."""
    z0, z1, r0, r1 = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, np.float64)) for a in (z0, z1, r0, r1))
    )
    corners = np.stack(
        [np.stack([z0, r0], 1), np.stack([z1, r0], 1), np.stack([z1, r1], 1), np.stack([z0, r1], 1)], 1
    )
    return with_mirror(quads(corners)) if mirror else quads(corners)


def with_mirror(segments: np.ndarray) -> np.ndarray:
    """The (z, r) segments and their mirror image at negative r."""
    return np.concatenate([segments, segments * np.array([1.0, -1.0])])


def _signed_rz(points: np.ndarray) -> np.ndarray:
    """(..., 3) points → (..., 2) (z, r · sign(y))."""
    sign = np.where(points[..., 1] < 0, -1.0, 1.0)
    return np.stack([points[..., 2], sign * np.hypot(points[..., 0], points[..., 1])], axis=-1)


# ---------------------------------------------------------------- r-phi


def _sensor_sections(sensors: vxd.Sensors) -> np.ndarray:
    """Cross-section rectangle of the first barrel (unslanted) sensor of each ladder, in x–y."""
    barrel = sensors.v[:, 2] > 0.999
    first = np.unique(sensors.ladder[barrel], return_index=True)[1]
    idx = np.nonzero(barrel)[0][first]
    c, u = sensors.centre[idx, :2], sensors.u[idx, :2]
    w = np.cross(sensors.u[idx], sensors.v[idx])[:, :2]
    hu, hw = sensors.half_u[idx, 0, None], sensors.half_w[idx, None]
    corners = np.stack(
        [c - hu * u - hw * w, c + hu * u - hw * w, c + hu * u + hw * w, c - hu * u + hw * w], 1
    )
    return quads(corners)


def _top_rphi() -> np.ndarray:
    phi = pid.top_slot_phi()
    n = np.stack([np.cos(phi), np.sin(phi)], 1)
    t = np.stack([-np.sin(phi), np.cos(phi)], 1)
    top = pid.top()
    half = top.width / 2
    r0, r1 = top.inner_r, top.inner_r + top.thickness
    corners = np.stack([r0 * n - half * t, r0 * n + half * t, r1 * n + half * t, r1 * n - half * t], 1)
    return quads(corners)


def _ecl_ring_sections(theta_id: int, view: str) -> np.ndarray:
    """Each crystal of one ring as the quadrilateral (front edge, back edge) of its mid-section."""
    first = ecl.FIRST_CELL[theta_id] - 1
    v = ecl.crystal_vertices()[first : first + ecl.N_PHI[theta_id]]
    if view == "rphi":
        mid = 0.5 * (v[:, [0, 1, 5, 4]] + v[:, [3, 2, 6, 7]])  # average over ±v (θ): edges along u (φ)
        return quads(mid[..., :2])
    mid = 0.5 * (v[:, [0, 3, 7, 4]] + v[:, [1, 2, 6, 5]])  # average over ±u (φ): edges along v (θ)
    return quads(_signed_rz(mid))


def _ecl_rphi() -> np.ndarray:
    return _ecl_ring_sections(int(np.argmin(np.abs(ecl.theta_center_deg() - 90.0))), "rphi")


def _bklm_rphi() -> np.ndarray:
    inner, outer = klm.bklm_layer_radii()
    b = klm.bklm()
    apothems = np.concatenate([inner, outer, [b.outer]])
    pts = polygon_points(apothems, b.sides, b.first_vertex_phi)
    return np.concatenate([polyline(p) for p in pts])


def _eklm_rphi() -> np.ndarray:
    e = klm.eklm()
    r0, r1 = e.layer_r
    phi = np.arange(e.sectors) * (2 * np.pi / e.sectors)
    spokes = np.stack(
        [
            np.stack([r0 * np.cos(phi), r0 * np.sin(phi)], 1),
            np.stack([r1 * np.cos(phi), r1 * np.sin(phi)], 1),
        ],
        1,
    )
    iron = polygon_points(np.array([e.endcap_r[1]]), e.sides, e.first_vertex_phi)[0]
    return np.concatenate([circles([e.endcap_r[0], r0, r1]), spokes, polyline(iron)])


def _cdc_rphi() -> np.ndarray:
    lay = cdc.sense_layers()
    inner, _ = cdc.layer_bounds(lay)
    boundaries = inner[1:][np.diff(lay.superlayer) != 0]  # between superlayers
    w = cdc.walls()
    return circles([*w.inner, *boundaries, *w.outer])


# ---------------------------------------------------------------- r-z


def _beampipe_rz() -> np.ndarray:
    b = beampipe.beampipe()
    be = rectangles(
        np.array([b.inner_be[2], b.outer_be[2]]),
        np.array([b.inner_be[3], b.outer_be[3]]),
        np.array([b.inner_be[0], b.outer_be[0]]),
        np.array([b.inner_be[1], b.outer_be[1]]),
    )
    links = rectangles(
        np.array([b.ta_backward_z, b.inner_be[3]]),
        np.array([b.inner_be[2], b.ta_forward_z]),
        b.vacuum_r,
        b.outer_be[1],
    )
    slope = np.tan(beampipe.crossing_half_angle())
    pipes = []
    for z_a, z_b in ((b.end_z[0], b.ta_backward_z), (b.ta_forward_z, b.end_z[1])):
        for offset in (b.vacuum_r, b.vacuum_r + beampipe.WALL):
            # the pipe walls farthest from the axis, in the x–z plane
            pipes.append([[z_a, slope * abs(z_a) + offset], [z_b, slope * abs(z_b) + offset]])
    return np.concatenate([be, links, with_mirror(np.array(pipes))])


def _sensors_rz(sensors: vxd.Sensors) -> np.ndarray:
    ends = sensors.centre[:, None, :] + np.array([-1.0, 1.0])[None, :, None] * (
        sensors.half_v[:, None, None] * sensors.v[:, None, :]
    )
    return _signed_rz(ends)


def _cdc_rz() -> np.ndarray:
    lay = cdc.sense_layers()
    inner, outer = cdc.layer_bounds(lay)
    w = cdc.walls()
    walls = rectangles(
        np.array([lay.z_bwd[0], w.volume_z[0]]),
        np.array([lay.z_fwd[0], w.volume_z[1]]),
        np.array([w.inner[0], w.outer[0]]),
        np.array([w.inner[1], w.outer[1]]),
    )
    plates = []
    for z in (lay.z_bwd, lay.z_fwd):
        steps = np.stack([np.stack([z, inner], 1), np.stack([z, outer], 1)], 1).reshape(-1, 2)  # staircase
        plates.append(polyline(steps))
    return np.concatenate([walls, with_mirror(np.concatenate(plates))])


def _top_rz() -> np.ndarray:
    top = pid.top()
    z_exit, z_end = pid.top_z_range()
    length, _, down, flat = top.prism
    r0, r1 = top.inner_r, top.inner_r + top.thickness
    zb = top.z_backward
    bar = np.array([[zb, r0], [z_end, r0], [z_end, r1], [zb, r1]])
    z_kink = zb - (length - flat)
    prism = np.array([[zb, r0], [zb, r1], [z_exit, r1], [z_exit, r0 - down], [z_kink, r0 - down]])
    return with_mirror(np.concatenate([polyline(bar, True), polyline(prism, True)]))


def _arich_rz() -> np.ndarray:
    a = pid.arich()
    (z0, _), (z1, dz1) = a.aerogel_layers
    walls = a.aerogel_ring_walls
    aerogel = rectangles(z0, z1 + dz1, walls[0], walls[-1])
    layer_split = with_mirror(np.array([[[z1, walls[0]], [z1, walls[-1]]]]))
    ring_walls = with_mirror(np.array([[[z0, r], [z1 + dz1, r]] for r in walls[1:-1]]))
    radii = np.array([r for r, _ in a.hapd_rings])
    hapds = rectangles(a.hapd_plane_z, a.support_plate_z, radii - a.hapd_size / 2, radii + a.hapd_size / 2)
    t = a.tubes
    support = rectangles(t[:, 2], t[:, 3], t[:, 0], t[:, 1])
    plate = rectangles(a.support_plate_z, a.support_plate_z + a.support_plate_thickness, *a.support_plate_r)
    return np.concatenate([aerogel, layer_split, ring_walls, hapds, support, plate])


def _ecl_rz() -> np.ndarray:
    return np.concatenate([_ecl_ring_sections_rz(t) for t in range(ecl.N_RINGS)])


def _ecl_ring_sections_rz(theta_id: int) -> np.ndarray:
    """The crystals of one ring nearest to φ = 90° and 270°, cut by the y–z plane."""
    first = ecl.FIRST_CELL[theta_id] - 1
    _, phi = ecl.crystal_theta_phi()
    ring_phi = phi[first : first + ecl.N_PHI[theta_id]]
    picks = [
        int(np.argmin(np.abs(np.angle(np.exp(1j * (ring_phi - target))))))
        for target in (np.pi / 2, -np.pi / 2)
    ]
    v = ecl.crystal_vertices()[first + np.array(picks)]
    mid = 0.5 * (v[:, [0, 3, 7, 4]] + v[:, [1, 2, 6, 5]])
    return quads(_signed_rz(mid))


def _coil_rz() -> np.ndarray:
    s = solenoid.solenoid()
    shells = np.array([s.cryostat, s.coil])
    return rectangles(s.offset_z - shells[:, 2], s.offset_z + shells[:, 2], shells[:, 0], shells[:, 1])


def _bklm_rz() -> np.ndarray:
    inner, outer = klm.bklm_layer_radii()
    z0, z1 = klm.bklm_z_range()
    return rectangles(z0, z1, inner, outer)


def _eklm_rz() -> np.ndarray:
    e = klm.eklm()
    near, far = klm.eklm_layer_z()
    layers = rectangles(np.minimum(near, far), np.maximum(near, far), *e.layer_r)
    # the endcap yokes: at φ = ±90° (the y–z cut) the octagon's outside is a side, at its apothem
    ends = np.array(list(klm.eklm_endcap_z().values()))
    yokes = rectangles(ends.min(axis=1), ends.max(axis=1), *e.endcap_r)
    return np.concatenate([layers, yokes])


_BUILDERS: dict[str, dict[str, Callable[[], np.ndarray]]] = {
    "rphi": {
        "BEAMPIPE": lambda: circles(
            [*beampipe.beampipe().inner_be[:2], *beampipe.beampipe().outer_be[:2]], 48
        ),
        "PXD": lambda: _sensor_sections(vxd.pxd_sensors()),
        "SVD": lambda: _sensor_sections(vxd.svd_sensors()),
        "CDC": _cdc_rphi,
        "TOP": _top_rphi,
        "ARICH": lambda: circles(  # aerogel ring walls; the inner cylinder and the outer cover
            [*pid.arich().aerogel_ring_walls, pid.arich().tubes[:, 0].min(), pid.arich().tubes[:, 1].max()]
        ),
        "ECL": _ecl_rphi,
        "COIL": lambda: circles([*solenoid.solenoid().cryostat[:2], *solenoid.solenoid().coil[:2]]),
        "BKLM": _bklm_rphi,
        "EKLM": _eklm_rphi,
    },
    "rz": {
        "BEAMPIPE": _beampipe_rz,
        "PXD": lambda: _sensors_rz(vxd.pxd_sensors()),
        "SVD": lambda: _sensors_rz(vxd.svd_sensors()),
        "CDC": _cdc_rz,
        "TOP": _top_rz,
        "ARICH": _arich_rz,
        "ECL": _ecl_rz,
        "COIL": _coil_rz,
        "BKLM": _bklm_rz,
        "EKLM": _eklm_rz,
    },
}


@functools.cache
def _outlines(view: str) -> dict[str, np.ndarray]:
    out = {}
    for name, build in _BUILDERS[view].items():
        segments = np.ascontiguousarray(build(), dtype=np.float64)
        segments.flags.writeable = False
        out[name] = segments
    return out


def outlines(view: str) -> dict[str, np.ndarray]:
    """Per subdetector (BEAMPIPE … EKLM), (K, 2, 2) line segments [cm] of the "rphi" or "rz" view."""
    if view not in VIEWS:
        raise ValueError(f"unknown projection {view!r}: choose one of {', '.join(VIEWS)}")
    return dict(_outlines(view))
