"""The θ-φ map (Xvfb + Mesa): the lit crystals sit at their (φ, θ) pixel in the energy colour, the rest
stay dark, and the selection goes both ways between the map and the scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from displays import event_geometry as geo
from displays.scene import Scene
from displays.style import BACKGROUND
from events.model import Collection, EventBatch
from geometry import ecl
from geometry.ecl_map import cell_rectangles

pytestmark = pytest.mark.gl

SIZE = (960, 440)
# (thetaID, phiID) of the known clusters: forward endcap, barrel, barrel at phi = 0, backward endcap
SEEDS = [(3, 10), (30, 50), (40, 0), (65, 40)]
ENERGIES = [0.05, 0.8, 2.0, 5.0]


def known_event() -> tuple[EventBatch, np.ndarray]:
    cells = np.array([ecl.theta_phi_id_to_cell(t, p) for t, p in SEEDS])
    theta, phi = ecl.crystal_theta_phi()
    clusters = Collection.from_columns(
        "ecl",
        [len(cells)],
        {"energy": ENERGIES, "theta": theta[cells - 1], "phi": phi[cells - 1], "r": [150.0] * len(cells),
         "cell_id": cells, "hypotheses": [16] * len(cells)},
    )  # fmt: skip
    return EventBatch.build(1, ecl=clusters), cells


@pytest.fixture
def ecl_map(qapp):
    from vispy import app

    app.use_app("pyside6")
    from displays.ecl_map import EclMapView

    view = EclMapView(Scene(), size=SIZE)
    yield view
    view.close()


def _centres_px(view, cells: np.ndarray) -> np.ndarray:
    c = cell_rectangles()
    pts = np.degrees(np.stack([c.phi_mid[cells - 1], c.theta_mid[cells - 1]], axis=1))
    return np.round(view.to_pixels(pts)).astype(int)  # (column, row)


def _rgb(img: np.ndarray, px: np.ndarray) -> np.ndarray:
    return img[px[1], px[0], :3].astype(float)


def _save(img: np.ndarray, path: Path) -> None:
    from vispy import io

    io.write_png(str(path), img)


def test_lit_crystals_at_their_theta_phi_pixel_in_the_energy_colour(ecl_map, screenshot_dir) -> None:
    from displays.ecl_map import EMPTY

    event, cells = known_event()
    ecl_map.scene.set_event(event)
    img = ecl_map.render()
    _save(img, screenshot_dir / "ecl_map_known_clusters.png")
    expected = geo.energy_colors(np.array(ENERGIES))[:, :3] * 255
    px = _centres_px(ecl_map, cells)
    for p, rgb, cell in zip(px, expected, cells, strict=True):
        np.testing.assert_allclose(_rgb(img, p), rgb, atol=6, err_msg=f"cell {cell}")
    # the forward-endcap seed is left of and above the barrel's, the backward one at the bottom
    assert px[0, 1] < px[1, 1] < px[3, 1]
    assert px[2, 0] < px[1, 0]
    # every other crystal is dark: a sample of cell centres all over the map
    others = np.setdiff1d(np.arange(1, ecl.N_CRYSTALS + 1, 37), cells)
    dark = np.array([_rgb(img, p) for p in _centres_px(ecl_map, others)])
    np.testing.assert_allclose(dark, np.broadcast_to(np.array(EMPTY[:3]) * 255, dark.shape), atol=3)
    # the gaps between the regions show the canvas
    for theta_gap in (31.8, 129.7):
        gap = np.round(ecl_map.to_pixels(np.array([[100.0, theta_gap]]))[0]).astype(int)
        np.testing.assert_allclose(_rgb(img, gap), np.round(np.array(BACKGROUND[:3]) * 255), atol=3)
    # one mesh for all crystals, recoloured in place for the next event
    assert ecl_map.cells.mesh_data.get_vertices().shape[0] >= 4 * ecl.N_CRYSTALS
    ecl_map.scene.set_event(EventBatch.build(1))
    img = ecl_map.render()
    np.testing.assert_allclose(_rgb(img, px[3]), np.array(EMPTY[:3]) * 255, atol=3)


def test_showers_light_the_3x3_around_each_seed(ecl_map, screenshot_dir) -> None:
    event, cells = known_event()
    ecl_map.set_showers(True)
    ecl_map.scene.set_event(event)
    lit = np.flatnonzero(ecl_map.energy > 0) + 1
    assert len(lit) == 9 * len(cells)
    img = ecl_map.render()
    _save(img, screenshot_dir / "ecl_map_showers.png")
    neighbours, shares = geo.shower_cells(cells[1:2], np.array(ENERGIES[1:2]))
    px = _centres_px(ecl_map, neighbours)
    expected = geo.energy_colors(shares)[:, :3] * 255
    for p, rgb in zip(px, expected, strict=True):
        np.testing.assert_allclose(_rgb(img, p), rgb, atol=6)


def test_a_scene_selection_frames_the_cluster_in_the_map(ecl_map, screenshot_dir) -> None:
    event, cells = known_event()
    scene = ecl_map.scene
    scene.set_event(event)
    assert not ecl_map.frame.visible
    scene.select("ecl", 1)
    assert ecl_map.frame.visible
    np.testing.assert_array_equal(ecl_map.selected_cells(), cells[1:2])
    img = ecl_map.render()
    _save(img, screenshot_dir / "ecl_map_selected.png")
    c = cell_rectangles()
    row = cells[1] - 1
    corner = np.degrees([c.phi_lo[row] - np.radians(1.5), c.theta_mid[row]])  # the frame's left side
    p = np.round(ecl_map.to_pixels(corner[None])[0]).astype(int)
    patch = img[p[1] - 1 : p[1] + 2, p[0] - 2 : p[0] + 3, :3].reshape(-1, 3)
    assert (patch.min(axis=1) > 200).any()  # white highlight around the selected crystal
    scene.select("track", 0)  # not a cluster: no frame
    assert not ecl_map.frame.visible
    scene.select("ecl", 2)  # across phi = 0: the frame shows at both edges
    segments = ecl_map.frame.pos.reshape(-1, 2, 2)
    assert segments[:, :, 0].min() < 0 < 360 < segments[:, :, 0].max()


def test_a_click_on_a_lit_crystal_selects_its_cluster_in_the_scene(ecl_map) -> None:
    event, cells = known_event()
    scene = ecl_map.scene
    scene.set_event(event)
    ecl_map.render()
    seen: list[object] = []
    scene.events.selection.connect(seen.append)
    for index, p in enumerate(_centres_px(ecl_map, cells)):
        assert ecl_map.cell_at_pixel(tuple(p)) == cells[index]
        # a real click: press and release at the same place on the canvas
        ecl_map.canvas.events.mouse_press(pos=tuple(p), button=1, modifiers=())
        ecl_map.canvas.events.mouse_release(pos=tuple(p), button=1, modifiers=())
        assert scene.selection == ("ecl", index)
    empty = _centres_px(ecl_map, np.array([ecl.theta_phi_id_to_cell(50, 100)]))[0]
    ecl_map.click(tuple(empty))
    assert scene.selection is None  # a dark crystal selects nothing
    assert seen[-1] is None
    assert ("ecl", 3) in seen
    # a drag pans the map, it selects nothing
    p = _centres_px(ecl_map, cells[:1])[0]
    ecl_map.canvas.events.mouse_press(pos=tuple(p), button=1, modifiers=())
    ecl_map.canvas.events.mouse_release(pos=(p[0] + 40, p[1]), button=1, modifiers=())
    assert scene.selection is None


def test_the_map_follows_the_ecl_layer_and_another_scene(ecl_map) -> None:
    event, cells = known_event()
    scene = ecl_map.scene
    scene.declare_layer("ecl")
    scene.set_event(event)
    assert (ecl_map.energy > 0).sum() == len(cells)
    scene.set_layer_visible("ecl", False)
    assert (ecl_map.energy > 0).sum() == 0
    other = Scene()
    other.set_event(event)
    ecl_map.bind(other)
    assert (ecl_map.energy > 0).sum() == len(cells)
    scene.set_event(None)  # the old scene no longer drives the map
    assert (ecl_map.energy > 0).sum() == len(cells)


def test_a_crystal_is_described_in_one_line(ecl_map) -> None:
    event, cells = known_event()
    ecl_map.scene.set_event(event)
    text = ecl_map.describe(int(cells[3]))
    assert f"crystal {cells[3]} (thetaID 65, phiID 40)" in text
    assert "backward endcap" in text
    assert "5.000 GeV from cluster 3" in text
    assert "GeV" not in ecl_map.describe(1)  # a dark crystal: where it is, nothing more
    assert ecl_map.describe(0) == ""


def test_the_light_theme_keeps_the_map_readable(ecl_map, screenshot_dir) -> None:
    from displays.ecl_map import EMPTY_LIGHT
    from displays.style import canvas_colors

    light = canvas_colors("light")
    ecl_map.set_canvas_colors(light)
    event, cells = known_event()
    ecl_map.scene.set_event(event)
    ecl_map.scene.select("ecl", 1)
    img = ecl_map.render()
    _save(img, screenshot_dir / "ecl_map_light.png")
    corner = img[2, 2, :3].astype(float)
    np.testing.assert_allclose(corner, np.round(np.array(light.background[:3]) * 255), atol=3)
    dark = _centres_px(ecl_map, np.array([ecl.theta_phi_id_to_cell(50, 100)]))[0]
    np.testing.assert_allclose(
        _rgb(img, dark), np.array(EMPTY_LIGHT[:3]) * 255, atol=3
    )  # light grey crystals
    lit = _centres_px(ecl_map, cells[1:2])[0]
    np.testing.assert_allclose(
        _rgb(img, lit), geo.energy_colors(np.array(ENERGIES[1:2]))[0, :3] * 255, atol=6
    )
    c = cell_rectangles()
    row = cells[1] - 1
    side = np.degrees([c.phi_lo[row] - np.radians(1.5), c.theta_mid[row]])
    p = np.round(ecl_map.to_pixels(side[None])[0]).astype(int)
    patch = img[p[1] - 1 : p[1] + 2, p[0] - 2 : p[0] + 3, :3].reshape(-1, 3)
    assert (patch.max(axis=1) < 60).any()  # the light theme's black highlight around the crystal
