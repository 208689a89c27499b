"""The fused numba recoil kernel (float32 screen, blocks, steps, lanes) against the float64 counts
on the hardest inputs: values exactly on a bin edge and one ulp either side, NaN, infinities,
float32 overflow and underflow, unphysical momenta, and lengths that end inside a block or step."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.histograms import numba_kernels, samples, screened
from monitoring.histograms.axes import Axis
from monitoring.histograms.backends import NumbaBackend, NumpyBackend
from monitoring.histograms.observables import OBSERVABLES

# one full block and a partial one per thread, the last step partial
N_EVENTS = 2 * numba_kernels.BLOCK + 3 * numba_kernels.STEP + 5


def _pairs(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    p1, p2 = samples.muon_pair_momenta(rng.uniform(0.0, 9.8, n), n, rng)
    p = np.concatenate([p1, p2], axis=1) * rng.normal(1.0, 0.03, (n, 6))
    return [np.ascontiguousarray(c, dtype=np.float32) for c in p.T]


def _check(name: str, inputs: list[np.ndarray], axis: Axis) -> np.ndarray:
    """The screened fused counts on 1 and 2 threads and the float64 fused counts all equal the
    float64 numpy (boost-histogram) counts; returns those."""
    exact = NumpyBackend(screen=False).histogram(name, inputs, (axis,))
    for backend in (NumbaBackend(threads=1), NumbaBackend(threads=2), NumbaBackend(threads=1, screen=False)):
        counts = backend.histogram(name, inputs, (axis,))
        np.testing.assert_array_equal(counts, exact, err_msg=f"{axis}, {backend.threads} threads")
    return exact


def _float64_values(name: str, inputs: list[np.ndarray]) -> np.ndarray:
    with np.errstate(all="ignore"):
        (values,) = OBSERVABLES[name](*(c.astype(np.float64) for c in inputs))
    return np.asarray(values)


@pytest.mark.parametrize("name", screened.KERNELS)
def test_values_on_a_bin_edge_and_one_ulp_either_side(name: str) -> None:
    inputs = _pairs(N_EVENTS, seed=21)
    values = _float64_values(name, inputs)
    rng = np.random.default_rng(4)
    for i in rng.choice(len(values), size=6, replace=False):
        v = float(values[i])
        for edge in (np.nextafter(v, -np.inf), v, np.nextafter(v, np.inf)):
            # the event's value as the lower edge, the upper edge, and an inner edge of the axis
            width = 0.25
            for axis in (
                Axis("lo", 4, edge, edge + 4 * width),
                Axis("hi", 4, edge - 4 * width, edge),
                Axis("mid", 2, edge - width, edge + width),
            ):
                inside = _check(name, inputs, axis)
                if axis.name == "lo":
                    assert inside.sum() >= (1 if edge <= v else 0)


def test_nan_infinities_overflow_underflow_and_unphysical_momenta() -> None:
    inputs = _pairs(N_EVENTS, seed=5)
    tiny = np.float32(1e-45)  # the smallest float32 subnormal
    for column, bad in zip(inputs, (np.nan, np.inf, -np.inf, 3e19, 1e38, tiny), strict=True):
        column[::97] = bad
    inputs[0][5::89] = 0.0  # both muons at rest in x
    inputs[1][7::83] = 2e19  # squares overflow float32 but not float64
    inputs[2][9::79] = -1e-40  # subnormal
    for c in inputs:
        c[2976:3008] = 0.0  # a whole step of pairs at rest: the recoil is the beam
    with np.errstate(all="ignore"):
        for name in screened.KERNELS:
            for axis in (Axis("wide", 120, -1e3, 1e3), Axis("typical", 200, -10.0, 110.0)):
                _check(name, inputs, axis)


@pytest.mark.parametrize("name", screened.KERNELS)
def test_bins_finer_than_the_bound_fall_back_to_float64(name: str) -> None:
    """More than an eighth of a block unproven: the rest of the block runs in float64 alone."""
    inputs = _pairs(N_EVENTS, seed=8)
    counts = _check(name, inputs, Axis("fine", 200_000, -5.0, 105.0))
    assert counts.sum() > 0


@pytest.mark.parametrize("n", [0, 1, numba_kernels.STEP - 1, numba_kernels.STEP, numba_kernels.BLOCK + 1])
def test_lengths_ending_inside_a_step_or_block(n: int) -> None:
    inputs = _pairs(max(n, 1), seed=3)
    inputs = [c[:n] for c in inputs]
    counts = _check("recoil_mass2", inputs, Axis("m2", 200, -10.0, 110.0))
    assert counts.sum() <= n


@pytest.mark.parametrize("name", screened.KERNELS)
def test_unproven_events_in_the_last_events_of_a_block_and_of_the_range(name: str) -> None:
    """Bin edges on the values of the last event of a block's whole steps, of the first event
    after them, and of the last event of the range (fewer than a step, screened one by one)."""
    n = numba_kernels.BLOCK + numba_kernels.STEP + 7
    inputs = _pairs(n, seed=13)
    values = _float64_values(name, inputs)
    for i in (numba_kernels.BLOCK - 1, numba_kernels.BLOCK + numba_kernels.STEP, n - 1):
        v = float(values[i])
        for axis in (
            Axis("lo", 4, v, v + 1.0),
            Axis("hi", 4, v - 1.0, v),
            Axis("mid", 2, v - 0.25, v + 0.25),
        ):
            _check(name, inputs, axis)
