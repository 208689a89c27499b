"""File > Shift report…: the report of ``main.py shift-report`` written from the window's own model.

The action (Ctrl+Shift+R) asks where with a save dialog that starts in the folder of the last report
written (the window's settings, ``shift_report/folder``), then copies the report's content out of the window's
monitoring model (:func:`panels.shift_report.snapshot`: the luminosity per run and day, the plotted
channels, every beam loss with its post-mortem, the alarm log, the DQM statuses; the model is fed
from the archive after a restart, so this is the window's whole shift) and hands it to a writer
process (:data:`panels.shift_report.CHILD`), watched by a thread of its own: the plots are pyqtgraph
drawings, widgets that can only be drawn on a Qt application's thread, and the window's thread
keeps painting meanwhile. The file is the one the command line writes (the same
:func:`~panels.shift_report.render_data`), written atomically; the status bar says where, or in one
line why not (an unwritable folder names the file). Nothing is opened by itself.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow

from monitoring.model import MonitorModel
from panels.background import BackgroundPass, Cancel, Progress, stop

ROOT = Path(__file__).resolve().parents[1]
FOLDER_KEY = "shift_report/folder"
SINCE_S = 8 * 3600.0  # a shift, as ``--since 8h``
TIMEOUT_S = 300.0


class ReportNotWritten(OSError):
    """The writer's one line: the file and why."""


def write_in_process(data: object, out: Path, timeout_s: float = TIMEOUT_S) -> tuple[Path, int]:
    """Draw and write the report of ``data`` (a :class:`~panels.shift_report.ReportData`) at ``out``
    in a writer process; (path, size in characters), or :class:`ReportNotWritten` with its line."""
    from panels.shift_report import CHILD  # the report's module, imported when a report is made

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")  # drawn off screen: no window shows
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(out)],
            input=pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL),
            capture_output=True,
            cwd=ROOT,
            env=env,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise ReportNotWritten(f"{out}: the report writer took more than {timeout_s:g} s") from None
    lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    if done.returncode != 0:
        raise ReportNotWritten(lines[-1] if lines else f"{out}: the report writer failed ({done.returncode})")
    _, path, size = done.stdout.decode().split()[-3:]
    return Path(path), int(size)


class ShiftReportAction(QObject):
    """File > Shift report… of ``window`` for the model ``model_of()`` returns (None: no machine data)."""

    written = Signal(object)  # the Path written
    failed = Signal(str)  # one line

    def __init__(
        self,
        window: QMainWindow,
        model_of: Callable[[], MonitorModel | None],
        settings: QSettings,
        since_s: float = SINCE_S,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.model_of = model_of
        self.settings = settings
        self.since_s = since_s
        self.dialog: QFileDialog | None = None
        self.job: BackgroundPass | None = None

    def folder(self) -> Path:
        """Where the dialog starts: the folder of the last report written, else the home folder."""
        remembered = self.settings.value(FOLDER_KEY, "")
        folder = Path(str(remembered)) if remembered else Path.home()
        return folder if folder.is_dir() else Path.home()

    def choose(self) -> QFileDialog:
        """The save dialog (Qt's own, so it behaves the same everywhere), opened window-modal; the
        report is written when a file is chosen."""
        name = time.strftime("shift-report-%Y%m%d-%H%M.html")
        dialog = QFileDialog(
            self.window, "Write the shift report", str(self.folder() / name), "HTML (*.html)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("html")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        dialog.fileSelected.connect(lambda path: self.write(Path(path)))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _say(self, text: str, timeout_ms: int = 15000) -> None:
        self.window.statusBar().showMessage(text, timeout_ms)

    def _fail(self, text: str) -> None:
        line = f"shift report not written: {text}"
        report = getattr(self.window, "report", None)  # the main window's: status bar and Log
        report(line) if report is not None else self._say(line)
        self.failed.emit(line)

    def write(self, out: Path) -> BackgroundPass | None:
        """Write the report at ``out`` in the background; its folder is remembered once it is written."""
        if self.job is not None and self.job.isRunning():
            self._fail(f"{out}: a report is being written already")
            return None
        model = self.model_of()
        if model is None:
            self._fail("no machine data in this window")
            return None
        from panels.shift_report import snapshot

        data = snapshot(model, self.since_s)  # copies, on this thread: the model is this thread's

        def work(progress: Progress, cancel: Cancel) -> tuple[Path, int]:
            return write_in_process(data, out)

        job = BackgroundPass(work, self)
        self.job = job
        job.succeeded.connect(self._written)
        job.failed.connect(self._fail)
        job.finished.connect(lambda: self._ended(job))
        self._say(f"writing the shift report to {out}…", 0)
        job.start()
        return job

    def _written(self, result: tuple[Path, int]) -> None:
        path, size = result
        self.settings.setValue(FOLDER_KEY, str(path.parent))
        self._say(f"shift report written: {path} ({max(1, size // 1024)} kB)")
        self.written.emit(path)

    def _ended(self, job: BackgroundPass) -> None:
        if job is self.job:
            self.job = None
        job.deleteLater()

    def shutdown(self) -> None:
        """Wait for a report being written (the window is closing)."""
        stop(self.job, wait_ms=int(TIMEOUT_S * 1000))
        self.job = None
