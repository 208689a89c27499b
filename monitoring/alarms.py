"""One alarm model for every alarm the program raises (docs/monitoring.md §2.5).

An :class:`AlarmDefinition` names a value (a channel such as ``LUM``, or a derived value such as
``SBL:UNACKNOWLEDGED``), a condition on it (above or below a limit, stale for N seconds,
disconnected), a severity (MINOR < MAJOR < INVALID, EPICS's order), filters in the manner of
Phoebus (the condition must hold for ``delay_s``, or begin ``count`` times within that delay), an
enabling condition on another value (e.g. only while a run is on), guidance for the shifter and
the panel to open. :class:`AlarmModel` evaluates the definitions on each :meth:`AlarmModel.update`
with a snapshot of :class:`Reading` values, keeps each alarm's state (raised, latched until
acknowledged, acknowledged by whom, shelved until when and why), a bounded log of every raise,
clear, acknowledgement and shelving, and a roll-up for the status line that never relies on colour
alone. New unacknowledged raises are *annunciated* to pluggable sinks (:class:`WavFileSink` writes
a tone). Nothing here knows Qt.

Time: the model reads the clock it was given (wall seconds, ``time.time`` by default, so log lines
and the archive mean the same across restarts). Filters and shelving run on the model's own
elapsed time, which follows the clock forward and stands still when the clock steps back, so a
clock set back by an hour neither holds an alarm for an hour nor shelves it for longer.
"""

from __future__ import annotations

import math
import struct
import time
import tomllib
import wave
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from monitoring.channels import Severity

if TYPE_CHECKING:
    from monitoring.histograms.running import Snapshot as HistogramSnapshot
    from monitoring.zmq_source import StreamStats

ASSETS_ALARMS = Path(__file__).resolve().parents[1] / "assets" / "alarms.toml"
LOG_SIZE = 5000  # entries of the alarm log kept in memory (the archive keeps them all)
CLOCK_LOG_EVERY_S = 60.0  # clock steps back are all counted, logged at most once a minute
MAX_SHELVE_S = 8 * 3600.0  # a shelf lasts one shift at most: nothing is hidden for good
# the same glyphs as the colour table's [alarm.*] sections (assets/colors.toml), plus ✔ for "all
# acknowledged": the roll-up's text says the state in words and a shape, not by colour alone
GLYPHS = {Severity.MINOR: "▲", Severity.MAJOR: "■", Severity.INVALID: "◆"}
ACK_GLYPH = "✔"

CONDITION_KEYS = ("above", "below", "stale_s", "disconnected")
SBL_VALUE = "SBL:UNACKNOWLEDGED"  # sudden beam losses the detector holds latched


class AlarmConfigError(ValueError):
    """An alarm definition file that cannot be used; the message is one line naming the file."""


# --- values -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """One named value as the alarms see it: the number, whether its source is connected, how many
    seconds since it last updated, and a short text for the alarm message (which channels, ...)."""

    value: float = math.nan
    connected: bool = True
    age_s: float = 0.0
    detail: str = ""


Snapshot = Mapping[str, Reading]


def stream_reading(stats: StreamStats) -> Reading:
    """The event stream as the value ``STREAM``: its event rate, connected, and its age the seconds
    since the last event (infinite before the first)."""
    age = math.inf if stats.age_s is None else stats.age_s
    detail = f"{stats.url}: " + ("no event yet" if stats.age_s is None else f"last event {age:.0f} s ago")
    return Reading(stats.rate_hz, stats.connected, age, detail)


def dqm_reading(snapshots: Iterable[HistogramSnapshot]) -> Reading:
    """``DQM:ERRORS``: how many histograms' reference check says error, named in the detail."""
    bad = [s.name for s in snapshots if s.check.status.value == "error"]
    return Reading(len(bad), detail=", ".join(bad))


DQM_PREFIX = "DQM:"  # "DQM:<histogram>": one histogram's status, beside the count "DQM:ERRORS"


def dqm_statuses(snapshots: Iterable[HistogramSnapshot]) -> dict[str, Reading]:
    """``DQM:<name>`` for each histogram: its status as basf2's EStatus number (0 too few ... 4
    error), the detail saying the status, the test's p-value, the run and the reference."""
    readings = {}
    for s in snapshots:
        result = s.check
        words = result.status.value.replace("_", " ")
        if math.isfinite(result.p_value):
            words += f", {result.method} p = {result.p_value:.3g}"
        run = f"exp {s.experiment} run {s.run}" if s.run >= 0 else "no run yet"
        detail = f"{words}; {run}, {int(s.run_counts.sum())} entries; reference {s.reference_source}"
        readings[DQM_PREFIX + s.name] = Reading(float(result.status.epics), detail=detail)
    return readings


@dataclass(frozen=True)
class Condition:
    """``value`` above/below ``limit``, stale for more than ``limit`` seconds, or disconnected."""

    value: str
    kind: str  # one of CONDITION_KEYS
    limit: float = 0.0

    def holds(self, snapshot: Snapshot) -> bool | None:
        """True/False, or None when the snapshot has no such value (it cannot be judged)."""
        reading = snapshot.get(self.value)
        if reading is None:
            return None
        if self.kind == "disconnected":
            return not reading.connected
        if self.kind == "stale_s":
            return reading.age_s > self.limit
        if not reading.connected or not math.isfinite(reading.value):
            return False  # no number to judge: the disconnected / stale alarms say so
        return reading.value > self.limit if self.kind == "above" else reading.value < self.limit

    def describe(self) -> str:
        if self.kind == "disconnected":
            return f"{self.value} disconnected"
        if self.kind == "stale_s":
            return f"{self.value} silent for more than {self.limit:g} s"
        return f"{self.value} {'>' if self.kind == 'above' else '<'} {self.limit:g}"


@dataclass(frozen=True)
class AlarmDefinition:
    name: str
    title: str
    severity: Severity
    condition: Condition
    delay_s: float = 0.0  # the condition must hold this long before the alarm is raised...
    count: int = 0  # ...or begin this many times within delay_s (0: no count filter)
    enabled_when: Condition | None = None  # evaluated only while this holds
    guidance: str = ""
    panel: str = ""  # the panel a shifter opens for it
    latch: bool = True  # stays raised after the condition clears, until acknowledged

    def __post_init__(self) -> None:
        if self.severity not in (Severity.MINOR, Severity.MAJOR, Severity.INVALID):
            raise ValueError(f"alarm {self.name!r}: severity must be MINOR, MAJOR or INVALID")
        if not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError(f"alarm {self.name!r}: delay_s must be a number >= 0")
        if self.count < 0 or (self.count and self.delay_s <= 0):
            raise ValueError(f"alarm {self.name!r}: count needs a delay_s > 0 to count within")


# --- state and log --------------------------------------------------------------------------------
@dataclass
class Alarm:
    """The state of one definition."""

    definition: AlarmDefinition
    active: bool = False  # the condition passed its filters and still holds
    raised: bool = False  # raised and not yet back to OK (active, or latched after clearing)
    acknowledged: bool = False
    raised_at: float = math.nan  # wall clock of the last raise
    cleared_at: float = math.nan
    message: str = ""  # what was seen at the raise
    acknowledged_by: str = ""
    acknowledged_at: float = math.nan
    ack_comment: str = ""
    shelved_by: str = ""
    shelve_reason: str = ""
    shelved_until: float = math.nan  # wall clock, for display and the archive
    raises: int = 0
    raise_seq: int = 0  # log entry of the last raise, and of the shelf: what a restart needs kept
    shelve_seq: int = 0
    _shelf_end: float = math.nan  # model time the shelf ends
    _since: float | None = None  # model time the raw condition began to hold
    _onsets: deque[float] = field(default_factory=deque)  # model times it began (count filter)
    _held: bool = False  # restored from the archive as raised: the first evaluation confirms it

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def severity(self) -> Severity:
        """The definition's severity while raised, NO_ALARM otherwise."""
        return self.definition.severity if self.raised else Severity.NO_ALARM

    @property
    def shelved(self) -> bool:
        return not math.isnan(self._shelf_end)

    @property
    def needs_ack(self) -> bool:
        return self.raised and not self.acknowledged

    @property
    def state(self) -> str:
        """Phoebus-style: OK, ACTIVE, ACTIVE_ACK, or CLEARED_UNACK (latched after recovering)."""
        if not self.raised:
            return "OK"
        if self.active:
            return "ACTIVE_ACK" if self.acknowledged else "ACTIVE"
        return "CLEARED_UNACK"


@dataclass(frozen=True)
class AlarmLogEntry:
    seq: int  # increasing, never reused (continued across restarts from the archive)
    time: float  # wall clock as the model's clock gave it
    alarm: str  # definition name ("" for the model itself: a clock step)
    action: str  # raise, clear, ack, shelve, unshelve, clock
    severity: int
    who: str = ""
    text: str = ""


ACTIONS = ("raise", "clear", "ack", "shelve", "unshelve", "clock")


@dataclass(frozen=True)
class RollUp:
    """The summary of every alarm that is not shelved."""

    severity: Severity  # highest of those raised (NO_ALARM when none)
    raised: int
    unacknowledged: int
    shelved: int

    @property
    def all_acknowledged(self) -> bool:
        return self.unacknowledged == 0

    @property
    def marker(self) -> str:
        """E.g. "■ MAJOR (2 unacknowledged)", "✔ MAJOR acknowledged", "✔ no alarm"."""
        shelved = f"{self.shelved} shelved" if self.shelved else ""
        if self.severity == Severity.NO_ALARM:
            return f"{ACK_GLYPH} no alarm" + (f" ({shelved})" if shelved else "")
        if self.unacknowledged:
            parts = ", ".join(p for p in (f"{self.unacknowledged} unacknowledged", shelved) if p)
            return f"{GLYPHS[self.severity]} {self.severity.name} ({parts})"
        return f"{ACK_GLYPH} {self.severity.name} acknowledged" + (f" ({shelved})" if shelved else "")


class AnnunciatorSink(Protocol):
    """Told of each new unacknowledged raise (and of a shelf ending over a raised one); must be quick."""

    def annunciate(self, alarm: Alarm) -> None: ...


# --- the model ------------------------------------------------------------------------------------
class AlarmModel:
    """Every alarm, evaluated by :meth:`update`; work per update is bounded by the definitions."""

    def __init__(
        self,
        definitions: Iterable[AlarmDefinition],
        *,
        clock: Callable[[], float] = time.time,
        log_size: int = LOG_SIZE,
        max_shelve_s: float = MAX_SHELVE_S,
        sinks: Iterable[AnnunciatorSink] = (),
    ) -> None:
        self.alarms: dict[str, Alarm] = {}
        for d in definitions:
            if d.name in self.alarms:
                raise ValueError(f"two alarms named {d.name!r}")
            self.alarms[d.name] = Alarm(d, _onsets=deque(maxlen=max(d.count, 1)))
        # the values the definitions judge: a derived value nobody judges need not be computed
        self.needed = frozenset(
            c.value
            for a in self.alarms.values()
            for c in (a.definition.condition, a.definition.enabled_when)
            if c
        )
        self.clock = clock
        self.max_shelve_s = max_shelve_s
        self.log: deque[AlarmLogEntry] = deque(maxlen=log_size)
        self.sinks: list[AnnunciatorSink] = list(sinks)
        self.sink_errors: dict[str, str] = {}  # sink -> its last failure (never stops the model)
        self.clock_steps = 0  # times the clock went back
        self.version = 0  # bumped whenever something a view shows changed
        self._seq = 0
        self._elapsed = 0.0  # model time: follows the clock forward, stands still when it steps back
        self._last_clock: float | None = None
        self._step_logged = -math.inf  # model time a clock step was last logged

    # --- time ----------------------------------------------------------------------------------
    def _tick(self) -> tuple[float, float]:
        """(wall, model time) now."""
        wall = self.clock()
        if self._last_clock is not None:
            step = wall - self._last_clock
            if step >= 0:
                self._elapsed += step
            elif math.isfinite(step):
                self.clock_steps += 1
                if self._elapsed - self._step_logged >= CLOCK_LOG_EVERY_S:  # a clock gone mad: not a flood
                    self._step_logged = self._elapsed
                    self._log(wall, "", "clock", Severity.NO_ALARM, text=f"clock went back {-step:.6g} s")
        self._last_clock = wall
        return wall, self._elapsed

    # --- evaluation ----------------------------------------------------------------------------
    def update(self, snapshot: Snapshot) -> list[Alarm]:
        """Evaluate every alarm against ``snapshot``; returns those annunciated by this update."""
        wall, now = self._tick()
        told: list[Alarm] = []
        for alarm in self.alarms.values():
            if alarm.shelved and now >= alarm._shelf_end:
                self._unshelve(alarm, wall, "", "shelf expired")
                if alarm.needs_ack:
                    told.append(alarm)
            if self._evaluate(alarm, snapshot, wall, now) and not alarm.shelved:
                told.append(alarm)
        for alarm in told:
            self._annunciate(alarm)
        return told

    def _evaluate(self, alarm: Alarm, snapshot: Snapshot, wall: float, now: float) -> bool:
        """Advance one alarm; True when it was newly raised."""
        d = alarm.definition
        enabled = d.enabled_when is None or d.enabled_when.holds(snapshot) is True
        holds = enabled and d.condition.holds(snapshot) is True
        if not holds:
            was_raised, alarm._since, alarm._held = alarm.active or alarm._held, None, False
            if was_raised:
                why = "" if enabled or d.enabled_when is None else f"no longer {d.enabled_when.describe()}"
                self._clear(alarm, wall, why)
            return False
        if alarm._since is None:  # an onset
            alarm._since = now
            alarm._onsets.append(now)
            if alarm._held:  # raised before the restart and holding still: the same raise
                alarm._held = False
                return False
        if alarm.active:
            return False
        held_long = now - alarm._since >= d.delay_s
        recent = [t for t in alarm._onsets if now - t <= d.delay_s]
        counted = d.count > 0 and len(recent) >= d.count
        if held_long or counted:
            self._raise(alarm, snapshot, wall, counted and not held_long)
            return True
        return False

    def _raise(self, alarm: Alarm, snapshot: Snapshot, wall: float, by_count: bool) -> None:
        d = alarm.definition
        reading = snapshot.get(d.condition.value, Reading())
        numeric = d.condition.kind in ("above", "below") and math.isfinite(reading.value)
        seen = f" (now {reading.value:g})" if numeric else ""
        why = f", begun {d.count} times within {d.delay_s:g} s" if by_count else ""
        alarm.message = f"{d.condition.describe()}{seen}{why}" + (
            f": {reading.detail}" if reading.detail else ""
        )
        alarm.active = alarm.raised = True
        alarm.acknowledged = False
        alarm.acknowledged_by = alarm.ack_comment = ""
        alarm.acknowledged_at = math.nan
        alarm.raised_at, alarm.cleared_at = wall, math.nan
        alarm.raises += 1
        self._log(wall, d.name, "raise", d.severity, text=alarm.message)
        alarm.raise_seq = self._seq

    def _clear(self, alarm: Alarm, wall: float, why: str = "") -> None:
        d = alarm.definition
        alarm.active = False
        alarm.cleared_at = wall
        latched = d.latch and not alarm.acknowledged
        if not latched:
            alarm.raised = False
        text = "condition cleared" + (f" ({why})" if why else "")
        self._log(wall, d.name, "clear", Severity.NO_ALARM,
                  text=text + (": latched until acknowledged" if latched else ""))  # fmt: skip

    # --- the shifter's actions -----------------------------------------------------------------
    def acknowledge(self, name: str, who: str, comment: str = "") -> bool:
        """Acknowledge one raised alarm; False when it needed none. ``who`` is required."""
        alarm = self._get(name)
        who = _required(who, "who acknowledges")
        wall, _ = self._tick()
        if not alarm.needs_ack:
            return False
        alarm.acknowledged, alarm.acknowledged_by = True, who
        alarm.acknowledged_at, alarm.ack_comment = wall, comment.strip()
        if not alarm.active:  # latched after clearing: acknowledging ends it
            alarm.raised = False
        self._log(wall, name, "ack", alarm.definition.severity, who, comment.strip())
        return True

    def acknowledge_all(self, who: str, comment: str = "") -> int:
        return sum(self.acknowledge(a.name, who, comment) for a in list(self.alarms.values()) if a.needs_ack)

    def shelve(self, name: str, who: str, reason: str, duration_s: float) -> None:
        """Hide one alarm from annunciation and the roll-up for ``duration_s`` (at most
        ``max_shelve_s``); it is still evaluated, and comes back by itself when the shelf ends."""
        alarm = self._get(name)
        who = _required(who, "who shelves")
        reason = _required(reason, "a reason to shelve")
        if not (math.isfinite(duration_s) and 0 < duration_s <= self.max_shelve_s):
            raise ValueError(f"shelve {name!r}: duration must be between 0 and {self.max_shelve_s:g} s")
        wall, now = self._tick()
        alarm._shelf_end, alarm.shelved_until = now + duration_s, wall + duration_s
        alarm.shelved_by, alarm.shelve_reason = who, reason
        self._log(wall, name, "shelve", alarm.definition.severity, who,
                  f"for {duration_s:g} s: {reason}")  # fmt: skip
        alarm.shelve_seq = self._seq

    def unshelve(self, name: str, who: str) -> bool:
        alarm = self._get(name)
        who = _required(who, "who unshelves")
        wall, _ = self._tick()
        if not alarm.shelved:
            return False
        self._unshelve(alarm, wall, who, "unshelved")
        if alarm.needs_ack:
            self._annunciate(alarm)
        return True

    def _unshelve(self, alarm: Alarm, wall: float, who: str, text: str) -> None:
        alarm._shelf_end, alarm.shelved_until = math.nan, math.nan
        alarm.shelved_by = alarm.shelve_reason = ""
        self._log(wall, alarm.name, "unshelve", alarm.definition.severity, who, text)

    # --- questions -----------------------------------------------------------------------------
    def rollup(self) -> RollUp:
        shown = [a for a in self.alarms.values() if not a.shelved and a.raised]
        return RollUp(
            max((a.severity for a in shown), default=Severity.NO_ALARM),
            len(shown),
            sum(a.needs_ack for a in shown),
            sum(a.shelved for a in self.alarms.values()),
        )

    def raised(self) -> list[Alarm]:
        """Raised alarms, highest severity first, then the unacknowledged, then the newest."""
        out = [a for a in self.alarms.values() if a.raised]
        return sorted(out, key=lambda a: (-a.severity, a.acknowledged, -a.raised_at))

    def log_since(self, seq: int) -> list[AlarmLogEntry]:
        """Log entries after ``seq`` that are still kept (oldest first)."""
        out: list[AlarmLogEntry] = []
        for entry in reversed(self.log):
            if entry.seq <= seq:
                break
            out.append(entry)
        return out[::-1]

    @property
    def seq(self) -> int:
        return self._seq

    def oldest_needed_seq(self) -> int | None:
        """The oldest log entry a restart needs: the raise of an alarm still raised, or a shelf
        still on (an archive keeps the log from it on, whatever its age); None when none is."""
        needed = [a.raise_seq for a in self.alarms.values() if a.raised]
        needed += [a.shelve_seq for a in self.alarms.values() if a.shelved]
        return min(needed, default=None)

    # --- restoring -----------------------------------------------------------------------------
    def restore(self, entries: Iterable[AlarmLogEntry]) -> int:
        """Take back a log written before a restart (oldest first): the log itself, the numbering,
        and each alarm's raise, acknowledgement and shelf. A restored raise whose condition still
        holds at the first update is the same raise: not raised, logged or annunciated again."""
        wall, now = self._tick()
        n = 0
        for e in entries:
            if e.seq <= self._seq:
                continue  # already here: never counted twice
            self.log.append(e)
            self._seq = e.seq
            n += 1
            alarm = self.alarms.get(e.alarm)
            if alarm is None:
                continue  # a definition since removed: its lines stay in the log
            if e.action == "raise":  # the same transitions as live, from the log
                alarm.raised = alarm.active = True
                alarm.acknowledged, alarm.acknowledged_by, alarm.ack_comment = False, "", ""
                alarm.raised_at, alarm.message = e.time, e.text
                alarm.raises += 1
                alarm.raise_seq = e.seq
            elif e.action == "clear":
                alarm.active = False
                alarm.cleared_at = e.time
                alarm.raised = alarm.definition.latch and not alarm.acknowledged and alarm.raised
            elif e.action == "ack":
                alarm.acknowledged, alarm.acknowledged_by = True, e.who
                alarm.acknowledged_at, alarm.ack_comment = e.time, e.text
                if not alarm.active:
                    alarm.raised = False
            elif e.action == "shelve":
                duration = _shelf_duration(e.text)
                left = e.time + duration - wall
                if left > 0:
                    alarm._shelf_end, alarm.shelved_until = now + left, e.time + duration
                    alarm.shelved_by, alarm.shelve_reason = e.who, e.text.split(": ", 1)[-1]
                    alarm.shelve_seq = e.seq
            elif e.action == "unshelve":
                alarm._shelf_end, alarm.shelved_until = math.nan, math.nan
                alarm.shelved_by = alarm.shelve_reason = ""
        for alarm in self.alarms.values():
            alarm._held, alarm._since = alarm.active, None  # confirmed or cleared by the next update
        if n:
            self.version += 1
        return n

    # --- helpers -------------------------------------------------------------------------------
    def _get(self, name: str) -> Alarm:
        try:
            return self.alarms[name]
        except KeyError:
            raise KeyError(f"no alarm named {name!r}") from None

    def _log(
        self, wall: float, alarm: str, action: str, severity: int, who: str = "", text: str = ""
    ) -> None:
        self._seq += 1
        self.log.append(AlarmLogEntry(self._seq, wall, alarm, action, int(severity), who, text))
        self.version += 1

    def _annunciate(self, alarm: Alarm) -> None:
        for sink in self.sinks:
            try:
                sink.annunciate(alarm)
            except Exception as exc:  # a sound card gone must not stop the alarms
                self.sink_errors[type(sink).__name__] = f"{type(exc).__name__}: {exc}"

    def __iter__(self) -> Iterator[Alarm]:
        return iter(self.alarms.values())


def _required(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValueError(f"{what} must be given")
    return text


def _shelf_duration(text: str) -> float:
    """The duration in a shelve log line ("for 600 s: reason")."""
    try:
        return float(text.split(" ", 2)[1]) if text.startswith("for ") else 0.0
    except (IndexError, ValueError):
        return 0.0


# --- annunciation ---------------------------------------------------------------------------------
TONE_HZ = {Severity.MINOR: 660.0, Severity.MAJOR: 880.0, Severity.INVALID: 520.0}
BEEPS = {Severity.MINOR: 1, Severity.MAJOR: 3, Severity.INVALID: 2}


def write_tone(path: Path, severity: Severity, rate: int = 22050) -> Path:
    """A WAV file (16-bit mono PCM): ``BEEPS[severity]`` beeps of 0.15 s at ``TONE_HZ[severity]``,
    0.1 s apart, each faded in and out over 5 ms so the speaker does not click."""
    freq, beeps = TONE_HZ.get(severity, 660.0), BEEPS.get(severity, 1)
    on, off, fade = int(0.15 * rate), int(0.10 * rate), int(0.005 * rate)
    frames = bytearray()
    for k in range(beeps):
        for i in range(on):
            envelope = min(1.0, i / fade, (on - 1 - i) / fade)
            frames += struct.pack("<h", int(0.5 * 32767 * envelope * math.sin(2 * math.pi * freq * i / rate)))
        if k < beeps - 1:
            frames += bytes(2 * off)
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


class WavFileSink:
    """Writes each annunciation's tone to ``path`` (the newest overwrites the last) and keeps the
    names annunciated; a GUI plays the file, a headless monitor or a test just checks it."""

    def __init__(self, path: Path, keep: int = 100) -> None:
        self.path = Path(path)
        self.annunciated: deque[str] = deque(maxlen=keep)

    def annunciate(self, alarm: Alarm) -> None:
        write_tone(self.path, alarm.definition.severity)
        self.annunciated.append(alarm.name)


# --- definitions from TOML ------------------------------------------------------------------------
DEFINITION_KEYS = frozenset(
    {
        "title",
        "severity",
        "value",
        *CONDITION_KEYS,
        "delay_s",
        "count",
        "enabled_when",
        "guidance",
        "panel",
        "latch",
    }
)


def load_definitions(path: Path = ASSETS_ALARMS) -> list[AlarmDefinition]:
    """The ``[alarm.NAME]`` tables of a TOML file; any problem is one :class:`AlarmConfigError`
    line naming the file, the alarm and the key at fault."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise AlarmConfigError(f"{path}: cannot read the alarm definitions: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlarmConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise AlarmConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_definitions(data, str(path))


def parse_definitions(data: Mapping[str, Any], source: str) -> list[AlarmDefinition]:
    extra = set(data) - {"alarm"}
    if extra:
        raise AlarmConfigError(
            f"{source}: unknown top-level key {sorted(extra)[0]!r} (only [alarm.NAME] tables)"
        )
    tables = data.get("alarm")
    if not isinstance(tables, dict) or not tables:
        raise AlarmConfigError(f"{source}: no [alarm.NAME] tables")
    return [_definition(name, spec, source) for name, spec in tables.items()]


def _definition(name: str, spec: Any, source: str) -> AlarmDefinition:
    where = f"{source}: alarm {name!r}"
    if not isinstance(spec, dict):
        raise AlarmConfigError(f"{where}: must be a table, not {type(spec).__name__}")
    unknown = set(spec) - DEFINITION_KEYS
    if unknown:
        raise AlarmConfigError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(DEFINITION_KEYS))})"
        )
    severity = spec.get("severity")
    if severity not in ("MINOR", "MAJOR", "INVALID"):
        raise AlarmConfigError(f'{where}: severity must be "MINOR", "MAJOR" or "INVALID", not {severity!r}')
    condition = _condition(spec, where)
    enabled = spec.get("enabled_when")
    enabled_when = None
    if enabled is not None:
        if not isinstance(enabled, dict):
            raise AlarmConfigError(f"{where}: enabled_when must be a table {{ value = ..., above = ... }}")
        unknown = set(enabled) - {"value", *CONDITION_KEYS}
        if unknown:
            raise AlarmConfigError(f"{where}: enabled_when: unknown key {sorted(unknown)[0]!r}")
        enabled_when = _condition(enabled, f"{where}: enabled_when")
    delay = _number(spec.get("delay_s", 0.0), f"{where}: delay_s")
    count = spec.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise AlarmConfigError(f"{where}: count must be a whole number >= 0, not {count!r}")
    texts = {}
    for key in ("title", "guidance", "panel"):
        value = spec.get(key, name if key == "title" else "")
        if not isinstance(value, str):
            raise AlarmConfigError(f"{where}: {key} must be a string, not {value!r}")
        texts[key] = value.strip()
    latch = spec.get("latch", True)
    if not isinstance(latch, bool):
        raise AlarmConfigError(f"{where}: latch must be true or false, not {latch!r}")
    try:
        return AlarmDefinition(
            name, texts["title"], Severity[severity], condition, delay, count, enabled_when,
            texts["guidance"], texts["panel"], latch,
        )  # fmt: skip
    except ValueError as exc:
        raise AlarmConfigError(f"{source}: {exc}") from None


def _condition(spec: Mapping[str, Any], where: str) -> Condition:
    value = spec.get("value")
    if not isinstance(value, str) or not value:
        raise AlarmConfigError(f'{where}: needs value = "NAME" (a channel or derived value)')
    kinds = [k for k in CONDITION_KEYS if k in spec]
    if len(kinds) != 1:
        raise AlarmConfigError(
            f"{where}: needs exactly one of {', '.join(CONDITION_KEYS)}, has {kinds or 'none'}"
        )
    kind = kinds[0]
    if kind == "disconnected":
        if spec[kind] is not True:
            raise AlarmConfigError(f"{where}: disconnected must be true")
        return Condition(value, kind)
    limit = _number(spec[kind], f"{where}: {kind}")
    if kind == "stale_s" and limit < 0:
        raise AlarmConfigError(f"{where}: stale_s must be >= 0")
    return Condition(value, kind, limit)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AlarmConfigError(f"{where} must be a finite number, not {value!r}")
    if where.endswith("delay_s") and value < 0:
        raise AlarmConfigError(f"{where} must be >= 0, not {value!r}")
    return float(value)
