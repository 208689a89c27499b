"""Damaged files in the GUI: one sentence naming the file in the panel, the status bar and the Log dock,
the reader's notes on a file (missing leaves) shown too; a log handler fed from worker threads."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import awkward as ak
import h5py
import pytest
import uproot

from events import io
from tests.events.test_hdf5 import random_batch


def _damaged_store(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.h5"
    io.write(path, random_batch(5))
    with h5py.File(path, "a") as f:
        f.attrs["n_events"] = "one"
    return path


def _mdst_without_leaves(tmp_path: Path) -> Path:
    path = tmp_path / "partial.root"
    with uproot.recreate(path) as f:
        f.mktree("tree", {"Tracks": ak.Array([[1, 2], [3]]), "TrackFitResults": ak.Array([[0.5], []])})
    return path


def test_log_handler_hands_records_from_worker_threads_to_the_gui_bounded(qtbot) -> None:
    from panels.log_dock import LogPanel, QtLogHandler

    panel = LogPanel(QtLogHandler(keep=50))
    qtbot.addWidget(panel)
    logger = logging.getLogger("tests.log_dock")
    logger.propagate = False
    panel.attach(logger)
    try:
        latest: list[str] = []
        panel.latest.connect(latest.append)

        def flood() -> None:
            for k in range(200):
                logger.warning("file %d: dropped 1 track(s)\nwith a NaN helix", k)
            logger.info("not shown: below WARNING")

        worker = threading.Thread(target=flood)
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: panel.count > 0, timeout=5000)
        lines = panel.lines()
        assert 0 < len(lines) <= 50  # one drain of the bounded queue, the burst's rest counted
        assert lines[-1].endswith("tests.log_dock: file 199: dropped 1 track(s) with a NaN helix")
        assert "WARNING" in lines[-1]
        assert not any("below WARNING" in line for line in lines)
        assert panel.handler.dropped == 200 - len(lines)
        assert f"{panel.handler.dropped} dropped" in panel.count_label.text()
        assert latest == ["file 199: dropped 1 track(s) with a NaN helix"]
    finally:
        panel.detach()
        logger.propagate = True
    assert panel.handler not in logger.handlers


def test_browser_shows_one_sentence_and_the_readers_notes(qtbot, tmp_path: Path) -> None:
    from panels.event_browser import EventBrowser
    from panels.log_dock import LogPanel

    browser = EventBrowser()
    panel = LogPanel()
    qtbot.addWidget(browser)
    qtbot.addWidget(panel)
    panel.attach()
    messages: list[str] = []
    browser.message.connect(messages.append)
    try:
        damaged = _damaged_store(tmp_path)
        browser.open_file(damaged)
        qtbot.waitUntil(lambda: bool(browser.error_label.text()), timeout=10000)
        text = browser.error_label.text()
        assert text == f"Cannot open {damaged}: HDF5 attribute n_events is 'one', not a whole number"
        assert messages[-1] == text
        qtbot.waitUntil(lambda: any(text in line for line in panel.lines()), timeout=5000)

        partial = _mdst_without_leaves(tmp_path)
        browser.open_file(partial)
        qtbot.waitUntil(lambda: "partial.root: 2 events" in browser.file_label.text(), timeout=10000)
        notes = browser.issues_label.text()
        assert "no ecl, klm, mc, tracks, vertices in this mdst file (leaves missing)" in notes
        assert "numbered by entry" in notes
        assert browser.error_label.text() == ""
        assert messages[-1].startswith("partial.root: ")
        assert "more in the Log" in messages[-1]
        qtbot.waitUntil(lambda: any("leaves missing" in line for line in panel.lines()), timeout=5000)
        assert any(str(partial) in line for line in panel.lines())  # the Log names the file
    finally:
        panel.detach()
        browser.shutdown()


@pytest.mark.gl
def test_application_reports_damaged_files_and_never_exports_over_its_input(qtbot, tmp_path: Path) -> None:
    from panels.app import AppConfig, Application

    damaged = _damaged_store(tmp_path)
    app = Application(
        AppConfig(file=damaged, machine="bogus://x", stream="none", settings=tmp_path / "settings.ini")
    )
    qtbot.addWidget(app.window)
    try:
        log_panel = app.log_panel
        assert app.window.docks["Log"].widget() is log_panel
        status = app.window.statusBar()
        qtbot.waitUntil(lambda: str(damaged) in status.currentMessage(), timeout=15000)
        assert "not a whole number" in status.currentMessage()
        qtbot.waitUntil(lambda: any(str(damaged) in line for line in log_panel.lines()), timeout=5000)

        good = tmp_path / "good.json"
        io.write(good, random_batch(3))
        before = good.read_bytes()
        app.browser.open_file(good)
        qtbot.waitUntil(lambda: app.browser.current_event is not None, timeout=15000)
        assert app.window.export_phoenix(good) is None  # the shown event's own file
        assert "is also an input of this run" in status.currentMessage()
        assert good.read_bytes() == before
        qtbot.waitUntil(lambda: any("input of this run" in line for line in log_panel.lines()), timeout=5000)
        store = tmp_path / "store.png"  # an event store under a picture's name
        io.write(tmp_path / "store.h5", random_batch(2))
        (tmp_path / "store.h5").rename(store)
        assert app.window.export_png(store, size=(64, 48)) is None
        assert "already holds an HDF5 file" in status.currentMessage()
        assert app.window.export_phoenix(tmp_path / "shown.json") == tmp_path / "shown.json"
        assert len(io.load(tmp_path / "shown.json")) == 1

        note = "late.root: dropped 2 track(s) with a NaN helix"  # a reader's warning, from a worker
        worker = threading.Thread(target=logging.getLogger("events.mdst").warning, args=(note,))
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: status.currentMessage() == note, timeout=5000)
        assert any(line.endswith(f"events.mdst: {note}") for line in log_panel.lines())
    finally:
        app.close()
