"""File > Shift report… in the window: the dialog answered as a shifter would, the report written from
the window's own model by a writer process while the window goes on, the folder remembered, an
unwritable path one line, nothing opened by itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.panels.test_shift_report import SECTIONS, pictures


@pytest.mark.gl
def test_the_shift_report_action_writes_the_windows_shift(qtbot, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QDesktopServices, QImage, QKeySequence

    from monitoring.monitor import INV_NB
    from panels.app import AppConfig, Application
    from panels.shift_report import _when

    opened: list[object] = []

    def open_url(url: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    settings = tmp_path / "settings.ini"
    quiet = QSettings(str(settings), QSettings.Format.IniFormat)
    quiet.setValue("alarms/sound", "off")  # the replayed losses would sound the alarm tone
    quiet.sync()
    config = AppConfig(machine="sim://?accel=30&sbl_rate=20&seed=3", stream="none", settings=settings)
    app = Application(config)
    qtbot.addWidget(app.window)
    try:
        assert app.hub is not None
        model = app.hub.model

        # the replayed hour: runs credited, beam losses with their turn-by-turn post-mortems
        def shift_seen() -> bool:
            credited = any(v > 0 for v in model.lumi.by_run.values())
            return credited and any(a.postmortem for a in model.alarms)

        qtbot.waitUntil(shift_seen, timeout=60000)
        action = app.shift_report_action
        assert action in app.window.file_menu.actions()
        assert QKeySequence("Ctrl+Shift+R") in action.shortcuts()
        action.trigger()
        dialog = app.shift_report.dialog
        assert dialog is not None
        assert dialog.isVisible()
        assert Path(dialog.directory().absolutePath()) == Path.home()  # nothing remembered yet
        out = tmp_path / "reports" / "shift.html"
        out.parent.mkdir()
        ticks: list[bool] = []  # the hub's ticks on the window's thread while the report is written
        app.hub.timer.timeout.connect(lambda: ticks.append(app.shift_report.job is not None))
        runs_before = dict(model.lumi.by_run)
        losses = [a for a in model.alarms if a.postmortem]
        with qtbot.waitSignal(app.shift_report.written, timeout=120_000) as written:
            dialog.selectFile(str(out))
            dialog.accept()
        assert written.args == [out]
        assert any(ticks)  # the window went on painting: the report was drawn elsewhere
        assert str(out) in app.window.statusBar().currentMessage()

        text = out.read_text(encoding="utf-8")
        assert all(f"<h2>{s}</h2>" in text for s in SECTIONS)
        assert 'src="http' not in text
        assert "<script" not in text
        runs = {int(r): float(v) for r, v in re.findall(r"<tr><td>(\d+)</td><td>([\d.]+)</td></tr>", text)}
        assert set(runs_before) <= set(runs)  # every run the window had credited, with its luminosity
        for run, v in runs_before.items():
            assert runs[run] >= round(v / INV_NB / 1e3, 3) - 1e-3  # pb^-1; it only grows
        assert any(v > 0 for v in runs.values())
        for loss in losses:  # every beam loss listed, with its ring and its post-mortem plot
            assert f"<tr><td>{_when(loss.time)}</td><td>{loss.ring}</td>" in text
        assert text.count('alt="post-mortem"') >= len(losses) >= 1
        for png in pictures(text):  # the command line's plots: 900 x 280, drawn
            picture = QImage.fromData(png).convertToFormat(QImage.Format.Format_RGB888)
            assert (picture.width(), picture.height()) == (900, 280)
            rows = np.frombuffer(picture.constBits(), np.uint8).reshape(
                picture.height(), picture.bytesPerLine()
            )
            assert rows[:, : 3 * picture.width()].std() > 5

        # the folder is remembered, in the window's settings
        action.trigger()
        again = app.shift_report.dialog
        assert again is not None
        assert again is not dialog
        assert Path(again.directory().absolutePath()) == out.parent
        again.reject()

        def settings_now() -> QSettings:
            app.window.settings.sync()
            return QSettings(str(settings), QSettings.Format.IniFormat)

        assert settings_now().value("shift_report/folder") == str(out.parent)

        # a path that cannot be written: one line naming it, in the status bar, no traceback
        with qtbot.waitSignal(app.shift_report.failed, timeout=120_000) as failed:
            app.shift_report.write(Path("/proc/shift.html"))
        (line,) = failed.args
        assert "\n" not in line
        assert "Traceback" not in line
        assert line.startswith("shift report not written: /proc/shift.html")
        assert app.window.statusBar().currentMessage() == line
        assert settings_now().value("shift_report/folder") == str(out.parent)  # not the folder that failed
        assert not opened  # nothing opened by itself
    finally:
        app.close()


def test_the_writer_process_writes_what_the_command_line_writes(qapp, tmp_path) -> None:
    """The same data: the window's writer process writes the file the command line's own writing
    (``write_report``, here in the test's process) writes: the same text and plots of the same size
    (byte for byte the same from a fresh process, as the command line's; a process that a window has
    themed draws them in its fonts, one reason the window's report is drawn in a process of its own)."""
    from monitoring.alarms import AlarmModel
    from monitoring.model import MonitorModel
    from panels.shift_report import snapshot, write_report
    from panels.shift_report_action import ReportNotWritten, write_in_process
    from tests.monitoring import loss_writer as writer

    now = [writer.START]
    model = MonitorModel(writer.CHANNELS, clock=lambda: now[0], alarms=AlarmModel(writer.definitions()))
    writer.shift(model, now, writer.END)  # a shift with two beam losses
    data = snapshot(model, 8 * 3600.0)
    here, there = tmp_path / "here.html", tmp_path / "there.html"
    write_report(data, here)
    path, size = write_in_process(data, there)
    assert path == there
    ours, theirs = here.read_text(encoding="utf-8"), there.read_text(encoding="utf-8")
    assert size == len(theirs)
    no_pictures = re.compile(r'src="data:image/png;base64,[^"]+"')
    assert no_pictures.sub("PNG", theirs) == no_pictures.sub("PNG", ours)
    assert theirs.count('alt="post-mortem"') == 2
    from PySide6.QtGui import QImage

    for png in pictures(theirs):
        picture = QImage.fromData(png)
        assert (picture.width(), picture.height()) == (900, 280)
    with pytest.raises(ReportNotWritten, match=r"^/proc/x\.html: "):
        write_in_process(data, Path("/proc/x.html"))


def test_without_machine_data_the_action_says_so_in_one_line(qtbot, tmp_path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMainWindow

    from panels.shift_report_action import ShiftReportAction

    window = QMainWindow()
    qtbot.addWidget(window)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    action = ShiftReportAction(window, lambda: None, settings)  # the machine source could not be opened
    with qtbot.waitSignal(action.failed) as failed:
        assert action.write(tmp_path / "shift.html") is None
    assert failed.args == ["shift report not written: no machine data in this window"]
    assert window.statusBar().currentMessage() == failed.args[0]
    assert not (tmp_path / "shift.html").exists()
    assert settings.value("shift_report/folder") is None  # nothing written: nothing remembered
