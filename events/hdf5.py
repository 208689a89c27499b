"""This project's event store in HDF5: columnar, chunked, compressed, appendable, versioned.

Layout (docs/architecture.md §5.1, offsets plus flat arrays)::

    /                     attrs: format="belle2-display-events", SCHEMA_VERSION, n_events
    /header/<column>      one row per event
    /<collection>/offsets int64, n_events + 1
    /<collection>/<col>   one row per object, trailing shape as in events.model

Every dataset is chunked, gzip-compressed (with byte shuffle) and unlimited along its first
axis, so batches are appended without rewriting. A new store is written chunk by chunk: the rows of
the batches wait until they fill a chunk, which is then shuffled and deflated here once and stored as
it is (whatever the batch sizes, no chunk is compressed twice), into a temporary file that becomes the
store when the writer closes. Appending to an existing store goes through h5py, ``n_events`` updated
last on every append: an interrupted append leaves a file that still reads as the events written before it.
Reading events ``a:b`` touches only ``offsets[a:b+1]`` and the rows between them, the chunks read
as stored and decoded here (:func:`decode_raw`), from a local store at the offsets its layout, learnt
when it is first opened and kept while the file is unchanged, says (:class:`_StoreLayout`). A store may be
read from a ``root://``, ``https://`` or ``davs://`` URL (``events.remote.open_binary``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import h5py
import numba
import numpy as np

from events.file_memo import FileMemo, file_key
from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION, Collection, ColumnSpec, EventBatch
from events.outputs import AtomicOutput, GuardedFile, OutputError, failure_reason
from events.source import EventFileError, EventSource, is_url

FORMAT = "belle2-display-events"
HEADER_CHUNK = 4096  # events per chunk
ROW_CHUNK = 16384  # objects per chunk
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


try:  # libdeflate (pyproject.toml): about twice as fast as zlib
    import deflate as _libdeflate
except ImportError:  # pragma: no cover - zlib does the same, slower
    _libdeflate = None  # type: ignore[assignment]

SHUFFLE, DEFLATE = 2, 1  # HDF5 filter ids
CHUNK_CACHE = 24 * 2**20  # bytes of decoded chunks an open store keeps
Plan = tuple[int, bool]  # rows per chunk, shuffled


def _inflate(raw: bytes, size: int) -> Any:
    """The zlib stream ``raw`` of an HDF5 chunk inflated (``size``: the bytes it holds)."""
    if _libdeflate is not None:
        try:
            return _libdeflate.zlib_decompress(raw, size)
        except Exception:  # libdeflate's bound was wrong or the stream is bad: zlib says which
            pass
    return zlib.decompress(raw)


def chunk_plan(ds: h5py.Dataset) -> Plan | None:
    """(rows per chunk, shuffled) of a dataset chunked by whole rows and stored deflated, with or
    without the shuffle filter before, as :class:`HDF5Writer` writes; None for any other layout."""
    if ds.chunks is None or tuple(ds.chunks[1:]) != tuple(ds.shape[1:]):
        return None
    plist = ds.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if filters == [SHUFFLE, DEFLATE]:
        return ds.chunks[0], True
    if filters == [DEFLATE]:
        return ds.chunks[0], False
    return None


def decode_chunk(ds: h5py.Dataset, index: int, plan: Plan) -> np.ndarray:
    """Chunk ``index`` of ``ds`` read as stored and decoded here: (rows, *trailing), the dataset's dtype.

    What h5py's filter pipeline does, ~3x faster: its shuffle filter alone costs more than the inflate."""
    rows, _ = plan
    trailing = ds.shape[1:]
    mask, raw = ds.id.read_direct_chunk((index * rows,) + (0,) * len(trailing))
    if mask:  # a filter was skipped for this chunk: h5py decodes it
        return np.asarray(ds[index * rows : min((index + 1) * rows, ds.shape[0])])
    return decode_raw(raw, plan, ds.dtype, trailing)


def decode_raw(raw: bytes, plan: Plan, dtype: np.dtype, trailing: tuple[int, ...]) -> np.ndarray:
    """A chunk's stored bytes ``raw`` (deflated, shuffled where ``plan`` says) as its rows."""
    rows, shuffled = plan
    per_row = math.prod(trailing)
    size = dtype.itemsize
    data = np.frombuffer(memoryview(_inflate(raw, rows * per_row * size)), dtype=np.uint8)
    if shuffled and size > 1:  # the shuffle filter stored byte k of every element together, k = 0, 1, ...
        data = unshuffle(data, size)
    values = data.view(dtype)
    return values[: (len(values) // max(per_row, 1)) * per_row].reshape(-1, *trailing)


def unshuffle(data: np.ndarray, size: int) -> np.ndarray:
    """The bytes of the HDF5 shuffle filter's output ``data`` (byte k of every ``size``-byte element
    together, k = 0, 1, ...) in element order again; bytes past the last whole element dropped. One
    numba pass, each element put together from its bytes, for 2, 4 and 8 bytes (~6x numpy's strided
    copies); numpy for other sizes."""
    elements = len(data) // size
    kernel = _UNSHUFFLE.get(size) if LITTLE_ENDIAN else None
    if kernel is not None:
        out = np.empty(elements, dtype=f"u{size}")
        kernel(data, out)
        return out.view(np.uint8)
    planes = np.empty((elements, size), dtype=np.uint8)
    for k in range(size):
        planes[:, k] = data[k * elements : (k + 1) * elements]
    return planes.reshape(-1)


@numba.njit(cache=True, nogil=True)
def _unshuffle2(data: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    n = out.size
    for i in range(n):
        out[i] = np.uint16(data[i]) | (np.uint16(data[n + i]) << 8)


@numba.njit(cache=True, nogil=True)
def _unshuffle4(data: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    n = out.size
    for i in range(n):
        out[i] = (
            np.uint32(data[i])
            | (np.uint32(data[n + i]) << 8)
            | (np.uint32(data[2 * n + i]) << 16)
            | (np.uint32(data[3 * n + i]) << 24)
        )


@numba.njit(cache=True, nogil=True)
def _unshuffle8(data: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    n = out.size
    for i in range(n):
        out[i] = (
            np.uint64(data[i])
            | (np.uint64(data[n + i]) << 8)
            | (np.uint64(data[2 * n + i]) << 16)
            | (np.uint64(data[3 * n + i]) << 24)
            | (np.uint64(data[4 * n + i]) << 32)
            | (np.uint64(data[5 * n + i]) << 40)
            | (np.uint64(data[6 * n + i]) << 48)
            | (np.uint64(data[7 * n + i]) << 56)
        )


# (byte k of an element its k-th least significant: the order stored, on a little-endian machine)
LITTLE_ENDIAN = sys.byteorder == "little"
_UNSHUFFLE: dict[int, Callable[[np.ndarray, np.ndarray], None]] = {
    2: _unshuffle2,
    4: _unshuffle4,
    8: _unshuffle8,
}


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


def _deflate(data: Any) -> bytes:
    if _libdeflate is not None:
        return bytes(_libdeflate.zlib_compress(data, COMPRESSION["compression_opts"]))
    return zlib.compress(data, COMPRESSION["compression_opts"])


def encode_chunk(values: np.ndarray, shuffled: bool) -> bytes:
    """A whole chunk's rows as :func:`decode_chunk` reads them and HDF5's filters would store them:
    byte-shuffled (byte k of every element together), then deflated."""
    data = np.ascontiguousarray(values).reshape(-1).view(np.uint8)
    size = values.dtype.itemsize
    if shuffled and size > 1:
        data = np.ascontiguousarray(data.reshape(-1, size).T)
    return _deflate(data)


class _ChunkedColumn:
    """One dataset of a new store written in whole chunks: rows wait here until they fill a chunk,
    which is then shuffled and deflated once and stored as it is (``write_direct_chunk``); the last,
    partial chunk goes through h5py at the end. Appending through h5py instead rewrote a dataset's
    last chunk at every batch (read back, inflated, merged, deflated again, flushed): a skim of
    small batches recompressed each chunk many times. At most one chunk a dataset is held."""

    def __init__(self, ds: h5py.Dataset) -> None:
        self.ds = ds
        plan = chunk_plan(ds)
        self.rows = ds.chunks[0]
        self.shuffled = plan[1] if plan is not None else None
        self.written = ds.shape[0]
        self.pending: list[np.ndarray] = []
        self.held = 0

    def push(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=self.ds.dtype)
        if not len(values):
            return
        self.pending.append(values)
        self.held += len(values)
        if self.held >= self.rows:
            data = self._joined()
            whole = (len(data) // self.rows) * self.rows
            self._store(data[:whole])
            rest = data[whole:]
            self.pending, self.held = ([rest] if len(rest) else []), len(rest)

    def _joined(self) -> np.ndarray:
        return self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)

    def _store(self, data: np.ndarray, end: int | None = None) -> None:
        """Whole chunks from a chunk boundary on (the last of them may be cut at ``end`` rows: HDF5
        stores an edge chunk whole, the rows past the dataset's end as the fill value, 0)."""
        at = self.written
        end = len(data) if end is None else end
        self.ds.resize(at + end, axis=0)
        if self.shuffled is None or at % self.rows:
            self.ds[at:] = data[:end]
        else:
            trailing = (0,) * (data.ndim - 1)
            for lo in range(0, len(data), self.rows):
                piece = encode_chunk(data[lo : lo + self.rows], self.shuffled)
                self.ds.id.write_direct_chunk((at + lo, *trailing), piece)
        self.written = at + end

    def finish(self) -> None:
        if self.held:
            data = self._joined()
            padded = np.zeros((self.rows, *data.shape[1:]), dtype=data.dtype)
            padded[: len(data)] = data
            self._store(padded, len(data))
        self.pending, self.held = [], 0


class HDF5Writer:
    """Appends batches to an event store; creates it (``mode="w"``) or extends it (``mode="a"``).

    A new store is written atomically (``events.outputs``): into a temporary file that replaces
    ``path`` only when the writer is closed after a clean run, so a failed write leaves any
    previous file unchanged. An append extends the file in place (``n_events`` last).
    """

    def __init__(self, path: str | Path, mode: str = "w", inputs: Iterable[str | Path] = ()) -> None:
        self.path = Path(path)
        self._output: AtomicOutput | None = None
        self._sink: GuardedFile | None = None
        self._columns: dict[str, _ChunkedColumn] | None = None  # a new store: rows pending per dataset
        self._totals = dict.fromkeys(COLLECTIONS, 0)  # objects per collection so far
        if mode not in ("w", "a"):
            raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")
        try:
            if mode == "a" and self.path.exists():
                self.file = h5py.File(self.path, "a")
                self.n_events = _check_schema(self.file, self.path)
                return
            self._output = AtomicOutput(self.path, "hdf5", inputs)
            tmp = self._output.__enter__()
            try:
                # through a Python file object, so a full disk is an error we see, not a crash in HDF5
                self._sink = GuardedFile(tmp)
                self.file = h5py.File(self._sink, "w")
                self._layout()
                self._columns = {
                    f"{group}/{name}": _ChunkedColumn(ds)
                    for group, names in [("header", list(HEADER))]
                    + [(c, ["offsets", *COLLECTIONS[c]]) for c in COLLECTIONS]
                    for name in names
                    for ds in [self.file[group][name]]
                }
                for coll in COLLECTIONS:
                    self._columns[f"{coll}/offsets"].push(np.zeros(1, np.int64))
                self._check_sink()
            except BaseException as exc:
                self._discard()
                self._output.__exit__(type(exc), exc, exc.__traceback__)
                raise
            self.n_events = 0
        except OutputError:
            raise
        except OSError as exc:
            raise EventFileError(self.path, f"cannot open for writing: {exc}") from exc

    def _discard(self) -> None:
        """Close an HDF5 file on the guarded sink after a failure (one left open crashes at exit)."""
        file = getattr(self, "file", None)
        if file is not None:
            with contextlib.suppress(Exception):
                file.close()
        if self._sink is not None:
            self._sink.close()

    def _check_sink(self) -> None:
        if self._sink is not None and self._sink.error is not None and self._output is not None:
            raise self._output.error(self._sink.error) or self._sink.error

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
            g.create_dataset(  # its first row, 0, is pushed with the rest
                "offsets", shape=(0,), dtype=np.int64, maxshape=(None,), chunks=(HEADER_CHUNK,), **COMPRESSION
            )
            for name, spec in columns.items():
                _create(g, name, spec, ROW_CHUNK)

    def append(self, batch: EventBatch) -> None:
        if self._columns is not None:
            self._append_buffered(batch)
            return
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
            self._write_failed(exc, n)
        self._check_sink()

    def _write_failed(self, exc: OSError, n: int) -> None:
        if isinstance(exc, OutputError):
            raise exc
        reason = failure_reason(exc) or str(exc)
        raise EventFileError(self.path, f"write failed after {n} events: {reason}") from exc

    def _append_buffered(self, batch: EventBatch) -> None:
        """A new store: the batch's rows join each dataset's pending rows, and every chunk completed
        is written once, whole (:class:`_ChunkedColumn`), whatever the size of the batches."""
        columns, n = self._columns, self.n_events
        assert columns is not None
        try:
            for name in HEADER:
                columns[f"header/{name}"].push(batch.header[name])
            for coll, c in batch.collections().items():
                columns[f"{coll}/offsets"].push(c.offsets[1:] + self._totals[coll])
                self._totals[coll] += int(c.offsets[-1])
                for name in COLLECTIONS[coll]:
                    columns[f"{coll}/{name}"].push(c.columns[name])
        except OSError as exc:
            self._write_failed(exc, n)
        self.n_events = n + len(batch)
        self._check_sink()

    def _finish_buffered(self) -> None:
        """The rows of the last, partial chunks, then ``n_events``."""
        if self._columns is None:
            return
        try:
            for column in self._columns.values():
                column.finish()
            self.file.attrs["n_events"] = self.n_events
        except OSError as exc:
            self._write_failed(exc, self.n_events)
        self._columns = None

    def close(self, exc: BaseException | None = None) -> None:
        """Close the file; a new store replaces ``path`` now, unless ``exc`` (a failure) is given."""
        output, self._output = self._output, None
        if output is None:  # an append: the file itself is the result
            try:
                self.file.close()
            except OSError as failure:
                raise EventFileError(self.path, f"cannot close: {failure}") from failure
            return
        sink, self._sink = self._sink, None
        if exc is None:
            try:
                self._finish_buffered()
                self.file.flush()
                self.file.close()
            except (OSError, RuntimeError, EventFileError) as failure:
                exc = failure
        else:
            with contextlib.suppress(Exception):
                self.file.close()
        if sink is not None:
            sink.close()
            if exc is None and sink.error is not None:
                exc = sink.error
        # commits when exc is None; else removes the temporary and raises exc as an OutputError if
        # it is an output failure (a full disk), or lets the caller's exception go on
        output.__exit__(None if exc is None else type(exc), exc, None)
        if isinstance(exc, OSError):  # a failed flush: error() always translates an OSError
            raise output.error(exc) or exc

    def __enter__(self) -> HDF5Writer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(exc[1])


def write(
    path: str | Path, batches: Iterable[EventBatch], mode: str = "w", inputs: Iterable[str | Path] = ()
) -> int:
    """Write (or with ``mode="a"`` append) batches one after another; returns the events in the file."""
    with HDF5Writer(path, mode, inputs) as w:
        for batch in batches:
            w.append(batch)
        return w.n_events


def _attr_int(f: h5py.File, path: str | Path, name: str) -> int | None:
    """An integer attribute, whatever was stored there (a string, an array, NaN: one clear line)."""
    value = f.attrs.get(name)
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in "iuf" or not np.isfinite(arr) or arr != np.floor(arr):
        shown = repr(arr.item())[:80] if arr.shape == () else f"an array of shape {arr.shape}"
        raise EventFileError(path, f"HDF5 attribute {name} is {shown}, not a whole number")
    if not -(2**62) <= arr <= 2**62:
        raise EventFileError(path, f"HDF5 attribute {name} is {float(arr):.6g}, far outside any event count")
    return int(arr)


def count_events(path: Path) -> int:
    """The number of events of a local store from its attributes alone (format, schema version and
    ``n_events`` checked; the datasets are checked when the store is opened, :class:`HDF5Source`):
    a few ms, against tens for opening it. h5py's own errors are left to the caller."""
    with h5py.File(path, "r") as f:
        return _check_attributes(f, path)


def _check_attributes(f: h5py.File, path: str | Path) -> int:
    """Validate format and version; returns the number of events."""
    fmt = f.attrs.get("format")
    if fmt is None or (fmt.decode(errors="replace") if isinstance(fmt, bytes) else str(fmt)) != FORMAT:
        shown = repr(fmt)[:80]
        raise EventFileError(path, f"not an event store of this program (HDF5 attribute format={shown})")
    version = _attr_int(f, path, "SCHEMA_VERSION")
    if version is None:
        raise EventFileError(path, "no SCHEMA_VERSION attribute")
    if version > SCHEMA_VERSION:
        raise EventFileError(
            path, f"written with event schema version {version}, newer than this program's "
            f"{SCHEMA_VERSION}; update the program to read it"
        )  # fmt: skip
    if version != SCHEMA_VERSION:
        raise EventFileError(
            path, f"unknown event schema version {version} (this program reads {SCHEMA_VERSION})"
        )
    n = _attr_int(f, path, "n_events")
    if n is None:
        raise EventFileError(path, "no n_events attribute")
    if n < 0:
        raise EventFileError(path, f"HDF5 attribute n_events is {n}, not an event count")
    return n


def _check_schema(f: h5py.File, path: str | Path, lengths: dict[str, int] | None = None) -> int:
    """Validate format, version and datasets; returns the number of events. ``lengths``, if given,
    gets the rows of every dataset checked by "group/name". Through h5py's low-level objects: a
    ``Dataset`` made of each of the ~70 costs ~0.1 ms, a third of opening a store (the reader makes
    those it reads)."""
    n = _check_attributes(f, path)
    expected = [("header", HEADER), *COLLECTIONS.items()]
    for group, spec in expected:
        try:
            gid: Any = h5py.h5g.open(f.id, group.encode())
        except Exception:  # no such group, or not a group
            gid = None
        for name, (dtype, shape, _) in spec.items():
            key = f"{group}/{name}"
            dsid = _open_dataset(gid, name)
            if dsid is None:
                raise EventFileError(path, f"missing dataset {key}")
            got, dims = dsid.dtype, dsid.shape  # (each a call into HDF5)
            if got != np.dtype(dtype) or dims[1:] != shape:
                raise EventFileError(
                    path, f"dataset {key} is {got}{list(dims[1:])}, schema says {dtype}{list(shape)}"
                )
            rows = dims[0] if dims else 0
            if group == "header" and rows < n:
                raise EventFileError(path, f"dataset {key} has {rows} rows for {n} events (truncated?)")
            if lengths is not None:
                lengths[key] = rows
        if group != "header":
            off = _open_dataset(gid, "offsets")
            dims = off.shape if off is not None else ()
            rows = dims[0] if dims else 0
            if off is None or rows < n + 1:
                raise EventFileError(path, f"missing or short dataset {group}/offsets")
            if lengths is not None:
                lengths[f"{group}/offsets"] = rows
    return n


def _open_dataset(gid: Any, name: str) -> Any:
    """The low-level dataset ``name`` of the group ``gid``, or None (no group, no such dataset, not one)."""
    if gid is None:
        return None
    try:
        obj = h5py.h5o.open(gid, name.encode())
    except Exception:
        return None
    return obj if isinstance(obj, h5py.h5d.DatasetID) else None


# a dataset's plan, each chunk's byte offset (-1: h5py reads it) and size, its dtype and trailing shape
Table = tuple[Plan, np.ndarray, np.ndarray, np.dtype, tuple[int, ...]]


class _StoreLayout:
    """What opening a local store learns, kept after it is closed (``_LAYOUTS``): its event count
    (its attributes and datasets checked), each dataset's length, and where each dataset's chunks lie
    in the file (learnt from HDF5's chunk index once, when the dataset is first read). A store opened
    again reads its chunks with ``os.pread`` alone: no HDF5 file opened, no schema checked again, no
    chunk index searched at every chunk (~0.1 ms a reopening of ~70 datasets, ~30 µs a chunk)."""

    def __init__(self, n: int, lengths: dict[str, int]) -> None:
        self.n = n
        self.lengths = lengths
        self.tables: dict[str, Table | None] = {}  # None: not a layout decoded here (h5py reads it)

    @property
    def nbytes(self) -> int:
        return 64 * len(self.lengths) + sum(16 * len(t[1]) for t in self.tables.values() if t is not None)

    def learn(self, key: str, ds: h5py.Dataset) -> Table | None:
        plan = chunk_plan(ds)
        table: Table | None = None
        if plan is not None:
            count = -(-ds.shape[0] // plan[0])
            seeks = np.full(count, -1, dtype=np.int64)
            sizes = np.zeros(count, dtype=np.int64)

            def note(info: Any) -> None:
                index = info.chunk_offset[0] // plan[0]
                if not info.filter_mask and 0 <= index < count and info.byte_offset is not None:
                    seeks[index], sizes[index] = info.byte_offset, info.size

            if count:
                ds.id.chunk_iter(note)
            table = (plan, seeks, sizes, ds.dtype, tuple(ds.shape[1:]))
        self.tables[key] = table
        return table


# local stores -> their layouts (by path, modification time and size: a file replaced since is
# learnt again), the most recently used kept while they hold at most LAYOUT_BYTES
LAYOUT_BYTES = 4 * 2**20
_LAYOUTS: FileMemo[_StoreLayout] = FileMemo(LAYOUT_BYTES)


_SCRATCH = threading.local()  # per thread (passes may run on several): the chunk bytes read


def _pread(fd: int, size: int, at: int) -> Any:
    """``size`` bytes of the file ``fd`` from byte ``at`` (fewer at its end), read into this
    thread's buffer, reused from chunk to chunk: inflating from it costs a fifth less than from a
    new ``bytes`` of each chunk. Valid until the next call; the chunk is inflated before then."""
    if not hasattr(os, "preadv"):  # pragma: no cover - not Linux, BSD or macOS 11+
        return os.pread(fd, size, at)
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _SCRATCH.buffer = memoryview(bytearray(max(size, 2**20)))
    return buffer[: os.preadv(fd, [buffer[:size]], at)]


class HDF5Source(EventSource):
    """Reads an event store, only the rows each ``read`` needs; the file stays open between reads."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._file: h5py.File | None = None
        # dataset handles by "group/name", looked up once: h5py's path lookup costs ~0.1 ms each,
        # and one event touches ~70 datasets
        self._datasets: dict[str, h5py.Dataset] = {}
        self._plans: dict[str, Plan | None] = {}  # how each dataset's chunks are decoded (rows)
        # decoded chunks by (dataset, chunk number), least recently used first, CHUNK_CACHE bytes in all
        self._chunks: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._held = 0
        self._fd: int | None = None  # the file for os.pread where its layout is known
        self._lengths: dict[str, int] = {}  # rows of each dataset of the schema
        self._key = file_key(self.path)
        layout = _LAYOUTS.get(self._key)
        if layout is not None:  # opened before, unchanged since: checked then, read by os.pread
            self._layout: _StoreLayout | None = layout
            self._n, self._lengths = layout.n, layout.lengths
            return
        self._layout = None
        lengths = self._lengths
        try:
            self._n = _check_schema(self._handle(), self.path, lengths)
        except EventFileError:
            self.close()
            raise
        except Exception as exc:  # h5py raises OSError, ValueError, KeyError... on damaged metadata
            self.close()
            raise EventFileError(
                self.path, f"damaged HDF5 metadata (corrupted file?): {type(exc).__name__}: {exc}"
            ) from exc
        if self._key is not None:
            self._layout = _StoreLayout(self._n, lengths)
            _LAYOUTS.keep(self._key, self._layout)

    def _handle(self) -> h5py.File:
        if self._file is None:
            try:
                self._file = h5py.File(self._open_location(), "r")
            except EventFileError:
                raise
            except Exception as exc:  # OSError mostly; damaged superblocks raise others
                raise EventFileError(
                    self.path, f"not a readable HDF5 file (truncated or corrupted?): {exc}"
                ) from exc
        return self._file

    def _open_location(self) -> Any:
        """What h5py opens: the local path, or a URL's bytes read ahead over the network."""
        if isinstance(self.path, str) and is_url(self.path):
            from events import remote  # deferred: uproot and the XRootD client only for URLs

            return remote.open_binary(self.path)
        return self.path

    def trim(self) -> None:
        self._chunks.clear()
        self._held = 0

    def close(self) -> None:
        self._datasets.clear()
        self.trim()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _dataset(self, group: str, name: str) -> h5py.Dataset:
        key = f"{group}/{name}"
        ds = self._datasets.get(key)
        if ds is None:
            ds = self._datasets[key] = self._handle()[group][name]
        return ds

    def length(self, group: str, name: str) -> int:
        """The rows of dataset ``group/name``."""
        rows = self._lengths.get(f"{group}/{name}")
        return len(self._dataset(group, name)) if rows is None else rows

    def _table(self, key: str, group: str, name: str) -> Table | None:
        """Where dataset ``key``'s chunks lie (learnt once per file), or None (h5py reads it)."""
        layout = self._layout
        if layout is None:
            return None
        if key in layout.tables:
            return layout.tables[key]
        return layout.learn(key, self._dataset(group, name))

    def _chunk(
        self, key: str, group: str, name: str, index: int, plan: Plan, table: Table | None
    ) -> np.ndarray:
        """Chunk ``index`` of dataset ``key`` decoded: read with ``os.pread`` where the layout says
        where it lies, else through h5py (``read_direct_chunk``)."""
        if table is not None and index < len(table[1]) and table[1][index] >= 0:
            seek, size = int(table[1][index]), int(table[2][index])
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
            raw = _pread(self._fd, size, seek)
            if len(raw) != size:
                raise EventFileError(
                    self.path, f"{key}: chunk {index} lies past the end of the file (truncated?)"
                )
            return decode_raw(raw, plan, table[3], table[4])
        return decode_chunk(self._dataset(group, name), index, plan)

    def rows(self, group: str, name: str, lo: int, hi: int, copy: bool = True) -> np.ndarray:
        """Rows ``lo:hi`` of dataset ``group/name``: its chunks decoded by :func:`decode_chunk` (h5py
        reads datasets of another layout) and kept, the least recently used dropped past
        ``CHUNK_CACHE`` bytes (as h5py's own chunk cache would, ~1 MB a dataset), so stepping through
        events or a pass in chunks decodes each chunk once, and a store of some 20 000 events is held
        whole. Without ``copy`` the result may be a read-only view of a kept chunk."""
        key = f"{group}/{name}"
        table = self._table(key, group, name)
        if table is not None:
            plan: Plan | None = table[0]
        else:
            if key not in self._plans:
                self._plans[key] = chunk_plan(self._dataset(group, name))
            plan = self._plans[key]
        if table is not None and hi <= lo:
            return np.empty((0, *table[4]), dtype=table[3])
        if plan is None or hi <= lo:
            return np.asarray(self._dataset(group, name)[lo:hi])
        rows = plan[0]
        parts = []
        for index in range(lo // rows, (hi - 1) // rows + 1):
            chunk = self._chunks.pop((key, index), None)
            if chunk is None:
                chunk = self._chunk(key, group, name, index, plan, table)
                chunk.flags.writeable = False
                self._held += chunk.nbytes
            self._chunks[(key, index)] = chunk  # the newest last
            while self._held > CHUNK_CACHE and len(self._chunks) > 1:
                self._held -= self._chunks.popitem(last=False)[1].nbytes
            base = index * rows
            a, b = max(lo, base) - base, min(hi, base + rows) - base
            if b > len(chunk):
                raise EventFileError(self.path, f"{key}: chunk {index} holds too few rows (corrupted?)")
            parts.append(chunk[a:b])
        if len(parts) > 1:
            return np.concatenate(parts)
        return parts[0].copy() if copy else parts[0]

    def __len__(self) -> int:
        return self._n

    def _read(self, start: int, stop: int) -> EventBatch:
        try:
            header = {name: self.rows("header", name, start, stop) for name in HEADER}
            colls = {}
            for coll, spec in COLLECTIONS.items():
                offsets = self.rows(coll, "offsets", start, stop + 1).astype(np.int64)
                lo, hi = int(offsets[0]), int(offsets[-1])
                if np.any(np.diff(offsets) < 0) or hi > self.length(coll, next(iter(spec))):
                    raise EventFileError(self.path, f"{coll}/offsets are inconsistent (corrupted file?)")
                if len(offsets) != stop - start + 1:
                    raise EventFileError(self.path, f"{coll}/offsets are too short (truncated file?)")
                cols = {name: self.rows(coll, name, lo, hi) for name in spec}
                colls[coll] = Collection.from_columns(coll, np.diff(offsets), cols)
        except EventFileError:
            raise
        except Exception as exc:  # h5py's errors on damaged data: OSError, ValueError, KeyError, ...
            raise EventFileError(
                self.path, f"cannot read events {start}:{stop} (corrupted file?): {exc}"
            ) from exc
        return EventBatch.build(stop - start, header, source=str(self.path), **colls)
