"""Inspector links and the candidate panel driving the recoil overlay."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from vispy import scene

from displays.event_visuals import EventVisuals
from events import candidate, helix, kinematics
from events.generator import generate
from events.model import Collection, EventBatch
from panels.candidate_panel import CandidatePanel
from panels.inspector import Inspector, describe, linked


def _linked_event() -> EventBatch:
    tracks = Collection.from_columns(
        "tracks",
        [2],
        {"phi0": [0.1, 2.0], "omega": [0.003, -0.002], "tan_lambda": [0.2, -0.1], "d0": [0, 0], "z0": [0, 0],
         "charge": [1, -1], "ecl_index": [1, -1], "mc_index": [0, 1]},
    )  # fmt: skip
    ecl = Collection.from_columns(
        "ecl",
        [2],
        {"energy": [0.3, 0.2], "theta": [1.2, 1.4], "phi": [0.1, 0.3], "r": [140, 140], "mc_index": [-1, 0]},
    )
    mc = Collection.from_columns("mc", [2], {"pdg": [211, -211], "mother": [-1, -1]})
    vertices = Collection.from_columns("vertices", [1], {"kind": [1], "track_pos": [0], "track_neg": [1]})
    return EventBatch.build(1, tracks=tracks, ecl=ecl, mc=mc, vertices=vertices)


def test_links_go_both_ways() -> None:
    ev = _linked_event()
    assert linked(ev, "track", 0) == [("ecl", 1), ("mc", 0), ("vertex", 0)]
    assert linked(ev, "ecl", 1) == [("track", 0), ("mc", 0)]
    assert linked(ev, "mc", 0) == [("track", 0), ("ecl", 1)]
    assert linked(ev, "vertex", 0) == [("track", 0), ("track", 1)]
    sections = describe(ev, "track", 0)
    rows = dict(sections[0][1])
    p = helix.momentum(0.1, 0.003, 0.2, 1.5)
    assert float(rows["p [GeV]"]) == pytest.approx(float(np.linalg.norm(p)), rel=1e-4)
    assert rows["charge"] == "1"
    assert describe(ev, "track", 7)[0][1][0][0] == "error"


def test_inspector_rows_name_their_units() -> None:
    """Every dimensioned quantity says its unit (Belle II's cm, GeV, ns, rad), as the tables do."""
    ev = _linked_event()
    track = dict(describe(ev, "track", 0)[0][1])
    for name in ("d0 [cm]", "z0 [cm]", "phi0 [rad]", "omega [1/cm]", "p [GeV]", "θ [°]"):
        assert name in track, name
    assert "tan_lambda" in track  # dimensionless: no unit
    ecl = dict(describe(ev, "ecl", 1)[0][1])
    for name in ("energy [GeV]", "theta [rad]", "time [ns]"):
        assert name in ecl, name
    mc = dict(describe(ev, "mc", 0)[0][1])
    assert "energy [GeV]" in mc
    assert "vz [cm]" in mc


def test_inspector_widget(qtbot) -> None:
    w = Inspector()
    qtbot.addWidget(w)
    w.show_object(_linked_event(), "ecl", 1)
    assert w.sections() == ["ecl 1", "linked track 0", "linked mc 0"]
    w.show_object(None, None)
    assert w.sections() == []


def test_candidate_panel_computes_and_draws_the_recoil(qtbot) -> None:
    batch = generate(50, seed=9)
    ev = batch.event(int(np.flatnonzero(batch.tracks.counts >= 4)[0]))
    visuals = EventVisuals(SimpleNamespace(scene=scene.Node()), "3d")
    panel = CandidatePanel(scene=visuals.scene)  # the panel and the view share one scene
    qtbot.addWidget(panel)
    visuals.set_event(ev)
    assert panel.current_event is ev
    results: list[object] = []
    panel.candidate_changed.connect(results.append)
    for i in (0, 1):
        visuals.scene.select("track", i)  # what Add selected adds follows the scene's selection
        panel.add_current()
    panel.add_current()  # the same object twice counts once
    assert len(panel.picks) == 2
    panel.set_hypothesis(0, 13)
    panel.set_hypothesis(1, 13)
    expected = candidate.evaluate(ev, [candidate.Pick("track", 0, 13), candidate.Pick("track", 1, 13)])
    got = results[-1]
    assert isinstance(got, candidate.Candidate)
    assert got.recoil_mass_squared == pytest.approx(expected.recoil_mass_squared, rel=1e-12)
    assert f"M_recoil = {expected.recoil_mass:.4f} GeV" in panel.result_label.text()
    assert visuals.recoil.visible
    assert f"{expected.recoil_mass:.3f}" in visuals.recoil_label.text
    panel.cms_box.setChecked(True)
    assert f"θ_recoil (CM) = {np.degrees(expected.recoil_theta_cms):.2f}°" in panel.result_label.text()
    assert expected.recoil_e_star == pytest.approx(kinematics.sqrt_s() - expected.e_star, abs=1e-9)
    panel.clear()
    assert results[-1] is None
    assert not visuals.recoil.visible


def test_browser_and_candidate_tool_talk_through_the_scene(qtbot) -> None:
    from displays.event_render import BatchSource
    from displays.scene import Scene
    from panels.event_browser import EventBrowser

    batch = generate(50, seed=9)
    busy = np.flatnonzero(batch.tracks.counts >= 4)
    scene = Scene()
    browser = EventBrowser(scene=scene)
    qtbot.addWidget(browser)
    panel = CandidatePanel(scene=scene)
    qtbot.addWidget(panel)
    browser.set_source(BatchSource(batch), "generated", index=int(busy[0]))
    assert scene.event is browser.current_event
    assert panel.current_event is scene.event
    for i in (0, 1):
        browser.select_object("track", i)
        assert panel.current == ("track", i)
        panel.add_current()
    assert scene.recoil is not None
    assert "recoil" in scene.recoil.label
    browser.set_source(BatchSource(batch), "generated", index=int(busy[1]))  # a new event: a new candidate
    assert scene.recoil is None
    assert panel.picks == []
    assert panel.current is None
    assert browser.selected_object() is None
    panel.detach()
    browser.select_object("track", 0)
    assert panel.current is None  # no longer following
    browser.shutdown()
