"""Superconducting solenoid: the Al coil inside its Fe cryostat (basf2 structure/data/COIL.xml), in cm.

The figures are read from the ``solenoid`` section of figures.json.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from geometry.mesh import Mesh
from geometry.reference import figures
from geometry.shapes import tubes


@dataclass(frozen=True)
class Solenoid:
    offset_z: float  # centre of coil and cryostat
    cryostat: tuple[float, float, float]  # r_min, r_max, half-length
    coil: tuple[float, float, float]


@functools.cache
def solenoid() -> Solenoid:
    f = figures("solenoid")
    shells = []
    for key in ("cryostat", "coil"):
        r_min, r_max = f.values(f"{key}_r", "cm", 2)
        shells.append((float(r_min), float(r_max), f.value(f"{key}_half_length")))
    return Solenoid(f.value("offset_z"), shells[0], shells[1])


@functools.cache
def coil_mesh() -> Mesh:
    """Element 0: cryostat; 1: coil."""
    s = solenoid()
    shells = np.array([s.cryostat, s.coil])
    return tubes(
        shells[:, 0], shells[:, 1], s.offset_z - shells[:, 2], s.offset_z + shells[:, 2], segments=64
    )
