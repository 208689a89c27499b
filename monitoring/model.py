"""The live monitoring model: validated channel states, strip buffers and the alarm accumulators.

``MonitorModel.ingest(updates)`` takes the plain :class:`~monitoring.source.Update` lists any source
delivers and never raises on bad data: a value that is not a finite number within the channel's
physical range turns the channel INVALID with a message naming the source and the problem, and
the luminosity integral opens a gap instead of integrating it. Panels read the model; it knows
nothing about Qt.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from monitoring.accumulators import LumiIntegrator, RateMeter, SBLAlarm, SBLDetector, StripBuffer
from monitoring.channels import BIT_CHANNELS, RINGS, Severity, channel
from monitoring.source import Update

POSTMORTEM_CHANNELS = ("HER:I", "LER:I", "LUM", "L1:TOTAL")


@dataclass
class ChannelState:
    name: str
    value: float = math.nan
    timestamp: float = math.nan
    severity: int = Severity.INVALID  # nothing received yet
    connected: bool = False
    stale: bool = False
    message: str = "no data yet"
    received: float = math.nan  # wall clock (monotonic) of the last update


@dataclass(frozen=True)
class LogEntry:
    wall: float  # time.time() when it was logged
    timestamp: float  # source time it refers to
    channel: str
    severity: int
    text: str


def as_number(value: object) -> tuple[float | None, str]:
    """(number, "") or (None, what is wrong with it)."""
    if isinstance(value, np.ndarray | list | tuple):
        if len(value) != 1:
            return None, f"array of {len(value)} values where one number was expected"
        value = value[0]
    if isinstance(value, bool | int | float | np.integer | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None, f"not a finite number ({number})"
        return number, ""
    text = value.decode("latin-1", "replace") if isinstance(value, bytes) else str(value)
    return None, f"wrong type {type(value).__name__} ({text[:40]!r}), expected a number"


class MonitorModel:
    """Everything the live panels show, fed by :meth:`ingest` and refreshed by :meth:`check`."""

    def __init__(
        self,
        channels: Iterable[str],
        *,
        source_name: str = "",
        stale_after: float = 10.0,
        sbl: SBLDetector | None = None,
        raw_capacity: int = 7200,
        bin_width: float = 5.0,
        bin_capacity: int = 8640,
        clock: Callable[[], float] = time.monotonic,
        live_from: float = -math.inf,
    ) -> None:
        self.source_name = source_name
        # source time before which updates are replayed history (``Source.live_from``): a loss
        # there was the previous shift's to acknowledge, so it is logged but does not latch
        self.live_from = live_from
        self.stale_after = stale_after
        self.clock = clock
        self.opened = clock()
        self.states = {name: ChannelState(name) for name in channels}
        self.buffers = {name: StripBuffer(raw_capacity, bin_width, bin_capacity) for name in self.states}
        self.lumi = LumiIntegrator()
        self.sbl = sbl or SBLDetector()
        self.runs: deque[tuple[float, int]] = deque(maxlen=1000)  # (time, run) at each run start
        self.fills: deque[tuple[float, int]] = deque(maxlen=1000)
        self.log: deque[LogEntry] = deque(maxlen=2000)
        self.arrivals = RateMeter(window=5.0)
        self.version = 0  # bumped whenever something visible changed
        self.latest_time = -math.inf  # newest source timestamp seen
        self.dropped = 0  # out-of-order samples not stored
        self._problems: dict[str, str] = {}

    # --- ingestion -----------------------------------------------------------------------
    def ingest(self, updates: list[Update]) -> None:
        if not updates:
            return
        now = self.clock()
        self.arrivals.add(now, len(updates))
        pending: dict[str, tuple[list[float], list[float]]] = {}
        for u in sorted(updates, key=lambda u: u.timestamp if math.isfinite(u.timestamp) else math.inf):
            self._one(u, now, pending)
        for name, (ts, vs) in pending.items():
            self.buffers[name].extend(np.array(ts), np.array(vs))
        self._complete_postmortems()
        self.version += 1

    def _state(self, name: str) -> ChannelState:
        if name not in self.states:
            self.states[name] = ChannelState(name)
            self.buffers[name] = StripBuffer(600, 60.0, 720)
        return self.states[name]

    def _one(self, u: Update, now: float, pending: dict[str, tuple[list[float], list[float]]]) -> None:
        state = self._state(u.channel)
        state.received = now
        state.stale = False
        ts, vs = pending.setdefault(u.channel, ([], []))
        last = ts[-1] if ts else self.buffers[u.channel].last_time
        if not u.connected:
            if state.connected or state.message == "no data yet":
                self._note(u.timestamp, u.channel, Severity.INVALID, u.message or "disconnected")
            state.connected, state.severity = False, Severity.INVALID
            state.message = u.message or "disconnected"
            if math.isfinite(u.timestamp) and u.timestamp > last:
                ts.append(u.timestamp)
                vs.append(math.nan)  # break the strip chart here
            if u.channel == "LUM":
                self.lumi.interrupt(u.timestamp, f"{u.channel} disconnected")
            return
        if not state.connected and state.message != "no data yet":
            self._note(u.timestamp, u.channel, Severity.NO_ALARM, "connected again")
        state.connected = True
        number, problem = as_number(u.value)
        spec = channel(u.channel)
        if number is not None and not spec.valid[0] <= number <= spec.valid[1]:
            lo, hi = spec.valid
            number, problem = None, f"absurd value {number:g} (possible range {lo:g} .. {hi:g} {spec.units})"
        if not math.isfinite(u.timestamp) or u.timestamp <= 0:
            number, problem = None, f"bad timestamp {u.timestamp!r}"
        if number is None:
            kind = " ".join(problem.split()[:2])  # log each kind of problem once, not every value
            if self._problems.get(u.channel) != kind:
                self._note(u.timestamp, u.channel, Severity.INVALID, f"invalid data: {problem}")
                self._problems[u.channel] = kind
            state.severity, state.message = (
                Severity.INVALID,
                f"invalid data from {self.source_name}: {problem}",
            )
            if math.isfinite(u.timestamp) and u.timestamp > last:
                ts.append(u.timestamp)
                vs.append(math.nan)
            if u.channel == "LUM":
                self.lumi.interrupt(u.timestamp, f"invalid luminosity data: {problem}")
            return
        self._problems.pop(u.channel, None)
        state.value, state.timestamp = number, u.timestamp
        state.severity, state.message = int(u.severity), ""
        self.latest_time = max(self.latest_time, u.timestamp)
        if u.timestamp <= last:
            self.dropped += 1
            return
        ts.append(u.timestamp)
        vs.append(number)
        self._derive(u.channel, u.timestamp, number)

    def _derive(self, name: str, t: float, value: float) -> None:
        if name == "LUM":
            self.lumi.add(t, value)
        elif name in RINGS_I:
            alarm = self.sbl.add(name.split(":")[0], t, value)
            if alarm is not None:
                text = (
                    f"sudden beam loss in {alarm.ring}: {alarm.fraction:.0%} in {alarm.duration * 1e6:.0f} µs"
                )
                if t < self.live_from:
                    alarm.acknowledged, alarm.acknowledged_at = True, t
                    text += " (replayed history, before this display opened)"
                self._note(t, name, Severity.MAJOR, text)
        elif name in ("RUN", "RUNNING"):
            run = int(self.states["RUN"].value) if "RUN" in self.states and self._has("RUN") else 0
            running = bool(self.states["RUNNING"].value) if self._has("RUNNING") else True
            starting = running and (not self.lumi.running or run != self.lumi.run)
            self.lumi.set_run(run, running)
            if starting and run > 0:
                self.runs.append((t, run))
        elif name == "FILL" and (not self.fills or self.fills[-1][1] != int(value)):
            self.fills.append((t, int(value)))

    def _has(self, name: str) -> bool:
        return name in self.states and math.isfinite(self.states[name].value)

    def _note(self, t: float, name: str, severity: int, text: str) -> None:
        self.log.append(LogEntry(time.time(), t, name, int(severity), text))

    def _complete_postmortems(self) -> None:
        for alarm in self.sbl.pending_postmortems:
            if self.latest_time < alarm.time + self.sbl.post:
                continue
            for name in POSTMORTEM_CHANNELS:
                if name in self.buffers:
                    t, v = self.buffers[name].view(alarm.time - self.sbl.pre)
                    keep = t <= alarm.time + self.sbl.post
                    alarm.postmortem[name] = (t[keep][-5000:].copy(), v[keep][-5000:].copy())

    # --- periodic checks -------------------------------------------------------------------
    def check(self) -> None:
        """Flag channels that should update all the time but have been silent too long."""
        now = self.clock()
        for state in self.states.values():
            if not channel(state.name).continuous or not state.connected or math.isnan(state.received):
                continue
            stale = now - state.received > self.stale_after
            if stale and not state.stale:
                self._note(
                    state.timestamp,
                    state.name,
                    Severity.MINOR,
                    f"stale: no update for {self.stale_after:g} s",
                )
                self.version += 1
            state.stale = stale

    def acknowledge(self) -> int:
        n = self.sbl.acknowledge()
        if n:
            self._note(self.latest_time, "SBL", Severity.NO_ALARM, f"{n} beam-loss alarm(s) acknowledged")
            self.version += 1
        return n

    # --- questions the panels ask ---------------------------------------------------------
    @property
    def alarms(self) -> list[SBLAlarm]:
        return list(self.sbl.alarms)

    def run_in_progress(self) -> tuple[int, int] | None:
        """(experiment, run) while run control says a run is in progress, None between runs.

        Without a run number: None for the first ``stale_after`` seconds of a source that has one
        (it is on its way), then (0, 0), the Monte Carlo labels (no run control to follow)."""
        if not self._has("RUN"):
            waiting = "RUN" in self.states and self.clock() - self.opened < self.stale_after
            return None if waiting else (0, 0)
        if self._has("RUNNING") and not self.states["RUNNING"].value:
            return None
        experiment = int(self.states["EXP"].value) if self._has("EXP") else 0
        return experiment, int(self.states["RUN"].value)

    def silent_bits(
        self, recent: float = 30.0, reference: float = 600.0, min_expected: float = 10.0
    ) -> list[str]:
        """L1 bits that stopped firing: none in the last ``recent`` seconds of source time, while
        their rate over the ``reference`` seconds before predicts at least ``min_expected``
        triggers, while beams collide (luminosity above 1e32, or a non-zero L1 rate if there is
        no luminosity channel)."""
        lum, total = self.states.get("LUM"), self.states.get("L1:TOTAL")
        if lum is not None and lum.connected:
            if not lum.value > 1e32:
                return []
        elif total is None or not total.value > 0:
            return []
        silent = []
        for name in BIT_CHANNELS:
            if name not in self.buffers:
                continue
            t, v = self.buffers[name].view(self.latest_time - reference - recent)
            if len(t) < 3:
                continue
            now_part = t > t[-1] - recent
            before = ~now_part & np.isfinite(v)
            if before.sum() < 2 or not np.isfinite(v[now_part]).all():
                continue
            expected = float(np.mean(v[before])) * recent
            if expected >= min_expected and not np.any(v[now_part] > 0):
                silent.append(name.split(":", 1)[1])
        return silent


RINGS_I = tuple(f"{ring}:I" for ring in RINGS)
