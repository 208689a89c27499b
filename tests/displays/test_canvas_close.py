"""Closed views leave the GL context of the views still open alone, whenever Python frees them.

A closed canvas sits in reference cycles until a garbage collection, which can come in the middle of
another canvas's draw (the detector canvas holds automatic collections off while it draws; other
canvases and explicit ``gc.collect()`` calls do not). The first order here is the one that once broke:
two 3D views rendered and closed, then an r-phi projection drawn while a collection runs.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from displays.style import BACKGROUND, part_style
from tests.displays.toy_detector import CDC_R_OUT, ECL_R_IN, ring_outlines, toy_parts

pytestmark = pytest.mark.gl

BG = np.round(np.asarray(BACKGROUND[:3]) * 255)


@pytest.fixture(scope="module")
def app(qapp: Any) -> Any:
    from vispy import app as vispy_app

    return vispy_app.use_app("pyside6")


class CollectGarbage:
    """A scene node drawn first: runs a full garbage collection in the middle of the canvas's draw."""

    def __init__(self, parent: Any) -> None:
        from vispy import scene

        self.node = scene.Node(parent=parent)
        self.node.order = -1000
        self.node.draw = self.collect
        self.collected = 0

    def collect(self) -> None:
        self.collected += gc.collect()


def covered(image: np.ndarray) -> float:
    """Fraction of pixels that are not background."""
    return float((np.abs(image[..., :3].astype(float) - BG) > 3).any(axis=-1).mean())


def projection_after(close_some_views: Callable[[], None], app: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Run ``close_some_views``, then draw an r-phi projection with a collection in mid-draw.

    Returns the image, the pixels of points on the ECL inner ring, and how many objects were collected.
    """
    from displays.projections import ProjectionView

    gc.collect()
    gc.disable()  # closed canvases stay uncollected until the collection inside the draw
    try:
        close_some_views()
        outlines = ring_outlines({"CDC": (16.0, CDC_R_OUT), "ECL": (ECL_R_IN, ECL_R_IN + 30.0)})
        projection = ProjectionView("rphi", outlines, size=(500, 500), app=app, show=True)
        try:
            collector = CollectGarbage(parent=projection.view.scene)
            image = projection.render()  # raised "Shader compilation error" with an empty log
            mids = outlines["ECL"].mean(axis=1)
            inner = mids[np.hypot(mids[:, 0], mids[:, 1]) < ECL_R_IN + 1.0]
            pixels = projection.to_pixels(inner[:: max(1, len(inner) // 12)])
        finally:
            projection.close()
    finally:
        gc.enable()
    return image, pixels, collector.collected


def assert_projection_drawn(image: np.ndarray, pixels: np.ndarray) -> None:
    green = np.asarray(part_style("ECL").color[:3]) * 255
    for c, r in np.round(pixels).astype(int):
        around = image[r - 1 : r + 2, c - 1 : c + 2, :3].reshape(-1, 3).astype(float)
        assert np.abs(around - green).sum(axis=1).min() < 120, f"ECL inner ring missing at pixel {(c, r)}"
    assert covered(image[:, :60]) > 0.01  # the y axis with its tick labels


def test_closed_3d_views_do_not_break_a_projection_drawn_after_them(app: Any, screenshot_dir: Path) -> None:
    from vispy.io import write_png

    from displays.view3d import DetectorView3D

    parts = toy_parts(n_phi_ecl=48, n_z_ecl=2)

    def two_3d_views() -> None:
        for preset, cutaway in (("end", "none"), ("3d", "wedge")):
            view = DetectorView3D(parts, size=(320, 320), app=app, show=True, preset=preset, cutaway=cutaway)
            try:
                assert covered(view.render()) > 0.1
                view.set_part_visible("ECL", False)
                view.render()
            finally:
                view.close()

    image, pixels, collected = projection_after(two_3d_views, app)
    write_png(str(screenshot_dir / "rphi_after_closed_views.png"), image[..., :3].copy())
    assert collected > 0  # the closed views were freed during the draw
    assert_projection_drawn(image, pixels)


def test_closed_event_view_does_not_break_a_projection_drawn_after_it(app: Any) -> None:
    from displays.event_view import EventView

    def one_event_view() -> None:
        view = EventView("rphi", size=(320, 320), show=True)
        try:
            assert covered(view.render()) > 0.01
        finally:
            view.close()

    image, pixels, collected = projection_after(one_event_view, app)
    assert collected > 0
    assert_projection_drawn(image, pixels)


def test_views_are_built_with_the_cyclic_collector_held_off_and_given_back(app: Any) -> None:
    """Building the detector views triggers no automatic collection on the way (without the hold,
    about 150 while the main window's three were built), only the one owed once the collector is
    back on; it is back on also when the build fails."""
    from displays.projections import ProjectionView
    from displays.view3d import DetectorView3D
    from geometry.detector import build_detector
    from geometry.outlines import outlines

    parts, rphi = build_detector(), outlines("rphi")
    runs: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        views: list[DetectorView3D | ProjectionView] = [
            DetectorView3D(parts, app=app, size=(160, 120)),
            ProjectionView("rphi", rphi, app=app, size=(160, 120)),
        ]
        during = len(runs)
        assert gc.isenabled()
        with pytest.raises(ValueError, match="unknown projection"):
            ProjectionView("xy", {}, app=app)
        assert gc.isenabled()
        for view in views:
            view.close()
    finally:
        gc.callbacks.remove(count)
    assert during <= 2 * len(views)
