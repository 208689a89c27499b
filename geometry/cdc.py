"""CDC: inner and outer walls, stepped end plates and the 56 sense layers (14336 wires).

Figures from docs/detector.md §4 and ``cdc_sense_layers.csv`` (derived from
cdc/data/CDC.xml), in cm. Wire end points follow basf2 CDCGeometryPar: φ_bwd = 2π/n · (cell + offset),
φ_fwd = φ_bwd + π/n · NShift, straight lines between the two end plates (no sag), global φ rotation 0.
Drawing choices: each end plate is drawn as one thin ring per sense layer at the layer's wire-end z
(so the plates follow the real conical steps), 0.5 cm thick, half a layer spacing either side.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import GeometryDataError, data_file
from geometry.shapes import tubes

LAYER_FILE = "cdc_sense_layers.csv"
N_LAYERS = 56
N_SUPERLAYERS = 9
INNER_WALL = (16.25, 16.311)  # cm: CFRP 162.5–162.96 mm and Al shield to 163.11 mm
OUTER_WALL = (112.05, 112.76)  # cm: 1120.5 → 1127.6 mm
VOLUME_Z = (-100.0, 165.5)  # cm, mother volume
END_PLATE_THICKNESS = 0.5  # cm (drawing choice)
GLOBAL_PHI_ROTATION = 0.0


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
    path = data_file(LAYER_FILE)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != N_LAYERS:
        raise GeometryDataError(f"{path}: expected {N_LAYERS} sense layers, found {len(rows)}")
    try:

        def col(name: str, kind: type = float) -> np.ndarray:
            return np.array([kind(r[name]) for r in rows])

        return SenseLayers(
            col("layer", int),
            col("superlayer", int),
            col("type", str),
            col("radius_mm") / 10.0,
            col("bwd_z_mm") / 10.0,
            col("fwd_z_mm") / 10.0,
            col("n_wires", int),
            col("n_shift", int),
            col("phi_offset_cells"),
            col("stereo_angle_mrad"),
        )
    except (KeyError, ValueError) as err:
        raise GeometryDataError(f"{path}: unreadable sense-layer table ({err})") from err


def wire_phi(layers: SenseLayers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(layer index, φ_bwd, φ_fwd) of all 14336 sense wires, layer by layer, cell by cell."""
    layer = np.repeat(np.arange(N_LAYERS), layers.n_wires)
    first = np.concatenate([[0], np.cumsum(layers.n_wires)[:-1]])
    cell = np.arange(len(layer)) - first[layer]
    size = 2 * np.pi / layers.n_wires[layer]
    phi_bwd = size * (cell + layers.phi_offset[layer]) + GLOBAL_PHI_ROTATION
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
    inner = np.concatenate([[INNER_WALL[1]], mid])
    outer = np.concatenate([mid, [OUTER_WALL[0]]])
    return inner, outer


@functools.cache
def cdc_mesh() -> Mesh:
    """Elements 0–55: the end-plate rings of each sense layer (both ends); 56 inner wall; 57 outer wall."""
    lay = sense_layers()
    inner, outer = layer_bounds(lay)
    t = END_PLATE_THICKNESS
    layers = np.arange(N_LAYERS)
    bwd = tubes(inner, outer, lay.z_bwd - t, lay.z_bwd, segments=96, element=layers)
    fwd = tubes(inner, outer, lay.z_fwd, lay.z_fwd + t, segments=96, element=layers)
    walls = tubes(
        np.array([INNER_WALL[0], OUTER_WALL[0]]),
        np.array([INNER_WALL[1], OUTER_WALL[1]]),
        np.array([lay.z_bwd[0], VOLUME_Z[0]]),
        np.array([lay.z_fwd[0], VOLUME_Z[1]]),
        segments=96,
        element=np.array([N_LAYERS, N_LAYERS + 1]),
    )
    return Mesh(
        np.concatenate([bwd.vertices, fwd.vertices, walls.vertices]),
        np.concatenate(
            [bwd.faces, fwd.faces + len(bwd.vertices), walls.faces + len(bwd.vertices) + len(fwd.vertices)]
        ).astype(np.uint32),
        np.concatenate([bwd.element, fwd.element, walls.element]),
    )
