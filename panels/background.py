"""Whole-data-set passes off the GUI thread: one ``QThread`` per pass, results back by queued signals.

A :class:`BackgroundPass` runs ``work(progress, cancel)`` on its own thread; ``progress(done, total)``
is forwarded as ``progressed`` (at most every ``PROGRESS_MS``, and the last one always), the result as
``succeeded`` and a failure as ``failed`` with one line (an ``EventFileError`` or ``OSError`` names its
file already). ``cancel()`` sets the flag the work polls between chunks. Signals emitted on the pass's
thread reach receivers on the GUI thread queued, so slots there never race the work.

:class:`PassBar` is the progress bar with a Cancel button that every dock showing a pass uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]
Work = Callable[[Progress, Cancel], Any]
PROGRESS_MS = 100


def one_line(exc: BaseException) -> str:
    """An exception as one line (the readers' and writers' errors name their file already)."""
    text = " ".join((str(exc) or type(exc).__name__).split())
    if isinstance(exc, OSError | ValueError | LookupError):
        return text
    return f"{type(exc).__name__}: {text}"


class BackgroundPass(QtCore.QThread):
    """One pass of ``work`` on its own thread (see the module doc)."""

    progressed = QtCore.Signal(int, int)  # done, total
    succeeded = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, work: Work, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.work = work
        self._cancel = threading.Event()
        self._last = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= PROGRESS_MS / 1000:
            self._last = now
            self.progressed.emit(done, total)

    def run(self) -> None:
        try:
            result = self.work(self._progress, self._cancel.is_set)
        except Exception as exc:  # one line in the GUI, never a traceback on a worker thread
            self.failed.emit(one_line(exc))
            return
        self.succeeded.emit(result)


class PassBar(QtWidgets.QWidget):
    """A progress bar and a Cancel button for the pass running now; hidden when none runs."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setFormat("%v of %m events")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.job: BackgroundPass | None = None
        self.cancel_button.clicked.connect(self.cancel)
        self.hide()

    def follow(self, job: BackgroundPass, total: int) -> None:
        """Show the progress of ``job`` until it ends."""
        self.job = job
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(0)
        job.progressed.connect(self._progressed)
        job.finished.connect(lambda: self._ended(job))
        self.cancel_button.setEnabled(True)
        self.show()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)

    def _progressed(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _ended(self, job: BackgroundPass) -> None:
        if job is self.job:
            self.job = None
            self.hide()


def stop(job: BackgroundPass | None, wait_ms: int = 30_000) -> None:
    """Cancel a pass and wait for its thread (it stops after the chunk it is on)."""
    if job is not None and job.isRunning():
        job.cancel()
        job.wait(wait_ms)
