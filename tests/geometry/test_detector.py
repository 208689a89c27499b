"""The ten drawn parts against the basf2 figures (assets/geometry/SOURCES.md; mm there, cm here)."""

from __future__ import annotations

import numpy as np
import pytest

from geometry import cdc, klm, pid, vxd
from geometry.detector import PART_NAMES, build_detector, summary
from geometry.mesh import Part


@pytest.fixture(scope="module")
def parts() -> dict[str, Part]:
    return {p.name: p for p in build_detector()}


@pytest.fixture(scope="module")
def figures(parts: dict[str, Part]) -> dict[str, dict[str, float | int]]:
    return summary(list(parts.values()))


def _signed_volumes(part: Part) -> np.ndarray:
    tri = part.mesh.vertices.astype(np.float64)[part.mesh.faces]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    return np.bincount(part.mesh.element, signed, minlength=part.mesh.n_elements)


def test_order_colours_and_caching() -> None:
    parts = build_detector()
    assert [p.name for p in parts] == list(PART_NAMES)
    assert len({p.color[:3] for p in parts}) == len(parts)  # distinct colours
    assert all(0.0 <= c <= 1.0 for p in parts for c in p.color)
    assert build_detector()[6].mesh is parts[6].mesh  # built once


def test_meshes_are_sane_closed_solids(parts: dict[str, Part]) -> None:
    for part in parts.values():
        m = part.mesh
        assert m.vertices.dtype == np.float32
        assert np.isfinite(m.vertices).all(), part.name
        assert m.faces.max() < len(m.vertices), part.name
        assert len(m.element) == len(m.faces), part.name
        # outward-wound closed solids: every element has a positive volume
        assert _signed_volumes(part).min() > 0, part.name


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("PXD", 20),
        ("SVD", 45),
        ("CDC", 56),
        ("TOP", 16),
        ("ARICH", 248 + 420),  # aerogel tiles and HAPDs (the support tubes are drawn, not counted)
        ("ECL", 8736),
        ("BKLM", 15),
        ("EKLM", 26),
    ],
)
def test_counts(figures: dict[str, dict[str, float | int]], name: str, count: int) -> None:
    assert figures[name]["count"] == count


def test_element_counts_of_layers_ladders_and_bars(parts: dict[str, Part]) -> None:
    assert parts["PXD"].mesh.n_elements == 20
    assert parts["SVD"].mesh.n_elements == 45
    assert len(vxd.svd_sensors().centre) == 172  # 7·2 + 10·3 + 12·4 + 16·5
    assert len(vxd.pxd_sensors().centre) == 40
    assert parts["TOP"].mesh.n_elements == 16
    assert parts["BKLM"].mesh.n_elements == 15
    assert parts["EKLM"].mesh.n_elements == 14 + 12 + 2 * 15  # layers, then the iron plates
    assert parts["ARICH"].mesh.n_elements == 668 + 7  # tiles, HAPDs, then the support tubes
    assert parts["CDC"].mesh.n_elements == 56 + 2  # end-plate rings of each layer, two walls


@pytest.mark.parametrize(
    ("name", "r_min", "r_max", "z_min", "z_max", "tol"),
    [
        ("CDC", 16.25, 112.76, -100.0, 165.5, 0.01),
        # the prism reaches 3.1 cm inside the bars; its nearest vertex is a corner, 22.7 cm off-centre
        ("TOP", float(np.hypot(119.0 - 3.1, 45.4 / 2)), None, -79.5, 190.5, 0.01),
        # the support structure: inner cylinder from r = 42.0 cm and 1 mm into the envelope (z = 166.9),
        # 27.8 cm long; the outer cover reaches the envelope radius 114.0 cm
        ("ARICH", 42.0, 114.0, 166.9, 194.7, 0.01),
        ("COIL", 170.0, 200.0, 47.0 - 220.5, 47.0 + 220.5, 0.01),
        ("BKLM", 201.9, 333.4 / np.cos(np.pi / 8), -183.0, 277.0, 0.01),
        # the endcap yokes: r = 128.0 cm to an octagon of apothem 353.5 cm, z = 47 ± (296.05 ± 66.05)
        ("EKLM", 128.0, 353.5 / np.cos(np.pi / 8), -315.1, 409.1, 0.01),
    ],
)
def test_extents_against_reference(
    figures: dict[str, dict[str, float | int]],
    name: str,
    r_min: float | None,
    r_max: float | None,
    z_min: float | None,
    z_max: float | None,
    tol: float,
) -> None:
    f = figures[name]
    for key, want in (("r_min", r_min), ("r_max", r_max), ("z_min", z_min), ("z_max", z_max)):
        if want is not None:
            assert f[key] == pytest.approx(want, abs=tol), key


def test_nesting_of_subdetectors(figures: dict[str, dict[str, float | int]]) -> None:
    f = figures
    assert f["PXD"]["r_max"] < f["SVD"]["r_min"]
    assert f["SVD"]["r_max"] < f["CDC"]["r_min"]
    assert f["CDC"]["r_max"] < f["TOP"]["r_min"]
    assert f["TOP"]["r_max"] < 125.16  # ECL barrel inner radius 1251.6 mm
    assert f["ECL"]["r_max"] < f["COIL"]["r_min"]
    assert f["COIL"]["r_max"] < f["BKLM"]["r_min"]
    assert f["ARICH"]["z_max"] < 196.0  # ECL forward endcap front
    assert f["ARICH"]["r_max"] < f["COIL"]["r_min"]
    assert f["EKLM"]["z_min"] < f["BKLM"]["z_min"] <= f["BKLM"]["z_max"] < f["EKLM"]["z_max"]


def test_vxd_layers_and_windmill() -> None:
    s = vxd.svd_sensors()
    barrel = s.v[:, 2] > 0.999
    # sensor planes at the layer radius (distance of the plane from the axis), windmill shift along rφ
    w = np.cross(s.u, s.v)
    plane_r = np.sum(s.centre * w, axis=1)
    for lay in vxd.svd_layers():
        sel = barrel & (s.layer == lay.layer)
        assert np.allclose(plane_r[sel], lay.radius)
        assert np.allclose(np.sum(s.centre[sel] * s.u[sel], axis=1), lay.shift)
    # slanted forward sensors of layers 4–6: 10 + 12 + 16, tilted towards the beam
    slanted = ~barrel
    assert slanted.sum() == 38
    assert np.all(s.v[slanted, 2] < 1.0)
    p = vxd.pxd_sensors()
    radii = np.round(np.sum(p.centre * np.cross(p.u, p.v), axis=1), 3)
    assert sorted(set(radii.tolist())) == [1.421, 2.179]


def test_cdc_wires_follow_the_layer_table() -> None:
    lay = cdc.sense_layers()
    assert lay.n_wires.sum() == 14336
    assert list(np.bincount(lay.superlayer)) == [8, 6, 6, 6, 6, 6, 6, 6, 6]
    w = cdc.wires()
    assert w.shape == (14336, 2, 3)
    layer = np.repeat(np.arange(56), lay.n_wires)
    assert np.allclose(np.hypot(w[:, :, 0], w[:, :, 1]), lay.radius[layer][:, None])
    d = w[:, 1] - w[:, 0]
    stereo = np.arctan(np.linalg.norm(d[:, :2], axis=1) / d[:, 2]) * 1e3
    assert np.allclose(stereo, np.abs(lay.stereo_mrad[layer]), atol=0.01)
    # U layers turn counter-clockwise from backward to forward, V layers clockwise
    turn = w[:, 0, 0] * w[:, 1, 1] - w[:, 0, 1] * w[:, 1, 0]  # z of (bwd × fwd)
    kind = lay.kind[layer]
    assert np.all(turn[kind == "U"] > 0)
    assert np.all(turn[kind == "V"] < 0)
    assert np.allclose(turn[kind == "A"], 0, atol=1e-9)
    with_wires = {p.name: p for p in build_detector(cdc_wires=True)}
    assert with_wires["CDC"].lines is w
    assert build_detector()[3].lines is None


def test_top_arich_klm_figures() -> None:
    assert np.degrees(pid.top_slot_phi()[[0, 15]]) == pytest.approx([11.25, 348.75])
    r, _ = pid.hapd_positions()
    assert len(r) == 420
    inner, outer = klm.bklm_layer_radii()
    assert inner[0] == pytest.approx(201.9)
    assert np.allclose(np.diff(inner[1:]), 9.1)  # 4.4 cm gap + 4.7 cm iron
    assert outer[-1] < klm.bklm().outer
    near, far = klm.eklm_layer_z()
    assert (near > 0).sum() == 14
    assert (near < 0).sum() == 12
    # layer 1 centred 236.9 cm from the solenoid centre (z = 47): one 4.7 cm iron plate from the face
    assert 0.5 * (near[0] + far[0]) == pytest.approx(47.0 + 236.9)
    assert 0.5 * (near[14] + far[14]) == pytest.approx(47.0 - 236.9)
    assert np.allclose(np.abs(far - near), 4.4)
    iron_near, iron_far = klm.eklm_iron_z()
    assert len(iron_near) == 30
    assert np.allclose(np.abs(iron_far - iron_near), 4.7)  # 14 · 4.4 + 15 · 4.7 = 132.1
    ends = klm.eklm_endcap_z()
    assert ends["forward"] == pytest.approx((277.0, 409.1))
    assert ends["backward"] == pytest.approx((-183.0, -315.1))
    # the iron fills each endcap from face to face, the layers sit between the plates
    assert iron_near[0] == pytest.approx(277.0)
    assert iron_far[14] == pytest.approx(409.1)
    assert iron_far[29] == pytest.approx(-315.1)
    fwd_iron = np.stack([iron_near[:15], iron_far[:15]], 1)
    fwd_layers = np.stack([near[:14], far[:14]], 1)
    assert np.allclose(fwd_iron[1:, 0], fwd_layers[:, 1])
    assert np.allclose(fwd_iron[:-1, 1], fwd_layers[:, 0])
    a = pid.arich()
    assert a.z0 == pytest.approx(166.8)
    assert a.r == pytest.approx((42.0, 114.0))
    assert a.tubes[:, 1].max() == pytest.approx(a.r[1])  # the outer cover closes the envelope
    assert a.tubes[:, 0].min() == pytest.approx(a.r[0])
    assert np.all(a.tubes[:, 3] <= a.z0 + a.length)
