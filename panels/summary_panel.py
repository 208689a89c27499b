"""The Event summary dock: one row per event of the open data set, sortable, filterable, clickable.

The table is ``events.summary.summarize`` of the data set, computed on a thread of its own
(``panels.background``) with a progress bar and a Cancel button, shown by a ``QTableView`` over
:class:`SummaryModel`, a model over the summary's numpy columns (no item per cell): a row of the
view is an entry of ``rows``, the events shown in the order shown. Clicking a column header sorts
by it (NaN last either way); the filter box takes the browser's expressions (``events.filtering``):
on the table's own columns it is evaluated at once, on other variables (``max_p``, ``nklm``...) by a
pass over the data set. Clicking a row emits ``event_chosen`` with the event's index in the data set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from events import filtering, trigger
from events.source import location_name
from events.summary import COUNT_COLUMNS, FLAGS, ID_COLUMNS, QUANTITY_COLUMNS, EventSummary, summarize
from panels.background import BackgroundPass, Cancel, PassBar, Progress, stop
from panels.event_browser import pass_copy

Qt = QtCore.Qt
Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
ROOT = QtCore.QModelIndex()
DISPLAY = Qt.ItemDataRole.DisplayRole
NUMBER_FORMAT = "{:.3f}"
NO_VALUE = "–"  # NaN: no mu+ mu- pair, no photon

# (column key, heading, tooltip); the keys of filter variables are their names in expressions
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("index", "#", "position in the data set, from 1 (as the browser counts)"),
    ("file", "file", "the file the event is in"),
    ("local", "# in file", "position in its file, from 1"),
    ("experiment", "exp", "experiment number (filter: experiment)"),
    ("run", "run", "run number (filter: run)"),
    ("event", "event", "event number (filter: event)"),
    *(
        (name, heading, f"{filtering.QUANTITIES[name][1]} (filter: {name})")
        for name, heading in (
            ("ntracks", "tracks"),
            ("necl", "photons"),
            ("total_ecl_energy", "ΣE_ECL [GeV]"),
            ("max_ecl_energy", "E_ECL max [GeV]"),
            ("recoil_mass", "M_recoil [GeV]"),
            ("photon_cms_energy", "E*_γ [GeV]"),
        )
    ),
    # the L1 trigger as a count and as the names: "L1 count" (a number, for sorting and cuts) and
    # "L1 lines fired" (which ones), never two headings that read alike
    (
        "nl1",
        "L1 count",
        "how many L1 trigger lines the event fired, after prescale; which ones: L1 lines fired (filter: nl1)",
    ),
    ("flags", "flags", "mumu: a mu+ mu- pair; photon: a photon candidate; signal: injected; mc: MC truth"),
    (
        "l1",
        "L1 lines fired",
        "the names of the L1 trigger lines the event fired, after prescale; how many: L1 count "
        "(filter: l1('name'))",
    ),
)
KEYS = tuple(key for key, _, _ in COLUMNS)
TABLE_VARIABLES = frozenset((*ID_COLUMNS, *QUANTITY_COLUMNS))  # filter variables the table holds
TEXT_KEYS = frozenset({"file", "flags", "l1"})


def _names(bits: int, labels: tuple[str, ...]) -> str:
    return ",".join(name for k, name in enumerate(labels) if bits >> k & 1) or NO_VALUE


class SummaryModel(QtCore.QAbstractTableModel):
    """The rows of an :class:`EventSummary` that pass the filter, in the order of the sort."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.summary: EventSummary | None = None
        self.rows = np.zeros(0, np.int64)  # summary rows shown, in the order shown
        self.selection: np.ndarray | None = None  # bool per summary row; None: every row
        self.sort_key: tuple[int, Qt.SortOrder] | None = None
        self._file_names: list[str] = []
        self._text_cache: dict[tuple[str, int], str] = {}

    # -- contents ----------------------------------------------------------------------------
    def set_summary(self, summary: EventSummary | None) -> None:
        self.beginResetModel()
        self.summary = summary
        self.selection = None
        self._file_names = [location_name(f) for f in summary.files] if summary is not None else []
        self._text_cache.clear()
        self._arrange()
        self.endResetModel()

    def set_selection(self, mask: np.ndarray | None) -> None:
        """Show only the summary rows where ``mask`` is true (None: all), keeping the sort."""
        self.beginResetModel()
        self.selection = mask
        self._arrange()
        self.endResetModel()

    def _arrange(self) -> None:
        n = len(self.summary) if self.summary is not None else 0
        rows = np.arange(n, dtype=np.int64) if self.selection is None else np.flatnonzero(self.selection)
        if self.sort_key is not None and len(rows):
            column, order = self.sort_key
            rows = rows[self._order(KEYS[column], rows, order)]
        self.rows = rows

    def _order(self, key: str, rows: np.ndarray, order: Qt.SortOrder) -> np.ndarray:
        assert self.summary is not None
        columns = self.summary.columns
        descending = order == Qt.SortOrder.DescendingOrder
        if key == "file":  # by file, then by place in it
            keys = columns["index"][rows]
            return np.argsort(-keys if descending else keys, kind="stable")
        values = columns[{"l1": "l1_bits"}.get(key, key)][rows]
        if values.dtype.kind == "f":  # NaN sorts last either way
            return np.argsort(-values if descending else values, kind="stable")
        ranks = np.argsort(values, kind="stable")
        return ranks[::-1] if descending else ranks

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self.sort_key = (column, order) if 0 <= column < len(COLUMNS) else None  # -1: data-set order
        self._arrange()
        self.layoutChanged.emit()

    def event_index(self, row: int) -> int:
        """The data-set index of the event on view row ``row``."""
        assert self.summary is not None
        return int(self.summary.columns["index"][self.rows[row]])

    # -- the model interface --------------------------------------------------------------------
    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2]
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or self.summary is None:
            return None
        key = KEYS[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignLeft if key in TEXT_KEYS else Qt.AlignmentFlag.AlignRight
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and key == "file":
            return str(self.summary.files[int(self.summary.columns["file"][self.rows[index.row()]])])
        if role == Qt.ItemDataRole.ToolTipRole and key in ("flags", "l1"):  # a long list, whole
            return self.text(index.row(), key).replace(",", ", ")
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self.text(index.row(), key)

    def text(self, row: int, key: str) -> str:
        """The cell of view row ``row`` in column ``key``, as shown."""
        assert self.summary is not None
        columns, r = self.summary.columns, self.rows[row]
        if key == "file":
            return self._file_names[int(columns["file"][r])]
        if key in ("index", "local"):
            return str(int(columns[key][r]) + 1)
        if key in ("flags", "l1"):
            bits = int(columns["flags" if key == "flags" else "l1_bits"][r])
            cached = self._text_cache.get((key, bits))
            if cached is None:
                labels = tuple(FLAGS) if key == "flags" else trigger.L1_BITS
                cached = self._text_cache[(key, bits)] = _names(bits, labels)
            return cached
        value = columns[key][r]
        if key in COUNT_COLUMNS:
            return str(int(value))
        return NO_VALUE if not np.isfinite(value) else NUMBER_FORMAT.format(float(value))


class SummaryPanel(QtWidgets.QWidget):
    """The Event summary dock (see the module doc)."""

    event_chosen = QtCore.Signal(int)  # index of the event in the data set
    message = QtCore.Signal(str)

    def __init__(self, chunk_size: int = 10_000, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.chunk_size = chunk_size
        self.source: Any = None
        self.summary: EventSummary | None = None
        self._job: BackgroundPass | None = None  # the summary pass, while it runs
        self._filter_job: BackgroundPass | None = None  # a filter on variables the table lacks
        self._jobs: set[BackgroundPass] = set()  # every pass whose thread has not ended
        self.model = SummaryModel(self)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.model)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # data-set order
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        rows = self.view.verticalHeader()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.horizontalHeader().setStretchLastSection(True)
        self._set_widths()
        self.title = QtWidgets.QLabel("no data set open")
        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("filter the rows, e.g. recoil_mass > 2 and ntracks == 2")
        self.filter_edit.setToolTip(filtering.help_text())
        self.filter_edit.setClearButtonEnabled(True)
        self.shown_label = QtWidgets.QLabel("")
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setStyleSheet("color: #ff6060;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.bar = PassBar()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.shown_label)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.error_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.view)
        self.filter_edit.returnPressed.connect(lambda: self.apply_filter(self.filter_edit.text()))
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)

    def _set_widths(self) -> None:
        """Each column as wide as its heading or its widest typical cell, whichever is wider."""
        metrics = QtGui.QFontMetrics(self.view.font())
        header = QtGui.QFontMetrics(self.view.horizontalHeader().font())
        typical = {
            "index": "0000000",
            "file": "dark-sector-sample.h5",
            "local": "000000",
            "event": "00000000",
            "flags": "mumu,photon,signal,mc",
        }
        for column, (key, heading, _) in enumerate(COLUMNS):
            cell = typical.get(key, "00.000" if key not in COUNT_COLUMNS else "000")
            width = max(metrics.horizontalAdvance(cell), header.horizontalAdvance(heading) + 18) + 14
            self.view.setColumnWidth(column, width)

    # -- the data set ----------------------------------------------------------------------------
    def set_source(self, source: Any) -> BackgroundPass | None:
        """Summarise ``source`` (a data set or a file) in the background; the table fills when done."""
        self.cancel()
        self.source = source
        self.model.set_summary(None)
        self.summary = None
        self._show_error("")
        name = Path(str(getattr(source, "path", "events"))).name
        self.title.setText(f"{name}: summarising {len(source)} events…")
        # one file: its name is in the title, and the position in it is the position in the set
        one_file = len(getattr(source, "files", ())) <= 1
        for key in ("file", "local"):
            self.view.setColumnHidden(KEYS.index(key), one_file)
        self.shown_label.setText("")

        def work(progress: Progress, cancel: Cancel) -> EventSummary:
            data = pass_copy(source)
            if data is None:
                raise LookupError("these events are not in files: there is no data set to summarise")
            try:
                return summarize(data, self.chunk_size, progress, cancel)
            finally:
                data.close()

        job = self._start(work, self._summarised, len(source))
        self._job = job
        return job

    def _start(self, work: Any, done: Any, total: int) -> BackgroundPass:
        job = BackgroundPass(work, self)
        self._jobs.add(job)
        job.succeeded.connect(lambda result: done(job, result))
        job.failed.connect(lambda text: self._failed(job, text))
        job.finished.connect(lambda: self._ended(job))
        self.bar.follow(job, total)
        job.start()
        return job

    def _ended(self, job: BackgroundPass) -> None:
        self._jobs.discard(job)
        job.deleteLater()

    def _failed(self, job: BackgroundPass, text: str) -> None:
        if job in (self._job, self._filter_job):
            self._show_error(text)
            self.message.emit(text)

    def _summarised(self, job: BackgroundPass, summary: EventSummary) -> None:
        if job is not self._job:  # a data set opened since
            return
        self._job = None
        self.summary = summary
        self.model.set_summary(summary)
        name = Path(str(getattr(self.source, "path", "events"))).name
        cut = f" (cancelled after {len(summary)} of {summary.total})" if summary.cancelled else ""
        self.title.setText(f"{name}: {len(summary)} events{cut}")
        if self.filter_edit.text().strip():
            self.apply_filter(self.filter_edit.text())
        else:
            self._count_shown()

    def cancel(self) -> None:
        """Stop the passes running now (they end after the chunk they are on)."""
        for job in (self._job, self._filter_job):
            if job is not None:
                job.cancel()
        self._job = self._filter_job = None

    def shutdown(self) -> None:
        for job in list(self._jobs):
            stop(job)

    # -- filter ----------------------------------------------------------------------------------
    def apply_filter(self, text: str) -> None:
        """Show only the rows passing ``text`` (an ``events.filtering`` expression; empty: all)."""
        self._show_error("")
        if self._filter_job is not None:
            self._filter_job.cancel()
            self._filter_job = None
        if not text.strip():
            self.model.set_selection(None)
            self._count_shown()
            return
        try:
            flt = filtering.parse(text)
        except filtering.FilterError as exc:
            self._show_error(str(exc))
            return
        summary = self.summary
        if summary is None:
            return
        if not flt.missing(TABLE_VARIABLES):
            self.model.set_selection(flt.on_columns(summary.columns, summary.columns["l1_bits"]))
            self._count_shown()
            return
        source, index = self.source, summary.columns["index"]

        def work(progress: Progress, cancel: Cancel) -> np.ndarray:
            data = pass_copy(source)
            if data is None:
                raise LookupError("these events are not in files")
            passing: list[np.ndarray] = []
            done = 0
            try:
                for chunk in data.scan(self.chunk_size):
                    passing.append(chunk.index[flt(chunk.batch)])
                    done += len(chunk.batch)
                    progress(done, len(data))
                    if cancel():
                        break
            finally:
                data.close()
            return np.isin(index, np.concatenate(passing) if passing else np.zeros(0, np.int64))

        def done(job: BackgroundPass, mask: np.ndarray) -> None:
            if job is self._filter_job and summary is self.summary:
                self._filter_job = None
                self.model.set_selection(mask)
                self._count_shown()

        self.shown_label.setText("filtering…")
        self._filter_job = self._start(work, done, len(source))

    def _count_shown(self) -> None:
        if self.summary is not None:
            self.shown_label.setText(f"{len(self.model.rows)} of {len(self.summary)} shown")

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # -- rows -> the browser ------------------------------------------------------------------------
    def _clicked(self, index: QtCore.QModelIndex) -> None:
        if index.isValid() and self.summary is not None:
            self.event_chosen.emit(self.model.event_index(index.row()))
