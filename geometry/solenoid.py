"""Superconducting solenoid: the Al coil inside its Fe cryostat (structure/data/COIL.xml), in cm."""

from __future__ import annotations

import functools

import numpy as np

from geometry.mesh import Mesh
from geometry.shapes import tubes

OFFSET_Z = 47.0
CRYOSTAT = (170.0, 200.0, 220.5)  # r_min, r_max, half-length
COIL = (178.31, 184.19, 200.5)


@functools.cache
def coil_mesh() -> Mesh:
    """Element 0: cryostat; 1: coil."""
    shells = np.array([CRYOSTAT, COIL])
    return tubes(shells[:, 0], shells[:, 1], OFFSET_Z - shells[:, 2], OFFSET_Z + shells[:, 2], segments=128)
