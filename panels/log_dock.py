"""The Log dock: the program's warnings and errors (Python logging, WARNING and above) as they happen.

Readers record what they did with a file (dropped NaN-helix tracks, implausible multiplicities,
missing leaves) and log it; the window logs every error it shows. :class:`QtLogHandler` takes
records from any thread into a bounded queue and wakes the GUI thread with one queued signal per
burst, so a flood of warnings costs the GUI one bounded drain per wake, never a signal per record.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

KEEP = 1000  # records waiting for the GUI thread; older ones are counted and dropped
MAX_LINES = 5000  # lines the dock shows
COLOURS = {logging.WARNING: "#e0b040", logging.ERROR: "#ff6060", logging.CRITICAL: "#ff6060"}


class _Bridge(QObject):
    arrived = Signal()


class QtLogHandler(logging.Handler):
    """A logging handler whose records the GUI thread collects with :meth:`take`."""

    def __init__(self, level: int = logging.WARNING, keep: int = KEEP) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.bridge = _Bridge()
        self._records: deque[tuple[float, int, str, str]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._pending = False
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = " ".join(self.format(record).split())  # one line per record
        except Exception:
            self.handleError(record)
            return
        with self._lock:
            if len(self._records) == self._records.maxlen:
                self.dropped += 1
            self._records.append((record.created, record.levelno, record.name, line))
            wake, self._pending = not self._pending, True
        if wake:  # a dock already deleted (closed before the handler was removed) raises RuntimeError
            with contextlib.suppress(RuntimeError):
                self.bridge.arrived.emit()

    def take(self) -> list[tuple[float, int, str, str]]:
        """Every record that arrived since the last call: (time, level, logger name, message)."""
        with self._lock:
            out = list(self._records)
            self._records.clear()
            self._pending = False
        return out


class LogPanel(QWidget):
    """Warnings and errors, newest last; ``latest`` carries each new line (for a status bar)."""

    latest = Signal(str)

    def __init__(self, handler: QtLogHandler | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handler = handler or QtLogHandler()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.count_label = QLabel("no warnings")
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.count_label, 1)
        top.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.text)
        self.count = 0
        self._loggers: list[logging.Logger] = []
        self.handler.bridge.arrived.connect(self.drain, Qt.ConnectionType.QueuedConnection)

    def attach(self, logger: logging.Logger | None = None) -> None:
        """Show the records of ``logger`` (the root logger: everything) from now on."""
        logger = logger or logging.getLogger()
        if logger.getEffectiveLevel() > self.handler.level:
            logger.setLevel(self.handler.level)
        logger.addHandler(self.handler)
        self._loggers.append(logger)

    def detach(self) -> None:
        for logger in self._loggers:
            logger.removeHandler(self.handler)
        self._loggers.clear()

    def drain(self) -> None:
        records = self.handler.take()
        for created, level, name, line in records:
            stamp = time.strftime("%H:%M:%S", time.localtime(created))
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(COLOURS.get(level, "#d0d0d0")))
            cursor = self.text.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            if not self.text.document().isEmpty():
                cursor.insertBlock()
            cursor.insertText(f"{stamp} {logging.getLevelName(level)} {name}: {line}", fmt)
        if records:
            self.count += len(records)
            dropped = f", {self.handler.dropped} dropped in bursts" if self.handler.dropped else ""
            self.count_label.setText(f"{self.count} warning(s){dropped}")
            self.text.verticalScrollBar().setValue(self.text.verticalScrollBar().maximum())
            self.latest.emit(records[-1][3])

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()

    def clear(self) -> None:
        self.text.clear()
        self.count = 0
        self.handler.dropped = 0
        self.count_label.setText("no warnings")
