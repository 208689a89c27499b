"""Particle identification: TOP (16 quartz bars with their prisms) and ARICH (aerogel, HAPD rings,
support structure).

Figures (cm) from the ``top`` and ``arich`` sections of figures.json (basf2 TOP-Bars.xml, ARICH.xml,
ARICH-Aerogel.xml, ARICH-Detectors.xml, ARICH-SupportStructure.xml). ARICH z positions in those
files count from the start of the ARICH envelope.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import figures
from geometry.shapes import box_corners, hexahedra, tubes


# --- TOP ---
@dataclass(frozen=True)
class Top:
    n_bars: int
    phi0_deg: float  # slot 1; slot k at phi0 + (k − 1) · 360° / n_bars
    inner_r: float  # bar inner surface
    thickness: float
    width: float
    z_backward: float  # prism–bar joint
    bar_lengths: tuple[float, float, float]  # two bar segments and the mirror segment
    prism: tuple[float, float, float, float]  # length, width, extension towards the IP, flat part at the exit


@functools.cache
def top() -> Top:
    f = figures("top")
    return Top(
        f.count("bars"),
        f.value("phi0", "deg"),
        f.value("inner_r"),
        f.value("bar_thickness"),
        f.value("bar_width"),
        f.value("z_backward"),
        (f.value("bar1_length"), f.value("bar2_length"), f.value("mirror_length")),
        (f.value("prism_length"), f.value("prism_width"), f.value("prism_down"), f.value("prism_flat")),
    )


def top_slot_phi() -> np.ndarray:
    """φ [rad] of the TOP slots."""
    t = top()
    return np.radians(t.phi0_deg + 360.0 / t.n_bars * np.arange(t.n_bars))


def top_z_range() -> tuple[float, float]:
    """z of the prism exit and of the mirror end [cm]."""
    t = top()
    return t.z_backward - t.prism[0], t.z_backward + sum(t.bar_lengths)


@functools.cache
def top_mesh() -> Mesh:
    """Each slot: the bar (with its mirror segment) and its prism, which widens towards the IP."""
    tp = top()
    phi = top_slot_phi()
    n = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    t = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    z = np.array([0.0, 0.0, 1.0])
    r_mid = tp.inner_r + tp.thickness / 2
    z_end = top_z_range()[1]
    bar_centre = r_mid * n + 0.5 * (tp.z_backward + z_end) * z
    # box axes: u = rφ, v = z, w = u × v = radial
    bars = box_corners(
        bar_centre,
        t,
        np.broadcast_to(z, t.shape),
        tp.width / 2,
        (z_end - tp.z_backward) / 2,
        tp.thickness / 2,
    )
    length, width, down, flat = tp.prism
    z_joint, z_kink, z_exit = tp.z_backward, tp.z_backward - (length - flat), tp.z_backward - length
    r_out, r_in_joint, r_in_exit = tp.inner_r + tp.thickness, tp.inner_r, tp.inner_r - down

    def wedge(z_a: float, z_b: float, r_in_a: float, r_in_b: float) -> np.ndarray:
        # hexahedron with u = rφ, v = radial (in → out), w = u × v = −z: front face at z_a, back at z_b
        def face(zz: float, r_in: float) -> np.ndarray:
            c = [(-1, r_in), (1, r_in), (1, r_out), (-1, r_out)]
            return np.stack([s * width / 2 * t + r * n + zz * z for s, r in c], axis=1)

        return np.concatenate([face(z_a, r_in_a), face(z_b, r_in_b)], axis=1)

    slope = wedge(z_joint, z_kink, r_in_joint, r_in_exit)
    exit_part = wedge(z_kink, z_exit, r_in_exit, r_in_exit)
    slots = np.arange(tp.n_bars)
    return hexahedra(np.concatenate([bars, slope, exit_part]), np.concatenate([slots, slots, slots]))


# --- ARICH ---
@dataclass(frozen=True)
class Arich:
    z0: float  # envelope start
    length: float  # envelope length
    r: tuple[float, float]  # envelope inner and outer radius
    aerogel_layers: tuple[tuple[float, float], ...]  # (z start, thickness)
    aerogel_ring_walls: tuple[float, ...]
    aerogel_slots: tuple[int, ...]
    hapd_plane_z: float  # HAPD window
    support_plate_z: float  # the HAPD modules stand on the Al support plate (its start in z)
    support_plate_r: tuple[float, float]
    support_plate_thickness: float
    hapd_rings: tuple[tuple[float, int], ...]  # (radius, modules)
    hapd_size: float  # module hole size in the support plate
    tubes: np.ndarray  # (7, 4): r_in, r_out, z start, z end of the support tubes


@functools.cache
def arich() -> Arich:
    f = figures("arich")
    z0 = f.value("envelope_z0")
    r_in, r_out = f.values("envelope_r", "cm", 2)
    offset = f.value("aerogel_offset_z")
    t0, t1 = f.values("aerogel_thickness", "cm", 2)
    slots = f.counts("aerogel_slots")
    walls = f.values("aerogel_ring_walls", "cm", len(slots) + 1)
    ring_r = f.values("hapd_ring_r")
    modules = f.counts("hapd_ring_modules", len(ring_r))
    tube_r0 = f.values("support_tube_r_inner")
    n = len(tube_r0)
    tube_z = z0 + f.values("support_tube_z", "cm", n)
    tubes_ = np.stack(
        [
            tube_r0,
            f.values("support_tube_r_outer", "cm", n),
            tube_z,
            tube_z + f.values("support_tube_length", "cm", n),
        ],
        axis=1,
    )
    tubes_.flags.writeable = False
    plate_r0, plate_r1 = f.values("support_plate_r", "cm", 2)
    return Arich(
        z0,
        f.value("envelope_length"),
        (float(r_in), float(r_out)),
        ((z0 + offset, t0), (z0 + offset + t0, t1)),
        tuple(walls.tolist()),
        tuple(int(s) for s in slots),
        z0 + f.value("hapd_plane_z"),
        z0 + f.value("support_plate_z"),
        (float(plate_r0), float(plate_r1)),
        f.value("support_plate_thickness"),
        tuple((float(r), int(m)) for r, m in zip(ring_r, modules, strict=True)),
        f.value("module_hole_size"),
        tubes_,
    )


def hapd_positions() -> tuple[np.ndarray, np.ndarray]:
    """(420,) radius [cm] and φ [rad] of the HAPD centres, ring by ring; module k at (k + ½) · 2π/n."""
    rings = arich().hapd_rings
    r = np.concatenate([np.full(n, radius) for radius, n in rings])
    phi = np.concatenate([(np.arange(n) + 0.5) * 2 * np.pi / n for _, n in rings])
    return r, phi


@functools.cache
def arich_mesh() -> Mesh:
    """Elements 0–247: aerogel tiles (2 layers × 124 slots); 248–667: the 420 HAPDs; then the 7 support
    tubes (inner cylinders, outer cover, aerogel support rings, neutron shield). The HAPD support plate
    (holed where the HAPDs sit) is left out of the mesh: drawn solid it would hide them; the r-z outline
    shows it."""
    a = arich()
    inner = np.repeat(a.aerogel_ring_walls[:-1], a.aerogel_slots)
    outer = np.repeat(a.aerogel_ring_walls[1:], a.aerogel_slots)
    n = np.repeat(a.aerogel_slots, a.aerogel_slots)
    k = np.concatenate([np.arange(s) for s in a.aerogel_slots])
    phi0, phi1 = 2 * np.pi * k / n, 2 * np.pi * (k + 1) / n
    gap = 0.02 / outer  # thin visible seams between tiles
    tiles = [
        tubes(inner, outer, z0, z0 + dz, segments=2, phi0=phi0 + gap, phi1=phi1 - gap)
        for z0, dz in a.aerogel_layers
    ]
    r, phi = hapd_positions()
    radial = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    tangent = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    height = a.support_plate_z - a.hapd_plane_z
    centre = r[:, None] * radial + np.array([0.0, 0.0, a.hapd_plane_z + height / 2])
    hapds = hexahedra(box_corners(centre, radial, tangent, a.hapd_size / 2, a.hapd_size / 2, height / 2))
    support = tubes(a.tubes[:, 0], a.tubes[:, 1], a.tubes[:, 2], a.tubes[:, 3], segments=96)
    return Mesh.merge([*tiles, hapds, support])


def arich_counts() -> dict[str, int]:
    """The detecting elements: aerogel tiles and HAPDs."""
    a = arich()
    return {"aerogel_tiles": 2 * sum(a.aerogel_slots), "hapds": sum(n for _, n in a.hapd_rings)}


def arich_support_counts() -> dict[str, int]:
    """The drawn structure that does not detect: the support tubes."""
    return {"support_tubes": len(arich().tubes)}
