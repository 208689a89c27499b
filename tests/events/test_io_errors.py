"""Bad input: every broken file gives an EventFileError naming the file and the problem, never a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from events import io
from events.model import Collection, EventBatch
from tests.events.test_hdf5 import random_batch


def _helix_batch(helices: list[list[float]], counts: list[int]) -> EventBatch:
    h = np.array(helices, dtype=np.float64).reshape(-1, 5)
    names = ("d0", "phi0", "omega", "z0", "tan_lambda")
    tracks = Collection.from_columns("tracks", counts, {n: h[:, k] for k, n in enumerate(names)})
    vertices = Collection.from_columns(
        "vertices", [1] + [0] * (len(counts) - 1), {"track_pos": [0], "track_neg": [2]}
    )
    return EventBatch.build(len(counts), {"event": np.arange(len(counts))}, tracks=tracks, vertices=vertices)


def test_missing_empty_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(io.EventFileError, match=r"nothing\.h5: no such file"):
        io.open_events(tmp_path / "nothing.h5")
    (tmp_path / "empty.root").write_bytes(b"")
    with pytest.raises(io.EventFileError, match=r"empty\.root: the file is empty"):
        io.open_events(tmp_path / "empty.root")
    (tmp_path / "events.csv").write_text("1,2,3\n")
    with pytest.raises(io.EventFileError, match=r"events\.csv: unknown file type '\.csv'"):
        io.open_events(tmp_path / "events.csv")
    with pytest.raises(io.EventFileError, match=r"cannot write '\.txt'"):
        io.write(tmp_path / "out.txt", random_batch(1))


@pytest.mark.parametrize("fraction", [0.3, 0.8])
def test_truncated_mdst_gives_a_clear_error(mdst_sample: Path, tmp_path: Path, fraction: float) -> None:
    cut = tmp_path / "cut.root"
    data = mdst_sample.read_bytes()
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(io.EventFileError, match=r"cut\.root: .*(truncated|corrupted)"):
        io.load(cut)


def test_corrupted_mdst_gives_a_clear_error(mdst_sample: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.root"
    data = bytearray(mdst_sample.read_bytes())
    rng = np.random.default_rng(1)
    for pos in rng.integers(2000, len(data) - 2000, 400):  # scramble bytes inside the compressed baskets
        data[pos] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(io.EventFileError, match=r"bad\.root: "):
        io.load(bad)


def test_root_file_without_an_mdst_or_ntuple_tree(tmp_path: Path) -> None:
    path = tmp_path / "other.root"
    with uproot.recreate(path) as f:
        f.mktree("hits", {"x": np.arange(5.0)})
        f.mktree("tree", {"energy": np.arange(5.0)})  # named like mdst but holding nothing of it
    holds = r"hits \(a TTree\), tree \(a TTree\)"
    with pytest.raises(io.EventFileError, match=rf"other\.root: neither a Belle II mdst file .*{holds}"):
        io.open_events(path)


def test_mdst_with_missing_branches_reads_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "partial.root"
    with uproot.recreate(path) as f:
        f.mktree("tree", {"Tracks": ak.Array([[1, 2], [3]]), "TrackFitResults": ak.Array([[0.5], []])})
    source = io.open_events(path)
    batch = source.read()
    assert len(batch) == 2
    assert batch.tracks.size == 0
    assert batch.header["event"].tolist() == [0, 1]
    assert any("no ecl, klm, mc, tracks, vertices" in line for line in source.issues)
    assert any("numbered by entry" in line for line in source.issues)


@pytest.mark.parametrize("suffix", [".h5", ".root", ".json"])
def test_nan_and_inf_helices_are_dropped_and_counted(tmp_path: Path, suffix: str) -> None:
    good = [0.01, 0.3, 0.004, 0.1, 0.2]
    batch = _helix_batch([good, [np.nan, 0.3, 0.004, 0.1, 0.2], good, [0.0, 0.1, np.inf, 0.0, 0.1]], [3, 1])
    path = tmp_path / f"nan{suffix}"
    io.write(path, batch)
    source = io.open_events(path)
    back = source.read()
    assert back.tracks.counts.tolist() == [2, 0]
    assert np.isfinite(back.tracks["omega"]).all()
    assert source.dropped_tracks == 2
    assert source.issues == ["dropped 2 track(s) with a NaN or infinite helix (events 0, 1)"]
    # the vertex's daughters follow the surviving tracks: old track 2 is now track 1
    assert back.vertices["track_pos"].tolist() == [0]
    assert back.vertices["track_neg"].tolist() == [1]


@pytest.mark.parametrize("suffix", [".h5", ".root", ".json"])
def test_empty_event_and_ten_thousand_track_event(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(3)
    n = 10_000
    omega = rng.choice([-1, 1], n) * rng.uniform(1e-3, 1e-2, n)
    phi0 = rng.uniform(-np.pi, np.pi, n)
    helices = np.column_stack([rng.normal(0, 0.1, n), phi0, omega, rng.normal(0, 1, n), rng.normal(0, 1, n)])
    big = _helix_batch(helices.tolist(), [0, n])
    path = tmp_path / f"big{suffix}"
    io.write(path, big)
    source = io.open_events(path)
    assert source.event(0).tracks.size == 0
    assert source.event(1).tracks.size == n
    np.testing.assert_allclose(source.event(1).tracks["omega"], helices[:, 2], rtol=1e-12)
    assert any("has 10000 tracks" in line for line in source.issues)


def test_bad_phoenix_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"Event 1": {"Tracks": ')
    with pytest.raises(io.EventFileError, match=r"bad\.json: not valid JSON \(line 1"):
        io.open_events(path)
    path.write_text("[1, 2, 3]")
    with pytest.raises(io.EventFileError, match="not a Phoenix event file"):
        io.open_events(path)


def test_event_index_out_of_range_is_a_file_error(mdst_sample: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.root"
    shutil.copy(mdst_sample, copy)
    with pytest.raises(
        io.EventFileError, match=r"copy\.root: event index 12 out of range: the file holds 10"
    ):
        io.open_events(copy).event(12)
