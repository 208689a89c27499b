"""The event browser with real views: navigation, filter, jump, flags, failed files, picking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from displays.event_render import BatchSource
from events import filtering, helix
from events.generator import generate, samples
from events.model import Collection, EventBatch

pytestmark = pytest.mark.gl


@pytest.fixture
def browser(qtbot):
    from vispy import app

    app.use_app("pyside6")
    from panels.event_browser import EventBrowser

    b = EventBrowser()
    qtbot.addWidget(b)
    yield b
    b.shutdown()


def _settle(qtbot, browser) -> None:
    for _ in range(3):  # a result may queue a follow-up read (search -> show)
        browser.wait_idle()
        qtbot.wait(20)  # deliver the queued results to the GUI thread


def test_navigation_and_filter(qtbot, browser) -> None:
    batch = generate(30, seed=4)
    browser.set_source(BatchSource(batch), "sample")
    assert browser.index == 0
    browser.step(+1)
    _settle(qtbot, browser)
    assert browser.index == 1
    assert int(browser.current_event.header["event"][0]) == int(batch.header["event"][1])
    text = "ntracks >= 8 and max_ecl_energy > 0.3"
    expected = filtering.select(batch, text)
    assert 0 < len(expected) < 30
    browser.filter_edit.setText(text)
    qtbot.keyClick(browser.filter_edit, QtCore.Qt.Key.Key_Return)
    _settle(qtbot, browser)
    np.testing.assert_array_equal(browser.passing, expected)
    assert browser.filter_status.text() == f"{len(expected)} of 30 pass"
    assert browser.index in expected  # moved to a passing event
    browser.show_index(int(expected[0]))
    _settle(qtbot, browser)
    visited = [browser.index]
    for _ in range(len(expected) + 2):
        qtbot.mouseClick(browser.next_button, QtCore.Qt.MouseButton.LeftButton)
        _settle(qtbot, browser)
        visited.append(browser.index)
    assert set(visited) == set(expected.tolist())  # only passing events, and all of them
    browser.filter_edit.setText("ntracks >= ")
    qtbot.keyClick(browser.filter_edit, QtCore.Qt.Key.Key_Return)
    assert "syntax error" in browser.error_label.text()


def test_jump_and_flags(qtbot, browser, tmp_path: Path) -> None:
    batch = generate(12, seed=5)
    browser.set_source(BatchSource(batch), "sample")
    browser.jump_to(0, 0, 9)
    _settle(qtbot, browser)
    assert browser.index == 8
    assert "event 9" in browser.position_label.text()
    assert browser.index_box.value() == 9  # positions count from 1, as the position line does
    browser.index_box.setValue(3)
    _settle(qtbot, browser)
    assert browser.index == 2
    assert browser.position_label.text().startswith("3 of 12")
    browser.jump_to(0, 0, 9)
    _settle(qtbot, browser)
    qtbot.mouseClick(browser.flag_button, QtCore.Qt.MouseButton.LeftButton)
    assert (0, 0, 9) in browser.bookmarks
    assert browser.bookmark_list.count() == 1
    browser.bookmarks.save(tmp_path / "flags.csv")
    assert "0,0,9" in (tmp_path / "flags.csv").read_text()
    browser.jump_to(0, 0, 999)
    _settle(qtbot, browser)
    assert "not in this file" in browser.error_label.text()
    assert browser.index == 8


def test_failed_open_keeps_the_previous_event(qtbot, browser, tmp_path: Path) -> None:
    browser.set_source(BatchSource(generate(3, seed=1)), "sample")
    before = browser.current_event
    bad = tmp_path / "broken.root"
    bad.write_bytes(b"this is not a ROOT file")
    browser.open_file(bad)
    _settle(qtbot, browser)
    assert "Cannot open" in browser.error_label.text()
    assert str(bad) in browser.error_label.text()
    assert "\n" not in browser.error_label.text()  # one readable line, no traceback
    assert browser.current_event is before
    assert browser.source_name == "sample"


def test_loading_happens_off_the_gui_thread(qtbot, browser) -> None:
    import threading

    threads: list[str] = []

    class Recording(BatchSource):
        def read(self, start: int, stop: int) -> EventBatch:
            threads.append(threading.current_thread().name)
            return super().read(start, stop)

    browser.open_events = lambda path: Recording(generate(4, seed=2))
    browser.open_file("generated")
    _settle(qtbot, browser)
    assert browser.index == 0
    browser.show_index(3)
    _settle(qtbot, browser)
    assert browser.index == 3
    assert threads
    assert all(name.startswith("event-reader") for name in threads)


def test_click_in_view_selects_table_row_and_back(qtbot, browser, screenshot_dir: Path, request) -> None:
    from displays.event_view import EventView
    from panels.inspector import Inspector

    view = EventView("rphi", size=(400, 400), legend=False, show=True)
    request.addfinalizer(view.close)  # closing destroys the canvas widget, so qtbot must not close it again
    view.view.camera.rect = (-150, -150, 300, 300)
    inspector = Inspector()
    qtbot.addWidget(inspector)
    browser.object_selected.connect(lambda k, i: inspector.show_object(browser.current_event, k, i))
    browser.attach_view(view.visuals)
    tracks = Collection.from_columns(
        "tracks",
        [2],
        {"d0": [0.0, 0.0], "phi0": [0.5, -2.0], "omega": [0.001, -0.001], "z0": [0, 0], "tan_lambda": [0, 0],
         "charge": [1, -1], "ecl_index": [-1, 0]},
    )  # fmt: skip
    ecl = Collection.from_columns("ecl", [1], {"energy": [1.2], "theta": [1.5], "phi": [-2.2], "r": [130.0]})
    browser.set_source(BatchSource(EventBatch.build(1, tracks=tracks, ecl=ecl)), "two tracks")
    qtbot.waitExposed(view.canvas.native)
    view.canvas.render()
    x, y, _ = helix.positions(0.0, -2.0, -0.001, 0.0, 0.0, 80.0)
    px, py = int((x + 150) / 300 * 400), int((150 - y) / 300 * 400)
    qtbot.mouseClick(view.canvas.native, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(px, py))
    qtbot.wait(20)
    rows = browser.table.selectionModel().selectedRows()
    assert [browser.table.item(r.row(), 0).text() + browser.table.item(r.row(), 1).text() for r in rows] == [
        "track1"
    ]
    assert view.visuals.selection == ("track", 1)
    assert inspector.sections() == ["track 1", "linked ecl 0"]
    # table -> views
    browser.table.selectRow(2)  # the ECL cluster
    assert view.visuals.selection == ("ecl", 0)
    assert view.visuals.selected_line.visible  # its matched track is emphasised too
    img = view.render()
    from vispy import io

    io.write_png(str(screenshot_dir / "event_browser_pick.png"), img)
    # clicking empty space clears the selection
    qtbot.mouseClick(view.canvas.native, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(20, 380))
    qtbot.wait(20)
    assert view.visuals.selection is None
    view.close()


def test_browse_the_mdst_sample(qtbot, browser, mdst_sample: Path) -> None:
    """The real Belle II file: 10 events, experiment 0 run 0 events 1-10 (mdst-and-helix.md §1)."""
    browser.open_file(mdst_sample)
    _settle(qtbot, browser)
    assert browser.file_label.text() == "mdst-v06-00-00.root: 10 events"
    assert browser.current_event.tracks.size == 8  # event 1 has 8 tracks
    browser.jump_to(0, 0, 6)
    _settle(qtbot, browser)
    assert browser.index == 5
    assert browser.current_event.tracks.size == 13
    kinds = [browser.table.item(r, 0).text() for r in range(browser.table.rowCount())]
    assert kinds.count("track") == 13
    assert "vertex" in kinds  # event 6 has 9 V0s
    browser.apply_filter("nklm >= 4")
    _settle(qtbot, browser)
    np.testing.assert_array_equal(browser.passing, [4, 6, 7])  # KLM counts 2 1 0 2 4 2 6 4 0 3


def test_open_dialog_offers_the_formats_of_the_table(qtbot, browser, mdst_sample: Path, monkeypatch) -> None:
    """The file dialog's filters come from ``events.io.FORMATS``; the chosen file is opened."""
    from PySide6 import QtWidgets

    from events import io

    asked: list[str] = []

    chosen = [[str(mdst_sample)], [str(mdst_sample), str(samples.SAMPLE)]]

    def choose(parent, caption: str, directory: str, filters: str) -> tuple[list[str], str]:
        asked.append(filters)
        return chosen[len(asked) - 1], filters.split(";;")[0]

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileNames", staticmethod(choose))  # the native dialog
    browser.choose_file()
    _settle(qtbot, browser)
    assert asked == [io.dialog_filter()]
    assert asked[0].startswith("Event files (*.h5 *.hdf5 *.root *.json);;")
    assert browser.file_label.text() == "mdst-v06-00-00.root: 10 events"
    browser.choose_file()  # several files chosen at once: one data set
    _settle(qtbot, browser)
    assert browser.file_label.text() == "mdst-v06-00-00.root (+1 more): 310 events in 2 files"
    folder = samples.SAMPLE.parent
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", staticmethod(lambda *a: str(folder)))
    browser.choose_folder()
    _settle(qtbot, browser)
    assert browser.file_label.text() == f"{folder.name}: 300 events in 1 file"


def _record_opens(browser) -> list:
    """Keep every source the browser's (real) opener returns, so none is freed by garbage collection."""
    from events import io

    opened: list = []

    def opener(path: str):
        opened.append(io.open_events(path))
        return opened[-1]

    browser.open_events = opener
    return opened


def test_opening_another_file_closes_the_one_before(qtbot, browser, mdst_sample: Path, tmp_path) -> None:
    """Files the browser opened are closed when replaced (another file, the live stream) or at shutdown;
    a failed open keeps the current file open, and a source handed in by its owner is left open."""
    from events import io
    from tests.events.test_formats import _open_descriptors

    store = tmp_path / "first.h5"
    io.write(store, generate(5, seed=3))
    opened = _record_opens(browser)
    browser.open_file(store)
    _settle(qtbot, browser)
    assert browser.file_label.text() == "first.h5: 5 events"
    assert opened[0] is browser.source  # held here, so only an explicit close() releases the file
    assert _open_descriptors(store)  # the event store stays open between reads
    damaged = tmp_path / "damaged.root"
    damaged.write_bytes(b"root" + bytes(200))
    browser.open_file(damaged)
    _settle(qtbot, browser)
    assert "damaged.root" in browser.error_label.text()
    assert _open_descriptors(store)  # still the file shown
    browser.open_file(mdst_sample)
    _settle(qtbot, browser)
    assert browser.file_label.text() == "mdst-v06-00-00.root: 10 events"
    assert _open_descriptors(store) == []
    mdst_file = browser.source.tree.file
    assert not mdst_file.closed
    browser.set_source(BatchSource(generate(4, seed=1)), "live stream")  # what Follow does
    _settle(qtbot, browser)
    assert mdst_file.closed
    handed = io.open_events(store)
    try:
        browser.set_source(handed, "handed in")
        browser.open_file(mdst_sample)
        _settle(qtbot, browser)
        assert _open_descriptors(store)  # its owner closes it, not the browser
        assert len(handed.read(0, 5)) == 5
    finally:
        handed.close()
    last = browser.source.tree.file
    browser.shutdown()
    assert last.closed


def test_a_superseded_open_is_closed_too(qtbot, browser, mdst_sample: Path, tmp_path: Path) -> None:
    """A file whose open was overtaken by a newer request is never shown, and closed."""
    from events import io
    from tests.events.test_formats import _open_descriptors

    store = tmp_path / "overtaken.h5"
    io.write(store, generate(5, seed=4))
    opened = _record_opens(browser)
    browser.open_file(store)
    browser.open_file(mdst_sample)  # before the first result reached the GUI thread
    _settle(qtbot, browser)
    assert browser.file_label.text() == "mdst-v06-00-00.root: 10 events"
    assert len(opened) == 2  # both were opened; the first, never shown, is held here but closed
    assert _open_descriptors(store) == []


def test_a_failed_open_keeps_the_readers_typed_error() -> None:
    from events.source import EventFileError
    from panels.event_browser import CannotOpen

    reader_error = EventFileError("/data/run7.h5", "HDF5 attribute n_events is 'one', not a whole number")
    failed = CannotOpen("/data/run7.h5", reader_error)
    assert failed.cause is reader_error
    assert str(failed) == f"Cannot open {reader_error}"  # the reader's line names the file once
    other = CannotOpen("/data/run8.h5", PermissionError(13, "Permission denied"))
    assert isinstance(other.cause, OSError)
    assert str(other) == "Cannot open /data/run8.h5: PermissionError: [Errno 13] Permission denied"


def test_browser_fits_a_laptop_dock(qtbot, browser) -> None:
    """At 1366x768 the Events dock is ~480 px wide: every column starts in view, no empty boxes."""
    from panels.event_browser import EventBrowser

    browser.set_source(BatchSource(generate(6, seed=3)), "sample")
    browser.resize(480, 420)
    browser.show()
    qtbot.waitExposed(browser)
    _settle(qtbot, browser)
    assert browser.table.rowCount() > 0
    # no flags, no error, no notes: none of their rows takes room (the empty flag list did, 80 px)
    assert browser.bookmark_list.isHidden()
    assert browser.error_label.isHidden()
    assert browser.issues_label.isHidden()
    table = browser.table
    info = len(EventBrowser.HEADERS) - 1
    assert table.horizontalScrollBar().maximum() == 0  # nothing off to the right
    assert table.columnViewportPosition(info) + 60 <= table.viewport().width()  # info readable
    for column in range(info):  # the short columns show their headers whole
        title = EventBrowser.HEADERS[column]
        assert table.columnWidth(column) >= table.fontMetrics().horizontalAdvance(title)
    assert browser.minimumSizeHint().height() <= 320  # the left dock leaves the window room at 768 px
    qtbot.mouseClick(browser.flag_button, QtCore.Qt.MouseButton.LeftButton)
    assert not browser.bookmark_list.isHidden()  # the first flag brings the list
    browser.filter_edit.setText("ntracks >= ")
    qtbot.keyClick(browser.filter_edit, QtCore.Qt.Key.Key_Return)
    assert browser.error_label.isVisible()
    assert "syntax error" in browser.error_label.text()
