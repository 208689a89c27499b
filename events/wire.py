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

import json
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
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
_OFFSETS_DTYPE = np.dtype("<i8")
_MAX_PUBLISHER_LEN = 64
_MAX_SOURCE_LEN = 1024
# version 3 header after the prefix: schema, n_events, sequence, epoch, sent_ns, 5 object counts,
# publisher and source lengths in bytes
_PACKED = struct.Struct("<Hqqqq5qBH")
_ALIGN = 8


def _wire_dtype(code: str) -> np.dtype:
    return np.dtype(code).newbyteorder("<")


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
    """The two frames of one version 3 message: the binary header, and every column in one body."""
    _check_outgoing(publisher, sequence, epoch, len(batch))
    publisher_bytes = publisher.encode()
    if len(publisher_bytes) > 255:  # its length is one byte in the header
        raise ValueError(f"publisher id of {len(publisher_bytes)} UTF-8 bytes, at most 255")
    source_bytes = batch.source[:_MAX_SOURCE_LEN].encode()
    columns = _columns_of(batch)
    sizes = [int(columns[f"{c}.offsets"][-1]) for c in _COLLECTION_ORDER]
    layout, length = _packed_layout(len(batch), sizes)
    body = bytearray(length)
    for (_, dtype, _, names), (at, shape) in zip(_BLOCKS, layout, strict=True):
        block = np.frombuffer(body, dtype=dtype, count=prod(shape), offset=at).reshape(shape)
        for row, name in zip(block, names, strict=True):
            column = columns[name]
            if column.shape != row.shape:  # no broadcasting: a column of the wrong length is an error
                raise ValueError(f"column {name}: shape {column.shape} does not fit the schema's {row.shape}")
            row[...] = column
    head = _PREFIX.pack(MAGIC, PACKED_VERSION) + _PACKED.pack(
        SCHEMA_VERSION,
        len(batch),
        int(sequence),
        int(epoch),
        time.time_ns() if sent_ns is None else int(sent_ns),
        *sizes,
        len(publisher_bytes),
        len(source_bytes),
    )
    return [head + publisher_bytes + source_bytes, body]


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
    views = [_byte_view(f) for f in frames]
    total = sum(v.nbytes for v in views)
    if total > limits.max_message_bytes:
        raise Oversized(f"message of {total} bytes exceeds the limit of {limits.max_message_bytes}")
    first = views[0]
    if first.nbytes < _PREFIX.size or bytes(first[:4]) != MAGIC:
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
    fixed = _PREFIX.size + _PACKED.size
    if first.nbytes < fixed:
        raise MalformedMessage(f"version 3 header of {first.nbytes} bytes, at least {fixed} expected")
    schema, n_events, sequence, epoch, sent_ns, *rest = _PACKED.unpack_from(first, _PREFIX.size)
    sizes, (publisher_len, source_len) = rest[:5], rest[5:]
    if schema != SCHEMA_VERSION:
        raise SchemaMismatch(f"event schema version {schema}, this program reads version {SCHEMA_VERSION}")
    if min(sizes) < 0:
        raise MalformedMessage(f"negative object count in {list(sizes)}")
    if first.nbytes != fixed + publisher_len + source_len:
        expected = fixed + publisher_len + source_len
        raise MalformedMessage(f"header of {first.nbytes} bytes, its lengths say {expected}")
    try:
        publisher = bytes(first[fixed : fixed + publisher_len]).decode("utf-8")
        source = bytes(first[fixed + publisher_len :]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"publisher id or source name is not UTF-8: {exc}") from None
    _check_incoming(sequence, epoch, sent_ns, n_events, publisher, source, limits)
    layout, length = _packed_layout(n_events, sizes)
    if body.nbytes != length:
        raise ShapeMismatch(
            f"body of {body.nbytes} bytes, {n_events} events and objects {list(sizes)} need {length}"
        )
    columns: dict[str, np.ndarray] = {}
    offsets: np.ndarray | None = None
    for (kind, dtype, _, names), (at, shape) in zip(_BLOCKS, layout, strict=True):
        block = np.frombuffer(body, dtype=dtype, count=prod(shape), offset=at).reshape(shape)
        if kind == _OFFSET_ROWS:
            offsets = block
        columns.update(zip(names, block, strict=True))
    assert offsets is not None  # the schema has collections
    if (offsets[:, 0] != 0).any() or (n_events and (np.diff(offsets, axis=1) < 0).any()):
        raise BadOffsets("offsets must start at 0 and never decrease")
    if (offsets[:, -1] != sizes).any():
        raise BadOffsets(f"offsets end at {offsets[:, -1].tolist()}, the columns have {list(sizes)} rows")
    collections = {
        coll: Collection(coll, columns[f"{coll}.offsets"], {k: columns[f"{coll}.{k}"] for k in spec})
        for coll, spec in COLLECTIONS.items()
    }
    header = {k: columns[f"header.{k}"] for k in HEADER}
    return Message(sequence, publisher, sent_ns, EventBatch(header, source=source, **collections), epoch)


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
