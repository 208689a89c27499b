"""Small stand-in subdetectors built from annular-sector boxes at Belle II radii (cm), for display tests.

Radii from shared/reference/belle2-geometry.md: CDC 16-113 cm, ECL barrel inner radius 125.16 cm
(crystals 30 cm long), KLM barrel 201.9-353.5 cm. Each phi sector is one element.
"""

from __future__ import annotations

import numpy as np

from geometry.mesh import Mesh, Part

ECL_R_IN, ECL_R_OUT = 125.16, 155.16
CDC_R_IN, CDC_R_OUT = 16.0, 113.0
BKLM_R_IN, BKLM_R_OUT = 201.9, 353.5

# the 12 triangles of a box whose corners are numbered (r, phi, z) bits: 0 = inner/low, 1 = outer/high
_BOX_FACES = np.array(
    [
        [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],  # phi low / high
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5],  # z low / high
        [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],  # r inner / outer
    ],
    np.uint32,
)  # fmt: skip


def sector_boxes(r_in: float, r_out: float, z0: float, z1: float, n_phi: int, n_z: int = 1) -> Mesh:
    """n_phi x n_z annular-sector boxes; element = phi index + n_phi * z index."""
    phi = np.linspace(0.0, 2 * np.pi, n_phi + 1)
    z = np.linspace(z0, z1, n_z + 1)
    iz, ip = (g.ravel() for g in np.meshgrid(np.arange(n_z), np.arange(n_phi), indexing="ij"))
    bits = np.arange(8)
    b_r, b_p, b_z = (bits >> 2) & 1, (bits >> 1) & 1, bits & 1
    r = np.where(b_r[None, :] == 1, r_out, r_in)
    ph = phi[ip[:, None] + b_p[None, :]]
    zz = z[iz[:, None] + b_z[None, :]]
    vertices = np.stack([r * np.cos(ph), r * np.sin(ph), zz], axis=-1).reshape(-1, 3)
    n = len(ip)
    faces = (_BOX_FACES[None, :, :] + 8 * np.arange(n, dtype=np.uint32)[:, None, None]).reshape(-1, 3)
    element = np.repeat(ip + n_phi * iz, 12).astype(np.int32)
    return Mesh(vertices.astype(np.float32), faces.astype(np.uint32), element)


def cylinder(r_in: float, r_out: float, z0: float, z1: float, n_phi: int = 96) -> Mesh:
    """A tube drawn as one element (its cutaway then goes face by face)."""
    m = sector_boxes(r_in, r_out, z0, z1, n_phi)
    return Mesh(m.vertices, m.faces, np.zeros_like(m.element))


def toy_parts(n_phi_ecl: int = 144, n_z_ecl: int = 8) -> list[Part]:
    return [
        Part("CDC", cylinder(CDC_R_IN, CDC_R_OUT, -100.0, 165.5), (0.2, 0.8, 0.9, 1.0), 14336),
        Part("ECL", sector_boxes(ECL_R_IN, ECL_R_OUT, -100.3, 198.7, n_phi_ecl, n_z_ecl),
             (0.3, 0.9, 0.5, 1.0), n_phi_ecl * n_z_ecl),
        Part("BKLM", sector_boxes(BKLM_R_IN, BKLM_R_OUT, -183.0, 277.0, 8), (0.9, 0.4, 0.3, 1.0), 8),
    ]  # fmt: skip


def ring_outlines(radii: dict[str, tuple[float, float]], n: int = 180) -> dict[str, np.ndarray]:
    """r-phi outlines: two circles (inner, outer radius) per part as (K, 2, 2) segments."""
    t = np.linspace(0.0, 2 * np.pi, n + 1)
    out = {}
    for name, (r0, r1) in radii.items():
        segs = []
        for r in (r0, r1):
            p = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
            segs.append(np.stack([p[:-1], p[1:]], axis=1))
        out[name] = np.concatenate(segs).astype(np.float32)
    return out


TOY_EXTENTS = {  # r_in, r_out, z_min, z_max (cm)
    "CDC": (CDC_R_IN, CDC_R_OUT, -100.0, 165.5),
    "ECL": (ECL_R_IN, ECL_R_OUT, -100.3, 198.7),
    "BKLM": (BKLM_R_IN, BKLM_R_OUT, -183.0, 277.0),
}


def box_outlines() -> dict[str, np.ndarray]:
    """r-z outlines: each part's (z, r) rectangle, above and mirrored below the beam."""
    out = {}
    for name, (r0, r1, z0, z1) in TOY_EXTENTS.items():
        corners = np.array([[z0, r0], [z1, r0], [z1, r1], [z0, r1]])
        upper = np.stack([corners, np.roll(corners, -1, axis=0)], axis=1)
        lower = upper * np.array([1.0, -1.0])
        out[name] = np.concatenate([upper, lower]).astype(np.float32)
    return out


def detector_parts() -> list[Part]:
    """The real Belle II detector when the geometry package provides it, else the stand-in."""
    try:
        from geometry.detector import build_detector
    except ImportError:
        return toy_parts()
    return build_detector(cdc_wires=False)


def detector_outlines(kind: str) -> dict[str, np.ndarray]:
    try:
        from geometry.outlines import outlines
    except ImportError:
        return (
            ring_outlines({k: (v[0], v[1]) for k, v in TOY_EXTENTS.items()})
            if kind == "rphi"
            else box_outlines()
        )
    return outlines(kind)
