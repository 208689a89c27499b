"""The dask backend: histograms over many files with ``uproot.dask`` and ``dask-histogram``.

By default a local cluster of 2 single-threaded worker processes; ``scheduler`` may instead
name any dask.distributed scheduler (``tcp://host:8786``) or a local dask scheduler
("threads", "processes", "synchronous"). Every partition of the ntuple becomes an EventBatch
of the columns the selections read, the selection and the shared numpy kernel give the
coordinates, and dask-histogram fills boost-histogram regular axes, whose bin rule is ours.
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
from monitoring.histograms.backends import Backend, BackendUnavailable, Counts, _check, resolve
from monitoring.histograms.definitions import HistogramDefinition
from monitoring.histograms.observables import BEAM, Beam, Observable

LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# the event columns every standard selection reads
COLUMNS: dict[str, tuple[str, ...]] = {
    "header": ("experiment", "run", "event", "bz"),
    "tracks": ("phi0", "omega", "tan_lambda", "charge", "pid_logl"),
    "ecl": ("energy", "theta", "phi", "hypotheses", "is_track"),
}


def _regular(axes: tuple[Axis, ...]) -> list[bh.axis.Regular]:
    return [bh.axis.Regular(a.bins, a.lo, a.hi) for a in axes]


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
            *(coords[:, k] for k in range(obs.dims)), axes=_regular(axes), storage=bh.storage.Int64()
        )
        (result,) = self._compute(hist)
        return np.asarray(result.values(), dtype=np.int64)

    def fill_files(
        self,
        paths: Sequence[str | Path],
        definitions: Sequence[HistogramDefinition],
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Counts]:
        """Counts of every definition over our ROOT event ntuples, one task graph per file."""
        totals = {d.name: np.zeros(tuple(a.bins for a in d.axes), np.int64) for d in definitions}
        graphs = [self._file_graph(Path(p), definitions) for p in paths]
        client = self.client
        if client is None:
            results = self._compute(*graphs)
            for done, hists in enumerate(results, 1):
                _add(totals, definitions, hists)
                if progress:
                    progress(done, len(graphs))
            return totals
        from distributed import as_completed

        futures = client.compute(graphs)
        for done, future in enumerate(as_completed(futures), 1):
            _add(totals, definitions, future.result())
            if progress:
                progress(done, len(graphs))
        return totals

    def _file_graph(self, path: Path, definitions: Sequence[HistogramDefinition]) -> Any:
        import dask
        import dask.array as da
        import dask_histogram
        import uproot

        from events import rootio

        branches = [
            name for coll, cols in COLUMNS.items() for col in cols for name in rootio.branch_names(coll, col)
        ] + [rootio.counter_name(c) for c in COLUMNS if c != "header"]
        tree = uproot.dask({str(path): rootio.TREE}, filter_name=branches, step_size=self.step_size)
        # one task per partition builds the batch and every definition's coordinates, so no batch
        # ever travels between workers; only the small coordinate arrays do
        per_partition = [
            dask.delayed(_partition_coordinates, nout=len(definitions))(part, definitions)
            for part in tree.to_delayed()
        ]
        hists = []
        for k, d in enumerate(definitions):
            dims = len(d.axes)
            parts = [
                da.from_delayed(coords[k], shape=(np.nan, dims), dtype=np.float64) for coords in per_partition
            ]
            coords = da.concatenate(parts, axis=0)
            hists.append(
                dask_histogram.factory(
                    *(coords[:, k] for k in range(dims)), axes=_regular(d.axes), storage=bh.storage.Int64()
                )
            )
        return dask.delayed(list)(hists)


def _add(totals: dict[str, Counts], definitions: Sequence[HistogramDefinition], hists: Sequence[Any]) -> None:
    for d, h in zip(definitions, hists, strict=True):
        totals[d.name] += np.asarray(h.values(), dtype=np.int64)


def _coordinates_block(block: np.ndarray, obs: Observable, beam: Beam) -> np.ndarray:
    columns = [np.ascontiguousarray(block[:, k], dtype=np.float64) for k in range(block.shape[1])]
    return np.stack(obs(*columns, beam=beam), axis=1) if len(block) else np.zeros((0, obs.dims))


def _batch_from_partition(part: Any) -> Any:
    """An EventBatch of the ``COLUMNS`` from one partition of the ntuple (awkward record array)."""
    import awkward as ak

    from events import rootio
    from events.model import COLLECTIONS, HEADER, Collection, EventBatch

    n = len(part)
    header = {c: ak.to_numpy(part[rootio.branch_name("header", c)]) for c in COLUMNS["header"]}
    collections: dict[str, Collection] = {}
    for coll, cols in COLUMNS.items():
        if coll == "header":
            continue
        counts = ak.to_numpy(part[rootio.counter_name(coll)]).astype(np.int64)
        flat = {}
        for col in cols:
            parts = [ak.to_numpy(ak.flatten(part[b])) for b in rootio.branch_names(coll, col)]
            flat[col] = parts[0] if COLLECTIONS[coll][col][1] == () else np.stack(parts, axis=1)
        collections[coll] = Collection.from_columns(coll, counts, flat)
    assert set(header) <= set(HEADER)
    return EventBatch.build(n, header, tracks=collections["tracks"], ecl=collections["ecl"])


def _partition_coordinates(part: Any, definitions: Sequence[HistogramDefinition]) -> tuple[np.ndarray, ...]:
    batch = _batch_from_partition(part)
    return tuple(_select_coordinates(batch, d) for d in definitions)


def _select_coordinates(batch: Any, definition: HistogramDefinition) -> np.ndarray:
    selected = definition.select(batch)
    if len(selected) == 0:
        return np.zeros((0, len(definition.axes)))
    return np.stack(definition.kernel(*selected.inputs), axis=1)
