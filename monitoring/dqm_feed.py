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
``read_status_pvs`` reads them back over ``ca://`` or ``pva://`` (the shift report's DQM section).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from events.model import EventBatch
from monitoring.alarms import Reading
from monitoring.channels import Limits, Severity, severity_from_limits
from monitoring.histograms.compare import EPICS_STATUS, CheckConfig, Status
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


def read_status_pvs(url: str, timeout_s: float = 2.0) -> dict[str, Reading]:
    """The DQM statuses an IOC serves, read once over ``ca://`` or ``pva://`` (the URL's ``prefix``,
    default ``SIM:``): ``DQM:<histogram>`` -> its status number, the detail naming the PV and the
    p-value; the count of errors as ``DQM:ERRORS``. Empty when no status PV answers in ``timeout_s``
    (a source that serves no histograms)."""
    from monitoring.alarms import DQM_PREFIX
    from monitoring.source import parse_url

    scheme, _, options = parse_url(url)
    table = dqm_pv_table(options.get("prefix", "SIM:"))
    if scheme == "ca":
        values = _read_ca([pv.name for pv in table], timeout_s)
    elif scheme == "pva":
        values = _read_pva([pv.name for pv in table], timeout_s)
    else:
        return {}
    out: dict[str, Reading] = {}
    words = {epics: status.value.replace("_", " ") for status, epics in EPICS_STATUS.items()}
    for pv in table:
        if pv.kind != "STATUS" or pv.name not in values:
            continue
        number = int(values[pv.name])
        p_value = values.get(pv.name.replace(":STATUS", ":PVALUE"), math.nan)
        detail = words.get(number, "unknown")
        if math.isfinite(p_value):
            detail += f", p = {p_value:.3g}"
        out[DQM_PREFIX + pv.histogram] = Reading(float(number), detail=f"{detail}; from {pv.name}")
    if out:
        bad = [k.removeprefix(DQM_PREFIX) for k, r in out.items() if r.value == EPICS_STATUS[Status.ERROR]]
        out["DQM:ERRORS"] = Reading(float(len(bad)), detail=", ".join(bad))
    return out


def _read_ca(names: list[str], timeout_s: float) -> dict[str, float]:
    import os

    from caproto.threading.client import Context

    if not os.environ.get("EPICS_CA_ADDR_LIST", "").strip():
        os.environ["EPICS_CA_ADDR_LIST"] = "127.0.0.1"  # where ``main.py ioc`` serves by default
    context = Context()
    try:
        pvs = context.get_pvs(*names, timeout=timeout_s)
        end = time.monotonic() + timeout_s
        out = {}
        for pv in pvs:
            try:
                pv.wait_for_connection(timeout=max(0.01, end - time.monotonic()))
                out[pv.name] = float(pv.read(timeout=timeout_s).data[0])
            except Exception:  # not served (no DQM on this IOC) or gone: not a status
                continue
        return out
    finally:
        context.disconnect()


def _read_pva(names: list[str], timeout_s: float) -> dict[str, float]:
    from p4p.client.thread import Context

    with Context("pva") as context:
        got = context.get(names, timeout=timeout_s, throw=False)
    pairs = zip(names, got, strict=True)
    return {name: float(value) for name, value in pairs if not isinstance(value, Exception)}
