"""The ``zmq://HOST:PORT`` live event source: a ZeroMQ subscriber off the GUI thread.

A receiver thread reads ``events.wire`` messages, decodes them (no pickle) and keeps the latest
event (or the latest one a filter keeps) for the display. Every batch then goes through a
bounded queue to a dispatcher thread that hands it to the registered consumers (running
histograms, trigger counters), in order. Nothing here ever blocks the caller: when consumers
fall behind, the queue overflows and the lost events are counted; events the publisher or the
network dropped show up as gaps in the sequence numbers and are counted apart. Bad messages are
counted by reason (``events.wire.REASONS``), the last error is kept, and the stream goes on.
ZeroMQ reconnects by itself; a restarted publisher is recognised by its new id or a sequence
that starts again, and counting simply continues.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from events.model import EventBatch
from events.wire import REASONS, Message, WireError, WireLimits, decode

log = logging.getLogger(__name__)

DEFAULT_URL = "zmq://127.0.0.1:5556"

Consumer = Callable[[EventBatch], None]
EventFilter = Callable[[EventBatch], np.ndarray]  # batch -> boolean mask of events to show


def endpoint(url: str) -> str:
    """``zmq://HOST:PORT`` as the ZeroMQ endpoint ``tcp://HOST:PORT``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "zmq" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"{url!r}: expected an address like zmq://127.0.0.1:5556")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"tcp://{host}:{port}"


@dataclass(frozen=True)
class StreamStats:
    """A snapshot of the counters of one stream."""

    url: str
    connected: bool = False
    stale: bool = True  # no events decoded for ``stale_after_s`` (or ever)
    messages: int = 0  # messages received, good or bad
    bytes: int = 0
    events: int = 0  # events decoded
    delivered: int = 0  # events handed to the consumers
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    last_error: str = ""
    dropped_gap: int = 0  # events missing from the sequence (lost before they reached us)
    dropped_overflow: int = 0  # events decoded but dropped because the consumers were behind
    consumer_errors: int = 0
    restarts: int = 0  # publisher restarts seen (new id or sequence reset)
    reconnects: int = 0
    publisher: str = ""
    last_sequence: int = -1  # stream position of the last event received
    rate_hz: float = 0.0  # events per second over the last seconds
    age_s: float | None = None  # seconds since the last decoded events
    latency_s: float | None = None  # publish to decode of the last message (clocks of two hosts!)
    queue_depth: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def dropped_total(self) -> int:
        return self.dropped_gap + self.dropped_overflow


@dataclass(frozen=True)
class LatestEvent:
    """The newest event for the display, as a batch of one."""

    sequence: int
    event: EventBatch
    publisher: str
    sent_ns: int
    received_ns: int


class ZmqEventSource:
    """Subscribe to a ``serve`` publisher; feed consumers every batch, keep the latest event."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        queue_size: int = 256,
        limits: WireLimits | None = None,
        stale_after_s: float = 3.0,
        rate_window_s: float = 2.0,
        receive_hwm: int = 1000,
        keep: EventFilter | None = None,
        consumers: Iterable[Consumer] = (),
    ) -> None:
        self.url = url
        self._endpoint = endpoint(url)
        self._limits = limits or WireLimits()
        self._stale_after_s = stale_after_s
        self._rate_window_s = rate_window_s
        self._receive_hwm = receive_hwm
        self._keep = keep
        self._consumers: tuple[Consumer, ...] = tuple(consumers)
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._counts = {k: 0 for k in ("messages", "bytes", "events", "delivered", "consumer_errors")}
        self._counts.update(dropped_gap=0, dropped_overflow=0, restarts=0, reconnects=0)
        self._rejected = dict.fromkeys(REASONS, 0)
        self._last_error = ""
        self._connected = False
        self._ever_connected = False
        self._publisher = ""
        self._next_sequence = 0  # stream position expected next from the current publisher
        self._last_event_at: float | None = None
        self._first_event_at: float | None = None
        self._latency_s: float | None = None
        self._arrivals: deque[tuple[float, int]] = deque(maxlen=100_000)
        self._latest: LatestEvent | None = None
        self._last_logged: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._context = zmq.Context()

    # -- consumers and the display --------------------------------------------------------
    def add_consumer(self, consumer: Consumer) -> None:
        """Call ``consumer(batch)`` with every later batch, in order, on the dispatcher thread.

        Consumers that must see a stream from its first event are given to the constructor.
        """
        self._consumers = (*self._consumers, consumer)

    def remove_consumer(self, consumer: Consumer) -> None:
        self._consumers = tuple(c for c in self._consumers if c is not consumer)

    def set_filter(self, keep: EventFilter | None) -> None:
        """Show only events for which ``keep(batch)`` is true (``None``: every event)."""
        self._keep = keep

    def latest(self) -> LatestEvent | None:
        return self._latest

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> ZmqEventSource:
        if self._threads:
            raise RuntimeError(f"{self.url}: already started")
        self._threads = [
            threading.Thread(target=self._receive_loop, name=f"zmq-receive {self.url}", daemon=True),
            threading.Thread(target=self._dispatch_loop, name=f"zmq-dispatch {self.url}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        if not any(t.is_alive() for t in self._threads):
            self._context.term()

    def __enter__(self) -> ZmqEventSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counters -------------------------------------------------------------------------
    def stats(self) -> StreamStats:
        now = time.monotonic()
        with self._lock:
            rate = self._rate(now)
            age = None if self._last_event_at is None else now - self._last_event_at
            return StreamStats(
                url=self.url,
                connected=self._connected,
                stale=age is None or age > self._stale_after_s,
                rejected=dict(self._rejected),
                last_error=self._last_error,
                publisher=self._publisher,
                last_sequence=self._next_sequence - 1,
                rate_hz=rate,
                age_s=age,
                latency_s=self._latency_s,
                queue_depth=self._queue.qsize(),
                **self._counts,
            )

    def _rate(self, now: float) -> float:
        """Events per second over the last ``rate_window_s`` (over less while the stream is younger)."""
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] < now - self._rate_window_s:
            arrivals.popleft()
        total = sum(n for _, n in arrivals)
        if self._first_event_at is not None and now - self._first_event_at >= self._rate_window_s:
            return total / self._rate_window_s
        if len(arrivals) < 2:
            return 0.0
        # a young stream: the first batch only marks the start of the span
        return (total - arrivals[0][1]) / (now - arrivals[0][0])

    # -- receiver thread ------------------------------------------------------------------
    def _receive_loop(self) -> None:
        sub = self._context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, self._receive_hwm)
        sub.setsockopt(zmq.RECONNECT_IVL, 100)
        sub.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        # a hard cap far above the decode limit: ZeroMQ drops the connection past it, so a single
        # huge frame cannot exhaust memory; below it, oversized messages are counted by decode
        sub.setsockopt(zmq.MAXMSGSIZE, 4 * self._limits.max_message_bytes)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        monitor = sub.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        sub.connect(self._endpoint)
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                ready = dict(poller.poll(100))
                if monitor in ready:
                    self._on_monitor(recv_monitor_message(monitor))
                if sub in ready:
                    # drain what is there, then look at the stop flag and the monitor again
                    for _ in range(1000):
                        try:
                            frames = sub.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        self._on_message([f.buffer for f in frames])
        finally:
            sub.disable_monitor()
            monitor.close(linger=0)
            sub.close(linger=0)

    def _on_monitor(self, event: Mapping[str, object]) -> None:
        with self._lock:
            if event["event"] == zmq.EVENT_CONNECTED:
                self._counts["reconnects"] += self._ever_connected
                self._connected = self._ever_connected = True
            elif event["event"] == zmq.EVENT_DISCONNECTED:
                self._connected = False
        log.info("%s: %s", self.url, "connected" if self._connected else "disconnected")

    def _on_message(self, frames: list[memoryview]) -> None:
        now = time.monotonic()
        size = sum(f.nbytes for f in frames)
        try:
            message = decode(frames, self._limits)
        except WireError as exc:
            with self._lock:
                self._counts["messages"] += 1
                self._counts["bytes"] += size
                self._rejected[exc.reason] += 1
                self._last_error = f"{exc.reason}: {exc}"
            self._log_limited(exc.reason, f"rejected message ({exc.reason}): {exc}")
            return
        n = len(message.batch)
        latest = self._pick_latest(message)
        with self._lock:
            self._counts["messages"] += 1
            self._counts["bytes"] += size
            self._counts["events"] += n
            self._last_event_at = now
            if self._first_event_at is None:
                self._first_event_at = now
            self._latency_s = (time.time_ns() - message.sent_ns) * 1e-9
            self._arrivals.append((now, n))
            if message.publisher != self._publisher or message.sequence < self._next_sequence:
                if self._publisher:
                    self._counts["restarts"] += 1
                    log.info("%s: publisher %s (was %s)", self.url, message.publisher, self._publisher)
                self._publisher = message.publisher
            elif message.sequence > self._next_sequence:
                self._counts["dropped_gap"] += message.sequence - self._next_sequence
            self._next_sequence = message.next_sequence
            if latest is not None:
                self._latest = latest
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            with self._lock:
                self._counts["dropped_overflow"] += n

    def _pick_latest(self, message: Message) -> LatestEvent | None:
        batch = message.batch
        if not len(batch):
            return None
        index = len(batch) - 1
        keep = self._keep
        if keep is not None:
            try:
                kept = np.flatnonzero(np.asarray(keep(batch), dtype=bool))
            except Exception as exc:
                self._consumer_failed("event filter", exc)
                return None
            if not len(kept):
                return None
            index = int(kept[-1])
        return LatestEvent(
            message.sequence + index, batch.event(index), message.publisher, message.sent_ns, time.time_ns()
        )

    def _log_limited(self, key: str, text: str) -> None:
        """Log a warning at most once per ``key`` every 5 s, so a bad peer cannot flood the log."""
        now = time.monotonic()
        if now - self._last_logged.get(key, -np.inf) >= 5.0:
            self._last_logged[key] = now
            log.warning("%s: %s", self.url, text)

    # -- dispatcher thread ----------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            for consumer in self._consumers:
                try:
                    consumer(message.batch)
                except Exception as exc:
                    self._consumer_failed(getattr(consumer, "__name__", repr(consumer)), exc)
            with self._lock:
                self._counts["delivered"] += len(message.batch)

    def _consumer_failed(self, who: str, exc: Exception) -> None:
        with self._lock:
            self._counts["consumer_errors"] += 1
            self._last_error = f"{who}: {type(exc).__name__}: {exc}"
        self._log_limited(f"consumer {who}", f"{who} failed: {type(exc).__name__}: {exc}")
