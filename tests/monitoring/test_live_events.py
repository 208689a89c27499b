"""The embedded simulation stream and the live buffer, over the real ZeroMQ path."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from events.model import Collection, EventBatch
from monitoring.live_events import (
    STREAM_SCHEMES,
    EmbeddedSimulation,
    LiveBuffer,
    StreamRequest,
    StreamScheme,
    open_event_stream,
    stamp_runs,
)


def _batch(first: int, n: int) -> EventBatch:
    tracks = Collection.from_columns(
        "tracks", np.ones(n, int), {"d0": np.arange(first, first + n, dtype=float)}
    )
    return EventBatch.build(n, {"event": np.arange(first, first + n)}, tracks=tracks)


def test_live_buffer_keeps_the_newest_events_in_order() -> None:
    buf = LiveBuffer(capacity=25)
    for first in range(0, 100, 10):
        buf(_batch(first, 10))
    assert len(buf) == 25
    assert buf.received == 100
    events = buf.read(0, 25).header["event"]
    assert events.tolist() == list(range(75, 100))
    assert buf.read(24, 25).tracks["d0"].tolist() == [99.0]


def test_embedded_simulation_delivers_generated_events_with_signals() -> None:
    got: list[EventBatch] = []
    arrived = threading.Event()

    def consumer(batch: EventBatch) -> None:
        got.append(batch)
        if sum(len(b) for b in got) >= 300:
            arrived.set()

    stream = open_event_stream(
        "sim", [consumer], seed=3, signals=["zprime:mass=3.0,fraction=0.2"], rate_hz=2000
    )
    stream.start()
    try:
        assert arrived.wait(60), stream.source.stats()
        latest = stream.source.latest()
    finally:
        stream.stop()
    batch = EventBatch.concat(got)
    assert stream.url == "sim"
    assert np.all(np.diff(batch.header["event"]) > 0)  # in order, nothing repeated
    assert (batch.header["signal"] >= 0).mean() > 0.1  # injected signal arrives labelled
    assert batch.tracks.size > len(batch)  # real generated events, not empty shells
    assert latest is not None
    assert len(latest.event) == 1


def test_bad_stream_specs_are_named() -> None:
    with pytest.raises(ValueError, match="expected 'sim' or zmq://"):
        open_event_stream("tcp://1.2.3.4:5")
    with pytest.raises(ValueError, match="unknown kind 'nonsense'"):
        open_event_stream("sim", signals=["nonsense:mass=x"])


def test_the_unknown_stream_error_names_every_scheme_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STREAM_SCHEMES, "file", StreamScheme("file://PATH", STREAM_SCHEMES["zmq"].open))
    with pytest.raises(ValueError, match=r"'udp://x:1': expected 'sim' or zmq://HOST:PORT or file://PATH"):
        open_event_stream("udp://x:1")


def test_a_new_stream_scheme_is_one_table_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tcp://HOST:PORT`` added as one opener and one entry reaches a real publisher."""

    def open_tcp(request: StreamRequest):  # the ZeroMQ endpoint written as ZeroMQ writes it
        zmq_url = "zmq://" + request.url.removeprefix("tcp://")
        return STREAM_SCHEMES["zmq"].open(dataclasses.replace(request, url=zmq_url))

    monkeypatch.setitem(STREAM_SCHEMES, "tcp", StreamScheme("tcp://HOST:PORT", open_tcp))
    got: list[EventBatch] = []
    arrived = threading.Event()

    def consumer(batch: EventBatch) -> None:
        got.append(batch)
        if sum(len(b) for b in got) >= 50:
            arrived.set()

    publisher = EmbeddedSimulation(rate_hz=2000, seed=6).start()
    try:
        stream = open_event_stream(publisher.url.replace("zmq://", "tcp://"), [consumer]).start()
        try:
            assert arrived.wait(60), stream.source.stats()
        finally:
            stream.stop()
    finally:
        publisher.stop()
    assert stream.url == publisher.url
    assert stream.simulation is None
    assert EventBatch.concat(got).tracks.size > 0


def test_events_carry_the_run_in_progress_numbered_from_one_and_none_come_between_runs() -> None:
    runs = iter([(35, 7), (35, 7), None, None, (35, 8)])  # what run control says, batch by batch
    asked = []

    def run_of() -> tuple[int, int] | None:
        asked.append(next(runs, (35, 8)))
        return asked[-1]

    source = (_batch(1000 * k, 10) for k in range(4))
    stamped = list(stamp_runs(source, run_of, threading.Event(), poll_s=0.001))
    assert len(stamped) == 4  # the generator was not drawn from between runs
    header = EventBatch.concat(stamped).header
    assert header["experiment"].tolist() == [35] * 40
    assert header["run"].tolist() == [7] * 20 + [8] * 20
    assert header["event"].tolist() == [*range(1, 21), *range(1, 21)]
    assert asked[:5] == [(35, 7), (35, 7), None, None, (35, 8)]


def test_stamping_stops_waiting_for_a_run_when_asked() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    assert list(stamp_runs([_batch(0, 5)], lambda: None, stop, poll_s=0.01)) == []


def test_a_buffer_snapshot_reads_any_range_and_finds_batch_rows_without_copying() -> None:
    buf = LiveBuffer(capacity=25)
    sizes = [7, 0, 9, 4, 11, 6]  # an empty batch is numbered too, as a running histogram numbers it
    first = 0
    for size in sizes:
        buf(_batch(first, size))
        first += size
    frozen = buf.frozen()
    joined = buf.snapshot()
    assert len(frozen) == len(joined) == 25
    assert joined.header["event"].tolist() == list(range(12, 37))
    for start, stop in [(0, 25), (0, 1), (3, 17), (24, 25), (5, 5), (-4, 3), (20, 99)]:
        got = frozen.read(start, stop)
        np.testing.assert_array_equal(got.header["event"], joined.header["event"][max(0, start) : stop])
        np.testing.assert_array_equal(got.tracks["d0"], got.header["event"].astype(float))
    # (batch number, row) -> position: batch 2 (events 7-15) is partly evicted, batch 0 wholly
    assert frozen.position(2, 4) is None  # event 11 has left
    assert frozen.position(2, 5) == 0  # event 12, the oldest still held
    assert frozen.position(0, 3) is None
    assert frozen.position(5, 5) == 24
    assert frozen.position(5, 6) is None  # no such row
    assert frozen.position(6, 0) is None  # not received yet
    buf(_batch(first, 5))  # the buffer moves on; the snapshot taken before does not
    assert len(frozen) == 25
    assert frozen.read(0, 1).header["event"].tolist() == [12]
