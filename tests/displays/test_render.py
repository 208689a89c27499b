"""Rendered pixels: subdetectors appear where Belle II has them, and vanish when hidden."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from displays.style import BACKGROUND
from tests.displays.toy_detector import detector_outlines, detector_parts

pytestmark = pytest.mark.gl

BG = np.round(np.asarray(BACKGROUND[:3]) * 255)
ECL_R_IN = 125.16  # cm, barrel inner radius (belle2-geometry.md §7)
RED = np.array([1.0, 0.1, 0.1, 1.0])


@pytest.fixture(scope="module")
def app(qapp: Any) -> Any:
    from vispy import app as vispy_app

    return vispy_app.use_app("pyside6")


@pytest.fixture(scope="module")
def parts() -> list[Any]:
    return detector_parts()


def is_background(pixel: np.ndarray) -> bool:
    return bool(np.abs(pixel[:3].astype(float) - BG).max() <= 3)


def patch(image: np.ndarray, xy: np.ndarray, half: int = 2) -> np.ndarray:
    """Pixels within ``half`` of a (column, row) point."""
    c, r = np.round(xy).astype(int)
    return image[r - half : r + half + 1, c - half : c + half + 1, :3].reshape(-1, 3)


def barrel_elements(visual: Any) -> np.ndarray:
    """ECL elements whose centre lies in the barrel's polar range (32.2 to 128.7 degrees)."""
    m = visual.model
    centres = m.triangles.mean(axis=1)
    n = m.n_elements
    counts = np.bincount(m.element, minlength=n)
    xyz = np.stack([np.bincount(m.element, centres[:, i], n) for i in range(3)], axis=1) / counts[:, None]
    theta = np.degrees(np.arctan2(np.hypot(xyz[:, 0], xyz[:, 1]), xyz[:, 2]))
    return np.flatnonzero((theta > 32.2) & (theta < 128.7))


def test_ecl_barrel_at_its_radius_in_the_end_view(app: Any, parts: list[Any], screenshot_dir: Path) -> None:
    from displays.view3d import DetectorView3D

    view = DetectorView3D(parts, size=(800, 800), app=app, show=True, preset="end", cutaway="none")
    try:
        view.view.camera.fov = 0.0  # orthographic: the projected radius does not depend on z
        for name in view.parts:
            view.set_part_visible(name, name == "ECL")
        ecl = view.part("ECL")
        ecl.set_opacity(0.0)  # only the lit crystals are drawn
        barrel = barrel_elements(ecl)
        if ecl.model.n_elements == 8736:  # the real calorimeter: barrel cellIds 1153..7776
            np.testing.assert_array_equal(barrel, np.arange(1152, 7776))
            view.set_crystal_colors(barrel + 1, RED)  # lit by cellId, as event overlays do
            with pytest.raises(ValueError, match=r"ECL cellId 0 outside 1\.\.8736"):
                view.set_crystal_colors(np.array([0, 5]), RED)
        else:
            ecl.set_element_colors(barrel, RED)
        image = view.render()
        from vispy.io import write_png

        write_png(str(screenshot_dir / "ecl_barrel_end_view.png"), image[..., :3].copy())

        def pixel(r: float, phi_deg: float) -> np.ndarray:
            phi = np.radians(phi_deg)
            return view.to_pixels(np.array([[r * np.cos(phi), r * np.sin(phi), 0.0]]))[0]

        for phi in (10.0, 100.0, 200.0, 290.0):
            for r in (ECL_R_IN + 4.0, ECL_R_IN + 24.0):  # just inside the inner and outer face
                rgb = patch(image, pixel(r, phi), 1).mean(axis=0)
                assert rgb[0] > max(120.0, 2 * rgb[1]), f"no ECL crystal at r={r} cm, phi={phi}: {rgb}"
            for r in (60.0, ECL_R_IN - 12.0):  # inside the CDC and in front of the crystals
                assert all(is_background(p) for p in patch(image, pixel(r, phi))), f"r={r}, phi={phi}"

        view.set_part_visible("ECL", False)
        hidden = view.render()
        for phi in (10.0, 200.0):
            assert all(is_background(p) for p in patch(hidden, pixel(ECL_R_IN + 14.0, phi)))
    finally:
        view.close()


def test_hiding_a_subdetector_removes_its_pixels(app: Any, parts: list[Any], screenshot_dir: Path) -> None:
    from vispy.io import write_png

    from displays.view3d import DetectorView3D

    view = DetectorView3D(parts, size=(960, 600), app=app, show=True, preset="3d", cutaway="wedge")
    try:
        full = view.render()
        write_png(str(screenshot_dir / "detector_3d.png"), full[..., :3].copy())
        view.set_camera_preset("side")
        write_png(str(screenshot_dir / "detector_side.png"), view.render()[..., :3].copy())
        view.set_camera_preset("3d")
        covered = ~np.all(np.abs(full[..., :3].astype(float) - BG) <= 3, axis=-1)
        for name in view.parts:
            view.set_part_visible(name, False)
        empty = view.render()
        empty_covered = ~np.all(np.abs(empty[..., :3].astype(float) - BG) <= 3, axis=-1)
        assert covered.mean() > 0.08
        assert empty_covered.mean() < 0.01  # only the two beam lines remain
    finally:
        view.close()


def test_rphi_outlines_at_the_right_radii(app: Any, screenshot_dir: Path) -> None:
    from vispy.io import write_png

    from displays.projections import ProjectionView
    from displays.style import part_style

    outlines = detector_outlines("rphi")
    view = ProjectionView("rphi", outlines, size=(700, 700), app=app, show=True)
    try:
        image = view.render()
        write_png(str(screenshot_dir / "rphi.png"), image[..., :3].copy())
        ecl = outlines["ECL"].reshape(-1, 2)
        r_in = float(np.hypot(ecl[:, 0], ecl[:, 1]).min())
        assert r_in == pytest.approx(ECL_R_IN, abs=2.0)
        green = np.asarray(part_style("ECL").color[:3])
        for name in ("CDC", "ECL"):
            segs = outlines[name]
            mids = segs.mean(axis=1)[:: max(1, len(segs) // 16)]
            expected = np.asarray(part_style(name).color[:3]) * 255
            for xy in view.to_pixels(mids):
                nearest = patch(image, xy, 1).astype(float)
                best = np.abs(nearest - expected).sum(axis=1).min()
                assert best < 120, f"{name} outline missing at pixel {xy}"
        # the gap between the CDC outer wall and the ECL: no outline there
        cdc = outlines["CDC"].reshape(-1, 2)
        gap = 0.5 * (float(np.hypot(cdc[:, 0], cdc[:, 1]).max()) + r_in)
        for phi in np.radians([15.0, 75.0, 165.0, 255.0]):
            xy = view.to_pixels(np.array([[gap * np.cos(phi), gap * np.sin(phi)]]))[0]
            assert all(np.abs(p - green * 255).sum() > 150 for p in patch(image, xy, 1))
        view.set_part_visible("ECL", False)
        hidden = view.render()
        xy = view.to_pixels(np.array([[0.0, r_in]]))[0]
        assert all(is_background(p) or np.abs(p - green * 255).sum() > 150 for p in patch(hidden, xy, 1))
        write_png(str(screenshot_dir / "rz.png"), render_rz(app)[..., :3].copy())
    finally:
        view.close()


def render_rz(app: Any) -> np.ndarray:
    from displays.projections import ProjectionView

    view = ProjectionView("rz", detector_outlines("rz"), size=(900, 640), app=app, show=True)
    try:
        return view.render()
    finally:
        view.close()


def test_every_outline_is_a_run_of_one_line_visual_in_its_part_colour(app: Any) -> None:
    """The projection draws all outlines in one visual, the parts in order; hiding one drops its run."""
    from vispy.scene.visuals import Line

    from displays.projections import ProjectionView
    from displays.style import part_style

    outlines = detector_outlines("rz")
    view = ProjectionView("rz", outlines, size=(200, 160), app=app)
    try:
        lines = [node for node in view.view.scene.children if isinstance(node, Line)]
        assert lines == [view.outline_lines.line]
        names = [name for name, segs in outlines.items() if len(segs)]
        assert list(view.outlines) == names
        pos, color = lines[0].pos, lines[0].color
        assert len(pos) == sum(2 * len(outlines[n]) for n in names)
        first = names[0]
        run = outlines[first].reshape(-1, 2).astype(np.float32)
        assert np.array_equal(pos[: len(run)], run)
        style = part_style(first)
        assert np.allclose(color[0], (*style.color[:3], style.outline_alpha))
        hidden = names[1]
        view.set_part_visible(hidden, False)
        assert not view.outlines[hidden].visible
        assert len(lines[0].pos) == len(pos) - 2 * len(outlines[hidden])
        for name in names:
            view.set_part_visible(name, False)
        assert not lines[0].visible
        view.set_part_visible(first, True)
        assert lines[0].visible
        assert len(lines[0].pos) == 2 * len(outlines[first])
    finally:
        view.close()


@pytest.mark.parametrize("kind", ["rphi", "rz"])
def test_a_small_projection_is_filled_by_the_detector(app: Any, kind: str) -> None:
    """A dock of a 1366×768 screen (400×190): the axes drop their titles and the outermost outline
    spans most of the canvas height, not a thumbnail between wide axis strips."""
    from displays.projections import ProjectionView

    outlines = detector_outlines(kind)
    view = ProjectionView(kind, outlines, size=(400, 190), app=app, show=True)
    try:
        image = view.render()
        assert view.compact
        rows = np.nonzero([not all(is_background(p) for p in row[::4]) for row in image[:, 60:-20]])[0]
        drawn = [r for r in rows if r < 190 - 24]  # above the x axis strip
        assert drawn[-1] - drawn[0] >= 0.75 * image.shape[0]
        klm = np.concatenate([s.reshape(-1, 2) for s in outlines.values() if len(s)])
        top, bottom = view.to_pixels(np.array([[0.0, klm[:, 1].max()], [0.0, klm[:, 1].min()]]))[:, 1]
        assert bottom - top >= 0.75 * image.shape[0]
    finally:
        view.close()
    big = ProjectionView(kind, outlines, size=(700, 700), app=app)
    try:
        assert not big.compact
        assert big.x_axis.axis.axis_label
    finally:
        big.close()
