"""``histogram -o`` and ``generate -o`` never destroy data: not the run's input, not an HDF5 event store,
a bad output checked before the fill; a file with nothing to fill is said so with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import uproot

from events import io
from tests.conftest import run_main
from tests.events.test_hdf5 import random_batch


def _ntuple(tmp_path: Path) -> Path:
    path = tmp_path / "nt.root"
    done = run_main("generate", "-n", "200", "-o", str(path), "--seed", "1")
    assert done.returncode == 0, done.stderr
    return path


def test_histogram_never_overwrites_its_own_input(tmp_path: Path) -> None:
    ntuple = _ntuple(tmp_path)
    before = ntuple.read_bytes()
    done = run_main("histogram", str(ntuple), "--backend", "numpy", "-o", str(ntuple))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"histogram: {ntuple}: is also an input of this run ({ntuple}); writing it would destroy "
        "that input: choose another output name"
    )
    assert "events/s" not in done.stderr  # refused before the fill
    assert ntuple.read_bytes() == before
    assert len(io.load(ntuple)) == 200


def test_histogram_never_writes_over_an_event_store_or_into_a_missing_folder(tmp_path: Path) -> None:
    ntuple = _ntuple(tmp_path)
    store = tmp_path / "events.h5"
    io.write(store, random_batch(5))
    disguised = tmp_path / "store.root"  # an HDF5 event store under a ROOT name
    io.write(tmp_path / "other.h5", random_batch(5))
    (tmp_path / "other.h5").rename(disguised)
    for out, message in [
        (store, "histograms are written as ROOT; give a name ending in .root"),
        (disguised, "already holds an HDF5 file; this writes a ROOT file: refusing to replace it"),
        (tmp_path / "nowhere" / "h.root", "the folder"),
    ]:
        before = out.read_bytes() if out.exists() else None
        done = run_main("histogram", str(ntuple), "--backend", "numpy", "-o", str(out))
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"histogram: {out}: "), done.stderr
        assert message in done.stderr
        assert "events/s" not in done.stderr  # before the fill
        assert (out.read_bytes() if out.exists() else None) == before
    assert len(io.load(store)) == 5


def test_histogram_of_a_file_without_track_leaves_says_so_and_fails(tmp_path: Path) -> None:
    partial = tmp_path / "partial.root"
    with uproot.recreate(partial) as f:
        f.mktree("tree", {"Tracks": ak.Array([[1, 2], [3]]), "TrackFitResults": ak.Array([[0.5], []])})
    out = tmp_path / "h.root"
    done = run_main("histogram", str(partial), "--backend", "numpy", "-o", str(out))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    missing = "no ecl, klm, mc, tracks, vertices in this mdst file (leaves missing)"
    assert f"histogram: {partial}: {missing}" in done.stderr
    assert f"nothing could be filled: no file holds ecl, tracks; {out} not written" in done.stderr
    assert not out.exists()


def test_histogram_writes_next_to_a_previous_result(tmp_path: Path) -> None:
    ntuple = _ntuple(tmp_path)
    out = tmp_path / "h.root"
    for _ in range(2):  # the second run replaces the first's ROOT file (same kind)
        done = run_main("histogram", str(ntuple), "--backend", "numpy", "-o", str(out))
        assert done.returncode == 0, done.stderr
    assert "zprime_recoil_mass" in {k.split(";")[0] for k in uproot.open(out)}
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_generate_never_replaces_a_file_of_another_kind(tmp_path: Path) -> None:
    store = tmp_path / "events.root"
    io.write(tmp_path / "e.h5", random_batch(5))
    (tmp_path / "e.h5").rename(store)
    before = store.read_bytes()
    done = run_main("generate", "-n", "50", "-o", str(store))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"generate: {store}: already holds an HDF5 file; this writes a ROOT file: refusing to replace it "
        "(choose another name, or remove the file first)"
    )
    assert store.read_bytes() == before
