"""KLM: the octagonal barrel (BKLM, 15 layers) and the two endcaps (EKLM, 14 forward, 12 backward layers).

Figures (cm) from the ``bklm`` and ``eklm`` sections of figures.json (basf2 bklm/data/BKLM.xml,
eklm/data/EKLM.xml). The BKLM is drawn as its detector gaps (scintillator or RPC layers); the EKLM as
its detector layers and the iron of the endcap yoke around them.

* BKLM: octagon whose first vertex is at φ = −22.5° (sector k centred at 45° (k − 1)); the first gap
  starts at 201.9 cm from the axis; gaps are 4.4 cm (layer 1: 4.1 cm) separated by 4.7 cm of iron;
  z = 47 ± 230 cm.
* EKLM: each endcap is an iron block 132.1 cm long, its centre 296.05 cm from the solenoid centre
  (z = 47 cm): forward z = 277.0 → 409.1 cm, backward −315.1 → −183.0 cm, r = 128 cm to an octagon of
  apothem 353.5 cm (first vertex at −22.5°, like the BKLM). It has 14 layer slots of 4.4 cm at a
  9.1 cm pitch; slot n (1 = next to the barrel) is centred Endcap Z − Length/2 + n · ShiftZ −
  4.4/2 from the solenoid centre (basf2 TransformData.cc), so 15 iron plates of 4.7 cm remain
  (14 · 4.4 + 15 · 4.7 = 132.1). The forward endcap instruments all 14 slots, the backward the first
  12. Layers are discs r = 130.5 → 332.0 cm of 4 quadrant sectors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import figures
from geometry.shapes import extrude_rings, polygon_ring_points, polygon_shells, ring_points, tubes

ENDS = ("forward", "backward")
SIGN = {"forward": 1.0, "backward": -1.0}
IRON_SEGMENTS_PER_SIDE = 8  # drawing: the round inner edge of each plate as 8 × 8 segments


@dataclass(frozen=True)
class Bklm:
    offset_z: float
    half_length: float
    first_vertex_phi: float  # rad
    sides: int
    layers: int
    inner: float  # first gap, from the axis
    outer: float  # outer apothem
    gap: float
    gap_layer1: float
    iron: float


@functools.cache
def bklm() -> Bklm:
    f = figures("bklm")
    return Bklm(
        f.value("offset_z"),
        f.value("half_length"),
        float(np.radians(f.value("first_vertex_phi", "deg"))),
        f.count("sides"),
        f.count("layers"),
        f.value("inner_r"),
        f.value("outer_r"),
        f.value("gap"),
        f.value("gap_layer1"),
        f.value("iron"),
    )


def bklm_layer_radii() -> tuple[np.ndarray, np.ndarray]:
    """Inner and outer apothem [cm] of the 15 BKLM gaps."""
    b = bklm()
    thickness = np.full(b.layers, b.gap)
    thickness[0] = b.gap_layer1
    inner = b.inner + np.concatenate([[0.0], np.cumsum(thickness[:-1] + b.iron)])
    return inner, inner + thickness


def bklm_z_range() -> tuple[float, float]:
    b = bklm()
    return b.offset_z - b.half_length, b.offset_z + b.half_length


@functools.cache
def bklm_mesh() -> Mesh:
    """One octagonal shell per layer; element = layer − 1."""
    b = bklm()
    inner, outer = bklm_layer_radii()
    z0, z1 = bklm_z_range()
    return polygon_shells(inner, outer, z0, z1, b.sides, b.first_vertex_phi)


@dataclass(frozen=True)
class Eklm:
    solenoid_z: float
    slots: int  # layer slots per endcap
    layers: dict[str, int]  # detector layers per endcap
    sectors: int
    endcap_r: tuple[float, float]  # inner radius, outer apothem
    endcap_length: float
    endcap_z: float  # centre, from the solenoid centre
    first_vertex_phi: float  # rad
    sides: int
    layer_r: tuple[float, float]
    layer_length: float
    shift_z: float


@functools.cache
def eklm() -> Eklm:
    f = figures("eklm")
    r0, r1 = f.values("endcap_r", "cm", 2)
    l0, l1 = f.values("layer_r", "cm", 2)
    return Eklm(
        f.value("solenoid_z"),
        f.count("layer_slots"),
        {"forward": f.count("layers_forward"), "backward": f.count("layers_backward")},
        f.count("sectors"),
        (float(r0), float(r1)),
        f.value("endcap_length"),
        f.value("endcap_z"),
        float(np.radians(f.value("endcap_first_vertex_phi", "deg"))),
        f.count("endcap_sides"),
        (float(l0), float(l1)),
        f.value("layer_length"),
        f.value("layer_shift_z"),
    )


def eklm_endcap_z() -> dict[str, tuple[float, float]]:
    """z of the face next to the barrel and of the outer face of each endcap [cm]."""
    e = eklm()
    near, far = e.endcap_z - e.endcap_length / 2, e.endcap_z + e.endcap_length / 2
    return {end: (e.solenoid_z + SIGN[end] * near, e.solenoid_z + SIGN[end] * far) for end in ENDS}


def _slot_distance() -> np.ndarray:
    """(slots,) distance of the near face of each layer slot from the solenoid centre [cm]."""
    e = eklm()
    n = np.arange(1, e.slots + 1)
    centre = e.endcap_z - e.endcap_length / 2 + n * e.shift_z - e.layer_length / 2
    return centre - e.layer_length / 2


def eklm_layer_z() -> tuple[np.ndarray, np.ndarray]:
    """z of the near and far face of each EKLM layer [cm], forward layers 1–14 then backward 1–12."""
    e = eklm()
    near_d = _slot_distance()
    near, far = [], []
    for end in ENDS:
        d = near_d[: e.layers[end]]
        near.append(e.solenoid_z + SIGN[end] * d)
        far.append(e.solenoid_z + SIGN[end] * (d + e.layer_length))
    return np.concatenate(near), np.concatenate(far)


def eklm_iron_z() -> tuple[np.ndarray, np.ndarray]:
    """z of the near and far face of each iron plate [cm]: the 15 forward plates, then the 15 backward."""
    e = eklm()
    slot = _slot_distance()
    start = np.concatenate([[e.endcap_z - e.endcap_length / 2], slot + e.layer_length])
    stop = np.concatenate([slot, [e.endcap_z + e.endcap_length / 2]])
    near = [e.solenoid_z + SIGN[end] * start for end in ENDS]
    far = [e.solenoid_z + SIGN[end] * stop for end in ENDS]
    return np.concatenate(near), np.concatenate(far)


def n_iron_plates() -> int:
    return 2 * (eklm().slots + 1)


@functools.cache
def eklm_mesh() -> Mesh:
    """Elements 0–25: each layer as 4 quadrant sectors (forward 0–13, backward 14–25); then the iron
    plates of the endcap yokes (forward 15, backward 15), round inside and octagonal outside."""
    e = eklm()
    near, far = eklm_layer_z()
    z0, z1 = np.minimum(near, far), np.maximum(near, far)
    n = len(z0)
    quadrant = np.arange(e.sectors) * (2 * np.pi / e.sectors)
    layers = tubes(
        e.layer_r[0],
        e.layer_r[1],
        np.repeat(z0, e.sectors),
        np.repeat(z1, e.sectors),
        segments=24,
        phi0=np.tile(quadrant + 0.004, n),
        phi1=np.tile(quadrant + 2 * np.pi / e.sectors - 0.004, n),
        element=np.repeat(np.arange(n), e.sectors),
    )
    i_near, i_far = eklm_iron_z()
    m = len(i_near)
    outer = polygon_ring_points(e.endcap_r[1], e.sides, e.first_vertex_phi, IRON_SEGMENTS_PER_SIDE)
    phi = e.first_vertex_phi + 2 * np.pi * np.arange(len(outer)) / (len(outer) - 1)
    inner = ring_points(e.endcap_r[0], phi)
    iron = extrude_rings(
        np.broadcast_to(inner, (m, *inner.shape)),
        np.broadcast_to(outer, (m, *outer.shape)),
        np.minimum(i_near, i_far),
        np.maximum(i_near, i_far),
        True,
        np.arange(m),
    )
    return Mesh.merge([layers, iron])
