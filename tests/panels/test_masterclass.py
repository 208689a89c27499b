"""The masterclass window on the shipped sample: click the muons, read the masses, fill the histogram,
find the peak, reset for the next group."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

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
    # before a pair is picked the empty mass and explanation rows take no room: the tip follows the steps
    assert window.masses.isHidden()
    assert window.explain.isHidden()
    last_step = window.step_labels[max(window.step_labels)]
    gap = window.message.geometry().top() - last_step.geometry().bottom()
    assert gap <= 3 * window.panel.layout().spacing()

    for n in range(1, 4):
        picked = _click_the_muons(qtbot, window)
        event = window.state.event
        expected = candidate.evaluate(event, [candidate.Pick("track", t, MUON) for t in picked])
        shown = window.shown_masses
        assert shown is not None
        assert not window.masses.isHidden()
        assert not window.explain.isHidden()
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


def _true_pair(window) -> tuple[int, int]:
    """The first pair of the event's objects that are the exercise's particle from one mother."""
    from events.masterclass import true_mothers

    ex, event = window.exercise, window.state.event
    n = event.tracks.size if ex.kind == "track" else event.ecl.size
    everything = tuple(range(n))
    truth, mothers = true_particles(event, everything, ex.kind), true_mothers(event, everything, ex.kind)
    mine = [o for o in range(n) if truth[o] == ex.particle and mothers[o] >= 0]
    for a in mine:
        for b in mine:
            if a < b and mothers[a] == mothers[b]:
                return a, b
    raise LookupError("no true pair")


def _fill(qtbot, window, entries: int) -> None:
    """Click the true pair of each event (through the canvas's mouse events) and add it, ``entries`` times."""
    canvas = window.detector.canvas
    while len(window.state.entries) < entries:
        try:
            pair = _true_pair(window)
        except LookupError:
            window.next_event()
            continue
        for o in pair:
            pos = np.array(window.track_anchor(o))
            canvas.events.mouse_press(pos=pos, button=1, modifiers=())
            canvas.events.mouse_release(pos=pos, button=1, modifiers=())
        assert sorted(window.state.picked) == sorted(pair)
        qtbot.mouseClick(window.add_button, QtCore.Qt.MouseButton.LeftButton)
        assert window.message.text().startswith("Yes!"), window.message.text()
        window.next_event()


def test_the_pi0_exercise(qtbot, screenshot_dir) -> None:
    """Two photon clusters clicked through the canvas: M(γγ), the histogram's bars, the answer, reset
    (the J/ψ exercise picks tracks as the Z′ one does: tests/events/test_masterclass_exercises.py)."""
    from events.masterclass import EXERCISES
    from panels.masterclass import MasterclassWindow

    w = MasterclassWindow.generated(EXERCISES["pi0"], needed=3)
    qtbot.addWidget(w)
    w.resize(1900, 1050)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(100)
    assert w.windowTitle().endswith("weigh the π⁰")
    assert w.target_marker.visible  # a ring round every cluster to click
    assert "ring" in w.message.text()
    pair = _true_pair(w)
    for o in pair:
        assert w.click_at(w.track_anchor(o)) == o
    shown = w.shown_masses
    assert shown is not None
    assert len(shown) == 1  # M(γγ) only: no recoil in this exercise
    assert w.state.pair is not None
    assert shown[0] == pytest.approx(w.state.pair.mass, abs=0.0005)
    assert w.scene.recoil is None
    for o in pair:  # unpicked again by a second click, for _fill's clicks
        assert w.click_at(w.track_anchor(o)) == o
    assert w.state.picked == []
    _fill(qtbot, w, 3)
    counts = _histogram_counts(w)
    assert counts.sum() == 3
    centres = (w.bins[1:] + w.bins[:-1]) / 2
    assert abs(float(np.average(centres, weights=counts)) - 0.135) < 0.02
    qtbot.wait(200)
    w.grab().save(str(screenshot_dir / "masterclass_pi0.png"))
    # the histogram bars are drawn: the plot has the bars' yellow
    plot = w.plot.grab().toImage()
    yellow = sum(
        1 for x in range(0, plot.width(), 4) for y in range(0, plot.height(), 4)
        if (c := plot.pixelColor(x, y)).red() > 150 and c.green() > 120 and c.blue() < 110
    )  # fmt: skip
    assert yellow > 20
    assert not w.answer_peak(0.25)
    assert "lower" in w.message.text()
    assert w.answer_peak(0.135)
    assert "135 MeV" in w.message.text()
    qtbot.keyClick(w, QtCore.Qt.Key.Key_R)
    assert _histogram_counts(w).sum() == 0
    assert w.state.step is Step.LOOK
    w.close()


def test_the_jpsi_exercise(qtbot, screenshot_dir) -> None:
    """Two muon tracks clicked through the canvas: M(μμ) as the candidate tool computes it, checked
    against the truth (a J/ψ's muons, or two-photon muons under the peak), three entries collected
    round the J/ψ mass, the answer against the PDG mass, reset for the next group."""
    from events.generator.processes import BY_NAME
    from events.masterclass import EXERCISES, JPSI
    from events.pdg import mass as pdg_mass
    from panels.masterclass import MasterclassWindow

    jpsi_mass = float(pdg_mass([JPSI])[0])
    w = MasterclassWindow.generated(EXERCISES["jpsi"], needed=3)
    qtbot.addWidget(w)
    w.resize(1900, 1050)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(100)
    assert w.windowTitle().endswith("weigh the J/ψ")
    assert w.state.truth_mass == pytest.approx(jpsi_mass)
    assert not w.target_marker.visible  # tracks are picked: no rings round the clusters
    assert "line" in w.message.text()
    canvas = w.detector.canvas

    def click(track: int) -> None:
        pos = np.array(w.track_anchor(track))
        canvas.events.mouse_press(pos=pos, button=1, modifiers=())
        canvas.events.mouse_release(pos=pos, button=1, modifiers=())

    # background first: two muons of a two-photon event, not from a J/ψ
    eemumu = BY_NAME["eemumu"].code
    for _ in range(len(w.rows)):
        event = w.state.event
        assert event is not None
        muons = [t for t, p in enumerate(true_particles(event, tuple(range(event.tracks.size)))) if p == MUON]
        if int(event.header["process"][0]) == eemumu and len(muons) >= 2:
            break
        w.next_event()
    else:
        raise AssertionError("no two-photon muon pair among the generated events")
    for t in muons[:2]:
        click(t)
    assert w.state.picked == muons[:2]
    picks = [candidate.Pick("track", t, MUON) for t in muons[:2]]
    expected = candidate.evaluate(event, picks).mass
    shown = w.shown_masses
    assert shown is not None
    assert len(shown) == 1
    assert shown[0] == pytest.approx(expected, abs=0.005)
    assert w.scene.recoil is None
    qtbot.mouseClick(w.add_button, QtCore.Qt.MouseButton.LeftButton)
    assert w.message.text() == "Those were two muons, but not from one J/ψ: they make the background."
    assert w.state.right_pairs == 1
    assert not w.state.entries[-1].verdict.signal
    assert _histogram_counts(w).sum() == 1
    w.reset()  # a clean histogram for the peak
    assert _histogram_counts(w).sum() == 0
    w.next_event()

    for _ in range(len(w.rows)):  # the next event with a J/ψ in it
        try:
            pair = _true_pair(w)  # its muons: their mass is the J/ψ's, within the tracking resolution
            break
        except LookupError:
            w.next_event()
    else:
        raise AssertionError("no J/ψ among the generated events")
    for t in pair:
        click(t)
    shown = w.shown_masses
    assert shown is not None
    assert shown[0] == pytest.approx(jpsi_mass, abs=0.1)
    for t in pair:  # unpicked by a second click, for _fill's clicks
        click(t)
    assert w.state.picked == []
    _fill(qtbot, w, 3)  # each said "Yes! ..."
    assert all(e.verdict.muons and e.verdict.signal for e in w.state.entries)  # muons of one J/ψ
    assert w.state.entries[-1].verdict.message == "Yes! Those two muons came from one J/ψ."
    counts = _histogram_counts(w)
    assert counts.sum() == 3
    centres = (w.bins[1:] + w.bins[:-1]) / 2
    assert abs(float(np.average(centres, weights=counts)) - jpsi_mass) < 0.1
    assert w.state.step is Step.PEAK
    assert w.check_button.isEnabled()
    qtbot.wait(200)
    w.grab().save(str(screenshot_dir / "masterclass_jpsi.png"))
    assert not w.answer_peak(3.5)
    assert "lower" in w.message.text()
    assert not w.answer_peak(2.9)
    assert "higher" in w.message.text()
    w.peak_input.setValue(3.10)
    qtbot.mouseClick(w.check_button, QtCore.Qt.MouseButton.LeftButton)
    assert w.state.found
    assert f"{jpsi_mass:.3f} GeV" in w.message.text()
    qtbot.keyClick(w, QtCore.Qt.Key.Key_R)
    assert _histogram_counts(w).sum() == 0
    assert w.state.entries == []
    assert not w.state.found
    assert w.state.step is Step.LOOK
    assert w.message.text() == "Ready for a new group!"
    w.close()


def test_the_class_fits_a_laptop_screen(qtbot, screenshot_dir) -> None:
    """On a 1366x768 laptop (708 px below a top bar and a title bar) the window fits whole, the
    histogram's axis title is not covered by the answer row, and a projector keeps the full size."""
    from panels.masterclass import STYLE, MasterclassWindow, style

    assert style(1.0) == STYLE
    w = MasterclassWindow.from_source(open_events(SAMPLE), needed=3)
    qtbot.addWidget(w)
    w.fit_to(1366, 708)
    w.resize(1366, 708)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    w.grab().save(str(screenshot_dir / "masterclass_1366x708.png"))
    hint = w.minimumSizeHint()
    assert hint.width() <= 1366
    assert hint.height() <= 708
    assert (w.width(), w.height()) == (1366, 708)
    plot_bottom = w.plot.mapTo(w, QtCore.QPoint(0, w.plot.height())).y()
    assert plot_bottom <= w.peak_input.mapTo(w, QtCore.QPoint(0, 0)).y()  # nothing drawn over the plot
    axis = w.plot.getAxis("bottom")
    ticks = QtGui.QFontMetrics(axis.style["tickFont"]).height()
    title = axis.label.boundingRect().height()
    assert axis.height() >= ticks + title  # room for the tick labels and the whole axis title
    assert axis.sceneBoundingRect().bottom() <= w.plot.height()
    assert w.detector.canvas.native.width() >= 480  # the detector keeps its room
    w.fit_to(1920, 1080)  # a projector: the sizes the class was made with
    assert w.styleSheet() == STYLE
    assert w.panel.width() == 900 or w.panel.maximumWidth() == 900
    w.close()


@pytest.mark.parametrize("height", [708, 768])
def test_the_class_fits_a_laptop_screen_after_a_pick(qtbot, screenshot_dir, height) -> None:
    """Once a pair is picked (and added: the verdict may take two rows) the masses and their
    explanation still leave the histogram whole on a 1366x768 laptop: the answer row is below the
    plot's axis, the progress line inside the window, and the window's least size fits the screen."""
    from panels.masterclass import MasterclassWindow

    w = MasterclassWindow.from_source(open_events(SAMPLE), needed=3)
    qtbot.addWidget(w)
    w.fit_to(1366, height)
    w.resize(1366, height)
    w.show()
    qtbot.waitExposed(w)
    _click_the_muons(qtbot, w)
    for state in ("picked", "added"):
        if state == "added":
            w.add_to_histogram()
            assert w.message.text().startswith("Yes!")
        qtbot.wait(50)
        assert not w.explain.isHidden()
        assert (w.width(), w.height()) == (1366, height)
        hint = w.minimumSizeHint()
        assert hint.width() <= 1366
        assert hint.height() <= height
        axis = w.plot.getAxis("bottom")
        axis_area = axis.mapRectToScene(axis.boundingRect()).toAlignedRect()  # in the plot's pixels
        axis_area.translate(w.plot.mapTo(w, QtCore.QPoint(0, 0)))
        answer_row = w.peak_input.geometry().united(w.check_button.geometry())
        answer_row.moveTopLeft(w.peak_input.mapTo(w, QtCore.QPoint(0, 0)))
        assert axis_area.height() > 0
        assert not answer_row.intersects(axis_area)
        plot_bottom = w.plot.mapTo(w, QtCore.QPoint(0, w.plot.height())).y()
        assert plot_bottom <= answer_row.top()
        assert (
            w.explain.mapTo(w, QtCore.QPoint(0, w.explain.height())).y()
            <= w.message.mapTo(w, QtCore.QPoint(0, 0)).y()
        )  # the explanation is not covered by the message below it
        progress_bottom = w.progress.mapTo(w, QtCore.QPoint(0, w.progress.height())).y()
        assert progress_bottom <= height  # the last line is on the screen
        if state == "picked":
            w.grab().save(str(screenshot_dir / f"masterclass_1366x{height}_picked.png"))
    w.close()
