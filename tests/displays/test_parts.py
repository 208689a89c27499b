"""The display state of a subdetector as arrays, and the VisPy adapters fed by it (no GL context needed)."""

from __future__ import annotations

import numpy as np
import pytest

from displays.parts import (
    CUTAWAYS,
    Cutaway,
    DrawBuffers,
    PartModel,
    both_sides,
    face_azimuth,
    face_normals,
    outward_triangles,
)
from displays.visuals import DetectorMeshes, PartVisual
from geometry.mesh import Mesh, Part
from tests.displays.toy_detector import ECL_R_IN, ECL_R_OUT, cylinder, sector_boxes, toy_parts


def drawn(data: DrawBuffers | None) -> DrawBuffers:
    """The buffers a node or layer draws; it must have some."""
    assert data is not None, "nothing to draw"
    return data


def ecl_part(n_phi: int = 144, n_z: int = 4) -> Part:
    return Part(
        "ECL", sector_boxes(ECL_R_IN, ECL_R_OUT, -100.3, 198.7, n_phi, n_z), (0, 1, 0, 1), n_phi * n_z
    )


def test_cutaway_keeps_azimuths_outside_the_wedge() -> None:
    phi = np.radians([-170.0, -45.0, 10.0, 95.0, 135.0, 179.0])
    assert CUTAWAYS["none"].keeps(phi).all()
    # the upper half is y > 0: phi in (0, 180)
    np.testing.assert_array_equal(CUTAWAYS["half"].keeps(phi), [True, True, False, False, False, False])
    np.testing.assert_array_equal(Cutaway(-60.0, 90.0).keeps(phi), [True, False, False, True, True, True])


def test_element_azimuth_cuts_crystals_whole() -> None:
    mesh = ecl_part(n_phi=144, n_z=1).mesh
    phi = face_azimuth(mesh)
    for element in (0, 37, 143):
        faces = phi[mesh.element == element]
        assert np.ptp(faces) == pytest.approx(0.0, abs=1e-6)  # every face of a crystal shares its azimuth
        assert np.degrees(faces[0]) % 360 == pytest.approx((element + 0.5) * 2.5, abs=0.05)


def test_wrapping_element_is_opened_face_by_face() -> None:
    mesh = cylinder(16.0, 113.0, -100.0, 165.0, n_phi=36)
    model = PartModel(Part("CDC", mesh, (0, 1, 1, 1), 1), (0, 1, 1, 1), 1.0)
    model.cutaway = CUTAWAYS["half"]
    kept = model.kept_faces()
    assert 0.4 < len(kept) / len(mesh.faces) < 0.6  # half the tube stays, not all or nothing
    centres = model.triangles[kept].mean(axis=1)
    assert (centres[:, 1] <= 1e-3).all()


def test_face_normals_are_unit_and_perpendicular() -> None:
    tri = sector_boxes(10.0, 20.0, 0.0, 5.0, 6).vertices[sector_boxes(10.0, 20.0, 0.0, 5.0, 6).faces]
    n = face_normals(tri.astype(np.float32))
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.einsum("ij,ij->i", n, tri[:, 1] - tri[:, 0]), 0.0, atol=1e-3)


def test_opacity_dims_part_colour_but_not_lit_crystals() -> None:
    model = PartModel(ecl_part(), (0.2, 0.9, 0.5, 1.0), 0.3)
    model.set_element_colors(np.array([0, 5]), np.array([1.0, 0.5, 0.0, 1.0]))
    colors = model.element_colors()
    assert colors[0, 3] == pytest.approx(1.0)
    assert colors[1, 3] == pytest.approx(0.3)
    buffers = model.buffers()
    assert buffers.positions.shape == (3 * buffers.n_faces, 3) == buffers.normals.shape
    lit = model.element[buffers.faces] == 5
    lit_colors = buffers.colors.reshape(-1, 3, 4)[lit].reshape(-1, 4)
    np.testing.assert_allclose(lit_colors, np.broadcast_to([1.0, 0.5, 0.0, 1.0], lit_colors.shape))
    with pytest.raises(ValueError, match="ECL: element index 999"):
        model.set_element_colors(np.array([999]), np.array([1.0, 0, 0, 1]))
    model.reset_element_colors()
    assert not model.element_custom.any()


def test_adapter_visibility_opacity_cutaway_change_the_node() -> None:
    visual = PartVisual(ecl_part())
    node = visual.mesh
    full = drawn(node.data).n_faces
    assert node.visible
    assert full < len(visual.model.triangles)  # the calorimeter draws its front/back shell

    visual.set_opacity(1.0)
    assert node.order < 100
    assert not node.translucent
    visual.set_opacity(0.4)
    assert node.order >= 100
    assert node.translucent
    assert drawn(node.data).colors[:, 3].max() == pytest.approx(0.4)

    visual.set_cutaway(CUTAWAYS["wedge"])
    kept = drawn(node.data).n_faces
    assert kept == pytest.approx(0.75 * full, rel=0.05)
    phi = np.degrees(visual.model.azimuth[drawn(node.data).faces]) % 360
    assert not ((phi >= 90.0) & (phi < 180.0)).any()

    visual.set_visible(False)
    assert not node.visible
    visual.set_visible(True)
    assert node.visible
    assert drawn(node.data).n_faces == kept


def test_adapter_draws_wires_only_on_request_and_cuts_them() -> None:
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ends = [np.stack([50 * np.cos(t), 50 * np.sin(t), z + 0 * t], axis=1) for z in (-80.0, 150.0)]
    wires = np.stack(ends, axis=1)  # (64, 2, 3): straight axial wires at r = 50 cm
    part = toy_parts()[0]
    visual = PartVisual(Part(part.name, part.mesh, part.color, part.count, lines=wires))
    assert visual.wires is not None
    assert not visual.wires.visible
    visual.set_wires_visible(True)
    assert visual.wires.visible
    assert len(visual.wires.pos) == 2 * 64
    visual.set_cutaway(CUTAWAYS["half"])
    assert len(visual.wires.pos) == 2 * 32


def nested_tubes(radii: list[float], z: tuple[float, float]) -> Mesh:
    meshes = [cylinder(r, r + 4.0, z[0], z[1], n_phi=24) for r in radii]
    return Mesh.merge(meshes)


def test_outward_winding_and_closed_elements() -> None:
    box = sector_boxes(10.0, 20.0, 0.0, 5.0, 4)
    inside_out = Mesh(box.vertices, box.faces[:, ::-1].copy(), box.element)
    triangles, closed = outward_triangles(inside_out.vertices[inside_out.faces], inside_out.element, 4)
    assert closed
    n = face_normals(triangles)
    centres = triangles.mean(axis=1)
    element_centre = np.stack([centres[inside_out.element == e].mean(axis=0) for e in range(4)])
    assert (np.einsum("ij,ij->i", n, centres - element_centre[inside_out.element]) > 0).all()
    one_triangle = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]], np.float32)
    assert not outward_triangles(one_triangle, np.zeros(1, np.int64), 1)[1]  # open: never culled


def test_shell_lod_keeps_whole_crystals_on_the_cut_edges() -> None:
    part = ecl_part(n_phi=144, n_z=4)
    model = PartModel(part, (0, 1, 0, 1), 0.35, shell_lod=True)
    shell = model.kept_faces()
    assert len(shell) < 0.7 * len(model.triangles)
    model.cutaway = CUTAWAYS["wedge"]
    kept = model.kept_faces()
    faces_per_element = np.bincount(model.element[kept], minlength=model.n_elements)
    phi = np.degrees(model.element_azimuth) % 360
    edge = (np.abs(phi - 181.25) < 0.1) | (np.abs(phi - 88.75) < 0.1)  # the crystals next to 90 and 180 deg
    assert edge.sum() == 8
    assert (faces_per_element[edge] == 12).all()
    inner = (phi > 200) & (phi < 340)
    assert (faces_per_element[inner] < 12).all()


def test_envelope_lod_draws_boundary_layers_while_faint() -> None:
    barrel = Part("BKLM", nested_tubes([200, 210, 220, 230, 240], (-180, 270)), (1, 0, 0, 1), 5)
    model = PartModel(barrel, (1, 0, 0, 1), 0.05, envelope_lod=True, outer_faces_lod=True)
    drawn = np.unique(model.element[model.kept_faces()])
    np.testing.assert_array_equal(drawn, [0, 4])
    radial = np.einsum("ij,ij->i", model.normals[:, :2], model.triangles.mean(axis=1)[:, :2])
    assert (radial[model.kept_faces()] >= 0).all()  # no inner walls while faint
    model.set_opacity(0.8)
    assert len(model.kept_faces()) == len(model.triangles)  # solid: every layer

    disks = [
        cylinder(130.0, 330.0, z, z + 4.4, n_phi=8) for z in (-300.0, -250.0, -200.0, 280.0, 330.0, 380.0)
    ]
    endcaps = PartModel(
        Part("EKLM", Mesh.merge(disks), (1, 0, 0, 1), 6), (1, 0, 0, 1), 0.05, envelope_lod=True
    )
    np.testing.assert_array_equal(np.unique(endcaps.element[endcaps.kept_faces()]), [0, 5])


def merged_detector() -> tuple[dict[str, PartVisual], DetectorMeshes]:
    """Toy CDC (faint), ECL (translucent) and an opaque inner tube, merged as the 3D view does."""
    inner = Part("SVD", cylinder(4.0, 14.0, -20.0, 30.0, n_phi=12), (1, 0.5, 0.2, 1), 1)
    cdc = Part("CDC", cylinder(16.0, 113.0, -100.0, 165.0, n_phi=24), (0, 1, 1, 1), 1)
    visuals = {p.name: PartVisual(p) for p in (inner, cdc, ecl_part(n_phi=36, n_z=2))}
    meshes = DetectorMeshes([v.mesh for v in visuals.values()])
    for rank, name in enumerate(["ECL", "CDC", "SVD"]):  # outermost first
        visuals[name].draw_rank = 2 * rank
        visuals[name].on_change = meshes.mark_stale
        visuals[name].refresh()
    return visuals, meshes


def test_two_draws_hold_every_shown_part_in_draw_order() -> None:
    visuals, meshes = merged_detector()
    meshes.rebuild()
    assert not meshes.stale
    opaque, translucent = drawn(meshes.opaque.data), drawn(meshes.translucent.data)
    svd, cdc, ecl = (drawn(visuals[n].mesh.data) for n in ("SVD", "CDC", "ECL"))
    np.testing.assert_array_equal(opaque.positions, svd.positions)
    # translucent parts outermost first: the ECL's triangles, then the CDC's
    np.testing.assert_array_equal(translucent.positions, np.concatenate([ecl.positions, cdc.positions]))
    assert meshes.translucent.order > meshes.opaque.order

    visuals["ECL"].set_visible(False)  # a control marks the meshes stale; the next paint rebuilds
    assert meshes.stale
    meshes.rebuild()
    np.testing.assert_array_equal(drawn(meshes.translucent.data).positions, cdc.positions)
    visuals["CDC"].set_visible(False)
    meshes.rebuild()
    assert not meshes.translucent.visible  # nothing translucent left to draw
    assert meshes.opaque.visible

    visuals["SVD"].set_opacity(0.5)  # now translucent: it moves to the second draw
    visuals["ECL"].set_visible(True)
    meshes.rebuild()
    assert not meshes.opaque.visible
    assert drawn(meshes.translucent.data).n_faces == ecl.n_faces + svd.n_faces


def test_lit_crystals_recolour_the_merged_draw_in_place() -> None:
    visuals, meshes = merged_detector()
    meshes.rebuild()
    positions = drawn(meshes.translucent.data).positions
    visuals["ECL"].set_element_colors(np.array([3]), np.array([1.0, 0.0, 0.0, 1.0]))
    meshes.rebuild()
    merged = drawn(meshes.translucent.data)
    np.testing.assert_array_equal(merged.positions, positions)
    n_ecl = drawn(visuals["ECL"].mesh.data).n_faces
    lit = visuals["ECL"].model.element[merged.faces[:n_ecl]] == 3
    assert lit.any()
    lit_colors = merged.colors.reshape(-1, 3, 4)[:n_ecl][lit]
    np.testing.assert_allclose(lit_colors, np.broadcast_to([1.0, 0.0, 0.0, 1.0], lit_colors.shape))


def test_open_surfaces_are_drawn_from_both_sides() -> None:
    one_triangle = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    sheet = Part(
        "BEAMPIPE",
        Mesh(one_triangle, np.array([[0, 1, 2]], np.uint32), np.zeros(1, np.int32)),
        (1, 1, 1, 1),
        1,
    )
    visual = PartVisual(sheet)
    assert visual.mesh.two_sided
    doubled = both_sides(drawn(visual.mesh.data))
    assert doubled.n_faces == 2
    first, second = doubled.positions.reshape(2, 3, 3)
    n = face_normals(doubled.positions.reshape(2, 3, 3))
    assert np.dot(n[0], n[1]) == pytest.approx(-1.0)  # opposite windings: one side survives culling
    np.testing.assert_array_equal(second, first[::-1])
    meshes = DetectorMeshes([visual.mesh])
    meshes.rebuild()
    assert drawn(meshes.opaque.data).n_faces == 2
