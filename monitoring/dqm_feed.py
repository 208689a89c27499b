"""The DQM histograms of ``main.py ioc`` and their status PVs.

The IOC generates collision events (``events.generator``) at ``rate_hz``, stamps them with the run of
the simulated run control (none between runs, numbered from 1 in each: ``live_events.stamp_runs``) and
fills the standard running histograms with them, as the GUI does from its event stream. Each
histogram's check is published as basf2's ``DQMHistComparitor`` publishes it, two PVs per histogram:

* ``<prefix>DQM:<name>:STATUS``: the status as basf2's ``EStatus`` number (0 too few entries, 1 no
  reference, 2 good, 3 warning, 4 error), with HIGH = 3 and HIHI = 4 so that a warning is MINOR and an
  error MAJOR under EPICS's limit rule; LOW and LOLO (-1) never fire;
* ``<prefix>DQM:<name>:PVALUE``: the p-value of the chi2 or KS test (NaN without one, INVALID), with
  LOW = the histogram's warning and LOLO = its error threshold, so a client sees the same grading.

The reference is the previous complete run (``RunningHistogram``), or a reference file's histogram
(``--dqm-reference``): a file that cannot be used is one line, and the previous run is used instead.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from events.model import EventBatch
from monitoring.channels import Limits, Severity, severity_from_limits
from monitoring.histograms.compare import CheckConfig
from monitoring.histograms.definitions import STANDARD, HistogramDefinition
from monitoring.histograms.reference import References
from monitoring.histograms.running import RunningHistogram
from monitoring.live_events import RunOf, stamp_runs

DQM_RATE_HZ = 200.0  # events/s the IOC generates for its histograms (0: no DQM PVs)
STATUS_LIMITS = Limits(lolo=-1.0, low=-1.0, high=3.0, hihi=4.0)  # warning MINOR, error MAJOR


def pvalue_limits(check: CheckConfig) -> Limits:
    """A p-value below the warning threshold is MINOR, below the error threshold MAJOR."""
    return Limits(lolo=check.error, low=check.warning, high=2.0, hihi=2.0)


@dataclass(frozen=True)
class DqmPV:
    """One DQM PV: its name, the histogram, ``kind`` "STATUS" or "PVALUE", its limits and description."""

    name: str
    histogram: str
    kind: str
    limits: Limits
    description: str

    def severity(self, value: float) -> Severity:
        return severity_from_limits(value, self.limits) if math.isfinite(value) else Severity.INVALID


def dqm_pv_table(prefix: str, definitions: Sequence[HistogramDefinition] = STANDARD) -> list[DqmPV]:
    """Every DQM PV the IOC serves, two per histogram."""
    table = []
    for d in definitions:
        base = f"{prefix}DQM:{d.name}:"
        status = f"DQM status of {d.name} (0 too few, 1 no reference, 2 good, 3 warning, 4 error)"
        p_value = f"{d.check.method} p-value of {d.name} against its reference"
        table.append(DqmPV(base + "STATUS", d.name, "STATUS", STATUS_LIMITS, status))
        table.append(DqmPV(base + "PVALUE", d.name, "PVALUE", pvalue_limits(d.check), p_value))
    return table


class RunTracker:
    """The run control as the IOC's PV updates tell it: (experiment, run) while RUNNING, else None."""

    def __init__(self) -> None:
        self.experiment = 0
        self.run = 0
        self.running = False

    def see(self, channel: str, value: float) -> None:
        if channel == "EXP":
            self.experiment = int(value)
        elif channel == "RUN":
            self.run = int(value)
        elif channel == "RUNNING":
            self.running = value > 0.5

    def __call__(self) -> tuple[int, int] | None:
        return (self.experiment, self.run) if self.running else None


class DqmFeed:
    """Generated events, stamped with the run, filling the standard histograms in a thread."""

    def __init__(
        self,
        run_of: RunOf,
        rate_hz: float = DQM_RATE_HZ,
        seed: int = 1,
        references: References | None = None,
        definitions: Sequence[HistogramDefinition] = STANDARD,
    ) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise ValueError(f"a DQM event rate of {rate_hz:g}/s: must be a number > 0")
        self.rate_hz = rate_hz
        self.histograms = {d.name: RunningHistogram(d) for d in definitions}
        if references is not None:
            for name, counts in references.counts.items():
                if name in self.histograms:
                    self.histograms[name].set_reference(counts, references.label)
        self._run_of = run_of
        self._seed = seed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="DQM histograms", daemon=True)

    def _batches(self) -> Iterator[EventBatch]:
        from events.generator import stream

        batch = max(1, min(200, int(self.rate_hz / 10)))
        return stamp_runs(iter(stream(self._seed, [], chunk_size=batch)), self._run_of, self._stop)

    def _fill(self) -> None:
        start, sent = time.monotonic(), 0
        for batch in self._batches():
            for h in self.histograms.values():
                h.fill(batch)
            sent += len(batch)
            delay = start + sent / self.rate_hz - time.monotonic()
            if delay < -1.0:  # behind (a slow machine): do not burst to catch up
                start -= delay
            elif delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return

    def start(self) -> DqmFeed:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def values(self, table: Sequence[DqmPV]) -> dict[str, float]:
        """PV name -> its value now (status number or p-value)."""
        snaps = {name: h.snapshot() for name, h in self.histograms.items()}
        out = {}
        for pv in table:
            check = snaps[pv.histogram].check
            out[pv.name] = float(check.status.epics) if pv.kind == "STATUS" else check.p_value
        return out
