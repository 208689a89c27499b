"""Regular binning shared by every backend, so all of them put each value in the same bin.

An :class:`Axis` is the description of a boost-histogram regular axis (``Axis.boost()`` is that
axis, used wherever a boost-histogram, a ``hist.Hist`` or a dask-histogram is built), plus the
one thing boost-histogram cannot give a kernel: its bin rule as whole-array operations that numpy,
numba and cupy evaluate alike. The rule is boost-histogram's own: ``z = (x - lo) / (hi - lo)``, in
range when ``0 <= z < 1`` (NaN is out of range), bin ``int(z * bins)``, in float64, so every
backend's counts equal boost-histogram's bin by bin (tests/monitoring/test_axes.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import hist


@dataclass(frozen=True)
class Axis:
    """A regular axis: ``bins`` equal bins over the half-open interval [lo, hi)."""

    name: str
    bins: int
    lo: float
    hi: float
    label: str = ""

    def __post_init__(self) -> None:
        if self.bins < 1 or not self.hi > self.lo:
            raise ValueError(f"axis {self.name!r}: need bins >= 1 and hi > lo, got {self}")

    def boost(self) -> hist.axis.Regular:
        """This axis as boost-histogram's (``hist``'s subclass, carrying the name and label)."""
        import hist  # deferred: ~0.2 s, and the kernels never need it

        return hist.axis.Regular(self.bins, self.lo, self.hi, name=self.name, label=self.label or self.name)

    @property
    def edges(self) -> NDArray[np.float64]:
        return np.linspace(self.lo, self.hi, self.bins + 1)

    @property
    def centers(self) -> NDArray[np.float64]:
        e = self.edges
        return 0.5 * (e[1:] + e[:-1])

    @property
    def width(self) -> float:
        return (self.hi - self.lo) / self.bins

    def index(self, x: Any, xp: Any = np) -> Any:
        """Bin of every value, -1 where out of range (NaN included)."""
        z = (x - self.lo) / (self.hi - self.lo)
        inside = (z >= 0.0) & (z < 1.0)
        return xp.where(inside, z * self.bins, -1.0).astype(xp.int64)


def flat_index(axes: tuple[Axis, ...], values: tuple[Any, ...], xp: Any = np) -> Any:
    """Row-major flat bin of every entry over all axes, -1 where any coordinate is out of range."""
    flat = None
    for axis, x in zip(axes, values, strict=True):
        i = axis.index(x, xp)
        flat = i if flat is None else xp.where((flat < 0) | (i < 0), -1, flat * axis.bins + i)
    assert flat is not None
    return flat


def shape(axes: tuple[Axis, ...]) -> tuple[int, ...]:
    return tuple(a.bins for a in axes)


def count(axes: tuple[Axis, ...], values: tuple[Any, ...], xp: Any = np) -> Any:
    """Histogram counts (int64, shape of the axes) of the given coordinates."""
    flat = flat_index(axes, values, xp)
    n = int(np.prod(shape(axes)))
    # out-of-range entries go to an extra slot that is dropped
    counts = xp.bincount(xp.where(flat < 0, n, flat), minlength=n + 1)[:n]
    return counts.astype(xp.int64).reshape(shape(axes))
