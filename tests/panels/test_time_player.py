"""The time player: its slider, play/pause and slow-motion factor drive the scene's time axis."""

from __future__ import annotations

import numpy as np
import pytest

from displays import timeline as timing
from displays.scene import Scene
from events.generator import generate, parse_signal
from events.model import VertexKind


@pytest.fixture(scope="module")
def events() -> list:
    batch = generate(30, seed=5, signals=[parse_signal("llp:mass=1.0,ctau=5,channel=pipi,fraction=0.3")])
    return [batch.event(i) for i in range(len(batch))]


@pytest.fixture
def player(qtbot):
    from panels.time_player import TimePlayer

    scene = Scene()
    p = TimePlayer(scene, ns_per_s=2.0)
    qtbot.addWidget(p)
    yield p
    p.detach()


def test_the_slider_spans_the_event_and_sets_the_scene_time(player, events) -> None:
    from panels.time_player import TICKS_PER_NS

    scene = player.scene
    scene.set_event(events[0])
    duration = timing.timeline(events[0]).duration
    assert player.duration == pytest.approx(duration)
    assert player.slider.maximum() == round(duration * TICKS_PER_NS)
    assert scene.time is None  # the whole event until someone asks for a time
    assert player.label.text() == "whole event"
    seen: list[float | None] = []
    player.time_changed.connect(seen.append)
    player.slider.setValue(3 * TICKS_PER_NS)
    assert scene.time == pytest.approx(3.0)
    assert seen == [pytest.approx(3.0)]
    assert "3.00 ns" in player.label.text()
    scene.set_time(1.5)  # set elsewhere (a movie, a test): the slider follows
    assert player.slider.value() == round(1.5 * TICKS_PER_NS)
    player.set_time(1e6)  # never past the event's end
    assert scene.time == pytest.approx(duration)
    player.show_whole()
    assert scene.time is None
    assert player.slider.value() == player.slider.maximum()


def test_playing_advances_at_the_slow_motion_factor_and_stops_at_the_end(qtbot, player, events) -> None:
    scene = player.scene
    scene.set_event(events[1])
    player.play()
    assert player.playing
    assert scene.time == 0.0  # from the collision, as there was no time axis
    assert player.play_button.isChecked()
    assert player.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: (scene.time or 0.0) > 0.0, timeout=5000)  # the timer drives it
    player.pause()
    assert not player.playing
    assert not player.play_button.isChecked()
    stopped = scene.time
    qtbot.wait(120)
    assert scene.time == stopped  # paused: nothing moves
    player.speed.setValue(4.0)
    player.step(0.5)  # half a second at 4 ns per second
    assert scene.time == pytest.approx(stopped + 2.0)
    player.play()
    player.step(1e3)  # past the end: the player stops there
    assert scene.time == pytest.approx(player.duration)
    assert not player.playing
    player.play()  # at the end, play starts over
    assert scene.time == 0.0
    player.play_button.click()  # the button pauses too
    assert not player.playing


def test_a_new_event_while_playing_starts_from_the_collision(player, events) -> None:
    scene = player.scene
    scene.set_event(events[2])
    player.play()
    player.step(1.0)
    assert scene.time == pytest.approx(2.0)
    scene.set_event(events[3])
    assert scene.time == 0.0
    assert player.duration == pytest.approx(timing.timeline(events[3]).duration)
    player.pause()
    player.set_time(1e3)
    scene.set_event(events[4])  # paused: the time stays, within the new event's span
    assert scene.time == pytest.approx(min(timing.timeline(events[3]).duration, player.duration))


def test_the_views_follow_the_player(qtbot, player, events) -> None:
    """Tracks grow, clusters and a displaced vertex appear as the player's time passes."""
    pytest.importorskip("vispy")
    from vispy import scene as vispy_scene

    from displays.event_visuals import EventVisuals

    event = next(e for e in events if (e.vertices["kind"] != VertexKind.PRIMARY).any() and e.ecl.size)
    canvas = vispy_scene.SceneCanvas(size=(200, 200), show=False)
    view = canvas.central_widget.add_view()
    visuals = EventVisuals(view, "rphi", scene=player.scene)
    try:
        player.scene.set_event(event)
        t = timing.timeline(event)
        extents, towers, vertices = [], [], []
        first = t.vertices[event.vertices["kind"] != VertexKind.PRIMARY].min()
        for time in (0.0, 0.5 * first, 1.01 * t.vertices.max(), 3.0, 8.0, player.duration):
            player.set_time(time)
            extents.append(float(np.abs(visuals.tracks.pos).max()))
            towers.append(len(visuals.overlays["ecl"].pick_index))
            vertices.append(len(visuals.overlays["vertices"].pick_index))
        assert extents == sorted(extents)
        # at the collision every track is a point: at the IP, or daughters at their (future) vertex
        far = np.abs(np.stack([event.vertices[k] for k in ("x", "y")], axis=1)).max()
        assert extents[0] <= far + 0.1
        assert extents[-1] > 100.0
        assert towers == sorted(towers)
        assert towers[0] == 0
        assert towers[-1] == event.ecl.size
        assert vertices[:2] == [1, 1]  # only the primary before the mother arrives
        assert vertices[2] == event.vertices.size
    finally:
        visuals.close()
        canvas.close()


def test_the_inspector_says_when_the_replay_has_an_object_appear(events) -> None:
    from panels.inspector import describe

    event = next(e for e in events if (e.vertices["kind"] != VertexKind.PRIMARY).any() and e.ecl.size)
    t = timing.timeline(event)
    track = dict(describe(event, "track", 0)[0][1])
    assert track["flight: starts, reaches the ECL [ns]"] == f"{t.track_start[0]:.5g}, {t.track_end[0]:.5g}"
    assert 0.0 < float(track["beta (fitted mass)"]) < 1.0
    assert "time [ns]" in dict(describe(event, "ecl", 0)[0][1])  # the measured time, beside the flight's
    assert dict(describe(event, "ecl", 0)[0][1])["flight: appears at [ns]"] == f"{t.ecl[0]:.5g}"
    secondary = int(np.flatnonzero(event.vertices["kind"] != VertexKind.PRIMARY)[0])
    vertex = dict(describe(event, "vertex", secondary)[0][1])
    assert float(vertex["flight: appears at [ns]"]) == pytest.approx(t.vertices[secondary], rel=1e-4)


@pytest.mark.gl
def test_the_application_has_a_time_toolbar_on_its_scene(qtbot, tmp_path, events) -> None:
    from PySide6.QtWidgets import QToolBar

    from panels.app import AppConfig, Application

    app = Application(AppConfig(machine="bogus://x", stream="none", settings=tmp_path / "settings.ini"))
    qtbot.addWidget(app.window)
    try:
        bar = app.window.findChild(QToolBar, "Time")
        assert bar is not None
        assert app.time_player.scene is app.scene  # the three views' scene
        assert ("T", "Replay the collision in time: play / pause") in app.window.shortcuts
        app.scene.set_event(events[0])
        app.time_player.slider.setValue(40)  # 2 ns
        assert app.scene.time == pytest.approx(2.0)
        assert app.visuals["rphi"].time == pytest.approx(2.0)
        toggle = next(a for a in app.window.actions() if a.text().startswith("Replay the collision"))
        toggle.trigger()
        assert app.time_player.playing
        toggle.trigger()
        assert not app.time_player.playing
    finally:
        app.close()
