"""Beam currents of HER and LER: values with alarm borders, injection state, strip chart."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from monitoring.model import MonitorModel
from panels.monitoring.base import MonitorPanel, StripChart, gap_marker, series_rows
from panels.monitoring.style import FILL_COLOR, HER_COLOR, LER_COLOR, ValueLabel


def milliamp(value: float) -> str:
    return f"{value * 1000:7.1f} mA"


class BeamPanel(MonitorPanel):
    title = "Beam currents"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout()
        self.values = {ring: ValueLabel(f"{ring}:I", milliamp) for ring in ("HER", "LER")}
        self.injection = {
            ring: ValueLabel(f"{ring}:INJ", lambda v: "injecting" if v else "not injecting")
            for ring in ("HER", "LER")
        }
        for row, (ring, color, beam) in enumerate(
            (("HER", HER_COLOR, "e⁻ 7 GeV"), ("LER", LER_COLOR, "e⁺ 4 GeV"))
        ):
            grid.addWidget(QLabel(f"<span style='color:{color}'><b>{ring}</b></span> {beam}"), row, 0)
            grid.addWidget(self.values[ring], row, 1)
            grid.addWidget(self.injection[ring], row, 2)
        grid.setColumnStretch(3, 1)  # each ring's current and injection by its name, not spread apart
        self.grid = grid
        self.body.addLayout(grid)
        self.chart = StripChart("I [mA]")
        self.chart.curve("HER:I", "HER", HER_COLOR)
        self.chart.curve("LER:I", "LER", LER_COLOR)
        self.chart.marker("fills", "fill start", FILL_COLOR, Qt.PenStyle.DotLine)
        gap_marker(self.chart)
        self.body.addWidget(self.chart, 1)

    def update_data(self, model: MonitorModel) -> None:
        t_min = model.latest_time - self.span
        top = 0.0
        for ring in ("HER", "LER"):
            name = f"{ring}:I"
            self.values[ring].show_state(model.states.get(name))
            self.injection[ring].show_state(model.states.get(f"{ring}:INJ"))
            if name in model.buffers:
                t, v = model.buffers[name].view(t_min)
                self.chart.curves[name].setData(t, v * 1000)
                finite = v[np.isfinite(v)]
                top = max(top, float(finite.max()) * 1000 if len(finite) else 0.0)
        top = max(top * 1.1, 100.0)
        self.chart.setYRange(0.0, top, padding=0.0)
        self.chart.verticals("fills", np.array([t for t, _ in model.fills if t >= t_min]), 0.0, top)
        disconnected = [
            (model.buffers[n].last_time, model.latest_time)
            for n in ("HER:I", "LER:I")
            if n in model.states and not model.states[n].connected and n in model.buffers
        ]
        self.chart.gaps("gaps", disconnected, 0.02 * top)

    def follow(self, model: MonitorModel) -> None:
        self.chart.window(model.latest_time, self.span)

    def csv_rows(self) -> tuple[list[str], list[list[object]]]:
        model = self.model
        rows = series_rows(model, ["HER:I", "LER:I"], model.latest_time - self.span) if model else []
        return ["channel", "timestamp", "current (A)"], rows
