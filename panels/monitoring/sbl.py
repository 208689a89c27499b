"""Sudden beam loss: a banner latched until acknowledged, the alarm log, the post-mortem record."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from monitoring.accumulators import SBLAlarm
from monitoring.channels import Severity
from monitoring.model import AlarmLog, LogEntry, MonitorModel
from panels.monitoring.base import MonitorPanel, cache_axes
from panels.monitoring.style import ALARM_COLORS, ALARM_STATES, HER_COLOR, LER_COLOR, clock
from panels.plots import pg
from panels.theme import Theme, current_theme, theme_notifier

LOG_COLUMNS = ("time", "ring", "lost", "in", "rings", "acknowledged")
MESSAGE_COLUMNS = ("time", "channel", "severity", "message")
MESSAGE_ROWS = 300  # the newest messages shown, newest on top


def describe(alarm: SBLAlarm) -> str:
    if alarm.gap is not None:
        t0, t1 = alarm.gap
        return (
            f"SUDDEN BEAM LOSS {alarm.ring} DURING A DATA GAP: {alarm.fraction:.0%} of "
            f"{alarm.current_before * 1000:.0f} mA lost between {clock(t0)} and {clock(t1)[-8:]} "
            f"({alarm.gap_reason})"
        )
    return (
        f"SUDDEN BEAM LOSS {alarm.ring}: {alarm.fraction:.0%} of {alarm.current_before * 1000:.0f} mA "
        f"in {alarm.duration * 1e6:.0f} µs at {clock(alarm.time)}"
    )


def took(alarm: SBLAlarm) -> str:
    """The "in" column: how fast, or over which gap (the loss itself was not seen)."""
    if alarm.gap is not None:
        return f"gap of {alarm.gap[1] - alarm.gap[0]:.3g} s"
    return f"{alarm.duration * 1e6:.0f} µs"


MIN_PLOT_WIDTH, MIN_PLOT_HEIGHT = 220, 150  # px: a post-mortem plot with readable axes
SIDE_BY_SIDE_BELOW = 480  # px of panel height under which table and plots sit side by side


class SBLPanel(MonitorPanel):
    title = "Beam loss alarms"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.span_box.hide()
        row = QHBoxLayout()
        self.banner = QLabel("no beam loss")
        self.banner.setWordWrap(True)
        self.banner.setMinimumHeight(44)
        self.ack = QPushButton("Acknowledge")
        self.ack.setMinimumHeight(44)
        self.ack.clicked.connect(self.acknowledge)
        row.addWidget(self.banner, 1)
        row.addWidget(self.ack)
        self.body.addLayout(row)
        self._banner_key: tuple = ()
        self._set_banner(None, 0)

        tabs = QTabWidget()
        self.log = self._table(LOG_COLUMNS)
        self.log.itemSelectionChanged.connect(self._select)
        self.messages = self._table(MESSAGE_COLUMNS)
        tabs.addTab(self.log, "Beam losses")
        tabs.addTab(self.messages, "All messages")

        plots_box = QWidget()
        plots_layout = QVBoxLayout(plots_box)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.setSpacing(2)
        title_row = QHBoxLayout()
        self.pm_title = QLabel("post-mortem: none yet")  # above both plots, wrapped: never clipped
        self.pm_title.setWordWrap(True)
        # the rings' key beside the title, not a legend inside a plot (it sat on the curves there)
        self.pm_key = QLabel(
            "  ".join(
                f"<span style='color:{c}'>━●━</span> {ring}"
                for ring, c in (("HER", HER_COLOR), ("LER", LER_COLOR))
            )
        )
        title_row.addWidget(self.pm_title, 1)
        title_row.addWidget(self.pm_key)
        plots_layout.addLayout(title_row)
        plots = QHBoxLayout()
        plots_layout.addLayout(plots, 1)
        background = current_theme().color("plot_background")
        self.pm_wide = pg.PlotWidget(background=background)
        self.pm_wide.setLabel("bottom", "time from loss [s]")
        self.pm_wide.setLabel("left", "I [mA]")
        self.pm_turns = pg.PlotWidget(background=background)
        self.pm_turns.setLabel("bottom", "time from loss [µs]")
        self.pm_curves = {}
        for ring, color in (("HER", HER_COLOR), ("LER", LER_COLOR)):
            pen = pg.mkPen(color, width=1.5)
            self.pm_curves[ring] = (
                self.pm_wide.plot([], [], name=ring, pen=pen, symbol="o", symbolSize=3, symbolBrush=color),
                self.pm_turns.plot(
                    [], [], pen=pen, symbol="o", symbolSize=4, symbolBrush=color, stepMode=None
                ),
            )
        self.pm_wide.setXRange(-5.0, 5.0)
        self.pm_turns.setXRange(-50.0, 100.0)
        self.loss_lines: list[pg.InfiniteLine] = []  # the moment of the loss, in the theme's foreground
        for plot in (self.pm_wide, self.pm_turns):
            for axis in ("bottom", "left"):
                plot.getAxis(axis).enableAutoSIPrefix(False)
            line = pg.InfiniteLine(0.0, angle=90)
            plot.addItem(line)
            self.loss_lines.append(line)
        self.follow_theme(current_theme())
        theme_notifier().changed.connect(self.follow_theme)
        for plot in (self.pm_wide, self.pm_turns):
            cache_axes(plot)
        for plot in (self.pm_wide, self.pm_turns):
            plot.setMinimumSize(MIN_PLOT_WIDTH, MIN_PLOT_HEIGHT)  # axis labels never run into each other
            plots.addWidget(plot)
        # table and post-mortem share the panel: side by side in a low strip (the main window's bottom
        # docks, where it starts), one above the other once the panel is tall; the split can be moved
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(tabs)
        self.split.addWidget(plots_box)
        self.split.setChildrenCollapsible(False)
        self._split_shape: Qt.Orientation | None = None  # the orientation the split was last sized for
        self.body.addWidget(self.split, 1)
        self._shown_alarms: tuple = ()
        self._newest_message: LogEntry | None = None
        self._selected: SBLAlarm | None = None

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt name
        super().resizeEvent(event)
        size = event.size()
        low_strip = size.height() < SIDE_BY_SIDE_BELOW and size.width() >= 1.8 * size.height()
        wanted = Qt.Orientation.Horizontal if low_strip else Qt.Orientation.Vertical
        if self._split_shape != wanted:  # a new arrangement: the table a third, the plots the rest
            self._split_shape = wanted
            self.split.setOrientation(wanted)
            length = size.width() if wanted == Qt.Orientation.Horizontal else size.height()
            self.split.setSizes([length // 3, length - length // 3])

    def follow_theme(self, theme: Theme) -> None:
        for line in self.loss_lines:
            line.setPen(pg.mkPen(theme.color("plot_foreground"), style=Qt.PenStyle.DashLine))

    @staticmethod
    def _table(columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _set_banner(self, alarm: SBLAlarm | None, latched: int) -> None:
        key = (id(alarm), alarm.acknowledged if alarm else None, latched)
        if key == self._banner_key:
            return  # each change of text and stylesheet costs a re-layout and a re-polish
        self._banner_key = key
        if alarm is None or not latched:
            text = "no beam loss" if alarm is None else f"acknowledged — last: {describe(alarm)}"
            self.banner.setText(text)
            self.banner.setStyleSheet(
                "QLabel { background: #1c3a1c; color: #d0f0d0; padding: 6px; font-size: 14px; }"
            )
            self.ack.setEnabled(False)
        else:
            more = f" (+{latched - 1} more)" if latched > 1 else ""
            self.banner.setText(f"{describe(alarm)}{more} — acknowledge to clear")
            color = ALARM_COLORS[Severity.MAJOR]
            self.banner.setStyleSheet(
                f"QLabel {{ background: {color}; color: white; font-weight: bold; padding: 6px; "
                "font-size: 15px; }"
            )
            self.ack.setEnabled(True)

    def acknowledge(self) -> None:
        if self.model is not None:
            self.model.acknowledge()
            self._version = -1
            self.update_data(self.model)

    def update_data(self, model: MonitorModel) -> None:
        alarms = model.alarms
        latched = sum(not a.acknowledged for a in alarms)
        self._set_banner(alarms[-1] if alarms else None, latched)
        key = tuple((id(a), a.acknowledged, a.fraction, bool(a.postmortem)) for a in alarms)
        if key != self._shown_alarms:
            self._shown_alarms = key
            self.log.setRowCount(len(alarms))
            for r, a in enumerate(reversed(alarms)):
                cells = (
                    clock(a.time), a.ring, f"{a.fraction:.0%}", took(a),
                    "+".join(a.rings), clock(a.acknowledged_at) if a.acknowledged_at else "NO",
                )  # fmt: skip
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if not a.acknowledged:
                        item.setBackground(pg.mkColor(ALARM_COLORS[Severity.MAJOR]))
                    self.log.setItem(r, c, item)
            if self._selected is None or self._selected not in alarms or not self._selected.postmortem:
                self._show_postmortem(next((a for a in reversed(alarms) if a.postmortem), None))
        self._show_messages(model.log)

    def _show_messages(self, log: AlarmLog) -> None:
        """Put messages newer than the newest shown on top; shown rows are never written again."""
        newest = log[-1] if log else None
        if newest is self._newest_message:
            return
        fresh: list[LogEntry] = []
        for entry in reversed(log):
            if entry is self._newest_message:
                break
            fresh.append(entry)
            if len(fresh) == MESSAGE_ROWS:
                break
        else:  # the newest shown message is gone from the log: start over
            self.messages.setRowCount(0)
        if len(fresh) == MESSAGE_ROWS:
            self.messages.setRowCount(0)
        for entry in reversed(fresh):  # oldest first, each on top of the last
            self.messages.insertRow(0)
            name = Severity(min(entry.severity, 3)).name
            if entry.severity in ALARM_STATES:  # the glyph too: the colour is not the only sign
                name = f"{ALARM_STATES[Severity(entry.severity)].glyph} {name}"
            for c, text in enumerate((clock(entry.wall), entry.channel, name, entry.text)):
                item = QTableWidgetItem(text)
                if entry.severity in ALARM_COLORS:
                    item.setForeground(pg.mkColor("#000000"))
                    item.setBackground(pg.mkColor(ALARM_COLORS[Severity(entry.severity)]))
                self.messages.setItem(0, c, item)
        if self.messages.rowCount() > MESSAGE_ROWS:
            self.messages.setRowCount(MESSAGE_ROWS)
        self._newest_message = newest

    def _select(self) -> None:
        rows = {i.row() for i in self.log.selectedItems()}
        if rows and self.model is not None:
            alarms = self.model.alarms
            self._show_postmortem(alarms[len(alarms) - 1 - min(rows)])

    def _show_postmortem(self, alarm: SBLAlarm | None) -> None:
        self._selected = alarm
        for ring, (wide, turns) in self.pm_curves.items():
            if alarm is None or f"{ring}:I" not in alarm.postmortem:
                wide.setData([], [])
                turns.setData([], [])
                continue
            t, v = alarm.postmortem[f"{ring}:I"]
            dt = t - alarm.time
            wide.setData(dt, v * 1000)
            near = np.abs(dt) < 300e-6
            turns.setData(dt[near] * 1e6, v[near] * 1000)
        self.pm_title.setText("post-mortem: " + (describe(alarm) if alarm else "none yet"))

    def csv_rows(self) -> tuple[list[str], list[list[object]]]:
        rows: list[list[object]] = []
        for a in self.model.alarms if self.model else []:
            kind = "alarm" if a.gap is None else "alarm during gap"
            rows.append(
                [kind, f"{a.time:.6f}", a.ring, f"{a.fraction:.4f}", f"{a.duration:.3e}", a.acknowledged]
            )
            for name, (t, v) in a.postmortem.items():
                rows += [
                    ["postmortem", f"{ti:.6f}", name, "" if math.isnan(vi) else f"{vi:.6g}", "", ""]
                    for ti, vi in zip(t, v, strict=True)
                ]
        return ["kind", "timestamp", "ring/channel", "fraction/value", "duration_s", "acknowledged"], rows
