"""CDC: inner and outer walls, stepped end plates and the 56 sense layers (14336 wires).

Lengths in cm. The sense layers are read from ``cdc_sense_layers.csv`` of the geometry tables
(derived from basf2 cdc/data/CDC.xml), the walls from ``figures.json``. Wire end points follow basf2
CDCGeometryPar: φ_bwd = 2π/n · (cell + offset) + global rotation, φ_fwd = φ_bwd + π/n · NShift,
straight lines between the two end plates (no sag).
Drawing choices: each end plate is drawn as one thin ring per sense layer at the layer's wire-end z
(so the plates follow the real conical steps), 0.5 cm thick, half a layer spacing either side.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import GeometryDataError, data_file, figures, read_table
from geometry.shapes import tubes

LAYER_FILE = "cdc_sense_layers.csv"
N_LAYERS = 56
N_SUPERLAYERS = 9
END_PLATE_THICKNESS = 0.5  # cm (drawing choice)


@dataclass(frozen=True)
class Walls:
    """Radii [cm] of the inner and outer wall (inner, outer surface) and the z range of the volume."""

    inner: tuple[float, float]
    outer: tuple[float, float]
    volume_z: tuple[float, float]
    phi_rotation: float  # rad


@functools.cache
def walls() -> Walls:
    """The CDC walls of figures.json (basf2 CDC.xml)."""
    f = figures("cdc")
    (a, b), (c, d), (e, g) = (f.values(k, "cm", 2) for k in ("inner_wall_r", "outer_wall_r", "volume_z"))
    return Walls((a, b), (c, d), (e, g), f.value("global_phi_rotation", "rad"))


@dataclass(frozen=True)
class SenseLayers:
    """The 56 sense layers as columns (cm)."""

    layer: np.ndarray
    superlayer: np.ndarray
    kind: np.ndarray  # "A", "U", "V"
    radius: np.ndarray
    z_bwd: np.ndarray
    z_fwd: np.ndarray
    n_wires: np.ndarray
    n_shift: np.ndarray
    phi_offset: np.ndarray  # cells
    stereo_mrad: np.ndarray


@functools.cache
def sense_layers() -> SenseLayers:
    """Read the sense-layer table; raises GeometryDataError naming the file if it is wrong."""
    t = read_table(
        LAYER_FILE,
        {
            "layer": int,
            "superlayer": int,
            "type": str,
            "radius_cm": float,
            "z_bwd_cm": float,
            "z_fwd_cm": float,
            "n_wires": int,
            "n_shift": int,
            "phi_offset_cells": float,
            "stereo_angle_mrad": float,
        },
    )
    path = data_file(LAYER_FILE)
    if len(t["layer"]) != N_LAYERS or not np.array_equal(t["layer"], np.arange(N_LAYERS)):
        raise GeometryDataError(f"{path}: expected the {N_LAYERS} sense layers 0…{N_LAYERS - 1}, in order")
    if not set(t["type"].tolist()) <= {"A", "U", "V"}:
        raise GeometryDataError(f"{path}: layer types must be A, U or V")
    if np.any(t["n_wires"] <= 0) or np.any(t["radius_cm"] <= 0) or np.any(t["z_fwd_cm"] <= t["z_bwd_cm"]):
        raise GeometryDataError(f"{path}: radii, wire counts and wire lengths must be positive")
    layers = SenseLayers(
        t["layer"],
        t["superlayer"],
        t["type"].astype(str),
        t["radius_cm"],
        t["z_bwd_cm"],
        t["z_fwd_cm"],
        t["n_wires"],
        t["n_shift"],
        t["phi_offset_cells"],
        t["stereo_angle_mrad"],
    )
    for a in vars(layers).values():
        a.flags.writeable = False
    return layers


def wire_phi(layers: SenseLayers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(layer index, φ_bwd, φ_fwd) of all 14336 sense wires, layer by layer, cell by cell."""
    layer = np.repeat(np.arange(N_LAYERS), layers.n_wires)
    first = np.concatenate([[0], np.cumsum(layers.n_wires)[:-1]])
    cell = np.arange(len(layer)) - first[layer]
    size = 2 * np.pi / layers.n_wires[layer]
    phi_bwd = size * (cell + layers.phi_offset[layer]) + walls().phi_rotation
    phi_fwd = phi_bwd + size * 0.5 * layers.n_shift[layer]
    return layer, phi_bwd, phi_fwd


@functools.cache
def wires() -> np.ndarray:
    """(14336, 2, 3) sense wires as segments from the backward to the forward end plate [cm]."""
    lay = sense_layers()
    layer, phi_bwd, phi_fwd = wire_phi(lay)
    r = lay.radius[layer]
    bwd = np.stack([r * np.cos(phi_bwd), r * np.sin(phi_bwd), lay.z_bwd[layer]], axis=1)
    fwd = np.stack([r * np.cos(phi_fwd), r * np.sin(phi_fwd), lay.z_fwd[layer]], axis=1)
    out = np.stack([bwd, fwd], axis=1)
    out.flags.writeable = False
    return out


def layer_bounds(lay: SenseLayers) -> tuple[np.ndarray, np.ndarray]:
    """Inner and outer radius of each layer's end-plate ring: halfway to the neighbouring layers."""
    mid = 0.5 * (lay.radius[1:] + lay.radius[:-1])
    w = walls()
    inner = np.concatenate([[w.inner[1]], mid])
    outer = np.concatenate([mid, [w.outer[0]]])
    return inner, outer


@functools.cache
def cdc_mesh() -> Mesh:
    """Elements 0–55: the end-plate rings of each sense layer (both ends); 56 inner wall; 57 outer wall."""
    lay = sense_layers()
    inner, outer = layer_bounds(lay)
    t = END_PLATE_THICKNESS
    layers = np.arange(N_LAYERS)
    bwd = tubes(inner, outer, lay.z_bwd - t, lay.z_bwd, segments=64, element=layers)
    fwd = tubes(inner, outer, lay.z_fwd, lay.z_fwd + t, segments=64, element=layers)
    w = walls()
    shells = tubes(
        np.array([w.inner[0], w.outer[0]]),
        np.array([w.inner[1], w.outer[1]]),
        np.array([lay.z_bwd[0], w.volume_z[0]]),
        np.array([lay.z_fwd[0], w.volume_z[1]]),
        segments=64,
        element=np.array([N_LAYERS, N_LAYERS + 1]),
    )
    return Mesh(
        np.concatenate([bwd.vertices, fwd.vertices, shells.vertices]),
        np.concatenate(
            [bwd.faces, fwd.faces + len(bwd.vertices), shells.faces + len(bwd.vertices) + len(fwd.vertices)]
        ).astype(np.uint32),
        np.concatenate([bwd.element, fwd.element, shells.element]),
    )
