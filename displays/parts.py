"""What a subdetector looks like right now, as plain arrays: visibility, opacity, colours, cutaway.

Pure numpy (no GL), so the adapters in ``displays.visuals`` stay thin and this is tested directly.
Faces are kept un-indexed (three vertices each) because every face carries its own normal and
colour; the cutaway removes whole elements (crystals, ladders, bars) by their azimuth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh, Part


@dataclass(frozen=True)
class Cutaway:
    """Remove everything whose azimuth lies in ``[phi_min, phi_min + span)`` degrees (phi from +x to +y)."""

    phi_min: float = 0.0
    span: float = 0.0

    @property
    def active(self) -> bool:
        return self.span > 0.0

    def keeps(self, phi: np.ndarray) -> np.ndarray:
        """Boolean mask of the azimuths (radians) that stay."""
        if not self.active:
            return np.ones(phi.shape, bool)
        offset = np.mod(np.degrees(phi) - self.phi_min, 360.0)
        return offset >= min(self.span, 360.0)


CUTAWAYS: dict[str, Cutaway] = {
    "none": Cutaway(),
    "wedge": Cutaway(90.0, 90.0),  # the upper quarter on the -x side, facing the default 3D camera
    "half": Cutaway(0.0, 180.0),  # the upper half (y > 0)
}


def face_centres(triangles: np.ndarray) -> np.ndarray:
    """(F, 3) centres of (F, 3, 3) triangles: the same floats as ``triangles.mean(axis=1)`` (the three
    corners added in order, then divided by 3) at a fifth of the cost of numpy's strided reduction."""
    return (triangles[:, 0] + triangles[:, 1] + triangles[:, 2]) / 3


def row_norms(v: np.ndarray) -> np.ndarray:
    """(N, 1) lengths of (N, 3) rows: ``np.linalg.norm(v, axis=1, keepdims=True)``'s floats, without its
    strided reduction over three columns."""
    return np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2])[:, None]


def face_normals(triangles: np.ndarray) -> np.ndarray:
    """Unit normals of (F, 3, 3) triangles; degenerate faces get a zero normal."""
    n = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    length = row_norms(n)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0).astype(np.float32, copy=False)


def _element_mean(element: np.ndarray, values: np.ndarray, n_el: int, counts: np.ndarray) -> np.ndarray:
    return np.bincount(element, values, n_el) / counts


def _outward(
    triangles: np.ndarray, element: np.ndarray, n_el: int, centres: np.ndarray
) -> tuple[np.ndarray, bool, np.ndarray]:
    """``outward_triangles`` and which faces it turned over."""
    present = np.bincount(element, minlength=n_el)
    counts = np.maximum(present, 1)
    origin = np.stack([np.bincount(element, centres[:, i], n_el) for i in range(3)], axis=1) / counts[:, None]
    at = origin[element]
    a, b, c = (triangles[:, i].astype(np.float64) - at for i in range(3))
    volume = np.bincount(element, np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0, n_el)
    flat = triangles.reshape(-1, 3)
    extent = max(flat[:, i].max() - flat[:, i].min() for i in range(3))  # np.ptp's, column by column
    closed = bool((np.abs(volume[present > 0]) > 1e-9 * extent**3).all())
    flip = (volume < 0)[element]
    out = triangles.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out, closed, flip


def outward_triangles(triangles: np.ndarray, element: np.ndarray, n_el: int) -> tuple[np.ndarray, bool]:
    """Triangles wound counter-clockwise seen from outside each element, and whether every element is closed.

    The sign of an element's enclosed volume tells its winding; inside-out elements are flipped. Only
    parts whose elements all enclose a volume may have their back faces culled.
    """
    if len(triangles) == 0:
        return triangles, False
    out, closed, _ = _outward(triangles, element, n_el, face_centres(triangles))
    return out, closed


def face_azimuth(mesh: Mesh, centres: np.ndarray | None = None) -> np.ndarray:
    """Azimuth (rad) deciding each face's fate under a cutaway.

    A face takes the azimuth of its element's centre, so crystals and ladders are cut whole. An element
    that wraps around the beam axis (a cylinder drawn as one element) has its centre near the axis; its
    faces then use their own azimuth so the cylinder is opened rather than dropped. ``centres``: the
    mesh's face centres, when the caller has them.
    """
    if centres is None:
        centres = face_centres(mesh.vertices[mesh.faces])
    if len(centres) == 0:
        return np.zeros(0, np.float32)
    n_el = int(mesh.element.max()) + 1
    counts = np.maximum(np.bincount(mesh.element, minlength=n_el), 1)
    ex = np.bincount(mesh.element, centres[:, 0], n_el) / counts
    ey = np.bincount(mesh.element, centres[:, 1], n_el) / counts
    er = np.bincount(mesh.element, np.hypot(centres[:, 0], centres[:, 1]), n_el) / counts
    wraps = np.hypot(ex, ey) < 0.5 * er
    phi_el = np.arctan2(ey, ex)
    phi_face = np.arctan2(centres[:, 1], centres[:, 0])
    return np.where(wraps[mesh.element], phi_face, phi_el[mesh.element]).astype(np.float32)


def shell_faces(triangles: np.ndarray, normals: np.ndarray, centres: np.ndarray | None = None) -> np.ndarray:
    """Faces turned towards or away from the IP: the front and back of projective crystals.

    The side faces between neighbouring crystals are hidden by their neighbours; dropping them is the
    calorimeter's cheaper level of detail (a third of the triangles, and no stacked translucent walls).
    """
    if centres is None:
        centres = face_centres(triangles)
    radial = centres / np.maximum(row_norms(centres), 1e-6)
    return np.abs(np.einsum("ij,ij->i", normals, radial)) > 0.6


def envelope_elements(
    triangles: np.ndarray, element: np.ndarray, n_el: int, centres: np.ndarray | None = None
) -> np.ndarray:
    """The boundary of nested layers: innermost and outermost by radius for a barrel, the outermost
    |z| layer of each side for endcaps.

    A faint many-layer shell (the KLM's 15 barrel and 26 endcap layers) looks the same drawn as its two
    boundary layers, with a fraction of the blended fragments.
    """
    if centres is None:
        centres = face_centres(triangles)
    counts = np.maximum(np.bincount(element, minlength=n_el), 1)
    r = np.bincount(element, np.hypot(centres[:, 0], centres[:, 1]), n_el) / counts
    z = np.bincount(element, centres[:, 2], n_el) / counts
    endcap = np.ptp(np.abs(z)) > np.ptp(r)
    key, side = (np.abs(z), np.sign(z)) if endcap else (r, np.zeros(n_el))
    keep = np.zeros(n_el, bool)
    for s in sorted(set(side.tolist())):  # np.unique's values (it would import numpy.ma for them)
        members = np.flatnonzero(side == s)
        keep[members[np.argmax(key[members])]] = True
        if not endcap:  # an endcap closes the barrel with its outer plate alone
            keep[members[np.argmin(key[members])]] = True
    return keep


def ecl_region_end_crystals() -> np.ndarray:
    """Mask over the 8736 ECL elements (cellId - 1): the first and last theta ring of each region.

    Their theta-facing sides look into the gaps between barrel and endcaps (and into the beam hole),
    so the shell LOD keeps them whole: seen along the beam, the barrel is then a filled ring.
    """
    from geometry.ecl import N_PHI, RING_OF_CELL, RING_REGION

    first = np.flatnonzero(np.diff(RING_REGION, prepend=-1) != 0)
    last = np.flatnonzero(np.diff(RING_REGION, append=RING_REGION[-1] + 1) != 0)
    assert RING_OF_CELL.size == int(N_PHI.sum())
    return np.isin(RING_OF_CELL, np.concatenate([first, last]))


def angular_half_width(
    azimuth: np.ndarray,
    triangles: np.ndarray,
    element: np.ndarray,
    n_el: int,
    centres: np.ndarray | None = None,
) -> np.ndarray:
    """Per element: the largest azimuth offset of its face centres from the element's azimuth (rad)."""
    if centres is None:
        centres = face_centres(triangles)
    offset = np.abs(np.angle(np.exp(1j * (np.arctan2(centres[:, 1], centres[:, 0]) - azimuth))))
    width = np.zeros(n_el)
    if len(element) and (np.diff(element) >= 0).all():  # faces grouped by element: one pass per group
        starts = np.flatnonzero(np.diff(element, prepend=-1))
        width[element[starts]] = np.maximum.reduceat(offset, starts)
    else:
        np.maximum.at(width, element, offset)
    return width


def segment_azimuth(lines: np.ndarray) -> np.ndarray:
    """Azimuth (rad) of the midpoints of (K, 2, 3) segments."""
    mid = lines.mean(axis=1)
    return np.arctan2(mid[:, 1], mid[:, 0]).astype(np.float32)


ENVELOPE_BELOW_OPACITY = 0.3  # a fainter layered part is drawn as its boundary layers


@dataclass
class DrawBuffers:
    """What one mesh visual uploads: three vertices per kept face."""

    positions: np.ndarray  # (3n, 3) float32
    normals: np.ndarray  # (3n, 3) float32
    colors: np.ndarray  # (3n, 4) float32
    faces: np.ndarray  # (n,) indices of the kept faces in the part's mesh

    @property
    def n_faces(self) -> int:
        return len(self.faces)


class PartModel:
    """State of one subdetector in the display; every change returns fresh arrays through ``buffers``."""

    def __init__(
        self,
        part: Part,
        color: tuple[float, float, float, float],
        opacity: float,
        shell_lod: bool = False,
        envelope_lod: bool = False,
        outer_faces_lod: bool = False,
        whole_elements: np.ndarray | None = None,
    ) -> None:
        mesh = part.mesh
        self.name = part.name
        self.count = part.count
        self.element = mesh.element.astype(np.int64)
        self.n_elements = mesh.n_elements
        given = mesh.vertices[mesh.faces].astype(np.float32, copy=False)
        given_centres = face_centres(given)
        if len(given):  # (F, 3, 3), counter-clockwise seen from outside
            self.triangles, self.closed, flipped = _outward(
                given, self.element, self.n_elements, given_centres
            )
            centres = given_centres.copy()  # a turned face adds its corners in another order
            centres[flipped] = face_centres(self.triangles[flipped])
        else:
            self.triangles, self.closed, centres = given, False, given_centres
        self.normals = face_normals(self.triangles)
        self.azimuth = face_azimuth(mesh, given_centres if mesh.vertices.dtype == np.float32 else None)
        self.shell = (
            shell_faces(self.triangles, self.normals, centres)
            if shell_lod
            else np.ones(len(self.normals), bool)
        )
        if shell_lod and whole_elements is not None:
            self.shell |= np.asarray(whole_elements, bool)[self.element]  # elements always drawn whole
        self.envelope = (
            envelope_elements(self.triangles, self.element, self.n_elements, centres)[self.element]
            if envelope_lod and self.n_elements > 2
            else None
        )
        radial = np.einsum("ij,ij->i", self.normals[:, :2], centres[:, :2])
        # faces turned away from the beam axis (outer walls, end faces): while faint, the far half of a
        # shell is then culled as a back face, so a big outer shell costs one blended layer, not two
        self.outward = radial >= 0.0 if outer_faces_lod else None
        el_phi = np.zeros(self.n_elements)
        el_phi[self.element] = self.azimuth  # every face of a compact element carries the element's azimuth
        self.element_azimuth = el_phi
        self.element_half_width = angular_half_width(
            self.azimuth, self.triangles, self.element, self.n_elements, centres
        )
        self.base_color = np.asarray(color, np.float32)
        self.element_rgba = np.tile(self.base_color, (self.n_elements, 1))
        self.element_custom = np.zeros(self.n_elements, bool)
        self.lines = None if part.lines is None else np.asarray(part.lines, np.float32)
        self.line_azimuth = None if self.lines is None else segment_azimuth(self.lines)
        self.visible = True
        self.opacity = float(opacity)
        self.cutaway = Cutaway()
        radius = np.hypot(self.triangles[..., 0], self.triangles[..., 1])
        self.outer_radius = float(radius.max()) if radius.size else 0.0
        self.max_abs_z = float(np.abs(self.triangles[..., 2]).max()) if radius.size else 0.0

    @property
    def translucent(self) -> bool:
        return self.opacity < 0.999

    def set_opacity(self, opacity: float) -> None:
        if not np.isfinite(opacity):
            raise ValueError(f"{self.name}: opacity must be a number in [0, 1], got {opacity!r}")
        self.opacity = float(np.clip(opacity, 0.0, 1.0))

    def set_element_colors(self, elements: np.ndarray, rgba: np.ndarray) -> None:
        """Give elements their own RGBA, drawn as given (not dimmed by the part's opacity)."""
        elements = np.asarray(elements, np.int64).ravel()
        bad = (elements < 0) | (elements >= self.n_elements)
        if bad.any():
            raise ValueError(
                f"{self.name}: element index {elements[bad][0]} outside 0..{self.n_elements - 1}"
            )
        colors = np.broadcast_to(np.asarray(rgba, np.float32), (len(elements), 4))
        self.element_rgba[elements] = colors
        self.element_custom[elements] = True

    def reset_element_colors(self) -> None:
        self.element_rgba[:] = self.base_color
        self.element_custom[:] = False

    def kept_faces(self) -> np.ndarray:
        """Faces drawn: outside the cutaway; with the shell LOD, all faces only of crystals on a cut edge;
        with the envelope LOD, only the boundary layers while the part is faint (and with the outer-face
        LOD only their faces turned away from the beam axis)."""
        keep = self.cutaway.keeps(self.azimuth)
        if self.opacity < ENVELOPE_BELOW_OPACITY:
            if self.envelope is not None:
                keep &= self.envelope
            if self.outward is not None:
                keep &= self.outward
        if self.shell.all():
            return np.flatnonzero(keep)
        on_edge = np.zeros(self.n_elements, bool)
        if self.cutaway.active:
            phi, step = self.element_azimuth, 2.0 * self.element_half_width
            on_edge = ~self.cutaway.keeps(phi + step) | ~self.cutaway.keeps(phi - step)
        return np.flatnonzero(keep & (self.shell | on_edge[self.element]))

    def kept_lines(self) -> np.ndarray:
        if self.lines is None or self.line_azimuth is None:
            return np.zeros((0, 2, 3), np.float32)
        return self.lines[self.cutaway.keeps(self.line_azimuth)]

    def element_colors(self) -> np.ndarray:
        """(E, 4) colours as drawn: the part's opacity dims the elements that keep the part colour."""
        rgba = self.element_rgba.copy()
        rgba[~self.element_custom, 3] *= self.opacity
        return rgba

    def face_colors(self, faces: np.ndarray) -> np.ndarray:
        """(3n, 4) vertex colours of these faces as drawn (three vertices per face)."""
        return np.repeat(self.element_colors()[self.element[faces]], 3, axis=0)

    def buffers(self) -> DrawBuffers:
        faces = self.kept_faces()
        return DrawBuffers(
            positions=self.triangles[faces].reshape(-1, 3),
            normals=np.repeat(self.normals[faces], 3, axis=0),
            colors=self.face_colors(faces),
            faces=faces,
        )


def concat_buffers(buffers: list[DrawBuffers]) -> DrawBuffers:
    """One draw of many, in the given order; ``faces`` keeps each part's own face indices."""
    if not buffers:
        return DrawBuffers(
            np.zeros((0, 3), np.float32),
            np.zeros((0, 3), np.float32),
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.int64),
        )
    return DrawBuffers(
        positions=np.concatenate([b.positions for b in buffers]),
        normals=np.concatenate([b.normals for b in buffers]),
        colors=np.concatenate([b.colors for b in buffers]),
        faces=np.concatenate([b.faces for b in buffers]),
    )


def both_sides(buffers: DrawBuffers) -> DrawBuffers:
    """Each triangle twice, the second wound the other way: open surfaces survive back-face culling."""
    flip = buffers.positions.reshape(-1, 3, 3)[:, ::-1].reshape(-1, 3)
    return concat_buffers([buffers, DrawBuffers(flip, -buffers.normals, buffers.colors, buffers.faces)])
