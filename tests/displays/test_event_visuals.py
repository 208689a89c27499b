"""The VisPy adapter without a GL context: what each visual is fed, and what is hidden."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from vispy import scene

from displays import event_geometry as geo
from displays.event_visuals import LAYERS, EventVisuals, nearest_on_screen
from events import helix
from events.generator import generate
from events.model import Collection, EventBatch, VertexKind

GENERATED = generate(400, seed=2)


def generated_event(rule) -> EventBatch:
    """The first generated event whose one-event batch satisfies ``rule``."""
    for i in range(len(GENERATED)):
        ev = GENERATED.event(i)
        if rule(ev):
            return ev
    raise LookupError("no generated event fits")


def _has_v0(ev: EventBatch) -> bool:
    v = ev.vertices
    return bool(((v["kind"] == VertexKind.V0) & (v["track_pos"] >= 0) & (v["track_neg"] >= 0)).any())


def _visuals(projection="3d", **kw) -> EventVisuals:
    return EventVisuals(SimpleNamespace(scene=scene.Node()), projection, **kw)


def _two_tracks() -> EventBatch:
    tracks = Collection.from_columns(
        "tracks",
        [2],
        {"d0": [0, 0], "phi0": [0.3, 2.0], "omega": [0.002, -0.003], "z0": [0, 0], "tan_lambda": [0.1, -0.2],
         "charge": [1, -1]},
    )  # fmt: skip
    return EventBatch.build(1, tracks=tracks)


def test_all_tracks_go_into_one_line_with_a_connect_array() -> None:
    v = _visuals("rphi", n_points=32, adaptive=False)
    v.set_event(_two_tracks())
    assert v.tracks.visible
    pos, connect, color = v.tracks.pos, v.tracks.connect, v.tracks.color
    assert pos.shape == (64, 3)
    assert connect.dtype == bool
    assert not connect[31]
    assert not connect[63]
    np.testing.assert_allclose(color[:32], np.tile(geo.CHARGE_COLORS[1], (32, 1)))
    np.testing.assert_allclose(color[32:], np.tile(geo.CHARGE_COLORS[-1], (32, 1)))
    np.testing.assert_allclose(pos[:, 2], 0.0)  # flat in r-phi


def test_points_follow_how_much_each_track_turns() -> None:
    # a stiff 3 GeV track turns little before the calorimeter, a 0.12 GeV curler makes a full circle
    omega = helix.PT_PER_CURVATURE * 1.5 / np.array([3.0, 0.12])
    tracks = Collection.from_columns(
        "tracks",
        [2],
        {
            "d0": [0, 0],
            "phi0": [0.3, 2.0],
            "omega": omega,
            "z0": [0, 0],
            "tan_lambda": [0, 0],
            "charge": [1, 1],
        },
    )
    v = _visuals("rphi", n_points=64)
    v.set_event(EventBatch.build(1, tracks=tracks))
    counts = np.flatnonzero(~v.tracks.connect) + 1
    n_stiff, n_curler = counts[0], counts[1] - counts[0]
    assert geo.MIN_POINTS <= n_stiff < 12
    assert n_curler == 64  # capped at n_points
    pos = v.tracks.pos[n_stiff:, :2]
    r = np.hypot(*pos.T)
    assert r.max() == pytest.approx(2 / omega[1], rel=0.01)  # the circle is still round
    turn = np.abs(np.diff(np.unwrap(np.arctan2(*np.diff(pos, axis=0).T[::-1]))))
    assert turn.max() < np.radians(6.0)
    v.highlight("track", 1)
    assert len(v.selected_line.pos) == 64


def test_empty_collections_hide_their_visuals() -> None:
    v = _visuals()
    v.set_event(_two_tracks())
    for node in (v.ecl, v.klm, v.vertices, v.vertex_lines, v.mc, v.recoil, v.selected_line):
        assert not node.visible
    assert v.ecl.mesh_data.get_vertices() is None  # nothing was ever sent
    v.set_event(EventBatch.build(1))
    assert not v.tracks.visible
    assert len(v.picks.points) == 0


def test_every_collection_of_a_full_event_is_drawn_once() -> None:
    ev = generated_event(
        lambda e: (
            e.tracks.size >= 6 and e.klm.size > 0 and geo.photon_clusters(e.ecl).sum() >= 3 and _has_v0(e)
        )
    )
    v = _visuals()
    v.set_event(ev)
    assert v.tracks.visible
    assert v.ecl.visible
    assert v.klm.visible
    assert v.vertices.visible
    assert v.vertex_lines.visible
    n_shown = int(geo.photon_clusters(ev.ecl).sum())
    assert len(v.ecl.mesh_data.get_vertices()) == 8 * n_shown
    kinds = {k: int((v.picks.kind == i).sum()) for i, k in enumerate(("track", "ecl", "klm", "vertex"))}
    assert kinds == {
        "track": len(v.tracks.pos),
        "ecl": n_shown,
        "klm": ev.klm.size,
        "vertex": ev.vertices.size,
    }


def test_v0_daughters_are_highlighted() -> None:
    ev = generated_event(_has_v0)
    v0 = int(np.flatnonzero(ev.vertices["kind"] == VertexKind.V0)[0])
    v = _visuals(n_points=8, adaptive=False)
    v.set_event(ev)
    colors = v.tracks.color.reshape(ev.tracks.size, 8, 4)[:, 0]
    daughters = [int(ev.vertices["track_pos"][v0]), int(ev.vertices["track_neg"][v0])]
    np.testing.assert_allclose(colors[daughters], [geo.DAUGHTER_COLOR] * 2)
    others = np.setdiff1d(np.arange(ev.tracks.size), geo.daughter_tracks(ev.tracks, ev.vertices).nonzero()[0])
    assert not np.isin(colors[others], [geo.DAUGHTER_COLOR]).all(axis=1).any()
    v.highlight("vertex", v0)
    assert v.selected_line.visible
    assert v.selected_line.pos.shape == (16, 3)
    assert v.selected_marker.visible


def test_crystal_painter_lights_the_clusters_crystals() -> None:
    calls: list[tuple[np.ndarray, np.ndarray]] = []
    ecl = Collection.from_columns(
        "ecl",
        [3],
        {"energy": [0.05, 2.0, 1.0], "theta": [1.0, 1.2, 1.4], "phi": [0, 1, 2], "r": [140] * 3,
         "cell_id": [1200, 4000, 0], "hypotheses": [16, 48, 16]},
    )  # fmt: skip
    v = _visuals(crystal_painter=lambda c, rgba: calls.append((c, rgba)))
    v.set_event(EventBatch.build(1, ecl=ecl))
    cells, rgba = calls[-1]
    np.testing.assert_array_equal(cells, [1200, 4000])
    np.testing.assert_allclose(rgba, geo.energy_colors(np.array([0.05, 2.0])), rtol=1e-5)
    assert len(v.ecl.mesh_data.get_vertices()) == 8  # the cluster without a cellId falls back to a tower
    v.set_event(_two_tracks())
    assert len(calls[-1][0]) == 0  # the next event switches the crystals off again


def test_growth_colour_mode_and_layer_switches() -> None:
    v = _visuals("rphi", n_points=16)
    v.set_event(_two_tracks())
    r_full = np.hypot(*v.tracks.pos[:, :2].T).max()
    v.set_growth(0.25)
    assert np.hypot(*v.tracks.pos[:, :2].T).max() < 0.5 * r_full
    v.set_color_mode("momentum")
    assert not np.allclose(v.tracks.color[0], geo.CHARGE_COLORS[1])
    v.set_layer_visible("tracks", False)
    assert not v.tracks.visible
    assert v.visibility["tracks"] is False
    v.set_layer_visible("mc", True)
    assert set(v.visibility) == set(LAYERS)
    with pytest.raises(ValueError, match="unknown layer"):
        v.set_layer_visible("jets", True)


def test_recoil_arrow_points_along_the_recoil() -> None:
    v = _visuals("3d")
    v.set_event(_two_tracks())
    v.set_recoil(np.array([0.0, 0.6, 0.8]), 2.0, "M_rec = 3.00 GeV")
    assert v.recoil.visible
    assert v.recoil_label.text == "M_rec = 3.00 GeV"
    np.testing.assert_allclose(v.recoil_label.pos[0], [0.0, 48.0, 64.0], atol=1e-4)  # 40 cm per GeV
    v.set_event(_two_tracks())
    assert not v.recoil.visible


def test_nearest_on_screen() -> None:
    pts = np.array([[10.0, 10.0], [50.0, 50.0], [np.nan, np.nan]])
    assert nearest_on_screen(pts, (48.0, 53.0), 8) == 1
    assert nearest_on_screen(pts, (30.0, 30.0), 8) is None
    assert nearest_on_screen(np.zeros((0, 2)), (0.0, 0.0), 8) is None
