"""A status-bar strip for one live event stream: state, rate, received, dropped, rejected.

It reads the plain counters of the stream (``StreamStats``) on a timer, never on arrival, so a
fast stream costs the GUI nothing; while hidden it does not even read them. Colours follow the
PyDM alarm palette (docs/monitoring.md §2.2): yellow for a stalled stream or lost
events, red for rejected messages, a dashed border while disconnected.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from monitoring.zmq_source import StreamStats

MINOR = "#EBEB00"
MAJOR = "#FF0000"
LIVE = "#2EB82E"

_STATE_STYLE = {
    "live": f"color: black; background: {LIVE}; border: 1px solid {LIVE};",
    "stalled": f"color: black; background: {MINOR}; border: 1px solid {MINOR};",
    "disconnected": "color: palette(window-text); background: transparent; border: 1px dashed palette(mid);",
}


def state_of(stats: StreamStats) -> str:
    """``live``, ``stalled`` (connected, nothing arriving) or ``disconnected``."""
    if not stats.connected:
        return "disconnected"
    return "stalled" if stats.stale else "live"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", "\u2009")  # thin-space thousands, readable across the room


def rejected_tooltip(stats: StreamStats) -> str:
    reasons = ", ".join(f"{reason} {n}" for reason, n in stats.rejected.items() if n) or "none"
    return f"rejected messages by reason: {reasons}\nlast error: {stats.last_error or 'none'}"


class StreamStatus(QWidget):
    """Counters of one stream, refreshed every ``interval_ms`` from ``read_stats()``."""

    def __init__(
        self, read_stats: Callable[[], StreamStats], interval_ms: int = 500, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._read_stats = read_stats
        self.state = QLabel()
        self.rate = QLabel()
        self.received = QLabel()
        self.dropped = QLabel()
        self.rejected = QLabel()
        self.error = QLabel()
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setMaximumWidth(420)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 1, 4, 1)
        layout.setSpacing(12)
        for label in (self.state, self.rate, self.received, self.dropped, self.rejected, self.error):
            layout.addWidget(label)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.show_stats(read_stats())

    def refresh(self) -> None:
        if not self.isVisible():  # hidden, or inside a hidden dock or tab
            return
        self.show_stats(self._read_stats())

    def show_stats(self, stats: StreamStats) -> None:
        state = state_of(stats)
        self.state.setText(f" {state.upper()} ")
        self.state.setStyleSheet(_STATE_STYLE[state])
        who = f"publisher {stats.publisher}" if stats.publisher else "no publisher seen yet"
        self.state.setToolTip(f"{stats.url}\n{who}\nrestarts {stats.restarts}, reconnects {stats.reconnects}")
        self.rate.setText(f"{_count(round(stats.rate_hz))} ev/s")
        self.received.setText(f"received {_count(stats.events)}")
        self.received.setToolTip(
            f"{_count(stats.messages)} messages, {stats.bytes / 2**20:.1f} MiB, "
            f"last sequence {stats.last_sequence}"
        )
        self.dropped.setText(f"dropped {_count(stats.dropped_total)}")
        self.dropped.setToolTip(
            f"lost before arrival (sequence gaps): {_count(stats.dropped_gap)}\n"
            f"dropped because consumers were behind: {_count(stats.dropped_overflow)}"
        )
        self.dropped.setStyleSheet(f"color: {MINOR};" if stats.dropped_total else "")
        self.rejected.setText(f"rejected {_count(stats.rejected_total)}")
        self.rejected.setToolTip(rejected_tooltip(stats))
        self.rejected.setStyleSheet(f"color: {MAJOR};" if stats.rejected_total else "")
        problem = stats.rejected_total or stats.consumer_errors
        self.error.setText(
            self.error.fontMetrics().elidedText(stats.last_error, Qt.TextElideMode.ElideRight, 400)
        )
        self.error.setToolTip(stats.last_error)
        self.error.setStyleSheet(f"color: {MAJOR};" if problem else "")
