"""Outreach mode on the real detector: interesting generated events, tracks grow, memory stays flat."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from displays.event_render import BatchSource
from events import filtering
from events.generator import generate
from events.generator.processes import SIGNAL_BY_NAME, SIGNAL_PROCESS

pytestmark = pytest.mark.gl


@pytest.fixture
def window(qtbot):
    from panels.outreach import OutreachWindow

    w = OutreachWindow.from_generator(seed=5, dwell_s=0.2, grow_s=0.08)
    qtbot.addWidget(w)
    yield w
    w.close()


def test_story_follows_the_generated_process() -> None:
    from panels.outreach import caption, story

    batch = generate(400, seed=1, processes=["mumu", "bbbar_charged"])
    mumu = batch.event(int(np.flatnonzero(batch.header["process"] == 7)[0]))
    assert story(mumu)[0] == "A muon pair"
    bb = batch.event(int(np.flatnonzero(batch.header["process"] == 8)[0]))
    assert "B mesons" in story(bb)[0]
    assert f"{bb.tracks.size} charged particles" in caption(bb)
    from events.generator import parse_signal

    z = generate(20, seed=2, processes=[], signals=[parse_signal("zprime:mass=3,fraction=1")])
    ev = z.event(0)
    assert int(ev.header["process"][0]) == SIGNAL_PROCESS
    assert int(ev.header["signal"][0]) == SIGNAL_BY_NAME["zprime"].code
    assert story(ev)[0].startswith("Simulated")


def test_generated_show_on_the_detector(qtbot, window, screenshot_dir) -> None:
    from panels.outreach import DEFAULT_FILTER

    assert {"ECL", "BKLM", "CDC"} <= set(window.detector.parts)  # the real Belle II
    shown: list[int] = []
    events = []
    window.advanced.connect(shown.append)
    window.advanced.connect(lambda _: events.append(window.current_event))
    window.resize(1280, 800)
    window.start(full_screen=False)
    qtbot.waitUntil(lambda: len(shown) >= 4, timeout=20000)
    window.stop()
    assert len(set(shown)) == len(shown)  # new collisions, not a loop
    for ev in events:
        assert bool(filtering.select(ev, DEFAULT_FILTER).size)  # only interesting events
    assert "charged particle" in window.caption_text()
    assert window.headline.font().pointSize() >= 30  # readable from across the room
    for _ in range(window.grow_frames):
        window.tick()
    ecl = window.detector.part("ECL").model
    n_seeds = int(((window.current_event.ecl["hypotheses"] & 16) != 0).sum())
    assert ecl.element_custom.sum() >= n_seeds  # the calorimeter lit up once the tracks arrived
    qtbot.wait(200)
    window.grab().save(str(screenshot_dir / "outreach.png"))


def test_tracks_grow_out_of_the_collision_point_while_the_camera_turns(qtbot, window, screenshot_dir) -> None:
    window.show()
    qtbot.waitExposed(window)
    window.longest_s = 5.0  # the show's own pace (the fixture's replays last two frames)
    window.dwell_frames = 10**6  # and no next event while this one is replayed
    window.advance()
    v = window.visuals
    assert v.scene.time == 0.0  # the collision replayed from its first moment
    assert window.detector.part("ECL").model.element_custom.sum() == 0  # dark until particles arrive
    ip = window.current_event.vertices
    # every track collapsed to its start (docs/time_playback.md): the IP, or a daughter's vertex (a K_S
    # daughter starts where the K_S decays, when its vertex appears)
    starts = np.unique(np.round(np.asarray(v.tracks.pos, dtype=np.float64), 3), axis=0)
    assert len(starts) <= len(window.current_event.tracks["d0"])  # one point per track at most
    at_ip = np.abs(starts - [ip["x"][0], ip["y"][0], ip["z"][0]]).max(axis=1) < 1.0
    assert at_ip.any()
    azimuth = window.detector.view.camera.azimuth

    def grown() -> float:  # how far the tracks have grown from their starts [cm]
        pos = np.asarray(v.tracks.pos, dtype=np.float64)
        return float(np.linalg.norm(pos[:, None, :] - starts[None, :, :], axis=2).min(axis=1).max())

    window.tick()
    r1 = grown()
    window.tick()
    assert grown() > r1 > 0
    assert window.detector.view.camera.azimuth != azimuth
    assert window.clock.text() == f"{2 * window.ns_per_frame:.1f} billionths of a second after the collision"
    window.resize(1280, 800)
    for _ in range(round(3.0 / window.ns_per_frame) - 2):  # on to 3 ns: the tracks halfway out
        window.tick()
    qtbot.wait(100)
    window.grab().save(str(screenshot_dir / "outreach_3ns.png"))


def test_file_show_loops_over_interesting_events(qtbot) -> None:
    from panels.outreach import OutreachWindow

    batch = generate(40, seed=7)
    interesting = filtering.select(batch, "ntracks >= 8").tolist()
    assert 0 < len(interesting) < 40
    w = OutreachWindow.from_source(BatchSource(batch), "ntracks >= 8", dwell_s=0.2, grow_s=0.08)
    qtbot.addWidget(w)
    shown: list[int] = []
    w.advanced.connect(shown.append)
    for _ in range(2 * len(interesting)):
        w.advance()
    assert shown == interesting * 2  # every interesting event, in order, then around again
    w.close()
    empty = OutreachWindow.from_source(BatchSource(batch), "ntracks >= 1000")
    qtbot.addWidget(empty)
    empty.advance()
    assert "Waiting" in empty.headline.text()
    empty.close()


def test_memory_stays_flat_over_many_events(qtbot, window) -> None:
    scene = window.detector.view.scene
    visuals_before = {id(n) for n in window.visuals.visuals()}

    def nodes() -> int:
        count, todo = 0, [scene]
        while todo:
            node = todo.pop()
            count += 1
            todo.extend(node.children)
        return count

    def show_events(n: int) -> None:
        for _ in range(n):
            window.advance()
            for _ in range(window.grow_frames + 1):
                window.tick()
            qtbot.wait(20)  # paint: uploads reach the GL and leave the command queue

    draws = [0]
    window.detector.canvas.events.draw.connect(lambda _: draws.__setitem__(0, draws[0] + 1))
    nodes_before = nodes()
    window.resize(640, 480)
    window.show()
    qtbot.waitExposed(window)
    show_events(20)  # warm up caches (fonts, shaders, numpy pools)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()

    def heap() -> int:
        gc.collect()
        return sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))

    show_events(40)  # the generator's chunks, the crystal buffers: held once, whatever the time
    held = heap()
    show_events(80)
    grown = heap() - held
    tracemalloc.stop()
    assert window.shown >= 140
    assert draws[0] >= 120  # every event was painted
    assert held < 8_000_000, f"{held} bytes held after 40 events"
    assert grown < 500_000, f"Python heap grew by {grown} bytes over 80 more events"
    assert {id(n) for n in window.visuals.visuals()} == visuals_before  # the same visuals, reused
    assert nodes() == nodes_before  # no node added to the scene


def test_a_hidden_show_does_no_work(window) -> None:
    """Uploads queue up until the next paint: a minimised or hidden show must not pile them up."""
    window.hide()
    window.frame = window.dwell_frames
    window.tick()
    assert window.shown == 0


def test_the_picture_is_a_native_gl_window_with_its_labels_drawn_in(qtbot, window, screenshot_dir) -> None:
    """The detector draws straight into a native GL window (no composition pass per frame); the clock
    and the presenter's notices, which a widget could not cover it with, are drawn into the picture
    where the labels are, and a grab of the window shows the picture."""
    from PySide6.QtOpenGL import QOpenGLWindow

    assert isinstance(window.detector.canvas.native, QOpenGLWindow)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.longest_s = 5.0
    window.dwell_frames = 10**6
    window.advance()
    for _ in range(5):
        window.tick()
    window.say("Paused")
    clock, notice = window.overlays
    qtbot.waitUntil(lambda: clock.image.visible and notice.image.visible, timeout=3000)
    qtbot.wait(100)  # painted
    grabbed = window.grab()
    grabbed.save(str(screenshot_dir / "outreach_native.png"))
    picture = window.detector.render()  # what the GL window draws, labels included
    g = window.clock.geometry()
    inside = picture[g.top() : g.bottom(), g.left() : g.right(), :3].astype(int)
    clock_blue = (inside[..., 2] > 180) & (inside[..., 1] > 150)  # the clock's #8fd3f4 letters
    assert clock_blue.sum() > 50
    g = window.notice.geometry()
    inside = picture[g.top() : g.bottom(), g.left() : g.right(), :3].astype(int)
    assert (inside.min(axis=2) > 230).sum() > 100  # the notice's white letters
    assert (inside[..., 2] - inside[..., 0] > 120).sum() > 50  # and its blue frame
    image = grabbed.toImage()
    c = window.canvas_widget.geometry().center()
    colours = {
        image.pixelColor(c.x() + dx, c.y() + dy).name() for dx in range(-200, 200, 25) for dy in (-60, 0, 60)
    }
    assert len(colours) > 5  # the detector is in the grab, not a black or empty rectangle
    window._end_notice()
    assert not notice.image.visible
    # a presenter's key pressed while the picture has the keyboard (a visitor clicked it) reaches the show
    from PySide6 import QtCore, QtGui

    held = window.held
    press = QtGui.QKeyEvent(
        QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_P, QtCore.Qt.KeyboardModifier.NoModifier, "p"
    )
    QtCore.QCoreApplication.sendEvent(window.detector.canvas.native, press)
    assert window.held != held
