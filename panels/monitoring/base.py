"""What every live panel shares: a header with export buttons, strip charts, PNG/CSV export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from monitoring.model import MonitorModel
from panels.monitoring.style import GAP_COLOR
from panels.plots import pg
from panels.theme import current_theme

SPANS = {"10 min": 600.0, "1 h": 3600.0, "8 h": 8 * 3600.0, "24 h": 86400.0}


def cache_axes(plot: pg.PlotWidget) -> None:
    """Keep each axis as a pixmap, redrawn only when its range or size changes.

    pyqtgraph records an axis as a QPicture and replays it (every tick label's text) on every
    repaint of the plot, ~1 ms per axis here: most repaints bring new data, not a new range."""
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


KEY_COLUMNS = 8  # curves per row of a chart's key


class ChartKey(pg.LegendItem):
    """A strip chart's key as rows above its plot, laid out by the plot, never over the curves.

    The usual pyqtgraph legend floats inside the view box, where a live curve sooner or later runs
    under it (the luminosity and the beam currents sit at the top of their range, right where the
    legend was). Here it takes the plot item's title row, which strip charts do not use."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        super().__init__(colCount=KEY_COLUMNS, labelTextSize="8pt", frame=False)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.setVerticalSpacing(0)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        plot_item.layout.removeItem(plot_item.titleLabel)
        plot_item.titleLabel.hide()
        plot_item.layout.addItem(self, 0, 1, Qt.AlignmentFlag.AlignLeft)
        self.setParentItem(plot_item)
        plot_item.legend = self  # named curves join it, as they would join a legend

    def updateSize(self) -> None:  # pyqtgraph name: the plot's layout places and sizes the key
        self.layout.invalidate()
        self.updateGeometry()


class StripChart(pg.PlotWidget):
    """A time axis, curves made once and then only fed with ``setData``, boundary and gap markers.

    Curves are drawn with 1-pixel cosmetic pens: Qt's raster engine strokes wider pens as
    polygons, several times slower for thousands of points (pyqtgraph PRs #1897, #1910)."""

    def __init__(self, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setBackground(current_theme().color("plot_background"))
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLabel("left", y_label)
        self.key = ChartKey(self.plotItem)
        self.setMouseEnabled(x=False, y=True)
        cache_axes(self)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.markers: dict[str, pg.PlotDataItem] = {}
        self._marked: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # what each marker item shows

    def curve(self, key: str, name: str, color: str) -> pg.PlotDataItem:
        item = self.plot([], [], name=name, pen=pg.mkPen(color, width=1, cosmetic=True), connect="finite")
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        self.curves[key] = item
        return item

    def marker(
        self, key: str, name: str, color: str, style: Qt.PenStyle, width: float = 1.0
    ) -> pg.PlotDataItem:
        """Vertical segments (boundaries) or horizontal bars (gaps), drawn as one item of pairs."""
        item = self.plot([], [], name=name, pen=pg.mkPen(color, width=width, style=style), connect="pairs")
        self.markers[key] = item
        return item

    def verticals(self, key: str, times: np.ndarray, y0: float, y1: float) -> None:
        x = np.repeat(np.asarray(times, dtype=float), 2)
        y = np.tile([y0, y1], len(times))
        self._mark(key, x, y)

    def gaps(self, key: str, spans: list[tuple[float, float]], y: float) -> None:
        x = np.array([t for span in spans for t in span], dtype=float)
        self._mark(key, x, np.full(len(x), y))

    def _mark(self, key: str, x: np.ndarray, y: np.ndarray) -> None:
        """Markers change rarely (a run starts, a gap opens): the item is fed only when they do."""
        shown = self._marked.get(key)
        if shown is not None and np.array_equal(shown[0], x) and np.array_equal(shown[1], y):
            return
        self._marked[key] = (x, y)
        self.markers[key].setData(x, y)

    def window(self, t_end: float, span: float) -> None:
        """Show [t_end - span, t_end]; moves of less than a pixel wait (no repaint for nothing)."""
        if not math.isfinite(t_end):
            return
        (x0, x1), _ = self.viewRange()
        pixel = span / max(1, self.plotItem.vb.width())
        if abs(x1 - t_end) >= pixel or abs((x1 - x0) - span) > pixel:
            self.setXRange(t_end - span, t_end, padding=0.0)


def gap_marker(chart: StripChart) -> None:
    chart.marker("gaps", "no data (gap)", GAP_COLOR, Qt.PenStyle.SolidLine, width=6)


class MonitorPanel(QWidget):
    """A live panel: a title row with the time span and PNG/CSV export, then the content."""

    title = "panel"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self.span = SPANS["1 h"]
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        header = QHBoxLayout()
        self.heading = QLabel(f"<b>{self.title}</b>")
        header.addWidget(self.heading)
        header.addStretch(1)
        self.span_box = QComboBox()
        self.span_box.addItems(list(SPANS))
        self.span_box.setCurrentText("1 h")
        self.span_box.currentTextChanged.connect(self._set_span)
        header.addWidget(self.span_box)
        for text, slot in (("PNG", self._ask_png), ("CSV", self._ask_csv)):
            button = QPushButton(text)
            button.setToolTip(f"export this panel as {text}")
            button.clicked.connect(slot)
            header.addWidget(button)
        outer.addLayout(header)
        self.body = QVBoxLayout()
        outer.addLayout(self.body, 1)
        self._version = -1
        self.model: MonitorModel | None = None
        self.hub: object | None = None  # keeps a standalone panel's hub alive

    def _set_span(self, text: str) -> None:
        self.span = SPANS[text]
        self._version = -1

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self, model: MonitorModel) -> None:
        """Called on every hub tick while visible: data only when it changed, the axis always."""
        self.model = model
        if model.version != self._version:
            self._version = model.version
            self.update_data(model)
        self.follow(model)

    def update_data(self, model: MonitorModel) -> None:
        raise NotImplementedError

    def follow(self, model: MonitorModel) -> None:
        pass

    # --- export ----------------------------------------------------------------------------
    def csv_rows(self) -> tuple[list[str], list[list[object]]]:
        raise NotImplementedError

    def export(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``stem.png`` (what is on screen) and ``stem.csv`` (the data behind it)."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        png, table = stem.with_suffix(".png"), stem.with_suffix(".csv")
        from panels.files import save_csv, save_pixmap  # atomic; OutputError names the file

        save_pixmap(self.grab(), png)
        header, rows = self.csv_rows()
        save_csv(table, header, rows)
        return png, table

    def _ask_png(self) -> None:
        self._ask("PNG image (*.png)", ".png")

    def _ask_csv(self) -> None:
        self._ask("CSV table (*.csv)", ".csv")

    def _ask(self, filter_: str, suffix: str) -> None:
        default = f"{type(self).__name__.lower()}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.title}", default, filter_)
        if not path:
            return
        try:
            png, table = self.export(Path(path).with_suffix(""))
            self.heading.setText(f"<b>{self.title}</b> — saved {png.name}, {table.name}")
        except OSError as exc:
            self.heading.setText(
                f"<b>{self.title}</b> — <span style='color:#ff4040'>export failed: {exc}</span>"
            )


def series_rows(model: MonitorModel, channels: list[str], t_min: float) -> list[list[object]]:
    """Long-format rows (channel, timestamp, value) of strip-buffer data since ``t_min``."""
    rows: list[list[object]] = []
    for name in channels:
        if name not in model.buffers:
            continue
        t, v = model.buffers[name].view(t_min)
        rows += [
            [name, f"{ti:.6f}", "" if math.isnan(vi) else f"{vi:.6g}"] for ti, vi in zip(t, v, strict=True)
        ]
    return rows
