"""The columnar event model: one batch of events, each collection flat with per-event offsets.

A batch holds per-event ``header`` columns (length ``n_events``) and jagged collections
(tracks, ECL clusters, KLM clusters, vertices, MC particles). A collection stores every
object of every event in flat numpy columns plus an ``offsets`` array of length
``n_events + 1``: the objects of event ``i`` are rows ``offsets[i]:offsets[i+1]``.
Indices between objects (a track's ``ecl_index``, a vertex's ``track_pos``) are positions
*within the same event*, as in the mdst file. Units are Belle II's: cm, GeV, ns, rad.

The schema below is the single source of truth for every reader, writer and the wire
format; ``SCHEMA_VERSION`` changes whenever a column changes meaning or type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, SupportsInt

import numpy as np

SCHEMA_VERSION = 1

# column -> (dtype, trailing shape, fill value for a missing column)
ColumnSpec = tuple[str, tuple[int, ...], Any]

HEADER: dict[str, ColumnSpec] = {
    "experiment": ("i4", (), 0),
    "run": ("i4", (), 0),
    "event": ("i8", (), 0),
    "time": ("u8", (), 0),  # ns since the Unix epoch (EventMetaData.m_time)
    "l1_bits": ("u8", (), 0),  # bit k set <=> events.trigger.L1_BITS[k] fired (after prescale)
    "process": ("i2", (), -1),  # events.generator.processes code of a generated event, -1 for data
    "signal": ("i2", (), -1),  # events.generator.processes signal code when injected, else -1
    "signal_mass": ("f4", (), np.nan),  # injected dark-sector mass [GeV], NaN if none
    "bz": ("f4", (), 1.5),  # solenoid field used for momenta [T]
}

EVENT_ID: tuple[str, str, str] = ("experiment", "run", "event")  # what names one event


def run_label(experiment: SupportsInt, run: SupportsInt) -> str:
    """``exp 26 run 1234``: how a run is named in the status bar, titles and logs."""
    return f"exp {int(experiment)} run {int(run)}"


def event_label(experiment: SupportsInt, run: SupportsInt, event: SupportsInt) -> str:
    """``exp 26 run 1234 event 42``: the one text form of an event ID (status bar, titles, logs)."""
    return f"{run_label(experiment, run)} event {int(event)}"


def event_file_stem(experiment: SupportsInt, run: SupportsInt, event: SupportsInt) -> str:
    """``e0026_r01234_ev00000042``: the event ID in file names, zero-padded so names sort by it."""
    return f"e{int(experiment):04d}_r{int(run):05d}_ev{int(event):08d}"

COLLECTIONS: dict[str, dict[str, ColumnSpec]] = {
    "tracks": {
        "d0": ("f8", (), np.nan),
        "phi0": ("f8", (), np.nan),
        "omega": ("f8", (), np.nan),
        "z0": ("f8", (), np.nan),
        "tan_lambda": ("f8", (), np.nan),
        "cov": ("f4", (15,), np.nan),  # upper triangle of the 5x5 helix covariance, row-major
        "charge": ("i1", (), 0),
        "pdg": ("i4", (), 211),  # |PDG| of the fitted mass hypothesis
        "p_value": ("f4", (), np.nan),
        "pid_logl": ("f4", (6,), np.nan),  # log-likelihood summed over detectors: e, mu, pi, K, p, d
        "ecl_index": ("i4", (), -1),
        "klm_index": ("i4", (), -1),
        "mc_index": ("i4", (), -1),
    },
    "ecl": {
        "energy": ("f4", (), np.nan),
        "theta": ("f4", (), np.nan),
        "phi": ("f4", (), np.nan),
        "r": ("f4", (), np.nan),
        "time": ("f4", (), np.nan),
        "cell_id": ("i4", (), 0),  # 1-based cellId of the highest-energy crystal, 0 if unknown
        "n_crystals": ("f4", (), np.nan),
        "hypotheses": ("i2", (), 16),  # 16 nPhotons, 32 neutralHadron, 48 both
        "is_track": ("?", (), False),
        "mc_index": ("i4", (), -1),
    },
    "klm": {
        "x": ("f4", (), np.nan),
        "y": ("f4", (), np.nan),
        "z": ("f4", (), np.nan),
        "layers": ("i2", (), 0),
        "innermost_layer": ("i2", (), 0),
        "p": ("f4", (), np.nan),
        "time": ("f4", (), np.nan),
        "mc_index": ("i4", (), -1),
    },
    "vertices": {
        "x": ("f8", (), np.nan),
        "y": ("f8", (), np.nan),
        "z": ("f8", (), np.nan),
        "kind": ("i1", (), 1),  # VertexKind
        "track_pos": ("i4", (), -1),  # daughter tracks (index in the event's tracks), -1 if none
        "track_neg": ("i4", (), -1),
        "dca": ("f4", (), np.nan),  # distance of closest approach of the daughters [cm]
        "cov": ("f4", (6,), np.nan),  # xx, xy, xz, yy, yz, zz [cm^2]; NaN if unknown
        "pdg": ("i4", (), 0),  # hypothesis, e.g. 310 K_S, 3122 Lambda, 22 conversion; 0 unknown
    },
    "mc": {
        "pdg": ("i4", (), 0),
        "mother": ("i4", (), -1),  # 0-based index in the event's mc, -1 for primaries
        "px": ("f4", (), np.nan),
        "py": ("f4", (), np.nan),
        "pz": ("f4", (), np.nan),
        "energy": ("f4", (), np.nan),
        "mass": ("f4", (), np.nan),
        "vx": ("f4", (), np.nan),  # production vertex
        "vy": ("f4", (), np.nan),
        "vz": ("f4", (), np.nan),
        "dx": ("f4", (), np.nan),  # decay vertex, NaN if stable
        "dy": ("f4", (), np.nan),
        "dz": ("f4", (), np.nan),
    },
}


class VertexKind:
    PRIMARY = 0
    V0 = 1
    DISPLACED = 2


class SchemaError(ValueError):
    """Arrays that do not fit the event schema."""


def _empty_column(spec: ColumnSpec, n: int) -> np.ndarray:
    dtype, shape, fill = spec
    return np.full((n, *shape), fill, dtype=dtype)


def _coerce(name: str, spec: ColumnSpec, values: Any, n: int) -> np.ndarray:
    dtype, shape, _ = spec
    arr = np.ascontiguousarray(values, dtype=dtype)
    if arr.shape != (n, *shape):
        raise SchemaError(f"column {name!r}: shape {arr.shape}, expected {(n, *shape)}")
    return arr


@dataclass(frozen=True)
class Collection:
    """One jagged collection: flat columns plus per-event offsets."""

    name: str
    offsets: np.ndarray
    columns: Mapping[str, np.ndarray]

    @classmethod
    def from_columns(
        cls, name: str, counts: Iterable[int] | np.ndarray, columns: Mapping[str, Any]
    ) -> Collection:
        """Build from per-event counts and flat columns; missing schema columns get their fill value."""
        spec = COLLECTIONS[name]
        unknown = set(columns) - set(spec)
        if unknown:
            raise SchemaError(f"{name}: unknown columns {sorted(unknown)}")
        counts_arr = np.asarray(counts, dtype=np.int64)
        if counts_arr.ndim != 1 or (counts_arr < 0).any():
            raise SchemaError(f"{name}: counts must be a 1-D array of non-negative integers")
        offsets = np.zeros(len(counts_arr) + 1, dtype=np.int64)
        np.cumsum(counts_arr, out=offsets[1:])
        total = int(offsets[-1])
        cols = {
            key: _coerce(f"{name}.{key}", s, columns[key], total)
            if key in columns
            else _empty_column(s, total)
            for key, s in spec.items()
        }
        return cls(name, offsets, cols)

    @classmethod
    def empty(cls, name: str, n_events: int) -> Collection:
        return cls.from_columns(name, np.zeros(n_events, dtype=np.int64), {})

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def size(self) -> int:
        """Number of objects over all events."""
        return int(self.offsets[-1])

    def event_index(self) -> np.ndarray:
        """For every flat row, the index of its event in the batch."""
        return np.repeat(np.arange(len(self)), self.counts)

    def rows(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def slice(self, start: int, stop: int) -> Collection:
        lo, hi = int(self.offsets[start]), int(self.offsets[stop])
        return Collection(
            self.name,
            self.offsets[start : stop + 1] - lo,
            {k: v[lo:hi] for k, v in self.columns.items()},
        )

    def take(self, events: np.ndarray) -> Collection:
        """The collection restricted to the given event indices, in that order."""
        events = np.asarray(events, dtype=np.int64)
        counts = self.counts[events]
        starts = self.offsets[events]
        flat = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        flat += np.arange(int(counts.sum()))
        return Collection.from_columns(self.name, counts, {k: v[flat] for k, v in self.columns.items()})

    @staticmethod
    def concat(parts: list[Collection]) -> Collection:
        if not parts:
            raise SchemaError("cannot concatenate no collections")
        name = parts[0].name
        counts = np.concatenate([p.counts for p in parts])
        cols = {k: np.concatenate([p.columns[k] for p in parts]) for k in COLLECTIONS[name]}
        return Collection.from_columns(name, counts, cols)


@dataclass(frozen=True)
class EventBatch:
    """A bounded batch of events: header columns and the five collections."""

    header: Mapping[str, np.ndarray]
    tracks: Collection
    ecl: Collection
    klm: Collection
    vertices: Collection
    mc: Collection
    source: str = field(default="", compare=False)  # file or stream the batch came from

    @classmethod
    def build(
        cls,
        n_events: int,
        header: Mapping[str, Any] | None = None,
        source: str = "",
        **collections: Collection,
    ) -> EventBatch:
        """Assemble a batch, filling missing header columns and collections with their defaults."""
        header = dict(header or {})
        unknown = set(header) - set(HEADER)
        if unknown:
            raise SchemaError(f"header: unknown columns {sorted(unknown)}")
        head = {
            k: _coerce(f"header.{k}", s, header[k], n_events) if k in header else _empty_column(s, n_events)
            for k, s in HEADER.items()
        }
        unknown = set(collections) - set(COLLECTIONS)
        if unknown:
            raise SchemaError(f"unknown collections {sorted(unknown)}")
        cols = {name: collections.get(name) or Collection.empty(name, n_events) for name in COLLECTIONS}
        for name, col in cols.items():
            if len(col) != n_events:
                raise SchemaError(f"{name}: {len(col)} events, header has {n_events}")
        return cls(head, source=source, **cols)

    @classmethod
    def empty(cls) -> EventBatch:
        return cls.build(0)

    def __len__(self) -> int:
        return len(self.header["event"])

    def collections(self) -> dict[str, Collection]:
        return {name: getattr(self, name) for name in COLLECTIONS}

    def slice(self, start: int, stop: int) -> EventBatch:
        stop = min(stop, len(self))
        return EventBatch(
            {k: v[start:stop] for k, v in self.header.items()},
            source=self.source,
            **{name: c.slice(start, stop) for name, c in self.collections().items()},
        )

    def event(self, i: int) -> EventBatch:
        """Event ``i`` as a batch of one (negative indices count from the end)."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"event index {i} out of range for a batch of {n}")
        i %= n
        return self.slice(i, i + 1)

    def event_id(self, i: int = 0) -> tuple[int, int, int]:
        """(experiment, run, event) of event ``i``."""
        return (int(self.header["experiment"][i]), int(self.header["run"][i]), int(self.header["event"][i]))

    def event_label(self, i: int = 0) -> str:
        """``exp 26 run 1234 event 42`` for event ``i`` (``event_label``)."""
        return event_label(*self.event_id(i))

    def event_file_stem(self, i: int = 0) -> str:
        """``e0026_r01234_ev00000042`` for event ``i`` (``event_file_stem``)."""
        return event_file_stem(*self.event_id(i))

    def take(self, events: np.ndarray) -> EventBatch:
        events = np.asarray(events, dtype=np.int64)
        return EventBatch(
            {k: v[events] for k, v in self.header.items()},
            source=self.source,
            **{name: c.take(events) for name, c in self.collections().items()},
        )

    def chunks(self, size: int) -> Iterator[EventBatch]:
        for start in range(0, len(self), size):
            yield self.slice(start, start + size)

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        if not batches:
            return EventBatch.empty()
        return EventBatch(
            {k: np.concatenate([b.header[k] for b in batches]) for k in HEADER},
            source=batches[0].source,
            **{name: Collection.concat([getattr(b, name) for b in batches]) for name in COLLECTIONS},
        )
