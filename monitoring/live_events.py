"""Live events for the application: a ``zmq://`` stream, or the embedded simulation published in-process.

``open_event_stream("sim")`` runs the collision generator in a publisher thread on a loopback port
and subscribes to it exactly as to any remote ``serve`` publisher, so the embedded default takes the
same wire, counters and back-pressure path as the control room's stream. Given the machine's run
control (``run_of``), the embedded events carry its experiment and run, numbered from 1 in each
run, and none are taken between runs, as from the real DAQ. ``LiveBuffer`` keeps the newest events
(bounded) as a random-access source for the event browser.

Streams are chosen by scheme from :data:`STREAM_SCHEMES` (one opener per scheme, as machine
sources are in ``monitoring.source``).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from events.model import EventBatch
from monitoring.zmq_source import Consumer, ZmqEventSource

if TYPE_CHECKING:  # the publisher (pyzmq, the generator) is imported when a simulation is made
    from monitoring.serve import EventPublisher

SIM_RATE_HZ = 400.0  # events/s of the embedded stream (the physics L1 stream is ~1.3 kHz at 5e34)


# (experiment, run) while a run is in progress, None between runs
RunOf = Callable[[], tuple[int, int] | None]


def stamp_runs(
    batches: Iterable[EventBatch], run_of: RunOf, stop: threading.Event, poll_s: float = 0.25
) -> Iterator[EventBatch]:
    """The batches labelled with the run in progress, events numbered from 1 in each run.

    Between runs it takes no batch (waiting, ``poll_s`` at a time, until a run starts or ``stop``)."""
    current: tuple[int, int] | None = None
    next_event = 1
    source = iter(batches)
    while not stop.is_set():
        run = run_of()
        if run is None:
            stop.wait(poll_s)
            continue
        batch = next(source, None)
        if batch is None:
            return
        if run != current:
            current, next_event = run, 1
        header = batch.header
        header["experiment"][:], header["run"][:] = run
        header["event"][:] = np.arange(next_event, next_event + len(batch))
        next_event += len(batch)
        yield batch


class EmbeddedSimulation:
    """The generator behind an in-process publisher on ``tcp://127.0.0.1:<free port>``."""

    def __init__(
        self,
        rate_hz: float = SIM_RATE_HZ,
        seed: int = 0,
        signals: Sequence[str] = (),
        run_of: RunOf | None = None,
    ) -> None:
        from monitoring.serve import EventPublisher, open_publish_source

        batch = max(1, min(100, int(rate_hz / 20)))
        self._stop = threading.Event()
        batches = open_publish_source("sim", seed, batch, signals)  # ValueError for a bad signal spec
        self._batches = batches if run_of is None else stamp_runs(batches, run_of, self._stop)
        publisher_id = f"embedded-sim-{seed}"
        self.publisher: EventPublisher = EventPublisher("tcp://127.0.0.1:*", publisher_id=publisher_id)
        self._rate_hz = rate_hz
        self._thread = threading.Thread(target=self._run, name="embedded-sim publisher", daemon=True)

    @property
    def url(self) -> str:
        return "zmq://" + self.publisher.endpoint.removeprefix("tcp://")

    def _run(self) -> None:
        from monitoring.serve import serve

        try:
            serve(self.publisher, self._batches, self._rate_hz, stop=self._stop, report_every_s=3600)
        finally:
            self.publisher.close()

    def start(self) -> EmbeddedSimulation:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)


class EventStream:
    """A subscribed event stream plus, for ``sim``, the embedded publisher behind it."""

    def __init__(self, source: ZmqEventSource, simulation: EmbeddedSimulation | None = None) -> None:
        self.source = source
        self.simulation = simulation

    @property
    def url(self) -> str:
        return "sim" if self.simulation else self.source.url

    def start(self) -> EventStream:
        if self.simulation:
            self.simulation.start()
        self.source.start()
        return self

    def stop(self) -> None:
        self.source.stop()
        if self.simulation:
            self.simulation.stop()


@dataclass(frozen=True)
class StreamRequest:
    """What :func:`open_event_stream` was asked for, handed to the scheme's opener."""

    url: str
    consumers: tuple[Consumer, ...] = ()
    seed: int = 0
    signals: tuple[str, ...] = ()
    run_of: RunOf | None = None
    rate_hz: float = SIM_RATE_HZ


@dataclass(frozen=True)
class StreamScheme:
    """One kind of event stream: how its address is written, and the function that opens it."""

    example: str  # as the error for an unknown stream shows it
    open: Callable[[StreamRequest], EventStream]


def _open_sim(request: StreamRequest) -> EventStream:
    simulation = EmbeddedSimulation(request.rate_hz, request.seed, request.signals, request.run_of)
    return EventStream(ZmqEventSource(simulation.url, consumers=request.consumers), simulation)


def _open_zmq(request: StreamRequest) -> EventStream:
    return EventStream(ZmqEventSource(request.url, consumers=request.consumers))


# scheme -> opener, as monitoring.source.SCHEMES is for machine sources; "sim" needs no "://"
STREAM_SCHEMES: dict[str, StreamScheme] = {
    "sim": StreamScheme("'sim'", _open_sim),
    "zmq": StreamScheme("zmq://HOST:PORT", _open_zmq),
}


def stream_scheme(spec: str) -> str:
    """The scheme of an event-stream address: ``zmq`` for ``zmq://host:5556``, ``sim`` for ``sim``."""
    return spec.split("://", 1)[0] if "://" in spec else spec


def open_event_stream(
    spec: str,
    consumers: Iterable[Consumer] = (),
    seed: int = 0,
    signals: Sequence[str] = (),
    run_of: RunOf | None = None,
    **kwargs: float,
) -> EventStream:
    """The (not yet started) stream for ``spec``, by its scheme in :data:`STREAM_SCHEMES`:
    ``sim`` (the embedded generator, labelled by ``run_of`` when given) or ``zmq://HOST:PORT``;
    ``ValueError`` names a bad spec."""
    scheme = STREAM_SCHEMES.get(stream_scheme(spec))
    if scheme is None:
        known = " or ".join(s.example for s in STREAM_SCHEMES.values())
        raise ValueError(f"event stream {spec!r}: expected {known}")
    request = StreamRequest(
        spec, tuple(consumers), seed, tuple(signals), run_of, float(kwargs.get("rate_hz", SIM_RATE_HZ))
    )
    return scheme.open(request)


class BufferSnapshot:
    """The events a :class:`LiveBuffer` held at one moment, as a random-access source.

    Taking it copies no event: it keeps the buffer's batches (never changed once received) and
    their offsets, and ``read`` joins only the batches a range touches, so a snapshot costs the
    GUI thread microseconds however many events are buffered.
    """

    def __init__(self, numbered: Sequence[tuple[int, EventBatch]], skip: int) -> None:
        self._numbers = np.array([number for number, _ in numbered], dtype=np.int64)
        self._batches = [batch for _, batch in numbered]
        sizes = np.array([len(batch) for batch in self._batches], dtype=np.int64)
        # position in the snapshot of each batch's first event (the oldest ``skip`` events are gone)
        self._starts = np.concatenate([[0], np.cumsum(sizes)]) - skip

    def __len__(self) -> int:
        return int(self._starts[-1])

    def read(self, start: int, stop: int) -> EventBatch:
        """Events ``start:stop`` (clipped) as one batch."""
        start, stop = max(0, start), min(stop, len(self))
        if stop <= start:
            return EventBatch.empty()
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        last = int(np.searchsorted(self._starts, stop, side="left"))
        parts = []
        for batch, base in zip(self._batches[first:last], self._starts[first:last].tolist(), strict=True):
            parts.append(batch.slice(max(0, start - base), min(len(batch), stop - base)))
        return parts[0] if len(parts) == 1 else EventBatch.concat(parts)

    def position(self, batch_number: int, row: int) -> int | None:
        """Where event ``row`` of the ``batch_number``-th batch the buffer received is, if still held."""
        i = int(np.searchsorted(self._numbers, batch_number))
        held = i < len(self._numbers) and self._numbers[i] == batch_number
        if not held or not 0 <= row < len(self._batches[i]):
            return None
        where = int(self._starts[i]) + row
        return where if where >= 0 else None


class LiveBuffer:
    """The newest ``capacity`` events as a random-access source (``__len__``, ``read``); thread-safe.

    Batches are numbered in the order received, empty ones included, as a running histogram
    numbers the batches it fills, so a histogram's link (batch, row) finds its event directly.
    """

    def __init__(self, capacity: int = 500) -> None:
        self.capacity = capacity
        self._batches: deque[tuple[int, EventBatch]] = deque()
        self._size = 0
        self._lock = threading.Lock()
        self.received = 0
        self.batches = 0

    def __call__(self, batch: EventBatch) -> None:
        """Consumer interface: append a batch, dropping the oldest events beyond the capacity."""
        with self._lock:
            number, self.batches = self.batches, self.batches + 1
            if not len(batch):
                return
            self._batches.append((number, batch))
            self._size += len(batch)
            self.received += len(batch)
            while self._size - len(self._batches[0][1]) >= self.capacity:
                self._size -= len(self._batches.popleft()[1])

    def __len__(self) -> int:
        with self._lock:
            return min(self._size, self.capacity)

    def frozen(self) -> BufferSnapshot:
        """The buffered events now, oldest first, without copying them."""
        with self._lock:
            return BufferSnapshot(list(self._batches), max(0, self._size - self.capacity))

    def snapshot(self) -> EventBatch:
        """The buffered events, oldest first, joined into one batch."""
        frozen = self.frozen()
        return frozen.read(0, len(frozen))

    def read(self, start: int, stop: int) -> EventBatch:
        return self.frozen().read(start, stop)
