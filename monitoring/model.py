"""The live monitoring model: validated channel states, strip buffers and the alarm accumulators.

``MonitorModel.ingest(updates)`` takes the plain :class:`~monitoring.source.Update` lists any source
delivers and never raises on bad data: a value that is not a finite number within the channel's
physical range turns the channel INVALID with a message naming the source and the problem, and
the luminosity integral opens a gap instead of integrating it. Panels read the model; it knows
nothing about Qt.

Time order is checked per channel, and nothing is dropped silently. A sample repeating the last
one (a re-subscription) is counted as a repeat. A sample older than the last one is held until
the next tells what it was: a stray (counted, the channel shown *suspect* with the reason) or
the first of a clock that went back (the source restarted on another clock), from which on the
channel's samples are stored shifted to follow the old ones, the channel suspect for as long as
the shift lasts, so that the charts, the luminosity integral and beam-loss detection go on. The
first sample after a reconnection, invalid data or a clock jump starts a new clock at once, and
tells the beam-loss detector that it follows a gap, so a loss that happened unseen is latched.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from monitoring.accumulators import LumiIntegrator, RateMeter, SBLAlarm, SBLDetector, StripBuffer
from monitoring.alarms import SBL_VALUE, AlarmModel, Reading
from monitoring.channels import BIT_CHANNELS, RINGS, Severity, channel
from monitoring.source import Unexpected, Update

POSTMORTEM_CHANNELS = ("HER:I", "LER:I", "LUM", "L1:TOTAL")
STRAY_SUSPECT_S = 60.0  # wall seconds a channel stays suspect after a stray sample
SILENT_BITS_EVERY_S = 5.0  # how often the alarms' L1:SILENT_BITS is recomputed (~8 ms for 47 lines)


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
    suspect: str = ""  # why its timestamps cannot be taken at face value ("" when they can)


@dataclass(frozen=True)
class LogEntry:
    wall: float  # time.time() when it was logged
    timestamp: float  # source time it refers to
    channel: str
    severity: int
    text: str
    beam_loss: bool = False  # part of the shift's beam-loss record: never evicted


class AlarmLog:
    """The message log: the newest ``maxlen`` messages, and every beam-loss record besides.

    Eviction skips beam-loss records, so a flood of other messages (a channel alternating
    between bad values) can never push a beam loss out; up to ``beam_loss_max`` of them are
    kept (far beyond any shift: at most one loss per refill). Iteration is in logging order."""

    def __init__(self, maxlen: int = 2000, beam_loss_max: int = 100_000) -> None:
        self.maxlen = maxlen
        self.beam_loss_max = beam_loss_max
        self._other: deque[tuple[int, LogEntry]] = deque(maxlen=maxlen)
        self._beam: list[tuple[int, LogEntry]] = []
        self._seq = 0

    def append(self, entry: LogEntry) -> None:
        self._seq += 1
        if entry.beam_loss and len(self._beam) < self.beam_loss_max:
            self._beam.append((self._seq, entry))
        else:
            self._other.append((self._seq, entry))

    def clear(self) -> None:
        self._other.clear()
        self._beam.clear()

    @property
    def beam_losses(self) -> list[LogEntry]:
        return [e for _, e in self._beam]

    def __len__(self) -> int:
        return len(self._other) + len(self._beam)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[LogEntry]:
        return (e for _, e in heapq.merge(self._other, self._beam, key=lambda p: p[0]))

    def __reversed__(self) -> Iterator[LogEntry]:
        merged = heapq.merge(reversed(self._other), reversed(self._beam), key=lambda p: -p[0])
        return (e for _, e in merged)

    def __getitem__(self, k: int) -> LogEntry:
        if k == -1:
            last = max((d[-1] for d in (self._other, self._beam) if d), key=lambda p: p[0], default=None)
            if last is None:
                raise IndexError("empty log")
            return last[1]
        return list(self)[k]


@dataclass
class _Clock:
    """Per-channel time bookkeeping (see the module docstring)."""

    offset: float = 0.0  # added to the source's timestamps since its clock went back
    last: float = -math.inf  # newest stored sample time (shifted)
    last_value: object = None
    received: float = math.nan  # monotonic wall clock when ``last`` arrived
    held: Update | None = None  # older than ``last``: a stray, or the first of a new clock
    gap: str = ""  # why the next valid sample follows a gap in the data
    suspect_until: float = math.inf  # when a stray's suspect flag clears (wall clock)


def as_number(value: object) -> tuple[float | None, str]:
    """(number, "") or (None, what is wrong with it)."""
    if isinstance(value, Unexpected):
        return None, value.problem
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


def _hms(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if math.isfinite(t) else "?"


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
        alarms: AlarmModel | None = None,
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
        self.log = AlarmLog(maxlen=2000)
        self.arrivals = RateMeter(window=5.0)
        self.version = 0  # bumped whenever something visible changed
        self.latest_time = -math.inf  # newest source timestamp seen (shifted like its channel)
        self.out_of_order = 0  # stray samples older than their channel's last one: not stored
        self.repeats = 0  # samples repeating their channel's last one (re-subscriptions)
        self.clock_jumps = 0  # times a channel's clock went back and its samples were shifted
        self._clocks: dict[str, _Clock] = {}
        self._problems: dict[str, str] = {}
        # the shifter's alarms (docs/monitoring.md §2.5), judged at each check(); values from outside
        # the machine source (the event stream, the DQM checks) are put into extra_readings by their owners
        self.alarm_model = alarms
        self.extra_readings: dict[str, Reading] = {}
        self._silent: tuple[float, Reading] = (-math.inf, Reading())  # (when computed, the reading)

    # --- ingestion -----------------------------------------------------------------------
    def ingest(self, updates: list[Update]) -> None:
        if not updates:
            return
        now = self.clock()
        self.arrivals.add(now, len(updates))
        pending: dict[str, tuple[list[float], list[float]]] = {}
        for u in self._in_time_order(updates):
            self._one(u, now, pending)
        for name, (ts, vs) in pending.items():
            if ts:
                self.buffers[name].extend(np.array(ts), np.array(vs))
        self._complete_postmortems()
        self.version += 1

    def preload(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        """Archived history of one channel (times increasing, before anything ingested) straight into
        its strip buffer and state: no checks and nothing derived (the archive's restore replays the
        channels things are derived from through :meth:`ingest`)."""
        if not len(t):
            return
        state = self._state(name)
        self.buffers[name].extend(t, v)
        now = self.clock()
        clk = self._clocks.setdefault(name, _Clock())
        clk.last, clk.last_value, clk.received = float(t[-1]), float(v[-1]), now
        state.value, state.timestamp, state.received = float(v[-1]), float(t[-1]), now
        state.connected, state.severity, state.message = True, Severity.NO_ALARM, ""
        self.latest_time = max(self.latest_time, float(t[-1]))
        self.version += 1

    @staticmethod
    def _in_time_order(updates: list[Update]) -> Iterable[Update]:
        """Channels merged by timestamp, each channel's updates kept in arrival order (a clock
        that went back within one batch must reach :meth:`_one` as it came)."""

        def key(u: Update) -> float:
            return u.timestamp if math.isfinite(u.timestamp) else math.inf

        last: dict[str, float] = {}
        in_order = True
        for u in updates:
            t = key(u)
            if t < last.get(u.channel, -math.inf):
                in_order = False
                break
            last[u.channel] = t
        if in_order:  # the usual case: a plain (stable) sort gives the same order, faster
            return sorted(updates, key=key)
        by_channel: dict[str, list[Update]] = {}
        for u in updates:
            by_channel.setdefault(u.channel, []).append(u)
        return heapq.merge(*by_channel.values(), key=key)

    def _state(self, name: str) -> ChannelState:
        if name not in self.states:
            self.states[name] = ChannelState(name)
            self.buffers[name] = StripBuffer(600, 60.0, 720)
        return self.states[name]

    def _one(self, u: Update, now: float, pending: dict[str, tuple[list[float], list[float]]]) -> None:
        state = self._state(u.channel)
        state.received = now
        state.stale = False
        clk = self._clocks.setdefault(u.channel, _Clock())
        if not u.connected:
            self._disconnected(u, state, clk, pending)
            return
        if not state.connected and state.message != "no data yet":
            self._note(u.timestamp + clk.offset, u.channel, Severity.NO_ALARM, "connected again")
        state.connected = True
        if not math.isfinite(u.timestamp) or u.timestamp <= 0:
            self._accept(u, u.timestamp, state, clk, now, pending)  # judged there: bad timestamp
            return
        if clk.offset and u.timestamp > clk.last:  # the source's clock caught up: no shift needed
            clk.offset = 0.0
            state.suspect = ""
            self._note(u.timestamp, u.channel, Severity.NO_ALARM, "clock in order again: no longer shifted")
        t = u.timestamp + clk.offset
        if t == clk.last and clk.held is None:
            if _same(u.value, clk.last_value):
                self.repeats += 1  # the last sample again (a re-subscription): nothing new
            else:
                self._stray(u, state, clk, now)  # a second value for the same instant
            return
        if t < clk.last:
            if clk.gap or clk.held is not None:  # first after a gap, or the second one behind
                first = clk.held if clk.held is not None else u
                self._rebase(u.channel, state, clk, first, now)
                if clk.held is not None:
                    held, clk.held = clk.held, None
                    if held.timestamp + clk.offset > clk.last:
                        self._accept(held, held.timestamp + clk.offset, state, clk, now, pending)
                t = u.timestamp + clk.offset
                if t <= clk.last:  # older still than the held one: a stray after all
                    self._stray(u, state, clk, now)
                    return
            else:
                clk.held = u  # the next sample tells a stray from a clock that went back
                state.suspect = (
                    f"sample at {_hms(u.timestamp)} {clk.last - t:.3g} s older than the one before "
                    "(out of order, or the source's clock went back)"
                )
                return
        elif clk.held is not None:  # in order again: the held sample was a stray
            held, clk.held = clk.held, None
            self._stray(held, state, clk, now)
        self._accept(u, t, state, clk, now, pending)

    def _disconnected(
        self, u: Update, state: ChannelState, clk: _Clock, pending: dict[str, tuple[list[float], list[float]]]
    ) -> None:
        if state.connected or state.message == "no data yet":
            self._note(clk.last if math.isfinite(clk.last) else u.timestamp, u.channel, Severity.INVALID,
                       u.message or "disconnected")  # fmt: skip
        state.connected, state.severity = False, Severity.INVALID
        state.message = u.message or "disconnected"
        clk.gap = u.message or "disconnected"
        if clk.held is not None:  # never confirmed as the start of a new clock
            held, clk.held = clk.held, None
            self._stray(held, state, clk, state.received)
        if math.isfinite(clk.last):
            # break the strip chart just after the last sample, in the source's clock (the
            # disconnection's own timestamp is this computer's, which may differ by anything)
            ts, vs = pending.setdefault(u.channel, ([], []))
            marker = float(np.nextafter(clk.last, math.inf))
            if marker > (ts[-1] if ts else self.buffers[u.channel].last_time):
                ts.append(marker)
                vs.append(math.nan)
        if u.channel == "LUM":
            self.lumi.interrupt(u.timestamp, f"{u.channel} disconnected")

    def _rebase(self, name: str, state: ChannelState, clk: _Clock, first: Update, now: float) -> None:
        """The source's clock went back: shift this channel's samples to follow the stored ones,
        by as long as the wait for them lasted (so a gap keeps its length on the charts)."""
        behind = clk.last - (first.timestamp + clk.offset)
        waited = now - clk.received if math.isfinite(clk.received) else 0.0
        clk.offset = clk.last + max(waited, 1e-3) - first.timestamp
        self.clock_jumps += 1
        reason = (
            f"the source's clock went back {behind:.4g} s at {_hms(first.timestamp)} (restarted on "
            f"another clock?): its samples are shown {clk.offset:+.4g} s from their timestamps"
        )
        state.suspect = reason
        clk.suspect_until = math.inf
        clk.gap = clk.gap or f"clock went back {behind:.4g} s"
        self._note(clk.last, name, Severity.MINOR, f"suspect: {reason}")

    def _stray(self, u: Update, state: ChannelState, clk: _Clock, now: float) -> None:
        self.out_of_order += 1
        behind = clk.last - (u.timestamp + clk.offset)
        reason = (
            f"out-of-order sample at {_hms(u.timestamp)}, {behind:.3g} s older than the one before: "
            "not stored"
        )
        if not state.suspect.startswith("out-of-order"):
            self._note(u.timestamp, u.channel, Severity.MINOR, f"suspect: {reason}")
        if not clk.offset:
            state.suspect = reason
        clk.suspect_until = now + STRAY_SUSPECT_S

    def _accept(
        self,
        u: Update,
        t: float,
        state: ChannelState,
        clk: _Clock,
        now: float,
        pending: dict[str, tuple[list[float], list[float]]],
    ) -> None:
        """Judge one sample in time order (``t``: its timestamp, shifted) and store it."""
        ts, vs = pending.setdefault(u.channel, ([], []))
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
                self._note(t, u.channel, Severity.INVALID, f"invalid data: {problem}")
                self._problems[u.channel] = kind
            state.severity, state.message = (
                Severity.INVALID,
                f"invalid data from {self.source_name}: {problem}",
            )
            clk.gap = clk.gap or f"invalid data ({problem})"
            if math.isfinite(t) and t > clk.last:
                ts.append(t)
                vs.append(math.nan)
                clk.last, clk.last_value, clk.received = t, u.value, now
            if u.channel == "LUM":
                self.lumi.interrupt(t, f"invalid luminosity data: {problem}")
            return
        self._problems.pop(u.channel, None)
        state.value, state.timestamp = number, t
        state.severity, state.message = int(u.severity), ""
        self.latest_time = max(self.latest_time, t)
        ts.append(t)
        vs.append(number)
        clk.last, clk.last_value, clk.received = t, u.value, now
        gap, clk.gap = clk.gap, ""
        self._derive(u.channel, t, number, gap)

    def _derive(self, name: str, t: float, value: float, gap: str = "") -> None:
        if name == "LUM":
            self.lumi.add(t, value)
        elif name in RINGS_I:
            alarm = self.sbl.add(name.split(":")[0], t, value, gap)
            if alarm is not None:
                self._alarm_logged(alarm, name, t)
        elif name in ("RUN", "RUNNING"):
            run = int(self.states["RUN"].value) if "RUN" in self.states and self._has("RUN") else 0
            running = bool(self.states["RUNNING"].value) if self._has("RUNNING") else True
            starting = running and (not self.lumi.running or run != self.lumi.run)
            self.lumi.set_run(run, running)
            if starting and run > 0:
                self.runs.append((t, run))
        elif name == "FILL" and (not self.fills or self.fills[-1][1] != int(value)):
            self.fills.append((t, int(value)))

    def _alarm_logged(self, alarm: SBLAlarm, name: str, t: float) -> None:
        text = _loss_text(alarm)
        if t < self.live_from:
            alarm.acknowledged, alarm.acknowledged_at = True, t
            text += " (replayed history, before this display opened)"
        self._note(t, name, Severity.MAJOR, text, beam_loss=True)

    def restore_beam_losses(self, alarms: Iterable[SBLAlarm]) -> int:
        """Beam losses an archive recorded before a restart, back in the beam-loss record as they
        were (latched or acknowledged, with their post-mortems) and in the log as beam-loss lines;
        one seen again in replayed history is not recorded twice. Returns how many came back."""
        new = self.sbl.restore(alarms)
        for alarm in new:
            state = "acknowledged" if alarm.acknowledged else "latched"
            text = f"{_loss_text(alarm)} (from the archive, {state})"
            # logged at the loss's own time, as it was logged then
            self.log.append(LogEntry(alarm.time, alarm.time, f"{alarm.ring}:I", Severity.MAJOR, text, True))
        if new:
            self.version += 1
        return len(new)

    def _has(self, name: str) -> bool:
        return name in self.states and math.isfinite(self.states[name].value)

    def note(self, channel: str, text: str, severity: int = Severity.MINOR) -> None:
        """Log a remark from outside the data (a source's notice), at the newest data time."""
        self._note(self.latest_time, channel, severity, text)
        self.version += 1

    def _note(self, t: float, name: str, severity: int, text: str, beam_loss: bool = False) -> None:
        self.log.append(LogEntry(time.time(), t, name, int(severity), text, beam_loss))

    def _complete_postmortems(self) -> None:
        for alarm in self.sbl.pending_postmortems:
            end = (alarm.gap[1] if alarm.gap is not None else alarm.time) + self.sbl.post
            if self.latest_time < end:
                continue
            for name in POSTMORTEM_CHANNELS:
                if name in self.buffers:
                    t, v = self.buffers[name].view(alarm.time - self.sbl.pre)
                    keep = t <= end
                    alarm.postmortem[name] = (t[keep][-5000:].copy(), v[keep][-5000:].copy())

    # --- periodic checks -------------------------------------------------------------------
    def check(self) -> None:
        """Flag channels that should update all the time but have been silent too long; clear
        the suspect flag of a stray sample after a while."""
        now = self.clock()
        for name, clk in self._clocks.items():
            if now >= clk.suspect_until and not clk.offset and clk.held is None:
                clk.suspect_until = math.inf
                self.states[name].suspect = ""
                self.version += 1
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
        if self.alarm_model is not None:
            before = self.alarm_model.version
            self.alarm_model.update(self.readings())
            if self.alarm_model.version != before:
                self.version += 1

    def acknowledge(self, who: str = "shifter", comment: str = "") -> int:
        """Acknowledge every latched beam loss, and the alarms that stand for them (§2.5)."""
        n = self.sbl.acknowledge()
        if n:
            text = f"{n} beam-loss alarm(s) acknowledged" + (f" by {who}" if who != "shifter" else "")
            self._note(self.latest_time, "SBL", Severity.NO_ALARM, text, beam_loss=True)
            self.version += 1
        if self.alarm_model is not None:
            for alarm in self.alarm_model:
                if alarm.definition.condition.value == SBL_VALUE and alarm.needs_ack:
                    self.alarm_model.acknowledge(alarm.name, who, comment)
                    self.version += 1
        return n

    def acknowledge_alarm(self, name: str, who: str, comment: str = "") -> bool:
        """Acknowledge one alarm of the alarm model; one standing for beam losses acknowledges
        them in the detector as well, so the beam-loss panel and the alarm list agree."""
        if self.alarm_model is None:
            return False
        done = self.alarm_model.acknowledge(name, who, comment)
        if self.alarm_model.alarms[name].definition.condition.value == SBL_VALUE:
            self.acknowledge(who, comment)
        self.version += 1
        return done

    def readings(self) -> dict[str, Reading]:
        """The named values the alarms judge: every channel (its value, NaN while its data are
        invalid; whether it is connected; the seconds since its last update; its message), the
        derived values of §2.5, and :attr:`extra_readings`."""
        now = self.clock()
        out: dict[str, Reading] = {}
        disconnected, stale = [], []
        for name, st in self.states.items():
            age = now - st.received if math.isfinite(st.received) else math.inf
            invalid = st.message.startswith("invalid data")  # the last good value is not the value now
            out[name] = Reading(math.nan if invalid else st.value, st.connected, age, st.message)
            if not st.connected:
                disconnected.append(name)
            elif st.stale:
                stale.append(name)
        out["CHANNELS:DISCONNECTED"] = Reading(len(disconnected), detail=_names(disconnected))
        out["CHANNELS:STALE"] = Reading(len(stale), detail=_names(stale))
        latched = [a for a in self.sbl.alarms if not a.acknowledged]
        detail = (
            f"{latched[-1].ring} lost {latched[-1].fraction:.0%} at {_hms(latched[-1].time)}"
            if latched
            else ""
        )
        out[SBL_VALUE] = Reading(len(latched), detail=detail)
        wanted = self.alarm_model.needed if self.alarm_model is not None else {"L1:SILENT_BITS"}
        if "L1:SILENT_BITS" in wanted and any(name in self.buffers for name in BIT_CHANNELS):
            if now - self._silent[0] >= SILENT_BITS_EVERY_S or now < self._silent[0]:
                silent = self.silent_bits()
                self._silent = (now, Reading(len(silent), detail=_names(silent)))
            out["L1:SILENT_BITS"] = self._silent[1]
        out.update(self.extra_readings)
        return out

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


def _loss_text(alarm: SBLAlarm) -> str:
    if alarm.gap is not None:
        t0, t1 = alarm.gap
        return (
            f"sudden beam loss in {alarm.ring} during a data gap ({alarm.gap_reason}): "
            f"{alarm.fraction:.0%} of {alarm.current_before * 1000:.0f} mA lost between "
            f"{_hms(t0)} and {_hms(t1)} ({t1 - t0:.3g} s without data)"
        )
    return f"sudden beam loss in {alarm.ring}: {alarm.fraction:.0%} in {alarm.duration * 1e6:.0f} µs"


def _names(names: list[str], most: int = 6) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _same(a: object, b: object) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return False


RINGS_I = tuple(f"{ring}:I" for ring in RINGS)
