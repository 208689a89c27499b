"""Fill histograms over event files (our HDF5 and ROOT files, Belle II mdst) with any backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from events.io import open_events
from events.source import EventFileError, EventSource
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
