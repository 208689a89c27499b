"""Luminosity: strip chart with run and fill boundaries and gaps; integrated per run, day and total."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from monitoring.model import MonitorModel
from panels.monitoring.base import MonitorPanel, StripChart, gap_marker, series_rows
from panels.monitoring.style import (
    FILL_COLOR,
    LUM_COLOR,
    RUN_COLOR,
    ValueLabel,
    integrated,
    reserve_width,
    set_style,
)

UNIT = 1e34


class LuminosityPanel(MonitorPanel):
    title = "Luminosity"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout()
        self.lum = ValueLabel("LUM", lambda v: f"{v / UNIT:.3f} ×10³⁴")
        self.run = ValueLabel("RUN", lambda v: f"{int(v)}")
        self.fill = ValueLabel("FILL", lambda v: f"{int(v)}")
        self.run_int = QLabel("—")
        self.day_int = QLabel("—")
        self.total_int = QLabel("—")
        self.gap_info = QLabel("no gaps")
        for label in (self.run_int, self.day_int, self.total_int):  # digits that grow never cut "(stopped)"
            reserve_width(label, "9999.99 pb⁻¹ (stopped)")
        cells = [
            ("L [cm⁻²s⁻¹]", self.lum), ("run", self.run), ("fill", self.fill),
            ("this run", self.run_int), ("today", self.day_int), ("total", self.total_int),
        ]  # fmt: skip
        for k, (name, widget) in enumerate(cells):
            grid.addWidget(QLabel(name), k // 3, 2 * (k % 3))
            grid.addWidget(widget, k // 3, 2 * (k % 3) + 1)
        grid.addWidget(self.gap_info, 2, 0, 1, 6)
        grid.setColumnStretch(6, 1)  # names and values packed at the left, each value by its name
        self.grid = grid
        self.body.addLayout(grid)
        self.chart = StripChart("L [10³⁴ cm⁻² s⁻¹]")
        self.chart.curve("LUM", "luminosity", LUM_COLOR)
        self.chart.marker("runs", "run start", RUN_COLOR, Qt.PenStyle.DashLine)
        self.chart.marker("fills", "fill start", FILL_COLOR, Qt.PenStyle.DotLine)
        gap_marker(self.chart)
        self.body.addWidget(self.chart, 1)
        self._y_top = 6.0

    def update_data(self, model: MonitorModel) -> None:
        states = model.states
        self.lum.show_state(states.get("LUM"))
        self.run.show_state(states.get("RUN"))
        self.fill.show_state(states.get("FILL"))
        lumi = model.lumi
        state = "" if lumi.running else " (stopped)"
        self.run_int.setText(f"{integrated(lumi.this_run)}{state}")
        self.day_int.setText(
            integrated(lumi.today(model.latest_time)) if math.isfinite(model.latest_time) else "—"
        )
        self.total_int.setText(integrated(lumi.total))
        if lumi.gaps:
            closed = [g for g in lumi.gaps if g.end is not None]
            seconds = sum(g.duration for g in closed)
            missed = integrated(lumi.missed_estimate)
            text = f"{len(lumi.gaps)} gap(s), {seconds:.0f} s without data, ≈{missed} not counted"
            if lumi.open_gap is not None:
                text = f"NO DATA since {lumi.open_gap.reason} — " + text
            self.gap_info.setText(text)
            set_style(self.gap_info, "color: #eb00eb;")
        t_min = model.latest_time - self.span
        t, v = model.buffers["LUM"].view(t_min) if "LUM" in model.buffers else (np.empty(0), np.empty(0))
        self.chart.curves["LUM"].setData(t, v / UNIT)
        finite = v[np.isfinite(v)]
        self._y_top = max(1.0, float(finite.max()) / UNIT * 1.15) if len(finite) else self._y_top
        self.chart.setYRange(0.0, self._y_top, padding=0.0)
        self.chart.verticals("runs", np.array([t for t, _ in model.runs if t >= t_min]), 0.0, self._y_top)
        self.chart.verticals(
            "fills", np.array([t for t, _ in model.fills if t >= t_min]), 0.0, self._y_top * 0.93
        )
        now = model.latest_time
        spans = [(g.start, g.end if g.end is not None else now) for g in lumi.gaps if (g.end or now) >= t_min]
        self.chart.gaps("gaps", spans, 0.02 * self._y_top)

    def follow(self, model: MonitorModel) -> None:
        self.chart.window(model.latest_time, self.span)

    def csv_rows(self) -> tuple[list[str], list[list[object]]]:
        model = self.model
        rows: list[list[object]] = []
        if model is not None:
            rows = series_rows(model, ["LUM"], model.latest_time - self.span)
            rows += [["run_start", f"{t:.6f}", run] for t, run in model.runs]
            rows += [["fill_start", f"{t:.6f}", fill] for t, fill in model.fills]
            rows += [["gap", f"{g.start:.6f}", f"{g.end:.6f}" if g.end else "open"] for g in model.lumi.gaps]
            rows += [[f"integrated_run_{run}", "", f"{v:.6g}"] for run, v in model.lumi.by_run.items()]
            rows += [[f"integrated_day_{day}", "", f"{v:.6g}"] for day, v in model.lumi.by_day.items()]
            rows += [["integrated_total", "", f"{model.lumi.total:.6g}"]]
        return ["channel", "timestamp", "value (cm^-2 s^-1, cm^-2 for integrals)"], rows
