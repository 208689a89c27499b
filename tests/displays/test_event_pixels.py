"""Rendered pixels (Xvfb + Mesa): tracks and towers are drawn where the physics puts them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from displays import event_geometry as geo
from displays.style import BACKGROUND
from events import helix
from events.model import Collection, EventBatch

pytestmark = pytest.mark.gl

SIZE = 400
HALF = 150.0  # cm shown either side of the IP


@pytest.fixture
def rphi_view(qapp):
    from vispy import app

    app.use_app("pyside6")
    from displays.event_view import EventView

    view = EventView("rphi", size=(SIZE, SIZE), legend=False, outline=False)
    view.view.camera.rect = (-HALF, -HALF, 2 * HALF, 2 * HALF)
    yield view
    view.close()


def _pixel(x: float, y: float) -> tuple[int, int]:
    """Row and column of scene point (x, y) for the square r-phi camera above (y up)."""
    col = (x + HALF) / (2 * HALF) * SIZE
    row = (HALF - y) / (2 * HALF) * SIZE
    return int(row), int(col)


def _near(img: np.ndarray, x: float, y: float, rgb: np.ndarray, tol: float = 40) -> bool:
    r, c = _pixel(x, y)
    patch = img[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3, :3].reshape(-1, 3).astype(float)
    return bool((np.abs(patch - rgb).max(axis=1) < tol).any())


def _save(img: np.ndarray, path: Path) -> None:
    from vispy import io

    io.write_png(str(path), img)


def test_track_of_known_helix_crosses_the_right_pixels(rphi_view, screenshot_dir: Path) -> None:
    # a positive 0.5 GeV track (R = 111 cm at 1.5 T) leaving at phi0 = 0.5 rad turns clockwise
    omega = helix.PT_PER_CURVATURE * 1.5 / 0.5
    tracks = Collection.from_columns(
        "tracks",
        [1],
        {"d0": [0.0], "phi0": [0.5], "omega": [omega], "z0": [0.0], "tan_lambda": [0.0], "charge": [1]},
    )
    rphi_view.visuals.set_event(EventBatch.build(1, tracks=tracks))
    img = rphi_view.render()
    _save(img, screenshot_dir / "event_rphi_known_track.png")
    red = np.array(geo.CHARGE_COLORS[1][:3]) * 255
    background = np.round(np.array(BACKGROUND[:3]) * 255)  # the colour table's dark canvas
    for s in (30.0, 70.0, 110.0):
        x, y, _ = helix.positions(0.0, 0.5, omega, 0.0, 0.0, s)
        assert _near(img, x, y, red), f"track missing at s = {s} cm"
        # the same arc bent the other way (a negative track) must not be drawn
        xm, ym, _ = helix.positions(0.0, 0.5, -omega, 0.0, 0.0, s)
        if s > 50:
            assert not _near(img, xm, ym, red), f"track drawn on the wrong side at s = {s} cm"
    # nothing beyond the ECL inner radius along the track's exit direction
    s_end = float(helix.arc_length_to_radius(0.0, omega, geo.ECL_INNER.r))
    x, y, _ = helix.positions(0.0, 0.5, omega, 0.0, 0.0, s_end + 12.0)
    assert not _near(img, x, y, red)
    r, c = _pixel(0.0, -100.0)
    np.testing.assert_allclose(img[r, c, :3], background, atol=3)


def test_tower_has_the_colour_of_its_energy(rphi_view, screenshot_dir: Path) -> None:
    energies = [0.05, 1.0, 6.0]
    phis = [-1.0, 1.0, 2.6]
    ecl = Collection.from_columns(
        "ecl", [3], {"energy": energies, "theta": [np.pi / 2] * 3, "phi": phis, "r": [125.0] * 3}
    )
    rphi_view.visuals.set_event(EventBatch.build(1, ecl=ecl))
    img = rphi_view.render()
    _save(img, screenshot_dir / "event_rphi_towers.png")
    expected = geo.energy_colors(np.array(energies))[:, :3] * 255
    for e, phi, rgb in zip(energies, phis, expected, strict=True):
        r = 125.0 + geo.tower_lengths(np.array([e]))[0] / 2
        assert _near(img, r * np.cos(phi), r * np.sin(phi), rgb, tol=6), f"{e} GeV tower has the wrong colour"
    assert not np.allclose(expected[0], expected[2], atol=40)  # the scale separates soft from hard


def test_neutral_hadron_only_cluster_is_a_diamond_of_its_own_colour(rphi_view, screenshot_dir: Path) -> None:
    # a photon cluster at phi = 1 and, elsewhere, a cluster with the neutral-hadron hypothesis alone
    ecl = Collection.from_columns(
        "ecl",
        [2],
        {"energy": [1.0, 0.8], "theta": [np.pi / 2] * 2, "phi": [1.0, -2.0], "r": [125.0] * 2,
         "hypotheses": [16, 32]},
    )  # fmt: skip
    rphi_view.visuals.set_event(EventBatch.build(1, ecl=ecl))
    img = rphi_view.render()
    _save(img, screenshot_dir / "event_rphi_neutral_hadron.png")
    green = np.array(geo.NEUTRAL_HADRON[:3]) * 255
    x, y = geo.ecl_positions(ecl)[1, :2]
    r, c = _pixel(x, y)
    ring = img[r - 8 : r + 9, c - 8 : c + 9, :3].reshape(-1, 3).astype(float)
    assert (np.abs(ring - green).max(axis=1) < 30).sum() >= 8, "no hadron diamond at the cluster"
    assert _near(img, x, y, np.array(BACKGROUND[:3]) * 255, tol=12), "the diamond is hollow"
    assert rphi_view.visuals.pick((c + 6, r)) == ("ecl", 1)  # selectable, by its own row


def test_picking_maps_a_click_to_the_object(rphi_view) -> None:
    tracks = Collection.from_columns(
        "tracks",
        [2],
        {"d0": [0.0, 0.0], "phi0": [0.5, -2.0], "omega": [0.001, -0.001], "z0": [0, 0], "tan_lambda": [0, 0],
         "charge": [1, -1]},
    )  # fmt: skip
    klm = Collection.from_columns("klm", [1], {"x": [-60.0], "y": [80.0], "z": [10.0]})
    rphi_view.visuals.set_event(EventBatch.build(1, tracks=tracks, klm=klm))
    rphi_view.render()  # lays out the view: the scene -> canvas transform is now the camera's
    x, y, _ = helix.positions(0.0, -2.0, -0.001, 0.0, 0.0, 80.0)
    r, c = _pixel(x, y)
    assert rphi_view.visuals.pick((c + 2, r - 1)) == ("track", 1)
    r, c = _pixel(-60.0, 80.0)
    assert rphi_view.visuals.pick((c, r)) == ("klm", 0)
    r, c = _pixel(-100.0, -100.0)
    assert rphi_view.visuals.pick((c, r)) is None


def test_full_event_in_three_views(qapp, screenshot_dir: Path) -> None:
    from vispy import app

    app.use_app("pyside6")
    from displays.event_view import EventView
    from events import candidate
    from events.generator import generate, parse_signal

    batch = generate(60, seed=3, signals=[parse_signal("darkhiggs:ma=2,mh=3,fraction=0.3")])
    is_signal = (batch.header["signal"] == 2) & (batch.tracks.counts >= 2)
    ev = batch.event(int(np.flatnonzero(is_signal)[0]))  # A' -> mu+ mu- with an invisible h'
    c = candidate.evaluate(ev, [candidate.Pick("track", 0, 13), candidate.Pick("track", 1, 13)])
    for proj in ("3d", "rphi", "rz"):
        view = EventView(proj, size=(800, 600))
        view.visuals.show_mc = True
        view.visuals.set_event(ev)
        label = f"recoil {c.recoil_mass:.2f} GeV"
        view.visuals.set_recoil(c.recoil_direction, float(np.linalg.norm(c.recoil_p4[1:])), label)
        img = view.render()
        _save(img, screenshot_dir / f"event_darkhiggs_{proj}.png")
        lit = (np.abs(img[..., :3].astype(int) - img[5, 400, :3]).sum(axis=-1) > 60).mean()
        assert lit > 0.01, f"{proj}: the event is not visible"
        view.close()


def test_a_1_gev_track_reaches_the_calorimeter_between_2_and_10_ns(rphi_view, screenshot_dir: Path) -> None:
    # a 1 GeV muon, flying flat, matched to the 1 GeV cluster where it meets the ECL (4.25 ns)
    omega = helix.PT_PER_CURVATURE * 1.5 / 1.0
    s_ecl = float(helix.arc_length_to_radius(0.0, omega, geo.ECL_INNER.r))
    x, y, _ = helix.positions(0.0, 0.5, omega, 0.0, 0.0, s_ecl)
    tracks = Collection.from_columns(
        "tracks",
        [1],
        {"d0": [0.0], "phi0": [0.5], "omega": [omega], "z0": [0.0], "tan_lambda": [0.0], "charge": [1],
         "pdg": [13], "ecl_index": [0]},
    )  # fmt: skip
    phi = float(np.arctan2(y, x))
    ecl = Collection.from_columns(
        "ecl", [1], {"energy": [1.0], "theta": [np.pi / 2], "phi": [phi], "r": [geo.ECL_INNER.r]}
    )
    scene = rphi_view.visuals.scene
    red = np.array(geo.CHARGE_COLORS[1][:3]) * 255
    tower_rgb = geo.energy_colors(np.array([1.0]))[0, :3] * 255
    r_tower = geo.ECL_INNER.r + geo.tower_lengths(np.array([1.0]))[0] / 2
    tower = (r_tower * np.cos(phi), r_tower * np.sin(phi))
    images = {}
    for t in (2.0, 10.0):
        scene.set_time(t)
        if scene.event is None:
            scene.set_event(EventBatch.build(1, tracks=tracks, ecl=ecl))
        images[t] = img = rphi_view.render()
        _save(img, screenshot_dir / f"event_rphi_time_{t:g}ns.png")
    early, late = images[2.0], images[10.0]

    def on_track(img: np.ndarray, s: float) -> bool:
        x, y, _ = helix.positions(0.0, 0.5, omega, 0.0, 0.0, s)
        return _near(img, float(x), float(y), red)

    flown = 2.0 * helix.C_LIGHT / np.hypot(1.0, 0.1056584)  # 59.7 cm in 2 ns
    for s in (20.0, 50.0):
        assert on_track(early, s), f"no track at s = {s} cm after 2 ns"
    for s in (flown + 15.0, 100.0):
        assert not on_track(early, s), f"track at s = {s} cm after 2 ns"
    assert not _near(early, *tower, tower_rgb, tol=6), "the tower is lit before the muon got there"
    for s in (20.0, 100.0, s_ecl - 5.0):
        assert on_track(late, s), f"no track at s = {s} cm after 10 ns"
    assert _near(late, *tower, tower_rgb, tol=6), "the tower is dark after the muon arrived"
    scene.set_time(None)  # no time axis: the whole event, as before
    assert _near(rphi_view.render(), *tower, tower_rgb, tol=6)
