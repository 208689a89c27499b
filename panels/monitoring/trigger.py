"""L1 trigger rates: table per bit with prescales, total against the 30 kHz limit (physics and beam
background apart), silent bits flagged."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from displays.palette import palette, to_hex
from events.trigger import L1_BITS, PRESCALES
from monitoring.channels import L1_LIMIT_HZ, Severity
from monitoring.model import MonitorModel
from panels.monitoring.base import MonitorPanel, StripChart, series_rows
from panels.monitoring.style import ALARM_COLORS, ALARM_STATES, ValueLabel, reserve_width, set_style, si
from panels.plots import pg
from panels.theme import Theme, current_theme, theme_notifier

CHART_BITS = ("ff", "ffo", "hie", "c4", "lml1", "mu_pair", "bhabha", "klmhit")  # shown at first
CHART_COLORS = tuple(to_hex(c) for c in palette().stops("monitoring.trigger"))
TABLE_PERIOD_S = 0.5  # the table is for reading: twice a second is plenty


RATE_SAMPLES = ("—", "999 kHz", "99.9 kHz", "999 Hz")
STATUS_SAMPLES = ("disconnected", "NOT FIRING", "INVALID", "stale")


def fixed_widths(table: QTableWidget, samples: list[Sequence[str]]) -> None:
    """Columns as wide as their widest sample text, set once.

    With ResizeToContents every changed cell made the header measure the whole column again,
    ~0.5 ms per cell, so a table refresh cost tens of milliseconds."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    metrics = table.fontMetrics()
    for column, texts in enumerate(samples):
        label = table.horizontalHeaderItem(column)
        texts = [*texts, label.text() if label else ""]
        table.setColumnWidth(column, max(metrics.horizontalAdvance(t) for t in texts) + 18)


def set_text(item: QTableWidgetItem, text: str) -> bool:
    """Change a cell only when its text changes (each change costs a repaint)."""
    if item.text() == text:
        return False
    item.setText(text)
    return True


class TriggerPanel(MonitorPanel):
    title = "L1 trigger rates"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout()
        self.total = ValueLabel("L1:TOTAL", lambda v: f"L1 {si(v, 'Hz')} of {si(L1_LIMIT_HZ, 'Hz')}")
        self.dead = ValueLabel("L1:DEAD", lambda v: f"dead time {v:.1%}")
        self.physics = ValueLabel("L1:PHYS", lambda v: f"physics {si(v, 'Hz')}")
        self.background = ValueLabel("L1:BKG", lambda v: f"beam background {si(v, 'Hz')}")
        self.silent = ValueLabel("silent", str)
        for label, widest in (
            (self.total, f"L1 9.99 kHz of {si(L1_LIMIT_HZ, 'Hz')}"),
            (self.dead, "dead time 99.9%"),
            (self.physics, "physics 9.99 kHz"),
            (self.background, "beam background 9.99 kHz"),
        ):
            reserve_width(label, widest)
        row.addWidget(self.total)
        row.addWidget(self.dead)
        row.addWidget(self.physics)
        row.addWidget(self.background)
        row.addWidget(self.silent, 1)
        self.body.addLayout(row)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableWidget(len(L1_BITS) + 1, 4)
        self.table.setHorizontalHeaderLabels(["bit", "prescale", "rate", "status"])
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rows = ("TOTAL", *L1_BITS)
        fixed_widths(
            self.table, [self.rows, [str(p) for p in PRESCALES.values()], RATE_SAMPLES, STATUS_SAMPLES]
        )
        self.cells: list[list[QTableWidgetItem]] = []  # bit, prescale, rate, status per row
        for r, bit in enumerate(self.rows):
            prescale = "" if bit == "TOTAL" else str(PRESCALES.get(bit, 1))
            row_items = [QTableWidgetItem(text) for text in (bit, prescale, "—", "")]
            for c, item in enumerate(row_items):
                self.table.setItem(r, c, item)
            self.cells.append(row_items)
        self.table.itemSelectionChanged.connect(self._choose_bits)
        split.addWidget(self.table)

        self.chart = StripChart("rate [Hz]")
        self.chart.curve("L1:TOTAL", "total", current_theme().color("plot_foreground"))
        theme_notifier().changed.connect(self.follow_theme)
        self.chart.addItem(
            # the y axis is logarithmic: items sit at log10 of their value
            pg.InfiniteLine(
                math.log10(L1_LIMIT_HZ),
                angle=0,
                pen=pg.mkPen(ALARM_COLORS[Severity.MAJOR], width=1.5, style=Qt.PenStyle.DashLine),
                label="30 kHz DAQ limit",
                labelOpts={"position": 0.8, "color": ALARM_COLORS[Severity.MAJOR]},
            )
        )
        self.chart.setLogMode(y=True)
        self.chart_bits = list(CHART_BITS)
        for k, bit in enumerate(self.chart_bits):
            self.chart.curve(f"slot{k}", bit, CHART_COLORS[k])
        split.addWidget(self.chart)
        split.setSizes([260, 600])
        self.body.addWidget(split, 1)
        self._table_time = 0.0
        self._painted: dict[int, str | None] = {}
        self.silent_bits: list[str] = []

    def follow_theme(self, theme: Theme) -> None:
        """The total rate in the theme's foreground (white on dark, near black on light)."""
        self.chart.curves["L1:TOTAL"].setPen(pg.mkPen(theme.color("plot_foreground"), width=1, cosmetic=True))

    def _choose_bits(self) -> None:
        """Selected table rows replace the bits drawn in the chart (up to eight)."""
        chosen = [self.rows[i.row()] for i in self.table.selectedItems() if i.column() == 0]
        chosen = [b for b in chosen if b != "TOTAL"][: len(CHART_COLORS)]
        if not chosen:
            return
        self.chart_bits = (
            chosen + [b for b in CHART_BITS if b not in chosen][: len(CHART_COLORS) - len(chosen)]
        )
        self._version = -1

    def update_data(self, model: MonitorModel) -> None:
        self.total.show_state(model.states.get("L1:TOTAL"))
        self.dead.show_state(model.states.get("L1:DEAD"))
        self.physics.show_state(model.states.get("L1:PHYS"))
        self.background.show_state(model.states.get("L1:BKG"))
        t_min = model.latest_time - self.span
        for key, name in [("L1:TOTAL", "L1:TOTAL")] + [
            (f"slot{k}", f"L1:{b}") for k, b in enumerate(self.chart_bits)
        ]:
            curve = self.chart.curves[key]
            if name not in model.buffers:
                curve.setData([], [])
                continue
            t, v = model.buffers[name].view(t_min)
            curve.setData(t, np.where(v > 0, v, np.nan))  # log axis: zero is "no point"
            if key != "L1:TOTAL" and curve.opts.get("name") != name.split(":", 1)[1]:
                curve.opts["name"] = name.split(":", 1)[1]
                self._relabel_legend()
        self.chart.setYRange(0, math.log10(L1_LIMIT_HZ * 3), padding=0.0)
        now = time.monotonic()
        if now - self._table_time >= TABLE_PERIOD_S:
            self._table_time = now
            self._fill_table(model)

    def _relabel_legend(self) -> None:
        legend = self.chart.plotItem.legend
        if legend is None:
            return
        for sample, label in legend.items:
            label.setText(sample.item.opts.get("name", ""))

    def _fill_table(self, model: MonitorModel) -> None:
        self.silent_bits = model.silent_bits()
        if self.silent_bits:
            major = ALARM_STATES[Severity.MAJOR]
            self.silent.setText(f"{major.glyph} NOT FIRING: " + ", ".join(self.silent_bits))
            set_style(self.silent, f"QLabel {{ background: {major.color}; color: white; }}")
        else:
            self.silent.setText("✔ all bits firing")
            set_style(self.silent, f"QLabel {{ color: {palette().hex('monitoring.stream_live')}; }}")
        for r, bit in enumerate(self.rows):
            state = model.states.get(f"L1:{bit}")
            rate, status = self.cells[r][2], self.cells[r][3]
            if state is None or not state.connected:
                set_text(rate, "—")
                set_text(status, "disconnected")
                continue
            set_text(rate, si(state.value, "Hz"))
            text, color = "", None
            if bit in self.silent_bits:
                text, color = f"{ALARM_STATES[Severity.MAJOR].glyph} NOT FIRING", ALARM_COLORS[Severity.MAJOR]
            elif state.severity:
                severity = Severity(min(state.severity, 3))
                alarm = ALARM_STATES.get(severity)
                text = f"{alarm.glyph} {severity.name}" if alarm else severity.name
                color = alarm.color if alarm else None
            elif state.stale:
                text = "stale"
            if not set_text(status, text) and r in self._painted and self._painted[r] == color:
                continue
            self._painted[r] = color
            brush = pg.mkBrush(color) if color else pg.mkBrush(0, 0, 0, 0)
            for item in self.cells[r]:
                item.setBackground(brush)
                if color:  # dark text on the alarm colours, in either theme
                    item.setForeground(pg.mkBrush("#000000"))
                else:
                    item.setData(Qt.ItemDataRole.ForegroundRole, None)

    def follow(self, model: MonitorModel) -> None:
        self.chart.window(model.latest_time, self.span)

    def csv_rows(self) -> tuple[list[str], list[list[object]]]:
        model = self.model
        if model is None:
            return ["channel", "timestamp", "rate (Hz)"], []
        names = ["L1:TOTAL", "L1:RAW", "L1:PHYS", "L1:BKG", "L1:DEAD", *(f"L1:{b}" for b in L1_BITS)]
        return ["channel", "timestamp", "rate (Hz)"], series_rows(model, names, model.latest_time - self.span)
