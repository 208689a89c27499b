"""The polar angle, the one copy every room uses (tracks, clusters, crystal centres, recoils)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def polar_angle(v: ArrayLike) -> NDArray[np.float64]:
    """Polar angle θ [rad] to +z of vectors of shape (..., 3), in [0, π]; 0 for the zero vector.

    ``arctan2(hypot(x, y), z)`` is accurate near the poles and at θ = π/2, where ``arccos(z / r)``
    loses digits, and needs no norm.
    """
    a = np.asarray(v, dtype=np.float64)
    return np.arctan2(np.hypot(a[..., 0], a[..., 1]), a[..., 2])
