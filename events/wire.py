"""The event wire format: an ``EventBatch`` as ZeroMQ multipart frames, without pickle.

Frame 0 is the header: the 4-byte magic ``B2EV``, the wire version as a little-endian uint16,
then UTF-8 JSON with the schema version, the stream position of the batch's first event
(``sequence``), the publisher id, the publisher's ``epoch`` (its start time in ns: a restart under
the same id is a new epoch), the publish time and, for every column, its name, dtype and shape.
Frames 1.. are the raw little-endian column buffers in the header's order: sent without copying,
read back with ``np.frombuffer``. Column names are ``header.<col>``, ``<collection>.offsets`` and
``<collection>.<col>`` of ``events.model``. Version 1 is the same without ``epoch``, and is still
read (as epoch 0, "not known").

Version 3 (``encode_packed``, what ``main.py serve`` sends) is two frames: a fixed binary header
(the prefix, then schema version, event count, sequence, epoch, publish time, the five collections'
object counts, the publisher id and source name) and one body holding every column in the schema's
order, each at an 8-byte aligned offset. The layout follows from the counts alone, so the receiver
checks one length and cuts views; one contiguous buffer per message instead of ~70 frames.

``decode`` trusts nothing: any message that is not exactly a batch of the current schema raises
one ``WireError`` subclass naming the problem, and no other exception escapes it. Sequence
numbers, times and epochs are bounded to int64, so no counter fed from them can run away.
"""

from __future__ import annotations

import functools
import json
import operator
import struct
import time
from collections.abc import ItemsView, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, fields
from itertools import repeat
from math import prod
from typing import Any

import numpy as np

from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION, Collection, EventBatch

MAGIC = b"B2EV"
WIRE_VERSION = 2  # the JSON-headed multipart layout of ``encode``
PACKED_VERSION = 3  # the two-frame layout of ``encode_packed``
READ_VERSIONS = (1, 2, 3)  # versions ``decode`` accepts; 1 has no epoch
MAX_SEQUENCE = 2**63 - 1  # sequence numbers, times and epochs fit an int64
_PREFIX = struct.Struct("<4sH")
_OFFSETS_DTYPE = np.dtype(np.dtype("<i8").str)
_MAX_PUBLISHER_LEN = 64
_MAX_SOURCE_LEN = 1024
# version 3 header after the prefix: schema, n_events, sequence, epoch, sent_ns, 5 object counts,
# publisher and source lengths in bytes
_PACKED = struct.Struct("<Hqqqq5qBH")
_HEAD = struct.Struct("<4sH" + _PACKED.format[1:])  # the prefix and the fixed version 3 header
_ALIGN = 8
MAX_PACKED_BODY = 2**31 - 1  # bytes of a version 3 body, whatever the WireLimits


def _wire_dtype(code: str) -> np.dtype:
    """The little-endian dtype of a schema code, as numpy's own cached instance where there is one
    (every dtype on a little-endian host): the encoder compares the columns' dtypes with these, and
    a tuple comparison of the same objects stops at identity instead of calling ``dtype.__eq__``."""
    return np.dtype(np.dtype(code).newbyteorder("<").str)


# every column the schema defines: name -> (little-endian dtype, trailing shape, owning collection or None)
_COLUMNS: dict[str, tuple[np.dtype, tuple[int, ...], str | None]] = {
    **{f"header.{k}": (_wire_dtype(d), s, None) for k, (d, s, _) in HEADER.items()},
    **{
        f"{c}.{k}": (_wire_dtype(d), s, c)
        for c, spec in COLLECTIONS.items()
        for k, (d, s, _) in {"offsets": ("i8", (), 0), **spec}.items()
    },
}


_DTYPE_STR = {name: dtype.str for name, (dtype, _, _) in _COLUMNS.items()}
# frame index of each collection's offsets in the layout ``encode`` writes
_OFFSETS_FRAME = {c: 1 + list(_COLUMNS).index(f"{c}.offsets") for c in COLLECTIONS}
_COLLECTION_ORDER = tuple(COLLECTIONS)
_HEADER_ROWS, _OFFSET_ROWS = -1, -2  # row kinds of a packed block; >= 0: the collection's index


def _packed_blocks() -> tuple[tuple[int, np.dtype, tuple[int, ...], tuple[str, ...]], ...]:
    """The packed body's blocks: columns with the same rows, dtype and trailing shape lie side by
    side as one (columns, rows, *trailing) array, so a message is cut into ~20 views, not ~70."""
    groups: dict[tuple[int, str, tuple[int, ...]], list[str]] = {}
    for name, (dtype, trailing, coll) in _COLUMNS.items():
        if coll is None:
            kind = _HEADER_ROWS
        elif name.endswith(".offsets"):
            kind = _OFFSET_ROWS
        else:
            kind = _COLLECTION_ORDER.index(coll)
        groups.setdefault((kind, dtype.str, trailing), []).append(name)
    return tuple(
        (kind, np.dtype(code), trailing, tuple(names)) for (kind, code, trailing), names in groups.items()
    )


_BLOCKS = _packed_blocks()
_ROW_ITEMS = {trailing: prod(trailing) for _, _, trailing, _ in _BLOCKS}


# -- the packed body's plan, worked out once. The body holds "slots" one after the other: the
# header columns (n rows), the offsets (n + 1 rows), then each collection (its object count), and
# each slot its blocks. Per message, ``encode_packed`` and ``decode`` only do a few C-level calls
# per slot (itemgetter, join, frombuffer), never a Python step per column.

_ROW_SLOTS = (_HEADER_ROWS, _OFFSET_ROWS, *range(len(COLLECTIONS)))  # rows = (n, n + 1, *sizes)
_SLOT_OF_KIND = {kind: slot for slot, kind in enumerate(_ROW_SLOTS)}
assert [_SLOT_OF_KIND[kind] for kind, *_ in _BLOCKS] == sorted(_SLOT_OF_KIND[kind] for kind, *_ in _BLOCKS)
_BODY_COLUMNS = tuple(name for *_, names in _BLOCKS for name in names)  # every column, body order
_BODY_DTYPES = tuple(_COLUMNS[name][0] for name in _BODY_COLUMNS)
_BODY_NDIMS = tuple(1 + len(_COLUMNS[name][1]) for name in _BODY_COLUMNS)
# per slot: its blocks as (dtype, bytes per row, columns, trailing shape, one plain column?)
_SLOT_BLOCKS = tuple(
    tuple(
        (
            dtype,
            len(names) * _ROW_ITEMS[trailing] * dtype.itemsize,
            len(names),
            trailing,
            len(names) == 1 and not trailing,
        )
        for kind, dtype, trailing, names in _BLOCKS
        if _SLOT_OF_KIND[kind] == slot
    )
    for slot in range(len(_ROW_SLOTS))
)
# per slot: the short keys of each block's columns, in body order
_SLOT_BLOCK_KEYS = tuple(
    tuple(
        tuple(name.split(".", 1)[1] for name in names)
        for kind, _, _, names in _BLOCKS
        if _SLOT_OF_KIND[kind] == slot
    )
    for slot in range(len(_ROW_SLOTS))
)
_SLOT_COLUMNS = tuple(sum(n_columns for _, _, n_columns, _, _ in blocks) for blocks in _SLOT_BLOCKS)
_SLOT_ROW_BYTES = tuple(sum(row_bytes for _, row_bytes, *_ in blocks) for blocks in _SLOT_BLOCKS)
# per slot and residue of its rows mod 8: the zero padding after each of its blocks, and their sum
_SLOT_PADS = tuple(
    tuple(tuple(bytes(-(r * row_bytes) % _ALIGN) for _, row_bytes, *_ in blocks) for r in range(_ALIGN))
    for blocks in _SLOT_BLOCKS
)
_SLOT_PAD_BYTES = tuple(tuple(sum(map(len, pads)) for pads in slot) for slot in _SLOT_PADS)
# the body's pieces for ``bytes.join``: each block's columns, then its padding
_PIECES = operator.itemgetter(
    *(
        index
        for b, (_, _, _, names) in enumerate(_BLOCKS)
        for index in (*(_BODY_COLUMNS.index(name) for name in names), len(_BODY_COLUMNS) + b)
    )
)
_HEADER_KEYS = tuple(HEADER)
_HEADER_BODY = operator.itemgetter(
    *(name[len("header.") :] for name in _BODY_COLUMNS if name.startswith("header."))
)
_COLLECTION_BODY = tuple(
    operator.itemgetter(
        *(
            name[len(coll) + 1 :]
            for name in _BODY_COLUMNS
            if name.startswith(f"{coll}.") and name != f"{coll}.offsets"
        )
    )
    for coll in COLLECTIONS
)
_TRACKS_BODY, _ECL_BODY, _KLM_BODY, _VERTICES_BODY, _MC_BODY = _COLLECTION_BODY  # the five, unpacked
# per slot of the header and the collections: its keys in schema order, and where each lies
# among the slot's columns in body order
_SLOT_KEYS = (_HEADER_KEYS, tuple(COLLECTIONS), *(tuple(spec) for spec in COLLECTIONS.values()))

_OF_BATCH = operator.attrgetter(*COLLECTIONS)
_N_COLLECTIONS = len(COLLECTIONS)
_SLOTS = tuple(range(len(_ROW_SLOTS)))
_NBYTES_OF = operator.attrgetter("nbytes")
_OFFSETS_OF = operator.attrgetter("offsets")
_LAST = operator.itemgetter(-1)
# ``_decode_packed`` builds batches with positional fields: the header, the collections, the source
assert [f.name for f in fields(EventBatch)] == ["header", *COLLECTIONS, "source"]
assert [f.name for f in fields(Collection)] == ["name", "offsets", "columns"]
_DTYPE_OF = operator.attrgetter("dtype")
_NDIM_OF = operator.attrgetter("ndim")
_SMALL = 64  # offsets of up to this many events are checked in Python, more with numpy


class WireError(ValueError):
    """A message that is not a valid event batch of this wire and schema version."""

    reason = "malformed"


class MalformedMessage(WireError):
    """Not our framing: wrong magic, bad JSON, missing or extra frames, bad header fields."""


class UnsupportedVersion(WireError):
    reason = "version"


class SchemaMismatch(WireError):
    """Another schema version, or columns the schema does not have (or lacks)."""

    reason = "schema"


class DtypeNotAllowed(WireError):
    reason = "dtype"


class ShapeMismatch(WireError):
    """A declared shape that disagrees with the event count, the offsets or the frame's length."""

    reason = "shape"


class BadOffsets(WireError):
    reason = "offsets"


class Oversized(WireError):
    reason = "oversized"


# the most frames a batch can have (the header and one per column)
MAX_FRAMES = len(_COLUMNS) + 1


REASONS: tuple[str, ...] = tuple(
    cls.reason
    for cls in (
        MalformedMessage,
        UnsupportedVersion,
        SchemaMismatch,
        DtypeNotAllowed,
        ShapeMismatch,
        BadOffsets,
        Oversized,
    )
)


@dataclass(frozen=True)
class WireLimits:
    """Upper bounds a receiver accepts; anything larger is ``Oversized``."""

    max_message_bytes: int = 64 * 2**20
    max_header_bytes: int = 256 * 2**10
    max_events: int = 1_000_000


@dataclass(frozen=True)
class Message:
    """A decoded message: the batch and where it sits in its publisher's stream."""

    sequence: int  # stream position of the first event of ``batch``
    publisher: str
    sent_ns: int  # publisher's time.time_ns() when encoded
    batch: EventBatch
    epoch: int = 0  # the publisher's start time in ns; 0: not known (a wire version 1 sender)

    @property
    def next_sequence(self) -> int:
        return self.sequence + len(self.batch)


def _columns_of(batch: EventBatch) -> dict[str, np.ndarray]:
    cols = {f"header.{k}": batch.header[k] for k in HEADER}
    for name, coll in batch.collections().items():
        cols[f"{name}.offsets"] = coll.offsets
        cols.update({f"{name}.{k}": coll.columns[k] for k in COLLECTIONS[name]})
    return cols


def _check_outgoing(publisher: str, sequence: int, epoch: int, n_events: int) -> None:
    """What both encoders refuse to send: ``ValueError`` names it."""
    if not publisher or len(publisher) > _MAX_PUBLISHER_LEN:
        raise ValueError(f"publisher id must have 1 to {_MAX_PUBLISHER_LEN} characters")
    if not 0 <= sequence <= MAX_SEQUENCE - n_events or not 0 <= epoch <= MAX_SEQUENCE:
        raise ValueError(f"sequence {sequence} or epoch {epoch} outside 0 to {MAX_SEQUENCE}")


def _check_incoming(
    sequence: int, epoch: int, sent_ns: int, n_events: int, publisher: str, source: str, limits: WireLimits
) -> None:
    """The stream fields of a received header of any version, checked alike."""
    if sequence < 0 or sent_ns < 0 or n_events < 0 or epoch < 0:
        raise MalformedMessage("negative sequence, time, epoch or event count")
    if n_events > limits.max_events:
        raise Oversized(f"{n_events} events exceed the limit of {limits.max_events}")
    if sequence > MAX_SEQUENCE - n_events or sent_ns > MAX_SEQUENCE or epoch > MAX_SEQUENCE:
        raise MalformedMessage(
            f"sequence, time or epoch beyond int64 (a {sequence.bit_length()}-bit sequence"
            f" of {n_events} events)"
        )
    if not publisher or len(publisher) > _MAX_PUBLISHER_LEN or len(source) > _MAX_SOURCE_LEN:
        raise MalformedMessage("publisher id or source name of invalid length")


def encode(
    batch: EventBatch, sequence: int, publisher: str, sent_ns: int | None = None, epoch: int = 0
) -> list[bytes | memoryview]:
    """The frames of one message; column frames are views of the batch's arrays (no copy)."""
    _check_outgoing(publisher, sequence, epoch, len(batch))
    arrays = {}
    for name, arr in _columns_of(batch).items():
        dtype, trailing, _ = _COLUMNS[name]
        arr = np.ascontiguousarray(arr, dtype=dtype)  # no copy for schema arrays on little-endian hosts
        if arr.shape[1:] != trailing:
            raise ValueError(f"column {name}: shape {arr.shape} does not fit the schema {trailing}")
        arrays[name] = arr
    head = {
        "schema": SCHEMA_VERSION,
        "sequence": int(sequence),
        "publisher": publisher,
        "epoch": int(epoch),
        "sent_ns": time.time_ns() if sent_ns is None else int(sent_ns),
        "n_events": len(batch),
        "source": batch.source[:_MAX_SOURCE_LEN],
        "columns": [[name, a.dtype.str, list(a.shape)] for name, a in arrays.items()],
    }
    frames: list[bytes | memoryview] = [
        _PREFIX.pack(MAGIC, WIRE_VERSION) + json.dumps(head, separators=(",", ":")).encode()
    ]
    frames.extend(a.reshape(-1).view(np.uint8).data for a in arrays.values())
    return frames


def _packed_layout(n_events: int, sizes: Sequence[int]) -> tuple[list[tuple[int, tuple[int, ...]]], int]:
    """(byte offset, array shape) of every block of a packed body, and the body's length."""
    layout, at = [], 0
    for kind, dtype, trailing, names in _BLOCKS:
        rows = n_events if kind == _HEADER_ROWS else n_events + 1 if kind == _OFFSET_ROWS else sizes[kind]
        shape = (len(names), rows, *trailing)
        layout.append((at, shape))
        nbytes = len(names) * rows * _ROW_ITEMS[trailing] * dtype.itemsize
        at += nbytes + (-nbytes) % _ALIGN
    return layout, at


def encode_packed(
    batch: EventBatch, sequence: int, publisher: str, sent_ns: int | None = None, epoch: int = 0
) -> list[bytes | bytearray]:
    """The two frames of one version 3 message: the binary header, and every column in one body.

    The body is one ``bytes.join`` of the columns and their padding when every column already has
    the schema's dtype, rows and C order (a batch from any reader of this project, or from
    ``decode``); other batches are converted column by column.
    """
    n_events = len(batch)
    _check_outgoing(publisher, sequence, epoch, n_events)
    publisher_bytes = publisher.encode()
    if len(publisher_bytes) > 255:  # its length is one byte in the header
        raise ValueError(f"publisher id of {len(publisher_bytes)} UTF-8 bytes, at most 255")
    source_bytes = batch.source[:_MAX_SOURCE_LEN].encode()
    collections = _OF_BATCH(batch)
    offsets = tuple(map(_OFFSETS_OF, collections))
    sizes = list(map(int, map(_LAST, offsets)))
    joined = _joined_body(batch, collections, offsets, (n_events, n_events + 1, *sizes))
    body = _converted_body(batch, sizes) if joined is None else joined
    head = _HEAD.pack(
        MAGIC,
        PACKED_VERSION,
        SCHEMA_VERSION,
        n_events,
        int(sequence),
        int(epoch),
        time.time_ns() if sent_ns is None else int(sent_ns),
        *sizes,
        len(publisher_bytes),
        len(source_bytes),
    )
    return [head + publisher_bytes + source_bytes, body]


@functools.lru_cache(maxsize=4096)
def _body_plan(rows: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[bytes, ...], int]:
    """For the rows of each slot (n, n + 1, *object counts): every body column's length, the
    padding after each block, and the body's length. Worked out once per distinct set of counts."""
    lengths: tuple[int, ...] = ()
    pads: tuple[bytes, ...] = ()
    length = 0
    for slot, n in enumerate(rows):
        lengths += (n,) * _SLOT_COLUMNS[slot]
        pads += _SLOT_PADS[slot][n & 7]
        length += n * _SLOT_ROW_BYTES[slot] + _SLOT_PAD_BYTES[slot][n & 7]
    return lengths, pads, length


def _joined_body(
    batch: EventBatch,
    collections: tuple[Collection, ...],
    offsets: tuple[np.ndarray, ...],
    rows: tuple[int, ...],
) -> bytes | None:
    """The body as one join of the columns' own buffers; None unless every column fits exactly:
    the schema's dtype (identical dtype objects compare at C speed), rows and dimensions, C order."""
    tracks, ecl, klm, vertices, mc = collections
    arrays = (
        *_HEADER_BODY(batch.header),
        *offsets,
        *_TRACKS_BODY(tracks.columns),
        *_ECL_BODY(ecl.columns),
        *_KLM_BODY(klm.columns),
        *_VERTICES_BODY(vertices.columns),
        *_MC_BODY(mc.columns),
    )
    lengths, pads, length = _body_plan(rows)
    try:
        if (
            tuple(map(_DTYPE_OF, arrays)) != _BODY_DTYPES
            or tuple(map(len, arrays)) != lengths
            or tuple(map(_NDIM_OF, arrays)) != _BODY_NDIMS
        ):
            return None
        body = b"".join(_PIECES(arrays + pads))  # TypeError or BufferError for a column not in C order
    except (TypeError, AttributeError, BufferError, ValueError):
        return None
    return body if len(body) == length else None


def _converted_body(batch: EventBatch, sizes: list[int]) -> bytearray:
    """The body written column by column, each converted to the schema's dtype; ``ValueError``
    names a column whose shape does not fit."""
    columns = _columns_of(batch)
    layout, length = _packed_layout(len(batch), sizes)
    body = bytearray(length)
    for (_, dtype, _, names), (at, shape) in zip(_BLOCKS, layout, strict=True):
        block = np.frombuffer(body, dtype=dtype, count=prod(shape), offset=at).reshape(shape)
        for row, name in zip(block, names, strict=True):
            column = np.asarray(columns[name])
            if column.shape != row.shape:  # no broadcasting: a column of the wrong length is an error
                raise ValueError(f"column {name}: shape {column.shape} does not fit the schema's {row.shape}")
            row[...] = column
    return body


def decode(frames: Sequence[Any], limits: WireLimits = WireLimits()) -> Message:
    """Check and decode the frames of one message; raises only ``WireError`` subclasses.

    ``frames`` are objects with the buffer protocol (bytes, memoryview, ``zmq.Frame``). The
    arrays of the batch are read-only views of those buffers.
    """
    try:
        return _decode(frames, limits)
    except WireError:
        raise
    except Exception as exc:  # a check this module missed must still not crash a receiver
        raise MalformedMessage(f"undecodable message ({type(exc).__name__}: {exc})") from exc


def _decode(frames: Sequence[Any], limits: WireLimits) -> Message:
    if not frames:
        raise MalformedMessage("empty message")
    if len(frames) > MAX_FRAMES:
        raise MalformedMessage(f"{len(frames)} frames, a batch has {MAX_FRAMES}")
    views = list(map(_byte_view, frames))
    total = sum(map(_NBYTES_OF, views))
    if total > limits.max_message_bytes:
        raise Oversized(f"message of {total} bytes exceeds the limit of {limits.max_message_bytes}")
    first = views[0]
    if first.nbytes < _PREFIX.size or first[:4] != MAGIC:
        raise MalformedMessage(f"not an event message (first bytes {bytes(first[:8])!r}, expected {MAGIC!r})")
    _, version = _PREFIX.unpack_from(first)
    if version not in READ_VERSIONS:
        raise UnsupportedVersion(
            f"wire version {version}, this program reads versions {READ_VERSIONS[0]} to {READ_VERSIONS[-1]}"
        )
    if first.nbytes > limits.max_header_bytes:
        raise Oversized(f"header of {first.nbytes} bytes exceeds the limit of {limits.max_header_bytes}")
    if version == PACKED_VERSION:
        return _decode_packed(views, limits)
    try:
        head = json.loads(bytes(first[_PREFIX.size :]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"header is not JSON: {exc}") from None
    if not isinstance(head, dict):
        raise MalformedMessage("header is not a JSON object")
    schema = _field(head, "schema", int)
    if schema != SCHEMA_VERSION:
        raise SchemaMismatch(f"event schema version {schema}, this program reads version {SCHEMA_VERSION}")
    sequence = _field(head, "sequence", int)
    publisher = _field(head, "publisher", str)
    epoch = _field(head, "epoch", int) if version >= 2 else 0
    sent_ns = _field(head, "sent_ns", int)
    n_events = _field(head, "n_events", int)
    source = _field(head, "source", str)
    columns = _field(head, "columns", list)
    _check_incoming(sequence, epoch, sent_ns, n_events, publisher, source, limits)
    arrays = _canonical_arrays(columns, views, n_events)
    if arrays is None:  # not laid out as ``encode`` does it: check column by column, to say what is wrong
        declared = _declared_columns(columns)
        if len(views) != len(declared) + 1:
            raise MalformedMessage(f"{len(declared)} columns declared but {len(views) - 1} data frames")
        arrays = {
            name: _array(name, dtype, shape, views[i + 1])
            for i, (name, (dtype, shape)) in enumerate(declared.items())
        }
    return Message(sequence, publisher, sent_ns, _assemble(arrays, n_events, source), epoch)


def _decode_packed(views: list[memoryview], limits: WireLimits) -> Message:
    if len(views) != 2:
        raise MalformedMessage(f"{len(views)} frames, a version 3 message has 2 (header, body)")
    first, body = views
    fixed = _HEAD.size
    if first.nbytes < fixed:
        raise MalformedMessage(f"version 3 header of {first.nbytes} bytes, at least {fixed} expected")
    _, _, schema, n_events, sequence, epoch, sent_ns, *rest = _HEAD.unpack_from(first)
    sizes, (publisher_len, source_len) = rest[:5], rest[5:]
    if schema != SCHEMA_VERSION:
        raise SchemaMismatch(f"event schema version {schema}, this program reads version {SCHEMA_VERSION}")
    if min(sizes) < 0:
        raise MalformedMessage(f"negative object count in {list(sizes)}")
    if first.nbytes != fixed + publisher_len + source_len:
        expected = fixed + publisher_len + source_len
        raise MalformedMessage(f"header of {first.nbytes} bytes, its lengths say {expected}")
    try:
        publisher = str(first[fixed : fixed + publisher_len], "utf-8")
        source = str(first[fixed + publisher_len :], "utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"publisher id or source name is not UTF-8: {exc}") from None
    _check_incoming(sequence, epoch, sent_ns, n_events, publisher, source, limits)
    rows = (n_events, n_events + 1, *sizes)
    starts, length = _slot_starts(rows)
    if body.nbytes != length:
        raise ShapeMismatch(
            f"body of {body.nbytes} bytes, {n_events} events and objects {list(sizes)} need {length}"
        )
    if length > MAX_PACKED_BODY:  # numpy's record dtypes, which cut the slots, stop there
        raise Oversized(f"version 3 body of {length} bytes, over the format's {MAX_PACKED_BODY}")
    # the offsets are read and checked now; the columns are cut when first used
    block = np.ndarray((_N_COLLECTIONS, n_events + 1), _OFFSETS_DTYPE, body, starts[1])
    _check_packed_offsets(block, sizes, n_events)
    columns = map(_PackedColumns, repeat(body), starts[2:], _SLOTS[2:], rows[2:])
    tracks, ecl, klm, vertices, mc = map(Collection, _COLLECTION_ORDER, block, columns)
    header = _PackedColumns(body, starts[0], 0, n_events)
    batch = EventBatch(header, tracks, ecl, klm, vertices, mc, source)
    return Message(sequence, publisher, sent_ns, batch, epoch)


@functools.lru_cache(maxsize=4096)
def _slot_starts(rows: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Where each slot of a packed body with these rows begins, and the body's length; worked out
    once per distinct set of counts (a few hundred in a stream of single events)."""
    starts = []
    length = 0
    for slot, n in enumerate(rows):
        starts.append(length)
        length += n * _SLOT_ROW_BYTES[slot] + _SLOT_PAD_BYTES[slot][n & 7]
    return tuple(starts), length


@functools.lru_cache(maxsize=1024)
def _slot_dtype(slot: int, rows: int) -> np.dtype:
    """A slot of ``rows`` rows as one record: a field per column, at its offset in the slot, so
    a slot is cut with one ``ndarray`` view and a field view per column."""
    fields: dict[str, tuple[np.dtype, int]] = {}
    at = 0
    for (dtype, row_bytes, n_columns, trailing, _), names in zip(
        _SLOT_BLOCKS[slot], _SLOT_BLOCK_KEYS[slot], strict=True
    ):
        nbytes = rows * row_bytes
        for j, key in enumerate(names):
            fields[key] = (np.dtype((dtype, (rows, *trailing))), at + j * (nbytes // n_columns))
        at += nbytes + (-nbytes) % _ALIGN
    keys = _SLOT_KEYS[slot]
    return np.dtype(
        {
            "names": list(keys),
            "formats": [fields[k][0] for k in keys],
            "offsets": [fields[k][1] for k in keys],
            "itemsize": at,
        }
    )


# per slot: its columns cut from a 0-d record all at once (one C call), and where each key lies
_SLOT_CUT = tuple(operator.itemgetter(*keys) for keys in _SLOT_KEYS)
_SLOT_INDEX = tuple({key: i for i, key in enumerate(keys)} for keys in _SLOT_KEYS)
assert min(map(len, _SLOT_KEYS)) > 1  # so every itemgetter returns a tuple


class _PackedColumns(Mapping[str, np.ndarray]):
    """The columns of one slot (the header or a collection) of a checked packed body, as views
    of it cut on first use, all at once; iterating, ``len`` and ``in`` cut nothing. The body's
    length was checked against the counts, so cutting cannot fail. The views are kept as one
    tuple in schema order (no dict per message), found by the slot's key index."""

    __slots__ = ("_body", "_columns", "_rows", "_slot", "_start")

    def __init__(self, body: memoryview, start: int, slot: int, rows: int) -> None:
        self._body, self._start, self._slot, self._rows = body, start, slot, rows
        self._columns: tuple[np.ndarray, ...] | None = None

    def _cut(self) -> tuple[np.ndarray, ...]:
        columns = self._columns
        if columns is None:
            # one 0-d record over the slot: a field of it is the column's own array
            record = np.ndarray((), _slot_dtype(self._slot, self._rows), self._body, self._start)
            columns = self._columns = _SLOT_CUT[self._slot](record)
        return columns

    def __getitem__(self, key: str) -> np.ndarray:
        return (self._columns or self._cut())[_SLOT_INDEX[self._slot][key]]

    def __iter__(self) -> Iterator[str]:
        return iter(_SLOT_KEYS[self._slot])

    def values(self) -> ValuesView[np.ndarray]:
        return _PackedValues(self._columns or self._cut())  # type: ignore[return-value]  # registered

    def items(self) -> ItemsView[str, np.ndarray]:
        return _PackedItems(self)

    def __len__(self) -> int:
        return len(_SLOT_KEYS[self._slot])

    def __contains__(self, key: object) -> bool:
        return key in _SLOT_INDEX[self._slot]

    def __reduce__(self) -> tuple[type, tuple[dict[str, np.ndarray]]]:
        # pickles (and copies) as the plain dict it stands for
        return dict, (dict(zip(_SLOT_KEYS[self._slot], self._cut(), strict=True)),)

    def __repr__(self) -> str:
        return f"<packed columns {', '.join(_SLOT_KEYS[self._slot])}>"


class _PackedValues(tuple[np.ndarray, ...]):
    """``values()`` of packed columns: the cut tuple itself (made and iterated in C). A snapshot is
    the view: a slot's columns never change once cut. Registered as a ``ValuesView``, whose
    methods (``len``, iteration, ``in``) a tuple has."""

    __slots__ = ()


ValuesView.register(_PackedValues)


class _PackedItems(ItemsView[str, np.ndarray]):
    __slots__ = ()
    _mapping: _PackedColumns

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        mapping = self._mapping
        return zip(_SLOT_KEYS[mapping._slot], mapping._columns or mapping._cut(), strict=True)


def _check_packed_offsets(block: np.ndarray, sizes: list[int], n_events: int) -> None:
    """Every collection's offsets start at 0, never decrease and end at its object count."""
    if n_events == 1:  # one event per message: each row is exactly [0, its count]
        if block.tolist() == [[0, size] for size in sizes]:
            return
    elif n_events <= _SMALL:  # a few Python comparisons beat numpy's call overhead
        for row, size in zip(block.tolist(), sizes, strict=True):
            if row[0] != 0 or row[-1] != size or row != sorted(row):
                break
        else:
            return
    if (block[:, 0] != 0).any() or (n_events and (np.diff(block, axis=1) < 0).any()):
        raise BadOffsets("offsets must start at 0 and never decrease")
    if (block[:, -1] != sizes).any():
        raise BadOffsets(f"offsets end at {block[:, -1].tolist()}, the columns have {list(sizes)} rows")


def _canonical_arrays(
    columns: list[Any], views: list[memoryview], n_events: int
) -> dict[str, np.ndarray] | None:
    """The arrays of a message in exactly the layout ``encode`` writes, or None for anything else.

    The fast path: one comparison of the whole column list with the expected one, then one
    length check per frame. Offsets are still checked later, like on the slow path.
    """
    if len(views) != len(_COLUMNS) + 1:
        return None
    rows: dict[str | None, int] = {None: n_events}
    for coll, i in _OFFSETS_FRAME.items():
        if views[i].nbytes != (n_events + 1) * 8:
            return None
        rows[coll] = int(np.frombuffer(views[i], dtype=_OFFSETS_DTYPE, count=1, offset=n_events * 8)[0])
    shapes = [
        (n_events + 1 if name.endswith(".offsets") else rows[coll], *trailing)
        for name, (_, trailing, coll) in _COLUMNS.items()
    ]
    expected = [[name, _DTYPE_STR[name], list(shape)] for name, shape in zip(_COLUMNS, shapes, strict=True)]
    if columns != expected:
        return None
    arrays = {}
    for (name, (dtype, _, _)), shape, view in zip(_COLUMNS.items(), shapes, views[1:], strict=True):
        if view.nbytes != prod(shape) * dtype.itemsize:
            return None
        arrays[name] = np.frombuffer(view, dtype=dtype).reshape(shape)
    return arrays


def _byte_view(frame: Any) -> memoryview:
    view = memoryview(frame)
    if view.format == "B" and view.ndim == 1:
        return view
    return view.cast("B") if view.nbytes else memoryview(b"")


def _field(head: dict[str, Any], key: str, kind: type) -> Any:
    value = head.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedMessage(f"header field {key!r} missing or not {kind.__name__}")
    return value


def _declared_columns(columns: list[Any]) -> dict[str, tuple[str, tuple[int, ...]]]:
    declared: dict[str, tuple[str, tuple[int, ...]]] = {}
    for entry in columns:
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[0], str)
            and isinstance(entry[1], str)
            and isinstance(entry[2], list)
            and len(entry[2]) <= 4
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in entry[2])
        ):
            raise MalformedMessage(f"bad column entry {str(entry)[:80]}")
        name, dtype, shape = entry
        if name in declared:
            raise MalformedMessage(f"column {name!r} declared twice")
        declared[name] = (dtype, tuple(shape))
    unknown = sorted(set(declared) - set(_COLUMNS))
    missing = sorted(set(_COLUMNS) - set(declared))
    if unknown or missing:
        raise SchemaMismatch(
            f"columns do not match schema version {SCHEMA_VERSION}: "
            f"unknown {unknown[:5]}, missing {missing[:5]}"
        )
    return declared


def _array(name: str, dtype: str, shape: tuple[int, ...], view: memoryview) -> np.ndarray:
    expected, trailing, _ = _COLUMNS[name]
    if dtype != expected.str:
        raise DtypeNotAllowed(f"column {name}: dtype {dtype[:16]!r}, the schema has {expected.str!r}")
    if len(shape) != 1 + len(trailing) or shape[1:] != trailing:
        raise ShapeMismatch(f"column {name}: shape {shape}, expected (n, {', '.join(map(str, trailing))})")
    if view.nbytes != prod(shape) * expected.itemsize:
        raise ShapeMismatch(
            f"column {name}: {view.nbytes} bytes, shape {shape} needs {prod(shape) * expected.itemsize}"
        )
    return np.frombuffer(view, dtype=expected).reshape(shape)


def _assemble(arrays: dict[str, np.ndarray], n_events: int, source: str) -> EventBatch:
    for name, arr in arrays.items():
        if name.startswith("header.") and len(arr) != n_events:
            raise ShapeMismatch(f"column {name}: {len(arr)} rows for {n_events} events")
    collections = {}
    for coll in COLLECTIONS:
        offsets = arrays[f"{coll}.offsets"]
        if len(offsets) != n_events + 1:
            raise ShapeMismatch(f"{coll}.offsets: length {len(offsets)} for {n_events} events")
        if offsets[0] != 0 or (np.diff(offsets) < 0).any():
            raise BadOffsets(f"{coll}.offsets must start at 0 and never decrease")
        total = int(offsets[-1])
        columns = {k: arrays[f"{coll}.{k}"] for k in COLLECTIONS[coll]}
        for key, arr in columns.items():
            if len(arr) != total:
                raise BadOffsets(f"{coll}.offsets end at {total}, column {coll}.{key} has {len(arr)} rows")
        collections[coll] = Collection(coll, offsets, columns)
    header = {k: arrays[f"header.{k}"] for k in HEADER}
    return EventBatch(header, source=source, **collections)
