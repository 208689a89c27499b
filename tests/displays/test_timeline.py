"""The time axis: when tracks, clusters, KLM hits and vertices are reached, by flight at beta c."""

from __future__ import annotations

import numpy as np
import pytest

from displays import event_geometry as geo
from displays import timeline as timing
from displays.scene import Scene
from events import helix, pdg
from events.model import Collection, EventBatch, VertexKind

C = helix.C_LIGHT
M_MU, M_PI, M_K = (pdg.masses([13, 211, 310])[k] for k in (13, 211, 310))
BARREL = geo.Extent(125.0, -300.0, 300.0)  # only the radius matters for the tracks below


def _tracks(rows: list[dict[str, float]]) -> Collection:
    keys = rows[0].keys()
    return Collection.from_columns("tracks", [len(rows)], {k: [r[k] for r in rows] for k in keys})


def _muon(p: float = 1.0, tan_lambda: float = 0.0, **extra: float) -> dict[str, float]:
    pt = p / np.hypot(1.0, tan_lambda)
    row = {"d0": 0.0, "phi0": 0.3, "omega": helix.PT_PER_CURVATURE * 1.5 / pt, "z0": 0.0,
           "tan_lambda": tan_lambda, "charge": 1, "pdg": 13}  # fmt: skip
    row.update(extra)
    return row


def _expected_arrival(p: float, tan_lambda: float, radius: float, mass: float) -> float:
    """Chord -> arc on the circle of radius R = pT / (0.003 B), then the 3D path over beta c."""
    pt = p / np.hypot(1.0, tan_lambda)
    big_r = pt / (helix.PT_PER_CURVATURE * 1.5)
    arc = 2.0 * big_r * np.arcsin(radius / (2.0 * big_r))
    beta = p / np.hypot(p, mass)
    return arc * np.hypot(1.0, tan_lambda) / (beta * C)


def test_a_1_gev_muon_reaches_125_cm_after_its_flight_time() -> None:
    ev = EventBatch.build(1, tracks=_tracks([_muon(), _muon(tan_lambda=1.0)]))
    t = timing.timeline(ev, BARREL)
    expected = [_expected_arrival(1.0, 0.0, 125.0, M_MU), _expected_arrival(1.0, 1.0, 125.0, M_MU)]
    np.testing.assert_allclose(t.track_end, expected, rtol=1e-9)
    assert 4.24 < t.track_end[0] < 4.26  # 126.7 cm of arc (R = 222 cm) at beta = 0.9945: 4.25 ns
    assert t.track_end[1] > np.sqrt(2) * t.track_end[0] * 0.99  # dipping at 45 degrees: longer path
    # at 2 ns the muon has flown beta c 2 ns = 59.6 cm of path, all of it transverse here
    s0, reached = t.track_arcs(2.0, geo.track_end_arc_lengths(ev.tracks, BARREL))
    np.testing.assert_allclose(s0, 0.0)
    np.testing.assert_allclose(reached[0], 2.0 * C / np.hypot(1.0, M_MU), rtol=1e-9)
    np.testing.assert_allclose(reached[1], 2.0 * C / np.hypot(1.0, M_MU) / np.sqrt(2), rtol=1e-9)
    # and never beyond where the view stops drawing
    _, late = t.track_arcs(50.0, geo.track_end_arc_lengths(ev.tracks, BARREL))
    np.testing.assert_allclose(late, geo.track_end_arc_lengths(ev.tracks, BARREL))


def test_a_slow_proton_lags_a_pion_of_the_same_momentum() -> None:
    ev = EventBatch.build(1, tracks=_tracks([_muon(0.5, pdg=211), _muon(0.5, pdg=2212)]))
    t = timing.timeline(ev, BARREL)
    m_p = pdg.masses([2212])[2212]
    ratio = np.hypot(0.5, m_p) / np.hypot(0.5, M_PI)  # 1 / beta
    np.testing.assert_allclose(t.track_end[1] / t.track_end[0], ratio, rtol=1e-9)


def test_photons_light_their_clusters_at_the_speed_of_light() -> None:
    ecl = Collection.from_columns(
        "ecl", [2], {"energy": [1.0, 0.4], "theta": [np.pi / 2, 0.5], "phi": [1.0, -2.0], "r": [150.0, 200.0]}
    )
    t = timing.timeline(EventBatch.build(1, ecl=ecl))
    np.testing.assert_allclose(t.ecl, [150.0 / C, 200.0 / C], rtol=1e-6)
    assert t.ecl[0] == pytest.approx(5.0035, abs=1e-3)


def test_a_cluster_lights_when_its_track_arrives_not_at_light_speed() -> None:
    tracks = _tracks([_muon(ecl_index=0)])
    ecl = Collection.from_columns(
        "ecl", [1], {"energy": [0.2], "theta": [np.pi / 2], "phi": [0.0], "r": [125.0], "time": [-3.0]}
    )
    t = timing.timeline(EventBatch.build(1, tracks=tracks, ecl=ecl), BARREL)
    assert t.ecl[0] == pytest.approx(_expected_arrival(1.0, 0.0, 125.0, M_MU), rel=1e-9)
    assert t.ecl[0] > 125.0 / C  # the cluster's own time column plays no part


def test_klm_hits_come_after_the_calorimeter() -> None:
    tracks = _tracks([_muon(2.0, ecl_index=0, klm_index=0)])
    ecl = Collection.from_columns(
        "ecl", [1], {"energy": [0.2], "theta": [np.pi / 2], "phi": [0.3], "r": [125.0]}
    )
    hit = helix.positions(0.0, 0.3, helix.PT_PER_CURVATURE * 1.5 / 2.0, 0.0, 0.0, 230.0)
    klm = Collection.from_columns("klm", [2], {"x": [hit[0], 0.0], "y": [hit[1], 250.0], "z": [0.0, 0.0]})
    t = timing.timeline(EventBatch.build(1, tracks=tracks, ecl=ecl, klm=klm), BARREL)
    r_hit = float(np.hypot(hit[0], hit[1]))
    assert t.klm[0] == pytest.approx(_expected_arrival(2.0, 0.0, r_hit, M_MU), rel=1e-6)
    assert t.klm[0] > t.ecl[0]
    assert t.klm[1] == pytest.approx(250.0 / C)  # no track points at it: light from the IP
    assert t.duration == pytest.approx(max(t.klm) + timing.MARGIN_NS)


def _k_short_event(pdg_code: int = 310, length: float = 5.0) -> tuple[EventBatch, float]:
    """K_S (1 GeV along x) decaying at x = ``length`` into two pions at right angles to its flight."""
    q = np.sqrt(M_K**2 / 4 - M_PI**2)
    vertex = np.array([length, 0.0, 0.0])
    params = [
        helix.from_cartesian(vertex, np.array([0.5, sign * q, 0.0]), charge)
        for sign, charge in ((1.0, 1.0), (-1.0, -1.0))
    ]
    rows = [
        {"d0": float(d0), "phi0": float(phi0), "omega": float(om), "z0": float(z0), "tan_lambda": float(tl),
         "charge": int(np.sign(om)), "pdg": 211}
        for d0, phi0, om, z0, tl in params
    ]  # fmt: skip
    rows.append(_muon(3.0, phi0=2.0))  # from the primary vertex
    vertices = Collection.from_columns(
        "vertices",
        [2],
        {"x": [0.0, length], "y": [0.0, 0.0], "z": [0.0, 0.0], "kind": [VertexKind.PRIMARY, VertexKind.V0],
         "track_pos": [-1, 0], "track_neg": [-1, 1], "pdg": [0, pdg_code]},
    )  # fmt: skip
    beta = 1.0 / np.hypot(1.0, M_K)  # p = 1 GeV: beta gamma = p / m = 2.01
    return EventBatch.build(1, tracks=_tracks(rows), vertices=vertices), length / (beta * C)


def test_a_k_short_vertex_at_5_cm_appears_after_its_flight_and_its_pions_start_there() -> None:
    ev, expected = _k_short_event()
    t = timing.timeline(ev)
    assert expected == pytest.approx(0.1863, abs=1e-4)
    np.testing.assert_allclose(t.vertices, [0.0, expected], rtol=1e-9)
    np.testing.assert_allclose(t.track_start, [expected, expected, 0.0], rtol=1e-9)
    tracks = ev.tracks
    start = helix.positions(tracks["d0"], tracks["phi0"], tracks["omega"], tracks["z0"], tracks["tan_lambda"],
                            t.track_s0)  # fmt: skip
    np.testing.assert_allclose(start[:2], [[5.0, 0.0, 0.0]] * 2, atol=1e-6)
    # before the vertex is there its pions have not started; afterwards they fly from it
    s_end = geo.track_end_arc_lengths(tracks, geo.ECL_INNER)
    s0, reached = t.track_arcs(0.9 * expected, s_end)
    np.testing.assert_allclose(reached[:2], s0[:2])
    assert reached[2] > 0
    _, later = t.track_arcs(expected + 1.0, s_end)
    pion = np.hypot(np.hypot(0.5, np.sqrt(M_K**2 / 4 - M_PI**2)), M_PI)
    beta_pi = np.sqrt(0.25 + M_K**2 / 4 - M_PI**2) / pion
    np.testing.assert_allclose(later[:2] - s0[:2], beta_pi * C, rtol=1e-9)  # 1 ns of flight, flat


def test_an_unknown_mother_flies_at_its_daughters_invariant_mass() -> None:
    known, expected = _k_short_event(310)
    unknown, _ = _k_short_event(0)
    np.testing.assert_allclose(timing.timeline(unknown).vertices, timing.timeline(known).vertices, rtol=1e-6)
    assert timing.timeline(unknown).vertices[1] == pytest.approx(expected, rel=1e-6)


def test_duration_is_bounded_and_empty_events_have_the_shortest() -> None:
    assert timing.timeline(EventBatch.build(1)).duration == timing.MIN_DURATION_NS
    # a 0.2 GeV deuteron (beta 0.11) curls (R = 44 cm): its one drawn turn takes 88 ns
    slow = EventBatch.build(1, tracks=_tracks([_muon(0.2, pdg=1000010020)]))
    assert timing.timeline(slow).duration == timing.MAX_DURATION_NS
    assert timing.speed(0.0, 0.0) == pytest.approx(C)  # massless at rest: nothing to divide by zero
    np.testing.assert_allclose(timing.path_length(3.0, 0.75), 3.75)


def test_generated_events_have_sensible_timelines() -> None:
    from events.generator import generate, parse_signal

    batch = generate(40, seed=5, signals=[parse_signal("llp:mass=1.0,ctau=5,channel=pipi,fraction=0.3")])
    secondary = 0
    for i in range(len(batch)):
        ev = batch.event(i)
        t = timing.timeline(ev)
        assert timing.MIN_DURATION_NS <= t.duration <= timing.MAX_DURATION_NS
        assert np.all(t.ecl >= 0)
        assert np.all(t.klm >= 0)
        assert np.all(t.track_start >= 0)
        displaced = ev.vertices["kind"] != VertexKind.PRIMARY
        secondary += int(displaced.sum())
        assert np.all(t.vertices[displaced] > 0)
        # nothing reaches the calorimeter (at least 102 cm from the IP) sooner than light would
        assert np.all(t.ecl >= 102.0 / C)
        matched = ev.tracks["ecl_index"] >= 0
        assert np.all(t.ecl[ev.tracks["ecl_index"][matched]] <= t.track_end[matched] + 1e-9)
    assert secondary > 0


def test_the_scene_time_axis_emits_once_per_change() -> None:
    scene = Scene()
    seen: list[float | None] = []
    scene.events.time.connect(seen.append)
    assert scene.time is None
    scene.set_time(2.5)
    scene.set_time(2.5)
    scene.set_time(-1.0)  # no time before the collision
    scene.set_time(None)
    assert seen == [2.5, 0.0, None]
