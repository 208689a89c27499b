"""Events drawn on the real detector: tracks over the 3D geometry, ECL crystals lit by energy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from displays import event_geometry as geo
from events import helix
from events.model import Collection, EventBatch

pytestmark = pytest.mark.gl

CELL = 4300  # a barrel crystal near theta = 90 deg


@pytest.fixture(scope="module")
def detector(qapp):
    from vispy import app

    app.use_app("pyside6")
    from displays.event_view import apply_event_look
    from displays.view3d import DetectorView3D
    from geometry.detector import build_detector

    view = DetectorView3D(build_detector(), size=(900, 600), cutaway="wedge")
    apply_event_look(view)
    yield view
    view.close()


def _crystal_front(detector, cell: int) -> np.ndarray:
    """Centre of the crystal's front face (the one facing the IP, what the camera sees)."""
    model = detector.part("ECL").model
    corners = model.triangles[model.element == cell - 1].reshape(-1, 3)
    r = np.linalg.norm(corners, axis=1)
    return corners[r < r.min() + 1.0].mean(axis=0)


def test_tracks_and_lit_crystals_on_the_detector(detector, screenshot_dir: Path) -> None:
    from displays.event_visuals import EventVisuals, detector_crystal_painter

    centre = _crystal_front(detector, CELL)
    phi = float(np.arctan2(centre[1], centre[0]))
    # a stiff positive track (pT 3 GeV) aimed at the crystal, and that crystal's cluster at 2 GeV
    omega = helix.PT_PER_CURVATURE * 1.5 / 3.0
    tracks = Collection.from_columns(
        "tracks",
        [1],
        {
            "d0": [0.0],
            "phi0": [phi + 0.02],
            "omega": [omega],
            "z0": [0.0],
            "tan_lambda": [0.0],
            "charge": [1],
        },
    )
    ecl = Collection.from_columns(
        "ecl",
        [1],
        {"energy": [2.0], "theta": [np.pi / 2], "phi": [phi], "r": [126.0], "cell_id": [CELL],
         "hypotheses": [16]},
    )  # fmt: skip
    visuals = EventVisuals(detector.view, "3d", crystal_painter=detector_crystal_painter(detector))
    before = detector.render()
    visuals.set_event(EventBatch.build(1, tracks=tracks, ecl=ecl))
    after = detector.render()
    from vispy import io

    io.write_png(str(screenshot_dir / "event_on_detector_3d.png"), after[..., :3])
    ecl_model = detector.part("ECL").model
    assert ecl_model.element_custom.sum() == 1
    np.testing.assert_allclose(ecl_model.element_rgba[CELL - 1], geo.energy_colors(np.array([2.0]))[0])
    assert not visuals.ecl.visible  # lit on its crystal, no tower

    def colour(img: np.ndarray, point: np.ndarray) -> np.ndarray:
        c, r = np.round(detector.to_pixels(point[None, :])[0]).astype(int)
        return img[r - 2 : r + 3, c - 2 : c + 3, :3].reshape(-1, 3).astype(int)

    yellow = geo.energy_colors(np.array([2.0]))[0, :3] * 255  # drawn as given, then lit by the camera light

    def warm(rgb: np.ndarray) -> np.ndarray:
        return (rgb[:, 0] > 0.5 * yellow[0]) & (rgb[:, 1] > 0.5 * yellow[1]) & (rgb[:, 2] < 0.5 * rgb[:, 0])

    assert warm(colour(after, centre)).any(), f"crystal not lit: {colour(after, centre)}"
    assert not warm(colour(before, centre)).any()
    x, y, z = helix.positions(0.0, phi + 0.02, omega, 0.0, 0.0, 60.0)
    red = np.array(geo.CHARGE_COLORS[1][:3]) * 255
    near = colour(after, np.array([x, y, z]))
    assert (np.abs(near - red).max(axis=1) < 60).any(), "track not drawn half-way to the crystal"

    visuals.set_event(EventBatch.build(1, tracks=tracks))  # the next event switches the crystal off
    assert not ecl_model.element_custom.any()
    visuals.clear()
