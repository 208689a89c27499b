"""The SQLite archive: a writer killed by SIGKILL loses nothing committed and nothing is counted
twice after a restart; retention; bad files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from monitoring.alarms import AlarmDefinition, AlarmLogEntry, AlarmModel, Condition, Reading
from monitoring.archive import Archive, ArchiveError, open_archive
from monitoring.channels import Severity
from tests.monitoring.archive_writer import DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "tests" / "monitoring" / "archive_writer.py"


def run_writer(db: Path, mode: str, until: int) -> list[list[str]]:
    """Start the writer, read its lines until one reports ``until`` log entries, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), mode], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    lines: list[list[str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.split())
            if int(lines[-1][1]) >= until:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert lines, "the writer printed nothing"
    return lines


def test_a_killed_writer_loses_nothing_committed_and_a_restart_counts_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite"
    lines = run_writer(db, "churn", until=300)
    last_seq, values = int(lines[-1][1]), int(lines[-1][2])
    with Archive(db) as archive:
        entries = archive.log_entries()
        seqs = [e.seq for e in entries]
        assert seqs == list(range(1, len(seqs) + 1))  # every entry, each once, none missing
        assert len(seqs) >= last_seq  # what was reported committed is there (maybe a step more)
        t, _ = archive.values("LUM")
        assert len(t) + len(archive.values("L1:DEAD")[0]) >= values
        assert len(set(t.tolist())) == len(t)
    # a second life of the writer continues the numbering after the first one's last entry
    more = run_writer(db, "churn", until=len(seqs) + 50)
    assert int(more[0][1]) >= len(seqs)  # a step need not log anything
    assert int(more[-1][1]) >= len(seqs) + 50
    with Archive(db) as archive:
        seqs2 = [e.seq for e in archive.log_entries()]
    assert seqs2 == list(range(1, len(seqs2) + 1))
    assert seqs2[: len(seqs)] == seqs
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_restart_restores_acknowledgements_latches_and_shelves(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite"
    (line,) = run_writer(db, "state", until=1)
    seq = int(line[1])
    with Archive(db) as archive:
        model = AlarmModel(DEFINITIONS)
        assert archive.restore(model) == seq
        assert archive.restore(model) == 0  # twice: nothing taken twice
        assert model.seq == seq
        lum, dead, other = (model.alarms[n] for n in ("lum_low", "dead", "other"))
        assert dead.state == "CLEARED_UNACK"  # the latch survives the restart
        assert dead.needs_ack
        assert (lum.acknowledged_by, lum.ack_comment) == ("Ana", "tuning")
        assert other.shelved
        assert other.shelve_reason == "machine study"
        shelf = next(e for e in archive.log_entries() if e.action == "shelve")
        assert other.shelved_until == shelf.time + 600  # the end it had, not 600 s from now
        assert other.shelved_until > model.clock()
        told = model.update({"LUM": Reading(1e32), "L1:DEAD": Reading(0.0), "X": Reading(0)})
        assert told == []  # the same raise as before the restart: not annunciated again
        assert lum.state == "ACTIVE_ACK"
        assert model.seq == seq  # and not logged again
        assert model.rollup().marker == "■ MAJOR (1 unacknowledged, 1 shelved)"
        model.acknowledge("dead", "Ben")
        assert archive.sync(model) == 1
        assert [e.seq for e in archive.log_entries(seq)] == [seq + 1]


def test_a_restored_raise_whose_condition_is_gone_is_cleared_once(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite"
    run_writer(db, "state", until=1)
    with Archive(db) as archive:
        model = AlarmModel(DEFINITIONS)
        archive.restore(model)
        model.update({"LUM": Reading(5e34), "L1:DEAD": Reading(0.0), "X": Reading(0)})
        assert model.alarms["lum_low"].state == "OK"  # it was acknowledged: clearing ends it
        assert [e.action for e in model.log_since(archive.last_seq)] == ["clear"]


def entry(seq: int, t: float, alarm: str, action: str) -> AlarmLogEntry:
    return AlarmLogEntry(seq, t, alarm, action, 1, "", "")


def test_retention_deletes_old_rows_but_keeps_what_a_restart_needs(tmp_path: Path) -> None:
    day = 86400.0
    now = [100 * day]
    defs = [
        AlarmDefinition(name, name, Severity.MINOR, Condition(name, "above", 0), latch=latch)
        for name, latch in (("a", True), ("b", True), ("c", False), ("d", True))
    ]
    with Archive(tmp_path / "a.sqlite", retention_days=10, clock=lambda: now[0]) as archive:
        archive.write_log(
            [
                entry(1, 50 * day, "a", "raise"),
                entry(2, 50 * day, "a", "ack"),
                entry(3, 55 * day, "c", "raise"),  # not latched: over when it cleared, unacknowledged
                entry(4, 55 * day, "c", "clear"),
                entry(5, 60 * day, "b", "raise"),  # never acknowledged: latched to this day
                entry(6, 61 * day, "a", "raise"),
                entry(7, 61 * day, "a", "ack"),
                entry(8, 61 * day, "a", "clear"),
                entry(9, 95 * day, "d", "raise"),
            ]
        )
        archive.record_values(50 * day, {"LUM": 1.0})
        archive.record_values(95 * day, {"LUM": 2.0})
        model = AlarmModel(defs, clock=lambda: now[0])
        archive.restore(model)
        archive.prune()  # without the model: values only
        assert len(archive.log_entries()) == 9
        assert archive.values("LUM")[1].tolist() == [2.0]
        assert model.oldest_needed_seq() == 5
        archive.prune(model)
        assert [e.seq for e in archive.log_entries()] == [5, 6, 7, 8, 9]
        restarted = AlarmModel(defs, clock=lambda: now[0])
        archive.restore(restarted)
        assert [a.name for a in restarted.raised()] == ["d", "b"]  # b still latched, after 40 days


def test_a_file_that_is_not_an_archive_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ArchiveError, match=r"bad\.sqlite: not a usable archive"):
        Archive(bad)
    with pytest.raises(ArchiveError, match="not a usable archive"):
        Archive(tmp_path)  # a directory


# --- the shift across a kill -9: luminosity per run, day and total, and the alarm log -------------------
SHIFT = ROOT / "tests" / "monitoring" / "shift_writer.py"


def run_shift(db: Path, seconds: float, restart_dead_s: float | None = None, kill_at: float | None = None):
    """The shift writer in a subprocess: its result, or (SIGKILLed once it said ``t >= kill_at``) None
    and the last time it said it had committed."""
    command = [sys.executable, str(SHIFT), str(db), str(seconds)]
    if restart_dead_s is not None:
        command += ["--restart", str(restart_dead_s)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    said = -1.0
    try:
        for line in proc.stdout:
            word, rest = line.split(" ", 1)
            if word == "result":
                return json.loads(rest), said
            said = float(rest)
            if kill_at is not None and said >= kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.stdout.close()
        proc.wait(timeout=60)
    assert kill_at is not None, f"the shift writer ended without a result (exit {proc.returncode})"
    assert proc.returncode == -signal.SIGKILL
    return None, said


def test_a_shift_killed_mid_run_and_restarted_integrates_like_an_uninterrupted_one(tmp_path: Path) -> None:
    whole, _ = run_shift(tmp_path / "whole.sqlite", 240)
    db = tmp_path / "killed.sqlite"
    killed, said = run_shift(db, 240, kill_at=70)  # in the middle of run 2 (40 s .. 100 s)
    assert killed is None
    assert 70 <= said < 100
    with Archive(db) as archive:
        checkpoint = archive.lumi_checkpoint()
        assert checkpoint is not None
        state = checkpoint[1]
        assert state["running"]
        assert state["run"] == 2
    restarted, _ = run_shift(db, 240, restart_dead_s=3.0)  # the machine went on for 3 s unseen
    assert whole is not None
    assert restarted is not None
    # the restarted window replays 30 s of charts, yet run 1 (before 40 s) is all there, from the
    # checkpoint: nothing lost; and nothing counted twice (a second twice would be 1/240 too much)
    assert set(restarted["by_run"]) == set(whole["by_run"]) == {"1", "2", "3", "4"}
    assert restarted["by_run"]["1"] == pytest.approx(whole["by_run"]["1"], rel=1e-12)
    assert restarted["by_run"]["2"] == pytest.approx(whole["by_run"]["2"], rel=1e-3)  # across the kill
    for run in ("3", "4"):
        assert restarted["by_run"][run] == pytest.approx(whole["by_run"][run], rel=1e-12)
    assert restarted["by_day"].keys() == whole["by_day"].keys()  # the shift crossed midnight
    for day, value in whole["by_day"].items():
        assert restarted["by_day"][day] == pytest.approx(value, rel=1e-3)
    assert restarted["total"] == pytest.approx(whole["total"], rel=1e-3)
    assert restarted["gaps"] == whole["gaps"] == 0  # 3 s unseen is bridged, not a gap
    # the alarm log: the same raises, clears and acknowledgements, in the same order, each once
    assert [e[1:] for e in restarted["log"]] == [e[1:] for e in whole["log"]]
    assert [e[0] for e in restarted["log"]] == pytest.approx([e[0] for e in whole["log"]], abs=2.0)


# --- bad input: a damaged or locked archive is set aside and started afresh -----------------------------
def test_a_damaged_archive_is_reported_set_aside_and_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "shift.sqlite"
    damaged = b"SQLite format 3\x00" + bytes(range(256)) * 16  # a header, then garbage
    path.write_bytes(damaged)
    archive, problem = open_archive(path)
    with archive:
        assert problem.startswith(f"{path}: not a usable archive: ")
        assert "\n" not in problem
        (aside,) = tmp_path.glob("shift.sqlite.unusable-*")
        assert problem.endswith(f"set aside as {aside.name}, started afresh")
        assert aside.read_bytes() == damaged  # kept as it was, for whoever wants to look
        archive.record_values(time.time(), {"LUM": 2.0})
        assert archive.values("LUM")[1].tolist() == [2.0]
    again, problem = open_archive(path)  # the fresh archive is a good one
    with again:
        assert problem == ""
        assert again.values("LUM")[1].tolist() == [2.0]
    with pytest.raises(ArchiveError, match="not a usable archive"):
        open_archive(tmp_path)  # a directory is not set aside: one line


def test_a_locked_archive_is_reported_set_aside_and_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "shift.sqlite"
    with Archive(path) as first:
        first.record_values(1.0, {"LUM": 1.0})
    holder = sqlite3.connect(path, isolation_level=None)  # another program holding it exclusively
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        archive, problem = open_archive(path, busy_timeout_s=0.05)
        with archive:
            assert "database is locked" in problem
            assert "set aside as shift.sqlite.unusable-" in problem
            assert archive.values("LUM")[0].size == 0  # a fresh one
    finally:
        holder.close()


def test_a_schema_1_archive_is_migrated_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:  # the layout of the first release
        con.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema', '1');"
            "CREATE TABLE vals (name TEXT NOT NULL, time REAL NOT NULL, value REAL NOT NULL);"
        )
        now = time.time()
        con.executemany(
            "INSERT INTO vals VALUES (?, ?, ?)", [("LUM", now - 10 + k, 1e34 + k) for k in range(5)]
        )
    with Archive(path) as archive:
        _t, v = archive.values("LUM")
        assert v.tolist() == [1e34 + k for k in range(5)]
        archive.record_values(now, {"LUM": 2e34})
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
        assert con.execute("SELECT name FROM sqlite_master WHERE name = 'vals'").fetchone() is None


def test_a_restart_charts_the_shift_and_takes_the_integral_from_the_checkpoint(tmp_path: Path) -> None:
    from monitoring.archive import restore_history
    from monitoring.model import MonitorModel
    from monitoring.source import Update

    end = time.time()
    start = end - 3 * 3600  # a short shift: three hours, the last one replayed sample by sample
    channels = ("LUM", "L1:TOTAL", "RUN", "RUNNING")
    first = MonitorModel(channels)
    with Archive(tmp_path / "shift.sqlite") as archive:
        for t0 in np.arange(start, end, 60.0):  # 1 Hz, delivered a minute at a time
            ts = t0 + np.arange(60.0)
            updates = [Update("LUM", t, 4e34 + 1e30 * (t - start)) for t in ts]
            updates += [Update("L1:TOTAL", t, 2e4 + (t - start) % 97) for t in ts]
            if t0 == start:
                updates += [Update("RUN", start, 7.0), Update("RUNNING", start, 1.0)]
            first.ingest(updates)
            archive.record_updates(updates, lumi=first.lumi)
    restarted = MonitorModel(channels)
    with Archive(tmp_path / "shift.sqlite") as archive:
        restore_history(archive, restarted, end)
    assert restarted.lumi.total == pytest.approx(first.lumi.total, rel=1e-12)
    assert restarted.lumi.by_run == pytest.approx(first.lumi.by_run, rel=1e-12)
    assert restarted.lumi.run == 7
    assert restarted.lumi.running
    t, v = restarted.buffers["L1:TOTAL"].view()
    assert t[0] < start + 60
    assert t[-1] == pytest.approx(end - 1, abs=1.0)
    last_hour = t > end - 3600
    assert np.count_nonzero(last_hour) > 3500  # every archived second of the last hour
    assert np.count_nonzero(~last_hour) < 2 * 3600 / 10  # the hours before as 30 s means
    assert v.min() >= 2e4
    assert v.max() <= 2e4 + 97
    assert restarted.states["L1:TOTAL"].value == first.states["L1:TOTAL"].value
