"""Histogram backends behind one interface: numpy (chunked), numba (fused), cupy (GPU), dask.

``backend.histogram(observable, inputs, axes)`` turns flat per-event arrays into int64 counts
with the shape of the axes; every backend gives the same counts bin by bin (shared kernels in
``observables`` and the bin rule of ``axes``). ``get_backend(name)`` builds one by name and says
clearly why one cannot be had (``BackendUnavailable``); ``default_backend()`` prefers the GPU
when cupy is present, then numba, then numpy. Backends are found by name in ``BACKEND_TABLE``
(``"module:Class"``, imported when asked for); the dask backend lives in ``dask_backend``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boost_histogram as bh
import numpy as np
from numpy.typing import ArrayLike, NDArray

from monitoring.histograms import numpy_kernels, screened
from monitoring.histograms.axes import Axis, count, shape
from monitoring.histograms.observables import BEAM, MUON_MASS, OBSERVABLES, Beam, Observable, resolve

Counts = NDArray[np.int64]


class BackendUnavailable(RuntimeError):
    """A backend whose library is missing or cannot run here."""


def _check(obs: Observable, inputs: Sequence[Any], axes: tuple[Axis, ...]) -> int:
    if len(axes) != obs.dims:
        raise ValueError(f"{obs.name} fills {obs.dims}-D histograms, got {len(axes)} axes")
    if len(inputs) != len(obs.inputs):
        raise ValueError(f"{obs.name}: expected inputs {obs.inputs}, got {len(inputs)} arrays")
    lengths = {len(x) for x in inputs}
    if len(lengths) > 1:
        raise ValueError(f"{obs.name}: input arrays differ in length {sorted(lengths)}")
    return lengths.pop() if lengths else 0


class Backend(ABC):
    """Fills histograms of an observable from flat per-event input arrays."""

    name: str = ""

    @abstractmethod
    def histogram(
        self,
        observable: str | Observable,
        inputs: Sequence[ArrayLike],
        axes: tuple[Axis, ...],
        beam: Beam = BEAM,
    ) -> Counts:
        """Counts (int64, shape of ``axes``) of the observable over all entries."""

    def close(self) -> None:  # noqa: B027 (most backends hold nothing)
        """Release what the backend holds (clusters, device memory)."""


class NumpyBackend(Backend):
    """numpy kernels on chunks of events, filled with boost-histogram, whose regular-axis bin
    rule is the one of ``axes``.

    The standard observables run the kernels of ``numpy_kernels``: every operation writes into
    buffers allocated once per call and reused for every chunk, on stacked rows, so a chunk
    costs ~15 ufunc calls and no allocation. 1D recoil masses of float32 momenta are computed
    in float32 first (``screened``): an error bound proves the float64 bin of all but the ~1 % of
    events near a bin edge, which are computed again in float64, gathered across chunks so the
    fixed cost of a float64 pass and a fill is paid once per ``chunk_size`` of them. The default
    chunk (2^16 events) was the fastest in the sweep of ``benchmarks/recoil_throughput.py``:
    smaller chunks pay the fixed cost of the calls and of one fill per chunk (~0.6 us and ~3 us),
    larger ones gain nothing per value.
    Other observables run their shared kernel chunk by chunk."""

    name = "numpy"

    def __init__(self, chunk_size: int = 65_536, screen: bool = True) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.chunk_size = chunk_size
        self.screen = screen  # float32 recoil masses screened by their error bound (``screened``)

    def histogram(
        self,
        observable: str | Observable,
        inputs: Sequence[ArrayLike],
        axes: tuple[Axis, ...],
        beam: Beam = BEAM,
    ) -> Counts:
        obs = resolve(observable)
        arrays = [np.asarray(x) for x in inputs]
        n = _check(obs, arrays, axes)
        hist = boost_histogram(axes)
        standard = OBSERVABLES.get(obs.name) is obs
        fast = standard and obs.name in numpy_kernels.KERNELS
        scratch = numpy_kernels.Scratch(min(n, self.chunk_size)) if fast and n else None
        screening = self.screen and standard and screened.applies(obs.name, arrays, axes) and n > 0
        rows = screened.Scratch(min(n, self.chunk_size)) if screening else None
        proven = np.zeros(shape(axes), np.int64)  # counts the float32 screen settled
        near: list[NDArray[np.intp]] = []  # events near a bin edge, computed in float64 together
        pending = 0
        for start in range(0, n, self.chunk_size):
            chunk = [x[start : start + self.chunk_size] for x in arrays]
            if rows is not None and scratch is not None:
                counts, near_edge = screened.chunk_counts(obs.name, chunk, beam, axes[0], rows)
                proven += counts
                near.append(near_edge + start)
                pending += len(near_edge)
                if len(near_edge) > self.chunk_size // 8:
                    rows = None  # bins too fine for the bound: float64 alone is faster
                if pending >= self.chunk_size or start + self.chunk_size >= n:
                    self._fill_near_edge(obs.name, arrays, np.concatenate(near), beam, hist, scratch)
                    near, pending = [], 0
                continue
            if near and scratch is not None:  # screen given up: the events it left, then float64 alone
                self._fill_near_edge(obs.name, arrays, np.concatenate(near), beam, hist, scratch)
                near, pending = [], 0
            if scratch is not None:
                hist.fill(*numpy_kernels.chunk(obs.name, chunk, beam, scratch))
            else:
                hist.fill(*obs(*(c.astype(np.float64) for c in chunk), beam=beam))
        return hist.values().astype(np.int64) + proven

    def _fill_near_edge(
        self,
        name: str,
        arrays: list[np.ndarray],
        index: NDArray[np.intp],
        beam: Beam,
        hist: bh.Histogram,
        scratch: numpy_kernels.Scratch,
    ) -> None:
        """The events ``index`` left unproven by the screen, computed in float64 and filled: the
        fixed cost of a float64 pass and a fill is paid once per ``chunk_size`` of them, not per
        chunk."""
        for start in range(0, len(index), self.chunk_size):
            part = index[start : start + self.chunk_size]
            hist.fill(*numpy_kernels.chunk(name, [x[part] for x in arrays], beam, scratch))


def boost_histogram(axes: tuple[Axis, ...]) -> bh.Histogram:
    """An empty boost-histogram with integer storage over ``axes``."""
    return bh.Histogram(*(a.boost() for a in axes), storage=bh.storage.Int64())


class NumbaBackend(Backend):
    """numba kernels computing the observable and filling in one parallel pass.

    1D recoil masses of float32 momenta are screened in float32 inside the fused kernel, as in
    the numpy backend (``screened``): the few events near a bin edge are computed again in
    float64, so the counts stay the float64 kernel's."""

    name = "numba"

    def __init__(self, threads: int | None = None, screen: bool = True) -> None:
        from monitoring.histograms import numba_kernels

        self._kernels = numba_kernels
        self.threads = threads
        self.screen = screen  # float32 screening of 1D recoil masses (``screened``)

    def histogram(
        self,
        observable: str | Observable,
        inputs: Sequence[ArrayLike],
        axes: tuple[Axis, ...],
        beam: Beam = BEAM,
    ) -> Counts:
        import numba

        obs = resolve(observable)
        arrays = [_contiguous_float(x) for x in inputs]
        _check(obs, arrays, axes)
        previous = numba.get_num_threads()
        if self.threads:
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        try:
            flat = self._run(obs, arrays, axes, beam, numba.get_num_threads())
        finally:
            numba.set_num_threads(previous)
        return flat.reshape(shape(axes))

    def _run(
        self, obs: Observable, arrays: list[np.ndarray], axes: tuple[Axis, ...], beam: Beam, nt: int
    ) -> Counts:
        b = np.array([beam.energy, beam.px, beam.py, beam.pz])
        k = self._kernels
        if obs.name == "photon_cms_energy":
            (a,) = axes
            return k.fill_photon(*arrays, b, beam.sqrt_s, a.lo, a.hi, a.bins, nt)
        kinds = {
            "recoil_mass2": 0,
            "recoil_mass": 1,
            "pair_mass:recoil_mass": 2,
            "recoil_mass2:recoil_theta": 3,
        }
        if obs.name not in kinds:
            raise ValueError(f"numba backend has no fused kernel for {obs.name!r}")
        x = axes[0]
        m2 = MUON_MASS * MUON_MASS
        if self.screen and screened.applies(obs.name, arrays, axes):
            c = screened.constants(x, beam)
            return k.fill_screened(*arrays, c, b, m2, kinds[obs.name], x.lo, x.hi, x.bins, nt)
        y = axes[1] if len(axes) > 1 else Axis("none", 1, 0.0, 1.0)
        return k.fill_pair(*arrays, b, m2, kinds[obs.name], x.lo, x.hi, x.bins, y.lo, y.hi, y.bins, nt)


def _contiguous_float(x: ArrayLike) -> np.ndarray:
    a = np.ascontiguousarray(x)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


class CupyBackend(Backend):
    """The numpy kernels run on a GPU through cupy, in large chunks; counts come back as numpy."""

    name = "cupy"

    def __init__(self, chunk_size: int = 10_000_000, xp: Any = None) -> None:
        self.xp = xp if xp is not None else _import_cupy()
        self.chunk_size = chunk_size
        self._to_host = getattr(self.xp, "asnumpy", np.asarray)

    def histogram(
        self,
        observable: str | Observable,
        inputs: Sequence[ArrayLike],
        axes: tuple[Axis, ...],
        beam: Beam = BEAM,
    ) -> Counts:
        xp = self.xp
        obs = resolve(observable)
        arrays = [np.asarray(x) for x in inputs]
        n = _check(obs, arrays, axes)
        total = np.zeros(shape(axes), np.int64)
        for start in range(0, n, self.chunk_size):
            chunk = [xp.asarray(x[start : start + self.chunk_size], dtype=xp.float64) for x in arrays]
            total += self._to_host(count(axes, obs(*chunk, beam=beam, xp=xp), xp=xp))
        return total


def _import_cupy() -> Any:
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        raise BackendUnavailable(f"cupy not available: {exc}") from exc
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise BackendUnavailable("cupy not available: no CUDA device found")
    except cupy.cuda.runtime.CUDARuntimeError as exc:
        raise BackendUnavailable(f"cupy not available: {exc}") from exc
    return cupy


@dataclass(frozen=True)
class BackendEntry:
    """A backend in the table: its class (``"module:Class"``, imported when first asked for) and
    the libraries it needs, named in ``BackendUnavailable`` when one is missing."""

    factory: str
    requires: tuple[str, ...] = ()
    probe: bool = True  # built once by available_backends() (False: starting it costs too much)

    def check(self) -> None:
        """Import the libraries it needs; ``BackendUnavailable`` names the first one missing."""
        for library in self.requires:
            try:
                importlib.import_module(library)
            except ImportError as exc:
                raise BackendUnavailable(f"{library} not available: {exc}") from exc

    def build(self, **options: Any) -> Backend:
        self.check()
        module, name = self.factory.split(":")
        backend: Backend = getattr(importlib.import_module(module), name)(**options)
        return backend


# backends by name; the dask backend (``dask_backend``) builds on this module and is found here
# by name only, so neither imports the other in a cycle
BACKEND_TABLE: dict[str, BackendEntry] = {
    "numpy": BackendEntry("monitoring.histograms.backends:NumpyBackend"),
    "numba": BackendEntry("monitoring.histograms.backends:NumbaBackend", ("numba",)),
    "cupy": BackendEntry("monitoring.histograms.backends:CupyBackend"),
    "dask": BackendEntry(
        "monitoring.histograms.dask_backend:DaskBackend",
        ("dask", "dask_histogram", "distributed"),
        probe=False,
    ),
}
BACKENDS = tuple(BACKEND_TABLE)


def get_backend(name: str, **options: Any) -> Backend:
    """A backend by name; ``BackendUnavailable`` says why one cannot run here."""
    entry = BACKEND_TABLE.get(name)
    if entry is None:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_TABLE)}")
    return entry.build(**options)


def available_backends() -> dict[str, str]:
    """Every backend with "ok" or the reason it cannot run here."""
    status = {}
    for name, entry in BACKEND_TABLE.items():
        try:
            entry.check()
            if entry.probe:
                get_backend(name).close()
            status[name] = "ok"
        except (BackendUnavailable, ImportError) as exc:
            status[name] = str(exc)
    return status


def default_backend() -> Backend:
    """The fastest backend that runs here: cupy on a GPU, else numba, else numpy."""
    for name in ("cupy", "numba"):
        try:
            return get_backend(name)
        except BackendUnavailable:
            continue
    return NumpyBackend()
