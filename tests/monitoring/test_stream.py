"""The live event stream with real peers: a ``main.py serve`` subprocess or a raw ZeroMQ socket."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq

from events.model import EventBatch
from events.trigger import fired
from events.wire import WireLimits, encode
from monitoring.serve import fake_batch, fake_stream, rechunk
from monitoring.zmq_source import StreamStats, ZmqEventSource, endpoint
from tests.conftest import ROOT

WAIT_S = 30.0  # the bound on every wait; tests normally finish far sooner


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Publisher:
    """``main.py serve --from fake`` in a subprocess, bound to loopback."""

    def __init__(self, log_dir: Path, *args: str, port: int | None = None, source: str = "fake") -> None:
        bind = f"tcp://127.0.0.1:{port or '*'}"
        self.log = (log_dir / f"serve-{time.monotonic_ns()}.log").open("w")
        cmd = [sys.executable, "main.py", "serve", "--from", source, "--bind", bind, *args]
        self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], WAIT_S)
        line = self.process.stdout.readline() if ready else ""
        assert line.startswith("serving "), f"publisher did not start: {line!r}"
        _, address, _, self.publisher_id = line.split()
        self.port = int(address.rsplit(":", 1)[1])
        self.url = f"zmq://127.0.0.1:{self.port}"

    def wait(self, timeout_s: float = WAIT_S) -> int:
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(WAIT_S)
        self.log.close()


@pytest.fixture
def publishers(tmp_path: Path) -> Iterator[Callable[..., Publisher]]:
    started: list[Publisher] = []

    def start(*args: str, port: int | None = None, source: str = "fake") -> Publisher:
        started.append(Publisher(tmp_path, *args, port=port, source=source))
        return started[-1]

    yield start
    for publisher in started:
        publisher.kill()


class Recorder:
    """A consumer that keeps every event number and counts one L1 line, like a trigger counter."""

    def __init__(self) -> None:
        self.events: list[np.ndarray] = []
        self.ff = 0

    def __call__(self, batch: EventBatch) -> None:
        self.events.append(batch.header["event"].copy())
        self.ff += int(fired(batch.header["l1_bits"], "ff").sum())

    def numbers(self) -> np.ndarray:
        return np.concatenate(self.events) if self.events else np.zeros(0, dtype=np.int64)


def _expected_ff(seed: int, batch: int, count: int) -> int:
    stream = fake_stream(seed, batch)
    return sum(int(fired(next(stream).header["l1_bits"], "ff").sum()) for _ in range(count // batch))


def _assert_clean(stats: StreamStats) -> None:
    assert stats.rejected_total == 0, stats.last_error
    assert stats.dropped_total == 0
    assert stats.consumer_errors == 0, stats.last_error


def test_every_event_arrives_in_order_and_is_counted(publishers: Callable[..., Publisher]) -> None:
    pub = publishers("--rate", "4000", "--batch", "40", "--count", "4000", "--seed", "5", "--wait", "1")
    recorder = Recorder()
    with ZmqEventSource(pub.url, keep=lambda b: b.tracks.counts >= 6, consumers=[recorder]) as source:
        assert wait_until(lambda: source.stats().delivered >= 4000)
        stats = source.stats()
        latest = source.latest()
    assert pub.wait() == 0
    np.testing.assert_array_equal(recorder.numbers(), np.arange(4000))
    assert recorder.ff == _expected_ff(5, 40, 4000)  # the trigger counter saw every event
    _assert_clean(stats)
    assert (stats.events, stats.messages, stats.last_sequence) == (4000, 100, 3999)
    assert stats.publisher == pub.publisher_id
    assert stats.restarts == 0
    # the display keeps the newest event that passes its filter
    assert latest is not None
    assert latest.event.tracks.counts[0] >= 6
    assert latest.sequence == int(latest.event.header["event"][0])
    assert latest.sequence > 3900


def test_two_subscribers_receive_the_same_stream(publishers: Callable[..., Publisher]) -> None:
    pub = publishers("--rate", "3000", "--batch", "25", "--count", "1500", "--wait", "2")
    recorders = [Recorder(), Recorder()]
    sources = [ZmqEventSource(pub.url, consumers=[recorder]) for recorder in recorders]
    for source in sources:
        source.start()
    try:
        assert wait_until(lambda: all(s.stats().delivered >= 1500 for s in sources))
    finally:
        for source in sources:
            source.stop()
    for source, recorder in zip(sources, recorders, strict=True):
        np.testing.assert_array_equal(recorder.numbers(), np.arange(1500))
        _assert_clean(source.stats())


def test_subscriber_reconnects_to_a_restarted_publisher(publishers: Callable[..., Publisher]) -> None:
    first = publishers("--rate", "2000", "--batch", "20", "--wait", "1")
    recorder = Recorder()
    with ZmqEventSource(first.url, stale_after_s=0.5, consumers=[recorder]) as source:
        assert wait_until(lambda: source.stats().delivered >= 400)
        first.kill()  # mid-stream, no goodbye
        assert wait_until(lambda: not source.stats().connected)
        assert wait_until(lambda: source.stats().stale)
        before = source.stats()
        second = publishers(
            "--rate", "2000", "--batch", "20", "--count", "600", "--wait", "1", port=first.port
        )
        assert wait_until(lambda: source.stats().delivered >= before.delivered + 600)
        assert second.wait() == 0
        after = source.stats()
    assert second.publisher_id != first.publisher_id
    assert after.publisher == second.publisher_id
    assert after.restarts == 1
    assert after.reconnects >= 1
    assert after.events == before.events + 600
    _assert_clean(after)
    numbers = recorder.numbers()
    cut = before.delivered
    np.testing.assert_array_equal(numbers[:cut], np.arange(cut))  # the first run, in order
    np.testing.assert_array_equal(numbers[cut:], np.arange(600))  # the second run, from its start


def _raw_message(batch: EventBatch, sequence: int, publisher: str = "raw-peer") -> list[bytes]:
    return [bytes(f) for f in encode(batch, sequence, publisher)]


def test_bad_messages_are_counted_by_reason_and_the_stream_goes_on() -> None:
    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    batch = fake_batch(np.random.default_rng(1), 10)
    good = _raw_message(batch, 0)
    wrong_version = [good[0][:4] + b"\x07\x00" + good[0][6:], *good[1:]]
    wrong_schema = [good[0].replace(b'"schema":1', b'"schema":9'), *good[1:]]
    wrong_dtype = [good[0].replace(b'"header.event","<i8"', b'"header.event","<f8"'), *good[1:]]
    source = ZmqEventSource(f"zmq://127.0.0.1:{port}", limits=WireLimits(max_message_bytes=2**20))
    try:
        source.start()
        # a PUB socket drops until the subscription arrives: send numbered batches until one is in
        probes = [0]

        def probe() -> bool:
            pub.send_multipart(_raw_message(batch, 10 * probes[0]))
            probes[0] += 1
            return source.stats().events > 0

        assert wait_until(probe)
        assert wait_until(lambda: source.stats().last_sequence == 10 * probes[0] - 1)
        base = source.stats()
        for message in (
            [b"hello"],
            [b"B2EV"],
            wrong_version,
            wrong_schema,
            wrong_dtype,
            [good[0], b"\0" * (2 * 2**20), *good[2:]],  # 2 MiB: over the configured limit
        ):
            pub.send_multipart(message)
        pub.send_multipart(_raw_message(batch, base.last_sequence + 1))
        assert wait_until(lambda: source.stats().events >= base.events + 10)
        stats = source.stats()
        assert stats.rejected == {
            "malformed": 2,
            "version": 1,
            "schema": 1,
            "dtype": 1,
            "shape": 0,
            "offsets": 0,
            "oversized": 1,
        }
        assert stats.last_error.startswith("oversized: message of")
        assert stats.messages == base.messages + 7
        assert stats.dropped_total == 0
        # sequence gaps count lost events; a sequence that starts over is a restart
        pub.send_multipart(_raw_message(batch, stats.last_sequence + 1 + 30))
        assert wait_until(lambda: source.stats().dropped_gap == 30)
        pub.send_multipart(_raw_message(batch, 0))
        assert wait_until(lambda: source.stats().restarts == 1)
        assert source.stats().dropped_gap == 30
    finally:
        source.stop()
        pub.close()
        context.term()


def _stuck_consumer() -> tuple[threading.Event, Recorder, Callable[[EventBatch], None]]:
    """A consumer that blocks until the event is set, then records the batch it held."""
    release = threading.Event()
    recorder = Recorder()

    def stuck(batch: EventBatch) -> None:
        release.wait(WAIT_S)
        recorder(batch)

    return release, recorder, stuck


def test_a_slow_consumer_costs_counted_drops_never_a_block(publishers: Callable[..., Publisher]) -> None:
    pub = publishers("--rate", "0", "--batch", "10", "--count", "3000", "--wait", "1")
    release, recorder, stuck = _stuck_consumer()
    with ZmqEventSource(pub.url, queue_size=4, consumers=[stuck]) as source:
        # while the consumer is stuck, everything is still received, decoded and shown
        assert wait_until(lambda: source.stats().events >= 3000)
        stats = source.stats()
        latest = source.latest()
        assert stats.delivered == 0
        assert stats.queue_depth <= 4
        assert stats.dropped_overflow >= 3000 - 5 * 10  # at most one batch in the consumer, four queued
        assert stats.dropped_gap == 0
        assert latest is not None
        assert latest.sequence == 2999
        release.set()
        # every event is either handed to the consumers or counted as dropped
        assert wait_until(lambda: source.stats().delivered + source.stats().dropped_overflow == 3000)
        stats = source.stats()
    numbers = recorder.numbers()
    assert stats.delivered == len(numbers) > 0
    assert (np.diff(numbers) > 0).all()  # what was kept is still in order


def test_the_queue_is_bounded_in_bytes_too(publishers: Callable[..., Publisher]) -> None:
    pub = publishers("--rate", "0", "--batch", "10", "--count", "3000", "--wait", "1")
    release, recorder, stuck = _stuck_consumer()
    # room for fewer bytes than one message: an empty queue still takes one, no more
    with ZmqEventSource(pub.url, queue_bytes=1, consumers=[stuck]) as source:
        assert wait_until(lambda: source.stats().events >= 3000)
        stats = source.stats()
        assert stats.queue_depth <= 1
        assert stats.dropped_overflow >= 3000 - 2 * 10  # one batch in the consumer, one queued
        release.set()
        assert wait_until(lambda: source.stats().delivered + source.stats().dropped_overflow == 3000)
        assert source.stats().delivered == len(recorder.numbers()) > 0


def test_a_failing_consumer_is_counted_and_others_still_get_every_batch(
    publishers: Callable[..., Publisher],
) -> None:
    pub = publishers("--rate", "2000", "--batch", "20", "--count", "1000", "--wait", "1")
    recorder, late = Recorder(), Recorder()

    def broken(batch: EventBatch) -> None:
        raise RuntimeError("histogram exploded")

    with ZmqEventSource(pub.url, consumers=[broken, recorder]) as source:
        assert wait_until(lambda: source.stats().delivered > 0)
        source.add_consumer(late)  # joins a running stream: gets everything from then on
        assert wait_until(lambda: source.stats().delivered >= 1000)
        stats = source.stats()
    np.testing.assert_array_equal(recorder.numbers(), np.arange(1000))
    assert 0 < len(late.numbers()) < 1000
    np.testing.assert_array_equal(late.numbers(), np.arange(1000 - len(late.numbers()), 1000))
    assert stats.consumer_errors == 50
    assert "histogram exploded" in stats.last_error


def test_serve_publishes_the_collision_generator(publishers: Callable[..., Publisher]) -> None:
    pytest.importorskip("events.generator")
    args = ("--rate", "2000", "--batch", "50", "--count", "1000", "--wait", "1", "--seed", "3")
    pub = publishers(*args, "--signal", "zprime:mass=3.0,fraction=0.2", source="sim")
    batches: list[EventBatch] = []
    with ZmqEventSource(pub.url, consumers=[batches.append]) as source:
        assert wait_until(lambda: source.stats().delivered >= 1000)
        stats = source.stats()
    assert pub.wait() == 0
    _assert_clean(stats)
    events = EventBatch.concat(batches)
    assert events.source == "generator"
    np.testing.assert_array_equal(np.diff(events.header["event"]), 1)  # in order, none missing
    assert events.tracks.size > 1000
    assert (events.header["l1_bits"] != 0).any()
    assert (events.header["signal_mass"] == np.float32(3.0)).any()  # the injected Z' reaches the subscriber


def test_serve_publishes_an_mdst_file_unchanged(
    publishers: Callable[..., Publisher], mdst_sample: Path
) -> None:
    io = pytest.importorskip("events.io")
    expected = io.open_events(mdst_sample).read()
    pub = publishers("--rate", "0", "--batch", "4", "--wait", "1", source=str(mdst_sample))
    batches: list[EventBatch] = []
    with ZmqEventSource(pub.url, consumers=[batches.append]) as source:
        assert wait_until(lambda: source.stats().delivered >= len(expected))
        stats = source.stats()
    assert pub.wait() == 0
    _assert_clean(stats)
    received = EventBatch.concat(batches)
    assert received.source == str(mdst_sample)
    np.testing.assert_array_equal(received.header["event"], expected.header["event"])
    for name in ("tracks", "ecl", "klm"):
        np.testing.assert_array_equal(getattr(received, name).offsets, getattr(expected, name).offsets)
    np.testing.assert_array_equal(received.tracks["omega"], expected.tracks["omega"])
    np.testing.assert_array_equal(received.ecl["energy"], expected.ecl["energy"])


def test_serve_stops_cleanly_on_sigterm(publishers: Callable[..., Publisher]) -> None:
    pub = publishers("--rate", "1000", "--wait", "1")
    with ZmqEventSource(pub.url) as source:
        assert wait_until(lambda: source.stats().delivered > 0)
        pub.process.send_signal(signal.SIGTERM)
        assert pub.wait() == 0
        assert wait_until(lambda: not source.stats().connected)
    assert "events sent from fake" in Path(pub.log.name).read_text()


def test_serve_reports_bad_input_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "nope.h5"
    result = subprocess.run(
        [sys.executable, "main.py", "serve", "--from", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 2
    assert "nope.h5" in result.stderr
    assert "Traceback" not in result.stderr
    broken = tmp_path / "broken.root"
    broken.write_bytes(b"root\0" + bytes(range(256)) * 4)
    for args, named in (
        (["--from", str(broken)], "broken.root"),
        (["--from", "sim", "--signal", "bogus:mass=1"], "bogus"),
    ):
        result = subprocess.run(
            [sys.executable, "main.py", "serve", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert result.returncode == 2, result.stderr
        assert named in result.stderr
        assert "Traceback" not in result.stderr
    context = zmq.Context()
    taken = context.socket(zmq.PUB)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    try:
        result = subprocess.run(
            [sys.executable, "main.py", "serve", "--from", "fake", "--bind", f"tcp://127.0.0.1:{port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
    finally:
        taken.close(linger=0)
        context.term()
    assert result.returncode == 2
    assert f"cannot bind tcp://127.0.0.1:{port}" in result.stderr


def test_addresses() -> None:
    assert endpoint("zmq://127.0.0.1:5556") == "tcp://127.0.0.1:5556"
    assert endpoint("zmq://localhost:1") == "tcp://localhost:1"
    for bad in ("tcp://127.0.0.1:5556", "zmq://127.0.0.1", "zmq://:5556", "zmq://h:99999", "zmq://h:1/x"):
        with pytest.raises(ValueError, match="expected an address like"):
            endpoint(bad)


def test_rechunk_keeps_every_event_in_order() -> None:
    rng = np.random.default_rng(0)
    sizes = [3, 7, 1, 10, 0, 5]
    firsts = np.cumsum([0, *sizes[:-1]])
    parts = [fake_batch(rng, n, int(f)) for n, f in zip(sizes, firsts, strict=True)]
    out = list(rechunk(parts, 4))
    assert [len(b) for b in out] == [4, 4, 4, 4, 4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b.header["event"] for b in out]), np.arange(26))
    tracks = EventBatch.concat(out).tracks
    np.testing.assert_array_equal(tracks["d0"], EventBatch.concat(parts).tracks["d0"])
