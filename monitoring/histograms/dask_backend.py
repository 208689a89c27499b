"""The dask backend: histograms over many ROOT ntuples on a dask cluster.

By default a local cluster of 2 single-threaded worker processes (the reading and the selection
hold the GIL for much of their time, so threads would not run them side by side); ``scheduler``
may instead name any dask.distributed scheduler (``tcp://host:8786``) or a local dask scheduler
("threads", "processes", "synchronous").

Files: one task per range of whole baskets (``partitions``) reads, with plain uproot and a file
handle kept open per worker, only the branches the selections need, builds an EventBatch,
selects, fills with the numpy backend and returns the counts. The ranges never split a basket,
so each is decompressed once (uproot.dask's fixed ``step_size`` steps decompressed a basket
once per step inside it). Flat arrays (``histogram``): dask arrays and dask-histogram on
boost-histogram regular axes, whose bin rule is ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boost_histogram as bh
import numpy as np
from numpy.typing import ArrayLike

from monitoring.histograms.axes import Axis
from monitoring.histograms.backends import (
    Backend,
    BackendUnavailable,
    Counts,
    NumpyBackend,
    _check,
)
from monitoring.histograms.definitions import HistogramDefinition
from monitoring.histograms.observables import BEAM, Beam, Observable, resolve
from monitoring.histograms.selections import Columns, merge_columns

LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# the event columns every standard selection may read
COLUMNS: Columns = {
    "header": ("experiment", "run", "event", "bz"),
    "tracks": ("phi0", "omega", "tan_lambda", "charge", "pid_logl"),
    "ecl": ("energy", "theta", "phi", "hypotheses", "is_track"),
}


class DaskBackend(Backend):
    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        n_workers: int = 2,
        chunk_size: int = 1_000_000,
        step_size: int = 100_000,
    ) -> None:
        try:
            import dask  # noqa: F401
            import dask_histogram  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(f"dask not available: {exc}") from exc
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.chunk_size = chunk_size
        self.step_size = step_size
        self._cluster: Any = None
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The distributed client (started on first use), or None for a local dask scheduler."""
        if self.scheduler in LOCAL_SCHEDULERS:
            return None
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.scheduler is None:
                # worker processes must import this project, wherever it is run from
                path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
                self._cluster = LocalCluster(
                    n_workers=self.n_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    env={"PYTHONPATH": path},
                )
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(self.scheduler, timeout="3s")
                except OSError as exc:
                    raise BackendUnavailable(f"no dask scheduler at {self.scheduler}: {exc}") from exc
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def _compute(self, *collections: Any) -> tuple[Any, ...]:
        import dask

        client = self.client
        if client is None:
            return tuple(dask.compute(*collections, scheduler=self.scheduler))
        return tuple(client.gather(client.compute(list(collections))))

    def histogram(
        self,
        observable: str | Observable,
        inputs: Sequence[ArrayLike],
        axes: tuple[Axis, ...],
        beam: Beam = BEAM,
    ) -> Counts:
        import dask.array as da
        import dask_histogram

        obs = resolve(observable)
        arrays = [np.asarray(x) for x in inputs]
        _check(obs, arrays, axes)
        stacked = da.stack([da.from_array(x, chunks=self.chunk_size) for x in arrays], axis=1).rechunk(
            {1: -1}
        )
        coords = stacked.map_blocks(
            _coordinates_block, obs, beam, chunks=(stacked.chunks[0], (obs.dims,)), dtype=np.float64
        )
        hist = dask_histogram.factory(
            *(coords[:, k] for k in range(obs.dims)),
            axes=[a.boost() for a in axes],
            storage=bh.storage.Int64(),
        )
        (result,) = self._compute(hist)
        return np.asarray(result.values(), dtype=np.int64)

    def fill_files(
        self,
        paths: Sequence[str | Path],
        definitions: Sequence[HistogramDefinition],
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Counts]:
        """Counts of every definition over our ROOT event ntuples.

        One task per range of whole baskets of a file (``partitions``): it reads only the
        branches the selections need, selects, fills with the numpy backend and returns the
        counts, so only the small count arrays travel. ``progress(files done, files)``."""
        from events.source import EventFileError

        definitions = list(definitions)
        columns = needed_columns(definitions)
        tasks = [
            (str(path), start, stop)
            for path in paths
            for start, stop in partitions(path, columns, self._partition_size(paths))
        ]
        totals = {d.name: np.zeros(tuple(a.bins for a in d.axes), np.int64) for d in definitions}
        left = {str(p): 0 for p in paths}
        for path, _, _ in tasks:
            left[path] += 1
        files_done = sum(n == 0 for n in left.values())

        def finished(path: str, counts: list[Counts]) -> None:
            nonlocal files_done
            for d, c in zip(definitions, counts, strict=True):
                totals[d.name] += c
            left[path] -= 1
            if left[path] == 0:
                files_done += 1
                if progress:
                    progress(files_done, len(left))

        client = self.client
        if client is None:
            import dask

            results = dask.compute(
                *(dask.delayed(_fill_range)(*task, definitions, columns) for task in tasks),
                scheduler=self.scheduler,
            )
            for (path, _, _), counts in zip(tasks, results, strict=True):
                finished(path, counts)
        else:
            from distributed import as_completed

            futures = {
                client.submit(_fill_range, *task, definitions, columns, pure=False): task for task in tasks
            }
            for future in as_completed(futures):
                path = futures[future][0]
                try:
                    counts = future.result()
                except Exception as exc:  # the worker's error, re-raised here with the file named
                    raise EventFileError(path, str(exc)) from exc
                finished(path, counts)
        if progress and not tasks:
            progress(len(left), len(left))
        return totals

    def _partition_size(self, paths: Sequence[str | Path]) -> int:
        """``step_size`` events per task, fewer when that leaves a worker with under 4 tasks."""
        total = sum(_num_entries(p) for p in paths)
        client = self.client
        workers = len(client.scheduler_info()["workers"]) if client is not None else self.n_workers
        return max(1, min(self.step_size, -(-total // (4 * max(1, workers)))))


def needed_columns(definitions: Sequence[HistogramDefinition]) -> Columns:
    """The columns the definitions' selections read (all of ``COLUMNS`` for one that does not say)."""
    return merge_columns(*(getattr(d.selection, "columns", COLUMNS) for d in definitions))


def branches(columns: Columns) -> list[str]:
    """The ntuple branches holding ``columns``, with the counter of every collection."""
    from events import rootio

    names = []
    for collection, cols in columns.items():
        if collection != "header":
            names.append(rootio.counter_name(collection))
        names += [b for col in cols for b in rootio.branch_names(collection, col)]
    return names


def _num_entries(path: str | Path) -> int:
    return int(_open_tree(str(path)).num_entries)


def partitions(path: str | Path, columns: Columns, size: int) -> list[tuple[int, int]]:
    """Entry ranges of about ``size`` events that start and end where every needed branch starts
    a basket, so no basket is decompressed by two tasks (a basket larger than ``size`` is one
    range of its own)."""
    tree = _open_tree(str(path))
    offsets = [int(x) for x in tree.common_entry_offsets(filter_name=branches(columns))]
    ranges: list[tuple[int, int]] = []
    start = offsets[0]
    for stop in offsets[1:]:
        if stop - start >= size or stop == offsets[-1]:
            ranges.append((start, stop))
            start = stop
    return ranges


_TREES: dict[tuple[str, int, int], Any] = {}


def _open_tree(path: str) -> Any:
    """The ntuple tree of ``path``, kept open per process (a few files; reopened when changed)."""
    import uproot

    from events import rootio

    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _TREES:
        if len(_TREES) >= 16:
            _TREES.pop(next(iter(_TREES))).file.close()
        _TREES[key] = uproot.open(path, array_cache=None)[rootio.TREE]  # each basket is read once
    return _TREES[key]


def _fill_range(
    path: str, start: int, stop: int, definitions: Sequence[HistogramDefinition], columns: Columns
) -> list[Counts]:
    """Counts of every definition over entries start..stop of one ntuple (a task on a worker)."""
    try:
        batch = read_batch(_open_tree(path), start, stop, columns)
    except Exception as exc:  # uproot raises many types for damaged files
        raise ValueError(f"cannot read entries {start}:{stop} (corrupted file?): {exc}") from None
    numpy_backend = NumpyBackend()
    return [numpy_backend.histogram(d.kernel, d.select(batch).inputs, d.axes) for d in definitions]


def read_batch(tree: Any, start: int, stop: int, columns: Columns) -> Any:
    """An EventBatch of entries start..stop holding ``columns`` (the rest get their defaults)."""
    import awkward as ak

    from events import rootio
    from events.model import COLLECTIONS, Collection, EventBatch

    arrays = tree.arrays(branches(columns), entry_start=start, entry_stop=stop, library="ak", how=dict)
    header = {c: ak.to_numpy(arrays[rootio.branch_name("header", c)]) for c in columns.get("header", ())}
    collections: dict[str, Collection] = {}
    for coll, cols in columns.items():
        if coll == "header":
            continue
        counts = ak.to_numpy(arrays[rootio.counter_name(coll)]).astype(np.int64)
        flat = {}
        for col in cols:
            parts = [ak.to_numpy(ak.flatten(arrays[b])) for b in rootio.branch_names(coll, col)]
            flat[col] = parts[0] if COLLECTIONS[coll][col][1] == () else np.stack(parts, axis=1)
        collections[coll] = Collection.from_columns(coll, counts, flat)
    return EventBatch.build(stop - start, header, str(tree.file.file_path), **collections)


def _coordinates_block(block: np.ndarray, obs: Observable, beam: Beam) -> np.ndarray:
    columns = [np.ascontiguousarray(block[:, k], dtype=np.float64) for k in range(block.shape[1])]
    return np.stack(obs(*columns, beam=beam), axis=1) if len(block) else np.zeros((0, obs.dims))
