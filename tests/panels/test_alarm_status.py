"""The status-bar roll-up of the alarm model, and the beam-loss panel's Acknowledge acting on it too."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from monitoring.alarms import AlarmModel, load_definitions
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from monitoring.source import Update
from panels.monitoring.alarm_status import AlarmStatus
from panels.monitoring.sbl import SBLPanel
from panels.monitoring.style import ALARM_COLORS

T0 = 1.7e9


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def red_fraction(widget: AlarmStatus) -> float:
    image = widget.grab().toImage()
    red = QColor(ALARM_COLORS[Severity.MAJOR])
    pixels = [image.pixelColor(x, y) for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)]
    return float(np.mean([p.red() == red.red() and p.green() == red.green() for p in pixels]))


def test_the_rollup_says_it_in_words_and_the_sbl_acknowledge_clears_it(qtbot) -> None:
    wall = Clock()
    model = MonitorModel(["LER:I"], alarms=AlarmModel(load_definitions(), clock=wall))
    status = AlarmStatus(lambda: model)
    qtbot.addWidget(status)
    status.show()
    assert status.text() == "✔ no alarm"
    model.ingest([Update("LER:I", T0 + 0.1 * k, 1.35) for k in range(30)])
    model.ingest([Update("LER:I", T0 + 3.0, 0.0)])  # the beam is gone
    model.check()
    status.refresh()
    assert status.text() == "■ MAJOR (1 unacknowledged): Sudden beam loss"  # how bad, and what
    assert status.accessibleName() == "alarms: ■ MAJOR (1 unacknowledged): Sudden beam loss"
    assert "Sudden beam loss [ACTIVE]" in status.toolTip()
    assert "post-mortem" in status.toolTip()  # the guidance
    assert red_fraction(status) > 0.3  # filled with MAJOR's colour, besides the words
    seen: list[str] = []
    status.panel_requested.connect(seen.append)

    panel = SBLPanel()
    qtbot.addWidget(panel)
    panel.refresh(model)
    assert panel.ack.isEnabled()
    qtbot.mouseClick(panel.ack, Qt.MouseButton.LeftButton)  # the beam-loss panel, as ever
    assert not model.sbl.latched
    status.refresh()
    assert status.text() == "✔ MAJOR acknowledged: Sudden beam loss"
    assert "acknowledged by shifter" in status.toolTip()
    assert red_fraction(status) < 0.3  # a frame only, once acknowledged
    wall.now += 1
    model.check()
    status.refresh()
    assert status.text() == "✔ no alarm"


def test_without_an_alarm_model_it_says_so(qtbot) -> None:
    status = AlarmStatus(lambda: None)
    qtbot.addWidget(status)
    assert status.text() == "alarms: none defined"
