"""Screens that follow a presenter: the outreach show's state over ZeroMQ, safely.

A presenting show publishes what its screen shows on a PUB socket, 20 times a second: the event
(by its id), the camera (azimuth, elevation, distance, centre), the replay time, blank and hold. The
event itself travels in the project's wire format (``events.wire``, bounded and without pickle)
when it changes and once a second, so a screen that joins late has it within a second. Followers
(``gui --outreach --follow zmq://HOST:PORT``) subscribe and mirror the newest state; one that has not
heard from its presenter for :data:`LOST_AFTER_S` runs the show on its own, and rejoins when the
presenter is back.

A message is ``[MAGIC, state JSON]`` or ``[MAGIC, state JSON, *wire frames]``. The state is at most
:data:`MAX_STATE_BYTES` of JSON whose fields are checked one by one; anything else (another
program's frames, a damaged message, a huge one) raises :class:`ShowLinkError` and is counted and
dropped by the follower, never shown.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import zmq

from events import wire
from events.model import EventBatch

MAGIC = b"B2SHOW1"
MAX_STATE_BYTES = 4096
LOST_AFTER_S = 2.0  # a follower that heard nothing for this long goes on alone
# at most one state per frame of the show (33 ms, panels.outreach.FRAME_MS), a little slack for the
# timer's jitter: ~30 states a second, so a follower is at most one frame behind, plus the network
PUBLISH_EVERY_S = 0.025
EVENT_EVERY_S = 1.0  # the event again, for screens that join late
MAX_MESSAGE_BYTES = 16 * 2**20
_LIMITS = wire.WireLimits(max_message_bytes=MAX_MESSAGE_BYTES, max_events=1)


class ShowLinkError(ValueError):
    """A message that is not a show state of this program; the text says what is wrong."""


@dataclass(frozen=True)
class ShowState:
    """What a presenting screen shows."""

    event: str  # the event's id ("" for none yet)
    azimuth: float
    elevation: float
    distance: float  # the camera's scale factor
    center: tuple[float, float, float]
    time_ns: float | None  # the replay's time; None: the whole event
    blank: bool = False
    held: bool = False

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ShowState:
        if len(data) > MAX_STATE_BYTES:
            raise ShowLinkError(f"a state of {len(data)} bytes (at most {MAX_STATE_BYTES})")
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ShowLinkError(f"state is not JSON: {exc}") from None
        if not isinstance(raw, dict) or set(raw) != set(cls.__dataclass_fields__):
            raise ShowLinkError("state has the wrong fields")
        numbers = [raw["azimuth"], raw["elevation"], raw["distance"], *_triple(raw["center"])]
        if raw["time_ns"] is not None:
            numbers.append(raw["time_ns"])
        if not all(_finite(x) for x in numbers) or not raw["distance"] > 0:
            raise ShowLinkError("state has a camera or time that is not a finite number")
        if not isinstance(raw["event"], str) or len(raw["event"]) > 100:
            raise ShowLinkError("state has a bad event id")
        if not isinstance(raw["blank"], bool) or not isinstance(raw["held"], bool):
            raise ShowLinkError("state has blank/held that are not true or false")
        return cls(
            raw["event"], float(raw["azimuth"]), float(raw["elevation"]), float(raw["distance"]),
            _triple(raw["center"]), None if raw["time_ns"] is None else float(raw["time_ns"]),
            raw["blank"], raw["held"],
        )  # fmt: skip


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _triple(value: Any) -> tuple[float, float, float]:
    if not isinstance(value, list) or len(value) != 3 or not all(_finite(x) for x in value):
        raise ShowLinkError("state has a camera centre that is not three numbers")
    return (float(value[0]), float(value[1]), float(value[2]))


def encode(state: ShowState, event: EventBatch | None = None, sequence: int = 0) -> list[bytes | bytearray]:
    frames: list[bytes | bytearray] = [MAGIC, state.to_json()]
    if event is not None:
        frames += wire.encode_packed(event, sequence, "show")
    return frames


def decode(frames: list[bytes]) -> tuple[ShowState, EventBatch | None]:
    if len(frames) not in (2, 4) or frames[0] != MAGIC:
        raise ShowLinkError("not a show message (wrong magic or number of frames)")
    state = ShowState.from_json(frames[1])
    if len(frames) == 2:
        return state, None
    try:
        batch = wire.decode(frames[2:], _LIMITS).batch
    except wire.WireError as exc:
        raise ShowLinkError(f"its event does not decode: {exc}") from None
    if len(batch) != 1:
        raise ShowLinkError(f"its event holds {len(batch)} events, not one")
    return state, batch


class Presenter:
    """The presenting screen's side: ``publish`` as often as you like; it sends 20 times a second."""

    def __init__(self, address: str, context: zmq.Context[Any] | None = None) -> None:
        self.address = address
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, 20)  # a slow follower never makes the presenter wait
        self._socket.setsockopt(zmq.LINGER, 0)
        try:
            self._socket.bind(address)
        except zmq.ZMQError as exc:
            self._socket.close()
            raise ShowLinkError(f"{address}: cannot publish the show: {exc}") from None
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._sent_at = -math.inf
        self._event_sent_at = -math.inf
        self._event_id = ""
        self.sent = 0

    def publish(self, state: ShowState, event: EventBatch | None) -> bool:
        now = time.monotonic()
        if now - self._sent_at < PUBLISH_EVERY_S:
            return False
        due = state.event != self._event_id or now - self._event_sent_at >= EVENT_EVERY_S
        with_event = event is not None and due
        frames = encode(state, event if with_event else None, self.sent)
        try:
            self._socket.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return False
        self._sent_at = now
        if with_event:
            self._event_sent_at, self._event_id = now, state.event
        self.sent += 1
        return True

    def close(self) -> None:
        self._socket.close()


class Follower:
    """A following screen's side: ``poll`` drains what arrived and keeps the newest state and event."""

    def __init__(self, url: str, context: zmq.Context[Any] | None = None) -> None:
        if not url.startswith("zmq://"):
            raise ShowLinkError(f"{url}: --follow takes zmq://HOST:PORT")
        self.url = url
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # a flood of bytes never reaches us
        self._socket.setsockopt(zmq.RCVHWM, 50)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RECONNECT_IVL, 200)
        self._socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        self._socket.setsockopt(zmq.SUBSCRIBE, MAGIC)
        try:
            self._socket.connect("tcp://" + url.removeprefix("zmq://"))
        except zmq.ZMQError as exc:
            self._socket.close()
            raise ShowLinkError(f"{url}: cannot follow: {exc}") from None
        self.state: ShowState | None = None
        self.events: dict[str, EventBatch] = {}  # the newest event by id (one kept)
        self.heard_at = -math.inf
        self.dropped = 0  # messages that were not show states
        self.problem = ""

    def poll(self, max_messages: int = 100) -> ShowState | None:
        """The newest state, or None when the presenter has been silent for ``LOST_AFTER_S``."""
        for _ in range(max_messages):
            try:
                frames = self._socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                state, event = decode(frames)
            except ShowLinkError as exc:
                self.dropped += 1
                self.problem = str(exc)
                continue
            self.state, self.heard_at = state, time.monotonic()
            if event is not None:
                self.events = {state.event: event}
        return self.state if self.following else None

    @property
    def following(self) -> bool:
        return time.monotonic() - self.heard_at < LOST_AFTER_S

    def event(self, event_id: str) -> EventBatch | None:
        return self.events.get(event_id)

    def close(self) -> None:
        self._socket.close()
