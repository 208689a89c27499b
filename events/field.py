"""The solenoid field where basf2 converts curvature into momentum: Bz along the axis at the perigee.

No mdst stores the field, and the project has no copy of basf2's field map. What basf2 used is
visible in its own printout of the v06 test file (``mdst/tests/mdst_compatibility-v06-00-00.out``,
belle2/basf2): for each of its 87 track fits, Bz = pT |omega| / (c 1e-4) at the fit's perigee. Those
values, averaged where perigees coincide, are :data:`PROFILE` (perigees within 2.6 cm of the axis).
The field is 1.4528 T at the interaction point (3 % below the nominal 1.5 T of
``MagneticFieldConstant.xml``), falls by 0.8 % at z = -17.5 and +22 cm and to 1.20 T at z = 69 cm,
where the final-focus compensation solenoids take over. Between the points :func:`bz_at` is
linear; beyond them it keeps the last value (no fit of the printout reaches further).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# (z of the perigee [cm], Bz [T]) derived from basf2's printed pT and omega (see the docstring)
PROFILE: tuple[tuple[float, float], ...] = (
    (-17.513, 1.44067),
    (-1.160, 1.45259),
    (-0.595, 1.45268),
    (-0.460, 1.45277),
    (0.000, 1.45279),
    (0.324, 1.45284),
    (1.092, 1.45295),
    (1.600, 1.45308),
    (2.315, 1.45303),
    (22.157, 1.44133),
    (68.700, 1.20142),
)
_Z = np.array([z for z, _ in PROFILE])
_BZ = np.array([b for _, b in PROFILE])
NOMINAL_BZ = 1.5  # T, basf2's constant-field configuration (MagneticFieldConstant.xml)


def bz_at(z: ArrayLike) -> NDArray[np.float64]:
    """Bz [T] at perigees of the given z [cm] (on the axis: every profile point has r < 2.6 cm)."""
    return np.interp(np.asarray(z, dtype=np.float64), _Z, _BZ)


IP_BZ = float(bz_at(0.0))  # the field at the interaction point, what basf2's momenta of IP tracks use


def track_bz(event_bz: ArrayLike, z0: ArrayLike) -> NDArray[np.float64]:
    """Bz [T] each track's curvature converts with, from its event's field and its perigee z0 [cm].

    basf2 converts with its field map at the perigee (x0, y0, z0) of the helix. An event whose field is
    the map's value at the IP (:data:`IP_BZ`, what the mdst reader writes into ``header.bz``) takes the
    map at each track's perigee (on the axis: the profile knows no radius, and basf2's printed perigees
    all lie within 2.6 cm of it); any other field (the generator's 1.5 T, a ``bz`` chosen by hand) is a
    constant field and is used as it is. So a track whose perigee sits at z = 69 cm has 1.20 T, not 1.45 T.
    """
    bz = np.asarray(event_bz, dtype=np.float64)
    is_map = np.abs(bz - np.float32(IP_BZ)) < 1e-6  # header.bz is float32
    if not is_map.any():  # constant fields only (generated events): no profile to look up
        return np.broadcast_to(bz, np.broadcast_shapes(bz.shape, np.shape(z0))).astype(np.float64)
    return np.where(is_map, bz_at(z0), bz)
