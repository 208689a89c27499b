"""Live recoil-mass histograms: run, window or delta view, reference overlay, DQM status, bin -> events.

The status shows as a glyph, a word and a colour (the colour table's ``dqm`` section); the plot
follows the theme (its background, axes and the data and reference colours).

Plot items are created once and only ``setData`` is called, from a timer (arrival rate is not
paint rate; a hidden panel skips its repaint). Clicking a bin lists the newest events in it and
emits ``bin_selected`` with them, so the event display can open them.

The panel shows either the live stream's running histograms or the histograms of the open data set
(:class:`DatasetHistogram`, filled by a pass over every event, ``monitoring.histograms.files.
fill_dataset``); the "source" box switches between them. A data set's bin lists every one of its
events (records with ``batch`` -1 and ``row`` the event's index in the data set), with no buffer
limit. An empty 1D histogram shows its own axis range, never the plot's default.

The DQM controls: the view ("run", "window" of the last batches, or the delta over the last 1, 5, 10 or
30 minutes); the reference's normalisation for drawing (basf2's choices: to the entries, to the maximum,
none), per histogram, its default the definition's; and the reference itself, the previous complete run
by default, or a ROOT file the shifter chooses (``load_reference_file``). With ``settings`` (QSettings)
the file and the normalisations are remembered and the file is loaded again at start; a file that cannot
be used is one line (``message``, and the log) and the panel goes on with the previous run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

from displays.palette import State, palette
from events.model import EVENT_ID, event_label, run_label
from monitoring.histograms.compare import Normalisation, Status, check, scale_reference
from monitoring.histograms.definitions import HistogramDefinition, display_label, display_title
from monitoring.histograms.files import DatasetCounts
from monitoring.histograms.reference import ReferenceFileError, load_references
from monitoring.histograms.running import LINK_DTYPE, RunningHistogram, Snapshot
from panels.plots import pg
from panels.theme import Theme, current_theme, theme_notifier

STATUS: dict[Status, State] = {status: palette().state("dqm", status.value) for status in Status}
STATUS_TEXT = {status: state.text for status, state in STATUS.items()}
# data in the accent colour of the theme, the reference dashed
DATA_WIDTH = 2
REFERENCE_COLOR = palette().hex("monitoring.reference")
# the view box: run-integrated, the last batches, or the delta over the last minutes (seconds)
DELTA_VIEWS = {"last 1 min": 60.0, "last 5 min": 300.0, "last 10 min": 600.0, "last 30 min": 1800.0}
VIEWS = ("run", "window", *DELTA_VIEWS)
# a 2D histogram: its counts with the reference's contours over them, or its difference from / ratio
# to the reference (scaled as the normalisation says), on a diverging colour map
DATA_PLANE, DIFFERENCE, RATIO = "data", "data − reference", "data ÷ reference"
PLANE_VIEWS = (DATA_PLANE, DIFFERENCE, RATIO)
CONTOUR_LEVELS = (0.1, 0.5)  # of the tallest bin of the reference (smoothed over 3 x 3 bins)
RATIO_TOP = 2.0  # the ratio's colour scale: 0 … 1 (white: as the reference) … 2 and more
REFERENCE_FILE_KEY = "dqm/reference_file"
NORMALISATION_KEY = "dqm/normalisation/"  # + histogram name
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BinSelection:
    """The events behind one bin: ``records`` has fields experiment, run, event, batch, row."""

    histogram: str
    bin: tuple[int, ...]
    records: NDArray[np.void]


MAX_LISTED = 1000  # events of a data set's bin listed by name (the selection holds them all)


class DatasetHistogram:
    """One histogram of a data set, as the panel draws a running one: counts, no window, no run."""

    def __init__(self, definition: HistogramDefinition, counts: DatasetCounts) -> None:
        self.definition = definition
        self.axes = definition.axes
        self.counts = counts
        run_counts = counts.counts[definition.name]
        self._snapshot = Snapshot(
            name=definition.name,
            title=definition.title,
            axes=self.axes,
            experiment=-1,
            run=-1,
            run_counts=run_counts,
            window_counts=run_counts,
            window_batches=0,
            reference=None,
            check=check(run_counts, None),
            batches=0,
            events_seen=counts.done,
        )

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def events_in_bin(self, *index: int) -> NDArray[np.void]:
        """Every event of the data set in this bin, in data-set order."""
        name = self.definition.name
        indices = self.counts.events_in_bin(name, *index)
        ids = self.counts.ids_in_bin(name, *index)
        records = np.zeros(len(indices), dtype=LINK_DTYPE)
        records["batch"] = -1
        records["row"] = indices
        for k, key in enumerate(EVENT_ID):
            records[key] = ids[:, k]
        return records


class HistogramPanel(QtWidgets.QWidget):
    bin_selected = QtCore.Signal(object)  # BinSelection
    event_chosen = QtCore.Signal(object)  # one record of the bin's list, double-clicked
    message = QtCore.Signal(str)  # one line for the status bar (a reference file that cannot be used)

    def __init__(
        self,
        histograms: Sequence[RunningHistogram],
        refresh_ms: int = 250,
        parent: QtWidgets.QWidget | None = None,
        settings: QtCore.QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        if not histograms:
            raise ValueError("HistogramPanel needs at least one running histogram")
        self.live: list[RunningHistogram] = list(histograms)
        self.histograms: list[RunningHistogram] | list[DatasetHistogram] = self.live
        self.dataset: list[DatasetHistogram] = []
        self.current: RunningHistogram | DatasetHistogram = self.histograms[0]
        self.snapshot: Snapshot | None = None
        self.shown: NDArray[np.int64] | None = None  # the counts drawn (run, window or delta)
        self._drawn_at = 0.0  # monotonic time of the last refresh (a delta view ages without fills)
        self._reference_top = 0.0  # the tallest bin of the reference as drawn
        self.records: NDArray[np.void] = np.zeros(0, dtype=LINK_DTYPE)  # the listed bin's events
        self.settings = settings
        self.normalisation: dict[str, Normalisation] = {
            h.definition.name: self._remembered_normalisation(h.definition) for h in self.live
        }
        self.reference_file: Path | None = None

        self.source_box = QtWidgets.QComboBox()
        self.source_box.addItem("live stream")
        self.source_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.source_box.setToolTip("the live stream's running histograms, or those of the open data set")
        self.progress = QtWidgets.QProgressBar()  # the data set's pass, while it runs
        self.progress.setFormat("data set: %v of %m events")
        self.progress.setMinimumWidth(240)
        self.progress.hide()

        self.chooser = QtWidgets.QComboBox()
        self.chooser.addItems([display_title(h.definition) for h in self.histograms])
        self.view_mode = QtWidgets.QComboBox()
        self.view_mode.addItems(list(VIEWS))
        self.view_mode.setToolTip(
            "run: this run's entries; window: the last batches; last N min: the delta over the last minutes"
        )
        self.norm_box = QtWidgets.QComboBox()
        self.norm_box.addItems([n.value for n in Normalisation])
        self.norm_box.setToolTip(
            "how the reference is drawn (Belle II DQM): scaled to the entries, to the maximum, or as it is"
        )
        self.plane_box = QtWidgets.QComboBox()  # 2D histograms only
        self.plane_box.addItems(list(PLANE_VIEWS))
        self.plane_box.setToolTip(
            "a 2D histogram: its counts with the reference's contours (at 10 % and 50 % of its peak), "
            "or the difference from or the ratio to the reference scaled as chosen"
        )
        self.reference_button = QtWidgets.QToolButton()
        self.reference_button.setText("Reference")
        self.reference_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.reference_button)
        menu.addAction("Choose a reference file...", self._reference_dialog)
        menu.addAction("The previous complete run (default)", self.follow_previous_run)
        self.reference_button.setMenu(menu)
        self.status_label = QtWidgets.QLabel()
        self.status_label.setMinimumWidth(260)
        self.status_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.export_button = QtWidgets.QPushButton("PNG")  # the monitoring panels' wording
        self.export_button.setToolTip("export this panel as PNG (plot, status and event list, for the e-log)")
        # the dock stays narrow: names elide
        for box in (self.chooser, self.view_mode, self.norm_box, self.plane_box):
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(8)
        top = QtWidgets.QHBoxLayout()  # what is shown; then how it stands, in a row of its own
        top.addWidget(self.source_box)
        top.addWidget(self.chooser, 1)
        top.addWidget(self.view_mode)
        top.addWidget(self.norm_box)
        top.addWidget(self.plane_box)
        top.addWidget(self.reference_button)
        top.addWidget(self.export_button)
        status_row = QtWidgets.QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.progress)

        theme = current_theme()
        self.plot = pg.PlotWidget(background=theme.color("plot_background"))
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # counts are counts, never "x0.001"
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.data_item = pg.PlotDataItem(stepMode="center", fillLevel=0, name="data")
        self.reference_item = pg.PlotDataItem(
            stepMode="center",
            pen=pg.mkPen(REFERENCE_COLOR, width=2, style=QtCore.Qt.PenStyle.DashLine),
            name="reference (scaled)",
        )
        self.image_item = pg.ImageItem(axisOrder="col-major")
        self.colormaps = {DATA_PLANE: pg.colormap.get("viridis"), DIFFERENCE: pg.colormap.get("CET-D1")}
        self.colormaps[RATIO] = self.colormaps[DIFFERENCE]
        self._colormap = DATA_PLANE
        self.image_item.setColorMap(self.colormaps[DATA_PLANE])
        for item in (self.image_item, self.data_item, self.reference_item):
            self.plot.addItem(item)
        # the reference of a 2D histogram: contours over the image, in the image's bin coordinates
        # (a bin's centre is half a bin in from its corner)
        self.contour_items = []
        for _ in CONTOUR_LEVELS:
            contour = pg.IsocurveItem(pen=pg.mkPen(REFERENCE_COLOR, width=2), axisOrder="col-major")
            contour.setParentItem(self.image_item)
            contour.setPos(0.5, 0.5)
            contour.setZValue(10)
            self.contour_items.append(contour)

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
        layout.addLayout(status_row)
        layout.addLayout(body)

        self.chooser.currentIndexChanged.connect(self._choose)
        self.source_box.currentIndexChanged.connect(self._source_chosen)
        self.events_list.itemActivated.connect(self._event_activated)
        self.view_mode.currentIndexChanged.connect(lambda _: self._view_chosen())
        self.norm_box.currentTextChanged.connect(self._normalisation_chosen)
        self.plane_box.currentIndexChanged.connect(lambda _: self.refresh())
        self.export_button.clicked.connect(self._export_dialog)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(refresh_ms)
        self.follow_theme(theme)
        theme_notifier().changed.connect(self.follow_theme)
        self._choose(0)
        remembered = settings.value(REFERENCE_FILE_KEY, "") if settings is not None else ""
        if remembered:
            QtCore.QTimer.singleShot(0, lambda: self.load_reference_file(str(remembered), remember=False))

    # -- references and normalisation ---------------------------------------------------------
    def _remembered_normalisation(self, definition: HistogramDefinition) -> Normalisation:
        if self.settings is not None:
            text = str(self.settings.value(NORMALISATION_KEY + definition.name, ""))
            if text in {n.value for n in Normalisation}:
                return Normalisation(text)
        return definition.normalisation

    def _normalisation_chosen(self, text: str) -> None:
        name = self.current.definition.name
        if name not in self.normalisation or self.normalisation[name].value == text:
            return
        self.normalisation[name] = Normalisation(text)
        if self.settings is not None:
            self.settings.setValue(NORMALISATION_KEY + name, text)
        self.refresh()

    def load_reference_file(self, path: str | Path, remember: bool = True) -> str:
        """Use the histograms of a ROOT file as the live histograms' references (pinned across runs);
        returns the one line said about it (also emitted as ``message``). A file that cannot be used
        changes nothing; histograms the file lacks keep the previous run."""
        definitions = [h.definition for h in self.live]
        try:
            refs = load_references(path, definitions)
        except ReferenceFileError as exc:
            text = f"reference: {exc}; the previous run stays the reference"
            log.warning(text)
            self.message.emit(text)
            return text
        for h in self.live:
            if h.definition.name in refs.counts:
                h.set_reference(refs.counts[h.definition.name], refs.label)
        self.reference_file = refs.path
        if remember and self.settings is not None:
            self.settings.setValue(REFERENCE_FILE_KEY, str(refs.path))
        used = ", ".join(refs.counts)
        text = f"reference: {refs.path}: {used}"
        if refs.notes:
            missing = "; ".join(n.removeprefix(f"{refs.path}: ") for n in refs.notes)
            text += f" (not: {missing})"
            log.warning(text)
        self.message.emit(text)
        self.refresh()
        return text

    def follow_previous_run(self) -> None:
        """Back to the default: each histogram's previous complete run; the file is forgotten."""
        for h in self.live:
            h.follow_previous_run()
        self.reference_file = None
        if self.settings is not None:
            self.settings.remove(REFERENCE_FILE_KEY)
        self.refresh()

    def _reference_dialog(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Reference histograms", "", "ROOT files (*.root);;All files (*)"
        )
        if name:
            self.load_reference_file(name)

    def _view_chosen(self) -> None:
        self.shown = None  # the range follows the new view
        self.refresh()

    def follow_theme(self, theme: Theme) -> None:
        """Data drawn in the theme's accent colour, filled translucent; the plot in its colours."""
        accent = QtGui.QColor(theme.color("accent"))
        self.data_item.setPen(pg.mkPen(accent, width=DATA_WIDTH))
        fill = QtGui.QColor(accent)
        fill.setAlpha(110)
        self.data_item.setBrush(pg.mkBrush(fill))
        if self.snapshot is not None:
            self._show_status(self.snapshot)

    # -- sources ------------------------------------------------------------------------------
    def show_dataset(self, counts: DatasetCounts, name: str) -> None:
        """Draw the histograms of a data set (``fill_dataset``) and switch to them."""
        by_name = {h.definition.name: h.definition for h in self.live}
        self.dataset = [DatasetHistogram(by_name[k], counts) for k in counts.counts if k in by_name]
        cut = f", {counts.done} of {counts.total} events (cancelled)" if counts.cancelled else ""
        label = f"data set: {name}{cut}"
        if self.source_box.count() < 2:
            self.source_box.addItem(label)
        else:
            self.source_box.setItemText(1, label)
        if self.source_box.currentIndex() == 1:
            self._source_chosen(1)
        else:
            self.source_box.setCurrentIndex(1)

    def _source_chosen(self, index: int) -> None:
        self.histograms = self.dataset if index == 1 and self.dataset else self.live
        names = [h.definition.name for h in self.histograms]
        chosen = names.index(self.current.definition.name) if self.current.definition.name in names else 0
        self.view_mode.setEnabled(self.histograms is self.live)
        self.norm_box.setEnabled(self.histograms is self.live)
        self.reference_button.setEnabled(self.histograms is self.live)
        self._choose(chosen)

    def follow_progress(self, done: int, total: int) -> None:
        """The data set's pass: shown while it runs (``done < total``), hidden when it ends."""
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    # -- drawing ------------------------------------------------------------------------------
    def _choose(self, index: int) -> None:
        self.current = self.histograms[index]
        if self.chooser.currentIndex() != index:
            self.chooser.blockSignals(True)
            self.chooser.setCurrentIndex(index)
            self.chooser.blockSignals(False)
        axes = self.current.axes
        two_d = len(axes) == 2
        self.data_item.setVisible(not two_d)
        self.reference_item.setVisible(not two_d)
        self.image_item.setVisible(two_d)
        self.plane_box.setVisible(two_d)
        self.legend.setVisible(not two_d)
        name = self.current.definition.name
        if name in self.normalisation:
            self.norm_box.blockSignals(True)
            self.norm_box.setCurrentText(self.normalisation[name].value)
            self.norm_box.blockSignals(False)
        self.shown = None
        self.plot.setLabel("bottom", display_label(axes[0]))
        self.plot.setLabel("left", display_label(axes[1]) if two_d else "events / bin")
        self.events_list.clear()
        self.refresh()
        if two_d:
            x, y = axes
            self.plot.setRange(xRange=(x.lo, x.hi), yRange=(y.lo, y.hi), padding=0)
        else:
            self._range_1d()

    def _range_1d(self) -> None:
        """x: the histogram's own axis; y: from 0 to the tallest bin of the data or the drawn reference
        (0-1 while both are empty)."""
        (x,) = self.current.axes
        box = self.plot.getViewBox()
        box.disableAutoRange()
        box.setXRange(x.lo, x.hi, padding=0.01)
        top = float(self.shown.max()) if self.shown is not None and x.bins else 0.0
        top = max(top, self._reference_top)  # the reference drawn whole, whatever its scaling
        if top > 0:
            box.setYRange(0.0, top * 1.1, padding=0)
        else:
            box.setYRange(0.0, 1.0, padding=0)

    def _tick(self) -> None:
        if not self.isVisible():
            return
        aging = self.view_mode.currentText() in DELTA_VIEWS and time.monotonic() - self._drawn_at > 1.0
        if aging or self.current.snapshot() is not self.snapshot:
            self.refresh()  # nothing is redrawn (and no check rerun) while nothing was filled

    def refresh(self) -> None:
        """Take a snapshot of the current histogram and push it into the existing items."""
        snap = self.current.snapshot()
        shown = self.counts(snap)
        grown = (
            self.shown is None
            or self.snapshot is None
            or self.snapshot.name != snap.name
            or float(shown.max(initial=0)) != float(self.shown.max(initial=0))
        )
        self.snapshot, self.shown, self._drawn_at = snap, shown, time.monotonic()
        counts = shown.astype(np.float64)
        if len(snap.axes) == 1:
            edges = snap.axes[0].edges
            self.data_item.setData(edges, counts)
            reference_top = 0.0
            if snap.reference is not None and snap.reference.sum() > 0:
                normalisation = self.normalisation.get(snap.name, Normalisation.ENTRIES)
                scaled = scale_reference(snap.reference, counts, normalisation)
                self.reference_item.setData(edges, scaled)
                self._legend_reference(normalisation)
                reference_top = float(scaled.max())
            else:
                self.reference_item.setData([], [])
            if grown or reference_top != self._reference_top:
                self._reference_top = reference_top
                self._range_1d()
        else:
            self._draw_plane(snap, counts)
        self._show_status(snap)

    def _draw_plane(self, snap: Snapshot, counts: NDArray[np.float64]) -> None:
        """A 2D histogram: the image of the chosen plane view, the reference's contours over it."""
        x, y = snap.axes
        rect = QtCore.QRectF(x.lo, y.lo, x.hi - x.lo, y.hi - y.lo)
        scaled = None
        if snap.reference is not None and snap.reference.sum() > 0:
            normalisation = self.normalisation.get(snap.name, Normalisation.ENTRIES)
            scaled = scale_reference(snap.reference, counts, normalisation)
        view = self.plane_box.currentText() if scaled is not None else DATA_PLANE
        image, levels = plane_image(counts, scaled, view)
        if view != self._colormap:
            self._colormap = view
            self.image_item.setColorMap(self.colormaps[view])
        self.image_item.setImage(image, levels=levels, autoLevels=False, rect=rect)
        smooth = smoothed(scaled) if scaled is not None else None
        top = float(smooth.max()) if smooth is not None else 0.0
        for contour, fraction in zip(self.contour_items, CONTOUR_LEVELS, strict=True):
            if smooth is not None and top > 0:
                contour.setData(smooth, level=fraction * top)
                contour.show()
            else:
                contour.setData(None)
                contour.hide()

    def counts(self, snap: Snapshot) -> NDArray[np.int64]:
        """The counts of the chosen view: run, window, or the delta over the last minutes."""
        view = self.view_mode.currentText()
        if view == "window":
            return snap.window_counts
        if view in DELTA_VIEWS and isinstance(self.current, RunningHistogram):
            return self.current.delta(DELTA_VIEWS[view])
        return snap.run_counts

    def _legend_reference(self, normalisation: Normalisation) -> None:
        words = {Normalisation.ENTRIES: "scaled to entries", Normalisation.MAXIMUM: "scaled to maximum",
                 Normalisation.NONE: "not scaled"}[normalisation]  # fmt: skip
        for sample, label in self.legend.items:
            if sample.item is self.reference_item and label.text != f"reference ({words})":
                label.setText(f"reference ({words})")

    def _show_status(self, snap: Snapshot) -> None:
        result = snap.check
        state = STATUS[result.status]
        text = state.label
        if result.status in (Status.GOOD, Status.WARNING, Status.ERROR):
            p = "< 1e-9" if result.p_value < 1e-9 else f"= {result.p_value:.2g}"
            text += f" ({result.method} p {p})"
        if isinstance(self.current, DatasetHistogram):
            run = f"data set, {int(snap.run_counts.sum())} entries of {snap.events_seen} events"
        else:
            run = run_label(snap.experiment, snap.run) if snap.run >= 0 else "no run yet"
            if snap.reference is not None:
                text += f"; ref {snap.reference_source}"
        self.status_label.setText(f"{run}: {text}")
        self.status_label.setToolTip(f"reference: {snap.reference_source}")
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
        self.records = records
        self.events_list.clear()
        listed = records[:MAX_LISTED]
        self.events_list.addItems([describe(r) for r in listed])
        centres = ", ".join(
            f"{display_label(a)} {a.lo + (i + 0.5) * a.width:.3g}"
            for a, i in zip(self.current.axes, index, strict=True)
        )
        if isinstance(self.current, DatasetHistogram):
            more = f" (the first {MAX_LISTED} listed)" if len(records) > MAX_LISTED else ""
            self.events_label.setText(f"{len(records)} events of the data set at {centres}{more}")
        else:
            self.events_label.setText(f"{len(records)} newest events at {centres}")
        self.bin_selected.emit(selection)
        return selection

    def _event_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        row = self.events_list.row(item)
        if 0 <= row < len(self.records):
            self.event_chosen.emit(self.records[row])

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


def plane_image(
    counts: NDArray[np.float64], scaled: NDArray[np.float64] | None, view: str
) -> tuple[NDArray[np.float64], tuple[float, float]]:
    """The image of a 2D histogram's view and its colour levels: the counts (0 … the tallest bin),
    their difference from the scaled reference (symmetric about 0), or their ratio to it (0 … 2, 1 as
    the reference; a bin the reference lacks counts as the top where it has entries, 1 where not)."""
    if scaled is None or view == DATA_PLANE:
        return counts, (0.0, max(float(counts.max(initial=0.0)), 1.0))
    if view == DIFFERENCE:
        diff = counts - scaled
        reach = max(float(np.abs(diff).max(initial=0.0)), 1.0)
        return diff, (-reach, reach)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scaled > 0, counts / scaled, np.where(counts > 0, RATIO_TOP, 1.0))
    return ratio, (0.0, RATIO_TOP)


def smoothed(plane: NDArray[np.float64]) -> NDArray[np.float64]:
    """The mean over each bin and its eight neighbours (edges repeated): a reference's contours follow
    its shape, not its bin-to-bin fluctuations."""
    padded = np.pad(plane, 1, mode="edge")
    rows, cols = plane.shape
    out = sum(padded[i : i + rows, j : j + cols] for i in range(3) for j in range(3))
    return np.asarray(out, dtype=np.float64) / 9.0


def describe(record: np.void) -> str:
    """One line per linked event: experiment, run, event, and where it was in the stream."""
    r = record
    if r["batch"] < 0:  # an event of the data set, by its index there
        return f"{event_label(r['experiment'], r['run'], r['event'])}  [#{r['row'] + 1} of the data set]"
    return f"{event_label(r['experiment'], r['run'], r['event'])}  [batch {r['batch']} row {r['row']}]"
