"""The ``zmq://HOST:PORT`` live event source: a ZeroMQ subscriber off the GUI thread.

A receiver thread reads ``events.wire`` messages over its own ZMTP connection
(``monitoring.zmtp``: every size is checked before it is read, so no publisher can make it hold
more than one message of ``WireLimits.max_message_bytes``), decodes them (no pickle) and keeps
the latest event (or the latest one a filter keeps) for the display. Every batch then goes
through a queue to a dispatcher thread that hands it to the registered consumers (running
histograms, trigger counters), in order. The queue is bounded in messages and in bytes (by
default 1024 and 256 MiB: a second of a 100 kHz stream of 100-event messages, so a consumer held
up that long loses nothing). Nothing here ever blocks the caller: when consumers fall behind
longer, the queue overflows and the lost events are counted; events the publisher
or the network dropped show up as gaps in the sequence numbers and are counted apart. Bad
messages are counted by reason (``events.wire.REASONS``), the last error is kept, and the stream
goes on. A protocol error (a frame over the hard limit, broken framing, a peer that is no
publisher) drops the connection, is counted by reason, and the receiver dials again, as it does
after any disconnect: 100 ms at first, doubling to 1 s while it keeps failing.

Counters stay true: a restarted publisher is recognised by its id and epoch (or, from a wire
version 1 sender, a sequence that starts again) and the events it sent before the subscriber
joined it are counted as missed; a sequence jump larger than any plausible loss
(``max_rate_hz`` over the time since the last message) is a restart of the numbering, not a
loss of quintillions of events.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from events.model import EventBatch
from events.wire import MAX_FRAMES, REASONS, Message, WireError, WireLimits, decode
from monitoring.zmtp import Incoming, ProtocolError, Stopped, SubscriberConnection

log = logging.getLogger(__name__)

DEFAULT_URL = "zmq://127.0.0.1:5556"
PROTOCOL_REASONS = ("handshake", "framing", "frame size", "peer error")
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.1, 1.0

Consumer = Callable[[EventBatch], None]
EventFilter = Callable[[EventBatch], np.ndarray]  # batch -> boolean mask of events to show


def address(url: str) -> tuple[str, int]:
    """``zmq://HOST:PORT`` as (host, port); ``ValueError`` names a bad address."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "zmq" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"{url!r}: expected an address like zmq://127.0.0.1:5556")
    return parts.hostname, port


def endpoint(url: str) -> str:
    """``zmq://HOST:PORT`` as the ZeroMQ endpoint ``tcp://HOST:PORT``."""
    host, port = address(url)
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"


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
    missed_restart: int = 0  # events a restarted publisher sent before we joined it
    consumer_errors: int = 0
    restarts: int = 0  # publisher restarts seen (new id or epoch, sequence reset or implausible jump)
    last_restart: str = ""  # what the last restart was, and what it cost
    reconnects: int = 0
    protocol_errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROTOCOL_REASONS, 0))
    last_protocol_error: str = ""
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
        return self.dropped_gap + self.dropped_overflow + self.missed_restart

    @property
    def protocol_errors_total(self) -> int:
        return sum(self.protocol_errors.values())


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
        queue_size: int = 1024,
        queue_bytes: int = 256 * 2**20,
        limits: WireLimits | None = None,
        stale_after_s: float = 3.0,
        rate_window_s: float = 2.0,
        max_rate_hz: float = 1e6,
        keep: EventFilter | None = None,
        consumers: Iterable[Consumer] = (),
    ) -> None:
        self.url = url
        self._address = address(url)
        self._limits = limits or WireLimits()
        # a frame this large is not read past but ends the connection (as ZMQ_MAXMSGSIZE would)
        self._hard_frame_bytes = 4 * self._limits.max_message_bytes
        self._stale_after_s = stale_after_s
        self._rate_window_s = rate_window_s
        self._max_rate_hz = max_rate_hz
        self._keep = keep
        self._consumers: tuple[Consumer, ...] = tuple(consumers)
        # decoded messages waiting for the consumers, with their sizes: bounded in number and bytes
        self._queue: queue.Queue[tuple[Message, int]] = queue.Queue(maxsize=queue_size)
        self._queue_bytes = queue_bytes
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._counts = {k: 0 for k in ("messages", "bytes", "events", "delivered", "consumer_errors")}
        self._counts.update(dropped_gap=0, dropped_overflow=0, missed_restart=0, restarts=0, reconnects=0)
        self._rejected = dict.fromkeys(REASONS, 0)
        self._protocol_errors = dict.fromkeys(PROTOCOL_REASONS, 0)
        self._last_error = ""
        self._last_protocol_error = ""
        self._last_restart = ""
        self._connected = False
        self._ever_connected = False
        self._publisher = ""
        self._stream: tuple[str, int] | None = None  # (publisher id, epoch) of the current stream
        self._next_sequence = 0  # stream position expected next from the current publisher
        self._last_message_at = 0.0  # when the last decoded message arrived
        self._good_on_connection = 0  # messages decoded on the current connection
        self._last_event_at: float | None = None
        self._first_event_at: float | None = None
        self._latency_s: float | None = None
        self._arrivals: deque[tuple[float, int]] = deque(maxlen=100_000)
        # the newest shown event as (message, row, received ns); sliced only when latest() asks
        self._latest_ref: tuple[Message, int, int] | None = None
        self._latest: LatestEvent | None = None
        self._latest_ref_cut: tuple[Message, int, int] | None = None  # the ref _latest was cut from
        self._last_logged: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

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
        """The newest event (that the filter keeps), cut out of its batch on the first call after it came."""
        with self._lock:
            ref = self._latest_ref
        if ref is not None and ref is not self._latest_ref_cut:
            message, row, received_ns = ref
            sequence, event = message.sequence + row, message.batch.event(row)
            self._latest = LatestEvent(sequence, event, message.publisher, message.sent_ns, received_ns)
            self._latest_ref_cut = ref
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
                protocol_errors=dict(self._protocol_errors),
                last_protocol_error=self._last_protocol_error,
                last_restart=self._last_restart,
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
        failures = 0  # connections in a row that failed, or ended in a protocol error before any message
        while not self._stop.is_set():
            try:
                connection = SubscriberConnection(
                    *self._address,
                    self._stop,
                    max_message_bytes=self._limits.max_message_bytes,
                    max_frames=MAX_FRAMES,
                    hard_frame_bytes=self._hard_frame_bytes,
                )
            except Stopped:
                return
            except ProtocolError as exc:
                self._on_protocol_error(exc)
                failures += 1
            except OSError:  # refused, unreachable, reset: dial again
                failures += 1
            else:
                self._set_connected(True)
                self._good_on_connection = 0
                try:
                    while True:
                        self._on_incoming(connection.recv())
                except Stopped:
                    return
                except ProtocolError as exc:
                    self._on_protocol_error(exc)
                    failures = 1 if self._good_on_connection else failures + 1
                except OSError:  # the publisher went away
                    failures = 0
                finally:
                    connection.close()
                    self._set_connected(False)
            # like libzmq's RECONNECT_IVL and RECONNECT_IVL_MAX: 100 ms, doubling to 1 s
            self._stop.wait(min(RECONNECT_MAX_S, RECONNECT_MIN_S * 2 ** max(0, min(failures - 1, 10))))

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            if connected:
                self._counts["reconnects"] += self._ever_connected
                self._ever_connected = True
            self._connected = connected
        log.info("%s: %s", self.url, "connected" if connected else "disconnected")

    def _on_protocol_error(self, exc: ProtocolError) -> None:
        text = f"protocol error ({exc.reason}): {exc}; connecting again"
        with self._lock:
            self._protocol_errors[exc.reason] = self._protocol_errors.get(exc.reason, 0) + 1
            self._last_protocol_error = self._last_error = text
        self._log_limited(f"protocol {exc.reason}", text)

    def _on_incoming(self, incoming: Incoming) -> None:
        if incoming.dropped is not None:
            self._on_rejected(incoming.dropped, incoming.nbytes)
        else:
            self._on_message(incoming.frames)

    def _on_rejected(self, exc: WireError, size: int) -> None:
        with self._lock:
            self._counts["messages"] += 1
            self._counts["bytes"] += size
            self._rejected[exc.reason] += 1
            self._last_error = f"{exc.reason}: {exc}"
        self._log_limited(exc.reason, f"rejected message ({exc.reason}): {exc}")

    def _on_message(self, frames: list[memoryview]) -> None:
        now = time.monotonic()
        size = sum(f.nbytes for f in frames)
        try:
            message = decode(frames, self._limits)
        except WireError as exc:
            self._on_rejected(exc, size)
            return
        n = len(message.batch)
        latest = self._latest_row(message)
        with self._lock:
            self._counts["messages"] += 1
            self._counts["bytes"] += size
            self._counts["events"] += n
            self._good_on_connection += 1
            self._last_event_at = now
            if self._first_event_at is None:
                self._first_event_at = now
            self._latency_s = (time.time_ns() - message.sent_ns) * 1e-9
            self._arrivals.append((now, n))
            self._follow_sequence(message, now)
            if latest is not None:
                self._latest_ref = (message, latest, time.time_ns())
        with self._lock:
            # one message always fits an empty queue, whatever its size
            queued = self._queued_bytes + size <= self._queue_bytes or not self._queued_bytes
            if queued:
                try:
                    self._queue.put_nowait((message, size))
                    self._queued_bytes += size
                except queue.Full:
                    queued = False
            if not queued:
                self._counts["dropped_overflow"] += n

    def _follow_sequence(self, message: Message, now: float) -> None:
        """Count gaps, restarts and what they missed (holding the lock)."""
        stream = (message.publisher, message.epoch)
        sequence = message.sequence
        # no publisher sends faster than max_rate_hz: a larger jump is a renumbering, not a loss
        plausible = self._max_rate_hz * (now - self._last_message_at + 1.0)
        restart = ""
        if self._stream is None:
            pass  # joining a stream: what it sent before is not ours to miss
        elif message.publisher != self._stream[0]:
            restart = f"publisher {message.publisher} (was {self._stream[0]})"
        elif stream != self._stream:
            restart = f"publisher {message.publisher} started again"
        elif sequence < self._next_sequence:
            restart = f"sequence went back from {self._next_sequence} to {sequence}"
            if message.epoch:  # the same epoch cannot start again: a renumbering, nothing missed
                sequence = -1
        elif sequence - self._next_sequence > plausible:
            restart = f"sequence jumped from {self._next_sequence} to {sequence}"
            sequence = -1
        elif sequence > self._next_sequence:
            self._counts["dropped_gap"] += sequence - self._next_sequence
        if restart:
            self._counts["restarts"] += 1
            if 0 <= sequence <= plausible:
                self._counts["missed_restart"] += sequence
                restart += f", {sequence} events sent before it was joined"
            else:
                restart += ", not counted as lost"
            self._last_restart = restart
            self._log_limited("restart", f"stream restarted: {restart}")
        self._stream = stream
        self._publisher = message.publisher
        self._next_sequence = message.next_sequence
        self._last_message_at = now

    def _latest_row(self, message: Message) -> int | None:
        """The row of the batch's last event the filter keeps (the last row without one), or None."""
        batch = message.batch
        if not len(batch):
            return None
        keep = self._keep
        if keep is None:
            return len(batch) - 1
        try:
            kept = np.flatnonzero(np.asarray(keep(batch), dtype=bool))
        except Exception as exc:
            self._consumer_failed("event filter", exc)
            return None
        return int(kept[-1]) if len(kept) else None

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
                message, size = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            for consumer in self._consumers:
                try:
                    consumer(message.batch)
                except Exception as exc:
                    self._consumer_failed(getattr(consumer, "__name__", repr(consumer)), exc)
            with self._lock:
                self._counts["delivered"] += len(message.batch)
                self._queued_bytes -= size

    def _consumer_failed(self, who: str, exc: Exception) -> None:
        with self._lock:
            self._counts["consumer_errors"] += 1
            self._last_error = f"{who}: {type(exc).__name__}: {exc}"
        self._log_limited(f"consumer {who}", f"{who} failed: {type(exc).__name__}: {exc}")
