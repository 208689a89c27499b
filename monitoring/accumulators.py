"""Accumulators with bounded memory: strip buffers, rate meters, luminosity integration, SBL alarms.

All of them take samples in time order and never grow without bound, so a whole shift (and more)
fits in a fixed amount of memory decided at construction.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class StripBuffer:
    """Recent samples at full resolution, older ones decimated into fixed-width time bins.

    The raw ring keeps the last ``raw_capacity`` samples. A sample pushed out of it joins its
    time bin (``bin_width`` seconds: mean, min, max, and whether a gap marker (NaN) fell in
    it); the bin ring keeps the last ``bin_capacity`` bins. Defaults: 7200 raw samples (two hours
    at 1 Hz) and 8640 bins of 5 s (twelve hours), about 0.4 MB per channel.
    """

    def __init__(self, raw_capacity: int = 7200, bin_width: float = 5.0, bin_capacity: int = 8640) -> None:
        self.raw_capacity = raw_capacity
        self.bin_width = bin_width
        self.bin_capacity = bin_capacity
        # filled now, so the memory is committed up front and stays flat over a shift
        self._t = np.full(raw_capacity, np.nan)
        self._v = np.full(raw_capacity, np.nan)
        self._size = 0
        self._head = 0  # index of the next write
        self._bins = np.full((bin_capacity, 5), np.nan)  # t_mean, v_mean, v_min, v_max, gap
        self._nbins = 0
        self._bin_head = 0
        self._open: list[float] | None = None  # bin id, n, sum t, sum v (finite), n finite, min, max, gap

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._t.nbytes + self._v.nbytes + self._bins.nbytes

    @property
    def last_time(self) -> float:
        return float(self._t[(self._head - 1) % self.raw_capacity]) if self._size else -math.inf

    def append(self, t: float, v: float) -> None:
        self.extend(np.array([t]), np.array([v]))

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        """Append samples (times increasing); the oldest raw samples move into the bins."""
        t = np.asarray(t, dtype=float)
        v = np.asarray(v, dtype=float)
        cap = self.raw_capacity
        overflow = self._size + len(t) - cap
        if overflow > 0:
            old_t, old_v = self._raw()
            all_t = np.concatenate([old_t, t])
            all_v = np.concatenate([old_v, v])
            self._fold(all_t[:overflow], all_v[:overflow])
            keep_t, keep_v = all_t[overflow:], all_v[overflow:]
            self._t[: len(keep_t)] = keep_t
            self._v[: len(keep_v)] = keep_v
            self._size = len(keep_t)
            self._head = self._size % cap
            return
        idx = (self._head + np.arange(len(t))) % cap
        self._t[idx] = t
        self._v[idx] = v
        self._size += len(t)
        self._head = (self._head + len(t)) % cap

    def _raw(self) -> tuple[np.ndarray, np.ndarray]:
        idx = (self._head - self._size + np.arange(self._size)) % self.raw_capacity
        return self._t[idx], self._v[idx]

    def _fold(self, t: np.ndarray, v: np.ndarray) -> None:
        """Accumulate evicted samples into time bins; closed bins go into the bin ring."""
        ids = np.floor(t / self.bin_width)
        bounds = np.flatnonzero(np.diff(ids)) + 1
        for seg_t, seg_v, seg_id in zip(
            np.split(t, bounds), np.split(v, bounds), ids[np.r_[0, bounds]], strict=True
        ):
            finite = np.isfinite(seg_v)
            fv = seg_v[finite]
            part = [
                float(seg_id), len(seg_t), float(seg_t.sum()), float(fv.sum()), float(len(fv)),
                float(fv.min()) if len(fv) else math.inf, float(fv.max()) if len(fv) else -math.inf,
                float(not finite.all()),
            ]  # fmt: skip
            if self._open is not None and self._open[0] == part[0]:
                o = self._open
                self._open = [o[0], o[1] + part[1], o[2] + part[2], o[3] + part[3], o[4] + part[4],
                              min(o[5], part[5]), max(o[6], part[6]), max(o[7], part[7])]  # fmt: skip
            else:
                self._close_bin()
                self._open = part

    @staticmethod
    def _summary(o: list[float]) -> tuple[float, float, float, float, float]:
        _, n, st, sv, nf, vmin, vmax, gap = o
        if not nf:
            return st / n, math.nan, math.nan, math.nan, gap
        return st / n, sv / nf, vmin, vmax, gap

    def _close_bin(self) -> None:
        if self._open is None:
            return
        self._bins[self._bin_head] = self._summary(self._open)
        self._bin_head = (self._bin_head + 1) % self.bin_capacity
        self._nbins = min(self._nbins + 1, self.bin_capacity)
        self._open = None

    def binned(self) -> np.ndarray:
        """(n, 5) bins, oldest first (the open one last): t_mean, v_mean, v_min, v_max, gap flag."""
        idx = (self._bin_head - self._nbins + np.arange(self._nbins)) % self.bin_capacity
        if self._open is None:
            return self._bins[idx]
        return np.vstack([self._bins[idx], self._summary(self._open)])

    def view(self, t_min: float = -math.inf) -> tuple[np.ndarray, np.ndarray]:
        """(t, v) from ``t_min`` on: bin means for the old part, raw samples for the recent part.

        A bin that held a gap marker is followed by a NaN, so plots break there as well.
        """
        raw_t, raw_v = self._raw()
        bins = self.binned()
        if len(raw_t):
            bins = bins[bins[:, 0] < raw_t[0]]
        bins = bins[bins[:, 0] >= t_min]
        gap = bins[:, 4] > 0
        repeat = 1 + gap.astype(int)
        bt = np.repeat(bins[:, 0], repeat)
        bv = np.repeat(bins[:, 1], repeat)
        bv[(np.cumsum(repeat) - 1)[gap]] = np.nan
        sel = raw_t >= t_min
        return np.concatenate([bt, raw_t[sel]]), np.concatenate([bv, raw_v[sel]])


class RateMeter:
    """Counts per second over a sliding window, in fixed buckets (bounded memory)."""

    def __init__(self, window: float = 10.0, buckets: int = 20) -> None:
        self.window = window
        self.width = window / buckets
        self._counts = np.zeros(buckets)
        self._ids = np.full(buckets, -1, dtype=np.int64)

    def add(self, t: float, n: float = 1.0) -> None:
        bucket = math.floor(t / self.width)
        k = bucket % len(self._counts)
        if self._ids[k] != bucket:
            self._ids[k] = bucket
            self._counts[k] = 0.0
        self._counts[k] += n

    def rate(self, t: float) -> float:
        bucket = math.floor(t / self.width)
        live = (self._ids > bucket - len(self._counts)) & (self._ids <= bucket)
        return float(self._counts[live].sum() / self.window)


@dataclass
class Gap:
    """An interval without valid luminosity data: not integrated, shown to the shifter."""

    start: float  # last good sample before it
    end: float | None  # first good sample after it; None while open
    reason: str
    luminosity_before: float = math.nan
    luminosity_after: float = math.nan

    @property
    def duration(self) -> float:
        return (self.end if self.end is not None else math.nan) - self.start

    @property
    def estimate(self) -> float:
        """Luminosity probably missed [cm^-2], trapezoid over the gap; never added to the totals."""
        if self.end is None:
            return math.nan
        return 0.5 * (self.luminosity_before + self.luminosity_after) * self.duration


def day_of(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t))


class LumiIntegrator:
    """Integrated luminosity per run, per day and in total, by the trapezoid rule.

    Only intervals with a valid sample at both ends and no longer than ``max_step`` seconds are
    integrated; anything else (a disconnection, invalid data, a silence) becomes a :class:`Gap`.
    Samples at or before the last one are ignored, so a source that repeats its last value after
    reconnecting is never counted twice. Runs are credited while data taking is on.
    """

    def __init__(self, max_step: float = 120.0, keep: int = 1000) -> None:
        self.max_step = max_step
        self.total = 0.0
        self.by_run: OrderedDict[int, float] = OrderedDict()
        self.by_day: OrderedDict[str, float] = OrderedDict()
        self.gaps: deque[Gap] = deque(maxlen=keep)
        self.keep = keep
        self.run = 0
        self.running = False
        self._last: tuple[float, float] | None = None
        self._last_seen = -math.inf  # latest sample time ever, across gaps

    def set_run(self, run: int, running: bool) -> None:
        if running and run not in self.by_run:
            self.by_run[run] = 0.0
            while len(self.by_run) > self.keep:
                self.by_run.popitem(last=False)
        self.run, self.running = run, running

    @property
    def this_run(self) -> float:
        return self.by_run.get(self.run, 0.0)

    def today(self, t: float) -> float:
        return self.by_day.get(day_of(t), 0.0)

    @property
    def open_gap(self) -> Gap | None:
        return self.gaps[-1] if self.gaps and self.gaps[-1].end is None else None

    def add(self, t: float, lum: float) -> None:
        if t <= self._last_seen:
            return  # repeated or out of order: never integrate twice
        self._last_seen = t
        gap = self.open_gap
        if gap is not None:
            gap.end, gap.luminosity_after = t, lum
            self._last = (t, lum)
            return
        if self._last is None:
            self._last = (t, lum)
            return
        t0, l0 = self._last
        self._last = (t, lum)
        if t - t0 > self.max_step:
            self.gaps.append(Gap(t0, t, f"no data for {t - t0:.0f} s", l0, lum))
            return
        area = 0.5 * (l0 + lum) * (t - t0)
        self.total += area
        day = day_of(0.5 * (t0 + t))
        self.by_day[day] = self.by_day.get(day, 0.0) + area
        while len(self.by_day) > self.keep:
            self.by_day.popitem(last=False)
        if self.running and self.run in self.by_run:
            self.by_run[self.run] += area

    def interrupt(self, t: float, reason: str) -> None:
        """The data stopped being valid (disconnection, garbage): open a gap from the last sample."""
        if self.open_gap is not None:
            return
        start, before = self._last if self._last is not None else (t, math.nan)
        self.gaps.append(Gap(start, None, reason, before))
        self._last = None

    @property
    def missed_estimate(self) -> float:
        return float(sum(g.estimate for g in self.gaps if g.end is not None and math.isfinite(g.estimate)))

    @property
    def last_seen(self) -> float:
        """The newest luminosity sample time taken (integrated or not)."""
        return self._last_seen

    def state(self) -> dict[str, Any]:
        """Everything integrated so far, as plain JSON-able values (the archive's checkpoint)."""
        return {
            "total": self.total,
            "by_run": [[run, v] for run, v in self.by_run.items()],
            "by_day": [[day, v] for day, v in self.by_day.items()],
            "gaps": [[g.start, g.end, g.reason, g.luminosity_before, g.luminosity_after] for g in self.gaps],
            "run": self.run,
            "running": self.running,
            "last": list(self._last) if self._last is not None else None,
            "last_seen": self._last_seen if math.isfinite(self._last_seen) else None,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Go on from a :meth:`state`: samples up to its ``last_seen`` are not integrated again."""
        self.total = float(state["total"])
        self.by_run = OrderedDict((int(run), float(v)) for run, v in state["by_run"])
        self.by_day = OrderedDict((str(day), float(v)) for day, v in state["by_day"])
        self.gaps = deque(
            (Gap(float(a), None if b is None else float(b), str(r), _num(lb), _num(la))
             for a, b, r, lb, la in state["gaps"]),
            maxlen=self.keep,
        )  # fmt: skip
        self.run, self.running = int(state["run"]), bool(state["running"])
        last = state["last"]
        self._last = (float(last[0]), float(last[1])) if last is not None else None
        seen = state["last_seen"]
        self._last_seen = float(seen) if seen is not None else -math.inf


def _num(value: Any) -> float:
    """JSON's null (a NaN written by ``json.dumps(allow_nan=False)``'s caller) back to NaN."""
    return math.nan if value is None else float(value)


@dataclass
class SBLAlarm:
    """One sudden beam loss, latched until a shifter acknowledges it."""

    time: float  # last sample at full current before the loss
    ring: str  # the ring that lost its beam first
    fraction: float  # of that ring's current, within the detection window
    duration: float  # from the last full sample to the lowest one
    current_before: float
    rings: list[str] = field(default_factory=list)
    acknowledged: bool = False
    acknowledged_at: float | None = None
    postmortem: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # (last sample before, first sample after) when the loss happened unseen, across a gap
    gap: tuple[float, float] | None = None
    gap_reason: str = ""  # why there was no data then (a disconnection, a clock jump, silence)

    @property
    def postmortem_complete(self) -> bool:
        return bool(self.postmortem)


class SBLDetector:
    """Sudden beam loss: a ring lost at least ``threshold`` of its current within ``window`` seconds.

    No published threshold exists (docs/monitoring.md §2.3), so both are configurable; the defaults flag
    any loss of 30 % within 2 s from at least 50 mA. A loss in the other ring within the window
    (the abort dumps both) joins the same alarm. Alarms latch until :meth:`acknowledge`.

    A loss is never missed for want of samples around it: the first sample after a gap (a
    disconnection, invalid data, a clock jump, or just no update for longer than the window) is
    compared with the last one before it, and a current that came back lower by more than the
    threshold is a loss *during the gap*, latched like any other (``across_gaps=False`` gives
    the window-only detection, for comparison). The record keeps ``keep`` alarms and only ever
    drops acknowledged ones to stay within it.
    """

    def __init__(
        self,
        window: float = 2.0,
        threshold: float = 0.3,
        min_current: float = 0.05,
        pre: float = 5.0,
        post: float = 5.0,
        keep: int = 1000,
        across_gaps: bool = True,
    ) -> None:
        self.window, self.threshold, self.min_current = window, threshold, min_current
        self.pre, self.post = pre, post
        self.keep = keep
        self.across_gaps = across_gaps
        self.alarms: list[SBLAlarm] = []
        self._recent: dict[str, deque[tuple[float, float]]] = {}
        self._last: dict[str, tuple[float, float]] = {}  # newest sample of each ring, across gaps
        self._active: dict[str, SBLAlarm] = {}
        self._active_min: dict[str, float] = {}
        self._active_since: dict[str, float] = {}
        self._restored: list[SBLAlarm] = []  # losses recorded before a restart (the archive's)

    @property
    def latched(self) -> bool:
        return any(not a.acknowledged for a in self.alarms)

    @property
    def pending_postmortems(self) -> list[SBLAlarm]:
        return [a for a in self.alarms if not a.postmortem]

    def acknowledge(self, when: float | None = None) -> int:
        """Acknowledge every latched alarm; returns how many were acknowledged."""
        n = 0
        for alarm in self.alarms:
            if not alarm.acknowledged:
                alarm.acknowledged, alarm.acknowledged_at = True, when if when is not None else time.time()
                n += 1
        self._trim()
        return n

    def _record(self, alarm: SBLAlarm) -> None:
        self.alarms.append(alarm)
        self._trim()

    def restore(self, alarms: Iterable[SBLAlarm]) -> list[SBLAlarm]:
        """Losses recorded before a restart (an archive's), kept as they were: latched or acknowledged,
        with their post-mortems. The same loss seen again in replayed history joins its restored
        record instead of being recorded twice. Returns the ones that were not known yet."""
        known = {a.time for a in self.alarms}
        new = [a for a in alarms if a.time not in known]
        if new:
            self.alarms = sorted([*self.alarms, *new], key=lambda a: a.time)
            self._restored = sorted([*self._restored, *new], key=lambda a: a.time)[-self.keep :]
            self._trim()
        return new

    def _restored_twin(self, alarm: SBLAlarm) -> bool:
        """Whether ``alarm`` is a restored loss seen again (its start within the window of the
        restored one's, or the restored one inside the data gap it was seen across)."""
        t0, t1 = alarm.gap if alarm.gap is not None else (alarm.time, alarm.time)
        return any(t0 - self.window <= r.time <= t1 + self.window for r in self._restored)

    def _trim(self) -> None:
        """Keep at most ``keep`` alarms by dropping the oldest acknowledged ones, never a latched one."""
        excess = len(self.alarms) - self.keep
        if excess <= 0:
            return
        drop: set[int] = set()
        for k, alarm in enumerate(self.alarms):
            if len(drop) == excess:
                break
            if alarm.acknowledged and alarm.postmortem and alarm not in self._active.values():
                drop.add(k)
        if drop:
            self.alarms = [a for k, a in enumerate(self.alarms) if k not in drop]

    def add(self, ring: str, t: float, current: float, gap_reason: str = "") -> SBLAlarm | None:
        """Feed one current sample [A] (times increasing); returns a new alarm when a loss starts.

        ``gap_reason`` says that this sample is the first after a gap in the data (why there
        was none); without it a silence longer than the window counts as a gap as well."""
        recent = self._recent.setdefault(ring, deque(maxlen=4096))
        while recent and recent[0][0] < t - self.window:
            recent.popleft()
        last = self._last.get(ring)
        self._last[ring] = (t, current)
        active = self._active.get(ring)
        if active is not None:
            if t - self._active_since[ring] > self.window or current > self._active_min[ring]:
                del self._active[ring]
            else:
                if current < self._active_min[ring]:
                    self._active_min[ring] = current
                    if active.ring == ring:
                        active.fraction = 1.0 - current / active.current_before
                        active.duration = t - active.time
                recent.append((t, current))
                return None
        new = None
        across = self.across_gaps and last is not None and (bool(gap_reason) or not recent)
        if recent or across:
            values = np.fromiter((v for _, v in recent), float, len(recent))
            times = [s[0] for s in recent]
            if across:
                assert last is not None
                if not recent or recent[-1][0] != last[0]:
                    values = np.append(values, last[1])
                    times.append(last[0])
            k = int(np.argmax(values))
            reference = values[k]
            if reference >= self.min_current and current <= reference * (1.0 - self.threshold):
                # the loss began after the last sample still within 2 % of the reference
                full = np.flatnonzero(values >= 0.98 * reference)
                start = times[int(full[-1])]
                gap = None
                if across and start == times[-1]:  # nothing seen between full current and now
                    gap = (start, t)
                    gap_reason = gap_reason or f"no update for {t - start:.3g} s"
                joined = next((a for a in self._active.values() if abs(a.time - start) <= self.window), None)
                again = None  # a loss seen again after its current wobbled up, or the other ring's of it
                if joined is None:
                    restored = {id(r) for r in self._restored}
                    recorded = (a for a in reversed(self.alarms[-4:]) if id(a) not in restored)
                    again = next((a for a in recorded if abs(a.time - start) <= self.window), None)
                if again is not None:
                    joined = again
                elif joined is None:
                    joined = SBLAlarm(start, ring, 1.0 - current / reference, t - start, reference, [ring])
                    if gap is not None:
                        joined.gap, joined.gap_reason = gap, gap_reason
                    if not self._restored_twin(joined):  # a restored loss replayed: its record stands
                        self._record(joined)
                        new = joined
                elif start < joined.time and gap is None:  # this ring went first: it names the alarm
                    joined.time, joined.ring = start, ring
                    joined.fraction, joined.duration = 1.0 - current / reference, t - start
                    joined.current_before = reference
                if ring not in joined.rings:
                    joined.rings.append(ring)
                self._active[ring] = joined
                self._active_min[ring] = current
                self._active_since[ring] = t if gap is not None else start
        recent.append((t, current))
        return new
