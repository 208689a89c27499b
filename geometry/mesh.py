"""Triangle meshes and drawable detector parts: the contract between geometry/ and displays/."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Mesh:
    """Indexed triangles in cm; ``element`` maps each face to its element (crystal, ladder, bar)."""

    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (F, 3) uint32
    element: np.ndarray  # (F,) int32, element index within its part

    @property
    def n_elements(self) -> int:
        return int(self.element.max()) + 1 if len(self.element) else 0

    @staticmethod
    def merge(meshes: list[Mesh]) -> Mesh:
        """One mesh of many; element indices are renumbered to stay distinct."""
        if not meshes:
            return Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), np.zeros(0, np.int32))
        v_off = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        e_off = np.cumsum([0] + [m.n_elements for m in meshes[:-1]])
        return Mesh(
            np.concatenate([m.vertices for m in meshes]).astype(np.float32),
            np.concatenate([m.faces + o for m, o in zip(meshes, v_off, strict=True)]).astype(np.uint32),
            np.concatenate([m.element + o for m, o in zip(meshes, e_off, strict=True)]).astype(np.int32),
        )


@dataclass(frozen=True)
class Part:
    """One subdetector as the displays draw it: one mesh (one visual), optional wire segments."""

    name: str  # BEAMPIPE, PXD, SVD, CDC, TOP, ARICH, ECL, COIL, BKLM, EKLM
    mesh: Mesh
    color: tuple[float, float, float, float]  # default RGBA
    count: int  # number of physical elements (ladders, crystals, bars, layers...)
    lines: np.ndarray | None = field(default=None)  # (K, 2, 3) segments, e.g. CDC sense wires
