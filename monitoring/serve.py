"""``main.py serve``: publish events over ZeroMQ at a steady rate, for any number of subscribers.

The publisher binds an XPUB socket (loopback by default), so it sees subscriptions come and go
and can wait for its first subscribers; every message is one ``events.wire`` batch carrying the
stream position of its first event and the publisher's id. ZeroMQ never blocks a publisher on a
slow subscriber: past the send high-water mark it drops, which the subscriber sees as a gap.

Sources: an events file (``events.io``), the collision generator (``sim``) or ``fake``,
schema-valid random events with no physics, for tests and benchmarks of the transport.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING

import numpy as np
import zmq

from events.model import Collection, EventBatch
from events.trigger import L1_BITS, pack
from events.wire import encode

if TYPE_CHECKING:
    from events.io import EventSource

log = logging.getLogger(__name__)

DEFAULT_BIND = "tcp://127.0.0.1:5556"


class EventPublisher:
    """An XPUB socket that sends numbered event batches and counts its subscribers."""

    def __init__(
        self,
        bind: str = DEFAULT_BIND,
        publisher_id: str | None = None,
        send_hwm: int = 1000,
        context: zmq.Context | None = None,
    ) -> None:
        self.publisher_id = (
            publisher_id or f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"
        )
        self.sequence = 0
        self.subscribers = 0
        self._own_context = context is None
        self._context = context or zmq.Context()
        self._socket = self._context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.XPUB_VERBOSER, 1)  # every subscribe and unsubscribe reaches us
        self._socket.setsockopt(zmq.SNDHWM, send_hwm)
        self._socket.setsockopt(zmq.LINGER, 0)
        try:
            self._socket.bind(bind)
        except zmq.ZMQError as exc:
            self.close()
            raise OSError(f"cannot bind {bind}: {exc}") from None
        self.endpoint: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def poll_subscriptions(self, timeout_ms: int = 0) -> int:
        """Read pending subscribe/unsubscribe notices; returns the subscriber count."""
        while self._socket.poll(timeout_ms, zmq.POLLIN):
            notice = self._socket.recv()
            if notice[:1] == b"\x01":
                self.subscribers += 1
            elif notice[:1] == b"\x00":
                self.subscribers = max(0, self.subscribers - 1)
            timeout_ms = 0
        return self.subscribers

    def wait_for_subscribers(self, n: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.poll_subscriptions() < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.poll_subscriptions(int(min(left, 0.1) * 1000) + 1)
        return True

    def publish(self, batch: EventBatch) -> None:
        """Send one batch (zero-copy); never blocks on subscribers."""
        frames = encode(batch, self.sequence, self.publisher_id)
        self._socket.send_multipart(frames, copy=False)
        self.sequence += len(batch)

    def close(self, linger_ms: int = 0) -> None:
        """Close; with ``linger_ms``, first give queued messages that long to leave."""
        self._socket.close(linger=linger_ms)
        if self._own_context:
            self._context.term()

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._socket.closed:
            self.close()


def rechunk(batches: Iterable[EventBatch], size: int) -> Iterator[EventBatch]:
    """Batches of exactly ``size`` events (the last one may be shorter) from batches of any size."""
    pending: list[EventBatch] = []
    held = 0
    for batch in batches:
        if len(batch) == size and not pending:
            yield batch
            continue
        pending.append(batch)
        held += len(batch)
        if held >= size:
            joined = EventBatch.concat(pending)
            start = 0
            while held - start >= size:
                yield joined.slice(start, start + size)
                start += size
            pending = [joined.slice(start, held)] if start < held else []
            held -= start
    if held:
        yield EventBatch.concat(pending)


def serve(
    publisher: EventPublisher,
    batches: Iterable[EventBatch],
    rate_hz: float,
    count: int | None = None,
    stop: threading.Event | None = None,
    report_every_s: float = 10.0,
) -> int:
    """Publish batches paced to ``rate_hz`` events/s (0: as fast as possible); returns events sent."""
    stop = stop or threading.Event()
    t0 = pace0 = last_report = time.monotonic()
    sent = 0
    for batch in batches:
        if count is not None and sent + len(batch) > count:
            batch = batch.slice(0, count - sent)
        if rate_hz > 0:
            # wait until the previous events' share of time has passed, keeping a steady rate;
            # behind by more than a second (the source paused, or was slow) it does not burst
            delay = pace0 + sent / rate_hz - time.monotonic()
            if delay < -1.0:
                pace0 -= delay
                delay = 0.0
            if delay > 0 and stop.wait(delay):
                break
        if stop.is_set():
            break
        publisher.poll_subscriptions()
        publisher.publish(batch)
        sent += len(batch)
        now = time.monotonic()
        if now - last_report >= report_every_s:
            log.info(
                "%d events sent, %.0f events/s, %d subscribers",
                sent,
                sent / (now - t0),
                publisher.subscribers,
            )
            last_report = now
        if count is not None and sent >= count:
            break
    return sent


def fake_stream(seed: int, batch_size: int = 100) -> Iterator[EventBatch]:
    """Endless schema-valid random events (no physics): a transport test pattern."""
    rng = np.random.default_rng(seed)
    first = 0
    while True:
        yield fake_batch(rng, batch_size, first)
        first += batch_size


def fake_batch(rng: np.random.Generator, n: int, first_event: int = 0) -> EventBatch:
    """``n`` random events numbered from ``first_event``, with objects in every collection."""

    def counts(mean: float) -> np.ndarray:
        return rng.poisson(mean, n)

    nt = counts(4.0)
    t = int(nt.sum())
    pt = rng.uniform(0.1, 4.0, t)
    charge = rng.choice(np.array([-1, 1], dtype=np.int8), t)
    radius_cm = pt / (0.299792458e-2 * 1.5)  # transverse radius in a 1.5 T field
    tracks = Collection.from_columns(
        "tracks",
        nt,
        {
            "d0": rng.normal(0.0, 0.05, t),
            "phi0": rng.uniform(-np.pi, np.pi, t),
            "omega": charge / radius_cm,
            "z0": rng.normal(0.0, 0.5, t),
            "tan_lambda": rng.normal(0.3, 0.8, t),
            "cov": rng.uniform(0.0, 1e-4, (t, 15)),
            "charge": charge,
            "p_value": rng.uniform(0.0, 1.0, t),
            "pid_logl": rng.normal(-5.0, 2.0, (t, 6)),
        },
    )
    ne = counts(6.0)
    e = int(ne.sum())
    ecl = Collection.from_columns(
        "ecl",
        ne,
        {
            "energy": rng.exponential(0.3, e),
            "theta": rng.uniform(np.radians(12.4), np.radians(155.1), e),
            "phi": rng.uniform(-np.pi, np.pi, e),
            "r": rng.uniform(125.0, 150.0, e),
            "time": rng.normal(0.0, 20.0, e),
            "cell_id": rng.integers(1, 8737, e),
            "n_crystals": rng.integers(1, 20, e),
        },
    )
    nk = counts(1.0)
    k = int(nk.sum())
    klm = Collection.from_columns(
        "klm", nk, {"x": rng.normal(0, 200, k), "y": rng.normal(0, 200, k), "z": rng.normal(0, 150, k)}
    )
    nv = counts(0.3)
    vertices = Collection.from_columns("vertices", nv, {"x": rng.normal(0, 1, int(nv.sum()))})
    bits = {name: rng.random(n) < 0.1 for name in L1_BITS[:12]}
    header = {
        "experiment": np.full(n, 26),
        "run": np.full(n, 1),
        "event": np.arange(first_event, first_event + n),
        "time": np.full(n, time.time_ns(), dtype=np.uint64),
        "l1_bits": pack(bits),
    }
    return EventBatch.build(n, header, source="fake", tracks=tracks, ecl=ecl, klm=klm, vertices=vertices)


def open_source(spec: str, seed: int, batch_size: int, signals: Sequence[str] = ()) -> Iterator[EventBatch]:
    """The batches of ``--from``: ``sim``, ``fake`` or an events file; ``ValueError`` names the problem."""
    if spec == "fake":
        return fake_stream(seed, batch_size)
    if spec == "sim":
        from events.generator import parse_signal, stream

        specs = [parse_signal(text) for text in signals]  # SignalSpecError is a ValueError
        return iter(stream(seed, specs, chunk_size=batch_size))
    if signals:
        raise ValueError("--signal applies to --from sim only")
    if not os.path.exists(spec):
        raise ValueError(f"{spec}: no such file (--from takes an events file, 'sim' or 'fake')")
    from events.io import EventFileError, open_events

    try:
        source = open_events(spec)
    except EventFileError as exc:  # its text names the file and the problem
        raise ValueError(str(exc)) from None
    return _file_batches(source, batch_size)


def _file_batches(source: EventSource, batch_size: int) -> Iterator[EventBatch]:
    """The chunks of an open file, with the readers' errors as ``ValueError``."""
    from events.io import EventFileError

    try:
        yield from source.chunks(batch_size)
    except EventFileError as exc:
        raise ValueError(str(exc)) from None


def default_batch(rate_hz: float) -> int:
    """Events per message for about 50 messages per second: fresh displays, modest overhead."""
    return 100 if rate_hz <= 0 else int(min(100, max(1, round(rate_hz / 50))))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="source", default="sim", help="events file, 'sim' or 'fake' (default sim)"
    )
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="events per second, 0 for unpaced (default 1000)"
    )
    parser.add_argument(
        "--bind", default=DEFAULT_BIND, help=f"ZeroMQ endpoint to bind (default {DEFAULT_BIND})"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="events per message (default: about 50 messages/s, at most 100)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of sim and fake (default 1)")
    parser.add_argument(
        "--signal",
        action="append",
        default=[],
        help="dark-sector signal mixed into sim, e.g. zprime:mass=3.0,fraction=0.01 (repeatable)",
    )
    parser.add_argument("--count", type=int, default=None, help="stop after this many events")
    parser.add_argument("--wait", type=int, default=0, help="wait for this many subscribers before sending")
    parser.add_argument(
        "--wait-timeout", type=float, default=30.0, help="seconds to wait for them (default 30)"
    )
    parser.add_argument(
        "--hwm", type=int, default=1000, help="messages queued per slow subscriber before drops"
    )
    parser.add_argument(
        "--id", dest="publisher_id", default=None, help="publisher id (default host-pid-random)"
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="serve: %(message)s", stream=sys.stderr)
    if args.batch is None:
        args.batch = default_batch(args.rate)
    if args.batch < 1 or args.rate < 0 or (args.count is not None and args.count < 0):
        print("serve: --batch must be >= 1, --rate and --count >= 0", file=sys.stderr)
        return 2
    try:
        batches = rechunk(open_source(args.source, args.seed, args.batch, args.signal), args.batch)
        publisher = EventPublisher(args.bind, args.publisher_id, send_hwm=args.hwm)
    except (ValueError, OSError) as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    with publisher:
        # the first stdout line names the bound endpoint, so a caller binding port * learns the port
        print(f"serving {publisher.endpoint} as {publisher.publisher_id}", flush=True)
        if args.wait and not publisher.wait_for_subscribers(args.wait, args.wait_timeout):
            print(f"serve: fewer than {args.wait} subscribers after {args.wait_timeout} s", file=sys.stderr)
            return 1
        try:
            sent = serve(publisher, batches, args.rate, args.count, stop)
        except (ValueError, OSError) as exc:
            print(f"serve: {exc}", file=sys.stderr)
            return 1
        publisher.close(linger_ms=2000)  # let queued messages reach connected subscribers
    log.info("%d events sent from %s", sent, args.source)
    return 0
