"""The embedded simulation stream and the live buffer, over the real ZeroMQ path."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from events.model import Collection, EventBatch
from monitoring.live_events import LiveBuffer, open_event_stream


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
