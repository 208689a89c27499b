"""Running histograms for live monitoring: filled batch by batch, reset at run boundaries.

A ``RunningHistogram`` keeps the run-integrated counts, a sliding window over the last
``window_batches`` batches (the DQM "delta" view), a reference with a chi2/KS check, and for
every bin the last ``keep_events`` events that fell in it (experiment, run, event, batch ordinal,
row in the batch), so a shifter can open the events behind any bin. Memory is bounded:
bins x (window + keep_events) entries. Thread-safe: a worker fills, the GUI takes snapshots.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from events.model import EventBatch
from monitoring.histograms.axes import Axis, flat_index, shape
from monitoring.histograms.compare import CheckConfig, CheckResult, check
from monitoring.histograms.definitions import HistogramDefinition

LINK_DTYPE = np.dtype([("experiment", "i4"), ("run", "i4"), ("event", "i8"), ("batch", "i8"), ("row", "i4")])
Counts = NDArray[np.int64]


class BinEventLinks:
    """For every (flat) bin, the last ``keep`` events filled into it, in a ring per bin."""

    def __init__(self, n_bins: int, keep: int = 16) -> None:
        self.keep = keep
        self.records = np.zeros((n_bins, keep), dtype=LINK_DTYPE)
        self.filled = np.zeros(n_bins, dtype=np.int64)

    def clear(self) -> None:
        self.filled[:] = 0

    def add(self, bins: NDArray[np.int64], records: NDArray[np.void]) -> None:
        """Enter events at flat ``bins`` (all in range), keeping only the newest ``keep`` per bin."""
        if len(bins) == 0 or self.keep == 0:
            return
        order = np.argsort(bins, kind="stable")
        b, r = bins[order], records[order]
        rank = np.arange(len(b)) - np.searchsorted(b, b, side="left")
        entered = np.bincount(b, minlength=len(self.filled))
        newest = rank >= entered[b] - self.keep
        slot = (self.filled[b] + rank) % self.keep
        self.records[b[newest], slot[newest]] = r[newest]
        self.filled += entered

    def events(self, flat_bin: int) -> NDArray[np.void]:
        """The kept events of one bin, oldest first."""
        n = int(min(self.filled[flat_bin], self.keep))
        start = int(self.filled[flat_bin]) - n
        return self.records[flat_bin, (start + np.arange(n)) % self.keep].copy()


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a running histogram for drawing or saving."""

    name: str
    title: str
    axes: tuple[Axis, ...]
    experiment: int
    run: int
    run_counts: Counts
    window_counts: Counts
    window_batches: int
    reference: NDArray[np.float64] | None
    check: CheckResult
    batches: int
    events_seen: int


class RunningHistogram:
    def __init__(
        self,
        definition: HistogramDefinition,
        window_batches: int = 20,
        keep_events: int = 16,
        check_config: CheckConfig | None = None,
        reference: ArrayLike | None = None,
    ) -> None:
        self.definition = definition
        self.axes = definition.axes
        self.check_config = check_config or CheckConfig()
        self._shape = shape(self.axes)
        self._lock = threading.Lock()
        self._changes = 0  # fills, resets and references so far: a snapshot is made once per change
        self._cached: tuple[int, Snapshot] | None = None
        self._window: deque[Counts] = deque(maxlen=window_batches)
        self._window_sum = np.zeros(self._shape, np.int64)
        self.run_counts = np.zeros(self._shape, np.int64)
        self.links = BinEventLinks(int(np.prod(self._shape)), keep_events)
        self.reference: NDArray[np.float64] | None = None
        self.set_reference(reference)
        self.run_key: tuple[int, int] | None = None
        self.previous_run: Snapshot | None = None
        self.batches = 0
        self.events_seen = 0

    def set_reference(self, reference: ArrayLike | None) -> None:
        if reference is not None:
            ref = np.asarray(reference, dtype=np.float64)
            if ref.shape != self._shape:
                raise ValueError(
                    f"{self.definition.name}: reference shape {ref.shape}, expected {self._shape}"
                )
            reference = ref
        with self._lock:
            self.reference = reference
            self._changes += 1

    def reset(self) -> None:
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self._changes += 1
        self.run_counts = np.zeros(self._shape, np.int64)
        self._window.clear()
        self._window_sum = np.zeros(self._shape, np.int64)
        self.links.clear()
        self.events_seen = 0

    def fill(self, batch: EventBatch) -> None:
        """Fill one batch; a change of (experiment, run) inside it closes the run and starts anew."""
        exp = batch.header["experiment"].astype(np.int64)
        run = batch.header["run"].astype(np.int64)
        with self._lock:
            batch_index = self.batches
            self.batches += 1
            self._changes += 1
            if len(batch) == 0:
                return
            cuts = np.flatnonzero((np.diff(exp) != 0) | (np.diff(run) != 0)) + 1
            bounds = [0, *cuts.tolist(), len(batch)]
            added = np.zeros(self._shape, np.int64)
            for start, stop in itertools.pairwise(bounds):
                key = (int(exp[start]), int(run[start]))
                if key != self.run_key:
                    if self.run_key is not None:
                        self.previous_run = self._snapshot()
                    self.run_key = key
                    self._reset()
                    added[...] = 0
                added += self._fill_segment(batch.slice(start, stop), start, batch_index)
            if len(self._window) == self._window.maxlen:
                self._window_sum -= self._window[0]
            self._window.append(added)
            self._window_sum += added

    def _fill_segment(self, batch: EventBatch, row_offset: int, batch_index: int) -> Counts:
        selected = self.definition.select(batch)
        self.events_seen += len(batch)
        values = self.definition.kernel(*selected.inputs)
        flat = flat_index(self.axes, values)
        inside = flat >= 0
        bins, rows = flat[inside], selected.rows[inside]
        counts = np.bincount(bins, minlength=self.links.filled.size).reshape(self._shape)
        self.run_counts += counts
        records = np.empty(len(rows), dtype=LINK_DTYPE)
        records["experiment"] = batch.header["experiment"][rows]
        records["run"] = batch.header["run"][rows]
        records["event"] = batch.header["event"][rows]
        records["batch"] = batch_index
        records["row"] = rows + row_offset
        self.links.add(bins, records)
        return counts

    def events_in_bin(self, *index: int) -> NDArray[np.void]:
        """The newest events (up to ``keep_events``) in the bin with these per-axis indices."""
        if len(index) != len(self.axes) or any(
            not 0 <= i < a.bins for i, a in zip(index, self.axes, strict=False)
        ):
            raise IndexError(f"bin {index} outside the {self._shape} histogram {self.definition.name}")
        with self._lock:
            return self.links.events(int(np.ravel_multi_index(index, self._shape)))

    def snapshot(self) -> Snapshot:
        """The histogram now; the same (read-only) object again until the next fill, reset or reference."""
        with self._lock:
            if self._cached is None or self._cached[0] != self._changes:
                self._cached = (self._changes, self._snapshot())
            return self._cached[1]

    def _snapshot(self) -> Snapshot:
        exp, run = self.run_key if self.run_key is not None else (-1, -1)
        return Snapshot(
            name=self.definition.name,
            title=self.definition.title,
            axes=self.axes,
            experiment=exp,
            run=run,
            run_counts=self.run_counts.copy(),
            window_counts=self._window_sum.copy(),
            window_batches=len(self._window),
            reference=None if self.reference is None else self.reference.copy(),
            check=check(self.run_counts, self.reference, self.check_config),
            batches=self.batches,
            events_seen=self.events_seen,
        )
