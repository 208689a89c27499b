"""The application: one main window wiring every room to one event stream and one machine source.

- the 3D detector and both projections show one ``Scene`` (one ``EventVisuals`` per view); the
  browser, the candidate tool and the window's colour menu change the scene, never the views;
- the event browser pages through a file or a data set (several files, a folder, globs), or
  through the newest events of the live stream;
- a file or data set the browser opens is summarised (the Event summary dock: a table, sortable,
  filterable, a row opens its event) and histogrammed (the recoil-mass panel's "data set" source,
  numba by default; a bin lists every one of its events, a click opens it), each by a pass on a
  thread of its own with a progress bar; opening another cancels them;
- the Time toolbar (``panels.time_player``, key T) replays the shown collision in slow motion;
- inspector and candidate tool follow the browser's selection;
- the live stream (the embedded simulation by default, or ``zmq://``) feeds every event to the
  running recoil-mass histograms and the live buffer; a bin click opens its event if still buffered;
- the machine source (``sim://`` by default, or ``ca://``) feeds the shifter's monitoring docks;
- a latched sudden-beam-loss alarm raises its dock whatever tab is in front;
- the alarm model (assets/alarms.toml) judges the machine, the event stream and the histograms'
  checks; its roll-up sits in the status bar, a click opens an alarm's panel or acknowledges;
- the Log dock shows every warning and error (Python logging, WARNING and above), the readers'
  notes on a file among them; errors are one line naming the file, in the status bar too.

Every dock is there, with its title and tab, the moment the window is built, but the contents of
those not in front (the monitoring panels behind the first, the histograms, the θ-φ map, the event
summary) are built only when their dock is first shown, or one after another right after the
window's first frame: the window paints sooner. What they show lives outside them meanwhile (the
monitoring hub's model, the running histograms, the scene), and a panel built later reads it.
``Application.build_all_docks()`` builds whatever is still pending (at once); ``ecl_map``,
``histogram_panel`` and ``summary`` build their own dock when first asked for. The alarms, their
roll-up in the status bar and the Log are never deferred. The live event stream starts right after
the first frame too (the generator's thread would otherwise share the start's CPU), and the event
overlays' visuals of the three views are made then, one view per turn, or by the first event that
comes before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QCheckBox, QDockWidget, QLabel, QVBoxLayout, QWidget

from displays.event_visuals import EventVisuals, detector_crystal_painter
from displays.scene import Scene
from events.model import EVENT_ID, EventBatch
from monitoring.alarms import (
    ASSETS_ALARMS,
    AlarmConfigError,
    AlarmModel,
    WavFileSink,
    dqm_reading,
    dqm_statuses,
    load_definitions,
    stream_reading,
)
from monitoring.archive import Archive, ArchiveError, open_archive
from monitoring.histograms.definitions import STANDARD
from monitoring.histograms.running import RunningHistogram
from monitoring.live_events import EventStream, LiveBuffer
from monitoring.source import SourceError
from panels.background import BackgroundPass, Cancel, Progress, stop
from panels.candidate_panel import CandidatePanel
from panels.event_browser import EventBrowser, pass_copy
from panels.inspector import Inspector, browser_details
from panels.log_dock import LogPanel
from panels.main_window import MainWindow
from panels.monitoring import LiveHub, monitoring_docks
from panels.monitoring.alarm_status import AlarmStatus
from panels.monitoring.sound import MODES as SOUND_MODES
from panels.monitoring.sound import WindowAnnunciator
from panels.shift_report_action import ShiftReportAction
from panels.stream_status import MAJOR, StreamStatus
from panels.theme import Theme
from panels.time_player import TimePlayer

if TYPE_CHECKING:  # built when their docks are first shown, or used by a data set's pass: imported there
    from monitoring.histograms.backends import Backend
    from monitoring.histograms.files import DatasetCounts
    from panels.ecl_map_panel import EclMapPanel
    from panels.histogram_panel import BinSelection, HistogramPanel
    from panels.summary_panel import SummaryPanel

log = logging.getLogger(__name__)

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


@dataclass(frozen=True)
class AppConfig:
    """What the application connects to; the defaults run on the embedded simulation."""

    file: Path | None = None  # events file to browse (mdst, HDF5, ROOT ntuple, Phoenix JSON)
    files: Sequence[str | Path] = ()  # or several files, globs, folders: one data set
    stream: str = "sim"  # live events: "sim", "zmq://HOST:PORT" or "none"
    machine: str = "sim://?accel=1"  # machine data: sim://... or ca://...
    signals: tuple[str, ...] = ("zprime:mass=3.0,fraction=0.02", "darkphoton:mass=4.0,fraction=0.01")
    seed: int = 0
    follow_s: float = 4.0  # how often the display moves to the newest live event
    buffer_events: int = 10_000  # ~25 s of the embedded stream: bin clicks find recent events
    cutaway: str = "wedge"
    settings: Path | None = None  # INI file of the window's settings; None: the user's own
    alarms: Path = ASSETS_ALARMS  # alarm definitions (docs/monitoring.md §2.5)
    alarm_archive: Path | None = None  # SQLite archive keeping the alarm log across restarts (§2.6)
    alarm_sound_sink: Path | None = None  # every annunciated tone also written here (headless tests)
    histogram_backend: str = "numba"  # fills the data set's histograms (numpy where numba is missing)
    chunk_size: int = 10_000  # events per chunk of the data-set passes


def newest_worth_showing(batch: EventBatch, min_tracks: int = 2, min_ecl_gev: float = 1.0) -> int:
    """Index of the newest event with at least ``min_tracks`` tracks or ``min_ecl_gev`` in the ECL.

    A live display that jumps to every single-track two-photon event shows mostly empty detectors;
    with no such event buffered, the newest event is shown.
    """
    ecl_sum = np.bincount(batch.ecl.event_index(), weights=batch.ecl["energy"], minlength=len(batch))
    worth = np.flatnonzero((batch.tracks.counts >= min_tracks) | (ecl_sum >= min_ecl_gev))
    return int(worth[-1]) if len(worth) else len(batch) - 1


LOOK_BACK_EVENTS = 500  # the newest events searched for one worth showing


class LiveFollower(QWidget):
    """The live buffer behind the browser: a snapshot every few seconds, unless paused."""

    def __init__(self, buffer: LiveBuffer, browser: EventBrowser, period_s: float) -> None:
        super().__init__()
        self.buffer = buffer
        self.browser = browser
        self.follow = QCheckBox("Follow the live stream")
        self.follow.setChecked(True)
        self.follow.setToolTip("Show the newest event every few seconds; untick to inspect a snapshot")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.follow)
        self.timer = QTimer(self)
        self.timer.setInterval(int(period_s * 1000))
        self.timer.timeout.connect(self.tick)
        self.follow.toggled.connect(lambda on: self.tick() if on else None)

    def tick(self) -> None:
        if not self.follow.isChecked() or not len(self.buffer):
            return
        snapshot = self.buffer.frozen()
        total = len(snapshot)
        recent = snapshot.read(total - LOOK_BACK_EVENTS, total)
        index = total - len(recent) + newest_worth_showing(recent)
        self.browser.set_source(snapshot, "live stream", index=index)

    def open_newest(self, records: NDArray[np.void]) -> tuple[int, int, int] | None:
        """Freeze the display on the newest of these records still buffered; None if all have left.

        A record's (batch, row) is where its event is; the event's id is checked there, and looked
        for across the buffer only when it does not match (a histogram made after the stream began
        numbers batches from its own start)."""
        snapshot = self.buffer.frozen()
        buffered: NDArray[np.int64] | None = None
        for record in records[::-1]:
            experiment, run, event = (int(record[k]) for k in EVENT_ID)
            wanted = (experiment, run, event)
            where = snapshot.position(int(record["batch"]), int(record["row"]))
            if where is None or snapshot.read(where, where + 1).event_id() != wanted:
                if buffered is None:
                    whole = snapshot.read(0, len(snapshot))
                    buffered = np.stack([whole.header[k] for k in EVENT_ID], axis=1)
                hits = np.flatnonzero((buffered == wanted).all(axis=1))
                where = int(hits[-1]) if len(hits) else None
            if where is not None:
                self.follow.setChecked(False)
                self.browser.set_source(snapshot, "live stream (paused)", index=where)
                return wanted
        return None


class Application:
    """Builds the window and its docks, connects them, owns the live sources."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        settings = QSettings(str(config.settings), QSettings.Format.IniFormat) if config.settings else None
        self.window = MainWindow.from_geometry(cutaway=config.cutaway, settings=settings)
        self.window.resize(1680, 1000)
        w = self.window
        self.scene = Scene()
        painter = detector_crystal_painter(w.detector)
        self.visuals = {
            "3d": EventVisuals(w.detector.view, "3d", crystal_painter=painter, scene=self.scene),
            "rphi": EventVisuals(w.projections["rphi"].view, "rphi", scene=self.scene),
            "rz": EventVisuals(w.projections["rz"].view, "rz", scene=self.scene),
        }

        self.browser = EventBrowser(scene=self.scene)
        self.inspector = Inspector()
        self.inspector.details_provider = lambda: browser_details(self.browser)  # the mdst's details
        self.inspector.navigate.connect(self.browser.select_object)  # double click: mother, daughter, ...
        self.candidate = CandidatePanel(scene=self.scene)
        for visuals in self.visuals.values():
            self.browser.attach_view(visuals)  # a click in a view selects in the scene
        self.browser.object_selected.connect(self._object_selected)
        self.browser.message.connect(lambda text: w.statusBar().showMessage(text, 8000))
        w.navigate.connect(self.browser.step)
        w.open_requested.connect(self.browser.choose_file)
        w.open_folder_requested.connect(self.browser.choose_folder)
        w.color_mode_changed.connect(self.scene.set_color_mode)
        w.theme_changed.connect(self._follow_theme)
        w.event_provider = self.current_event
        # the collision replayed in its own time: a toolbar of its own beside the camera's
        self.time_player = TimePlayer(self.scene)
        time_bar = w.addToolBar("Time")
        time_bar.setObjectName("Time")
        time_bar.addWidget(self.time_player)
        w.add_shortcut("T", self.time_player.toggle, "Replay the collision in time: play / pause")

        self.histograms = [RunningHistogram(d) for d in STANDARD]
        # docks whose contents wait until first shown (or the first frame): dock -> its builder
        self._pending: dict[QDockWidget, Any] = {}
        self._closed = False  # once closed, nothing more is built after the first frame
        self._histogram_panel: HistogramPanel | None = None
        self._summary: SummaryPanel | None = None
        self._ecl_map: EclMapPanel | None = None
        self._theme: Theme | None = None  # the theme switched to, for a θ-φ map built after
        self.browser.source_opened.connect(self._source_opened)
        self._histogram_job: BackgroundPass | None = None
        self._histogram_jobs: set[BackgroundPass] = set()

        events_dock = w.add_dock(self.browser, "Events", LEFT)
        w.tabifyDockWidget(w.docks["Detector"], events_dock)
        w.tabifyDockWidget(events_dock, w.add_dock(self.candidate, "Candidate", LEFT))
        w.tabifyDockWidget(events_dock, w.add_dock(self.inspector, "Inspector", LEFT))
        events_dock.raise_()

        alarms: AlarmModel | None = None
        self.archive: Archive | None = None
        sink = WavFileSink(config.alarm_sound_sink) if config.alarm_sound_sink is not None else None
        sound = str(w.settings.value("alarms/sound", "tone"))
        self.annunciator = WindowAnnunciator(sound, sink, w)  # View > Alarm sound; a setting
        try:
            alarms = AlarmModel(load_definitions(config.alarms), sinks=[self.annunciator])
            if config.alarm_archive is not None:
                self.archive, problem = open_archive(config.alarm_archive)  # a damaged one set aside
                if problem:
                    log.error("archive: %s", problem)
                    w.statusBar().showMessage(f"archive: {problem}")
                self.archive.restore(alarms)  # the log, latches, acknowledgements and shelves go on
        except (AlarmConfigError, ArchiveError) as exc:  # the panels work without the alarm list
            w.statusBar().showMessage(f"alarms: {exc}")
        try:
            self.monitoring = monitoring_docks(config.machine, w, alarms, self.archive, lazy=True)
        except SourceError as exc:  # the display and the events work without machine data
            self.monitoring = [self._machine_problem(str(exc))]
        self.hub: LiveHub | None = getattr(self.monitoring[0], "hub", None) if self.monitoring else None

        self.stream: EventStream | None = None
        self.buffer = LiveBuffer(config.buffer_events)
        self.follower = LiveFollower(self.buffer, self.browser, config.follow_s)
        # after the first frame, one per turn of the event loop: the live stream, the overlays' visuals
        # of each view, then the contents of the docks still hidden (``_pending``)
        self._after_first_frame: list[Any] = [self.start_stream] if config.stream != "none" else []
        self._after_first_frame += [visuals.build for visuals in self.visuals.values()]

        first: QDockWidget | None = None
        for dock in self.monitoring:
            w.place_dock(dock, BOTTOM)
            if first is None:
                first = dock
            else:
                w.tabifyDockWidget(first, dock)
            if hasattr(dock, "build_panel"):  # the panels behind the first
                self._defer(dock, dock.build_panel)
        histo_dock = w.add_dock(QWidget(), "Recoil-mass histograms", BOTTOM)
        self.histogram_dock = self._defer(histo_dock, self._build_histograms)
        self.map_dock = map_dock = self._defer(w.add_dock(QWidget(), "θ-φ map", BOTTOM), self._build_ecl_map)
        self.summary_dock = self._defer(w.add_dock(QWidget(), "Event summary", BOTTOM), self._build_summary)
        # every warning and error of the program (readers' notes on files, failed exports, ...)
        self.log_panel = LogPanel()
        self.log_panel.attach()
        self.log_panel.latest.connect(lambda line: w.statusBar().showMessage(line, 10000))
        log_dock = w.add_dock(self.log_panel, "Log", BOTTOM)
        if first is not None:
            w.tabifyDockWidget(first, histo_dock)
            w.tabifyDockWidget(first, map_dock)
            w.tabifyDockWidget(first, self.summary_dock)
            w.tabifyDockWidget(first, log_dock)
            first.raise_()
            w.resizeDocks([first], [300], Qt.Orientation.Vertical)
        else:
            w.tabifyDockWidget(histo_dock, map_dock)
            w.tabifyDockWidget(histo_dock, self.summary_dock)
            w.tabifyDockWidget(histo_dock, log_dock)
        self.sbl_dock = next((d for d in self.monitoring if d.objectName() == "monitoring-sbl"), None)
        self._alarm_sound_menu()
        self._shift_report_menu()
        self.alarm_status = AlarmStatus(lambda: self.hub.model if self.hub is not None else None)
        self.alarm_status.panel_requested.connect(self._open_panel)
        w.statusBar().addPermanentWidget(self.alarm_status)
        self._alarm_timer = QTimer(w)
        self._alarm_timer.setInterval(500)
        self._alarm_timer.timeout.connect(self._raise_latched_alarm)
        self._alarm_timer.start()

        w.restore_settings()
        # the window's first frame: then the docks still hidden are built, one per turn of the loop
        w.detector.canvas.events.draw.connect(self._first_frame)
        specs = [config.file] if config.file is not None else list(config.files)
        if specs:
            self.follower.follow.setChecked(False)
            self.browser.open_files(specs)

    # -- docks built when first shown --------------------------------------------------------------
    def _defer(self, dock: QDockWidget, build: Any) -> QDockWidget:
        """``dock`` keeps its placeholder until first shown (or after the first frame): then the
        widget ``build()`` returns takes its place."""
        self._pending[dock] = build
        dock.visibilityChanged.connect(lambda visible, d=dock: self._build_dock(d) if visible else None)
        return dock

    def _build_dock(self, dock: QDockWidget) -> QWidget:
        """The dock's contents, built now if they were still pending."""
        build = self._pending.pop(dock, None)
        if build is None:
            return dock.widget()
        placeholder = dock.widget()
        widget: QWidget = build()
        dock.setWidget(widget)
        placeholder.deleteLater()
        return widget

    def build_all_docks(self) -> None:
        """Build every dock's contents still pending, at once (the first frame sets this going one
        dock per turn)."""
        for dock in list(self._pending):
            self._build_dock(dock)

    def pending_docks(self) -> list[str]:
        """The titles of the docks whose contents are not built yet."""
        return [dock.windowTitle() for dock in self._pending]

    def _first_frame(self, event: Any = None) -> None:
        self.window.detector.canvas.events.draw.disconnect(self._first_frame)
        QTimer.singleShot(0, self.window, self._build_next_dock)  # dropped with the window

    def _build_next_dock(self) -> None:
        """What waited for the first frame, one piece per turn of the event loop (the window answers
        between): the live stream, each view's overlay visuals, then each pending dock."""
        if self._closed:
            return
        if self._after_first_frame:
            self._after_first_frame.pop(0)()
        elif self._pending:
            self._build_dock(next(iter(self._pending)))
        if self._after_first_frame or self._pending:
            QTimer.singleShot(0, self.window, self._build_next_dock)

    def _build_histograms(self) -> HistogramPanel:
        from panels.histogram_panel import HistogramPanel

        w = self.window
        # the DQM reference file and normalisations are remembered in the window's settings
        panel = HistogramPanel(self.histograms, settings=w.settings)
        panel.message.connect(lambda text: w.statusBar().showMessage(text, 10000))
        panel.bin_selected.connect(self._bin_selected)
        panel.event_chosen.connect(self._record_chosen)
        self._histogram_panel = panel
        return panel

    def _build_ecl_map(self) -> EclMapPanel:
        from panels.ecl_map_panel import EclMapPanel

        # the unrolled calorimeter; a click on a lit crystal selects its cluster everywhere
        panel = EclMapPanel(self.scene, on_select=self.browser.select_object)
        if self._theme is not None:
            panel.set_canvas_colors(self._theme.canvas)
        self._ecl_map = panel
        return panel

    def _build_summary(self) -> SummaryPanel:
        from panels.summary_panel import SummaryPanel

        panel = SummaryPanel(chunk_size=self.config.chunk_size)
        panel.event_chosen.connect(self.browser.show_index)
        panel.message.connect(lambda text: self.window.report(text))
        self._summary = panel
        return panel

    @property
    def histogram_panel(self) -> HistogramPanel:
        """The recoil-mass histograms' panel (its dock built now if it was not yet)."""
        if self._histogram_panel is None:
            self._build_dock(self.histogram_dock)
        assert self._histogram_panel is not None
        return self._histogram_panel

    @property
    def ecl_map(self) -> EclMapPanel:
        """The θ-φ map's panel (its dock built now if it was not yet)."""
        if self._ecl_map is None:
            self._build_dock(self.map_dock)
        assert self._ecl_map is not None
        return self._ecl_map

    @property
    def summary(self) -> SummaryPanel:
        """The event summary's panel (its dock built now if it was not yet)."""
        if self._summary is None:
            self._build_dock(self.summary_dock)
        assert self._summary is not None
        return self._summary

    # -- wiring ---------------------------------------------------------------------------------
    def start_stream(self) -> EventStream | None:
        """Subscribe to the configured live stream (the embedded simulation by default) and follow it;
        the first frame does this. Once only; None where there is no stream or it failed (said in the
        status bar)."""
        if self.stream is not None or self._stream_tried or self._closed or self.config.stream == "none":
            return self.stream
        self._stream_tried = True
        from monitoring.live_events import open_event_stream

        try:
            self.stream = open_event_stream(
                self.config.stream,
                # the buffer first: every event a histogram links to is already buffered
                [self.buffer, *(h.fill for h in self.histograms)],
                seed=self.config.seed,
                signals=self.config.signals if self.config.stream == "sim" else (),
                # the embedded events carry the machine's run, and stop between runs
                run_of=self.hub.current_run if self.hub is not None else None,
            ).start()
        except (ValueError, OSError) as exc:
            self.window.statusBar().showMessage(f"live events: {exc}")
            return None
        status = StreamStatus(self.stream.source.stats)
        self.window.statusBar().addPermanentWidget(status)
        self.browser.add_header_widget(self.follower)
        self.follower.timer.start()
        QTimer.singleShot(800, self.follower.tick)
        return self.stream

    _stream_tried = False

    def _alarm_sound_menu(self) -> None:
        """View > Alarm sound: tone, spoken text or off, kept in the window's settings."""
        w = self.window
        menu = w._view_menu().addMenu("Alarm sound")
        group = QActionGroup(w)
        self.sound_actions: dict[str, QAction] = {}
        for mode, label in SOUND_MODES.items():
            action = QAction(label, w, checkable=True)
            action.setChecked(mode == self.annunciator.mode)
            action.triggered.connect(lambda _=False, m=mode: self.set_alarm_sound(m))
            group.addAction(action)
            menu.addAction(action)
            self.sound_actions[mode] = action

    def _shift_report_menu(self) -> None:
        """File > Shift report… (Ctrl+Shift+R): the shift as HTML for the e-log, from this window's model."""
        w = self.window
        self.shift_report = ShiftReportAction(
            w, lambda: self.hub.model if self.hub is not None else None, w.settings
        )
        action = w.add_shortcut(
            "Ctrl+Shift+R", self.shift_report.choose, "Write the shift report (HTML for the e-log)"
        )
        action.setText("Shift report…")
        files = w.file_menu
        quit_action = files.actions()[-1]
        files.insertAction(quit_action, action)
        files.insertSeparator(quit_action)
        self.shift_report_action = action

    def set_alarm_sound(self, mode: str) -> None:
        self.annunciator.set_mode(mode)
        self.sound_actions[mode].setChecked(True)
        self.window.settings.setValue("alarms/sound", mode)

    def _machine_problem(self, text: str) -> QDockWidget:
        """A dock in place of the machine panels, saying why they are missing."""
        label = QLabel(f"No machine data: {text}")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setStyleSheet(f"color: {MAJOR}; padding: 8px;")
        dock = QDockWidget("Machine data", self.window)
        dock.setObjectName("monitoring-problem")
        dock.setWidget(label)
        self.window.statusBar().showMessage(f"machine data: {text}")
        return dock

    def _follow_theme(self, theme: Theme) -> None:
        for visuals in self.visuals.values():
            visuals.set_highlight_color(theme.canvas.highlight)
        self._theme = theme
        if self._ecl_map is not None:
            self._ecl_map.set_canvas_colors(theme.canvas)

    def _object_selected(self, kind: str | None, index: int) -> None:
        self.inspector.show_object(self.browser.current_event, kind, index)

    # -- the data set's passes -------------------------------------------------------------------
    def _source_opened(self, source: Any) -> None:
        """A file or data set opened in the browser: summarise and histogram it in the background."""
        self.follower.follow.setChecked(False)
        if getattr(source, "path", None) is None:
            return
        self.summary.set_source(source)
        self.summary_dock.raise_()
        self._fill_histograms(source)

    def histogram_backend(self) -> Backend:
        """The configured backend; numpy (said once in the Log) where it cannot run here."""
        from monitoring.histograms.backends import BackendUnavailable, NumpyBackend, get_backend

        try:
            return get_backend(self.config.histogram_backend)
        except (BackendUnavailable, ValueError) as exc:
            log.warning("histograms of the data set on numpy: %s", exc)
            return NumpyBackend()

    def _fill_histograms(self, source: Any) -> BackgroundPass:
        if self._histogram_job is not None:
            self._histogram_job.cancel()
        from monitoring.histograms.files import fill_dataset

        name = Path(str(source.path)).name
        chunk = self.config.chunk_size

        def work(progress: Progress, cancel: Cancel) -> DatasetCounts:
            data = pass_copy(source)
            if data is None:
                raise LookupError("these events are not in files")
            backend = self.histogram_backend()
            try:
                return fill_dataset(backend, data, STANDARD, chunk, progress, cancel)
            finally:
                backend.close()
                data.close()

        job = BackgroundPass(work, self.window)
        self._histogram_job = job
        self._histogram_jobs.add(job)
        panel = self.histogram_panel
        panel.follow_progress(0, len(source))
        job.progressed.connect(panel.follow_progress)
        job.succeeded.connect(lambda counts: self._histograms_filled(job, counts, name))
        job.failed.connect(lambda text: self.window.report(f"histograms of {name}: {text}"))
        job.finished.connect(lambda: self._histograms_ended(job))
        job.start()
        return job

    def _histograms_filled(self, job: BackgroundPass, counts: DatasetCounts, name: str) -> None:
        if job is self._histogram_job:
            self.histogram_panel.show_dataset(counts, name)

    def _histograms_ended(self, job: BackgroundPass) -> None:
        self._histogram_jobs.discard(job)
        if job is self._histogram_job:
            self._histogram_job = None
            self.histogram_panel.follow_progress(1, 1)
        job.deleteLater()

    def _record_chosen(self, record: np.void) -> None:
        """An event double-clicked in a bin's list: the data set's by index, a live one by its id."""
        if int(record["batch"]) < 0:
            self.browser.show_index(int(record["row"]))
        elif self.follower.open_newest(np.asarray([record])) is None:
            self.browser.jump_to(*(int(record[k]) for k in EVENT_ID))

    def _bin_selected(self, selection: BinSelection) -> None:
        records = selection.records
        if not len(records):
            return
        if int(records["batch"][0]) < 0:  # the data set's histogram: its first event in the bin
            self.browser.show_index(int(records["row"][0]))
            return
        shown = self.follower.open_newest(records)
        if shown is not None:
            message = f"showing event {shown[2]} of run {shown[1]} from that bin"
            self.window.statusBar().showMessage(message, 8000)
        else:
            newest = records[-1]
            self.browser.jump_to(*(int(newest[k]) for k in EVENT_ID))

    def _open_panel(self, name: str) -> QDockWidget | None:
        """Bring an alarm's panel to the front (the names of assets/alarms.toml); returns its dock."""
        docks = {d.objectName().removeprefix("monitoring-"): d for d in self.monitoring}
        for key, title in (("histograms", "Recoil-mass histograms"), ("events", "Events"), ("log", "Log")):
            if title in self.window.docks:
                docks[key] = self.window.docks[title]
        dock = docks.get(name)
        if dock is not None:
            dock.show()
            dock.raise_()
        return dock

    def _feed_alarms(self) -> None:
        """The values of the alarms that come from outside the machine source."""
        if self.hub is None:
            return
        extra = self.hub.model.extra_readings
        if self.stream is not None:
            extra["STREAM"] = stream_reading(self.stream.source.stats())
        snapshots = [h.snapshot() for h in self.histograms]
        extra["DQM:ERRORS"] = dqm_reading(snapshots)
        extra.update(dqm_statuses(snapshots))  # "DQM:<histogram>": each one's status, for the shift report
        if self.archive is not None and self.hub.model.alarm_model is not None:
            self.archive.sync(self.hub.model.alarm_model)

    def _raise_latched_alarm(self) -> None:
        self._feed_alarms()
        dock = self.sbl_dock
        if dock is None or self.hub is None:
            return
        if self.hub.model.sbl.latched and not dock.widget().isVisible():
            dock.show()
            dock.raise_()

    def current_event(self) -> EventBatch | None:
        return self.browser.current_event

    def close(self) -> None:
        self._closed = True
        if self._summary is not None:
            self._summary.shutdown()
        self.shift_report.shutdown()
        for job in list(self._histogram_jobs):
            stop(job)
        self.log_panel.detach()
        self.time_player.detach()
        self._alarm_timer.stop()  # nothing feeds or syncs the alarms once the sources stop
        self.alarm_status.timer.stop()
        if self.stream is not None:
            self.stream.stop()
        if self.hub is not None:
            self.hub.stop()
            if self.hub.archive is not None:  # a loss acknowledged since the last tick
                self.hub.archive.record_beam_losses(self.hub.model.sbl.alarms)
            if self.archive is not None and self.hub.model.alarm_model is not None:
                self.archive.sync(self.hub.model.alarm_model)
        if self.archive is not None:
            self.archive.close()
            self.archive = None
        self.annunciator.close()
        self.browser.shutdown()
