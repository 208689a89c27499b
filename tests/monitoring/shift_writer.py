"""A shift recorded into an archive, on the simulated machine's own clock, for the restart tests.

Run as ``python tests/monitoring/shift_writer.py DB SECONDS [--restart DEAD_S]``: the machine
model (seeded, runs of 60 s, a local midnight at 150 s) is fed tick by tick (1 s of 10 Hz samples
of the beams, the luminosity and run control, as ``sim://`` makes them) into a
:class:`~monitoring.model.MonitorModel` with alarms, recorded into the archive
``DB`` exactly as the window's hub does, and ``t SECONDS`` is printed once each tick is committed.
With ``--restart``, the archive is that of a writer killed earlier: its history is restored as
a restarted window does (:func:`~monitoring.archive.restore_history`, the last 30 s as "the last
hour"), and the machine, which went on meanwhile, is seen again ``DEAD_S`` after the newest archived
time. At ``SECONDS`` it prints ``result {JSON}``: the luminosity per run, day and total, and the
alarm log.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitoring.alarms import AlarmDefinition, AlarmModel, Condition  # noqa: E402
from monitoring.archive import Archive, restore_history  # noqa: E402
from monitoring.channels import Severity  # noqa: E402
from monitoring.machine import Machine, MachineConfig  # noqa: E402
from monitoring.model import MonitorModel  # noqa: E402
from monitoring.source import Update  # noqa: E402

TICK_S, SAMPLES = 1.0, 10  # 10 Hz samples, delivered once a second
WATCHED = ("LUM", "HER:I", "LER:I", "EXP", "RUN", "RUNNING", "FILL")  # the channels the test needs
HISTORY_S = 30.0  # "the last hour" of this short shift: the integral before it is the checkpoint's
START = time.mktime((2026, 6, 1, 0, 0, 0, 0, 0, -1)) - 150.0  # local midnight 150 s in
DEFINITIONS = (
    AlarmDefinition("between_runs", "Between runs", Severity.MINOR, Condition("RUNNING", "below", 0.5)),
    AlarmDefinition(
        "no_run", "No run", Severity.MINOR, Condition("RUNNING", "below", 0.5), delay_s=3, latch=False
    ),
)
CONFIG = MachineConfig(
    run_length_s=60.0,
    run_gap_s=10.0,
    run_elapsed_s=30.0,
    run_start_delay_s=5.0,
    sbl_per_hour=0.0,
    bursts_per_hour=0.0,
)


def sample(machine: Machine, noise: np.random.Generator, t_end: float) -> list[Update]:
    """The last tick's samples, as ``sim://`` makes them (1 % noise on the luminosity)."""
    times = t_end - TICK_S + TICK_S / SAMPLES * np.arange(1, SAMPLES + 1)
    machine.advance(t_end)
    currents = machine.currents(times)
    lum = machine.luminosity(times, currents) * (1 + 0.01 * noise.standard_normal(SAMPLES))
    run, running = machine.run_state(times)
    series = {"HER:I": currents["HER"], "LER:I": currents["LER"], "LUM": lum, "RUN": run, "RUNNING": running}
    series["EXP"] = np.full(SAMPLES, CONFIG.experiment)
    series["FILL"] = machine.fill_number(times)
    return sorted(
        (
            Update(name, a, float(b))
            for name, v in series.items()
            for a, b in zip(times.tolist(), v, strict=True)
        ),
        key=lambda u: u.timestamp,
    )


def main(path: str, seconds: float, dead_s: float | None) -> None:
    now = [START]
    alarms = AlarmModel(DEFINITIONS, clock=lambda: now[0])
    model = MonitorModel(WATCHED, clock=lambda: now[0], alarms=alarms)
    archive = Archive(path, clock=lambda: now[0])
    seen_from = START
    if dead_s is not None:  # a restarted window: the archive is its history
        seen_from = archive.newest_time() + dead_s
        now[0] = seen_from
        archive.restore(alarms)
        model.live_from = seen_from
        restore_history(archive, model, seen_from, HISTORY_S)
    machine = Machine(CONFIG, START, seed=5)
    noise = np.random.default_rng(11)
    t = START
    while t < START + seconds - 1e-9:
        t += TICK_S
        updates = sample(machine, noise, t)  # the machine goes on whether anybody looks or not
        if t <= seen_from:
            continue
        now[0] = t
        updates = [u for u in updates if u.timestamp > seen_from]
        model.ingest(updates)
        model.check()  # the alarms, judged on the simulated clock
        if round(t - START) % 20 == 0 and alarms.raised():
            alarms.acknowledge_all("writer", f"at {t - START:.0f} s")
        archive.record_updates(updates, lumi=model.lumi)
        archive.sync(alarms)
        print(f"t {t - START:.1f}", flush=True)
    lumi = model.lumi
    result = {
        "total": lumi.total,
        "by_run": {str(run): v for run, v in lumi.by_run.items()},
        "by_day": dict(lumi.by_day),
        "gaps": len(lumi.gaps),
        "log": [[e.time - START, e.alarm, e.action, e.who] for e in archive.log_entries()],
    }
    print("result " + json.dumps(result), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], float(args[1]), float(args[3]) if args[2:3] == ["--restart"] else None)
