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


def _assert_identical(a: EventBatch, b: EventBatch) -> None:
    """The same events, column by column, dtype included."""
    assert_batches_equal(a, b)
    for name in a.header:
        assert a.header[name].dtype == b.header[name].dtype, name
    for coll, ca in a.collections().items():
        for name, values in ca.columns.items():
            assert values.dtype == getattr(b, coll)[name].dtype, f"{coll}.{name}"
            assert values.shape == getattr(b, coll)[name].shape, f"{coll}.{name}"


def _old_ntuple(path: Path, parts: list[EventBatch], compression: object) -> None:
    """An ntuple as this program wrote them before baskets were sized: one basket per batch."""
    with uproot.recreate(path, compression=compression) as f:
        tree = f.mktree(rootio.TREE, rootio._tree_data(parts[0]), title=rootio.TITLE)
        for part in parts[1:]:
            tree.extend(rootio._tree_data(part))


def test_the_writer_cuts_baskets_of_a_fixed_size_whatever_the_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rootio, "BASKET_EVENTS", 64)
    batch = random_batch(300, seed=4)
    path = tmp_path / "events.root"
    pieces = [batch.slice(0, 10), batch.slice(10, 200), batch.slice(200, 201), batch.slice(201, 300)]
    assert rootio.write(path, pieces) == 300
    tree = uproot.open(path)[rootio.TREE]
    for name in ("event", "ntracks", "tracks_cov_14", "mc_px"):
        assert tree[name].entry_offsets == [0, 64, 128, 192, 256, 300], name
    _assert_identical(io.load(path), batch)
    assert rootio.write(path, pieces, basket_events=1000) == 300  # for files only read whole
    assert uproot.open(path)[rootio.TREE]["mc_px"].entry_offsets == [0, 300]
    _assert_identical(io.load(path), batch)


def test_single_events_are_read_basket_by_basket_exactly_as_uproot_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each basket of every branch is read from the file once, then comes from the cache; every
    event, and every range across basket boundaries, equals uproot's own read of those entries."""
    monkeypatch.setattr(rootio, "BASKET_EVENTS", 100)
    path = tmp_path / "events.root"
    batch = random_batch(450, seed=11)
    rootio.write(path, [batch.slice(0, 170), batch.slice(170, 450)])
    source = io.open_events(path)
    assert isinstance(source, rootio.NtupleSource)
    _assert_identical(source.event(0), batch.event(0))
    assert source._baskets is not None
    reads: list[int] = []
    original = source._baskets.read

    def counted(k: int) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
        reads.append(k)
        return original(k)

    source._baskets.read = counted  # type: ignore[method-assign]
    for i in [1, 99, 100, 101, 449, 5, 250, 399, 400]:
        one = source.read(i, i + 1)
        _assert_identical(one, batch.slice(i, i + 1))
        _assert_identical(one, source._read_entries(i, i + 1))  # uproot's tree.arrays
    assert sorted(reads) == [1, 2, 3, 4]  # basket 0 before counting; each basket once
    _assert_identical(source.read(90, 310), batch.slice(90, 310))  # four baskets, from the cache
    assert sorted(reads) == [1, 2, 3, 4]
    assert source._direct
    monkeypatch.setattr(rootio, "BLOCK_EVENTS", 150)  # larger reads: decoded, not cached
    cached = dict(source._blocks)
    _assert_identical(source.read(), batch)
    _assert_identical(source.read(30, 420), batch.slice(30, 420))
    assert reads[4:] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    assert source._blocks == cached


def test_the_basket_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootio, "BASKET_EVENTS", 50)
    path = tmp_path / "events.root"
    batch = random_batch(400, seed=2)
    rootio.write(path, [batch])
    source = io.open_events(path)
    assert isinstance(source, rootio.NtupleSource)
    source.event(0)
    one_block = source._cached_bytes
    monkeypatch.setattr(rootio, "CACHE_BYTES", 3 * one_block)
    for i in range(0, 400, 50):
        _assert_identical(source.event(i), batch.event(i))
        assert source._cached_bytes <= 3 * one_block * 1.5
        assert len(source._blocks) <= 4
    source.close()
    assert not source._blocks
    assert source._cached_bytes == 0


@pytest.mark.parametrize("compression", ["zlib", "lz4", "lzma"])
def test_old_ntuples_with_large_baskets_still_read_exactly(tmp_path: Path, compression: str) -> None:
    parts = [random_batch(300, seed) for seed in (5, 6)]
    path = tmp_path / "old.root"
    codec = {"zlib": uproot.ZLIB(1), "lz4": uproot.LZ4(1), "lzma": uproot.LZMA(1)}[compression]
    _old_ntuple(path, parts, codec)
    everything = EventBatch.concat(parts)
    source = io.open_events(path)
    assert isinstance(source, rootio.NtupleSource)
    for i in (0, 299, 300, 599, 17):
        _assert_identical(source.event(i), everything.event(i))
    # ZLIB and LZ4 baskets are read straight from the file; others through uproot, the same events
    assert source._direct == (compression != "lzma")
    _assert_identical(source.read(), everything)


def test_a_damaged_basket_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.root"
    batch = random_batch(60, seed=8)
    rootio.write(path, [batch])
    tree = uproot.open(path)[rootio.TREE]
    seek = int(tree["tracks_d0"].member("fBasketSeek")[0])
    size = int(tree["tracks_d0"].member("fBasketBytes")[0])
    data = bytearray(path.read_bytes())
    data[seek + size - 5] ^= 0xFF  # near its end: the payload (checksum) or the entry offsets
    path.write_bytes(bytes(data))
    source = io.open_events(path)
    with pytest.raises(
        io.EventFileError, match=r"events\.root: cannot read entries 3:4 .*basket of tracks_d0"
    ) as caught:
        source.event(3)
    assert "\n" not in str(caught.value)
