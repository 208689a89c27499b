"""The whole application on the embedded simulation: every room wired into one window."""

from __future__ import annotations

import numpy as np
import pytest

from events.model import Collection, EventBatch
from panels.app import newest_worth_showing


def test_newest_worth_showing_skips_empty_events() -> None:
    tracks = Collection.from_columns("tracks", [3, 0, 1, 0], {})
    ecl = Collection.from_columns("ecl", [0, 0, 1, 0], {"energy": [0.2]})
    batch = EventBatch.build(4, tracks=tracks, ecl=ecl)
    assert newest_worth_showing(batch) == 0
    ecl = Collection.from_columns("ecl", [0, 0, 1, 0], {"energy": [2.5]})
    assert newest_worth_showing(EventBatch.build(4, tracks=tracks, ecl=ecl)) == 2
    nothing = EventBatch.build(2)
    assert newest_worth_showing(nothing) == 1


def _batch(first_event: int, n: int) -> EventBatch:
    header = {
        "experiment": np.full(n, 26),
        "run": np.full(n, 7),
        "event": np.arange(first_event, first_event + n),
    }
    return EventBatch.build(n, header=header)


def test_bin_click_opens_the_newest_of_its_events_still_buffered(qtbot) -> None:
    from monitoring.histograms.running import LINK_DTYPE
    from monitoring.live_events import LiveBuffer
    from panels.app import LiveFollower
    from panels.event_browser import EventBrowser

    buffer = LiveBuffer(capacity=10)
    for first in (0, 10, 20):
        buffer(_batch(first, 10))  # events 0-19 have left, 20-29 remain
    browser = EventBrowser()
    qtbot.addWidget(browser)
    follower = LiveFollower(buffer, browser, period_s=60)
    qtbot.addWidget(follower)
    records = np.zeros(3, dtype=LINK_DTYPE)
    records["experiment"], records["run"] = 26, 7
    records["event"] = [5, 24, 31]  # oldest first; 31 not arrived, 5 evicted
    assert follower.open_newest(records) == (26, 7, 24)
    assert not follower.follow.isChecked()
    assert browser.current_event is not None
    assert int(browser.current_event.header["event"][0]) == 24
    records["event"] = [1, 2, 3]
    assert follower.open_newest(records) is None
    browser.shutdown()


@pytest.mark.gl
def test_application_on_the_embedded_simulation(qtbot, tmp_path, screenshot_dir) -> None:
    from panels.app import AppConfig, Application

    config = AppConfig(
        follow_s=0.5,
        machine="sim://?accel=30",
        signals=("zprime:mass=3.0,fraction=0.3",),
        settings=tmp_path / "settings.ini",
    )
    app = Application(config)
    window = app.window
    qtbot.addWidget(window)
    assert app.stream is None  # the stream starts once the window has painted
    assert not any(v.built for v in app.visuals.values())  # nor any overlay visual yet
    window.show()
    qtbot.waitExposed(window)
    try:
        # live events arrive over the embedded ZeroMQ stream and fill the histograms
        qtbot.waitUntil(lambda: app.buffer.received >= 200, timeout=30_000)
        qtbot.waitUntil(lambda: app.browser.current_event is not None, timeout=10_000)
        zprime = app.histograms[0]
        qtbot.waitUntil(lambda: zprime.snapshot().run_counts.sum() >= 20, timeout=30_000)
        counts = zprime.snapshot().run_counts
        axis = zprime.axes[0]
        peak = axis.lo + (np.argmax(counts) + 0.5) * axis.width
        assert peak == pytest.approx(3.0, abs=0.15)  # the injected Z' shows as a recoil peak
        # the display follows the stream and the 3D view draws the event's tracks
        event = app.browser.current_event
        assert event is not None
        assert app.visuals["3d"].event is event
        assert event.tracks.size == 0 or app.visuals["3d"].tracks.visible
        # the events carry the run of the machine's run control, as the shifter's panels show it
        assert app.hub is not None
        states = app.hub.model.states
        assert int(event.header["experiment"][0]) == int(states["EXP"].value) == 35
        assert int(event.header["run"][0]) in (int(states["RUN"].value), int(states["RUN"].value) - 1)
        stats = app.stream.source.stats() if app.stream else None
        assert stats is not None
        assert stats.rejected_total == 0
        # a bin click opens one of its events, still in the live buffer
        selection = app.histogram_panel.select_bin((int(np.argmax(counts)),))
        qtbot.waitUntil(lambda: not app.follower.follow.isChecked(), timeout=5_000)
        shown = app.browser.current_event
        assert shown is not None
        assert int(shown.header["event"][0]) in selection.records["event"]
        window.grab().save(str(screenshot_dir / "application.png"))
    finally:
        app.close()


@pytest.mark.gl
def test_a_bad_machine_url_leaves_the_rest_of_the_application_working(qtbot, tmp_path) -> None:
    from panels.app import AppConfig, Application

    app = Application(AppConfig(machine="bogus://x", stream="none", settings=tmp_path / "settings.ini"))
    qtbot.addWidget(app.window)
    try:
        assert app.hub is None
        from PySide6.QtWidgets import QLabel

        problem = app.window.docks["Machine data"].widget()
        assert isinstance(problem, QLabel)
        assert "unknown scheme 'bogus'" in problem.text()
        assert app.window.docks["Recoil-mass histograms"] is not None
        assert app.visuals["3d"] is not None
    finally:
        app.close()


def test_bin_click_finds_its_event_by_batch_and_row_and_checks_the_id(qtbot) -> None:
    from monitoring.histograms.running import LINK_DTYPE
    from monitoring.live_events import LiveBuffer
    from panels.app import LiveFollower
    from panels.event_browser import EventBrowser

    buffer = LiveBuffer(capacity=10)
    for first in (0, 10, 20):
        buffer(_batch(first, 10))
    browser = EventBrowser()
    qtbot.addWidget(browser)
    follower = LiveFollower(buffer, browser, period_s=60)
    qtbot.addWidget(follower)
    record = np.zeros(1, dtype=LINK_DTYPE)
    record["experiment"], record["run"], record["event"] = 26, 7, 27
    record["batch"], record["row"] = 2, 7  # where a histogram fed alongside the buffer saw it
    assert follower.open_newest(record) == (26, 7, 27)
    assert browser.index == 7
    record["batch"], record["row"] = 2, 3  # numbered from another start: the id decides
    assert follower.open_newest(record) == (26, 7, 27)
    assert browser.current_event is not None
    assert int(browser.current_event.header["event"][0]) == 27
    browser.shutdown()


@pytest.mark.gl
def test_the_alarm_archive_carries_a_shelf_and_an_acknowledgement_over_a_restart(qtbot, tmp_path) -> None:
    from panels.app import AppConfig, Application

    config = AppConfig(
        machine="sim://?accel=30&sbl_rate=0",
        stream="none",
        settings=tmp_path / "settings.ini",
        alarm_archive=tmp_path / "alarms.sqlite",
    )
    first = Application(config)
    qtbot.addWidget(first.window)
    try:
        assert first.hub is not None
        alarms = first.hub.model.alarm_model
        assert alarms is not None
        alarms.shelve("luminosity_low", "Ana", "machine study", 3600)
        qtbot.waitUntil(lambda: first.archive is not None and first.archive.last_seq >= 1, timeout=5000)
    finally:
        first.close()
    second = Application(config)
    qtbot.addWidget(second.window)
    try:
        assert second.hub is not None
        alarms = second.hub.model.alarm_model
        assert alarms is not None
        shelved = alarms.alarms["luminosity_low"]
        assert (shelved.shelved, shelved.shelved_by, shelved.shelve_reason) == (True, "Ana", "machine study")
        assert alarms.seq >= 1
        assert "1 shelved" in second.alarm_status.text()
        # every panel an alarm names is one the window can bring to the front
        for definition in (a.definition for a in alarms):
            assert second._open_panel(definition.panel) is not None, definition.panel
    finally:
        second.close()


@pytest.mark.gl
def test_hidden_docks_are_built_after_the_first_frame_and_show_what_came_before(qtbot, tmp_path) -> None:

    from panels.app import AppConfig, Application
    from panels.monitoring.beams import BeamPanel

    app = Application(AppConfig(machine="sim://?accel=30", stream="none", settings=tmp_path / "settings.ini"))
    window = app.window
    qtbot.addWidget(window)
    try:
        hidden = {"Recoil-mass histograms", "θ-φ map", "Event summary", "Beam currents"}
        beams = next(d for d in app.monitoring if d.objectName() == "monitoring-beams")
        assert hidden <= set(app.pending_docks())
        assert {*hidden, "Log", "Luminosity"} <= set(window.docks)  # every dock's title and tab at once
        assert app.hub is not None
        assert app.hub.model.alarm_model is not None
        assert app.alarm_status.timer.isActive()
        # the machine's values arrive while the beam panel does not exist yet: the hub's model keeps them
        model = app.hub.model
        qtbot.waitUntil(lambda: len(model.buffers["HER:I"]) > 0, timeout=10_000)
        before = model.latest_time
        assert not any(v.built for v in app.visuals.values())  # no overlay visual before the first frame
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: not app.pending_docks(), timeout=20_000)  # right after the first frame
        assert all(v.built for v in app.visuals.values())  # made then too: the first event builds nothing
        panel = beams.widget()
        assert isinstance(panel, BeamPanel)
        assert panel in app.hub.panels
        assert window.docks["θ-φ map"].widget() is app.ecl_map
        assert window.docks["Recoil-mass histograms"].widget() is app.histogram_panel
        assert window.docks["Event summary"].widget() is app.summary
        beams.raise_()
        panel.refresh(app.hub.model)
        t, _ = panel.chart.curves["HER:I"].getData()
        assert t is not None
        assert len(t)
        assert float(np.min(t)) <= before
        app.build_all_docks()  # nothing left: a no-op
    finally:
        app.close()
