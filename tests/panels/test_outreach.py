"""Outreach mode: auto-advance through interesting events, tracks grow, memory stays flat."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from displays.event_render import BatchSource
from displays.event_samples import sample_batch
from events import filtering

pytestmark = pytest.mark.gl


@pytest.fixture
def window(qtbot):  # type: ignore[no-untyped-def]
    from vispy import app

    app.use_app("pyside6")
    from panels.outreach import OutreachWindow

    batch = sample_batch(20, seed=7)
    w = OutreachWindow(BatchSource(batch), "ntracks >= 8", dwell_s=0.2, grow_s=0.08)
    qtbot.addWidget(w)
    w.batch = batch
    yield w
    w.stop()


def test_auto_advance_shows_only_interesting_events(qtbot, window, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    interesting = set(filtering.select(window.batch, "ntracks >= 8").tolist())
    assert 0 < len(interesting) < 20
    shown: list[int] = []
    window.advanced.connect(shown.append)
    window.resize(960, 600)
    window.start(full_screen=False)
    qtbot.waitUntil(lambda: len(shown) >= 4, timeout=10000)
    assert set(shown) <= interesting
    assert shown[1] != shown[0]
    assert "charged particles" in window.caption.text()
    window.stop()
    qtbot.wait(10)
    window.grab().save(str(screenshot_dir / "event_outreach.png"))


def test_tracks_grow_out_of_the_collision_point(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.advance()
    v = window.view.visuals
    assert v.growth == 0.0
    np.testing.assert_allclose(v.tracks.pos, 0.0, atol=0.05)  # all tracks start at the IP
    azimuth = window.view.view.camera.azimuth
    window.tick()
    r1 = np.abs(v.tracks.pos).max()
    window.tick()
    assert np.abs(v.tracks.pos).max() > r1 > 0
    assert window.view.view.camera.azimuth != azimuth


def test_memory_stays_flat_over_many_events(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    visuals_before = {id(n) for n in window.view.visuals.visuals()}
    children_before = len(window.view.view.scene.children)
    for _ in range(30):  # warm up caches (fonts, shaders, numpy pools)
        window.advance()
        window.tick()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    for _ in range(300):
        window.advance()
        for _ in range(3):
            window.tick()
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    assert grown < 2_000_000, f"Python heap grew by {grown} bytes over 300 events"
    assert {id(n) for n in window.view.visuals.visuals()} == visuals_before  # the same visuals, reused
    assert len(window.view.view.scene.children) == children_before  # no node added to the scene
