"""Vertex detector: PXD (2 layers, 8 + 12 ladders) and SVD (4 layers, 7/10/12/16 ladders) as planar sensors.

Figures from docs/detector.md §2–3 (PXD.xml, PXD-Components.xml, SVD.xml,
SVD-Components.xml), in cm. Each ladder sits at its φ with its sensor plane normal to the radial
direction at the layer radius, shifted along rφ by the windmill shift. The forward SVD sensors of
layers 4–6 are trapezoids slanted towards the beam.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh
from geometry.shapes import hexahedra


@dataclass(frozen=True)
class Layer:
    """One barrel layer: radius of the sensor centres, ladder φ, windmill shift and its sensors."""

    layer: int
    radius: float  # cm, sensor centre plane
    ladder_phi_deg: tuple[float, ...]
    shift: float  # cm, along rφ
    sensor_z: tuple[float, ...]  # cm, centres along the ladder, forward first
    width: float  # cm (rφ)
    length: float  # cm (z)
    thickness: float  # cm
    slant_deg: float = 0.0  # forward sensor tilt; 0: no slanted sensor
    slant_radius: float = 0.0  # cm, radius of the slanted sensor centre
    slant_widths: tuple[float, float] = (6.063, 4.102)  # cm, backward and forward edge
    slant_length: float = 12.558
    slant_thickness: float = 0.030


PXD_LAYERS = (
    Layer(1, 1.421, tuple(45.0 * k for k in range(8)), 0.35, (4.8013, -2.0013), 1.54, 6.7975, 0.0525),
    Layer(2, 2.179, tuple(30.0 * k for k in range(12)), 0.35, (6.1513, -2.3513), 1.54, 8.4975, 0.0525),
)
SVD_LAYERS = (
    Layer(
        3,
        3.899,
        (342.195, 33.624, 85.053, 136.481, 187.910, 239.338, 290.767),
        -0.4680,
        (9.235, -3.265),
        4.043,
        12.488,
        0.032,
    ),
    Layer(
        4,
        8.000,
        tuple(8.0 + 36.0 * k for k in range(10)),
        -1.0780,
        (14.904, 2.476, -10.024),
        5.96,
        12.488,
        0.032,
        11.9,
        6.689,
    ),
    Layer(
        5,
        10.400,
        tuple(-8.0 + 30.0 * k for k in range(12)),
        -1.1036,
        (23.375, 11.056, -1.444, -13.944),
        5.96,
        12.488,
        0.032,
        16.0,
        8.65,
    ),
    Layer(
        6,
        13.515,
        tuple(-4.0 + 22.5 * k for k in range(16)),
        -1.9076,
        (30.347, 18.206, 5.706, -6.794, -19.294),
        5.96,
        12.488,
        0.032,
        21.1,
        11.21,
    ),
)


@dataclass(frozen=True)
class Sensors:
    """Planar sensors as arrays: centre, width axis u (rφ), length axis v (≈ z), half-sizes, ladder."""

    centre: np.ndarray  # (N, 3)
    u: np.ndarray  # (N, 3)
    v: np.ndarray  # (N, 3)
    half_u: np.ndarray  # (N, 2): at the −v (backward) and +v (forward) edges
    half_v: np.ndarray  # (N,)
    half_w: np.ndarray  # (N,)
    layer: np.ndarray  # (N,)
    ladder: np.ndarray  # (N,) ladder index within the detector (element)

    def corners(self) -> np.ndarray:
        """(N, 8, 3) corners: −w face then +w face, (−u,−v), (+u,−v), (+u,+v), (−u,+v)."""
        w = np.cross(self.u, self.v)
        su = np.array([-1.0, 1.0, 1.0, -1.0])
        sv = np.array([-1.0, -1.0, 1.0, 1.0])
        hu = self.half_u[:, [0, 0, 1, 1]] * su  # (N, 4)
        face = self.centre[:, None, :] + hu[..., None] * self.u[:, None, :]
        face = face + (self.half_v[:, None] * sv)[..., None] * self.v[:, None, :]
        return np.concatenate(
            [
                face - self.half_w[:, None, None] * w[:, None, :],
                face + self.half_w[:, None, None] * w[:, None, :],
            ],
            axis=1,
        )


def _sensors(layers: tuple[Layer, ...]) -> Sensors:
    rows: list[tuple] = []
    ladder = 0
    for lay in layers:
        for phi_deg in lay.ladder_phi_deg:
            phi = np.radians(phi_deg)
            n = np.array([np.cos(phi), np.sin(phi), 0.0])
            t = np.array([-np.sin(phi), np.cos(phi), 0.0])
            z_axis = np.array([0.0, 0.0, 1.0])
            for i, z in enumerate(lay.sensor_z):
                if i == 0 and lay.slant_deg:
                    a = np.radians(lay.slant_deg)
                    v = np.cos(a) * z_axis - np.sin(a) * n
                    centre = lay.slant_radius * n + lay.shift * t + z * z_axis
                    half_u = (lay.slant_widths[0] / 2, lay.slant_widths[1] / 2)
                    rows.append(
                        (
                            centre,
                            t,
                            v,
                            half_u,
                            lay.slant_length / 2,
                            lay.slant_thickness / 2,
                            lay.layer,
                            ladder,
                        )
                    )
                else:
                    centre = lay.radius * n + lay.shift * t + z * z_axis
                    half_u = (lay.width / 2, lay.width / 2)
                    rows.append(
                        (centre, t, z_axis, half_u, lay.length / 2, lay.thickness / 2, lay.layer, ladder)
                    )
            ladder += 1
    cols = list(zip(*rows, strict=True))
    return Sensors(*(np.array(c, dtype=np.float64 if k < 6 else np.int64) for k, c in enumerate(cols)))


@functools.cache
def pxd_sensors() -> Sensors:
    """The 40 PXD sensors (2 per ladder, 20 ladders)."""
    return _sensors(PXD_LAYERS)


@functools.cache
def svd_sensors() -> Sensors:
    """The 172 SVD sensors of the 45 ladders (7·2 + 10·3 + 12·4 + 16·5)."""
    return _sensors(SVD_LAYERS)


def sensors_mesh(sensors: Sensors) -> Mesh:
    """All sensors as closed boxes (trapezoids for slanted ones); element = ladder index."""
    return hexahedra(sensors.corners(), sensors.ladder)


def pxd_mesh() -> Mesh:
    return sensors_mesh(pxd_sensors())


def svd_mesh() -> Mesh:
    return sensors_mesh(svd_sensors())


def n_ladders(layers: tuple[Layer, ...]) -> int:
    return sum(len(lay.ladder_phi_deg) for lay in layers)
