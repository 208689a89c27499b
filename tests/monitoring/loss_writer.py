"""A shift with two sudden beam losses recorded into an archive until it is killed, for the restart tests.

Run as ``python tests/monitoring/loss_writer.py DB [START]`` (START: the shift's first second, a
Unix time; a fixed day in 2026 by default): on a simulated clock, the beam currents at 10 Hz
(turn by turn, every 10 µs, around each loss, as ``sim://`` delivers them) go into a
:class:`~monitoring.model.MonitorModel` judging the shipped ``sudden_beam_loss`` alarm, and are recorded
as the window's hub records them (values, beam losses, the alarm log). The LER loses its beam at
:data:`LOSSES` [0] and the HER follows; the shifter acknowledges that loss at :data:`ACK_AT`; the second
loss is left latched. ``t SECONDS`` is printed once each 1 s tick is committed, ``ready`` at the end,
and the writer waits to be killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitoring.alarms import ASSETS_ALARMS, AlarmModel, load_definitions  # noqa: E402
from monitoring.archive import Archive  # noqa: E402
from monitoring.model import MonitorModel  # noqa: E402
from monitoring.source import Update  # noqa: E402

START = 1_780_000_000.0
LOSSES: tuple[float, ...] = (START + 10.0, START + 25.0)  # the LER goes first, the HER 20 µs later
ACK_AT = START + 17.0
ACK = ("Aiko Tanaka", "LER injection kicker, e-log 4712")
END = START + 40.0
CHANNELS = ("HER:I", "LER:I", "RUNNING")
FULL = {"HER:I": 0.9, "LER:I": 1.2}  # A


def shift_to(start: float) -> None:
    """Move the writer's shift to begin at ``start`` (its losses, acknowledgement and end with it)."""
    global START, LOSSES, ACK_AT, END
    offset = start - START
    START, LOSSES, ACK_AT, END = start, tuple(t + offset for t in LOSSES), ACK_AT + offset, END + offset


def definitions() -> tuple:
    return tuple(d for d in load_definitions(ASSETS_ALARMS) if d.name == "sudden_beam_loss")


def current(name: str, t: np.ndarray) -> np.ndarray:
    """The ring's current [A]: full (a little ripple), lost at each loss, refilled 8 to 10 s later."""
    level = np.ones_like(t)
    for loss in LOSSES:
        at = loss + (20e-6 if name == "HER:I" else 0.0)
        lost = (t > at) & (t < loss + 10.0)
        level[lost] = np.clip(0.004 + (t[lost] - loss - 8.0) / 2.0, 0.004, 1.0)
    return FULL[name] * level * (1 + 1e-3 * np.sin(t))


def tick(t_end: float) -> list[Update]:
    """The second ending at ``t_end``: 10 Hz, and every 10 µs from 100 µs before to 200 µs after a loss."""
    times = t_end - 1.0 + 0.1 * np.arange(1, 11)
    for loss in LOSSES:
        if t_end - 1.0 < loss <= t_end:
            times = np.union1d(times, loss + 1e-5 * np.arange(-10, 21))
    updates = [
        Update(n, a, float(b))
        for n in ("HER:I", "LER:I")
        for a, b in zip(times, current(n, times), strict=True)
    ]
    if t_end - 1.0 <= START:
        updates.append(Update("RUNNING", START, 1.0))
    return sorted(updates, key=lambda u: u.timestamp)


def shift(model: MonitorModel, now: list[float], until: float, archive: Archive | None = None) -> None:
    """Feed the shift tick by tick up to ``until`` (the window's hub: ingest, check, record)."""
    t = START
    while t < until - 1e-9:
        t += 1.0
        now[0] = t
        updates = tick(t)
        model.ingest(updates)
        model.check()
        if t == ACK_AT:
            model.acknowledge(*ACK)
        if archive is not None:
            archive.record_updates(updates, lumi=model.lumi)
            archive.record_beam_losses(model.sbl.alarms)
            assert model.alarm_model is not None
            archive.sync(model.alarm_model)
            print(f"t {t - START:.0f}", flush=True)


def main(path: str) -> None:
    now = [START]
    alarms = AlarmModel(definitions(), clock=lambda: now[0])
    model = MonitorModel(CHANNELS, clock=lambda: now[0], alarms=alarms)
    archive = Archive(path, clock=lambda: now[0])
    shift(model, now, END, archive)
    print("ready", flush=True)
    time.sleep(600)  # killed here


if __name__ == "__main__":
    if len(sys.argv) > 2:
        shift_to(float(sys.argv[2]))
    main(sys.argv[1])
