"""KLM: the octagonal barrel (BKLM, 15 layers) and the two endcaps (EKLM, 14 forward, 12 backward layers).

Figures from docs/detector.md §9 (bklm/data/BKLM.xml, eklm/data/EKLM.xml), in cm.
Drawn are the detector gaps (scintillator or RPC layers), not the iron between them.

* BKLM: octagon whose first vertex is at φ = −22.5° (sector k centred at 45° (k − 1)); the first gap
  starts at 201.9 cm from the axis; gaps are 4.4 cm (layer 1: 4.1 cm) separated by 4.7 cm of iron;
  z = 47 ± 230 cm.
* EKLM: layers are discs r = 130.5 → 332.0 cm, 4 quadrant sectors each, 4.4 cm thick at a 9.1 cm
  pitch, counted outward from the endcap face next to the barrel (forward z = 277 cm, backward
  z = −183 cm). The offset of the first layer from that face is not in the reference (drawn at 0).
"""

from __future__ import annotations

import functools

import numpy as np

from geometry.mesh import Mesh
from geometry.shapes import polygon_shells, tubes

SOLENOID_Z = 47.0
BKLM_LAYERS = 15
BKLM_SIDES = 8
BKLM_FIRST_VERTEX_PHI = np.radians(-22.5)
BKLM_INNER = 201.9
BKLM_OUTER = 353.5
BKLM_HALF_LENGTH = 230.0
BKLM_GAP, BKLM_GAP_1, BKLM_IRON = 4.4, 4.1, 4.7

EKLM_LAYERS = {"forward": 14, "backward": 12}
EKLM_ENDCAP_R = (128.0, 353.5)
EKLM_ACTIVE_R = (130.5, 332.0)
EKLM_FACE_Z = {"forward": SOLENOID_Z + BKLM_HALF_LENGTH, "backward": SOLENOID_Z - BKLM_HALF_LENGTH}
EKLM_ENDCAP_LENGTH = 132.1
EKLM_PITCH, EKLM_GAP = 9.1, 4.4
EKLM_SECTORS = 4


def bklm_layer_radii() -> tuple[np.ndarray, np.ndarray]:
    """Inner and outer apothem [cm] of the 15 BKLM gaps."""
    thickness = np.full(BKLM_LAYERS, BKLM_GAP)
    thickness[0] = BKLM_GAP_1
    inner = BKLM_INNER + np.concatenate([[0.0], np.cumsum(thickness[:-1] + BKLM_IRON)])
    return inner, inner + thickness


def bklm_z_range() -> tuple[float, float]:
    return SOLENOID_Z - BKLM_HALF_LENGTH, SOLENOID_Z + BKLM_HALF_LENGTH


@functools.cache
def bklm_mesh() -> Mesh:
    """One octagonal shell per layer; element = layer − 1."""
    inner, outer = bklm_layer_radii()
    z0, z1 = bklm_z_range()
    return polygon_shells(inner, outer, z0, z1, BKLM_SIDES, float(BKLM_FIRST_VERTEX_PHI))


def eklm_layer_z() -> tuple[np.ndarray, np.ndarray]:
    """z of the near and far face of each EKLM layer [cm], forward layers 1–14 then backward 1–12."""
    near, far = [], []
    for side, sign in (("forward", 1.0), ("backward", -1.0)):
        start = EKLM_FACE_Z[side] + sign * EKLM_PITCH * np.arange(EKLM_LAYERS[side])
        near.append(start)
        far.append(start + sign * EKLM_GAP)
    return np.concatenate(near), np.concatenate(far)


@functools.cache
def eklm_mesh() -> Mesh:
    """Each layer as 4 quadrant sectors; element = layer index (forward 0–13, backward 14–25)."""
    near, far = eklm_layer_z()
    z0, z1 = np.minimum(near, far), np.maximum(near, far)
    n = len(z0)
    quadrant = np.arange(EKLM_SECTORS) * (np.pi / 2)
    return tubes(
        EKLM_ACTIVE_R[0],
        EKLM_ACTIVE_R[1],
        np.repeat(z0, EKLM_SECTORS),
        np.repeat(z1, EKLM_SECTORS),
        segments=24,
        phi0=np.tile(quadrant + 0.004, n),
        phi1=np.tile(quadrant + np.pi / 2 - 0.004, n),
        element=np.repeat(np.arange(n), EKLM_SECTORS),
    )
