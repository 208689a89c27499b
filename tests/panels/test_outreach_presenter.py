"""The presenter's keys on the outreach show: a clicker's PageUp / PageDown, B for black, P / Space hold."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from displays.event_render import BatchSource
from displays.timeline import timeline
from events import filtering
from events.generator import generate

pytestmark = pytest.mark.gl


BATCH = generate(60, seed=7)
FILTER = "ntracks >= 4"
INTERESTING = filtering.select(BATCH, FILTER).tolist()  # what the show loops over, in order


@pytest.fixture
def show(qtbot):
    from panels.outreach import OutreachWindow

    w = OutreachWindow.from_source(BatchSource(BATCH), FILTER, dwell_s=0.2, grow_s=0.08)
    qtbot.addWidget(w)
    w.resize(960, 600)
    w.show()
    qtbot.waitExposed(w)
    w.advance()
    yield w
    w.close()


def test_page_down_and_page_up_step_through_the_events(qtbot, show) -> None:
    events = INTERESTING
    assert len(events) >= 4
    assert show.index == events[0]
    qtbot.keyClick(show, Qt.Key.Key_PageDown)
    qtbot.keyClick(show, Qt.Key.Key_PageDown)
    assert show.index == events[2]
    shown_event = show.current_event
    qtbot.keyClick(show, Qt.Key.Key_PageUp)
    assert show.index == events[1]
    assert show.scene.event is show.current_event  # the views show the event the caption tells
    qtbot.keyClick(show, Qt.Key.Key_PageUp)
    qtbot.keyClick(show, Qt.Key.Key_PageUp)  # nothing before the first: it stays, and says so
    assert show.index == events[0]
    assert show.notice.isVisible()
    assert "earlier" in show.notice.text()
    qtbot.keyClick(show, Qt.Key.Key_PageDown)
    qtbot.keyClick(show, Qt.Key.Key_PageDown)
    assert show.index == events[2]
    assert show.current_event is shown_event
    qtbot.keyClick(show, Qt.Key.Key_PageDown)  # then new ones from the feed
    assert show.index == events[3]
    assert show.scene.time == 0.0  # every event shown is replayed again from the collision


def test_b_blanks_the_screen_and_brings_it_back(qtbot, show, screenshot_dir) -> None:
    show.timer.start()
    qtbot.keyClick(show, Qt.Key.Key_B)
    assert show.blanked
    qtbot.wait(50)
    picture = show.grab().toImage()
    show.grab().save(str(screenshot_dir / "outreach_blank.png"))
    pixels = [
        picture.pixelColor(x, y) for x in range(0, show.width(), 37) for y in range(0, show.height(), 29)
    ]
    assert max(max(c.red(), c.green(), c.blue()) for c in pixels) == 0  # black, all of it
    index, frame = show.index, show.frame
    show.frame = show.dwell_frames
    show.tick()
    assert show.index == index  # nothing goes on behind the black screen
    show.frame = frame
    qtbot.keyClick(show, Qt.Key.Key_B)
    assert not show.blanked
    qtbot.wait(50)
    picture = show.grab().toImage()
    assert picture.pixelColor(show.width() // 2, show.height() - 20).blue() > 0  # the caption is back
    show.stop()


def test_p_and_space_hold_the_event_until_pressed_again(qtbot, show, screenshot_dir) -> None:
    index = show.index
    qtbot.keyClick(show, Qt.Key.Key_P)
    assert show.held
    assert show.notice.isVisible()
    assert show.notice.text() == "Paused"
    show.grab().save(str(screenshot_dir / "outreach_paused.png"))
    azimuth = show.detector.view.camera.azimuth
    for _ in range(3 * show.dwell_frames):
        show.tick()
    assert show.index == index  # held: no new event
    assert show.detector.view.camera.azimuth != azimuth  # the camera still turns
    assert show.scene.time >= timeline(show.current_event).duration  # the replay ran to its end
    assert show.scene.layer_visible("ecl")
    qtbot.waitUntil(lambda: not show.notice.isVisible(), timeout=5000)  # said briefly
    assert show.source_label.text().endswith("paused")  # and marked small while it lasts
    qtbot.keyClick(show, Qt.Key.Key_Space)
    assert not show.held
    assert show.notice.text() == "Playing"
    assert not show.source_label.text().endswith("paused")
    show.tick()
    assert show.index != index  # past its dwell time: the show goes on at once
    qtbot.keyClick(show, Qt.Key.Key_Space)
    assert show.held
    qtbot.keyClick(show, Qt.Key.Key_PageDown)  # the presenter may still step while holding
    assert show.held
    assert show.index == INTERESTING[2]


def test_history_is_bounded(show) -> None:
    from panels.outreach import HISTORY

    for _ in range(HISTORY + 10):
        show.advance()
    assert len(show.history) == HISTORY
    steps = 0
    while show.previous():
        steps += 1
    assert steps == HISTORY - 1
