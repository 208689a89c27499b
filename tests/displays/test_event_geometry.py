"""Pure arrays of the event overlay: connect arrays, colours, extents, ellipses, projections."""

from __future__ import annotations

import numpy as np
import pytest

from displays import event_geometry as geo
from events import helix
from events.model import Collection, VertexKind


def _tracks(omega, phi0=None, tan_lambda=None, charge=None) -> Collection:
    omega = np.asarray(omega, dtype=float)
    n = len(omega)
    return Collection.from_columns(
        "tracks",
        [n],
        {
            "d0": np.zeros(n),
            "phi0": np.zeros(n) if phi0 is None else phi0,
            "omega": omega,
            "z0": np.zeros(n),
            "tan_lambda": np.zeros(n) if tan_lambda is None else tan_lambda,
            "charge": np.sign(omega).astype(int) if charge is None else charge,
        },
    )


def test_connect_array_never_joins_two_tracks() -> None:
    t = _tracks([0.001, -0.002, 0.003])
    lines = geo.track_polylines(t, "3d", geo.track_colors(t, "charge"), n_points=10)
    assert lines.pos.shape == (30, 3)
    assert lines.connect.shape == (30,)
    assert not lines.connect[[9, 19, 29]].any()
    assert lines.connect.sum() == 27


def test_colours_follow_charge_pid_and_momentum() -> None:
    t = _tracks([0.001, -0.001, 0.004])
    c = geo.track_colors(t, "charge")
    np.testing.assert_allclose(c[0], geo.CHARGE_COLORS[1])
    np.testing.assert_allclose(c[1], geo.CHARGE_COLORS[-1])
    logl = np.full((3, 6), -10.0, np.float32)
    logl[0, 1] = -1  # muon
    logl[1, 3] = -1  # kaon
    logl[2] = np.nan
    pid = Collection.from_columns("tracks", [3], {**{k: t[k] for k in ("omega", "phi0")}, "pid_logl": logl})
    cp = geo.track_colors(pid, "pid")
    np.testing.assert_allclose(cp, [geo.PID_COLORS[1], geo.PID_COLORS[3], geo.UNKNOWN_PID])
    cm = geo.track_colors(t, "momentum")  # pT 4.5, 4.5, 1.1 GeV: the softer track is darker
    assert cm[0].sum() > cm[2].sum()
    with pytest.raises(ValueError, match="unknown colour mode"):
        geo.track_colors(t, "rainbow")  # type: ignore[arg-type]


def test_tracks_stop_at_the_extent_and_curlers_close() -> None:
    # pT 2 GeV leaves; pT 0.1 GeV (R = 22 cm) curls inside the CDC and is drawn for one turn
    om = helix.PT_PER_CURVATURE * 1.5 / np.array([2.0, 0.1])
    t = _tracks(om)
    lines = geo.track_polylines(t, "3d", geo.track_colors(t, "charge"), geo.CDC_OUTER_WALL, n_points=200)
    r = np.hypot(lines.pos[:, 0], lines.pos[:, 1]).reshape(2, 200)
    assert r[0, -1] == pytest.approx(geo.CDC_OUTER_WALL.r, rel=1e-4)
    assert r[1].max() == pytest.approx(2 / om[1], rel=1e-3)  # diameter of the curler
    assert r[1, -1] == pytest.approx(0.0, abs=1e-3)  # back at the perigee after a full turn


def test_tracks_stop_at_the_endcap_plane() -> None:
    t = _tracks([1e-4], tan_lambda=[3.0])
    lines = geo.track_polylines(t, "3d", geo.track_colors(t, "charge"))
    assert lines.pos[-1, 2] == pytest.approx(geo.ECL_INNER.z_max, rel=1e-5)


def test_growth_trims_every_track() -> None:
    t = _tracks([0.002, -0.004])
    full = geo.track_polylines(t, "rphi", geo.track_colors(t, "charge"), n_points=16)
    half = geo.track_polylines(t, "rphi", geo.track_colors(t, "charge"), growth=0.5, n_points=16)
    assert half.pos.shape == full.pos.shape
    r_full = np.hypot(*full.pos[:, :2].T).reshape(2, 16)[:, -1]
    r_half = np.hypot(*half.pos[:, :2].T).reshape(2, 16)[:, -1]
    assert (r_half < r_full).all()
    none = geo.track_polylines(t, "rphi", geo.track_colors(t, "charge"), growth=0.0, n_points=16)
    np.testing.assert_allclose(none.pos, 0.0, atol=1e-9)


def test_rz_projection_keeps_each_track_on_one_side() -> None:
    t = _tracks([0.004, 0.004], phi0=[np.pi / 2, -np.pi / 2], tan_lambda=[0.5, -0.5])
    lines = geo.track_polylines(t, "rz", geo.track_colors(t, "charge"), n_points=20)
    y = lines.pos[:, 1].reshape(2, 20)
    assert (y[0, 1:] > 0).all()
    assert (y[1, 1:] < 0).all()
    np.testing.assert_allclose(lines.pos[:, 2], 0.0)
    assert lines.pos[19, 0] > 0 > lines.pos[39, 0]  # z forward / backward


def test_towers_are_coloured_by_energy_on_a_log_scale() -> None:
    ecl = Collection.from_columns(
        "ecl",
        [3],
        {"energy": [0.01, 0.1, 10.0], "theta": [1.0, 1.5, 2.0], "phi": [0.0, 1.0, -2.0], "r": [140.0] * 3},
    )
    verts, faces, colors = geo.tower_mesh(ecl, "3d")
    assert verts.shape == (24, 3)
    assert faces.shape == (36, 3)
    assert faces.max() == 23
    np.testing.assert_allclose(colors[0], geo.ENERGY_ANCHOR_COLORS[0], atol=1e-6)
    np.testing.assert_allclose(colors[-1], geo.ENERGY_ANCHOR_COLORS[-1], atol=1e-6)
    # every corner lies at or beyond the cluster radius along its direction
    u = geo.ecl_directions(ecl)
    along = np.einsum("nkj,nj->nk", verts.reshape(3, 8, 3), u)
    assert (along >= 140.0 - 1e-3).all()
    assert along.max(axis=1) == pytest.approx(
        140.0 + geo.tower_lengths(np.array([0.01, 0.1, 10.0])), rel=1e-5
    )


def test_error_ellipses_have_the_covariance_axes() -> None:
    v = Collection.from_columns(
        "vertices",
        [2],
        {
            "x": [1.0, 5.0],
            "y": [2.0, 0.0],
            "z": [3.0, 0.0],
            "kind": [VertexKind.V0, VertexKind.DISPLACED],
            "cov": [[0.04, 0, 0, 0.01, 0, 0.09], [np.nan] * 6],
        },
    )
    pos, connect, owner = geo.error_ellipses(v, "3d", n_sigma=1.0, n_points=33)
    assert (owner == 0).all()  # the vertex without covariance has no ellipsoid
    d = pos - np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.abs(d).max(axis=0), [0.2, 0.1, 0.3], rtol=1e-3)
    assert connect.sum() == 3 * 32
    flat, _, _ = geo.error_ellipses(v, "rphi", n_sigma=2.0)
    np.testing.assert_allclose(np.abs(flat[:, :2] - [1.0, 2.0]).max(axis=0), [0.4, 0.2], rtol=1e-3)
    fl, fc = geo.flight_lines(v, "3d", n_points=8)
    assert fl.shape == (16, 3)
    np.testing.assert_allclose(fl[7], [1.0, 2.0, 3.0])  # IP -> vertex (no primary in this event)
    assert fc[::2][:-1].all()
    assert not fc[1::2].any()


def test_mc_overlay_draws_final_state_from_the_production_point() -> None:
    mc = Collection.from_columns(
        "mc",
        [3],
        {
            "pdg": [310, 211, 22],
            "mother": [-1, 0, -1],
            "px": [1.0, 0.5, 0.0],
            "py": [0.0, 0.2, 1.0],
            "pz": [0.0, 0.1, 0.0],
            "vx": [0.0, 4.0, 0.0],
            "vy": [0.0, 0.0, 0.0],
            "vz": [0.0, 0.0, 0.0],
        },
    )
    lines, sel = geo.mc_polylines(mc, "3d", 1.5, n_points=8)
    np.testing.assert_array_equal(sel, [1, 2])  # the K_S decayed: only its pion and the photon
    np.testing.assert_allclose(lines.pos[0], [4.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lines.pos[15], [0.0, geo.ECL_INNER.r, 0.0], atol=1e-4)
