"""Beam pipe at the IP: the double-walled Be section and the two crotch pipes (ir/data/BeamPipe.xml).

Figures from docs/detector.md §1, in cm. Drawing choices: the split HER and LER
pipes keep the 1.0 cm vacuum radius with a 0.2 cm wall and run along ±41.5 mrad from the Ta sections
out to the ends of the CDC volume (z −100 … +165.5 cm); the region between the Be section and the Ta
sections is drawn as a straight pipe of the Be radii.
"""

from __future__ import annotations

import numpy as np

from geometry.mesh import Mesh
from geometry.shapes import tilted, tubes

INNER_BE = (1.0, 1.06, -3.7, 5.9)  # r_in, r_out, z0, z1 (Lv2InBe, L1 backward / L2 forward)
OUTER_BE = (1.16, 1.20, -2.9, 5.1)  # Lv2OutBe
TA_FORWARD_Z = 13.65  # Lv1TaFwd D1
TA_BACKWARD_Z = -9.15  # Lv1TaBwd D1
VACUUM_R = 1.0
WALL = 0.2
CROSSING_HALF_ANGLE = 0.0415  # rad: HER at +41.5 mrad, LER at π − 41.5 mrad in the x–z plane
PIPE_END_Z = (-100.0, 165.5)  # CDC volume ends


def pieces() -> list[tuple[str, Mesh]]:
    """(name, mesh) of each drawn pipe, in element order."""
    be = tubes(
        np.array([INNER_BE[0], OUTER_BE[0]]),
        np.array([INNER_BE[1], OUTER_BE[1]]),
        np.array([INNER_BE[2], OUTER_BE[2]]),
        np.array([INNER_BE[3], OUTER_BE[3]]),
        segments=48,
    )
    link = tubes(
        VACUUM_R,
        OUTER_BE[1],
        np.array([TA_BACKWARD_Z, INNER_BE[3]]),
        np.array([INNER_BE[2], TA_FORWARD_Z]),
        48,
    )
    out: list[tuple[str, Mesh]] = [("Be inner", be), ("Ta links", link)]
    cos = np.cos(CROSSING_HALF_ANGLE)
    # each beam line is straight through the IP: HER at x = +0.0415 z, LER at x = −0.0415 z
    for name, angle in (("HER", CROSSING_HALF_ANGLE), ("LER", -CROSSING_HALF_ANGLE)):
        pipe = tubes(
            VACUUM_R,
            VACUUM_R + WALL,
            np.array([PIPE_END_Z[0] / cos, TA_FORWARD_Z / cos]),
            np.array([TA_BACKWARD_Z / cos, PIPE_END_Z[1] / cos]),
            segments=32,
        )
        out.append((name, tilted(pipe, angle)))
    return out


def beampipe_mesh() -> Mesh:
    """All beam-pipe pieces as one mesh: elements 0–1 Be walls, 2–3 links, 4–5 HER, 6–7 LER."""
    return Mesh.merge([m for _, m in pieces()])
