"""Running histograms for live monitoring: filled batch by batch, reset at run boundaries.

A ``RunningHistogram`` keeps the run-integrated counts, a sliding window over the last
``window_batches`` batches and a time-sliced delta over the last minutes (the DQM "delta" views), a
reference with a chi2/KS check, and for every bin the last ``keep_events`` events that fell in it
(experiment, run, event, batch ordinal, row in the batch), so a shifter can open the events behind any
bin. Memory is bounded: bins x (window + delta slots + keep_events) entries. Thread-safe: a worker
fills, the GUI takes snapshots.

The reference by default is the previous complete run: when (experiment, run) changes, the run that
ended becomes the reference of the next one if it was seen from its start (its first event numbered at
most :data:`RUN_START_SLACK`) and has the check's minimum of entries. A reference set by hand
(``set_reference``, e.g. from a file the shifter chose) is pinned: run changes keep it until
``follow_previous_run`` hands the choice back.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from events.model import EventBatch, run_label
from monitoring.histograms.axes import Axis, flat_index, shape
from monitoring.histograms.compare import CheckConfig, CheckResult, check
from monitoring.histograms.definitions import HistogramDefinition

RUN_START_SLACK = 1000  # a run whose first event seen is numbered above this was joined late: partial
DELTA_SLOT_S = 10.0  # the delta view's time resolution
DELTA_MAX_S = 1800.0  # and its longest span (30 minutes)
NO_REFERENCE = "none"
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
    reference_source: str = NO_REFERENCE  # "run 1.12 (previous)", "file ref.root", "none"


class DeltaSlots:
    """Counts per ``slot_s`` of wall time over the last ``span_s``: the "last N minutes" view."""

    def __init__(
        self, shape: tuple[int, ...], slot_s: float = DELTA_SLOT_S, span_s: float = DELTA_MAX_S
    ) -> None:
        if not (slot_s > 0 and span_s >= slot_s):
            raise ValueError(f"delta slots of {slot_s} s over {span_s} s: need 0 < slot <= span")
        self.shape = shape
        self.slot_s = slot_s
        self.n_slots = math.ceil(span_s / slot_s)
        self.slots: deque[tuple[int, NDArray[np.int32]]] = deque()  # (slot number, counts), oldest first

    def clear(self) -> None:
        self.slots.clear()

    def add(self, counts: Counts, now: float) -> None:
        slot = math.floor(now / self.slot_s)
        if not self.slots or self.slots[-1][0] != slot:
            self._expire(slot)
            reused = self.slots.popleft()[1] if len(self.slots) >= self.n_slots else None
            array = reused if reused is not None else np.zeros(self.shape, np.int32)
            array[...] = 0
            self.slots.append((slot, array))
        self.slots[-1][1][...] += counts.astype(np.int32)

    def _expire(self, slot: int) -> None:
        while self.slots and self.slots[0][0] <= slot - self.n_slots:
            self.slots.popleft()

    def total(self, seconds: float, now: float) -> Counts:
        """Counts filled within the last ``seconds`` (to the slot: the current, partly filled slot
        and the whole slots before it that together span ``seconds``)."""
        if not 0 < seconds <= self.n_slots * self.slot_s:
            most = self.n_slots * self.slot_s
            raise ValueError(f"a delta of {seconds:g} s: the delta view keeps at most {most:g} s")
        first = math.floor(now / self.slot_s) - math.ceil(seconds / self.slot_s) + 1
        out = np.zeros(self.shape, np.int64)
        for slot, counts in self.slots:
            if slot >= first:
                out += counts
        return out


class RunningHistogram:
    def __init__(
        self,
        definition: HistogramDefinition,
        window_batches: int = 20,
        keep_events: int = 16,
        check_config: CheckConfig | None = None,
        reference: ArrayLike | None = None,
        clock: Callable[[], float] = time.time,
        delta_slot_s: float = DELTA_SLOT_S,
        delta_span_s: float = DELTA_MAX_S,
    ) -> None:
        self.definition = definition
        self.axes = definition.axes
        self.check_config: CheckConfig = check_config or definition.check
        self.clock = clock
        self._shape = shape(self.axes)
        self.delta_slots = DeltaSlots(self._shape, delta_slot_s, delta_span_s)
        self._lock = threading.Lock()
        self._changes = 0  # fills, resets and references so far: a snapshot is made once per change
        self._cached: tuple[int, Snapshot] | None = None
        self._window: deque[Counts] = deque(maxlen=window_batches)
        self._window_sum = np.zeros(self._shape, np.int64)
        self.run_counts = np.zeros(self._shape, np.int64)
        self.links = BinEventLinks(int(np.prod(self._shape)), keep_events)
        self.reference: NDArray[np.float64] | None = None
        self.reference_source = NO_REFERENCE
        self.reference_pinned = False  # set by hand: run changes keep it
        self.set_reference(reference)
        self.run_key: tuple[int, int] | None = None
        self._run_first_event = 0
        self.previous_run: Snapshot | None = None
        self.previous_complete = False  # the previous run was seen whole, with enough entries
        self.batches = 0
        self.events_seen = 0

    def set_reference(self, reference: ArrayLike | None, source: str = "set by hand") -> None:
        """Pin ``reference`` (None: no reference): later run changes keep it."""
        if reference is not None:
            ref = np.asarray(reference, dtype=np.float64)
            if ref.shape != self._shape:
                raise ValueError(
                    f"{self.definition.name}: reference shape {ref.shape}, expected {self._shape}"
                )
            reference = ref
        with self._lock:
            self.reference = reference
            self.reference_source = NO_REFERENCE if reference is None else source
            self.reference_pinned = reference is not None
            self._changes += 1

    def follow_previous_run(self) -> None:
        """Unpin: the reference becomes the previous complete run again (none until a run ends,
        or the one already seen end if there is one)."""
        with self._lock:
            self.reference_pinned = False
            previous = self.previous_run
            if previous is not None and self.previous_complete:
                self._adopt(previous)
            else:
                self.reference, self.reference_source = None, NO_REFERENCE
            self._changes += 1

    def _adopt(self, run: Snapshot) -> None:
        self.reference = run.run_counts.astype(np.float64)
        self.reference_source = f"{run_label(run.experiment, run.run)} (previous)"

    def _close_run(self) -> None:
        """The run in ``run_key`` ended: keep it, and make it the reference if complete and not pinned."""
        ended = self._snapshot()
        self.previous_run = ended
        # joined late (its first events unseen) or too thin to judge by: never a reference
        self.previous_complete = (
            self._run_first_event <= RUN_START_SLACK
            and int(ended.run_counts.sum()) >= self.check_config.min_entries
        )
        if not self.reference_pinned and self.previous_complete:
            self._adopt(ended)

    def reset(self) -> None:
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self._changes += 1
        self.run_counts = np.zeros(self._shape, np.int64)
        self._window.clear()
        self._window_sum = np.zeros(self._shape, np.int64)
        self.delta_slots.clear()
        self.links.clear()
        self.events_seen = 0

    def fill(self, batch: EventBatch) -> None:
        """Fill one batch; a change of (experiment, run) inside it closes the run and starts anew."""
        exp = batch.header["experiment"].astype(np.int64)
        run = batch.header["run"].astype(np.int64)
        now = self.clock()
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
                        self._close_run()
                    self.run_key = key
                    self._run_first_event = int(batch.header["event"][start])
                    self._reset()
                    added[...] = 0
                added += self._fill_segment(batch.slice(start, stop), start, batch_index)
            if len(self._window) == self._window.maxlen:
                self._window_sum -= self._window[0]
            self._window.append(added)
            self._window_sum += added
            self.delta_slots.add(added, now)

    def delta(self, seconds: float) -> Counts:
        """This run's counts filled within the last ``seconds`` of wall time (the DQM delta view)."""
        with self._lock:
            return self.delta_slots.total(seconds, self.clock())

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
            reference_source=self.reference_source,
        )
