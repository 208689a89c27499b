"""Phoenix JSON: the HSF format in mm/MeV that the web display opens, and its import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from events import helix, io
from events.model import COLLECTIONS, HEADER, EventBatch


@pytest.fixture(scope="module")
def sample(mdst_sample: Path) -> EventBatch:
    return io.load(mdst_sample)


def test_mdst_to_phoenix_to_batch_preserves_the_event(sample: EventBatch, tmp_path: Path) -> None:
    path = tmp_path / "sample.json"
    assert io.write(path, sample) == 10
    back = io.load(path)
    for name in HEADER:
        np.testing.assert_array_equal(back.header[name], sample.header[name], err_msg=name)
    for coll in ("tracks", "ecl", "klm", "vertices"):
        a, b = getattr(sample, coll), getattr(back, coll)
        np.testing.assert_array_equal(a.offsets, b.offsets)
        for col in COLLECTIONS[coll]:
            np.testing.assert_allclose(
                b[col].astype(np.float64),
                a[col].astype(np.float64),
                rtol=1e-6,
                atol=1e-9,
                err_msg=f"{coll}.{col}",
            )
    assert back.mc.size == 0  # Phoenix has no MC truth type


def test_phoenix_event_has_the_hsf_layout_in_mm_and_mev(sample: EventBatch, tmp_path: Path) -> None:
    path = tmp_path / "sample.json"
    io.write(path, sample)
    data = json.loads(path.read_text())
    assert next(iter(data)) == "Experiment 0/Run 0/Event 1"
    ev = data["Experiment 0/Run 0/Event 1"]
    assert ev["event number"] == 1
    assert ev["run number"] == 0
    tracks = ev["Tracks"]["Tracks"]
    assert len(tracks) == 8
    t0 = tracks[0]
    # basf2: TrackFitResult#0 d0 = -0.00270966 cm, z0 = -0.0205009 cm, charge -1
    assert t0["d0"] == pytest.approx(-0.0270966, rel=1e-5)
    assert t0["z0"] == pytest.approx(-0.205009, rel=1e-5)
    assert t0["charge"] == -1
    assert t0["dparams"][4] < 0  # q/p
    pos = np.array(t0["pos"]) / 10.0  # mm -> cm: points lie on the helix
    tr = sample.event(0).tracks
    s = (pos[:, 2] - tr["z0"][0]) / tr["tan_lambda"][0]  # arc length of each point from its z
    expected = helix.positions(
        tr["d0"][0], tr["phi0"][0], tr["omega"][0], tr["z0"][0], tr["tan_lambda"][0], s
    )
    np.testing.assert_allclose(pos, expected, atol=0.01)  # 0.1 mm: the points are rounded to 1 um
    cluster = ev["CaloClusters"]["ECLClusters"][0]
    e0 = sample.event(0).ecl
    assert cluster["energy"] == pytest.approx(float(e0["energy"][0]) * 1000.0)
    assert np.hypot(cluster["radius"], cluster["z"]) == pytest.approx(float(e0["r"][0]) * 10.0, rel=1e-6)
    v0 = ev["Vertices"]["V0s"][0]
    assert v0["linkedTracks"] == [1, 2]
    assert v0["vertexType"] == "V0"
    assert ev["Hits"]["KLMClusters"][0]["type"] == "Point"
    assert "NaN" not in path.read_text()  # strict JSON


def test_foreign_phoenix_tracks_are_rebuilt_from_dparams(tmp_path: Path) -> None:
    pt, theta, charge = 1.2, 1.0, 1
    p_mev = pt / np.sin(theta) * 1000.0
    event = {
        "event number": 7,
        "run number": 3,
        "Tracks": {
            "ID": [{"dparams": [1.0, -5.0, 0.4, theta, charge / p_mev], "pos": [[0, 0, 0]]}, {"pos": []}]
        },
        "CaloClusters": {
            "Clusters": [{"energy": 2500.0, "phi": 0.1, "eta": 0.5, "radius": 1500.0, "z": 800.0}]
        },
        "Vertices": {"PV": [{"pos": [0.1, 0.2, 3.0]}]},
    }
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps({"Event 7": event}))
    source = io.open_events(path)
    batch = source.read()
    t = batch.tracks
    assert t.size == 1  # the second track has no helix at all: dropped and counted
    assert source.dropped_tracks == 1
    assert t["d0"][0] == pytest.approx(0.1)
    assert t["z0"][0] == pytest.approx(-0.5)
    assert helix.transverse_momentum(t["omega"][0], batch.header["bz"][0]) == pytest.approx(pt)
    assert t["charge"][0] == 1
    assert t["tan_lambda"][0] == pytest.approx(1 / np.tan(theta))
    e = batch.ecl
    assert e["energy"][0] == pytest.approx(2.5)
    assert e["theta"][0] == pytest.approx(2 * np.arctan(np.exp(-0.5)))
    assert e["r"][0] == pytest.approx(np.hypot(150.0, 80.0))
    assert batch.vertices["z"][0] == pytest.approx(0.3)
    assert batch.header["event"].tolist() == [7]
