"""This project's event ntuple in ROOT: a TTree ``events`` written with uproot ``mktree``.

Branch naming (what ``uproot.dask`` and any ROOT user see):

* header columns by their name: ``event``, ``run``, ``l1_bits``, ``bz``, ...
* collection columns ``{collection}_{column}`` (``tracks_d0``, ``ecl_energy``), jagged, with one
  int32 counter per collection ``n{collection}`` (``ntracks``, ``necl``) shared by its columns;
* a column with a trailing shape (``tracks_cov`` 15 values, ``tracks_pid_logl`` 6 values,
  ``vertices_cov`` 6 values) is stored as one jagged scalar branch per component,
  ``{collection}_{column}_{k}`` (``tracks_cov_0`` ... ``tracks_cov_14``), because uproot 5.7
  writes ``float[n][15]`` branches it cannot read back. :func:`branch_names` lists them.

The tree title carries the format name and ``SCHEMA_VERSION`` ("belle2-display-events schema 1").
``events.root_files.open_root`` tells this ntuple from a Belle II mdst file by what the file contains.
"""

from __future__ import annotations

import math
import os
import struct
import weakref
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import awkward as ak
import cramjam
import numpy as np
import uproot
import xxhash
from uproot.interpretation.jagged import AsJagged
from uproot.interpretation.numerical import AsDtype

from events import remote, rootclasses
from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION, Collection, EventBatch
from events.outputs import AtomicOutput, OutputError
from events.source import EventFileError, EventSource, Location, is_url

TREE = "events"
FORMAT = "belle2-display-events"
TITLE = f"{FORMAT} schema {SCHEMA_VERSION}"


def branch_name(collection: str, column: str) -> str:
    """Branch of a header column (``collection="header"``) or of a scalar collection column."""
    if collection == "header":
        if column not in HEADER:
            raise KeyError(f"no header column {column!r}")
        return column
    shape = COLLECTIONS[collection][column][1]
    if shape:
        raise KeyError(f"{collection}.{column} has {shape[0]} components; use branch_names()")
    return f"{collection}_{column}"


def branch_names(collection: str, column: str) -> list[str]:
    """All branches holding one column: one name, or one per component of a multi-valued column."""
    if collection == "header":
        return [branch_name(collection, column)]
    shape = COLLECTIONS[collection][column][1]
    if not shape:
        return [f"{collection}_{column}"]
    return [f"{collection}_{column}_{k}" for k in range(int(np.prod(shape)))]


def counter_name(collection: str) -> str:
    return f"n{collection}"


def _tree_data(batch: EventBatch) -> dict[str, Any]:
    """What ``mktree``/``extend`` take: header columns as numpy, each collection as one jagged
    array of records, built from its offsets and columns directly (``ak.unflatten`` + ``ak.zip``
    per branch cost ~1 ms each, most of writing an ntuple in baskets of a few hundred events)."""
    data: dict[str, Any] = {name: np.asarray(batch.header[name]) for name in HEADER}
    for coll, c in batch.collections().items():
        names: list[str] = []
        contents: list[ak.contents.Content] = []
        for column, values in c.columns.items():
            flat = values.reshape(len(values), int(np.prod(values.shape[1:])))
            for k, name in enumerate(branch_names(coll, column)):
                names.append(name[len(coll) + 1 :])
                contents.append(ak.contents.NumpyArray(np.ascontiguousarray(flat[:, k])))
        offsets = ak.index.Index64(np.asarray(c.offsets, dtype=np.int64))
        records = ak.contents.RecordArray(contents, names, length=int(c.offsets[-1]))
        data[coll] = ak.Array(ak.contents.ListOffsetArray(offsets, records))
    return data


def write(
    path: str | Path,
    batches: Iterable[EventBatch],
    inputs: Iterable[str | Path] = (),
    basket_events: int | None = None,
) -> int:
    """Write batches into a new ROOT file, the first with ``mktree``, the rest with ``extend``,
    in baskets of ``basket_events`` events (``BASKET_EVENTS``: sized for reading single events;
    larger ones suit files only ever read whole).

    Written atomically (``events.outputs``): a failed write leaves any previous file unchanged;
    ``inputs`` (the files the batches come from) are never overwritten.
    """
    path = Path(path)
    n = 0
    try:
        with AtomicOutput(path, "root", inputs) as tmp, uproot.recreate(tmp, compression=COMPRESSION) as f:
            tree = None
            for basket in _baskets(batches, basket_events or BASKET_EVENTS):
                data = _tree_data(basket)
                if tree is None:
                    tree = f.mktree(TREE, data, title=TITLE, initial_basket_capacity=BASKET_CAPACITY)
                else:
                    tree.extend(data)
                n += len(basket)
            if tree is None:
                f.mktree(TREE, _tree_data(EventBatch.empty()), title=TITLE)
    except OutputError:
        raise
    except OSError as exc:
        raise EventFileError(path, f"cannot write: {exc}") from exc
    return n


def _baskets(batches: Iterable[EventBatch], size: int) -> Iterator[EventBatch]:
    """The batches re-cut into pieces of ``size`` events: each ``extend`` writes one basket per
    branch, so this sets the baskets' size whatever the size of the batches."""
    pending: list[EventBatch] = []
    held = 0
    for batch in batches:
        start = 0
        while start < len(batch):
            piece = batch.slice(start, start + size - held)
            start += len(piece)
            pending.append(piece)
            held += len(piece)
            if held == size:
                yield pending[0] if len(pending) == 1 else EventBatch.concat(pending)
                pending, held = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else EventBatch.concat(pending)


def _check_complete(path: Location, file: Any) -> None:
    """A file shorter than the end its header records was cut off (a copy or download that stopped):
    said when it is opened, not at the first basket past the cut."""
    end = getattr(getattr(file, "file", None), "fEND", None)
    size = remote.file_size(file) if is_url(path) else Path(path).stat().st_size
    if isinstance(end, int) and size is not None and size < end:
        raise EventFileError(path, f"truncated: {size} bytes of the {end} its ROOT header records")


# LZ4 decompresses ~8x faster than ZLIB for a few % more bytes: a single event's read is mostly
# the decompression of its baskets. ROOT reads LZ4 since 6.12 (uproot through cramjam).
COMPRESSION = uproot.LZ4(1)
# Events per basket that ``write`` gives every branch: one event read at random decompresses one
# basket of each of the ~90 branches. A miss costs ~3.3 ms CPU with baskets of 256 events, ~3.6
# with 1024, ~5.6 with 4096 and ~40 ms with 5000 through uproot; 1024 writes 3-4x faster, scans
# ~1.8x faster and makes files ~1.4-2x smaller than 256 (one uproot ``extend`` per basket, the
# per-basket key and its compression), so it is the size for single events and whole reads alike.
BASKET_EVENTS = 1024
BASKET_CAPACITY = 100  # baskets per branch the tree's metadata has room for before uproot grows it
BLOCK_EVENTS = 4096  # reads of up to this many events are assembled from cached baskets
CACHE_BYTES = 64 * 2**20  # decoded baskets kept, least recently used dropped first


def _counts_and_content(jagged: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per-entry counts and the flat values of a jagged branch.

    uproot hands a jagged branch over as a list-offset layout: its offsets and content are read as
    numpy arrays directly (a few µs), where ``ak.num`` + ``ak.flatten`` dispatch through awkward's
    generic machinery (~0.3 ms a branch, most of a single-event read). Other layouts take that way.
    """
    layout = jagged.layout
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(layout.content, ak.contents.NumpyArray):
        offsets = np.asarray(layout.offsets)
        return np.diff(offsets), np.asarray(layout.content.data)[offsets[0] : offsets[-1]]
    return ak.to_numpy(ak.num(jagged, axis=1)), ak.to_numpy(ak.flatten(jagged, axis=1))


class NtupleSource(EventSource):
    """Reads the ``events`` TTree written by :func:`write`."""

    def __init__(self, path: str | Path, tree: Any) -> None:
        super().__init__(path)
        self.tree = tree
        title = str(tree.title)
        try:
            version = int(title.rsplit(" ", 1)[-1])
        except ValueError:
            raise EventFileError(
                self.path, f"tree {TREE!r} has no schema version in its title {title!r}"
            ) from None
        if version > SCHEMA_VERSION:
            raise EventFileError(
                self.path,
                f"written with event schema version {version}, newer than this program's {SCHEMA_VERSION}; "
                "update the program to read it",
            )
        if version != SCHEMA_VERSION:
            raise EventFileError(self.path, f"unknown event schema version {version}")
        available = set(tree.keys())
        wanted = [name for name in HEADER] + [
            name for coll, spec in COLLECTIONS.items() for col in spec for name in branch_names(coll, col)
        ]
        missing = [name for name in wanted if name not in available]
        if missing:
            shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
            raise EventFileError(self.path, f"tree {TREE!r} lacks branches {shown}")
        self.branches = wanted
        self._baskets: BasketReader | None = None  # made on the first small read
        self._direct = True  # False: the baskets are read through uproot's tree.arrays
        self._basket_starts: np.ndarray | None = None  # entry where each basket starts, then the end
        self._blocks: dict[int, tuple[EventBatch, int]] = {}  # basket -> (events, bytes), oldest first
        self._cached_bytes = 0

    def __len__(self) -> int:
        return int(self.tree.num_entries)

    def _failed(self) -> None:
        rootclasses.forget()

    def trim(self) -> None:
        """Drop the cached baskets, the file staying open."""
        self._blocks.clear()
        self._cached_bytes = 0

    def close(self) -> None:
        """Release the ROOT file (uproot keeps it open until told) and the cached baskets."""
        self.trim()
        if self._baskets is not None:
            self._baskets.close()
            self._baskets = None
        rootclasses.close(self.tree.file)

    def _read(self, start: int, stop: int) -> EventBatch:
        """Events straight from the baskets of every branch (``BasketReader``): uproot keeps no
        decompressed basket, so each read of one event would decompress its baskets again, and
        ``tree.arrays`` costs ~0.3 ms a branch even for one entry. Small reads come from a bounded
        cache of decoded baskets, a missing one read from the file (every branch's basket of that
        entry range in one read); large reads of a local file decode their baskets without caching
        them (of a URL: through uproot, all baskets in one request). A tree the reader does not
        know is read through uproot."""
        starts = self._starts()
        first = int(np.searchsorted(starts, start, side="right")) - 1
        last = int(np.searchsorted(starts, stop, side="left"))  # baskets first..last-1
        if not self._direct or stop <= start or first < 0 or last >= len(starts):
            return self._read_entries(start, stop)
        if is_url(self.path) and last - first > 2:  # uproot asks for them in one vectored request
            return self._read_entries(start, stop)
        if stop - start > BLOCK_EVENTS or last - first > 8:
            whole = self._read_baskets(first, last, (start, stop))
            if whole is None:
                return self._read_entries(start, stop)
            lo = int(starts[first])
            return whole.slice(start - lo, stop - lo) if (start, stop) != (lo, starts[last]) else whole
        pieces = []
        for k in range(first, last):
            lo, hi = int(starts[k]), int(starts[k + 1])
            block = self._block(k, (start, stop))
            if block is None:  # not readable directly: uproot reads it from now on
                return self._read_entries(start, stop)
            pieces.append(block.slice(max(start, lo) - lo, min(stop, hi) - lo))
        return pieces[0] if len(pieces) == 1 else EventBatch.concat(pieces)

    def _reader(self) -> BasketReader | None:
        """The direct reader of this tree's baskets, None (from then on) where it does not apply."""
        if self._baskets is None and self._direct:
            try:
                self._baskets = BasketReader(self.tree, self.branches, self.path)
            except NotDirect:
                self._direct = False
            else:
                if len(self._starts()) != self._baskets.n_baskets + 1:
                    self._direct = False
        return self._baskets if self._direct else None

    def _decoded(
        self, k: int, wanted: tuple[int, int]
    ) -> dict[str, tuple[np.ndarray | None, np.ndarray]] | None:
        """Basket ``k`` of every branch, decoded; None where the direct reader does not apply.
        An error names the entries ``wanted``, the read that needed the basket."""
        reader = self._reader()
        if reader is None:
            return None
        try:
            return reader.read(k)
        except NotDirect:
            self._direct = False
            return None
        except Exception as exc:
            raise remote.read_error(self.path, exc, f"cannot read entries {wanted[0]}:{wanted[1]}") from exc

    def _read_baskets(self, first: int, last: int, wanted: tuple[int, int]) -> EventBatch | None:
        """Baskets ``first`` to ``last - 1`` as one batch, not cached (a large read)."""
        parts = []
        for k in range(first, last):
            decoded = self._decoded(k, wanted)
            if decoded is None:
                return None
            parts.append(decoded)
        merged: dict[str, tuple[np.ndarray | None, np.ndarray]] = {}
        for name in self.branches:
            counts = [part[name][0] for part in parts]
            values = np.concatenate([part[name][1] for part in parts])
            merged[name] = (None if counts[0] is None else np.concatenate(counts), values)  # type: ignore[arg-type]
        starts = self._starts()
        return self._assemble(merged, int(starts[last] - starts[first]))

    def _starts(self) -> np.ndarray:
        """The entry where each basket starts, then the number of entries."""
        if self._basket_starts is None:
            offsets = np.asarray(self.tree[self.branches[0]].entry_offsets, dtype=np.int64)
            self._basket_starts = offsets if len(offsets) >= 2 else np.array([0, len(self)], np.int64)
        return self._basket_starts

    def _block(self, k: int, wanted: tuple[int, int]) -> EventBatch | None:
        """Basket ``k`` of every branch as one batch, from the bounded cache or the file."""
        cached = self._blocks.pop(k, None)
        if cached is None:
            decoded = self._decoded(k, wanted)
            if decoded is None:
                return None
            starts = self._starts()
            block = self._assemble(decoded, int(starts[k + 1] - starts[k]))
            cached = (block, _nbytes(block))
            self._cached_bytes += cached[1]
        self._blocks[k] = cached  # newest last
        while self._cached_bytes > CACHE_BYTES and len(self._blocks) > 1:
            self._cached_bytes -= self._blocks.pop(next(iter(self._blocks)))[1]
        return cached[0]

    def _read_entries(self, start: int, stop: int) -> EventBatch:
        try:
            arrays = self.tree.arrays(
                self.branches, entry_start=start, entry_stop=stop, library="ak", how=dict
            )
        except Exception as exc:
            raise remote.read_error(self.path, exc, f"cannot read entries {start}:{stop}") from exc
        split: dict[str, tuple[np.ndarray | None, np.ndarray]] = {
            name: (None, ak.to_numpy(arrays[name])) for name in HEADER
        }
        jagged = (name for name in self.branches if name not in HEADER)
        split.update((name, _counts_and_content(arrays[name])) for name in jagged)
        return self._assemble(split, stop - start)

    def _assemble(self, arrays: dict[str, tuple[np.ndarray | None, np.ndarray]], n: int) -> EventBatch:
        """A batch of ``n`` events from each branch's (per-event counts or None, flat values)."""
        header = {name: arrays[name][1] for name in HEADER}
        colls = {}
        for coll, spec in COLLECTIONS.items():
            counts = None
            cols = {}
            for column, (_, shape, _) in spec.items():
                parts = []
                for name in branch_names(coll, column):
                    branch_counts, flat = arrays[name]
                    if counts is None:
                        counts = branch_counts
                    elif branch_counts is not None and not np.array_equal(branch_counts, counts):
                        raise EventFileError(self.path, f"branch {name} disagrees with {coll}'s counts")
                    parts.append(flat)
                cols[column] = np.stack(parts, axis=-1).reshape(-1, *shape) if shape else parts[0]
            colls[coll] = Collection.from_columns(coll, counts if counts is not None else np.zeros(n), cols)
        return EventBatch.build(n, header, source=str(self.path), **colls)


def _nbytes(batch: EventBatch) -> int:
    return sum(a.nbytes for a in batch.header.values()) + sum(
        c.offsets.nbytes + sum(a.nbytes for a in c.columns.values()) for c in batch.collections().values()
    )


class NotDirect(Exception):
    """A tree whose baskets ``BasketReader`` does not read (uproot's general path reads them)."""


_KEY = struct.Struct(">ihiIhh")  # fNbytes, key version, fObjlen, fDatime, fKeylen, fCycle
_BASKET = struct.Struct(">Hiiii")  # fVersion, fBufferSize, fNevBufSize, fNevBuf, fLast (then a flag byte)
_BLOCK = struct.Struct("<2sB3s3s")  # a compressed block: algorithm, method, sizes (3-byte little-endian)
_CHECKSUM = struct.Struct(">Q")
_OFFSET = np.dtype(">i4")
_MAX_EXPANSION = 1032  # the most zlib (and, far below it, LZ4) inflates a byte


class BasketReader:
    """Whole baskets of the ntuple's branches straight from the file: the baskets of one entry
    range lie side by side (one ``extend`` wrote them), so they are one read; each is its ROOT key
    (struct fields), its LZ4 or ZLIB blocks (checksums checked) and, for a jagged branch, the
    entry offsets after the values. Only plain numbers, flat or jagged behind a counter, as
    :func:`write` makes them; any other tree raises ``NotDirect`` and is read through uproot."""

    def __init__(self, tree: Any, names: list[str], path: Location) -> None:
        self.source = tree.file.source
        self.names = names
        branches = [tree[name] for name in names]
        offsets = branches[0].entry_offsets
        seeks, sizes, self.dtypes, self.jagged = [], [], [], []
        for branch in branches:
            interp = branch.interpretation
            plain = isinstance(interp, AsJagged) and isinstance(interp.content, AsDtype)
            if plain and not interp.header_bytes:
                dtype, jagged = interp.content.from_dtype, True
            elif isinstance(interp, AsDtype):
                dtype, jagged = interp.from_dtype, False
            else:
                raise NotDirect(f"{branch.name}: {interp}")
            if dtype.shape or dtype.fields or branch.embedded_baskets or branch.entry_offsets != offsets:
                raise NotDirect(f"{branch.name}: not a plain branch of the tree's baskets")
            n = branch.num_baskets
            seeks.append(np.asarray(branch.member("fBasketSeek"), dtype=np.int64)[:n])
            sizes.append(np.asarray(branch.member("fBasketBytes"), dtype=np.int64)[:n])
            self.dtypes.append(dtype)
            self.jagged.append(jagged)
        self.n_baskets = len(offsets) - 1
        self.entries = np.diff(np.asarray(offsets, dtype=np.int64))
        self.seeks, self.sizes = np.stack(seeks), np.stack(sizes)
        if self.seeks.shape[1] != self.n_baskets or (self.seeks <= 0).any() or (self.sizes <= 0).any():
            raise NotDirect("basket positions do not match the entry ranges")
        # a local file is read with pread on a descriptor of its own (uproot's fsspec source
        # opens the file again for every read); a URL through uproot's source
        self._fd: int | None = None
        self._size: int | None = remote.file_size(tree.file)
        if not is_url(path):
            fd = self._fd = os.open(path, os.O_RDONLY)
            self._closer = weakref.finalize(self, os.close, fd)
            self._size = os.fstat(fd).st_size

    def close(self) -> None:
        if self._fd is not None:
            self._closer()
            self._fd = None

    def read(self, k: int) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
        """Basket ``k`` of every branch: (per-entry counts or None, the values in native byte order)."""
        seeks, sizes = self.seeks[:, k], self.sizes[:, k]
        lo, hi = int(seeks.min()), int((seeks + sizes).max())
        if hi - lo > 2 * int(sizes.sum()) + 2**16:  # not side by side: one read per basket
            chunks = [self._bytes(int(s), int(s + n)) for s, n in zip(seeks, sizes, strict=True)]
            at = [0] * len(chunks)
        else:
            whole = self._bytes(lo, hi)
            chunks = [whole] * len(seeks)
            at = (seeks - lo).tolist()
        entries = int(self.entries[k])
        out = {}
        for name, chunk, start, size, dtype, jagged in zip(
            self.names, chunks, at, sizes.tolist(), self.dtypes, self.jagged, strict=True
        ):
            out[name] = _basket_arrays(name, chunk[start : start + size], dtype, jagged, entries)
        return out

    def _bytes(self, start: int, stop: int) -> memoryview:
        if self._size is not None and stop > self._size:
            raise ValueError(f"baskets at bytes {start}:{stop}, past the end of the file ({self._size})")
        if self._fd is not None:
            data = memoryview(os.pread(self._fd, stop - start, start))
        else:
            data = memoryview(self.source.chunk(start, stop).raw_data).cast("B")
        if data.nbytes != stop - start:
            raise ValueError(f"bytes {start}:{stop} lie past the end of the file")
        return data


def _basket_arrays(
    name: str, key: memoryview, dtype: np.dtype, jagged: bool, entries: int, shape: tuple[int, ...] = ()
) -> tuple[np.ndarray | None, np.ndarray]:
    """One basket's (per-entry counts or None, values in native byte order) from its key's bytes.
    ``shape``: each object a fixed-size array of ``dtype`` (``m_tau[5]``): counts are of objects and
    the values come as (objects, *shape)."""
    nbytes, _, objlen, _, keylen, _ = _KEY.unpack_from(key)
    if nbytes != key.nbytes or not _BASKET.size < keylen <= nbytes:
        raise ValueError(f"basket of {name}: a key of {nbytes} bytes where the branch records {key.nbytes}")
    _, _, _, n_entries, last = _BASKET.unpack_from(key, keylen - _BASKET.size - 1)
    if n_entries != entries or not keylen <= last <= keylen + objlen:
        raise ValueError(f"basket of {name}: {n_entries} entries, the branch records {entries}")
    raw = _decompress(name, key[keylen:], objlen)
    border = last - keylen
    width = math.prod(shape)
    item = dtype.itemsize * width
    if jagged:  # after the values: a count, then where each entry starts (from the key's start)
        if objlen < border + 4 * (entries + 1):
            raise ValueError(f"basket of {name}: no room for the offsets of {entries} entries")
        ends = np.empty(entries + 1, np.int64)
        ends[:-1] = np.frombuffer(raw, _OFFSET, count=entries, offset=border + 4)
        ends[-1] = last
        sizes = np.diff(ends)
        if entries and (ends[0] != keylen or sizes.min() < 0 or (sizes % item).any()):
            raise ValueError(f"basket of {name}: entry offsets out of order")
        counts = sizes // item
    else:
        counts = None
        if border != entries * item:
            what = f"{dtype}{list(shape)}" if shape else str(dtype)
            raise ValueError(f"basket of {name}: {border} bytes for {entries} entries of {what}")
    values = np.frombuffer(raw, dtype, count=border // item * width).astype(dtype.newbyteorder("="))
    return counts, values.reshape(-1, *shape) if shape else values


def _decompress(
    name: str, data: memoryview, size: int, into: memoryview | None = None
) -> bytearray | memoryview:
    """The ``size`` bytes of a basket's payload: stored as they are, or in ROOT's compressed blocks
    (each decompressed straight into its place in one buffer: ``into``, ``size`` bytes, if given)."""
    if data.nbytes == size:
        if into is not None:
            into[:] = data
        return data
    if size > _MAX_EXPANSION * data.nbytes + 2**16:  # a damaged key: allocate nothing for it
        raise ValueError(f"basket of {name}: {size} bytes claimed from {data.nbytes} compressed")
    out = bytearray(size) if into is None else into
    view = memoryview(out)
    at = filled = 0
    while at < data.nbytes:
        algorithm, _, packed, unpacked = _BLOCK.unpack_from(data, at)
        stored, expected = int.from_bytes(packed, "little"), int.from_bytes(unpacked, "little")
        block = data[at + _BLOCK.size : at + _BLOCK.size + stored]
        at += _BLOCK.size + stored
        if block.nbytes != stored or filled + expected > size:
            raise ValueError(f"basket of {name}: a compressed block runs past its basket")
        if algorithm == b"L4":
            (checksum,) = _CHECKSUM.unpack_from(block)
            block = block[_CHECKSUM.size :]
            if xxhash.xxh64(block).intdigest() != checksum:
                raise ValueError(f"basket of {name}: LZ4 checksum mismatch (damaged file?)")
            written = cramjam.lz4.decompress_block_into(block, view[filled : filled + expected])
        elif algorithm == b"ZL":
            piece = zlib.decompress(block, bufsize=expected)
            written = len(piece)
            view[filled : filled + written] = piece
        else:
            raise NotDirect(f"{name}: {algorithm!r} compression")
        if written != expected:
            raise ValueError(f"basket of {name}: a block of {written} bytes, its header says {expected}")
        filled += written
    if filled != size:
        raise ValueError(f"basket of {name}: {filled} bytes decompressed, the key says {size}")
    return out
