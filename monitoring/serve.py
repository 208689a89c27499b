"""``main.py serve``: publish events over ZeroMQ at a steady rate, for any number of subscribers.

The publisher binds an XPUB socket (loopback by default), so it sees subscriptions come and go
and can wait for its first subscribers; every message is one ``events.wire`` batch carrying the
stream position of its first event, the publisher's id and its epoch (start time). ZeroMQ never
blocks a publisher on a slow subscriber: past the send high-water mark it drops, which the
subscriber sees as a gap.

A publisher keeps every subscription prefix it is sent, at about 48 bytes of memory per byte of
prefix, so its memory is bounded here: a subscription message over ``max_subscription_bytes`` is
refused by ZeroMQ before it is read (``ZMQ_MAXMSGSIZE``: the peer is disconnected), and more than
``max_subscriptions`` distinct prefixes, or a flood of notices, resets the socket (every subscriber
reconnects by itself; the events lost meanwhile show as a gap). ``serve`` stops on SIGINT or
SIGTERM whatever its subscribers do.

Sources: an events file (``events.io``), the collision generator (``sim``) or ``fake``,
schema-valid random events with no physics, for tests and benchmarks of the transport.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING

import numpy as np
import zmq

from events.model import Collection, EventBatch
from events.trigger import L1_BITS, pack
from events.wire import encode_packed

if TYPE_CHECKING:
    from events.source import EventSource

log = logging.getLogger(__name__)

DEFAULT_BIND = "tcp://127.0.0.1:5556"
# the ZMTP 3.1 SUBSCRIBE command is 10 bytes before its prefix; READY, with a 255-byte routing id,
# is under 300: a receive limit of 512 bytes lets every real peer in and keeps prefixes short
MAX_SUBSCRIPTION_BYTES = 500
MAX_SUBSCRIPTIONS = 256  # distinct prefixes: 256 of 500 bytes cost ZeroMQ some 6 MB
MAX_NOTICES = 10_000  # subscription notices read at once; more is a flood


class EventPublisher:
    """An XPUB socket that sends numbered event batches and counts its subscriptions."""

    def __init__(
        self,
        bind: str = DEFAULT_BIND,
        publisher_id: str | None = None,
        send_hwm: int = 1000,
        context: zmq.Context | None = None,
        max_subscription_bytes: int = MAX_SUBSCRIPTION_BYTES,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
        max_notices: int = MAX_NOTICES,
    ) -> None:
        self.publisher_id = (
            publisher_id or f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"
        )
        self.epoch = time.time_ns()  # a restart under the same id is still a new stream
        self.sequence = 0
        self.subscribers = 0  # subscriptions made and not cancelled (one per plain subscriber)
        self.resets = 0  # socket resets forced by subscription floods
        self.max_subscription_bytes = max_subscription_bytes
        self.max_subscriptions = max_subscriptions
        self.max_notices = max_notices
        self._send_hwm = send_hwm
        self._prefixes: dict[bytes, int] = {}  # subscribed prefix -> subscriptions to it
        self._own_context = context is None
        self._context = context or zmq.Context()
        self._socket = self._new_socket()
        try:
            self._socket.bind(bind)
        except zmq.ZMQError as exc:
            self.close()
            raise OSError(f"cannot bind {bind}: {exc}") from None
        self.endpoint: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def _new_socket(self) -> zmq.Socket:
        sock = self._context.socket(zmq.XPUB)
        sock.setsockopt(zmq.XPUB_VERBOSER, 1)  # every subscribe and unsubscribe reaches us
        sock.setsockopt(zmq.SNDHWM, self._send_hwm)
        sock.setsockopt(zmq.LINGER, 0)
        # a bigger frame from a subscriber is refused unread and its connection dropped: a prefix
        # stored costs ~48 bytes per byte, so a 100 MB subscription would otherwise cost 4.8 GB
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_subscription_bytes + 12)
        return sock

    def poll_subscriptions(self, timeout_ms: int = 0) -> int:
        """Read pending subscribe/unsubscribe notices (a bounded number); returns the subscriptions.

        A flood (more distinct prefixes than ``max_subscriptions``, or ``max_notices`` notices at
        once) resets the socket."""
        notices = 0
        while notices < self.max_notices and self._socket.poll(timeout_ms, zmq.POLLIN):
            notice = self._socket.recv()
            notices += 1
            timeout_ms = 0
            kind, prefix = notice[:1], notice[1:]
            if kind == b"\x01":
                self.subscribers += 1
                self._prefixes[prefix] = self._prefixes.get(prefix, 0) + 1
            elif kind == b"\x00":
                self.subscribers = max(0, self.subscribers - 1)
                left = self._prefixes.pop(prefix, 0) - 1
                if left > 0:
                    self._prefixes[prefix] = left
        if len(self._prefixes) > self.max_subscriptions:
            limit = self.max_subscriptions
            self._reset(f"{len(self._prefixes)} distinct subscriptions, over the limit of {limit}")
        elif notices >= self.max_notices:
            self._reset(f"a flood of over {self.max_notices} subscription notices")
        return self.subscribers

    def _reset(self, why: str) -> None:
        """Close and rebind the socket: ZeroMQ forgets every subscription, subscribers reconnect."""
        log.warning("%s: %s; resetting the socket (subscribers reconnect by themselves)", self.endpoint, why)
        self._socket.close(linger=0)
        self._prefixes.clear()
        self.subscribers = 0
        self.resets += 1
        self._socket = self._new_socket()
        deadline = time.monotonic() + 2.0
        while True:  # the old socket releases its port in ZeroMQ's I/O thread, soon
            try:
                self._socket.bind(self.endpoint)
                return
            except zmq.ZMQError as exc:
                if time.monotonic() > deadline:
                    raise OSError(f"cannot bind {self.endpoint} again after a reset: {exc}") from None
                time.sleep(0.01)

    def wait_for_subscribers(self, n: int, timeout_s: float, stop: threading.Event | None = None) -> bool:
        """True once ``n`` subscriptions are in; False after ``timeout_s`` or once ``stop`` is set."""
        deadline = time.monotonic() + timeout_s
        while self.poll_subscriptions() < n:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop.is_set()):
                return False
            self.poll_subscriptions(int(min(left, 0.1) * 1000) + 1)
        return True

    def publish(self, batch: EventBatch) -> None:
        """Send one batch as one packed body (wire version 3); never blocks on subscribers."""
        frames = encode_packed(batch, self.sequence, self.publisher_id, epoch=self.epoch)
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


def _simulated(seed: int, batch_size: int, signals: Sequence[str]) -> Iterator[EventBatch]:
    from events.generator import parse_signal, stream

    specs = [parse_signal(text) for text in signals]  # SignalSpecError is a ValueError
    return iter(stream(seed, specs, chunk_size=batch_size))


def _fake(seed: int, batch_size: int, signals: Sequence[str]) -> Iterator[EventBatch]:
    if signals:
        raise ValueError("--signal applies to --from sim only")
    return fake_stream(seed, batch_size)


# the named sources of ``--from`` (anything else is an events file): name -> (seed, batch, signals) -> batches
NAMED_SOURCES: dict[str, Callable[[int, int, Sequence[str]], Iterator[EventBatch]]] = {
    "sim": _simulated,
    "fake": _fake,
}


def open_publish_source(
    spec: str, seed: int, batch_size: int, signals: Sequence[str] = ()
) -> Iterator[EventBatch]:
    """The batches of ``--from``: a name of :data:`NAMED_SOURCES` or an events file;
    ``ValueError`` names the problem."""
    if spec in NAMED_SOURCES:
        return NAMED_SOURCES[spec](seed, batch_size, signals)
    if signals:
        raise ValueError("--signal applies to --from sim only")
    if not os.path.exists(spec):
        names = ", ".join(repr(n) for n in NAMED_SOURCES)
        raise ValueError(f"{spec}: no such file (--from takes an events file or one of {names})")
    from events.io import open_events
    from events.source import EventFileError

    try:
        source = open_events(spec)
    except EventFileError as exc:  # its text names the file and the problem
        raise ValueError(str(exc)) from None
    except Exception as exc:  # a reader's own failure on a damaged file: still one line
        raise ValueError(_file_problem(spec, exc)) from None
    return _file_batches(spec, source, batch_size)


def _file_problem(path: str, exc: Exception) -> str:
    text = str(exc) if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())[:300] or type(exc).__name__
    return text if path in text else f"{path}: {text}"


def _file_batches(path: str, source: EventSource, batch_size: int) -> Iterator[EventBatch]:
    """The chunks of an open file, closed when they end; any reader error becomes a ``ValueError``
    naming the file."""
    from events.source import EventFileError

    try:
        yield from source.chunks(batch_size)
    except EventFileError as exc:
        raise ValueError(str(exc) if path in str(exc) else f"{path}: {exc}") from None
    except Exception as exc:
        raise ValueError(_file_problem(path, exc)) from None
    finally:
        source.close()


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
    if not math.isfinite(args.rate) or args.rate < 0:
        message = f"serve: --rate must be a number of events per second >= 0 (0: unpaced), not {args.rate}"
        print(message, file=sys.stderr)
        return 2
    if args.batch is None:
        args.batch = default_batch(args.rate)
    if args.batch < 1 or (args.count is not None and args.count < 0) or not math.isfinite(args.wait_timeout):
        print("serve: --batch must be >= 1, --count >= 0 and --wait-timeout a number", file=sys.stderr)
        return 2
    stop = threading.Event()
    stopped_by: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped_by.append(signal.Signals(signum).name)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        batches = rechunk(open_publish_source(args.source, args.seed, args.batch, args.signal), args.batch)
        publisher = EventPublisher(args.bind, args.publisher_id, send_hwm=args.hwm)
    except (ValueError, OSError) as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    with publisher:
        # the first stdout line names the bound endpoint, so a caller binding port * learns the port
        print(f"serving {publisher.endpoint} as {publisher.publisher_id}", flush=True)
        if args.wait and not publisher.wait_for_subscribers(args.wait, args.wait_timeout, stop):
            if stopped_by:
                print(f"serve: stopped by {stopped_by[0]} while waiting for subscribers", file=sys.stderr)
                return 0
            print(f"serve: fewer than {args.wait} subscribers after {args.wait_timeout} s", file=sys.stderr)
            return 1
        try:
            sent = serve(publisher, batches, args.rate, args.count, stop)
        except (ValueError, OSError) as exc:
            print(f"serve: {exc}", file=sys.stderr)
            return 1
        # let queued messages reach connected subscribers; briefly when asked to stop
        publisher.close(linger_ms=200 if stopped_by else 2000)
    how = f", stopped by {stopped_by[0]}" if stopped_by else ""
    log.info("%d events sent from %s%s", sent, args.source, how)
    return 0
