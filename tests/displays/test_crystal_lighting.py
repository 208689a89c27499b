"""Lighting ECL crystals sends the calorimeter's colours only, never the merged detector mesh again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.displays.toy_detector import toy_parts

RED = np.array([1.0, 0.1, 0.1, 1.0], np.float32)


def _spy(buffer: Any, method: str) -> list[int]:
    calls = [0]
    original = getattr(buffer, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(buffer, method, counted)
    return calls


@pytest.fixture
def detector(qapp):
    from vispy import app

    from displays.view3d import DetectorView3D

    view = DetectorView3D(
        toy_parts(n_phi_ecl=48, n_z_ecl=4), size=(480, 360), app=app.use_app("pyside6"), cutaway="wedge"
    )
    yield view
    view.close()


@pytest.mark.gl
def test_lit_crystals_touch_only_the_colour_buffer(detector, screenshot_dir: Path) -> None:
    before = detector.render()
    meshes = detector.meshes
    node, start, _ = meshes.slots["ECL"]
    merged_positions = node.data.positions
    uploads = {name: _spy(getattr(node, f"_{name}"), "set_data") for name in ("positions", "normals")}
    uploads["colors"] = _spy(node._colors, "set_data")
    partial = _spy(node._colors, "set_subdata")
    detector.light_crystals(np.array([3, 50]), np.array([RED, RED]))
    assert not meshes.stale  # nothing to merge again before the next paint
    assert uploads == {"positions": [0], "normals": [0], "colors": [0]}
    assert partial == [1]  # the calorimeter's slice of the colour buffer
    assert node.data.positions is merged_positions
    ecl = detector.part("ECL")
    n = len(ecl.mesh.data.colors)
    lit = np.isin(ecl.model.element[ecl.mesh.data.faces], [2, 49])
    colors = node.data.colors[start : start + n].reshape(-1, 3, 4)
    np.testing.assert_allclose(colors[lit], np.broadcast_to(RED, colors[lit].shape))
    lit_img = detector.render()
    assert (np.abs(lit_img.astype(int) - before.astype(int)).max(axis=-1) > 30).sum() > 20

    # the same picture as merging every layer again, which is what the slow way did
    meshes.mark_stale()
    np.testing.assert_array_equal(detector.render(), lit_img)
    from vispy import io

    io.write_png(str(screenshot_dir / "crystal_lighting_toy.png"), lit_img[..., :3])

    detector.light_crystals(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))  # the next event: dark
    assert not ecl.model.element_custom.any()
    np.testing.assert_array_equal(detector.render(), before)
    with pytest.raises(ValueError, match=r"ECL cellId 9999 outside 1\.\.192"):
        detector.light_crystals(np.array([9999]), RED)


@pytest.mark.gl
def test_a_faint_calorimeter_shown_only_for_its_lit_crystals_is_merged_again(detector) -> None:
    detector.set_part_opacity("ECL", 0.0)  # drawn at all only while some crystals are lit
    detector.render()
    assert "ECL" not in detector.meshes.slots
    detector.light_crystals(np.array([7]), RED)
    assert detector.meshes.stale  # its triangles join the merged mesh at the next paint
    detector.render()
    assert "ECL" in detector.meshes.slots
