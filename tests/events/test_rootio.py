"""The ROOT ntuple: exact round trips, branch naming for other readers, content sniffing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from events import io, rootio
from events.model import EventBatch
from tests.events.test_hdf5 import assert_batches_equal, random_batch


def test_mdst_to_root_to_batch_is_exact(mdst_sample: Path, tmp_path: Path) -> None:
    sample = io.load(mdst_sample)
    path = tmp_path / "sample.root"
    assert io.write(path, sample) == 10
    source = io.open_events(path)
    assert isinstance(source, rootio.NtupleSource)  # told apart from mdst by content
    assert_batches_equal(source.read(), sample)


def test_batches_are_appended_and_read_back_in_ranges(tmp_path: Path) -> None:
    parts = [random_batch(40, seed) for seed in range(3)]
    path = tmp_path / "events.root"
    io.write(path, iter(parts))
    source = io.open_events(path)
    assert len(source) == 120
    everything = EventBatch.concat(parts)
    assert_batches_equal(source.read(), everything)
    assert_batches_equal(source.read(55, 70), everything.slice(55, 70))
    assert_batches_equal(source.event(-1), everything.event(119))


def test_branch_names_are_what_plain_uproot_sees(mdst_sample: Path, tmp_path: Path) -> None:
    sample = io.load(mdst_sample)
    path = tmp_path / "sample.root"
    io.write(path, sample)
    tree = uproot.open(path)["events"]
    assert tree.title == rootio.TITLE
    arrays = tree.arrays(
        [
            rootio.branch_name("header", "event"),
            rootio.counter_name("tracks"),
            rootio.branch_name("tracks", "omega"),
            rootio.branch_name("ecl", "energy"),
            *rootio.branch_names("tracks", "cov"),
        ],
        library="np",
    )
    assert arrays["event"].tolist() == list(range(1, 11))
    assert arrays["ntracks"].tolist() == sample.tracks.counts.tolist()
    np.testing.assert_array_equal(np.concatenate(arrays["tracks_omega"]), sample.tracks["omega"])
    np.testing.assert_array_equal(np.concatenate(arrays["ecl_energy"]), sample.ecl["energy"])
    cov = np.stack([np.concatenate(arrays[f"tracks_cov_{k}"]) for k in range(15)], axis=-1)
    np.testing.assert_array_equal(cov, sample.tracks["cov"])
    assert rootio.branch_names("tracks", "pid_logl")[-1] == "tracks_pid_logl_5"
    with pytest.raises(KeyError, match="use branch_names"):
        rootio.branch_name("tracks", "cov")


def test_uproot_dask_reads_the_ntuple(tmp_path: Path) -> None:
    path = tmp_path / "events.root"
    batch = random_batch(30)
    io.write(path, batch)
    lazy = uproot.dask({str(path): "events"}, filter_name=[rootio.branch_name("tracks", "omega")])
    omega = lazy[rootio.branch_name("tracks", "omega")].compute()
    np.testing.assert_array_equal(np.concatenate(omega.to_list()), batch.tracks["omega"])


def test_newer_schema_or_missing_branches_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {"event": np.arange(3)}, title=f"{rootio.FORMAT} schema 7")
    with pytest.raises(io.EventFileError, match=r"future\.root: .*schema version 7, newer"):
        io.open_events(path)
    path = tmp_path / "thin.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {"event": np.arange(3)}, title=rootio.TITLE)
    with pytest.raises(io.EventFileError, match=r"thin\.root: tree 'events' lacks branches experiment, run"):
        io.open_events(path)


def test_single_events_come_from_cached_basket_blocks_exactly_as_a_direct_read(tmp_path: Path) -> None:
    """Stepping through an ntuple reads each block of baskets once; every event equals a direct read."""
    path = tmp_path / "events.root"
    batch = random_batch(900, seed=11)
    rootio.write(path, [batch.slice(0, 300), batch.slice(300, 650), batch.slice(650, 900)])  # 3 baskets
    source = io.open_events(path)
    assert isinstance(source, rootio.NtupleSource)
    reads: list[tuple[int, int]] = []
    original = source._read_entries

    def counted(start: int, stop: int) -> EventBatch:
        reads.append((start, stop))
        return original(start, stop)

    source._read_entries = counted  # type: ignore[method-assign]
    for i in [0, 1, 299, 300, 301, 649, 650, 899, 5, 400]:
        assert_batches_equal(source.read(i, i + 1), batch.slice(i, i + 1))
    assert reads == [(0, 300), (300, 650), (650, 900)]  # one read per basket, then from the cache
    assert len(source._blocks) == rootio.KEEP_BLOCKS
    assert_batches_equal(source.read(290, 310), batch.slice(290, 310))
    assert reads[-1] == (290, 310)  # across a basket boundary: read directly
