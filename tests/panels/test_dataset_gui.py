"""Data sets in the GUI, on real files: the shipped sample, stores and ntuples written by events.io, one
damaged file among them. The browser pages across the files, the damaged file's line reaches the Log,
the Event summary fills off the GUI thread and sorts, filters and opens events, the recoil-mass panel
fills from the data set with the counts of a direct computation and its bins open their events, and
the selected events are saved to a file that reads back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from events import filtering, io
from events.dataset import DataSet, open_dataset
from events.generator import generate, samples
from events.generator.signals import parse_signal
from events.model import EventBatch
from events.summary import EventSummary, summarize
from monitoring.histograms.backends import get_backend
from monitoring.histograms.definitions import STANDARD
from monitoring.histograms.files import fill_dataset, fill_files

ZPRIME = [parse_signal("zprime:mass=3.0,fraction=0.5")]
RECOIL_FILTER = "recoil_mass > 2"  # the Z' events (3 GeV) and a few others with a mu+ mu- pair


@pytest.fixture
def dataset_files(tmp_path: Path) -> tuple[list[Path], Path]:
    """[sample (300 events), damaged.h5, more.h5 (300), more.root (100)] and the damaged file."""
    damaged = tmp_path / "b-damaged.h5"
    damaged.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)  # an HDF5 signature and nothing behind it
    more_h5, more_root = tmp_path / "c-more.h5", tmp_path / "d-more.root"
    io.write(more_h5, generate(300, seed=7, signals=ZPRIME))
    io.write(more_root, generate(100, seed=8, signals=ZPRIME))
    return [samples.SAMPLE, damaged, more_h5, more_root], damaged


def good_files(files: list[Path], damaged: Path) -> list[Path]:
    return [f for f in files if f != damaged]


def shown_event(browser) -> EventBatch:
    event = browser.current_event
    assert event is not None
    return event


def table(panel) -> EventSummary:
    assert panel.summary is not None
    return panel.summary


def _settle(qtbot, browser) -> None:
    for _ in range(3):  # a result may queue a follow-up read (filter -> show)
        browser.wait_idle()
        qtbot.wait(20)


def test_the_browser_pages_a_data_set_across_its_files(qtbot, dataset_files) -> None:
    from panels.event_browser import EventBrowser
    from panels.log_dock import LogPanel

    files, damaged = dataset_files
    browser = EventBrowser()
    panel = LogPanel()
    qtbot.addWidget(browser)
    qtbot.addWidget(panel)
    panel.attach()
    messages: list[str] = []
    opened: list[object] = []
    browser.message.connect(messages.append)
    browser.source_opened.connect(opened.append)
    try:
        browser.open_files(files)
        qtbot.waitUntil(lambda: browser.current_event is not None, timeout=20_000)
        assert isinstance(browser.source, DataSet)
        assert opened == [browser.source]
        assert browser.position_label.text().startswith("1 of 700:")
        assert browser.file_label.text().endswith("700 events in 3 files, 1 left out")
        assert browser.where_label.text() == "file 1 of 3: dark-sector-sample.h5, event 1 of 300"
        # the damaged file: one line naming it, in the panel, the status bar and the Log
        assert str(damaged) in browser.issues_label.text()
        assert any(str(damaged) in m and "left out" in m for m in messages)
        qtbot.waitUntil(lambda: any(str(damaged) in line for line in panel.lines()), timeout=5000)
        # stepping over the boundary of the sample and the next good file
        browser.index_box.setValue(300)
        _settle(qtbot, browser)
        assert browser.where_label.text().endswith("dark-sector-sample.h5, event 300 of 300")
        browser.step(+1)
        _settle(qtbot, browser)
        assert browser.index == 300
        assert browser.position_label.text().startswith("301 of 700:")
        assert browser.where_label.text() == "file 2 of 3: c-more.h5, event 1 of 300"
        assert shown_event(browser).event_id() == io.load(files[2]).event_id(0)
        browser.show_index(699)
        _settle(qtbot, browser)
        assert shown_event(browser).event_id() == io.load(files[3]).event_id(99)
        browser.step(-1)
        _settle(qtbot, browser)
        assert browser.where_label.toolTip() == str(files[3])
        # the filter runs over the whole data set, as over a file
        whole = [io.load(f) for f in good_files(files, damaged)]
        expected = np.concatenate(
            [
                filtering.select(b, RECOIL_FILTER) + offset
                for b, offset in zip(whole, (0, 300, 600), strict=True)
            ]
        )
        browser.apply_filter(RECOIL_FILTER)
        _settle(qtbot, browser)
        np.testing.assert_array_equal(browser.passing, expected)
        assert browser.save_selected_button.isEnabled()
    finally:
        panel.detach()
        browser.shutdown()


def test_a_data_set_none_of_whose_files_opens_leaves_the_previous_event(qtbot, dataset_files) -> None:
    from panels.event_browser import EventBrowser

    files, damaged = dataset_files
    browser = EventBrowser()
    qtbot.addWidget(browser)
    try:
        browser.open_files([files[2]])  # one plain file: opened as a file
        qtbot.waitUntil(lambda: browser.current_event is not None, timeout=20_000)
        assert not isinstance(browser.source, DataSet)
        before = browser.current_event
        browser.open_files([damaged, damaged.parent / "nothing-*.h5"])
        qtbot.waitUntil(lambda: bool(browser.error_label.text()), timeout=10_000)
        assert (
            browser.error_label.text()
            == f"Cannot open {damaged.parent / 'nothing-*.h5'}: no files match this pattern"
        )
        assert browser.current_event is before
    finally:
        browser.shutdown()


def test_the_summary_table_fills_sorts_filters_and_opens_events(qtbot, dataset_files) -> None:
    from panels.summary_panel import KEYS, SummaryPanel

    files, damaged = dataset_files
    data = open_dataset(files)
    panel = SummaryPanel(chunk_size=64)  # several chunks, across the file boundaries
    qtbot.addWidget(panel)
    panel.resize(1300, 500)
    panel.show()
    chosen: list[int] = []
    panel.event_chosen.connect(chosen.append)
    try:
        job = panel.set_source(data)
        assert job is not None
        qtbot.waitUntil(lambda: panel.summary is not None, timeout=30_000)
        direct = summarize(open_dataset(good_files(files, damaged)))
        model = panel.model
        assert model.rowCount() == len(direct) == 700
        assert model.columnCount() == len(KEYS)
        assert panel.title.text() == f"{files[0].name} (+3 more): 700 events"
        for key in ("index", "recoil_mass", "ntracks", "total_ecl_energy"):
            np.testing.assert_array_equal(table(panel).columns[key], direct.columns[key])
        assert model.text(300, "file") == "c-more.h5"
        assert not panel.view.isColumnHidden(KEYS.index("file"))  # several files: which one
        assert model.text(300, "local") == "1"
        # a click on the M_recoil header sorts by it, a second click the other way; NaN last both ways
        recoil = KEYS.index("recoil_mass")
        header = panel.view.horizontalHeader()
        header_point = QtCore.QPoint(header.sectionViewportPosition(recoil) + 5, header.height() // 2)
        qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=header_point)
        values = direct.columns["recoil_mass"][model.rows]
        finite = np.isfinite(values)
        assert finite.sum() > 20
        assert not finite[finite.sum() :].any()
        assert np.all(np.diff(values[finite]) >= 0)
        qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=header_point)
        values = direct.columns["recoil_mass"][model.rows]
        assert np.all(np.diff(values[: finite.sum()]) <= 0)
        assert np.isnan(values[finite.sum() :]).all()
        top = float(np.nanmax(direct.columns["recoil_mass"]))
        assert model.text(0, "recoil_mass") == f"{top:.3f}"
        # the filter language of the browser: on the table's columns at once
        panel.filter_edit.setText(RECOIL_FILTER)
        qtbot.keyClick(panel.filter_edit, QtCore.Qt.Key.Key_Return)
        expected = np.flatnonzero(direct.columns["recoil_mass"] > 2)
        assert 0 < model.rowCount() == len(expected) < 700
        assert sorted(model.event_index(r) for r in range(model.rowCount())) == expected.tolist()
        assert panel.shown_label.text() == f"{len(expected)} of 700 shown"
        # ... and on a variable the table lacks, by a pass over the data set
        panel.filter_edit.setText("nklm >= 1 and ntracks >= 4")
        qtbot.keyClick(panel.filter_edit, QtCore.Qt.Key.Key_Return)
        whole = [io.load(f) for f in good_files(files, damaged)]
        wanted = np.concatenate(
            [
                filtering.select(b, "nklm >= 1 and ntracks >= 4") + offset
                for b, offset in zip(whole, (0, 300, 600), strict=True)
            ]
        )
        qtbot.waitUntil(lambda: panel.shown_label.text() == f"{len(wanted)} of 700 shown", timeout=20_000)
        assert sorted(model.event_index(r) for r in range(model.rowCount())) == wanted.tolist()
        panel.filter_edit.setText("ntracks >")
        qtbot.keyClick(panel.filter_edit, QtCore.Qt.Key.Key_Return)
        assert "syntax error" in panel.error_label.text()
        panel.filter_edit.setText("")
        qtbot.keyClick(panel.filter_edit, QtCore.Qt.Key.Key_Return)
        assert model.rowCount() == 700
        # a click on a row names its event in the data set
        row_rect = panel.view.visualRect(model.index(2, 1))
        qtbot.mouseClick(panel.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=row_rect.center())
        assert chosen == [model.event_index(2)]
        assert model.event_index(2) == int(table(panel).columns["index"][model.rows[2]])
    finally:
        panel.shutdown()


def test_a_cancelled_summary_shows_what_it_read_and_says_so(qtbot, dataset_files) -> None:
    from panels.summary_panel import SummaryPanel

    files, _ = dataset_files
    panel = SummaryPanel(chunk_size=16)
    qtbot.addWidget(panel)
    panel.show()
    try:
        job = panel.set_source(open_dataset(files))
        assert job is not None
        assert panel.bar.isVisible()
        qtbot.mouseClick(panel.bar.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        # the pass stops after the chunk it is on: the first, as the click came before it ended
        qtbot.waitUntil(lambda: panel.summary is not None, timeout=20_000)
        assert table(panel).cancelled
        assert panel.model.rowCount() == len(table(panel)) == 16
        assert panel.title.text().endswith("16 events (cancelled after 16 of 700)")
        qtbot.waitUntil(lambda: panel.bar.isHidden(), timeout=5000)
    finally:
        panel.shutdown()


def test_dataset_histograms_keep_every_event_of_a_bin(dataset_files) -> None:
    files, damaged = dataset_files
    good = good_files(files, damaged)
    counts = fill_dataset(get_backend("numba"), open_dataset(files), STANDARD, chunk_size=50)
    direct = fill_files(get_backend("numpy"), good, STANDARD)
    zprime = STANDARD[0]
    for d in STANDARD:
        np.testing.assert_array_equal(counts.counts[d.name], direct[d.name])
    peak = int(np.argmax(counts.counts[zprime.name]))
    inside = counts.events_in_bin(zprime.name, peak)
    assert len(inside) == counts.counts[zprime.name][peak] > 16  # more than a live bin keeps
    whole = open_dataset(good).read()
    selected = zprime.select(whole.take(inside))
    (values,) = zprime.kernel(*selected.inputs)
    assert len(values) == len(inside)
    assert np.all(zprime.axes[0].index(values) == peak)
    ids = counts.ids_in_bin(zprime.name, peak)
    assert [tuple(r) for r in ids.tolist()] == [whole.event_id(int(i)) for i in inside]
    with pytest.raises(IndexError):
        counts.events_in_bin(zprime.name, 10_000)


@pytest.mark.gl
def test_the_application_on_a_data_set(qtbot, tmp_path: Path, dataset_files, screenshot_dir) -> None:
    from panels.app import AppConfig, Application
    from panels.histogram_panel import DatasetHistogram

    files, damaged = dataset_files
    good = good_files(files, damaged)
    app = Application(
        AppConfig(
            files=tuple(files),
            stream="none",
            machine="bogus://x",
            settings=tmp_path / "settings.ini",
            chunk_size=100,
        )
    )
    window = app.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        browser, panel = app.browser, app.histogram_panel
        # before a data set is filled the empty histogram shows its own axis, counts from 0
        (axis,) = panel.current.axes
        (x_lo, x_hi), (y_lo, _) = panel.plot.getViewBox().viewRange()
        assert x_lo == pytest.approx(axis.lo, abs=0.02 * (axis.hi - axis.lo))
        assert x_hi == pytest.approx(axis.hi, abs=0.02 * (axis.hi - axis.lo))
        assert y_lo == pytest.approx(0.0)
        qtbot.waitUntil(lambda: browser.current_event is not None, timeout=30_000)
        assert browser.position_label.text().startswith("1 of 700:")
        status = window.statusBar()
        qtbot.waitUntil(lambda: any(str(damaged) in line for line in app.log_panel.lines()), timeout=10_000)
        assert not any(str(damaged) in line and "Traceback" in line for line in app.log_panel.lines())
        # the summary dock fills in the background
        qtbot.waitUntil(lambda: app.summary.summary is not None, timeout=60_000)
        assert app.summary.model.rowCount() == 700
        # the recoil-mass panel fills from the data set, with the counts of a direct computation
        qtbot.waitUntil(lambda: isinstance(panel.current, DatasetHistogram), timeout=60_000)
        direct = fill_files(get_backend("numpy"), good, STANDARD)
        for histogram in panel.histograms:
            np.testing.assert_array_equal(histogram.snapshot().run_counts, direct[histogram.definition.name])
        assert panel.source_box.currentText() == f"data set: {files[0].name} (+3 more)"
        counts = panel.current.snapshot().run_counts
        (x_lo, x_hi), (_, y_hi) = panel.plot.getViewBox().viewRange()
        assert x_lo == pytest.approx(axis.lo, abs=0.02 * (axis.hi - axis.lo))
        assert y_hi >= counts.max()
        # bin -> events -> display, every event of the bin, in the data set
        peak = int(np.argmax(counts))
        selection = panel.select_bin((peak,))
        assert len(selection.records) == counts[peak] > 16
        _settle(qtbot, browser)
        first = int(selection.records["row"][0])
        assert browser.index == first
        whole = open_dataset(good).read()
        assert shown_event(browser).event_id() == whole.event_id(first)
        assert panel.events_list.count() == counts[peak]
        last = panel.events_list.item(panel.events_list.count() - 1)
        panel.events_list.itemActivated.emit(last)
        _settle(qtbot, browser)
        assert browser.index == int(selection.records["row"][-1])
        # a row of the summary opens its event in the browser
        summary = app.summary
        summary.filter_edit.setText(RECOIL_FILTER)
        qtbot.keyClick(summary.filter_edit, QtCore.Qt.Key.Key_Return)
        target = summary.model.event_index(3)
        summary.view.clicked.emit(summary.model.index(3, 0))
        _settle(qtbot, browser)
        assert browser.index == target
        assert shown_event(browser).event_id() == whole.event_id(target)
        # the picture of the window with the summary
        app.summary_dock.raise_()
        window.resizeDocks([app.summary_dock], [380], QtCore.Qt.Orientation.Vertical)
        qtbot.wait(400)
        window.grab().save(str(screenshot_dir / "dataset-summary.png"))
        window.docks["Recoil-mass histograms"].raise_()
        qtbot.wait(300)
        panel.grab().save(str(screenshot_dir / "dataset-histogram.png"))
        # save the selected events: off the GUI thread, atomically, reading back as the selection
        browser.apply_filter(RECOIL_FILTER)
        _settle(qtbot, browser)
        passing = browser.passing
        assert passing is not None
        selected = passing.copy()
        out = tmp_path / "selected.h5"
        saved: list[str] = []
        browser.saved.connect(saved.append)
        job = browser.save_selected(out)
        assert job is not None
        qtbot.waitUntil(lambda: saved == [str(out)], timeout=30_000)
        back = io.load(out)
        assert len(back) == len(selected) > 0
        assert [back.event_id(i) for i in range(len(back))] == [whole.event_id(int(i)) for i in selected]
        np.testing.assert_array_equal(back.tracks.counts, whole.take(selected).tracks.counts)
        assert f"{len(selected)} selected events saved: {out}" in status.currentMessage()
        # a failed save is one line, and leaves the file that was there
        before = out.read_bytes()
        failed = browser.save_selected(files[2])  # one of the inputs
        assert failed is not None
        qtbot.waitUntil(lambda: "selection not saved" in browser.error_label.text(), timeout=30_000)
        assert str(files[2]) in browser.error_label.text()
        assert "\n" not in browser.error_label.text()
        assert out.read_bytes() == before
        qtbot.waitUntil(lambda: "selection not saved" in status.currentMessage(), timeout=5000)
    finally:
        app.close()


@pytest.mark.gl
def test_gui_command_takes_several_files_globs_and_folders(tmp_path: Path, dataset_files) -> None:
    from PySide6.QtGui import QImage

    from tests.conftest import run_main

    files, damaged = dataset_files
    out = tmp_path / "window.png"
    result = run_main(
        "gui",
        str(files[0]),
        str(damaged.parent),  # the folder: the damaged store, c-more.h5 and d-more.root
        str(tmp_path / "c-*.h5"),  # a glob naming c-more.h5 again: read once
        "--stream",
        "none",
        "--machine",
        "bogus://x",
        "--screenshot",
        str(out),
        "--screenshot-after-ms",
        "4000",
        set_env={"XDG_CONFIG_HOME": str(tmp_path)},
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert QImage(str(out)).width() >= 1200
    left_out = [line for line in result.stderr.splitlines() if "left out" in line]
    assert len(left_out) == 1
    assert str(damaged) in left_out[0]
    assert "Traceback" not in result.stderr


def test_the_summary_of_one_mdst_file_leaves_out_the_file_columns(qtbot, mdst_sample) -> None:
    """One file (the real basf2 mdst): its name is in the title, so the file and position-in-file
    columns are left out and the table's last column (the L1 lines fired) shows at 1366x768."""
    from events.io import open_events
    from panels.summary_panel import KEYS, SummaryPanel

    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.resize(1326, 270)
    panel.show()
    source = open_events(str(mdst_sample))
    try:
        panel.set_source(source)
        qtbot.waitUntil(lambda: panel.summary is not None, timeout=30_000)
        assert panel.model.rowCount() == 10
        assert panel.view.isColumnHidden(KEYS.index("file"))
        assert panel.view.isColumnHidden(KEYS.index("local"))
        last = KEYS.index("l1")
        assert panel.view.columnViewportPosition(last) < panel.view.viewport().width()
        # the count and the names of the L1 lines read differently, and each tooltip names the other
        header = {
            key: (
                panel.model.headerData(KEYS.index(key), QtCore.Qt.Orientation.Horizontal),
                panel.model.headerData(
                    KEYS.index(key), QtCore.Qt.Orientation.Horizontal, QtCore.Qt.ItemDataRole.ToolTipRole
                ),
            )
            for key in ("nl1", "l1")
        }
        assert header["nl1"][0] == "L1 count"
        assert header["l1"][0] == "L1 lines fired"
        assert "how many" in header["nl1"][1]
        assert "L1 lines fired" in header["nl1"][1]
        assert "names" in header["l1"][1]
        assert "L1 count" in header["l1"][1]
    finally:
        panel.shutdown()
        source.close()
