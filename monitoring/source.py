"""Live data sources addressed by URL, behind one small interface.

A source runs in its own thread(s) and hands lists of :class:`Update` to its subscribers (called
from the source's thread) or to a thread-safe queue that a consumer drains. ``open_machine_source(url)``
picks the implementation by URL scheme, as PyDM's data plugins do (``sim://``, ``ca://``).
"""

from __future__ import annotations

import importlib
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from monitoring.channels import Severity


@dataclass(frozen=True, slots=True)
class Update:
    """One value of one channel. ``value`` is whatever the peer sent; consumers validate it."""

    channel: str
    timestamp: float  # seconds since the epoch, in the source's clock
    value: Any
    severity: int = Severity.NO_ALARM
    connected: bool = True
    message: str = ""


@dataclass(frozen=True, slots=True)
class Unexpected:
    """A value a source received but will not pass on as is (a 100k-element array where one
    number belongs): the model shows ``problem`` as the reason the channel is invalid."""

    problem: str


Listener = Callable[[list[Update]], None]


class SourceError(RuntimeError):
    """A source could not be opened or used; the message names the source and the problem."""


class ReadOnlySource(SourceError):
    pass


class Source:
    """Base class: start/stop, the channel list, listeners and a drainable queue."""

    scheme = ""

    def __init__(self, url: str, channels: tuple[str, ...]) -> None:
        self.url = url
        self.channels = channels
        self.live_from = -math.inf  # updates stamped earlier are replayed history, not live
        self._listeners: list[Listener] = []
        self._queue: queue.SimpleQueue[list[Update]] | None = None
        self._carry: list[Update] = []  # the rest of a batch a bounded drain split
        self._lock = threading.Lock()
        self.notices: list[str] = []  # one-line remarks about the source (options clamped, ...)

    # --- delivery ------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(updates)`` from the source's thread for every batch."""
        with self._lock:
            self._listeners.append(listener)

    def queue(self) -> queue.SimpleQueue[list[Update]]:
        """A thread-safe queue receiving every batch (created on first use)."""
        with self._lock:
            if self._queue is None:
                self._queue = queue.SimpleQueue()
            return self._queue

    def drain(self, limit: int | None = None) -> list[Update]:
        """What is queued, in arrival order (non-blocking): everything, or at most ``limit``
        updates, the rest kept for the next call (bounded work for a GUI tick)."""
        q = self.queue()
        out, self._carry = self._carry, []
        while limit is None or len(out) < limit:
            try:
                out.extend(q.get_nowait())
            except queue.Empty:
                break
        if limit is not None and len(out) > limit:
            out, self._carry = out[:limit], out[limit:]
        return out

    @property
    def backlog(self) -> int:
        """Batches waiting in the queue, plus updates carried over (approximate)."""
        return (self._queue.qsize() if self._queue is not None else 0) + len(self._carry)

    def _publish(self, updates: list[Update]) -> None:
        if not updates:
            return
        with self._lock:
            listeners = list(self._listeners)
            q = self._queue
        if q is not None:
            q.put(updates)
        for listener in listeners:
            listener(updates)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def put(self, channel: str, value: float) -> None:
        raise ReadOnlySource(f"{self.url}: source is read-only, cannot write {channel}")

    def __enter__(self) -> Source:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# scheme -> "module:Class"; other rooms may register more schemes (zmq://, file://)
SCHEMES: dict[str, str] = {
    "sim": "monitoring.sim:SimSource",
    "ca": "monitoring.ca:CASource",
    "pva": "monitoring.pva:PVASource",
}


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """``scheme://target?key=value`` -> (scheme, target, options)."""
    parts = urlsplit(url)
    if not parts.scheme:
        raise SourceError(f"{url!r}: not a source URL (expected e.g. sim:// or ca://)")
    target = (parts.netloc + parts.path).strip("/")
    return parts.scheme, target, dict(parse_qsl(parts.query, keep_blank_values=True))


def open_machine_source(url: str) -> Source:
    """The (not yet started) source for ``url``."""
    scheme, _, _ = parse_url(url)
    if scheme not in SCHEMES:
        raise SourceError(f"{url!r}: unknown scheme {scheme!r}; known: {', '.join(sorted(SCHEMES))}")
    module_name, class_name = SCHEMES[scheme].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    source: Source = cls(url)
    return source


def option(options: dict[str, str], key: str, default: float, url: str) -> float:
    """A numeric URL option, with an error naming the URL when it is not a number."""
    if key not in options:
        return default
    try:
        return float(options[key])
    except ValueError:
        raise SourceError(f"{url!r}: option {key}={options[key]!r} is not a number") from None
