"""Extrapolate track helices to a cylinder of given radius or to a plane of given z.

Whole-array functions over all tracks at once, built on ``events.helix``. ``tracks`` is anything
indexable by the helix column names (an ``events.model.Collection`` of tracks, a dict of arrays).
Only forward extrapolation (arc length s >= 0 from the perigee) counts; a track that never gets
there has ``reached`` False and NaN position and direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from events import helix

F8 = NDArray[np.float64]
HELIX = ("d0", "phi0", "omega", "z0", "tan_lambda")


class HelixColumns(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class Extrapolation:
    position: F8  # (N, 3) [cm]
    direction: F8  # (N, 3) unit vectors
    s: F8  # (N,) transverse arc length from the perigee [cm]
    reached: NDArray[np.bool_]  # (N,)


def helix_parameters(tracks: HelixColumns) -> tuple[F8, F8, F8, F8, F8]:
    d0, phi0, omega, z0, tl = (np.asarray(tracks[k], dtype=np.float64) for k in HELIX)
    return d0, phi0, omega, z0, tl


def at_arc_length(tracks: HelixColumns, s: ArrayLike) -> Extrapolation:
    """Position and direction at transverse arc lengths ``s`` (NaN where s is NaN or negative)."""
    d0, phi0, omega, z0, tl = helix_parameters(tracks)
    s = np.asarray(s, dtype=np.float64)
    reached = np.isfinite(s) & (s >= 0)
    s = np.where(reached, s, np.nan)
    return Extrapolation(
        helix.positions(d0, phi0, omega, z0, tl, s), helix.direction(phi0, omega, tl, s), s, reached
    )


def to_radius(tracks: HelixColumns, radius: ArrayLike) -> Extrapolation:
    """Where each track first reaches the transverse ``radius`` (per track or one for all)."""
    d0, _, omega, _, _ = helix_parameters(tracks)
    return at_arc_length(tracks, helix.arc_length_to_radius(d0, omega, radius))


def to_z(tracks: HelixColumns, z: ArrayLike) -> Extrapolation:
    """Where each track crosses the plane at ``z`` moving forward."""
    _, _, _, z0, tl = helix_parameters(tracks)
    return at_arc_length(tracks, helix.arc_length_to_z(z0, tl, z))


def to_cylinder(tracks: HelixColumns, radius: float, z_min: float, z_max: float) -> Extrapolation:
    """Where each track leaves the closed cylinder (radius, z_min..z_max): barrel or endcap face.

    Curlers that neither reach the radius nor an endcap stay unreached.
    """
    d0, _, omega, z0, tl = helix_parameters(tracks)
    s_r = helix.arc_length_to_radius(d0, omega, radius)
    s_z = helix.arc_length_to_z(z0, tl, np.where(tl >= 0, z_max, z_min))
    s_z = np.where(s_z >= 0, s_z, np.nan)
    return at_arc_length(tracks, np.fmin(s_r, s_z))
