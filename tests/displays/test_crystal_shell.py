"""The translucent calorimeter drawn as quads of four crystals: the same faces, a quarter of the triangles,
each crystal still in its own colour (a texture), lit crystals sending only that texture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from displays.parts import CUTAWAYS, MERGE_PHI, CrystalShell, PartModel, ecl_region_end_crystals, face_normals
from geometry.ecl import N_CRYSTALS, crystal_mesh

RED = np.array([1.0, 0.1, 0.1, 1.0], np.float32)


@pytest.fixture(scope="module")
def model() -> PartModel:
    from geometry.mesh import Part

    part = Part("ECL", crystal_mesh("all"), (0.4, 0.9, 0.4, 0.45), N_CRYSTALS)
    return PartModel(
        part, (0.4, 0.9, 0.4, 1.0), 0.35, shell_lod=True, whole_elements=ecl_region_end_crystals()
    )


def _area(positions: np.ndarray) -> float:
    t = positions.reshape(-1, 3, 3).astype(np.float64)
    return float(0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1).sum())


def test_quads_of_four_crystals_cover_the_crystals_faces(model: PartModel) -> None:
    shell = CrystalShell(model)
    faces = model.kept_faces()
    drawn = shell.buffers(faces)
    alone = model.triangles[faces]
    assert drawn.n_faces < 0.4 * len(faces)  # 40,448 faces -> 14,240 triangles
    # the quads span each group's crystals and the gaps between them: FILL = 0.97 of the pitch
    assert _area(drawn.positions) == pytest.approx(_area(alone.reshape(-1, 3)), rel=0.04)
    # each triangle's normal is the one drawn, wound outwards: the quads of the crystals' front faces
    # look at the IP, so back faces can still be culled
    np.testing.assert_allclose(face_normals(drawn.positions.reshape(-1, 3, 3)), drawn.normals[::3], atol=1e-4)
    front_tris, front_normals, _ = shell.quads[0]
    centres = front_tris.reshape(-1, 3, 3).mean(axis=1)
    assert (np.einsum("ij,ij->i", front_normals.reshape(-1, 3), centres) < 0).mean() > 0.99
    assert len(front_tris) == N_CRYSTALS // MERGE_PHI
    # across a quad the crystal pitch runs from 0.015 to 3.985: the gaps fall on whole pitches; a face
    # drawn alone sits at the middle of its pitch (0.5), never in a gap
    frac = drawn.cells[:, 0] % 1.0
    assert shell.gap == pytest.approx(0.015)
    on_edge = np.isclose(frac, shell.gap, atol=1e-4) | np.isclose(frac, 1 - shell.gap, atol=1e-4)
    assert (on_edge | np.isclose(frac, 0.5, atol=1e-4)).all()


def test_a_group_cut_by_the_cutaway_is_drawn_crystal_by_crystal(model: PartModel) -> None:
    shell = CrystalShell(model)
    model.cutaway = CUTAWAYS["half"]
    try:
        faces = model.kept_faces()
        drawn = shell.buffers(faces)
    finally:
        model.cutaway = CUTAWAYS["none"]

    def in_upper_half(positions: np.ndarray) -> int:
        phi = np.arctan2(positions[:, 1], positions[:, 0]).reshape(-1, 3).mean(axis=1)
        return int(((phi > 0.05) & (phi < np.pi - 0.05)).sum())

    # nothing of the cut-away upper half comes back through a merged quad: only the few faces near the
    # beam hole the cut keeps anyway (crystals cut whole, by their centre's azimuth)
    assert in_upper_half(drawn.positions) == in_upper_half(model.triangles[faces].reshape(-1, 3)) < 30
    assert _area(drawn.positions) == pytest.approx(_area(model.triangles[faces].reshape(-1, 3)), rel=0.04)


def test_not_the_calorimeter_is_refused(model: PartModel) -> None:
    from tests.displays.toy_detector import toy_parts

    toy = next(p for p in toy_parts() if p.name == "ECL")
    with pytest.raises(ValueError, match="not the 8736 closed ECL crystals"):
        CrystalShell(PartModel(toy, (0, 1, 0, 1), 0.35))


def _spy(buffer: Any, method: str) -> list[int]:
    calls = [0]
    original = getattr(buffer, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(buffer, method, counted)
    return calls


@pytest.mark.gl
def test_lit_crystals_on_the_real_calorimeter_send_only_its_colour_texture(
    qapp: Any, screenshot_dir: Path
) -> None:
    from vispy import app

    from displays.view3d import DetectorView3D
    from geometry.detector import build_detector

    ecl_part = next(p for p in build_detector() if p.name == "ECL")
    view = DetectorView3D([ecl_part], size=(480, 360), app=app.use_app("pyside6"), cutaway="wedge")
    try:
        view.set_part_opacity("ECL", 0.2)
        dark = view.render()
        node = view.meshes.crystals
        assert node.visible
        assert view.meshes.slots["ECL"][0] is node
        assert not view.meshes.translucent.visible  # the calorimeter is not drawn twice
        assert node.data.n_faces < 0.5 * view.part("ECL").mesh.data.n_faces
        uploads = {
            name: _spy(getattr(node, f"_{name}"), "set_data") for name in ("positions", "normals", "cells")
        }
        texture = _spy(node._texture, "set_data")
        # a ring of barrel crystals facing the camera (cellIds of thetaID 30)
        from geometry.ecl import FIRST_CELL, N_PHI

        cells = FIRST_CELL[30] + np.arange(N_PHI[30])
        view.light_crystals(cells, RED)
        assert not view.meshes.stale
        assert uploads == {"positions": [0], "normals": [0], "cells": [0]}
        assert texture == [1]
        lit = view.render()
        changed = np.abs(lit.astype(int) - dark.astype(int)).max(axis=-1) > 30
        assert changed.sum() > 200
        rows = lit[changed][:, :3].astype(int)
        assert (rows[:, 0] > rows[:, 1] + 20).mean() > 0.9  # red where the ring lit up
        from vispy import io

        io.write_png(str(screenshot_dir / "crystal_shell_lit_ring.png"), lit[..., :3])
        view.light_crystals(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
        np.testing.assert_array_equal(view.render(), dark)
        # opaque, the calorimeter is drawn face by face with the other opaque parts
        view.set_part_opacity("ECL", 1.0)
        view.render()
        assert not node.visible
        assert view.meshes.slots["ECL"][0] is view.meshes.opaque
    finally:
        view.close()
