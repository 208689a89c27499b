"""The kernels' bin rule is boost-histogram's: Axis.index and axes.count against bh itself."""

from __future__ import annotations

import boost_histogram as bh
import numpy as np
import pytest

from monitoring.histograms.axes import Axis, count
from monitoring.histograms.definitions import STANDARD


def awkward_values(axis: Axis, rng: np.random.Generator) -> np.ndarray:
    """Values on, just beside and far from every edge, plus NaN and infinities."""
    edges = axis.edges
    near = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    spread = rng.uniform(axis.lo - axis.width * 3, axis.hi + axis.width * 3, 20_000)
    special = np.array([np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, -0.0])
    return np.concatenate([near, spread, special])


@pytest.mark.parametrize("axis", sorted({a for d in STANDARD for a in d.axes}, key=str))
def test_index_is_boost_histograms_bin(axis: Axis) -> None:
    x = awkward_values(axis, np.random.default_rng(7))
    ours = axis.index(x)
    theirs = np.asarray(axis.boost().index(x))  # type: ignore[arg-type]  # -1 under, bins over and NaN
    theirs = np.where((theirs < 0) | (theirs >= axis.bins), -1, theirs)
    np.testing.assert_array_equal(ours, theirs)


def test_counts_equal_a_boost_histogram_fill() -> None:
    rng = np.random.default_rng(11)
    a, b = Axis("a", 37, -0.2, 10.4), Axis("b", 9, 0.0, 180.0)
    x, y = awkward_values(a, rng), rng.uniform(-10.0, 190.0, len(awkward_values(a, rng)))
    reference = bh.Histogram(a.boost(), b.boost(), storage=bh.storage.Int64())
    reference.fill(x, y)
    np.testing.assert_array_equal(count((a, b), (x, y)), reference.values())


def test_boost_axis_carries_name_label_and_edges() -> None:
    axis = Axis("recoil_mass", 212, -0.2, 10.4, "M_recoil [GeV]")
    boost = axis.boost()
    assert (boost.name, boost.label) == ("recoil_mass", "M_recoil [GeV]")
    np.testing.assert_allclose(boost.edges, axis.edges, rtol=0, atol=1e-12)
