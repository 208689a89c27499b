"""The screened float32 recoil path: counts equal to the float64 kernel's bin by bin, edges included."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.histograms import samples, screened
from monitoring.histograms.axes import Axis
from monitoring.histograms.backends import NumbaBackend, NumpyBackend
from monitoring.histograms.observables import BEAM, OBSERVABLES, Beam


def _pairs(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    p1, p2 = samples.muon_pair_momenta(rng.uniform(0.0, 9.8, n), n, rng)
    p = np.concatenate([p1, p2], axis=1) * rng.normal(1.0, 0.03, (n, 6))
    return [np.ascontiguousarray(c, dtype=np.float32) for c in p.T]


def _both(
    name: str, inputs: list[np.ndarray], axis: Axis, beam: Beam = BEAM
) -> tuple[np.ndarray, np.ndarray]:
    """Screened counts (numpy, and numba's fused screen, which must agree) and float64 counts."""
    fast = NumpyBackend(chunk_size=5_000).histogram(name, inputs, (axis,), beam)
    fused = NumbaBackend(threads=2).histogram(name, inputs, (axis,), beam)
    exact = NumpyBackend(chunk_size=5_000, screen=False).histogram(name, inputs, (axis,), beam)
    np.testing.assert_array_equal(fused, exact, err_msg="numba fused screen")
    return fast, exact


@pytest.mark.parametrize("name", screened.KERNELS)
@pytest.mark.parametrize(
    "axis",
    [
        Axis("a", 200, -10.0, 110.0),
        Axis("b", 60, -1.0, 11.0),
        Axis("c", 7, 3.3, 4.1),
        Axis("d", 4000, -2.0, 2.0),
    ],
    ids=["wide", "recoil-mass", "narrow-offset", "fine"],
)
@pytest.mark.parametrize("beam", [BEAM, Beam(11.0, 0.45, 0.12, 3.0)], ids=["superkekb", "tilted"])
def test_screened_counts_equal_the_float64_counts(name: str, axis: Axis, beam: Beam) -> None:
    inputs = _pairs(40_000, seed=7)
    assert screened.applies(name, inputs, (axis,))
    fast, exact = _both(name, inputs, axis, beam)
    np.testing.assert_array_equal(fast, exact)


@pytest.mark.parametrize("name", screened.KERNELS)
def test_events_exactly_on_bin_edges_land_where_float64_puts_them(name: str) -> None:
    """Axes whose edges are the float64 values of the events themselves: the hardest case."""
    inputs = _pairs(3_000, seed=11)
    (values,) = OBSERVABLES[name](*(c.astype(np.float64) for c in inputs))
    rng = np.random.default_rng(3)
    for a, b in rng.choice(len(values), size=(40, 2), replace=False):
        lo, hi = sorted((float(values[a]), float(values[b])))
        if hi - lo < 1e-6:
            continue
        for bins in (1, 2, 3, 1000):
            axis = Axis("edge", bins, lo, hi)
            fast, exact = _both(name, inputs, axis)
            np.testing.assert_array_equal(fast, exact, err_msg=f"{axis}")
            assert exact.sum() >= 1  # the event at lo is inside


def test_nan_infinite_and_absurd_momenta_count_as_float64_counts_them() -> None:
    inputs = _pairs(1_000, seed=5)
    for column, bad in zip(inputs, (np.nan, np.inf, -np.inf, 3e19, 1e30, 1e38), strict=True):
        column[::97] = bad
    axis = Axis("m2", 120, -1e3, 1e3)
    with np.errstate(all="ignore"):
        fast, exact = _both("recoil_mass2", inputs, axis)
    np.testing.assert_array_equal(fast, exact)


def test_only_float32_momenta_of_1d_recoil_histograms_are_screened() -> None:
    inputs = _pairs(10, seed=1)
    axis = (Axis("m", 10, 0.0, 10.0),)
    assert screened.applies("recoil_mass", inputs, axis)
    assert not screened.applies("recoil_mass", [c.astype(np.float64) for c in inputs], axis)
    assert not screened.applies("pair_mass:recoil_mass", inputs, (*axis, *axis))
    assert not screened.applies("photon_cms_energy", inputs[:3], axis)


def test_few_events_need_float64_again_on_a_typical_axis() -> None:
    inputs = _pairs(20_000, seed=2)
    rows = screened.Scratch(20_000).rows(20_000)
    lower, upper = screened.recoil_interval("recoil_mass2", inputs, BEAM, rows)
    half_width = float(np.median(upper - lower)) / 2
    assert 1e-4 < half_width < 1e-2  # 64 e S^2 with S ~ 20 GeV
    _, inside = screened.screen(lower, upper, Axis("m2", 200, -10.0, 110.0), rows[0])
    assert inside.mean() > 0.97


@pytest.mark.parametrize("beam", [BEAM, Beam(11.0, 0.45, 0.12, 3.0)], ids=["superkekb", "tilted"])
def test_float32_error_stays_inside_the_derived_bound(beam: Beam) -> None:
    inputs = _pairs(200_000, seed=9)
    rows = screened.Scratch(200_000).rows(200_000)
    lower, upper = screened.recoil_interval("recoil_mass2", inputs, beam, rows)
    centre, half = (lower + upper.astype(np.float64)) / 2, (upper - lower.astype(np.float64)) / 2
    (exact,) = OBSERVABLES["recoil_mass2"](*(c.astype(np.float64) for c in inputs), beam=beam)
    in_e_s2 = np.abs(centre - exact) / half * screened.BOUND  # error in units of e S^2
    assert in_e_s2.max() < 24.0  # the module's derivation; the screen uses 64
