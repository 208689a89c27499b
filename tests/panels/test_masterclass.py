"""The masterclass window on the shipped sample: click the muons, read the masses, fill the histogram,
find the peak, reset for the next group."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from events import candidate
from events.generator.samples import SAMPLE
from events.io import open_events
from events.masterclass import MUON, Step, true_particles
from tests.conftest import run_main

pytestmark = pytest.mark.gl


@pytest.fixture
def window(qtbot):
    from panels.masterclass import MasterclassWindow

    w = MasterclassWindow.from_source(open_events(SAMPLE), needed=3)
    qtbot.addWidget(w)
    w.resize(1900, 1050)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _click_the_muons(qtbot, window) -> list[int]:
    """Click each true muon track where a student would, through the window's click path."""
    event = window.state.event
    muons = [t for t, p in enumerate(true_particles(event, tuple(range(event.tracks.size)))) if p == MUON]
    first, second = muons[:2]
    canvas = window.detector.canvas
    pos = np.array(window.track_anchor(first))
    canvas.events.mouse_press(pos=pos, button=1, modifiers=())  # a real click on the canvas
    canvas.events.mouse_release(pos=pos, button=1, modifiers=())
    assert window.state.picked == [first]
    assert window.click_at(window.track_anchor(second)) == second  # what the release handler calls
    assert window.state.picked == [first, second]
    return [first, second]


def _histogram_counts(window) -> np.ndarray:
    return np.asarray(window.histogram_item.getData()[1])


def test_a_class_on_the_sample(qtbot, window, screenshot_dir) -> None:
    assert window.state.truth_mass == pytest.approx(3.0)
    assert window.state.step is Step.LOOK
    assert window.step_labels[Step.LOOK].property("state") == "now"
    assert not window.add_button.isEnabled()
    qtbot.wait(100)  # the canvas has its size, so the track anchors map to where they are drawn

    for n in range(1, 4):
        picked = _click_the_muons(qtbot, window)
        event = window.state.event
        expected = candidate.evaluate(event, [candidate.Pick("track", t, MUON) for t in picked])
        shown = window.shown_masses
        assert shown is not None
        assert shown[0] == pytest.approx(expected.mass, abs=0.005)
        assert shown[1] == pytest.approx(expected.recoil_mass, abs=0.005)
        assert window.scene.recoil is not None  # the missing momentum drawn as an arrow
        assert window.add_button.isEnabled()
        before = _histogram_counts(window).copy()
        qtbot.mouseClick(window.add_button, QtCore.Qt.MouseButton.LeftButton)
        after = _histogram_counts(window)
        assert after.sum() == before.sum() + 1  # the histogram item's data changed
        assert window.message.text().startswith("Yes!")
        assert not window.add_button.isEnabled()
        if n == 1:
            qtbot.wait(200)
            window.grab().save(str(screenshot_dir / "masterclass_pair.png"))
        if n < 3:
            qtbot.mouseClick(window.next_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.state.step is Step.PEAK
    assert window.check_button.isEnabled()

    assert not window.answer_peak(7.0)
    assert "lower" in window.message.text()
    window.peak_input.setValue(3.0)
    qtbot.mouseClick(window.check_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.state.found
    assert "3.0 GeV" in window.message.text()
    qtbot.wait(200)
    window.grab().save(str(screenshot_dir / "masterclass_found.png"))

    qtbot.keyClick(window, QtCore.Qt.Key.Key_R)
    assert _histogram_counts(window).sum() == 0
    assert window.state.entries == []
    assert window.state.step is Step.LOOK
    assert window.message.text() == "Ready for a new group!"


def test_a_bad_file_is_one_line(tmp_path) -> None:
    bad = tmp_path / "broken.h5"
    bad.write_text("not hdf5")
    result = run_main("gui", "--masterclass", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "broken.h5" in lines[0]


def test_the_command_opens_the_sample(tmp_path) -> None:
    picture = tmp_path / "masterclass.png"
    result = run_main("gui", "--masterclass", "--screenshot", str(picture), "--screenshot-after-ms", "500")
    assert result.returncode == 0, result.stderr
    assert picture.stat().st_size > 10_000
