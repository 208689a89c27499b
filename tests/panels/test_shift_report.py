"""main.py shift-report: one self-contained HTML file with every section, from a live source and
from a window's archive; bad arguments are one line."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from monitoring.alarms import AlarmLogEntry
from monitoring.archive import Archive
from monitoring.channels import Severity
from monitoring.source import Update

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("Luminosity", "Beam currents", "Sudden beam losses", "L1 trigger", "Alarms", "DQM")


def shift_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", "shift-report", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def pictures(text: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_a_report_of_the_simulated_hour_has_every_section_and_its_plots(
    tmp_path: Path, screenshot_dir: Path
) -> None:
    out = tmp_path / "shift.html"
    done = shift_report("--machine", "sim://?sbl_rate=20", "--seconds", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert all(f"<h2>{s}</h2>" in text for s in SECTIONS)
    assert 'src="http' not in text  # self-contained: nothing fetched
    assert "<script" not in text
    pngs = pictures(text)
    losses = text.count('alt="post-mortem"')
    assert losses >= 1  # an hour at 20 losses an hour: post-mortems, one plot each
    assert len(pngs) == 3 + losses  # luminosity, currents, L1, and the post-mortems
    from PySide6.QtGui import QImage

    for k, png in enumerate(pngs):
        path = screenshot_dir / f"shift-report-{k}.png"
        path.write_bytes(png)
        picture = QImage.fromData(png).convertToFormat(QImage.Format.Format_RGB888)
        rows = np.frombuffer(picture.constBits(), np.uint8).reshape(picture.height(), picture.bytesPerLine())
        image = rows[:, : 3 * picture.width()].reshape(picture.height(), picture.width(), 3)
        assert image.shape[:2] == (280, 900)
        assert (image.std(axis=(0, 1)) > 5).all()  # a drawing, not a blank
    runs = re.findall(r"<tr><td>(\d+)</td><td>([\d.]+)</td></tr>", text)
    assert runs  # luminosity recorded per run
    total = re.search(r"total delivered: ([\d.]+)", text)
    assert total is not None
    assert float(total.group(1)) >= sum(float(v) for _, v in runs)


def test_a_report_from_the_archive_carries_the_acknowledgement_and_its_comment(tmp_path: Path) -> None:
    archive_path = tmp_path / "shift.sqlite"
    now = time.time()
    with Archive(archive_path) as archive:
        archive.write_log([
            AlarmLogEntry(1, now - 600, "luminosity_low", "raise", int(Severity.MINOR), "", "LUM below 1e34"),
            AlarmLogEntry(2, now - 590, "luminosity_low", "ack", int(Severity.MINOR), "Aiko Tanaka",
                          "machine studies, see e-log 4711"),
        ])  # fmt: skip
        archive.record_updates([Update("LUM", now - 900 + k, 4e34 + 1e31 * k) for k in range(300)])
    out = tmp_path / "shift.html"
    done = shift_report(
        "--machine", "sim://?history=0", "--archive", str(archive_path), "--seconds", "0.5", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "Aiko Tanaka" in text
    assert "machine studies, see e-log 4711" in text
    assert "luminosity_low" in text


def test_a_report_from_the_archive_lists_its_beam_losses_with_their_post_mortems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitoring.alarms import AlarmModel
    from monitoring.model import MonitorModel
    from panels.shift_report import _when
    from tests.monitoring import loss_writer as writer

    start = round(time.time()) - 3600.0  # the writer's shift an hour ago (within the archive's retention)
    monkeypatch.setattr(writer, "LOSSES", tuple(start + t - writer.START for t in writer.LOSSES))
    monkeypatch.setattr(writer, "ACK_AT", start + writer.ACK_AT - writer.START)
    monkeypatch.setattr(writer, "END", start + writer.END - writer.START)
    monkeypatch.setattr(writer, "START", start)
    archive_path = tmp_path / "shift.sqlite"
    now = [writer.START]
    model = MonitorModel(writer.CHANNELS, clock=lambda: now[0], alarms=AlarmModel(writer.definitions()))
    with Archive(archive_path, clock=lambda: now[0]) as archive:
        writer.shift(model, now, writer.END, archive)  # a window's shift with two losses, recorded
    out = tmp_path / "shift.html"
    done = shift_report(
        "--machine", "sim://?history=0", "--archive", str(archive_path), "--since", "8h",
        "--seconds", "0.5", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert [a.acknowledged for a in model.alarms] == [True, False]
    for loss, state in zip(model.alarms, ("acknowledged", "latched"), strict=True):
        row = f"<tr><td>{_when(loss.time)}</td><td>LER</td><td>100 %</td><td>"
        assert row in text
        assert text.split(row, 1)[1].split("</tr>")[0].endswith(f"mA</td><td>{state}</td><td></td>")
    assert text.count('alt="post-mortem"') == 2


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--since", "yesterday"], 2, "--since 'yesterday'"),
        (["--machine", "nope://x"], 1, "unknown scheme"),
        (["--out", "/proc/shift.html"], 1, "/proc/shift.html"),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], code: int, fragment: str, tmp_path: Path) -> None:
    base = ["--seconds", "0", "--out", str(tmp_path / "r.html")]
    done = shift_report(*base, *args)
    assert done.returncode == code
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert fragment in lines[0]
    assert "Traceback" not in done.stderr
