"""Overlay adapters on a scene, without a GL context: subscriptions, what redraws, the table."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from vispy import scene as vispy_scene

from displays import overlays
from displays.event_geometry import Projection
from displays.event_visuals import EventVisuals
from displays.overlays import OVERLAYS, Overlay
from displays.scene import Scene
from events.model import Collection, EventBatch


def _view() -> SimpleNamespace:
    return SimpleNamespace(scene=vispy_scene.Node())


def _event() -> EventBatch:
    tracks = Collection.from_columns(
        "tracks",
        [2],
        {"d0": [0, 0], "phi0": [0.3, 2.0], "omega": [0.002, -0.003], "z0": [0, 0], "tan_lambda": [0.1, -0.2],
         "charge": [1, -1], "ecl_index": [0, -1]},
    )  # fmt: skip
    ecl = Collection.from_columns(
        "ecl",
        [1],
        {"energy": [1.5], "theta": [1.2], "phi": [0.3], "r": [140.0], "cell_id": [4000], "hypotheses": [16]},
    )
    klm = Collection.from_columns("klm", [1], {"x": [-60.0], "y": [80.0], "z": [10.0]})
    return EventBatch.build(1, tracks=tracks, ecl=ecl, klm=klm)


def _listeners(scene: Scene) -> int:
    return sum(len(e) for e in scene.events.emitters())


def _count_set_data(node: Any) -> list[int]:
    calls = [0]
    original = node.set_data

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    node.set_data = counted
    return calls


def test_adapters_subscribe_on_construction_and_leave_on_close() -> None:
    scene = Scene()
    view = _view()
    visuals = EventVisuals(view, "rphi", scene=scene)
    assert set(visuals.overlays) == set(OVERLAYS)
    assert _listeners(scene) > 0
    assert scene.layers == ("tracks", "ecl", "klm", "vertices", "mc", "recoil")
    assert scene.visibility["mc"] is False  # MC truth waits to be switched on
    assert view.scene.children == []  # no visual until there is something to draw
    n_nodes = len(visuals.visuals())  # asked for: made now
    assert len(view.scene.children) == n_nodes > 0
    visuals.close()
    assert _listeners(scene) == 0
    assert view.scene.children == []
    scene.set_event(_event())  # a closed view draws nothing and raises nothing
    assert not visuals.tracks.visible


def test_visuals_are_made_when_the_first_event_arrives_and_draw_it() -> None:
    scene = Scene()
    projections: tuple[Projection, ...] = ("3d", "rphi", "rz")
    views = {p: _view() for p in projections}
    visuals = {p: EventVisuals(view, p, scene=scene) for p, view in views.items()}
    scene.set_color_mode("momentum")  # nothing to draw yet: still nothing made
    scene.set_growth(0.5)
    assert not any(v.built for v in visuals.values())
    assert all(view.scene.children == [] for view in views.values())
    event = _event()
    scene.set_event(event)
    for p, v in visuals.items():
        assert v.overlays["tracks"].built
        assert v.overlays["klm"].built
        assert not v.overlays["mc"].built  # switched off: made when switched on
        assert not v.overlays["selection"].built
        assert not v.overlays["recoil"].built
        assert v.tracks.visible
        assert v.klm.visible
        assert len(v.tracks.pos) > 0
        assert v.tracks.parent is views[p].scene
        hit = [-60.0, 80.0] if p != "rz" else [10.0, 100.0]  # (x, y); r-z: (z, signed r)
        np.testing.assert_allclose(v.klm._data["a_position"][0, :2], hit)
    # made later, each view's visuals stay in the table's order (later entries draw over earlier ones)
    scene.set_recoil(np.array([0.0, 0.6, 0.8]), 2.0, "recoil")
    scene.set_layer_visible("mc", True)
    for v in visuals.values():
        assert v.built
        assert v.recoil.visible
        order = [node for overlay in v.overlays.values() for node in overlay.nodes.values()]
        assert v.view.scene.children == order


def test_a_view_made_for_a_busy_scene_makes_its_visuals_at_once() -> None:
    scene = Scene()
    scene.set_event(_event())
    v = EventVisuals(_view(), "rphi", scene=scene)
    assert v.overlays["tracks"].built
    assert v.tracks.visible
    v.build()
    assert v.built
    assert not v.selected_line.visible


def test_three_views_follow_one_scene() -> None:
    scene = Scene()
    views = [EventVisuals(_view(), p, scene=scene) for p in ("3d", "rphi", "rz")]
    scene.set_event(_event())
    assert all(v.tracks.visible and v.klm.visible for v in views)
    scene.select("ecl", 0)
    for v in views:
        assert v.selection == ("ecl", 0)
        assert v.selected_line.visible  # the cluster's matched track
        assert v.selected_marker.visible
    scene.set_layer_visible("klm", False)
    assert not any(v.klm.visible for v in views)
    scene.set_recoil(np.array([0.0, 0.6, 0.8]), 2.0, "recoil")
    assert all(v.recoil.visible and v.recoil_label.text == "recoil" for v in views)
    scene.set_layer_visible("recoil", False)
    assert not any(v.recoil.visible or v.recoil_label.visible for v in views)
    scene.set_layer_visible("recoil", True)  # switched back on: the arrow comes back with its label
    assert all(v.recoil.visible and v.recoil_label.visible for v in views)
    scene.clear()
    assert not any(node.visible for v in views for node in v.visuals())


def test_each_adapter_redraws_only_what_changed() -> None:
    scene = Scene()
    v = EventVisuals(_view(), "rphi", scene=scene)
    scene.set_event(_event())
    tracks, klm, ecl = (_count_set_data(v.overlays[n].nodes[n]) for n in ("tracks", "klm", "ecl"))
    selected = _count_set_data(v.selected_line)
    scene.set_color_mode("momentum")
    scene.set_growth(0.5)
    assert tracks[0] == 2
    assert klm[0] == ecl[0] == 0
    scene.select("track", 1)
    assert selected[0] == 1
    assert tracks[0] == 2
    scene.set_layer_visible("ecl", False)
    scene.set_layer_visible("ecl", True)
    assert ecl[0] == 1
    assert (klm[0], tracks[0]) == (0, 2)


def test_picks_come_from_shown_layers_only() -> None:
    scene = Scene()
    v = EventVisuals(_view(), "rphi", scene=scene)
    scene.set_event(_event())
    n_track_points = len(v.tracks.pos)
    counts = {k: int((v.picks.kind == i).sum()) for i, k in enumerate(v.picks.kinds)}
    assert counts == {"track": n_track_points, "ecl": 1, "klm": 1, "vertex": 0, "mc": 0}
    scene.set_layer_visible("tracks", False)
    assert not (v.picks.kind == 0).any()  # a hidden track cannot be clicked
    scene.set_layer_visible("tracks", True)
    assert int((v.picks.kind == 0).sum()) == n_track_points  # back once, not twice


def test_a_view_joining_a_busy_scene_draws_what_it_shows() -> None:
    scene = Scene()
    EventVisuals(_view(), "3d", scene=scene)
    scene.set_event(_event())
    scene.select("track", 0)
    late = EventVisuals(_view(), "rphi", scene=scene)
    assert late.tracks.visible
    assert late.selected_line.visible


def test_a_view_moves_to_another_scene() -> None:
    first, second = Scene(), Scene()
    v = EventVisuals(_view(), "rz", scene=first)
    first.set_event(_event())
    second.set_event(EventBatch.build(1))
    v.set_scene(second)
    assert _listeners(first) == 0
    assert not v.tracks.visible  # the second scene's empty event
    first.set_event(_event())
    assert not v.tracks.visible
    second.set_event(_event())
    assert v.tracks.visible


def test_crystals_go_dark_when_the_view_closes() -> None:
    calls: list[np.ndarray] = []
    v = EventVisuals(_view(), "3d", crystal_painter=lambda cells, rgba: calls.append(cells))
    v.set_event(_event())
    np.testing.assert_array_equal(calls[-1], [4000])
    v.set_event(_event())
    assert len(calls) == 2
    v.close()
    assert len(calls[-1]) == 0


# --- a new overlay collection: one class and one entry in the table (docs/architecture.md) -----------


class BeamSpotOverlay(Overlay):
    """The interaction point as one marker (an example of a new collection)."""

    layer = "beamspot"

    def make_visuals(self, parent: Any) -> dict[str, Any]:
        return {"beamspot": vispy_scene.visuals.Markers(parent=parent)}

    def draw(self) -> None:
        ev, marker = self.event, self.nodes["beamspot"]
        if ev is None or ev.vertices.size == 0 or not self.shown:
            self.hide()
            return
        v = ev.vertices
        pos = np.stack([v["x"][:1], v["y"][:1], v["z"][:1]], axis=-1)
        marker.set_data(pos, size=6 * self.options.scale, face_color="white")
        marker.visible = True


def test_a_new_overlay_is_one_class_and_one_table_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(overlays.OVERLAYS, "beamspot", BeamSpotOverlay)
    scene = Scene()
    v = EventVisuals(_view(), "3d", scene=scene)
    assert "beamspot" in scene.layers
    vertices = Collection.from_columns("vertices", [1], {"x": [0.1], "y": [0.0], "z": [0.5]})
    scene.set_event(EventBatch.build(1, vertices=vertices))
    assert v.beamspot.visible
    scene.set_layer_visible("beamspot", False)
    assert not v.beamspot.visible
    v.close()
    assert _listeners(scene) == 0
