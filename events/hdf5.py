"""This project's event store in HDF5: columnar, chunked, compressed, appendable, versioned.

Layout (docs/architecture.md §5.1, offsets plus flat arrays)::

    /                     attrs: format="belle2-display-events", SCHEMA_VERSION, n_events
    /header/<column>      one row per event
    /<collection>/offsets int64, n_events + 1
    /<collection>/<col>   one row per object, trailing shape as in events.model

Every dataset is chunked, gzip-compressed (with byte shuffle) and unlimited along its first
axis, so batches are appended without rewriting. ``n_events`` is updated last on every append:
an interrupted append leaves a file that still reads as the events written before it.
Reading events ``a:b`` touches only ``offsets[a:b+1]`` and the rows between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from events.io import EventFileError, EventSource
from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION, Collection, ColumnSpec, EventBatch

FORMAT = "belle2-display-events"
HEADER_CHUNK = 4096  # events per chunk
ROW_CHUNK = 16384  # objects per chunk
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


def _create(group: h5py.Group, name: str, spec: ColumnSpec, chunk: int) -> None:
    dtype, shape, _ = spec
    group.create_dataset(
        name,
        shape=(0, *shape),
        maxshape=(None, *shape),
        dtype=dtype,
        chunks=(chunk, *shape),
        **COMPRESSION,
    )


def _append(ds: h5py.Dataset, values: np.ndarray, at: int) -> None:
    ds.resize(at + len(values), axis=0)
    if len(values):
        ds[at:] = values


class HDF5Writer:
    """Appends batches to an event store; creates it (``mode="w"``) or extends it (``mode="a"``)."""

    def __init__(self, path: str | Path, mode: str = "w") -> None:
        self.path = Path(path)
        try:
            if mode == "a" and self.path.exists():
                self.file = h5py.File(self.path, "a")
                self.n_events = _check_schema(self.file, self.path)
            elif mode in ("w", "a"):
                self.file = h5py.File(self.path, "w")
                self._layout()
                self.n_events = 0
            else:
                raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")
        except OSError as exc:
            raise EventFileError(self.path, f"cannot open for writing: {exc}") from exc

    def _layout(self) -> None:
        f = self.file
        f.attrs["format"] = FORMAT
        f.attrs["SCHEMA_VERSION"] = SCHEMA_VERSION
        f.attrs["n_events"] = 0
        head = f.create_group("header")
        for name, spec in HEADER.items():
            _create(head, name, spec, HEADER_CHUNK)
        for coll, columns in COLLECTIONS.items():
            g = f.create_group(coll)
            g.create_dataset(
                "offsets", data=np.zeros(1, np.int64), maxshape=(None,), chunks=(HEADER_CHUNK,), **COMPRESSION
            )
            for name, spec in columns.items():
                _create(g, name, spec, ROW_CHUNK)

    def append(self, batch: EventBatch) -> None:
        f, n = self.file, self.n_events
        try:
            for name in HEADER:
                _append(f["header"][name], batch.header[name], n)
            for coll, c in batch.collections().items():
                g = f[coll]
                total = int(g["offsets"][n])
                _append(g["offsets"], c.offsets[1:] + total, n + 1)
                for name in COLLECTIONS[coll]:
                    _append(g[name], c.columns[name], total)
            self.n_events = n + len(batch)
            f.attrs["n_events"] = self.n_events
            f.flush()
        except OSError as exc:
            raise EventFileError(self.path, f"write failed after {n} events: {exc}") from exc

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> HDF5Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write(path: str | Path, batches: Iterable[EventBatch], mode: str = "w") -> int:
    """Write (or with ``mode="a"`` append) batches one after another; returns the events in the file."""
    with HDF5Writer(path, mode) as w:
        for batch in batches:
            w.append(batch)
        return w.n_events


def _check_schema(f: h5py.File, path: Path) -> int:
    """Validate format, version and datasets; returns the number of events."""
    fmt = f.attrs.get("format")
    if fmt is None or (fmt.decode() if isinstance(fmt, bytes) else str(fmt)) != FORMAT:
        raise EventFileError(path, f"not an event store of this program (HDF5 attribute format={fmt!r})")
    version = f.attrs.get("SCHEMA_VERSION")
    if version is None:
        raise EventFileError(path, "no SCHEMA_VERSION attribute")
    if int(version) > SCHEMA_VERSION:
        raise EventFileError(
            path, f"written with event schema version {int(version)}, newer than this program's "
            f"{SCHEMA_VERSION}; update the program to read it"
        )  # fmt: skip
    if int(version) != SCHEMA_VERSION:
        raise EventFileError(
            path, f"unknown event schema version {int(version)} (this program reads {SCHEMA_VERSION})"
        )
    n = int(f.attrs.get("n_events", -1))
    if n < 0:
        raise EventFileError(path, "no n_events attribute")
    expected = [("header", HEADER), *COLLECTIONS.items()]
    for group, spec in expected:
        for name, (dtype, shape, _) in spec.items():
            key = f"{group}/{name}"
            ds = f.get(key)
            if not isinstance(ds, h5py.Dataset):
                raise EventFileError(path, f"missing dataset {key}")
            if ds.dtype != np.dtype(dtype) or ds.shape[1:] != shape:
                raise EventFileError(
                    path, f"dataset {key} is {ds.dtype}{list(ds.shape[1:])}, schema says {dtype}{list(shape)}"
                )
            if group == "header" and len(ds) < n:
                raise EventFileError(path, f"dataset {key} has {len(ds)} rows for {n} events (truncated?)")
        if group != "header":
            off = f.get(f"{group}/offsets")
            if not isinstance(off, h5py.Dataset) or len(off) < n + 1:
                raise EventFileError(path, f"missing or short dataset {group}/offsets")
    return n


class HDF5Source(EventSource):
    """Reads an event store, only the rows each ``read`` needs; the file stays open between reads."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._file: h5py.File | None = None
        self._n = _check_schema(self._handle(), self.path)

    def _handle(self) -> h5py.File:
        if self._file is None:
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as exc:
                raise EventFileError(
                    self.path, f"not a readable HDF5 file (truncated or corrupted?): {exc}"
                ) from exc
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __len__(self) -> int:
        return self._n

    def _read(self, start: int, stop: int) -> EventBatch:
        try:
            f = self._handle()
            header = {name: f["header"][name][start:stop] for name in HEADER}
            colls = {}
            for coll, spec in COLLECTIONS.items():
                g = f[coll]
                offsets = g["offsets"][start : stop + 1].astype(np.int64)
                lo, hi = int(offsets[0]), int(offsets[-1])
                if np.any(np.diff(offsets) < 0) or hi > len(g[next(iter(spec))]):
                    raise EventFileError(self.path, f"{coll}/offsets are inconsistent (corrupted file?)")
                cols = {name: g[name][lo:hi] for name in spec}
                colls[coll] = Collection.from_columns(coll, np.diff(offsets), cols)
        except (OSError, KeyError, ValueError) as exc:
            raise EventFileError(
                self.path, f"cannot read events {start}:{stop} (corrupted file?): {exc}"
            ) from exc
        return EventBatch.build(stop - start, header, source=str(self.path), **colls)
