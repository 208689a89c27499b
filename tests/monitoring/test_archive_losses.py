"""Beam losses survive a restart: a recording writer with two losses (one acknowledged, one latched) is
killed by SIGKILL, and a model started on its archive has both back in the beam-loss record and the
log, with their post-mortems and acknowledgements, each once, as an uninterrupted model has them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from monitoring.alarms import AlarmModel
from monitoring.archive import Archive, restore_history
from monitoring.model import MonitorModel
from tests.monitoring import loss_writer as writer

ROOT = Path(__file__).resolve().parents[2]


def killed_writer(db: Path, *start: str) -> list[str]:
    """The writer's lines until ``ready``; then SIGKILL."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "monitoring" / "loss_writer.py"), str(db), *start],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.strip() == "ready":
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert lines[-1] == "ready", lines[-3:]
    return lines


def restarted(db: Path, now: float) -> tuple[MonitorModel, Archive]:
    """A model started on the archive as a restarted window's hub starts one (``ca://``)."""
    clock = [now]
    alarms = AlarmModel(writer.definitions(), clock=lambda: clock[0])
    archive = Archive(db, clock=lambda: clock[0])
    archive.restore(alarms)
    model = MonitorModel(writer.CHANNELS, clock=lambda: clock[0], alarms=alarms, live_from=now)
    restore_history(archive, model, now, history_s=30.0)  # the second loss lies in the replayed part
    model.check()
    return model, archive


def key(model: MonitorModel) -> list[tuple[float, str, list[str], float, bool]]:
    return [(a.time, a.ring, sorted(a.rings), round(a.fraction, 9), a.acknowledged) for a in model.alarms]


def test_beam_losses_come_back_after_a_kill_as_they_were(tmp_path: Path) -> None:
    began = time.time()
    db = tmp_path / "shift.sqlite"
    killed_writer(db)
    now = [writer.START]
    whole = MonitorModel(writer.CHANNELS, clock=lambda: now[0], alarms=AlarmModel(writer.definitions()))
    writer.shift(whole, now, writer.END)  # the same shift, never interrupted
    assert [a.ring for a in whole.alarms] == ["LER", "LER"]
    assert [a.acknowledged for a in whole.alarms] == [True, False]

    model, archive = restarted(db, writer.END + 5.0)
    try:
        assert key(model) == key(whole)  # each loss once: the replayed one joined its record
        for got, want in zip(model.alarms, whole.alarms, strict=True):
            assert set(got.postmortem) == set(want.postmortem) == {"HER:I", "LER:I"}
            for name, (t, v) in want.postmortem.items():  # turn by turn, as recorded, not the 1 Hz archive
                assert np.array_equal(got.postmortem[name][0], t)
                assert np.array_equal(got.postmortem[name][1], v)
                assert np.diff(t).min() < 1e-4
        first, second = model.alarms
        assert first.acknowledged_at is not None
        assert began <= first.acknowledged_at <= time.time()
        assert second.acknowledged_at is None
        assert model.sbl.latched
        lines = [e.text for e in model.log.beam_losses]
        assert len(lines) == 2, lines  # no "replayed history" line beside the restored ones
        assert lines[0].endswith("(from the archive, acknowledged)")
        assert lines[1].endswith("(from the archive, latched)")
        assert "sudden beam loss in LER" in lines[0]
        # the alarm model agrees: its restored raise goes on, not raised and logged anew
        assert model.alarm_model is not None
        alarm = model.alarm_model.alarms["sudden_beam_loss"]
        assert alarm.raised
        assert not alarm.acknowledged
        raises = [e for e in model.alarm_model.log_since(0) if e.action == "raise"]
        assert len(raises) == 2  # one per loss, both from before the kill
        ack = next(e for e in model.alarm_model.log_since(0) if e.action == "ack")
        assert (ack.who, ack.text) == writer.ACK

        # acknowledged after the restart: archived again, and a second restart has it so
        model.acknowledge("Ben Okafor", "second loss: abort by the diamond monitors")
        assert archive.record_beam_losses(model.sbl.alarms) == 1
        assert archive.record_beam_losses(model.sbl.alarms) == 0  # nothing new
    finally:
        archive.close()
    again, archive = restarted(db, writer.END + 60.0)
    try:
        assert [a.acknowledged for a in again.alarms] == [True, True]
        assert not again.sbl.latched
        assert len(again.log.beam_losses) == 2
    finally:
        archive.close()


def test_an_unreadable_loss_record_is_skipped(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "shift.sqlite"
    with Archive(db):
        pass
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO beam_losses VALUES (1.0, 'not json', x'00')")
        con.execute("INSERT INTO beam_losses VALUES (2.0, '{\"ring\": \"LER\"}', x'')")
    with Archive(db) as archive:
        assert archive.beam_losses() == []
