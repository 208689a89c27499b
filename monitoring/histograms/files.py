"""Fill histograms over event files (our HDF5 and ROOT files, Belle II mdst) with any backend, and over
a data set with every event of every bin kept (``fill_dataset``: the GUI's bin -> events -> display)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from events.dataset import DataSet
from events.io import open_events
from events.model import EVENT_ID
from events.source import EventFileError, EventSource
from monitoring.histograms.axes import flat_index, shape
from monitoring.histograms.backends import Backend, Counts
from monitoring.histograms.definitions import HistogramDefinition

Progress = Callable[[int, int, str], None]  # done, total, unit
FileDone = Callable[[EventSource], None]  # a file read to its end: its issues and missing collections


def needed_collections(definition: HistogramDefinition) -> set[str]:
    """The event collections a histogram's selection reads (without them it cannot be filled)."""
    from monitoring.histograms.dask_backend import COLUMNS

    return set(getattr(definition.selection, "columns", COLUMNS)) - {"header"}


def unfillable(definition: HistogramDefinition, missing: Sequence[set[str]]) -> set[str]:
    """The collections that kept ``definition`` from being filled from any file; empty if one had them.

    ``missing`` holds, per file read, the collections its reader could not provide.
    """
    need = needed_collections(definition)
    if not missing or any(not (need & m) for m in missing):
        return set()
    return set().union(*(need & m for m in missing))


def count_events(paths: Sequence[str | Path]) -> int:
    total = 0
    for path in paths:
        with open_events(path) as source:
            total += len(source)
    return total


def fill_files(
    backend: Backend,
    paths: Sequence[str | Path],
    definitions: Sequence[HistogramDefinition],
    chunk_size: int = 100_000,
    progress: Progress | None = None,
    file_done: FileDone | None = None,
) -> dict[str, Counts]:
    """Counts of every definition over all events of ``paths``.

    numpy/numba/cupy read each file in batches of ``chunk_size`` events, select, and hand the
    flat arrays to the backend; the dask backend spreads this project's ROOT ntuples over its
    workers with ``uproot.dask``. Unreadable files raise ``EventFileError`` naming the file.
    ``file_done(source)`` is called after each file, for what its reader recorded (``issues``,
    ``missing`` collections).
    """
    from monitoring.histograms.dask_backend import DaskBackend

    if isinstance(backend, DaskBackend):
        return _fill_dask(backend, paths, definitions, progress, file_done)
    totals = {d.name: np.zeros(tuple(a.bins for a in d.axes), np.int64) for d in definitions}
    total = count_events(paths)
    done = 0
    for path in paths:
        with open_events(path) as source:
            for batch in source.chunks(chunk_size):
                for d in definitions:
                    selected = d.select(batch)
                    totals[d.name] += backend.histogram(d.kernel, selected.inputs, d.axes)
                done += len(batch)
                if progress:
                    progress(done, total, "events")
            if file_done:
                file_done(source)
    return totals


def _fill_dask(
    backend: Backend,
    paths: Sequence[str | Path],
    definitions: Sequence[HistogramDefinition],
    progress: Progress | None,
    file_done: FileDone | None = None,
) -> dict[str, Counts]:
    from events.rootio import NtupleSource
    from monitoring.histograms.dask_backend import DaskBackend

    assert isinstance(backend, DaskBackend)
    for path in paths:
        with open_events(path) as source:
            if not isinstance(source, NtupleSource):
                raise EventFileError(
                    path,
                    "the dask backend reads only this project's ROOT event ntuples (tree 'events'); "
                    "use --backend numpy or numba for this file",
                )
            if file_done:
                file_done(source)

    def files_done(done: int, total: int) -> None:
        if progress:
            progress(done, total, "files")

    return backend.fill_files(paths, definitions, progress=files_done)


Cancel = Callable[[], bool]


class DatasetCounts:
    """Histograms of a whole data set, and for every bin the global indices of all its events.

    Made by :func:`fill_dataset`. ``counts[name]`` are the backend's counts; ``bins[name]`` and
    ``events[name]`` hold, per selected event inside the axes, its flat bin and its global index in
    the data set (sorted by bin, then index), so :meth:`events_in_bin` is a binary search with no
    limit on how many events a bin keeps; ``ids[name]`` their (experiment, run, event).
    """

    def __init__(
        self,
        definitions: Sequence[HistogramDefinition],
        counts: dict[str, Counts],
        bins: dict[str, np.ndarray],
        events: dict[str, np.ndarray],
        ids: dict[str, np.ndarray],
        total: int,
        done: int,
        cancelled: bool,
    ) -> None:
        self.definitions = {d.name: d for d in definitions}
        self.counts = counts
        self.total, self.done, self.cancelled = total, done, cancelled
        self._bins: dict[str, np.ndarray] = {}
        self._events: dict[str, np.ndarray] = {}
        self._ids: dict[str, np.ndarray] = {}
        for name in counts:
            order = np.lexsort((events[name], bins[name]))
            self._bins[name], self._events[name] = bins[name][order], events[name][order]
            self._ids[name] = ids[name][order]

    def _range(self, name: str, index: tuple[int, ...]) -> slice:
        axes = self.definitions[name].axes
        if len(index) != len(axes) or any(not 0 <= i < a.bins for i, a in zip(index, axes, strict=False)):
            raise IndexError(f"bin {index} outside the {tuple(a.bins for a in axes)} histogram {name}")
        flat = int(np.ravel_multi_index(index, tuple(a.bins for a in axes)))
        lo, hi = np.searchsorted(self._bins[name], [flat, flat + 1])
        return slice(int(lo), int(hi))

    def events_in_bin(self, name: str, *index: int) -> np.ndarray:
        """Global indices (int64, ascending) of every event of the data set in this bin of ``name``."""
        return self._events[name][self._range(name, index)].copy()

    def ids_in_bin(self, name: str, *index: int) -> np.ndarray:
        """(experiment, run, event) of the events of :meth:`events_in_bin`, one row each."""
        return self._ids[name][self._range(name, index)].copy()


def fill_dataset(
    backend: Backend,
    data: DataSet,
    definitions: Sequence[HistogramDefinition],
    chunk_size: int = 100_000,
    progress: Callable[[int, int], None] | None = None,
    cancel: Cancel | None = None,
) -> DatasetCounts:
    """Every definition over every event of ``data`` (``DataSet.scan``: damaged files skipped and
    recorded in ``data.issues``), counts by ``backend``, and the bin of every selected event.

    ``progress(done, total)`` after each chunk; when ``cancel()`` is true the pass stops after the
    current chunk and the result is marked ``cancelled``.
    """
    counts = {d.name: np.zeros(shape(d.axes), np.int64) for d in definitions}
    bins: dict[str, list[np.ndarray]] = {d.name: [] for d in definitions}
    events: dict[str, list[np.ndarray]] = {d.name: [] for d in definitions}
    ids: dict[str, list[np.ndarray]] = {d.name: [] for d in definitions}
    total, done, cancelled = len(data), 0, False
    for chunk in data.scan(chunk_size):
        for d in definitions:
            selected = d.select(chunk.batch)
            counts[d.name] += backend.histogram(d.kernel, selected.inputs, d.axes)
            flat = flat_index(d.axes, d.kernel(*selected.inputs))
            inside = flat >= 0
            bins[d.name].append(flat[inside].astype(np.int64))
            rows = selected.rows[inside]
            events[d.name].append(chunk.index[rows])
            header = chunk.batch.header
            ids[d.name].append(np.stack([header[k][rows].astype(np.int64) for k in EVENT_ID], axis=1))
        done += len(chunk.batch)
        if progress:
            progress(done, total)
        if cancel and cancel():
            cancelled = done < total
            break

    def joined(parts: list[np.ndarray], width: int = 0) -> np.ndarray:
        if parts:
            return np.concatenate(parts)
        return np.zeros((0, width) if width else 0, np.int64)

    return DatasetCounts(
        definitions,
        counts,
        {k: joined(v) for k, v in bins.items()},
        {k: joined(v) for k, v in events.items()},
        {k: joined(v, len(EVENT_ID)) for k, v in ids.items()},
        total,
        done,
        cancelled,
    )
