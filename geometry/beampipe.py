"""Beam pipe at the IP: the double-walled Be section and the two crotch pipes (ir/data/BeamPipe.xml).

Figures (cm) from the ``beampipe`` section of figures.json; the beam directions from ``superkekb``
(SuperKEKB.xml). Drawing choices: the split HER and LER pipes keep the vacuum radius with a 0.2 cm
wall and run along the beam directions from the Ta sections out to the ends of the CDC volume; the
region between the Be section and the Ta sections is drawn as a straight pipe of the Be radii.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from geometry import cdc
from geometry.mesh import Mesh
from geometry.reference import figures
from geometry.shapes import tilted, tubes

WALL = 0.2  # cm, drawing choice


@dataclass(frozen=True)
class BeamPipe:
    inner_be: tuple[float, float, float, float]  # r_in, r_out, z0, z1 (Lv2InBe)
    outer_be: tuple[float, float, float, float]  # Lv2OutBe
    ta_forward_z: float  # Lv1TaFwd D1
    ta_backward_z: float  # Lv1TaBwd D1
    vacuum_r: float
    her_angle: float  # rad, HER direction to +z in the x-z plane
    ler_angle: float  # rad
    end_z: tuple[float, float]  # where the drawn pipes end: the CDC volume


@functools.cache
def beampipe() -> BeamPipe:
    f, kekb = figures("beampipe"), figures("superkekb")
    (r0, r1), (z0, z1) = f.values("inner_be_r", "cm", 2), f.values("inner_be_z", "cm", 2)
    (s0, s1), (t0, t1) = f.values("outer_be_r", "cm", 2), f.values("outer_be_z", "cm", 2)
    return BeamPipe(
        (r0, r1, z0, z1),
        (s0, s1, t0, t1),
        f.value("ta_forward_z"),
        f.value("ta_backward_z"),
        f.value("vacuum_r"),
        kekb.value("her_angle", "rad"),
        kekb.value("ler_angle", "rad"),
        cdc.walls().volume_z,
    )


def crossing_half_angle() -> float:
    """Half the crossing angle [rad]: each beam pipe leaves the IP at this angle to the z axis."""
    b = beampipe()
    return 0.5 * (b.her_angle - b.ler_angle)


def pieces() -> list[tuple[str, Mesh]]:
    """(name, mesh) of each drawn pipe, in element order."""
    b = beampipe()
    be = tubes(
        np.array([b.inner_be[0], b.outer_be[0]]),
        np.array([b.inner_be[1], b.outer_be[1]]),
        np.array([b.inner_be[2], b.outer_be[2]]),
        np.array([b.inner_be[3], b.outer_be[3]]),
        segments=48,
    )
    link = tubes(
        b.vacuum_r,
        b.outer_be[1],
        np.array([b.ta_backward_z, b.inner_be[3]]),
        np.array([b.inner_be[2], b.ta_forward_z]),
        48,
    )
    out: list[tuple[str, Mesh]] = [("Be inner", be), ("Ta links", link)]
    # each beam line is straight through the IP: HER at x = tan(her_angle) z, LER at x = tan(ler_angle) z
    for name, angle in (("HER", b.her_angle), ("LER", b.ler_angle)):
        cos = np.cos(angle)
        pipe = tubes(
            b.vacuum_r,
            b.vacuum_r + WALL,
            np.array([b.end_z[0] / cos, b.ta_forward_z / cos]),
            np.array([b.ta_backward_z / cos, b.end_z[1] / cos]),
            segments=32,
        )
        out.append((name, tilted(pipe, angle)))
    return out


def beampipe_mesh() -> Mesh:
    """All beam-pipe pieces as one mesh: elements 0–1 Be walls, 2–3 links, 4–5 HER, 6–7 LER."""
    return Mesh.merge([m for _, m in pieces()])
