"""The archive (``--alarm-archive``): what writing it costs, how big a shift makes it, and how long a
restart takes to read an 8-hour shift back. Prints JSON.

1. Write cost. The machine simulation at the design rate (``preset=design``: the L1 rate at the
   30 kHz DAQ limit), every channel sampled at 10 Hz, is generated first (not timed). Its samples
   are ingested by the monitoring model and handed to the archive as the window's hub does, one
   batch per 10 Hz sample (``Archive.record_updates`` with the model's luminosity integrator: the
   1 Hz samples, the 30 s coarse means, the integral's checkpoint, one transaction), and the alarm
   log is synced twice a second (``Archive.sync``). Measured: CPU seconds of the archive's calls
   per second of machine time, as a fraction of one core; the plain way, an INSERT and a COMMIT
   per update of the first release's table (a name per row, two indexes), on the first part.
2. Size: the archive file's growth (write-ahead log checkpointed) per second of machine time in
   part 1, extrapolated to an 8-hour shift, and the size of the 8-hour archive of part 3.
3. Restore: an archive holding an 8-hour shift (every channel at the archive's 1 Hz and its 30 s
   means, with a luminosity checkpoint) is opened as a restarted window does: a fresh connection,
   the alarm log restored, the strip charts and the integral back (``restore_history``: 8 h charted,
   the last hour sample by sample for what the model derives from). Against the plain way: every
   archived sample of the last hour through ``MonitorModel.ingest`` (the first release's replay).

``ratios`` (higher is better): the write cost against 5 % of one core and against the plain way,
the restore against 1 s and against the plain way. ``--quick`` (under 30 s): 60 s of machine time
for part 1, the same 8-hour archive for part 3.

Usage: python benchmarks/archive_rate.py [--quick] [--seconds 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from monitoring.alarms import AlarmModel, load_definitions
from monitoring.archive import Archive, restore_history
from monitoring.channels import CHANNELS
from monitoring.machine import MachineConfig
from monitoring.model import MonitorModel
from monitoring.sim import Simulation
from monitoring.source import Update

SHIFT_S = 8 * 3600.0
PLAIN_SCHEMA = """
CREATE TABLE vals (name TEXT NOT NULL, time REAL NOT NULL, value REAL NOT NULL);
CREATE INDEX vals_name_time ON vals (name, time);
CREATE INDEX vals_time ON vals (time);
"""


def file_bytes(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())


def checkpointed_size(archive: Archive) -> int:
    archive._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return file_bytes(archive.path)


def machine_batches(seconds: float, start: float) -> list[list[Update]]:
    """The design-rate simulation at 10 Hz, one list of updates per sample instant."""
    sim = Simulation(MachineConfig.design(sbl_per_hour=0.0), start, seed=3)
    batches: list[list[Update]] = []
    for k in range(int(seconds)):
        updates = sim.step(start + k + 1, 10)
        by_time: dict[float, list[Update]] = {}
        for u in updates:
            by_time.setdefault(round(u.timestamp, 6), []).append(u)
        batches += [by_time[t] for t in sorted(by_time)]
    return batches


def write_cost(folder: Path, seconds: float) -> dict:
    start = time.time() - seconds
    batches = machine_batches(seconds, start)
    alarms = AlarmModel(load_definitions())
    model = MonitorModel(CHANNELS, alarms=alarms)
    archive = Archive(folder / "write.sqlite")
    cpu = wall = 0.0
    warm_at, size_warm = len(batches) // 10, 0
    for k, batch in enumerate(batches):
        model.ingest(batch)
        if k % 5 == 0:
            model.check()  # the alarms judged, as the hub does once a second (here: twice)
        c0, w0 = time.thread_time(), time.perf_counter()
        archive.record_updates(batch, lumi=model.lumi)
        if k % 5 == 0:
            archive.sync(alarms)
        cpu += time.thread_time() - c0
        wall += time.perf_counter() - w0
        if k == warm_at:
            size_warm = checkpointed_size(archive)
    size_end = checkpointed_size(archive)
    rows = archive._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    coarse = archive._db.execute("SELECT COUNT(*) FROM coarse").fetchone()[0]
    archive.close()
    updates = sum(len(b) for b in batches)
    machine_s = seconds * (len(batches) - warm_at) / len(batches)
    bytes_per_s = (size_end - size_warm) / machine_s

    # the plain way on the first part: a row and a commit per update
    plain = sqlite3.connect(folder / "plain.sqlite", isolation_level=None)
    plain.execute("PRAGMA journal_mode=WAL")
    plain.execute("PRAGMA synchronous=NORMAL")
    plain.executescript(PLAIN_SCHEMA)
    part = batches[: max(10, len(batches) // 6)]
    c0 = time.thread_time()
    for batch in part:
        for u in batch:
            plain.execute("BEGIN IMMEDIATE")
            plain.execute("INSERT INTO vals VALUES (?, ?, ?)", (u.channel, u.timestamp, float(u.value)))
            plain.execute("COMMIT")
    plain_cpu_per_s = (time.thread_time() - c0) / (seconds * len(part) / len(batches))
    plain.close()
    return {
        "machine_seconds": seconds,
        "updates_per_s": round(updates / seconds),
        "l1_total_median_hz": round(float(np.nanmedian(model.buffers["L1:TOTAL"].view()[1]))),
        "archive_cpu_fraction_of_core": cpu / seconds,
        "archive_wall_fraction": round(wall / seconds, 5),
        "plain_cpu_fraction_of_core": round(plain_cpu_per_s, 5),
        "rows_per_s": round(rows / seconds, 1),
        "coarse_rows_per_s": round(coarse / seconds, 2),
        "bytes_per_machine_s": round(bytes_per_s),
        "shift_size_MB_extrapolated": round(bytes_per_s * SHIFT_S / 1e6, 1),
    }


def build_shift(path: Path, end: float) -> int:
    """An 8-hour archive as the window leaves it: every continuous channel at 1 Hz with its 30 s
    means (the design simulation's minute of samples, repeated every minute), the run in force, and
    the luminosity checkpoint of a model that integrated the shift. Written straight into the tables
    (``record_updates`` writes the same rows, a tick at a time: part 1 times that)."""
    start = end - SHIFT_S
    sim = Simulation(MachineConfig.design(sbl_per_hour=0.0), start, seed=4)
    minute: dict[str, list[float]] = {}
    for u in sim.step(start + 60.0, 60):
        if CHANNELS[u.channel].continuous:
            minute.setdefault(u.channel, []).append(float(u.value))
    t = start + 1.0 + np.arange(SHIFT_S)
    model = MonitorModel(["LUM", "RUN", "RUNNING"])
    with Archive(path) as archive:
        archive.record_updates(
            [Update("RUN", start, 1.0), Update("RUNNING", start, 1.0), Update("EXP", start, 35.0)]
        )
        with archive._transaction():
            for name, values in minute.items():
                v = np.resize(np.asarray(values[:60]), t.size)
                ch = archive._channel_id(name)
                archive._db.executemany(
                    "INSERT INTO samples VALUES (?, ?, ?)",
                    zip([ch] * t.size, t.tolist(), v.tolist(), strict=True),
                )
                tb, vb = t.reshape(-1, 30), v.reshape(-1, 30)
                archive._db.executemany(
                    "INSERT INTO coarse VALUES (?, ?, ?, ?, ?)",
                    zip([ch] * len(tb), tb.mean(1).tolist(), vb.mean(1).tolist(), vb.min(1).tolist(),
                        vb.max(1).tolist(), strict=True),
                )  # fmt: skip
        lum = np.resize(np.asarray(minute["LUM"][:60]), t.size)
        model.ingest([Update("RUN", start, 1.0), Update("RUNNING", start, 1.0)])
        model.ingest([Update("LUM", a, b) for a, b in zip(t.tolist(), lum.tolist(), strict=True)])
        archive._db.execute(
            "INSERT OR REPLACE INTO lumi_checkpoint VALUES (1, ?, ?)",
            (model.lumi.last_seen, json.dumps(model.lumi.state())),
        )
        return checkpointed_size(archive)


def restore_time(folder: Path) -> dict:
    path = folder / "shift.sqlite"
    end = time.time()
    size = build_shift(path, end)
    best = best_cpu = float("inf")
    restored = 0
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.thread_time()
        with Archive(path) as archive:
            alarms = AlarmModel(load_definitions())
            archive.restore(alarms)
            model = MonitorModel(CHANNELS, alarms=alarms)
            restored = restore_history(archive, model, end)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.thread_time() - c0)
    t0, c0 = time.perf_counter(), time.thread_time()
    with Archive(path) as archive:
        plain = MonitorModel(CHANNELS)
        history = archive.history(CHANNELS, end - 3600.0)
        for k in range(0, len(history), 20_000):
            plain.ingest(history[k : k + 20_000])
    plain_wall, plain_cpu = time.perf_counter() - t0, time.thread_time() - c0
    charted = model.buffers["L1:TOTAL"].view()[0]
    return {
        "shift_archive_MB": round(size / 1e6, 1),
        "restore_s": round(best, 3),
        "restore_cpu_s": round(best_cpu, 3),
        "restored_samples": restored,
        "charted_hours": round(float(charted[-1] - charted[0]) / 3600, 2),
        "integral_restored": model.lumi.total > 0,
        "plain_last_hour_replay_s": round(plain_wall, 3),
        "plain_last_hour_replay_cpu_s": round(plain_cpu, 3),
        "plain_replayed_samples": len(history),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s of machine time to write (< 30 s in all)")
    parser.add_argument("--seconds", type=float, default=300.0, help="machine seconds written in part 1")
    args = parser.parse_args()
    seconds = 60.0 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write = write_cost(folder, seconds)
        restore = restore_time(folder)
    fraction = write["archive_cpu_fraction_of_core"]
    out = {
        "write": write | {"archive_cpu_fraction_of_core": round(fraction, 5)},
        "restore": restore,
        "note": "2 shared CPU cores; SQLite WAL, synchronous=NORMAL; figures of one run",
        "ratios": {
            "archive_write_under_5pct_core": {
                "value": round(0.05 / fraction, 2),
                "goal": 1.0,
                "against": "5 % of one core, the archive's CPU with all PVs at 10 Hz and L1 at 30 kHz",
            },
            "archive_write_vs_commit_per_update": {
                "value": round(write["plain_cpu_fraction_of_core"] / fraction, 2),
                "goal": 1.0,
                "against": "an INSERT and a COMMIT per update into the first release's table",
            },
            "restore_8h_under_1s": {
                "value": round(1.0 / restore["restore_s"], 2),
                "goal": 1.0,
                "against": "1 s (wall) to restore an 8-hour shift (charts, integral, alarm log) at start",
            },
            "restore_8h_cpu_under_1s": {
                "value": round(1.0 / restore["restore_cpu_s"], 2),
                "goal": 1.0,
                "against": "1 s of CPU for the same (the wall time on a shared machine includes waiting)",
            },
            "restore_8h_vs_last_hour_replay": {
                "value": round(restore["plain_last_hour_replay_cpu_s"] / restore["restore_cpu_s"], 2),
                "goal": 1.0,
                "against": "CPU of the last hour's samples through MonitorModel.ingest (the first replay)",
            },
        },
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
