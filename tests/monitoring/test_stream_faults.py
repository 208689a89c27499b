"""The live stream against hostile peers: oversized frames, huge multipart messages, broken
handshakes, absurd sequence numbers, restarted publishers, and subscription floods at ``serve``.

Memory-hungry trials run in a child process under ``RLIMIT_AS``, so a failure ends the child,
never the machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from events.wire import WireLimits, encode
from monitoring.live_events import EmbeddedSimulation
from monitoring.serve import EventPublisher, fake_batch
from monitoring.zmq_source import ZmqEventSource
from tests.conftest import ROOT
from tests.monitoring.hostile_peers import (
    GREETING_PUB,
    Conn,
    GatedForwarder,
    RawPublisher,
    batch_message,
    command,
    frame_header,
    ready,
)
from tests.monitoring.test_stream import WAIT_S, Publisher, publishers, wait_until

__all__ = ["publishers"]  # the fixture, shared with test_stream

BATCH = fake_batch(np.random.default_rng(11), 10)


@pytest.fixture
def pub_socket() -> Iterator[tuple[zmq.Socket, str]]:
    """A plain pyzmq PUB socket on a loopback port: the hostile peer that libzmq lets us be."""
    context = zmq.Context()
    sock = context.socket(zmq.PUB)
    sock.setsockopt(zmq.LINGER, 0)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, f"zmq://127.0.0.1:{port}"
    sock.close()
    context.term()


def _good(sequence: int, epoch: int = 5) -> list[bytes]:
    return [bytes(f) for f in encode(BATCH, sequence, "pyzmq-peer", epoch=epoch)]


class Feeder:
    """Numbered batches on a PUB socket: ``send()`` the next, ``until(cond)`` keeps sending."""

    def __init__(self, sock: zmq.Socket, epoch: int = 5) -> None:
        self.sock = sock
        self.epoch = epoch
        self.next = 0

    def send(self) -> None:
        self.sock.send_multipart(_good(self.next, self.epoch))
        self.next += len(BATCH)

    def until(self, condition: Callable[[], bool]) -> bool:
        def step() -> bool:
            self.send()
            time.sleep(0.005)
            return condition()

        return wait_until(step)


# -- the subscriber: protocol errors ---------------------------------------------------------


def test_a_frame_over_the_receive_limit_costs_one_reconnect_not_the_stream(
    pub_socket: tuple[zmq.Socket, str],
) -> None:
    sock, url = pub_socket
    limits = WireLimits(max_message_bytes=2**18)  # frames over 1 MiB end the connection
    feeder = Feeder(sock)
    with ZmqEventSource(url, limits=limits) as source:
        assert feeder.until(lambda: source.stats().events > 0)
        first_seen = feeder.next - source.stats().events  # what was sent before the subscription
        sock.send_multipart([b"\0" * (2 * 2**20)])  # a real libzmq peer, a 2 MiB frame
        assert wait_until(lambda: source.stats().protocol_errors_total == 1)
        # the subscriber dials again by itself, and the same publisher's stream goes on
        events_before = source.stats().events
        assert feeder.until(lambda: source.stats().events > events_before + 50)
        stats = source.stats()
    assert stats.protocol_errors["frame size"] == 1
    assert "over the limit of 1048576" in stats.last_protocol_error
    assert stats.reconnects >= 1
    assert stats.rejected_total == 0
    # counters stay true: every event sent after joining was received or counted as a gap
    assert stats.events + stats.dropped_gap == stats.last_sequence + 1 - first_seen
    assert stats.restarts == 0


def _huge_frame_then_good(pub: list[RawPublisher]) -> Callable[[int, Conn], None]:
    def script(index: int, conn: Conn) -> None:
        conn.handshake()
        if index == 0:
            conn.send(frame_header(2**62))  # declared, never sent: the header alone must do
            conn.recv_exact(1)  # the subscriber hangs up
            return
        for sequence in range(0, 10**6, len(BATCH)):
            if pub[0].stop.is_set():
                return
            conn.send(batch_message(BATCH, sequence))
            time.sleep(0.002)

    return script


def test_a_declared_frame_of_4_exabytes_is_refused_on_its_header() -> None:
    holder: list[RawPublisher] = []
    with RawPublisher(_huge_frame_then_good(holder)) as pub:
        holder.append(pub)
        with ZmqEventSource(pub.url) as source:
            assert wait_until(lambda: source.stats().events >= 100)
            stats = source.stats()
    assert stats.protocol_errors == {"handshake": 0, "framing": 0, "frame size": 1, "peer error": 0}
    assert f"a frame of {2**62} bytes" in stats.last_protocol_error
    assert pub.connections >= 2
    assert stats.connected is True


@pytest.mark.parametrize(
    ("script", "reason", "text"),
    [
        (lambda conn: conn.send(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 64), "handshake", "not a Zero"),
        (
            lambda conn: conn.send(b"\xff" + b"\0" * 8 + b"\x7f\x02\x00" + b"\0" * 52),
            "handshake",
            "ZMTP 2.0 peer",
        ),
        (
            lambda conn: conn.send(GREETING_PUB.replace(b"NULL", b"CURVE")[:64]),
            "handshake",
            "mechanism b'CURVE'",
        ),
        (lambda conn: (conn.send(GREETING_PUB), conn.send(ready(b"REP"))), "handshake", "'REP' socket"),
        (
            lambda conn: (conn.send(GREETING_PUB), conn.send(command(b"ERROR", b"\x0bgo away now"))),
            "peer error",
            "go away now",
        ),
        (lambda conn: (conn.handshake(), conn.send(b"\xf0\x01x")), "framing", "frame flags 0xf0"),
        (lambda conn: (conn.handshake(), conn.send(frame_header(5000, command=True))), "framing", "of 5000"),
        (lambda conn: (conn.handshake(), conn.send(command(b"ERROR", b"\x04shut"))), "peer error", "shut"),
    ],
    ids=["not zmtp", "zmtp 2", "curve", "rep", "error at ready", "bad flags", "huge command", "error later"],
)
def test_protocol_errors_are_counted_by_reason_and_the_subscriber_dials_again(
    script: Callable[[Conn], object], reason: str, text: str
) -> None:
    def run(index: int, conn: Conn) -> None:
        script(conn)
        time.sleep(0.05)

    with RawPublisher(run) as pub, ZmqEventSource(pub.url) as source:
        assert wait_until(lambda: source.stats().protocol_errors[reason] >= 2)  # and again: it retries
        stats = source.stats()
    assert text in stats.last_protocol_error
    assert stats.last_protocol_error.startswith(f"protocol error ({reason})")
    assert stats.events == 0


def test_a_ping_is_answered_and_messages_around_it_arrive() -> None:
    pongs: list[bytes] = []

    def run(index: int, conn: Conn) -> None:
        conn.handshake()
        conn.send(batch_message(BATCH, 0))
        conn.send(command(b"PING", b"\x00\x64ctx-42"))
        _, body = conn.read_frame()
        pongs.append(body)
        conn.send(batch_message(BATCH, 10))
        conn.recv_exact(1)  # until the subscriber goes

    with RawPublisher(run) as pub, ZmqEventSource(pub.url) as source:
        assert wait_until(lambda: source.stats().events == 20)
        stats = source.stats()
    assert pongs == [b"\x04PONGctx-42"]
    assert stats.protocol_errors_total == 0
    assert stats.dropped_total == 0


# -- the subscriber: messages too big or too many frames --------------------------------------


def test_an_oversized_multipart_message_is_read_past_and_the_connection_kept() -> None:
    limit = 2**20

    def run(index: int, conn: Conn) -> None:
        conn.handshake()
        conn.send(batch_message(BATCH, 0))
        for i in range(8):  # 8 frames of 600 kB: each under the limit, 4.8 MB together
            conn.send(frame_header(600_000, more=i < 7))
            conn.send_zeros(600_000)
        conn.send(b"".join(frame_header(1, more=True) + b"x" for _ in range(100)) + frame_header(0))
        conn.send(batch_message(BATCH, 10))
        conn.recv_exact(1)

    limits = WireLimits(max_message_bytes=limit)
    with RawPublisher(run) as pub, ZmqEventSource(pub.url, limits=limits) as source:
        assert wait_until(lambda: source.stats().events == 20)
        stats = source.stats()
    assert stats.rejected["oversized"] == 1
    assert stats.rejected["malformed"] == 1  # 101 frames: more than a batch has
    assert stats.protocol_errors_total == 0
    assert stats.reconnects == 0
    assert stats.messages == 4
    assert stats.bytes > 4_800_000
    assert stats.dropped_total == 0


CHILD_SUBSCRIBER = textwrap.dedent(
    """
    import json, resource, sys, time
    from monitoring.zmq_source import ZmqEventSource

    def vm_bytes():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    source = ZmqEventSource(sys.argv[1]).start()
    time.sleep(0.3)
    headroom = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + headroom, vm_bytes() + headroom))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stats = source.stats()
        if stats.rejected["oversized"] and stats.events >= 20:
            break
        time.sleep(0.05)
    stats = source.stats()
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024
    source.stop()
    print(json.dumps({"rejected": stats.rejected, "events": stats.events, "protocol": stats.protocol_errors,
                      "bytes": stats.bytes, "rss_growth": grew}), flush=True)
    """
)


@pytest.mark.slow
def test_eight_frames_of_200_mb_cost_the_subscriber_no_memory(pub_socket: tuple[zmq.Socket, str]) -> None:
    """The reported attack, with a real libzmq peer: 1.6 GB in one message, against default limits."""
    sock, url = pub_socket
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SUBSCRIBER, url, str(512 * 2**20)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        feeder = Feeder(sock)
        big = np.zeros(200 * 2**20, dtype=np.uint8)  # untouched pages: the sender holds no 200 MB
        # a PUB socket drops until the subscription is in: send good batches until one arrives,
        # which the child cannot report; so send a few, then the attack, then more good ones
        for _ in range(20):
            feeder.send()
            time.sleep(0.02)
        sock.send_multipart([big.data] * 8, copy=False)
        for _ in range(200):
            feeder.send()
            time.sleep(0.01)
        out, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["rejected"]["oversized"] == 1
    assert result["events"] >= 20
    assert sum(result["protocol"].values()) == 0
    assert result["bytes"] > 8 * 200 * 2**20  # every byte of it went past
    assert result["rss_growth"] < 64 * 2**20  # it kept none of it (libzmq alone would hold 1.6 GB)


# -- the subscriber: counters that stay true -------------------------------------------------


def _with_sequence(frames: list[bytes], sequence: int) -> list[bytes]:
    head = json.loads(frames[0][6:])
    head["sequence"] = sequence
    return [frames[0][:6] + json.dumps(head).encode(), *frames[1:]]


def test_absurd_sequence_numbers_never_reach_the_dropped_counter(pub_socket: tuple[zmq.Socket, str]) -> None:
    sock, url = pub_socket
    feeder = Feeder(sock)
    with ZmqEventSource(url) as source:
        assert feeder.until(lambda: source.stats().events > 0)
        base = source.stats()
        sock.send_multipart(_with_sequence(_good(0), 2**80))  # beyond int64: not a valid message
        assert wait_until(lambda: source.stats().rejected["malformed"] == 1)
        assert "beyond int64" in source.stats().last_error
        sock.send_multipart(_good(2**62))  # valid, but no publisher loses 4.6e18 events in a blink
        assert wait_until(lambda: source.stats().restarts == 1)
        assert "jumped" in source.stats().last_restart
        feeder.send()  # and back to the real numbering
        assert wait_until(lambda: source.stats().restarts == 2)
        assert "went back" in source.stats().last_restart
        feeder.send()
        assert wait_until(lambda: source.stats().events == base.events + 30)
        stats = source.stats()
    assert stats.dropped_total == 0
    assert stats.last_sequence == feeder.next - 1
    assert "not counted as lost" in stats.last_restart


def test_a_plausible_gap_is_counted_and_a_new_epoch_is_a_restart(pub_socket: tuple[zmq.Socket, str]) -> None:
    sock, url = pub_socket
    feeder = Feeder(sock)
    with ZmqEventSource(url) as source:
        assert feeder.until(lambda: source.stats().events > 0)
        feeder.next += 500  # 500 events lost on the way
        feeder.send()
        assert wait_until(lambda: source.stats().dropped_gap == 500)
        feeder.epoch, feeder.next = 99, 40  # the same id restarted: 40 events sent before we joined
        feeder.send()
        assert wait_until(lambda: source.stats().restarts == 1)
        stats = source.stats()
    assert stats.missed_restart == 40
    assert stats.dropped_total == 540
    assert "40 events sent before it was joined" in stats.last_restart


def test_events_a_restarted_publisher_sent_before_the_subscriber_rejoined_are_counted(
    publishers: Callable[..., Publisher],
) -> None:
    first = publishers("--rate", "2000", "--batch", "20", "--wait", "1")
    with GatedForwarder(first.port) as relay, ZmqEventSource(relay.url) as source:
        assert wait_until(lambda: source.stats().events >= 200)
        relay.is_open.clear()  # the subscriber is kept away until the new publisher has sent
        first.kill()
        assert wait_until(lambda: not source.stats().connected)
        before = source.stats()
        second = publishers("--rate", "2000", "--batch", "20", "--count", "6000", port=first.port)
        witness: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
        witness.setsockopt(zmq.SUBSCRIBE, b"")
        witness.connect(f"tcp://127.0.0.1:{first.port}")
        try:
            assert witness.poll(int(WAIT_S * 1000)), "the new publisher sent nothing"
        finally:
            witness.close(linger=0)
        relay.is_open.set()
        assert second.wait() == 0
        assert wait_until(lambda: source.stats().last_sequence == 5999)
        after = source.stats()
    received = after.events - before.events
    assert after.restarts == 1
    assert after.missed_restart > 0  # it sent before the subscriber was back
    assert received + after.missed_restart == 6000
    assert after.dropped_gap == 0
    assert f"{after.missed_restart} events sent before it was joined" in after.last_restart


# -- publishers: subscriptions --------------------------------------------------------------

FLOOD = "from tests.monitoring.hostile_peers import flood_main; flood_main()"


class Flood:
    """A child process of ``n`` raw subscribers, each subscribing hostile prefixes again and again."""

    def __init__(self, port: int, n: int, size: int, distinct: int = 1) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", FLOOD, str(port), str(n), str(size), str(distinct)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.drops = 0
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.drops = int(line)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(WAIT_S)


def _rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def _limited(bytes_: int) -> Callable[[], None]:
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (bytes_, bytes_))

    return limit


def test_serve_refuses_huge_subscriptions_keeps_its_memory_and_stops_on_sigterm(tmp_path: Path) -> None:
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--from", "fake", "--rate", "1000", "--bind", "tcp://127.0.0.1:*"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            preexec_fn=_limited(3 * 2**30),  # unbounded, 100 x 1 MB would take 4.8 GB
        )
        flood = None
        try:
            assert serve.stdout is not None
            port = int(serve.stdout.readline().split()[1].rsplit(":", 1)[1])
            url = f"zmq://127.0.0.1:{port}"
            with ZmqEventSource(url) as source:
                assert wait_until(lambda: source.stats().events >= 200)
                idle = _rss(serve.pid)
                flood = Flood(port, n=100, size=2**20)
                # every hostile connection is refused again and again, not just once
                assert wait_until(lambda: flood.drops >= 300)
                loaded = _rss(serve.pid)
                events = source.stats().events
                assert wait_until(lambda: source.stats().events > events + 200)  # still serving
                stats = source.stats()
                serve.send_signal(signal.SIGTERM)  # under the flood
                code = serve.wait(WAIT_S)
        finally:
            if flood is not None:
                flood.stop()
            if serve.poll() is None:
                serve.kill()
                serve.wait()
    assert loaded - idle < 50 * 2**20, f"{(loaded - idle) / 2**20:.0f} MB more under the flood"
    assert stats.dropped_total == 0
    assert code in (0, -signal.SIGTERM)
    text = log_path.read_text()
    assert "Traceback" not in text
    assert "stopped by SIGTERM" in text


def test_a_flood_of_distinct_subscriptions_resets_the_publisher_and_subscribers_come_back() -> None:
    with EventPublisher("tcp://127.0.0.1:*", max_subscriptions=50) as publisher:
        port = int(publisher.endpoint.rsplit(":", 1)[1])
        url = f"zmq://127.0.0.1:{port}"
        stop = threading.Event()

        def publish() -> None:
            while not stop.is_set():
                publisher.poll_subscriptions()
                publisher.publish(BATCH)
                time.sleep(0.005)

        thread = threading.Thread(target=publish, daemon=True)
        with ZmqEventSource(url) as source:
            thread.start()
            try:
                assert wait_until(lambda: source.stats().events >= 100)
                flood = Flood(port, n=1, size=400, distinct=200)
                try:
                    assert wait_until(lambda: publisher.resets >= 1)
                finally:
                    flood.stop()
                events = source.stats().events
                assert wait_until(lambda: source.stats().events > events + 100)  # it came back
                stats = source.stats()
            finally:
                stop.set()
                thread.join(WAIT_S)
    assert stats.reconnects >= 1
    assert stats.restarts == 0  # the same stream: what the reset cost is a counted gap
    assert stats.dropped_gap > 0


def test_the_embedded_publisher_refuses_huge_subscriptions() -> None:
    simulation = EmbeddedSimulation(rate_hz=200)
    publisher = simulation.publisher
    try:
        assert publisher._socket.getsockopt(zmq.MAXMSGSIZE) == publisher.max_subscription_bytes + 12
        context = zmq.Context()
        hostile = context.socket(zmq.SUB)
        hostile.setsockopt(zmq.LINGER, 0)
        # 4 kB: far over the limit; a libzmq SUB keeping a much longer prefix itself crashes on close
        hostile.setsockopt(zmq.SUBSCRIBE, b"B2EV" + b"\0" * 4096)
        monitor = hostile.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        hostile.connect(publisher.endpoint)
        try:
            assert monitor.poll(int(WAIT_S * 1000))  # refused: ZeroMQ hangs up on it
            assert recv_monitor_message(monitor)["event"] == zmq.EVENT_DISCONNECTED
            assert publisher.poll_subscriptions() == 0  # and never saw it
        finally:
            hostile.disable_monitor()
            monitor.close(linger=0)
            hostile.close(linger=0)
            context.term()
    finally:
        publisher.close()


# -- serve: arguments and signals -----------------------------------------------------------


@pytest.mark.parametrize("rate", ["nan", "inf", "-inf", "-5"])
def test_serve_rejects_a_rate_that_is_not_a_finite_number(rate: str) -> None:
    result = subprocess.run(
        [sys.executable, "main.py", "serve", "--from", "fake", f"--rate={rate}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected = r"serve: --rate must be a number of events per second >= 0 \(0: unpaced\), not .+"
    assert re.fullmatch(expected, lines[0])


@pytest.mark.parametrize(("attribute", "value"), [("n_events", "one"), ("SCHEMA_VERSION", [1, 2])])
def test_serve_names_a_file_its_reader_fails_on(tmp_path: Path, attribute: str, value: object) -> None:
    h5py = pytest.importorskip("h5py")
    from events.hdf5 import write

    bad = tmp_path / "odd.h5"
    write(bad, [fake_batch(np.random.default_rng(1), 5)])
    with h5py.File(bad, "a") as f:
        f.attrs[attribute] = value
    result = subprocess.run(
        [sys.executable, "main.py", "serve", "--from", str(bad), "--rate", "0", "--count", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"serve: {bad}")


def test_serve_stops_on_sigterm_while_waiting_for_subscribers(publishers: Callable[..., Publisher]) -> None:
    pub = publishers("--wait", "3", "--wait-timeout", "600")
    pub.process.send_signal(signal.SIGTERM)
    assert pub.wait() == 0
    text = Path(pub.log.name).read_text()
    assert "stopped by SIGTERM while waiting for subscribers" in text
    assert "Traceback" not in text
