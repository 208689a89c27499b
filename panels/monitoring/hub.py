"""The GUI side of a live source: drain its queue and repaint visible panels on a fixed-rate timer.

The source runs in its own thread and only puts plain :class:`~monitoring.source.Update` lists
into a thread-safe queue; the hub, on the GUI thread, drains it into the
:class:`~monitoring.model.MonitorModel` at each tick and asks every *visible* panel to refresh.
Arrival rate is not paint rate; hidden panels cost nothing. A tick ingests at most
``max_per_tick`` updates (the rest wait for the next ticks), so a source that delivers hours of
history at once, or a flood, never freezes the window; the source's notices (options it clamped,
a cache it rebuilt) go into the model's message log. The run in progress is handed to other
threads (the embedded event stream labels its events with it) by :meth:`LiveHub.current_run`, a
value the GUI thread sets at each tick: no other thread ever reads the model.

With an :class:`~monitoring.archive.Archive` the hub records what it drains (one sample per channel
a second) and, for sources without a history of their own (``ca://``, ``pva://``), replays the
archived last hour into the model before the source starts, and the integrated luminosity whole from
the archive's checkpoint (:func:`~monitoring.archive.restore_history`), so a restarted window opens
with its charts and the shift's luminosity; every beam loss is archived with its post-mortem and
acknowledgement, and comes back after a restart whatever the source; a failing archive (a full disk)
stops archiving with a MAJOR message and the ``archive_stopped`` alarm (``ARCHIVE:STOPPED``), never
the panels.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from monitoring.alarms import AlarmModel, Reading
from monitoring.archive import CHART_S, HISTORY_S, Archive, restore_history
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from monitoring.source import Source, SourceError, Update, open_machine_source

ARCHIVE_VALUE = "ARCHIVE:STOPPED"  # 1 once archiving stopped (the archive_stopped alarm)
ARCHIVED_SCHEMES = ("ca", "pva")  # sources whose history is the archive (sim:// replays its own)


class LivePanel(Protocol):
    def refresh(self, model: MonitorModel) -> None: ...
    def isVisible(self) -> bool: ...  # Qt name


class LiveHub(QObject):
    """Owns a source and its model; ``fps`` repaints per second of the visible panels."""

    error = Signal(str)

    def __init__(
        self,
        source: Source | str,
        parent: QObject | None = None,
        fps: float = 30.0,
        stale_after: float = 10.0,
        max_per_tick: int = 2000,
        alarms: AlarmModel | None = None,
        archive: Archive | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = open_machine_source(source) if isinstance(source, str) else source
        self.archive = archive
        replay = archive is not None and self.source.scheme in ARCHIVED_SCHEMES
        if replay:  # the archive is this source's history: what came before now is replayed, not live
            self.source.live_from = time.time()
        self.model = MonitorModel(
            self.source.channels,
            source_name=self.source.url,
            stale_after=stale_after,
            live_from=self.source.live_from,
            alarms=alarms,  # judged at each check, once a second (docs/monitoring.md §2.5)
        )
        self.source.queue()  # make the queue before the thread starts
        self.replayed = 0
        if archive is not None:
            self.model.extra_readings[ARCHIVE_VALUE] = Reading(0.0)
            if replay:  # the beam losses of the shift with it
                self.replayed = restore_history(archive, self.model, self.source.live_from, HISTORY_S)
            else:  # the source replays its own values; the shift's beam losses are the archive's
                self.model.restore_beam_losses(archive.beam_losses(time.time() - CHART_S))
        self.max_per_tick = max_per_tick  # ~6 µs each to ingest: ~12 ms of a 33 ms tick at most
        self._notices = 0  # source notices already logged
        self.panels: list[LivePanel] = []
        self.frames = 0  # ticks that refreshed at least one panel
        self._last_check = 0.0
        self._run = self.model.run_in_progress()  # set on the GUI thread, read by any thread
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, round(1000 / fps)))
        self.timer.timeout.connect(self.tick)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    def add(self, panel: LivePanel) -> None:
        self.panels.append(panel)

    def start(self) -> None:
        try:
            self.source.start()
        except (SourceError, OSError) as exc:
            self.error.emit(f"{self.source.url}: cannot start: {exc}")
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.source.stop()

    def _record(self, updates: list[Update]) -> None:
        assert self.archive is not None
        try:
            self.archive.record_updates(updates, lumi=self.model.lumi)
        except (sqlite3.Error, OSError) as exc:  # a full disk stops the archive, never the panels
            self._archive_failed(exc)

    def _record_losses(self) -> None:
        """The beam losses whose post-mortem completed or that were acknowledged since (once a second)."""
        assert self.archive is not None
        try:
            self.archive.record_beam_losses(self.model.sbl.alarms)
        except (sqlite3.Error, OSError) as exc:
            self._archive_failed(exc)

    def _archive_failed(self, exc: Exception) -> None:
        assert self.archive is not None
        text = f"{self.archive.path}: archiving stopped: {exc}"
        self.archive = None
        self.model.note("archive", text, Severity.MAJOR)
        self.model.extra_readings[ARCHIVE_VALUE] = Reading(1.0, detail=text)
        self.error.emit(text)

    def current_run(self) -> tuple[int, int] | None:
        """The model's run in progress as of the last tick; safe to call from any thread."""
        return self._run

    def tick(self) -> None:
        """Drain (a bounded amount), check staleness once a second, refresh what is visible."""
        updates = self.source.drain(self.max_per_tick)
        if updates:
            self.model.ingest(updates)
            if self.archive is not None:
                self._record(updates)
        notices = self.source.notices
        if len(notices) > self._notices:
            for text in notices[self._notices :]:
                self.model.note("source", text, Severity.MINOR)
            self._notices = len(notices)
        now = time.monotonic()
        if now - self._last_check >= 1.0:
            self._last_check = now
            self.model.check()
            if self.archive is not None:
                self._record_losses()
        self._run = self.model.run_in_progress()
        shown = [p for p in self.panels if p.isVisible()]
        for panel in shown:
            panel.refresh(self.model)
        if shown:
            self.frames += 1
