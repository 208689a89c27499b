"""Particle identification: TOP (16 quartz bars with their prisms) and ARICH (aerogel, HAPD rings).

Figures from docs/detector.md §5–6 (TOP-Bars.xml, Modules.xml, ARICH.xml,
ARICH-Aerogel.xml, ARICH-Detectors.xml), in cm.
"""

from __future__ import annotations

import functools

import numpy as np

from geometry.mesh import Mesh
from geometry.shapes import box_corners, hexahedra, tubes

# --- TOP ---
TOP_N_BARS = 16
TOP_PHI0_DEG = 11.25  # slot 1; slot k at 11.25° + 22.5° (k − 1)
TOP_INNER_R = 119.0  # bar inner surface
TOP_THICKNESS = 2.0
TOP_WIDTH = 45.0
TOP_Z_BACKWARD = -69.5  # prism–bar joint
TOP_BAR_LENGTHS = (125.0, 125.0, 10.0)  # two bar segments and the mirror segment
TOP_PRISM = (10.0, 45.4, 3.1, 0.5)  # length, width, extension towards the IP, flat part at the exit

# --- ARICH ---
ARICH_Z0 = 166.8  # envelope start
ARICH_LENGTH = 28.0
ARICH_R = (42.0, 114.0)  # envelope
AEROGEL_LAYERS = ((ARICH_Z0 + 0.1, 1.96), (ARICH_Z0 + 0.1 + 1.96, 1.97))  # (z start, thickness)
AEROGEL_RING_WALLS = (44.0, 61.35, 78.6, 95.95, 111.0)
AEROGEL_SLOTS = (22, 28, 34, 40)
HAPD_PLANE_Z = ARICH_Z0 + 20.15  # HAPD window
SUPPORT_PLATE_Z = ARICH_Z0 + 23.6  # the modules stand on the Al support plate
HAPD_RINGS = ((57.35, 42), (65.81, 48), (74.37, 54), (82.868, 60), (91.305, 66), (99.794, 72), (108.185, 78))
HAPD_SIZE = 6.9  # module hole size in the support plate


def top_slot_phi() -> np.ndarray:
    """φ [rad] of the 16 TOP slots."""
    return np.radians(TOP_PHI0_DEG + 22.5 * np.arange(TOP_N_BARS))


def top_z_range() -> tuple[float, float]:
    """z of the prism exit and of the mirror end [cm]."""
    return TOP_Z_BACKWARD - TOP_PRISM[0], TOP_Z_BACKWARD + sum(TOP_BAR_LENGTHS)


@functools.cache
def top_mesh() -> Mesh:
    """Each slot: the bar (with its mirror segment) and its prism, which widens towards the IP."""
    phi = top_slot_phi()
    n = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    t = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    z = np.array([0.0, 0.0, 1.0])
    r_mid = TOP_INNER_R + TOP_THICKNESS / 2
    z_end = top_z_range()[1]
    bar_centre = r_mid * n + 0.5 * (TOP_Z_BACKWARD + z_end) * z
    # box axes: u = rφ, v = z, w = u × v = radial
    bars = box_corners(
        bar_centre,
        t,
        np.broadcast_to(z, t.shape),
        TOP_WIDTH / 2,
        (z_end - TOP_Z_BACKWARD) / 2,
        TOP_THICKNESS / 2,
    )
    length, width, down, flat = TOP_PRISM
    z_joint, z_kink, z_exit = TOP_Z_BACKWARD, TOP_Z_BACKWARD - (length - flat), TOP_Z_BACKWARD - length
    r_out, r_in_joint, r_in_exit = TOP_INNER_R + TOP_THICKNESS, TOP_INNER_R, TOP_INNER_R - down

    def wedge(z_a: float, z_b: float, r_in_a: float, r_in_b: float) -> np.ndarray:
        # hexahedron with u = rφ, v = radial (in → out), w = u × v = −z: front face at z_a, back at z_b
        def face(zz: float, r_in: float) -> np.ndarray:
            c = [(-1, r_in), (1, r_in), (1, r_out), (-1, r_out)]
            return np.stack([s * width / 2 * t + r * n + zz * z for s, r in c], axis=1)

        return np.concatenate([face(z_a, r_in_a), face(z_b, r_in_b)], axis=1)

    slope = wedge(z_joint, z_kink, r_in_joint, r_in_exit)
    exit_part = wedge(z_kink, z_exit, r_in_exit, r_in_exit)
    slots = np.arange(TOP_N_BARS)
    return hexahedra(np.concatenate([bars, slope, exit_part]), np.concatenate([slots, slots, slots]))


def hapd_positions() -> tuple[np.ndarray, np.ndarray]:
    """(420,) radius [cm] and φ [rad] of the HAPD centres, ring by ring; module k at (k + ½) · 2π/n."""
    r = np.concatenate([np.full(n, radius) for radius, n in HAPD_RINGS])
    phi = np.concatenate([(np.arange(n) + 0.5) * 2 * np.pi / n for _, n in HAPD_RINGS])
    return r, phi


@functools.cache
def arich_mesh() -> Mesh:
    """Elements 0–247: aerogel tiles (2 layers × 124 slots); 248–667: the 420 HAPDs."""
    inner = np.repeat(AEROGEL_RING_WALLS[:-1], AEROGEL_SLOTS)
    outer = np.repeat(AEROGEL_RING_WALLS[1:], AEROGEL_SLOTS)
    n = np.repeat(AEROGEL_SLOTS, AEROGEL_SLOTS)
    k = np.concatenate([np.arange(s) for s in AEROGEL_SLOTS])
    phi0, phi1 = 2 * np.pi * k / n, 2 * np.pi * (k + 1) / n
    gap = 0.02 / outer  # thin visible seams between tiles
    tiles = [
        tubes(inner, outer, z0, z0 + dz, segments=4, phi0=phi0 + gap, phi1=phi1 - gap)
        for z0, dz in AEROGEL_LAYERS
    ]
    r, phi = hapd_positions()
    radial = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    tangent = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    height = SUPPORT_PLATE_Z - HAPD_PLANE_Z
    centre = r[:, None] * radial + np.array([0.0, 0.0, HAPD_PLANE_Z + height / 2])
    hapds = hexahedra(box_corners(centre, radial, tangent, HAPD_SIZE / 2, HAPD_SIZE / 2, height / 2))
    return Mesh.merge([*tiles, hapds])


def arich_counts() -> dict[str, int]:
    return {"aerogel_tiles": 2 * sum(AEROGEL_SLOTS), "hapds": sum(n for _, n in HAPD_RINGS)}
