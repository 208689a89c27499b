"""The event browser: open a file or a data set (several files, a folder, globs: ``events.dataset``),
step through (filtered) events, jump to experiment/run/event, flag events, save the events passing
the filter, and a table of the event's objects selected together with the views.

A data set is paged as one file: positions run over all its events, and the line under the position
names the file the shown event comes from and its place there. Files it left out (damaged, not event
files) are reported as the reader's notes are: one line each, in the panel, the status bar and the Log.

Reading happens on a worker thread; results come back to the GUI thread through a queued
signal and are dropped if a newer request was made meanwhile. A file that cannot be opened
shows the reason in the panel while the previous file and event stay displayed. Every error is
one line naming the file (shown in the panel, sent on ``message`` for the status bar and logged
for the Log dock); what the reader recorded about the file (dropped tracks, missing leaves) is
shown under the file name and sent on ``message`` too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from displays.event_visuals import EventVisuals
from displays.scene import Scene, Selection
from events import bookmarks as bm
from events import field, filtering, helix
from events import io as event_io
from events.dataset import DataSet, is_pattern, open_dataset
from events.model import EVENT_ID, EventBatch, event_label
from events.source import Events, is_url, location_name
from geometry.angles import polar_angle
from panels.background import BackgroundPass, Cancel, Progress

log = logging.getLogger(__name__)

# ECLCluster hypothesis bits (16 nPhotons, 32 neutralHadron) in words
HYPOTHESIS_NAMES = {16: "photon", 32: "neutral hadron only", 48: "photon or neutral hadron"}


class CannotOpen(Exception):
    """A file the browser could not open; ``cause`` is the reader's own (typed) error."""

    def __init__(self, path: str, cause: BaseException) -> None:
        self.path, self.cause = path, cause
        if isinstance(cause, event_io.EventFileError):  # it names the file already
            text = f"Cannot open {cause}"
        else:
            text = f"Cannot open {path}: {type(cause).__name__}: {cause}"
        super().__init__(text)

Source = Events  # anything with __len__ and read(start, stop) -> EventBatch: a file, a live buffer
CHUNK = 2000  # events per read while filtering or searching
SHOWN_ISSUES = 3  # reader issues listed in the panel (all of them are in the Log dock)


def default_open(path: str) -> Source:
    """The project's readers: mdst ROOT, ROOT ntuple, HDF5, Phoenix JSON."""
    return event_io.open_events(path)


def _close(source: object) -> None:
    """Close a source that has ``close()`` (files do; in-memory sources need not)."""
    close = getattr(source, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:  # a file that fails to close must not take the browser down
        log.warning("%s: cannot close: %s", getattr(source, "path", source), exc)


def pass_copy(source: object) -> DataSet | None:
    """A data set of its own over the files behind ``source`` (a data set or a file), for a pass on
    another thread (readers keep file handles and caches that one thread at a time may use);
    None for in-memory sources (a live snapshot, generated events), which may be read directly."""
    if isinstance(source, DataSet):
        return DataSet(source.files, label=str(source.path), max_open=source.max_open)
    path = getattr(source, "path", None)
    if not isinstance(source, event_io.EventSource) or path is None:
        return None
    if is_url(path) or Path(path).is_file():
        return DataSet([path])
    return None


def write_selected(
    source: Source, rows: np.ndarray, path: Path, progress: Progress | None = None
) -> int:
    """Write events ``rows`` (ascending indices) of ``source`` to ``path`` with ``events.io.write``,
    reading them chunk by chunk from a copy of the source's files (``pass_copy``)."""
    copy = pass_copy(source)
    reader: Source = copy if copy is not None else source
    inputs = copy.files if copy is not None else []
    if len(reader) != len(source):
        raise event_io.EventFileError(path.name, "the files changed since they were opened; open them again")

    def batches() -> Any:
        done = 0
        for start in range(0, len(reader), CHUNK):
            wanted = rows[(rows >= start) & (rows < start + CHUNK)]
            if len(wanted):
                yield reader.read(start, min(start + CHUNK, len(reader))).take(wanted - start)
                done += len(wanted)
                if progress:
                    progress(done, len(rows))

    try:
        return event_io.write(path, batches(), inputs=inputs)
    finally:
        if copy is not None:
            copy.close()


def object_rows(event: EventBatch) -> list[tuple[str, int, str, str, str, str, str]]:
    """(kind, index, p or E [GeV], charge, theta [deg], phi [deg], info) for every object."""
    rows: list[tuple[str, int, str, str, str, str, str]] = []
    t = event.tracks
    if t.size:
        bz = field.track_bz(event.header["bz"][0], t["z0"])
        p = helix.momentum(t["phi0"], t["omega"], t["tan_lambda"], bz)
        pm = np.linalg.norm(p, axis=1)
        th = np.degrees(polar_angle(p))
        ph = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
        for i in range(t.size):
            info = f"d0 {t['d0'][i]:.3f} z0 {t['z0'][i]:.3f} cm"
            rows.append(
                ("track", i, f"{pm[i]:.3f}", f"{t['charge'][i]:+d}", f"{th[i]:.1f}", f"{ph[i]:.1f}", info)
            )
    e = event.ecl
    for i in range(e.size):
        hyp = int(e["hypotheses"][i])
        info = f"cell {e['cell_id'][i]}, {HYPOTHESIS_NAMES.get(hyp, f'hypotheses {hyp}')}"
        th, ph = np.degrees(e["theta"][i]), np.degrees(e["phi"][i])
        rows.append(("ecl", i, f"{e['energy'][i]:.3f}", "0", f"{th:.1f}", f"{ph:.1f}", info))
    k = event.klm
    for i in range(k.size):
        x, y, z = float(k["x"][i]), float(k["y"][i]), float(k["z"][i])
        th, ph = np.degrees(polar_angle((x, y, z))), np.degrees(np.arctan2(y, x))
        rows.append(("klm", i, f"{k['p'][i]:.3f}", "0", f"{th:.1f}", f"{ph:.1f}", f"{k['layers'][i]} layers"))
    v = event.vertices
    for i in range(v.size):
        r = float(np.hypot(v["x"][i], v["y"][i]))
        info = f"r {r:.2f} cm, z {v['z'][i]:.2f} cm, dca {v['dca'][i]:.3f}, pdg {v['pdg'][i]}"
        rows.append(("vertex", i, "", "", "", "", info))
    return rows


def _say(label: QtWidgets.QLabel, text: str) -> None:
    """A note line shown while it has text, hidden (no empty row in the panel) when it has none."""
    label.setText(text)
    label.setVisible(bool(text))


class _Bridge(QtCore.QObject):
    """Carries worker results to the GUI thread (queued: the receiver lives there)."""

    done = QtCore.Signal(object)


class EventBrowser(QtWidgets.QWidget):
    """Shows events and selects objects in a ``Scene``: every view of that scene follows."""

    event_shown = QtCore.Signal(object)  # EventBatch of one event
    source_opened = QtCore.Signal(object)  # a file or data set the browser opened itself
    saved = QtCore.Signal(str)  # the file the selected events were written to
    object_selected = QtCore.Signal(object, int)  # kind (str or None), index
    message = QtCore.Signal(str)

    HEADERS = ("object", "#", "p / E [GeV]", "q", "θ [°]", "φ [°]", "info")

    def __init__(
        self,
        open_events: Callable[[str], Source] = default_open,
        parent: QtWidgets.QWidget | None = None,
        *,
        scene: Scene | None = None,
    ) -> None:
        super().__init__(parent)
        self.scene = scene if scene is not None else Scene()
        self.open_events = open_events
        self.source: Source | None = None
        self._owned: Source | None = None  # the source open_file opened, closed when replaced
        self.source_name = ""
        self.index = -1
        self._issues_seen = 0  # of the source's recorded issues, how many were reported
        self.current_event: EventBatch | None = None
        self.passing: np.ndarray | None = None  # event indices passing the filter, None = all
        self.ids: np.ndarray | None = None  # (n, 3) experiment, run, event of the whole source
        self.bookmarks = bm.Bookmarks()
        self._request = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-reader")
        self._bridge = _Bridge()
        self._bridge.done.connect(self._on_done, QtCore.Qt.ConnectionType.QueuedConnection)
        self._press: dict[int, tuple[float, float]] = {}
        self._saving: BackgroundPass | None = None  # the write of the selected events, while it runs
        self._build()

    # --- widgets -------------------------------------------------------------------------

    def add_header_widget(self, widget: QtWidgets.QWidget) -> None:
        """Put another control (e.g. live-stream following) above the browser's own."""
        self._layout.insertWidget(0, widget)

    def _build(self) -> None:
        lay = self._layout = QtWidgets.QVBoxLayout(self)
        self.file_label = QtWidgets.QLabel("no file")
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setStyleSheet("color: #ff6060;")
        self.error_label.setWordWrap(True)
        self.issues_label = QtWidgets.QLabel("")  # what the reader did with the file
        self.issues_label.setStyleSheet("color: #e0b040;")
        self.issues_label.setWordWrap(True)
        self.issues_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()  # both shown only while they have something to say (_say)
        self.issues_label.hide()
        nav = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open…")
        self.prev_button = QtWidgets.QPushButton("◀ Prev")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.index_box = QtWidgets.QSpinBox()
        self.index_box.setRange(1, 1)  # counted from 1, as the position line says
        self.index_box.setKeyboardTracking(False)
        self.index_box.setToolTip("position in the file, data set or stream, from 1")
        self.position_label = QtWidgets.QLabel("")  # a row of its own: the event's name is never cut
        self.position_label.setStyleSheet("font-weight: bold;")
        self.position_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where_label = QtWidgets.QLabel("")  # a data set's event: which file, where in it
        self.where_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where_label.hide()
        for w in (self.open_button, self.prev_button, self.index_box, self.next_button):
            nav.addWidget(w)
        jump = QtWidgets.QHBoxLayout()
        self.exp_edit, self.run_edit, self.evt_edit = (QtWidgets.QLineEdit() for _ in range(3))
        for edit, hint in ((self.exp_edit, "experiment"), (self.run_edit, "run"), (self.evt_edit, "event")):
            edit.setPlaceholderText(hint)
            edit.setValidator(QtGui.QIntValidator(0, 2**31 - 1))
            jump.addWidget(edit)
        self.jump_button = QtWidgets.QPushButton("Go")
        jump.addWidget(self.jump_button)
        filt = QtWidgets.QHBoxLayout()
        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("filter, e.g. ntracks >= 2 and l1('ffb') and max_ecl_energy > 1")
        self.filter_edit.setToolTip(filtering.help_text())
        self.filter_status = QtWidgets.QLabel("")
        self.save_selected_button = QtWidgets.QPushButton("Save selected…")
        self.save_selected_button.setToolTip("Save the selected events (those passing the filter) as…")
        self.save_selected_button.setEnabled(False)
        filt.addWidget(self.filter_edit)
        filt.addWidget(self.filter_status)
        filt.addWidget(self.save_selected_button)
        marks = QtWidgets.QHBoxLayout()
        self.flag_button = QtWidgets.QPushButton("⚑ Flag")
        self.flag_button.setCheckable(True)
        self.save_marks_button = QtWidgets.QPushButton("Save flags…")
        for w in (self.flag_button, self.save_marks_button):
            marks.addWidget(w)
        self.bookmark_list = QtWidgets.QListWidget()
        self.bookmark_list.setMaximumHeight(80)
        self.bookmark_list.setToolTip("flagged events: double click to go to one")
        self.bookmark_list.hide()  # shown with the first flag: no empty box (and 80 px more for the table)
        self.table = QtWidgets.QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        # every column in a dock of ~480 px (1366x768): short columns as wide as their contents, the
        # free text (info) takes the rest, instead of 100 px each and θ, φ and info off to the right
        header = self.table.horizontalHeader()
        for column in range(len(self.HEADERS) - 1):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        for row in (
            self.file_label,
            self.issues_label,
            nav,
            self.position_label,
            self.where_label,
            jump,
            filt,
            self.error_label,
            marks,
            self.bookmark_list,
            self.table,
        ):
            lay.addLayout(row) if isinstance(row, QtWidgets.QLayout) else lay.addWidget(row)
        self.open_button.clicked.connect(self.choose_file)
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(+1))
        self.index_box.valueChanged.connect(lambda position: self.show_index(position - 1))
        self.jump_button.clicked.connect(self._jump_clicked)
        self.filter_edit.returnPressed.connect(lambda: self.apply_filter(self.filter_edit.text()))
        self.save_selected_button.clicked.connect(self.choose_save_selected)
        self.flag_button.clicked.connect(self.toggle_flag)
        self.save_marks_button.clicked.connect(self._save_marks)
        self.bookmark_list.itemActivated.connect(self._bookmark_activated)
        self.table.itemSelectionChanged.connect(self._table_selection_changed)

    # --- worker plumbing -------------------------------------------------------------------

    def _submit(
        self,
        job: Callable[[], Any],
        on_result: Callable[[Any], None],
        on_drop: Callable[[Any], None] | None = None,
    ) -> None:
        """Run ``job`` on the reader thread; ``on_result`` gets its result on the GUI thread unless a
        newer request came meanwhile, in which case ``on_drop`` (if any) gets it instead."""
        self._request += 1
        req = self._request

        def run() -> None:
            try:
                result: Any = (True, job())
            except Exception as exc:  # reported in the GUI, never a bare traceback
                result = (False, exc)
            self._bridge.done.emit((req, on_result, on_drop, result))

        self._pool.submit(run)

    def _on_done(
        self,
        payload: tuple[int, Callable[[Any], None], Callable[[Any], None] | None, tuple[bool, Any]],
    ) -> None:
        req, on_result, on_drop, (ok, value) = payload
        if req != self._request:  # a newer request superseded this one
            if ok and on_drop is not None:
                on_drop(value)
            return
        if ok:
            _say(self.error_label, "")
            on_result(value)
        else:
            self._show_error(value)

    def _show_error(self, exc: BaseException) -> None:
        """One line: the readers' errors name the file already; anything else gets the source's name."""
        text = " ".join((str(exc) or type(exc).__name__).split())
        named = (event_io.EventFileError, filtering.FilterError, LookupError, OSError, CannotOpen)
        if not isinstance(exc, named):
            text = f"{self.source_name or 'events'}: {type(exc).__name__}: {text}"
        log.warning("%s", text)
        _say(self.error_label, text)
        self.message.emit(text)

    def _report_issues(self) -> None:
        """What the reader recorded about the source since the last report: panel, status bar, log."""
        issues = list(getattr(self.source, "issues", ()) or ())
        if len(issues) < self._issues_seen:
            self._issues_seen = 0
        new = issues[self._issues_seen :]
        self._issues_seen = len(issues)
        if issues:
            shown = issues[-SHOWN_ISSUES:]
            more = len(issues) - len(shown)
            what = "data set" if isinstance(self.source, DataSet) else "file"
            head = f"{len(issues)} note(s) on this {what}" + (f", the last {len(shown)}:" if more else ":")
            _say(self.issues_label, "\n".join([head, *shown]))
        else:
            _say(self.issues_label, "")
        if new:
            name = Path(self.source_name).name or self.source_name
            extra = f" (+{len(new) - 1} more in the Log)" if len(new) > 1 else ""
            self.message.emit(f"{name}: {new[-1]}{extra}")

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Block until queued reads are done (for scripts and tests); results arrive as events."""
        self._pool.submit(lambda: None).result(timeout=timeout_s)

    def shutdown(self) -> None:
        saving, self._saving = self._saving, None
        if saving is not None:
            saving.wait()  # a write is not cut short: it finishes (atomically) or fails
        self._pool.shutdown(wait=True, cancel_futures=True)
        owned, self._owned = self._owned, None
        if owned is not None:
            _close(owned)

    def _close_later(self, source: Events) -> None:
        """Close a source the browser opened, after the reads already queued on it."""
        try:
            self._pool.submit(_close, source)
        except RuntimeError:  # the reader thread is shut down: nothing reads any more
            _close(source)

    # --- sources ---------------------------------------------------------------------------

    def choose_file(self) -> None:
        """File > Open: one file, or several (one data set, in the order chosen)."""
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Open events", "", event_io.dialog_filter())
        if paths:
            self.open_files(paths)

    def choose_folder(self) -> None:
        """File > Open folder: every event file directly inside it, as one data set."""
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a folder of event files")
        if folder:
            self.open_files([folder])

    def open_files(self, specs: list[str] | list[Path] | list[str | Path]) -> None:
        """Open files, globs or folders (``events.dataset``) as one data set, off the GUI thread.

        One plain file is opened as a file. Files that cannot be opened are left out, each one line in
        the panel, the status bar and the Log; when none can be, the previous event stays shown."""
        if len(specs) == 1 and not is_pattern(specs[0]) and not Path(specs[0]).is_dir():
            self.open_file(specs[0])
            return
        label = str(specs[0]) if len(specs) == 1 else f"{Path(specs[0]).name} (+{len(specs) - 1} more)"

        def job() -> tuple[Source, EventBatch | None]:
            src: DataSet | None = None
            try:
                src = open_dataset(list(specs))
                first = src.read(0, 1) if len(src) else None
            except Exception as exc:
                _close(src)
                raise CannotOpen(label, exc) from exc
            return src, first

        self._submit(
            job,
            lambda r: self._set_source(r[0], label, r[1], owned=True),
            on_drop=lambda r: self._close_later(r[0]),
        )

    def open_file(self, path: str | Path) -> None:
        """Open ``path`` off the GUI thread; on failure the previous event stays shown."""
        path = str(path)
        opener = self.open_events

        def job() -> tuple[Source, EventBatch | None]:
            src: Source | None = None
            try:
                src = opener(path)
                first = src.read(0, 1) if len(src) else None
            except Exception as exc:
                _close(src)
                raise CannotOpen(path, exc) from exc
            return src, first

        self._submit(
            job,
            lambda r: self._set_source(r[0], path, r[1], owned=True),
            on_drop=lambda r: self._close_later(r[0]),  # superseded: nobody will read it
        )

    def set_source(self, source: Source, name: str = "", index: int = 0) -> None:
        """Browse an already open source (a live buffer, generated events) from event ``index``.

        The caller keeps it: the browser closes only the files it opened itself (``open_file``)."""
        index = min(max(index, 0), max(len(source) - 1, 0))
        self._set_source(source, name, source.read(index, index + 1) if len(source) else None, index)

    def _set_source(
        self, source: Source, name: str, first: EventBatch | None, index: int = 0, owned: bool = False
    ) -> None:
        previous, self._owned = self._owned, (source if owned else None)
        if previous is not None and previous is not source:
            self._close_later(previous)  # the file opened before this one: its handles are released
        self.source, self.source_name = source, name
        self._issues_seen = 0
        self.passing, self.ids = None, None
        self.filter_status.setText("")
        self.save_selected_button.setEnabled(False)
        shown = Path(name).name or name
        if isinstance(source, DataSet):
            left = f", {len(source.left_out)} left out" if source.left_out else ""
            files = f"{len(source.files)} file" + ("s" if len(source.files) != 1 else "")
            self.file_label.setText(f"{shown}: {len(source)} events in {files}{left}")
            self.file_label.setToolTip("\n".join(str(f) for f in source.files))
        else:
            self.file_label.setText(f"{shown}: {len(source)} events")
            self.file_label.setToolTip(str(getattr(source, "path", name)))
        self.where_label.setVisible(isinstance(source, DataSet))
        self.index_box.blockSignals(True)
        self.index_box.setRange(1, max(len(source), 1))
        self.index_box.blockSignals(False)
        if first is not None:
            self._display(index, first)
        else:
            self._report_issues()
        if owned:
            self.source_opened.emit(source)

    # --- navigation ------------------------------------------------------------------------

    def show_index(self, index: int) -> None:
        if self.source is None or not 0 <= index < len(self.source):
            return
        src = self.source
        self._submit(lambda: src.read(index, index + 1), lambda ev: self._display(index, ev))

    def step(self, direction: int) -> None:
        """Next / previous event, among those passing the filter when one is set."""
        if self.source is None:
            return
        if self.passing is None:
            target = self.index + direction
        else:
            pos = np.searchsorted(self.passing, self.index, side="right" if direction > 0 else "left")
            pos = pos if direction > 0 else pos - 1
            target = int(self.passing[pos]) if 0 <= pos < len(self.passing) else -1
        if 0 <= target < len(self.source):
            self.show_index(target)

    def _display(self, index: int, event: EventBatch) -> None:
        self.index, self.current_event = index, event
        self.index_box.blockSignals(True)
        self.index_box.setValue(index + 1)
        self.index_box.blockSignals(False)
        h = event.header
        key = (int(h["experiment"][0]), int(h["run"][0]), int(h["event"][0]))
        total = len(self.source) if self.source is not None else 0
        name = event_label(*key)
        self.position_label.setText(f"{index + 1} of {total}:  {name}")
        if isinstance(self.source, DataSet):
            file, local = self.source.locate(index)
            k = int(self.source.file_of(index))
            self.where_label.setText(
                f"file {k + 1} of {len(self.source.files)}: {location_name(file)}, event {local + 1} of "
                f"{int(self.source.lengths[k])}"
            )
            self.where_label.setToolTip(str(file))
            self.position_label.setToolTip(f"{file}, event {local + 1} of that file")
        self.flag_button.setChecked(key in self.bookmarks)
        self.scene.set_event(event)
        self._fill_table(event)
        self._report_issues()
        self.event_shown.emit(event)
        self.object_selected.emit(None, -1)

    def _scan(self, reduce: Callable[[EventBatch, int], Any]) -> Callable[[], list[Any]]:
        src = self.source
        assert src is not None

        def job() -> list[Any]:
            return [reduce(src.read(s, min(s + CHUNK, len(src))), s) for s in range(0, len(src), CHUNK)]

        return job

    def jump_to(self, experiment: int, run: int, event: int) -> None:
        """Show the event with this (experiment, run, event), searching the source off the GUI thread."""
        if self.source is None:
            return
        target = np.array([experiment, run, event])

        def found(ids: np.ndarray) -> None:
            self.ids = ids
            hit = np.flatnonzero((ids == target).all(axis=1))
            if len(hit) == 0:
                self._show_error(LookupError(f"{event_label(experiment, run, event)} is not in this file"))
            else:
                self.show_index(int(hit[0]))

        if self.ids is not None:
            found(self.ids)
            return
        scan = self._scan(lambda b, _: np.stack([b.header[k] for k in EVENT_ID], axis=1))
        self._submit(lambda: np.concatenate(scan()).astype(np.int64), found)

    def _jump_clicked(self) -> None:
        try:
            exp, run, evt = (int(e.text()) for e in (self.exp_edit, self.run_edit, self.evt_edit))
        except ValueError:
            self._show_error(ValueError("give experiment, run and event numbers to jump to"))
            return
        self.jump_to(exp, run, evt)

    # --- filter ----------------------------------------------------------------------------

    def apply_filter(self, text: str) -> None:
        """Keep only events passing ``text`` for next/previous; an empty text clears the filter."""
        if not text.strip():
            self.passing = None
            self.filter_status.setText("")
            self.save_selected_button.setEnabled(False)
            return
        try:
            flt = filtering.parse(text)
        except filtering.FilterError as exc:
            self.filter_status.setText("invalid")
            self._show_error(exc)
            return
        if self.source is None:
            return
        scan = self._scan(lambda b, start: np.flatnonzero(flt(b)) + start)

        def done(parts: list[np.ndarray]) -> None:
            self.passing = np.concatenate(parts) if parts else np.zeros(0, np.int64)
            total = len(self.source) if self.source is not None else 0
            self.filter_status.setText(f"{len(self.passing)} of {total} pass")
            self.save_selected_button.setEnabled(bool(len(self.passing)))
            if len(self.passing) and self.index not in self.passing:
                self.show_index(
                    int(self.passing[np.searchsorted(self.passing, self.index) % len(self.passing)])
                )

        self._submit(scan, done)

    # --- saving the selected events ----------------------------------------------------------

    def choose_save_selected(self) -> None:
        if self.passing is None:
            self._show_error(LookupError("no selection: type a filter and press Enter first"))
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save the selected events as", "selected.h5", event_io.dialog_filter(writing=True)
        )
        if path:
            self.save_selected(path)

    def save_selected(self, path: str | Path) -> BackgroundPass | None:
        """Write the events passing the filter to ``path`` (``events.io.write``: atomic, never over an
        input) on a thread of its own; ``saved`` says where, a failure is one line (panel, status bar,
        Log) and leaves any previous file as it was."""
        if self.source is None or self.passing is None:
            self._show_error(LookupError("no selection: type a filter and press Enter first"))
            return None
        if self._saving is not None:
            self._show_error(LookupError(f"{path}: still writing the previous selection"))
            return None
        source, rows, out = self.source, self.passing.copy(), Path(path)

        def work(progress: Progress, cancel: Cancel) -> tuple[Path, int]:
            return out, write_selected(source, rows, out, progress)

        job = BackgroundPass(work, self)
        self._saving = job
        job.succeeded.connect(self._saved)
        job.failed.connect(lambda text: self._show_error(OSError(f"selection not saved: {text}")))
        job.finished.connect(lambda: self._save_ended(job))
        self.filter_status.setText(f"writing {len(rows)} events…")
        job.start()
        return job

    def _save_ended(self, job: BackgroundPass) -> None:
        if self._saving is job:
            self._saving = None
        job.deleteLater()

    def _saved(self, result: tuple[Path, int]) -> None:
        path, count = result
        total = len(self.source) if self.source is not None else 0
        passing = len(self.passing) if self.passing is not None else 0
        self.filter_status.setText(f"{passing} of {total} pass")
        self.message.emit(f"{count} selected events saved: {path}")
        self.saved.emit(str(path))

    # --- bookmarks -------------------------------------------------------------------------

    def toggle_flag(self) -> None:
        if self.current_event is None:
            return
        h = self.current_event.header
        mark = bm.Bookmark(
            int(h["experiment"][0]), int(h["run"][0]), int(h["event"][0]), "", self.source_name
        )
        self.flag_button.setChecked(self.bookmarks.toggle(mark))
        self._refresh_bookmarks()

    def _refresh_bookmarks(self) -> None:
        self.bookmark_list.clear()
        for mark in self.bookmarks:
            item = QtWidgets.QListWidgetItem(mark.label())
            item.setData(QtCore.Qt.ItemDataRole.UserRole, mark.key)
            self.bookmark_list.addItem(item)
        self.bookmark_list.setVisible(self.bookmark_list.count() > 0)

    def _bookmark_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        self.jump_to(*item.data(QtCore.Qt.ItemDataRole.UserRole))

    def _save_marks(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save flags", "flags.json", "JSON (*.json);;CSV (*.csv)"
        )
        if path:
            try:
                self.bookmarks.save(path)  # atomic; never over an event file or a picture
            except OSError as exc:  # OutputError: names the file and the reason
                self._show_error(exc)

    # --- objects: table <-> views ----------------------------------------------------------

    def _fill_table(self, event: EventBatch) -> None:
        rows = object_rows(event)
        self.table.blockSignals(True)
        self.table.clearContents()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(str(value)))
        self.table.blockSignals(False)
        self._row_of = {(row[0], row[1]): r for r, row in enumerate(rows)}

    def _table_selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.select_object(None, -1, from_table=True)
            return
        r = rows[0].row()
        kind, index = (self.table.item(r, c) for c in (0, 1))
        if kind is not None and index is not None:
            self.select_object(kind.text(), int(index.text()), from_table=True)

    def select_object(self, kind: str | None, index: int = -1, from_table: bool = False) -> None:
        """Select an object everywhere: table row, the scene (every view), inspector (via signal)."""
        if not from_table:
            self.table.blockSignals(True)
            self.table.clearSelection()
            row = getattr(self, "_row_of", {}).get((kind, index))
            if row is not None:
                self.table.selectRow(row)
                self.table.scrollTo(self.table.model().index(row, 0))
            self.table.blockSignals(False)
        self.scene.select(kind, index)
        self.object_selected.emit(kind, index)

    def selected_object(self) -> Selection | None:
        return self.scene.selection

    def attach_view(self, visuals: EventVisuals) -> None:
        """Let this view show the browser's scene and select objects by clicking in it (a click, not
        a drag)."""
        visuals.set_scene(self.scene)
        canvas = visuals.view.canvas
        key = id(visuals)

        def press(event: Any) -> None:
            self._press[key] = tuple(event.pos[:2])

        def release(event: Any) -> None:
            start = self._press.pop(key, None)
            if start is None or np.hypot(*(np.asarray(event.pos[:2]) - start)) > 4:
                return
            if not visuals.view.rect.contains(*event.pos[:2]):
                return
            hit = visuals.pick(tuple(event.pos[:2]))
            self.select_object(*(hit if hit else (None, -1)))

        canvas.events.mouse_press.connect(press)
        canvas.events.mouse_release.connect(release)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
