"""Vertex detector: PXD (2 layers, 8 + 12 ladders) and SVD (4 layers, 7/10/12/16 ladders) as planar sensors.

Figures (cm) from the ``pxd`` and ``svd`` sections of figures.json (basf2 PXD.xml, SVD.xml: ladder φ;
PXD-Components.xml, SVD-Components.xml: radii, shifts, sensors). Each ladder sits at its φ with its
sensor plane normal to the radial direction at the layer radius, shifted along rφ by the windmill
shift. The forward SVD sensors of layers 4–6 are trapezoids slanted towards the beam.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import Figures, figures
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
    slant_widths: tuple[float, float] = (0.0, 0.0)  # cm, backward and forward edge
    slant_length: float = 0.0
    slant_thickness: float = 0.0


def _layer(f: Figures, k: int, slanted: bool) -> Layer:
    layer = Layer(
        k,
        f.value(f"radius_layer{k}"),
        tuple(f.values(f"ladder_phi_layer{k}", "deg").tolist()),
        f.value(f"shift_layer{k}"),
        tuple(f.values(f"sensor_z_layer{k}").tolist()),
        f.value(f"sensor_width_layer{k}"),
        f.value(f"sensor_length_layer{k}"),
        f.value(f"sensor_thickness_layer{k}"),
    )
    if not slanted:
        return layer
    w0, w1 = f.values("slant_widths", "cm", 2)
    return replace(
        layer,
        slant_deg=f.value(f"slant_deg_layer{k}", "deg"),
        slant_radius=f.value(f"slant_radius_layer{k}"),
        slant_widths=(float(w0), float(w1)),
        slant_length=f.value("slant_length"),
        slant_thickness=f.value("slant_thickness"),
    )


@functools.cache
def pxd_layers() -> tuple[Layer, ...]:
    """PXD layers 1–2."""
    f = figures("pxd")
    return tuple(_layer(f, k, False) for k in (1, 2))


@functools.cache
def svd_layers() -> tuple[Layer, ...]:
    """SVD layers 3–6 (4–6 with a slanted forward sensor)."""
    f = figures("svd")
    return tuple(_layer(f, k, k > 3) for k in (3, 4, 5, 6))


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
    return _sensors(pxd_layers())


@functools.cache
def svd_sensors() -> Sensors:
    """The 172 SVD sensors of the 45 ladders (7·2 + 10·3 + 12·4 + 16·5)."""
    return _sensors(svd_layers())


def sensors_mesh(sensors: Sensors) -> Mesh:
    """All sensors as closed boxes (trapezoids for slanted ones); element = ladder index."""
    return hexahedra(sensors.corners(), sensors.ladder)


def pxd_mesh() -> Mesh:
    return sensors_mesh(pxd_sensors())


def svd_mesh() -> Mesh:
    return sensors_mesh(svd_sensors())


def n_ladders(layers: tuple[Layer, ...]) -> int:
    return sum(len(lay.ladder_phi_deg) for lay in layers)
