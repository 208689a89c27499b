"""Live recoil-mass histograms: run or window view, reference overlay, DQM status, bin -> events.

The status shows as a glyph, a word and a colour (the colour table's ``dqm`` section); the plot
follows the theme (its background, axes and the data and reference colours).

Plot items are created once and only ``setData`` is called, from a timer (arrival rate is not
paint rate; a hidden panel skips its repaint). Clicking a bin lists the newest events in it and
emits ``bin_selected`` with them, so the event display can open them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

from displays.palette import State, palette
from events.model import event_label, run_label
from monitoring.histograms.compare import Status
from monitoring.histograms.running import RunningHistogram, Snapshot
from panels.theme import Theme, current_theme, theme_notifier

STATUS: dict[Status, State] = {status: palette().state("dqm", status.value) for status in Status}
STATUS_TEXT = {status: state.text for status, state in STATUS.items()}
# data in the accent colour of the theme, the reference dashed
DATA_WIDTH = 2
REFERENCE_COLOR = palette().hex("monitoring.reference")


@dataclass(frozen=True)
class BinSelection:
    """The events behind one bin: ``records`` has fields experiment, run, event, batch, row."""

    histogram: str
    bin: tuple[int, ...]
    records: NDArray[np.void]


class HistogramPanel(QtWidgets.QWidget):
    bin_selected = QtCore.Signal(object)  # BinSelection

    def __init__(
        self,
        histograms: Sequence[RunningHistogram],
        refresh_ms: int = 250,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if not histograms:
            raise ValueError("HistogramPanel needs at least one running histogram")
        self.histograms = list(histograms)
        self.current = self.histograms[0]
        self.snapshot: Snapshot | None = None

        self.chooser = QtWidgets.QComboBox()
        self.chooser.addItems([h.definition.title for h in self.histograms])
        self.view_mode = QtWidgets.QComboBox()
        self.view_mode.addItems(["run", "window"])
        self.status_label = QtWidgets.QLabel()
        self.status_label.setMinimumWidth(260)
        self.status_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.export_button = QtWidgets.QPushButton("Export PNG")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.chooser, 1)
        top.addWidget(self.view_mode)
        top.addWidget(self.status_label)
        top.addWidget(self.export_button)

        theme = current_theme()
        self.plot = pg.PlotWidget(background=theme.color("plot_background"))
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.data_item = pg.PlotDataItem(stepMode="center", fillLevel=0, name="data")
        self.reference_item = pg.PlotDataItem(
            stepMode="center",
            pen=pg.mkPen(REFERENCE_COLOR, width=2, style=QtCore.Qt.PenStyle.DashLine),
            name="reference (scaled)",
        )
        self.image_item = pg.ImageItem(axisOrder="col-major")
        self.image_item.setColorMap(pg.colormap.get("viridis"))
        for item in (self.image_item, self.data_item, self.reference_item):
            self.plot.addItem(item)

        self.events_list = QtWidgets.QListWidget()
        self.events_label = QtWidgets.QLabel("click a bin to list its events")
        self.events_label.setWordWrap(True)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.events_label)
        side.addWidget(self.events_list)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.plot, 4)
        side_widget = QtWidgets.QWidget()
        side_widget.setLayout(side)
        side_widget.setMinimumWidth(340)
        body.addWidget(side_widget, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body)

        self.chooser.currentIndexChanged.connect(self._choose)
        self.view_mode.currentIndexChanged.connect(lambda _: self.refresh())
        self.export_button.clicked.connect(self._export_dialog)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(refresh_ms)
        self.follow_theme(theme)
        theme_notifier().changed.connect(self.follow_theme)
        self._choose(0)

    def follow_theme(self, theme: Theme) -> None:
        """Data drawn in the theme's accent colour, filled translucent; the plot in its colours."""
        accent = QtGui.QColor(theme.color("accent"))
        self.data_item.setPen(pg.mkPen(accent, width=DATA_WIDTH))
        fill = QtGui.QColor(accent)
        fill.setAlpha(110)
        self.data_item.setBrush(pg.mkBrush(fill))
        if self.snapshot is not None:
            self._show_status(self.snapshot)

    # -- drawing ------------------------------------------------------------------------------
    def _choose(self, index: int) -> None:
        self.current = self.histograms[index]
        axes = self.current.axes
        two_d = len(axes) == 2
        self.data_item.setVisible(not two_d)
        self.reference_item.setVisible(not two_d)
        self.image_item.setVisible(two_d)
        self.legend.setVisible(not two_d)
        self.plot.setLabel("bottom", axes[0].label or axes[0].name)
        self.plot.setLabel("left", axes[1].label if two_d else "events / bin")
        self.events_list.clear()
        self.refresh()
        if two_d:
            x, y = axes
            self.plot.setRange(xRange=(x.lo, x.hi), yRange=(y.lo, y.hi), padding=0)
        else:
            self.plot.enableAutoRange()

    def _tick(self) -> None:
        if self.isVisible() and self.current.snapshot() is not self.snapshot:
            self.refresh()  # nothing is redrawn (and no check rerun) while nothing was filled

    def refresh(self) -> None:
        """Take a snapshot of the current histogram and push it into the existing items."""
        snap = self.current.snapshot()
        self.snapshot = snap
        counts = self.counts(snap).astype(np.float64)
        if len(snap.axes) == 1:
            edges = snap.axes[0].edges
            self.data_item.setData(edges, counts)
            if snap.reference is not None and snap.reference.sum() > 0:
                self.reference_item.setData(edges, snap.reference * (counts.sum() / snap.reference.sum()))
            else:
                self.reference_item.setData([], [])
        else:
            x, y = snap.axes
            top = max(float(counts.max()), 1.0)
            rect = QtCore.QRectF(x.lo, y.lo, x.hi - x.lo, y.hi - y.lo)
            self.image_item.setImage(counts, levels=(0.0, top), autoLevels=False, rect=rect)
        self._show_status(snap)

    def counts(self, snap: Snapshot) -> NDArray[np.int64]:
        return snap.window_counts if self.view_mode.currentText() == "window" else snap.run_counts

    def _show_status(self, snap: Snapshot) -> None:
        result = snap.check
        state = STATUS[result.status]
        text = state.label
        if result.status in (Status.GOOD, Status.WARNING, Status.ERROR):
            p = "< 1e-9" if result.p_value < 1e-9 else f"= {result.p_value:.2g}"
            text += f" ({result.method} p {p})"
        run = run_label(snap.experiment, snap.run) if snap.run >= 0 else "no run yet"
        self.status_label.setText(f"{run}: {text}")
        sheet = f"background: {state.color}; color: black; padding: 3px; border: 1px solid #555;"
        if self.status_label.styleSheet() != sheet:  # each set re-polishes the label
            self.status_label.setStyleSheet(sheet)
        self.plot.getViewBox().setBorder(pg.mkPen(state.color, width=4))

    # -- bin -> events ---------------------------------------------------------------------------
    def bin_at(self, x: float, y: float | None = None) -> tuple[int, ...] | None:
        """The bin under plot coordinates (x, y), or None outside the histogram."""
        axes = self.current.axes
        coords = [x] if len(axes) == 1 else [x, y]
        index = tuple(
            int(a.index(np.array([c], dtype=np.float64))[0]) for a, c in zip(axes, coords, strict=True)
        )
        return None if min(index) < 0 else index

    def select_bin(self, index: tuple[int, ...]) -> BinSelection:
        """List the events of a bin and emit ``bin_selected``."""
        records = self.current.events_in_bin(*index)
        selection = BinSelection(self.current.definition.name, index, records)
        self.events_list.clear()
        self.events_list.addItems([describe(r) for r in records])
        centres = ", ".join(
            f"{a.label or a.name} {a.lo + (i + 0.5) * a.width:.3g}"
            for a, i in zip(self.current.axes, index, strict=True)
        )
        self.events_label.setText(f"{len(records)} newest events at {centres}")
        self.bin_selected.emit(selection)
        return selection

    def _clicked(self, event: pg.GraphicsScene.mouseEvents.MouseClickEvent) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        viewbox = self.plot.getViewBox()
        if not viewbox.sceneBoundingRect().contains(event.scenePos()):
            return
        point = viewbox.mapSceneToView(event.scenePos())
        index = self.bin_at(point.x(), point.y())
        if index is not None:
            self.select_bin(index)

    # -- export -------------------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> Path:
        """Save the panel (plot, status, event list) as a PNG for the e-log."""
        from panels.files import save_pixmap

        return save_pixmap(self.grab(), path)  # atomic; OutputError names the file

    def _export_dialog(self) -> None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export histogram", f"{self.current.definition.name}.png", "PNG images (*.png)"
        )
        if not name:
            return
        try:
            self.export_png(name)
        except OSError as exc:
            QtWidgets.QMessageBox.warning(self, "Export failed", str(exc))


def describe(record: np.void) -> str:
    """One line per linked event: experiment, run, event, and where it was in the stream."""
    r = record
    return f"{event_label(r['experiment'], r['run'], r['event'])}  [batch {r['batch']} row {r['row']}]"
