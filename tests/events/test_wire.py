"""The event wire format: exact round trips, zero-copy, and strict rejection of bad messages."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from events import wire
from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION, Collection, EventBatch
from events.wire import WireError, WireLimits, decode, encode
from monitoring.serve import fake_batch

Frames = list[bytes]


def _batch(n: int = 20, seed: int = 3) -> EventBatch:
    return fake_batch(np.random.default_rng(seed), n, first_event=1000)


def _frames(batch: EventBatch | None = None, sequence: int = 7) -> Frames:
    return [
        bytes(f)
        for f in encode(_batch() if batch is None else batch, sequence, "test-publisher", sent_ns=123)
    ]


def _head(frames: Frames) -> dict[str, Any]:
    return json.loads(frames[0][6:])


def _with_head(frames: Frames, change: Callable[[dict[str, Any]], None]) -> Frames:
    head = _head(frames)
    change(head)
    return [frames[0][:6] + json.dumps(head).encode(), *frames[1:]]


def _index(frames: Frames, column: str) -> int:
    return 1 + [c[0] for c in _head(frames)["columns"]].index(column)


def _replace(frames: Frames, column: str, array: np.ndarray, declare: bool = True) -> Frames:
    """Put ``array`` in the frame of ``column`` and (optionally) declare its shape."""
    i = _index(frames, column)
    out = list(frames)
    out[i] = array.tobytes()
    if declare:
        out = _with_head(out, lambda h: h["columns"][i - 1].__setitem__(2, list(array.shape)))
    return out


def _assert_same(a: EventBatch, b: EventBatch) -> None:
    assert len(a) == len(b)
    for k in HEADER:
        np.testing.assert_array_equal(a.header[k], b.header[k])
        assert a.header[k].dtype == b.header[k].dtype
    for name in COLLECTIONS:
        np.testing.assert_array_equal(getattr(a, name).offsets, getattr(b, name).offsets)
        for k in COLLECTIONS[name]:
            x, y = getattr(a, name)[k], getattr(b, name)[k]
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


def test_round_trip_keeps_every_column_bit_for_bit() -> None:
    batch = _batch()
    message = decode(_frames(batch, sequence=42))
    assert (message.sequence, message.publisher, message.sent_ns) == (42, "test-publisher", 123)
    assert message.next_sequence == 42 + len(batch)
    assert message.batch.source == "fake"
    _assert_same(batch, message.batch)
    assert message.batch.tracks.size > 0
    assert message.batch.ecl.size > 0
    # NaN fills and boolean columns survive as they are
    assert np.isnan(message.batch.header["signal_mass"]).all()
    assert message.batch.ecl["is_track"].dtype == np.bool_


def test_empty_batch_and_empty_collections_round_trip() -> None:
    _assert_same(EventBatch.empty(), decode(_frames(EventBatch.empty())).batch)
    one = EventBatch.build(3, {"event": [5, 6, 7]})
    back = decode(_frames(one)).batch
    _assert_same(one, back)
    assert back.tracks.counts.tolist() == [0, 0, 0]


def test_send_is_zero_copy_and_receive_views_the_buffers() -> None:
    batch = _batch()
    frames = encode(batch, 0, "p")
    i = 1 + [c[0] for c in json.loads(bytes(frames[0])[6:])["columns"]].index("tracks.d0")
    assert np.shares_memory(np.frombuffer(frames[i], dtype="<f8"), batch.tracks["d0"])
    received = [bytearray(f) for f in frames]
    d0 = decode(received).batch.tracks["d0"]
    assert np.shares_memory(d0, np.frombuffer(received[i], dtype=np.uint8))


def test_header_is_magic_version_and_json() -> None:
    head = _frames()[0]
    assert head[:4] == wire.MAGIC
    assert struct.unpack("<H", head[4:6]) == (wire.WIRE_VERSION,)
    parsed = json.loads(head[6:])
    assert parsed["schema"] == SCHEMA_VERSION
    assert {c[0] for c in parsed["columns"]} >= {"header.event", "tracks.offsets", "tracks.cov"}
    cov = next(c for c in parsed["columns"] if c[0] == "tracks.cov")
    assert cov[1:] == ["<f4", [_batch().tracks.size, 15]]


def _bad_offsets(frames: Frames, values: list[int]) -> Frames:
    return _replace(frames, "ecl.offsets", np.array(values, dtype="<i8"))


CASES: dict[str, tuple[Callable[[Frames], Frames], type[WireError], str]] = {
    "empty": (lambda f: [], wire.MalformedMessage, "empty"),
    "magic": (lambda f: [b"XXXX" + f[0][4:], *f[1:]], wire.MalformedMessage, "not an event message"),
    "short": (lambda f: [b"B2", *f[1:]], wire.MalformedMessage, "not an event message"),
    "version": (
        lambda f: [f[0][:4] + struct.pack("<H", 99) + f[0][6:], *f[1:]],
        wire.UnsupportedVersion,
        "wire version 99",
    ),
    "not json": (lambda f: [f[0][:6] + b"{nope", *f[1:]], wire.MalformedMessage, "not JSON"),
    "json list": (lambda f: [f[0][:6] + b"[1, 2]", *f[1:]], wire.MalformedMessage, "not a JSON object"),
    "bool sequence": (
        lambda f: _with_head(f, lambda h: h.__setitem__("sequence", True)),
        wire.MalformedMessage,
        "'sequence'",
    ),
    "negative sequence": (
        lambda f: _with_head(f, lambda h: h.__setitem__("sequence", -1)),
        wire.MalformedMessage,
        "negative",
    ),
    "schema": (
        lambda f: _with_head(f, lambda h: h.__setitem__("schema", SCHEMA_VERSION + 1)),
        wire.SchemaMismatch,
        f"schema version {SCHEMA_VERSION + 1}",
    ),
    "unknown column": (
        lambda f: _with_head(f, lambda h: h["columns"][0].__setitem__(0, "header.bogus")),
        wire.SchemaMismatch,
        "header.bogus",
    ),
    "missing column": (
        lambda f: _with_head(f, lambda h: h["columns"].pop()),
        wire.SchemaMismatch,
        "missing",
    ),
    "duplicate column": (
        lambda f: _with_head(f, lambda h: h["columns"].__setitem__(1, h["columns"][0])),
        wire.MalformedMessage,
        "twice",
    ),
    "frame count": (lambda f: f[:-1], wire.MalformedMessage, "data frames"),
    "too many frames": (lambda f: f + [b""] * 100, wire.MalformedMessage, "frames"),
    "dtype": (
        lambda f: _with_head(f, lambda h: h["columns"][_index(f, "tracks.d0") - 1].__setitem__(1, "<f4")),
        wire.DtypeNotAllowed,
        "tracks.d0",
    ),
    "object dtype": (
        lambda f: _with_head(f, lambda h: h["columns"][_index(f, "header.event") - 1].__setitem__(1, "|O")),
        wire.DtypeNotAllowed,
        "header.event",
    ),
    "trailing shape": (
        lambda f: _with_head(f, lambda h: h["columns"][_index(f, "tracks.cov") - 1].__setitem__(2, [5, 3])),
        wire.ShapeMismatch,
        "tracks.cov",
    ),
    "frame length": (
        lambda f: _replace(f, "tracks.d0", np.zeros(3, dtype="<f8"), declare=False),
        wire.ShapeMismatch,
        "bytes",
    ),
    "header rows": (
        lambda f: _replace(f, "header.run", np.zeros(3, dtype="<i4")),
        wire.ShapeMismatch,
        "header.run",
    ),
    "offsets length": (
        lambda f: _replace(f, "ecl.offsets", np.zeros(4, dtype="<i8")),
        wire.ShapeMismatch,
        "ecl.offsets",
    ),
    "offsets start": (
        lambda f: _bad_offsets(f, [1] + [int(x) for x in _batch().ecl.offsets[1:]]),
        wire.BadOffsets,
        "start at 0",
    ),
    "offsets decrease": (
        lambda f: _bad_offsets(f, [0, 5, 3, *[int(x) for x in _batch().ecl.offsets[3:]]]),
        wire.BadOffsets,
        "never decrease",
    ),
    "offsets end": (
        lambda f: _bad_offsets(f, [*[int(x) for x in _batch().ecl.offsets[:-1]], int(_batch().ecl.size) + 1]),
        wire.BadOffsets,
        "ecl.offsets end at",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_messages_raise_their_own_error(case: str) -> None:
    tamper, error, text = CASES[case]
    with pytest.raises(error, match=text) as info:
        decode(tamper(_frames()))
    assert info.value.reason in wire.REASONS


def test_limits_reject_oversized_messages() -> None:
    frames = _frames()
    size = sum(len(f) for f in frames)
    with pytest.raises(wire.Oversized, match="exceeds the limit") as info:
        decode(frames, WireLimits(max_message_bytes=size - 1))
    assert info.value.reason == "oversized"
    with pytest.raises(wire.Oversized, match="header of"):
        decode(frames, WireLimits(max_header_bytes=100))
    with pytest.raises(wire.Oversized, match="20 events"):
        decode(frames, WireLimits(max_events=19))
    assert len(decode(frames, WireLimits(max_message_bytes=size)).batch) == 20


def test_a_shape_claiming_huge_arrays_is_rejected_without_allocating() -> None:
    frames = _with_head(_frames(), lambda h: h.__setitem__("n_events", 10**15))
    with pytest.raises(wire.Oversized):
        decode(frames)
    frames = _with_head(_frames(), lambda h: h["columns"][0].__setitem__(2, [10**18]))
    with pytest.raises(wire.ShapeMismatch):
        decode(frames)


@pytest.mark.parametrize("version", [wire.WIRE_VERSION, wire.PACKED_VERSION])
def test_fuzzed_messages_decode_or_raise_wire_error_only(version: int) -> None:
    """Random byte flips, truncations and frame shuffles: a batch or a WireError, nothing else."""
    rng = np.random.default_rng(2024)
    good = _frames(_batch(8)) if version == wire.WIRE_VERSION else _packed(_batch(8))
    outcomes = {"ok": 0, "error": 0}
    for trial in range(600):
        frames = [bytearray(f) for f in good]
        action = trial % 4
        i = int(rng.integers(0, len(frames))) if action else 0  # a quarter of trials hit the header
        if action in (0, 1) and frames[i]:
            for _ in range(int(rng.integers(1, 6))):
                frames[i][int(rng.integers(0, len(frames[i])))] ^= 1 << int(rng.integers(0, 8))
        elif action == 2:
            frames[i] = frames[i][: int(rng.integers(0, len(frames[i]) + 1))]
        else:
            j = int(rng.integers(0, len(frames)))
            frames[i], frames[j] = frames[j], frames[i]
        try:
            message = decode(frames)
        except WireError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
            assert len(message.batch.header["event"]) == len(message.batch)
    assert outcomes["error"] > 100
    assert outcomes["ok"] > 0  # flips inside float data are not detectable, and need not be


def test_the_epoch_travels_and_version_1_messages_are_still_read() -> None:
    batch = _batch()
    frames = [bytes(f) for f in encode(batch, 40, "p", sent_ns=5, epoch=1_700_000_000_000_000_000)]
    message = decode(frames)
    assert message.epoch == 1_700_000_000_000_000_000
    assert struct.unpack("<H", frames[0][4:6]) == (2,)
    # a version 1 sender: the same header without the epoch
    head = _head(frames)
    del head["epoch"]
    old = [frames[0][:4] + struct.pack("<H", 1) + json.dumps(head).encode(), *frames[1:]]
    message = decode(old)
    assert (message.sequence, message.epoch) == (40, 0)
    _assert_same(batch, message.batch)
    # while a version 2 header without its epoch is malformed
    with pytest.raises(wire.MalformedMessage, match="'epoch'"):
        decode([frames[0][:6] + json.dumps(head).encode(), *frames[1:]])


@pytest.mark.parametrize(
    ("key", "value"),
    [("sequence", 2**80), ("sequence", 2**63 - 5), ("sent_ns", 2**63), ("epoch", 2**64), ("epoch", -1)],
)
def test_sequence_numbers_times_and_epochs_are_bounded_to_int64(key: str, value: int) -> None:
    frames = _with_head(_frames(), lambda h: h.__setitem__(key, value))  # 20 events: 2**63 - 5 overflows
    with pytest.raises(wire.MalformedMessage, match=r"int64|negative"):
        decode(frames)
    last = _with_head(_frames(), lambda h: h.__setitem__("sequence", wire.MAX_SEQUENCE - 20))
    assert decode(last).next_sequence == wire.MAX_SEQUENCE


def test_encode_refuses_numbers_a_receiver_would_reject() -> None:
    for sequence, epoch in ((-1, 0), (2**63, 0), (0, 2**63), (0, -3)):
        with pytest.raises(ValueError, match="outside"):
            encode(_batch(), sequence, "p", epoch=epoch)


# -- version 3: two frames, one packed body ---------------------------------------------------


def _packed(batch: EventBatch | None = None, sequence: int = 7) -> list[bytearray]:
    frames = wire.encode_packed(_batch() if batch is None else batch, sequence, "packer", sent_ns=11, epoch=5)
    return [bytearray(f) for f in frames]


@pytest.mark.parametrize("n", [0, 1, 37])
def test_packed_messages_round_trip_exactly_as_views_of_one_body(n: int) -> None:
    batch = fake_batch(np.random.default_rng(n), n)
    frames = _packed(batch, sequence=40)
    assert len(frames) == 2
    assert struct.unpack("<H", frames[0][4:6]) == (wire.PACKED_VERSION,)
    message = decode(frames)
    assert (message.sequence, message.publisher, message.sent_ns, message.epoch) == (40, "packer", 11, 5)
    _assert_same(message.batch, batch)
    body = np.frombuffer(frames[1], dtype=np.uint8)
    assert np.shares_memory(message.batch.header["event"], body) or n == 0  # cut from the body, not copied
    assert message.batch.source == batch.source


def test_packed_and_json_headed_messages_decode_to_the_same_batch() -> None:
    batch = _batch(12)
    _assert_same(decode(_packed(batch)).batch, decode(_frames(batch)).batch)


def test_packed_messages_that_lie_about_their_sizes_are_refused_without_allocating() -> None:
    good = _packed(_batch(6))
    fixed = 6 + wire._PACKED.size

    def with_fields(**changes: int) -> list[bytearray]:
        fields = list(wire._PACKED.unpack_from(good[0], 6))
        names = ["schema", "n_events", "sequence", "epoch", "sent_ns", *COLLECTIONS, "publisher", "source"]
        for key, value in changes.items():
            fields[names.index(key)] = value
        return [good[0][:6] + wire._PACKED.pack(*fields) + good[0][fixed:], good[1]]

    cases: list[tuple[list[bytearray], type[WireError], str]] = [
        (with_fields(tracks=10**15), wire.ShapeMismatch, "need"),
        (with_fields(n_events=10**15), wire.Oversized, "exceed the limit"),
        (with_fields(ecl=-1), wire.MalformedMessage, "negative"),
        (with_fields(schema=SCHEMA_VERSION + 1), wire.SchemaMismatch, "schema version"),
        (with_fields(publisher=200), wire.MalformedMessage, "its lengths say"),
        (with_fields(sequence=2**63 - 3), wire.MalformedMessage, "beyond int64"),
        ([good[0], good[1][:-8]], wire.ShapeMismatch, "need"),
        ([good[0], good[1] + bytes(8)], wire.ShapeMismatch, "need"),
        ([good[0]], wire.MalformedMessage, "2 (header, body)"),
        ([good[0], good[1], good[1]], wire.MalformedMessage, "2 (header, body)"),
        ([good[0][: fixed - 1], good[1]], wire.MalformedMessage, "header of"),
    ]
    for frames, error, words in cases:
        with pytest.raises(error, match=re.escape(words)):
            decode(frames)


def test_packed_offsets_that_do_not_fit_are_refused() -> None:
    batch = _batch(6)
    frames = _packed(batch)
    layout, _ = wire._packed_layout(len(batch), [getattr(batch, c).offsets[-1] for c in COLLECTIONS])
    block = next(i for i, (kind, *_) in enumerate(wire._BLOCKS) if kind == wire._OFFSET_ROWS)
    at = layout[block][0]
    broken = bytearray(frames[1])
    broken[at : at + 8] = struct.pack("<q", 1)  # the first collection's offsets start at 1
    with pytest.raises(wire.BadOffsets, match="start at 0"):
        decode([frames[0], broken])
    broken = bytearray(frames[1])
    end = at + 6 * 8  # the first collection's last offset (7 offsets for 6 events)
    broken[end : end + 8] = struct.pack("<q", 0)
    with pytest.raises(wire.BadOffsets):
        decode([frames[0], broken])


def test_packed_encoding_refuses_a_column_that_does_not_fit() -> None:
    batch = _batch(4)
    bad = dict(batch.tracks.columns)
    bad["d0"] = bad["d0"][:1]  # one value for several tracks: never broadcast
    tracks = Collection("tracks", batch.tracks.offsets, bad)
    broken = EventBatch(batch.header, source=batch.source, **{**batch.collections(), "tracks": tracks})
    with pytest.raises(ValueError, match=r"column tracks\.d0: shape \(1,\)"):
        wire.encode_packed(broken, 0, "p")


# -- version 3: columns cut on first use, and the encoder's one-join fast path -----------------


def test_packed_columns_are_cut_per_collection_on_first_use_and_pickle_as_plain_dicts() -> None:
    import pickle

    batch = _batch(5)
    message = decode(_packed(batch))
    tracks, ecl = message.batch.tracks.columns, message.batch.ecl.columns
    assert list(tracks) == list(COLLECTIONS["tracks"])
    assert len(tracks) == len(COLLECTIONS["tracks"])
    assert "d0" in tracks
    assert "bogus" not in tracks
    assert getattr(tracks, "_columns") is None  # noqa: B009 (private, read in a test)
    d0 = tracks["d0"]
    assert getattr(tracks, "_columns") is not None  # noqa: B009 (private, read in a test)
    assert getattr(ecl, "_columns") is None  # noqa: B009 (private, read in a test)
    assert d0.flags.c_contiguous
    assert tracks["cov"].shape == (batch.tracks.size, 15)
    assert [k for k, _ in tracks.items()] == list(COLLECTIONS["tracks"])  # schema order
    back = pickle.loads(pickle.dumps(message.batch))
    assert isinstance(back.header, dict)
    _assert_same(back, batch)


def test_a_decoded_batch_encodes_again_to_the_same_bytes() -> None:
    frames = _packed(_batch(9))
    again = wire.encode_packed(decode(frames).batch, 7, "packer", sent_ns=11, epoch=5)
    assert [bytes(f) for f in again] == [bytes(f) for f in frames]


def test_columns_off_the_schema_dtype_or_order_are_converted_to_the_same_body() -> None:
    batch = _batch(6)
    tracks = dict(batch.tracks.columns)
    tracks["d0"] = tracks["d0"].astype(">f8")  # big-endian: converted, not joined as it lies
    tracks["cov"] = np.asfortranarray(tracks["cov"])  # not C order
    header = dict(batch.header)
    header["run"] = header["run"].astype(np.int64)  # a wider integer than the schema's
    odd = EventBatch(
        header,
        source=batch.source,
        **{**batch.collections(), "tracks": Collection("tracks", batch.tracks.offsets, tracks)},
    )
    assert [bytes(f) for f in wire.encode_packed(odd, 1, "p", sent_ns=2)] == [
        bytes(f) for f in wire.encode_packed(batch, 1, "p", sent_ns=2)
    ]


def test_a_packed_body_over_the_format_limit_is_oversized(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = _packed(_batch(3))
    monkeypatch.setattr(wire, "MAX_PACKED_BODY", len(frames[1]) - 1)
    with pytest.raises(wire.Oversized, match="over the format's"):
        decode(frames)


# -- a round-trip property over random events ------------------------------------------------


def _random_column(rng: np.random.Generator, dtype: str, shape: tuple[int, ...], n: int) -> np.ndarray:
    """Any bit pattern of the dtype (NaNs with payloads, infinities, subnormals, the extremes),
    with the special values planted where there is room; booleans are 0 or 1."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random((n, *shape)) < 0.5
    values = rng.integers(0, 256, n * int(np.prod(shape, dtype=np.int64)) * dt.itemsize, dtype=np.uint8)
    values = values.view(dt).reshape(n, *shape).copy()
    flat = values.reshape(-1)
    if dt.kind == "f":
        info = np.finfo(dt)
        specials = [np.nan, np.inf, -np.inf, info.max, info.min, info.tiny, -0.0, info.smallest_subnormal]
    else:
        info_i = np.iinfo(dt)
        specials = [info_i.max, info_i.min, 0]
    k = min(len(flat), len(specials))
    flat[rng.permutation(len(flat))[:k]] = np.array(specials[:k], dtype=dt)
    return values


def _random_events(rng: np.random.Generator) -> EventBatch:
    n = int(rng.choice([0, 1, 1, 1, 2, 3, 17]))
    header = {name: _random_column(rng, d, s, n) for name, (d, s, _) in HEADER.items()}
    collections = {}
    for name, spec in COLLECTIONS.items():
        mean = float(rng.choice([0.0, 0.3, 4.0, 30.0]))  # 0: the collection is empty in every event
        counts = rng.poisson(mean, n)
        total = int(counts.sum())
        collections[name] = Collection.from_columns(
            name, counts, {key: _random_column(rng, d, s, total) for key, (d, s, _) in spec.items()}
        )
    return EventBatch.build(n, header, source="random" * int(rng.integers(0, 3)), **collections)


def _assert_bits_equal(a: EventBatch, b: EventBatch) -> None:
    """The same events bit for bit: dtype, shape and bytes of every column (NaN payloads too)."""
    assert len(a) == len(b)
    pairs = [(f"header.{k}", a.header[k], b.header[k]) for k in HEADER]
    for name in COLLECTIONS:
        ca, cb = getattr(a, name), getattr(b, name)
        pairs.append((f"{name}.offsets", ca.offsets, cb.offsets))
        pairs += [(f"{name}.{k}", ca[k], cb[k]) for k in COLLECTIONS[name]]
    for label, x, y in pairs:
        assert (x.dtype, x.shape) == (y.dtype, y.shape), label
        assert x.tobytes() == y.tobytes(), label


def test_random_events_round_trip_bit_for_bit_in_both_wire_layouts() -> None:
    rng = np.random.default_rng(2026)
    for trial in range(60):
        batch = _random_events(rng)
        packed = [bytes(f) for f in wire.encode_packed(batch, trial, "prop", sent_ns=trial, epoch=3)]
        message = decode(packed)
        assert (message.sequence, message.epoch, message.batch.source) == (trial, 3, batch.source)
        _assert_bits_equal(message.batch, batch)
        again = wire.encode_packed(message.batch, trial, "prop", sent_ns=trial, epoch=3)
        assert [bytes(f) for f in again] == packed  # a decoded batch encodes to the same bytes
        _assert_bits_equal(decode(_frames(batch, sequence=trial)).batch, batch)  # version 2
        # and every column read through the mapping's other ways gives the same arrays
        tracks = message.batch.tracks.columns
        assert [k for k, _ in tracks.items()] == list(tracks) == list(COLLECTIONS["tracks"])
        for (key, value), other in zip(tracks.items(), tracks.values(), strict=True):
            assert value is other
            assert value is tracks[key]
