"""The status-bar roll-up of the alarm model (docs/monitoring.md §2.5): one label that says the
highest severity and whether all are acknowledged in words and a glyph, on its severity's colour;
its tooltip lists the raised alarms with their guidance, and a click offers to open an alarm's panel
or to acknowledge the alarms under the shifter's name."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QInputDialog, QLabel, QMenu, QWidget

from monitoring.alarms import AlarmModel
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from panels.monitoring.style import ALARM_COLORS

_GUIDANCE_CHARS = 240  # of each alarm's guidance in the tooltip


def rollup_style(severity: Severity, unacknowledged: int) -> str:
    color = ALARM_COLORS.get(severity)
    if color is None:
        return "QLabel { padding: 1px 6px; border: 1px solid palette(mid); }"
    if unacknowledged:  # filled: it wants attention
        return f"QLabel {{ padding: 1px 6px; color: black; background: {color}; font-weight: bold; }}"
    return f"QLabel {{ padding: 1px 6px; border: 2px solid {color}; }}"  # acknowledged: a frame only


def rollup_tooltip(alarms: AlarmModel) -> str:
    lines = []
    for a in alarms.raised():
        d = a.definition
        lines.append(f"{d.severity.name} {d.title} [{a.state}]: {a.message}")
        if a.acknowledged:
            comment = f" ({a.ack_comment})" if a.ack_comment else ""
            lines.append(f"    acknowledged by {a.acknowledged_by}{comment}")
        if a.shelved:
            lines.append(f"    shelved by {a.shelved_by}: {a.shelve_reason}")
        if d.guidance:
            guidance = (
                d.guidance if len(d.guidance) <= _GUIDANCE_CHARS else d.guidance[:_GUIDANCE_CHARS] + "…"
            )
            lines.append(f"    {guidance}")
    shelved = [a for a in alarms if a.shelved and not a.raised]
    lines += [f"shelved: {a.definition.title} by {a.shelved_by}: {a.shelve_reason}" for a in shelved]
    return "\n".join(lines) or "no alarm raised"


def rollup_text(alarms: AlarmModel) -> str:
    """The roll-up's marker and what the worst alarm is, e.g. "■ MAJOR (1 unacknowledged): Sudden
    beam loss": a shifter reads at a glance what to look at, not only how bad it is."""
    up = alarms.rollup()
    shown = [a for a in alarms.raised() if not a.shelved]  # highest severity, unacknowledged, newest first
    if not shown:
        return up.marker
    more = f" (+{len(shown) - 1} more)" if len(shown) > 1 else ""
    return f"{up.marker}: {shown[0].definition.title}{more}"


class AlarmStatus(QLabel):
    """Reads the model's alarm roll-up every ``interval_ms``; ``panel_requested(name)`` on a click."""

    panel_requested = Signal(str)

    def __init__(
        self, model: Callable[[], MonitorModel | None], interval_ms: int = 500, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._shown: tuple = ()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        model = self._model()
        alarms = model.alarm_model if model is not None else None
        if alarms is None:
            key: tuple = (None,)
            if key != self._shown:
                self._shown = key
                self.setText("alarms: none defined")
                self.setStyleSheet(rollup_style(Severity.NO_ALARM, 0))
            return
        key = (alarms.version,)
        if key == self._shown:
            return
        self._shown = key
        up = alarms.rollup()
        text = rollup_text(alarms)
        self.setText(text)
        self.setAccessibleName(f"alarms: {text}")
        self.setStyleSheet(rollup_style(up.severity, up.unacknowledged))
        self.setToolTip(rollup_tooltip(alarms))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt name
        model = self._model()
        if model is None or model.alarm_model is None:
            return
        menu = QMenu(self)
        raised = model.alarm_model.raised()
        for a in raised:
            if a.definition.panel:
                action = menu.addAction(f"Open {a.definition.panel}: {a.definition.title}")
                action.triggered.connect(lambda _=False, p=a.definition.panel: self.panel_requested.emit(p))
        if any(a.needs_ack for a in raised):
            menu.addAction("Acknowledge all…").triggered.connect(lambda: self.acknowledge_all(model))
        if not menu.isEmpty():
            menu.popup(event.globalPosition().toPoint())

    def acknowledge_all(self, model: MonitorModel) -> None:
        who, ok = QInputDialog.getText(self, "Acknowledge alarms", "Your name:")
        if not ok or not who.strip():
            return
        comment, ok = QInputDialog.getText(self, "Acknowledge alarms", "Comment (optional):")
        assert model.alarm_model is not None
        for a in model.alarm_model.raised():
            if a.needs_ack:
                model.acknowledge_alarm(a.name, who, comment if ok else "")
        self.refresh()
