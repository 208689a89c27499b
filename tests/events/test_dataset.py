"""Data sets over real files: the sample store, files written here in every writable format, and the
Belle II mdst; global indices, reads across file boundaries, damaged files skipped and named."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from events import io
from events.dataset import DataSet, expand, open_dataset
from events.generator import samples
from events.hdf5 import HDF5Source
from events.model import COLLECTIONS, EventBatch
from events.source import EventFileError, location_name


def assert_same_events(a: EventBatch, b: EventBatch) -> None:
    assert len(a) == len(b)
    for key in a.header:
        np.testing.assert_array_equal(a.header[key], b.header[key], err_msg=f"header.{key}")
    for name in COLLECTIONS:
        ca, cb = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(ca.offsets, cb.offsets, err_msg=f"{name}.offsets")
        for key in ca.columns:
            np.testing.assert_array_equal(ca[key], cb[key], err_msg=f"{name}.{key}")


@pytest.fixture(scope="module")
def sample() -> EventBatch:
    return io.load(samples.SAMPLE)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, sample: EventBatch, mdst_sample: Path) -> Path:
    """Five files of four formats: a1.h5 (40), a2.root ntuple (25), a3.json Phoenix (7), a4.root mdst (10),
    a5.h5 (60), plus a file that is no event file."""
    out = tmp_path_factory.mktemp("dataset")
    io.write(out / "a1.h5", sample.slice(0, 40))
    io.write(out / "a2.root", [sample.slice(40, 50), sample.slice(50, 65)])
    io.write(out / "a3.json", sample.slice(65, 72))
    shutil.copy(mdst_sample, out / "a4.root")
    io.write(out / "a5.h5", sample.slice(72, 132))
    (out / "notes.txt").write_text("not events\n")
    return out


FILES = ("a1.h5", "a2.root", "a3.json", "a4.root", "a5.h5")
LENGTHS = (40, 25, 7, 10, 60)


def _per_file(folder: Path) -> list[EventBatch]:
    return [io.load(folder / name) for name in FILES]


def test_a_folder_is_every_event_file_inside_sorted(folder: Path) -> None:
    with open_dataset(folder) as data:
        assert [location_name(p) for p in data.files] == list(FILES)
        assert len(data) == sum(LENGTHS)
        assert data.offsets.tolist() == np.concatenate(([0], np.cumsum(LENGTHS))).tolist()
        assert data.issues == []


def test_a_glob_a_list_and_one_file_open_the_same_events(folder: Path) -> None:
    with open_dataset(str(folder / "a*.h5")) as data:
        assert [location_name(p) for p in data.files] == ["a1.h5", "a5.h5"]
        assert len(data) == 100
    with open_dataset([folder / "a5.h5", folder / "a1.h5"]) as data:  # a list keeps its order
        assert [location_name(p) for p in data.files] == ["a5.h5", "a1.h5"]
        assert data.event(0).event_id() == io.load(folder / "a5.h5").event_id(0)
    with open_dataset(folder / "a3.json") as data:
        assert len(data) == 7
    assert expand([folder / "a1.h5", str(folder / "a1.h5"), str(folder / "a?.h5")]) == [
        folder / "a1.h5",
        folder / "a5.h5",
    ]


def test_reads_spanning_file_boundaries_equal_the_files_read_one_by_one(folder: Path) -> None:
    whole = EventBatch.concat(_per_file(folder))
    with open_dataset(folder, max_open=2) as data:
        for start, stop in [(0, 142), (35, 45), (60, 80), (64, 73), (71, 72), (38, 110), (0, 1), (141, 142)]:
            assert_same_events(data.read(start, stop), whole.slice(start, stop))
        assert data.open_files <= 2
        assert len(data.read(130, 10_000)) == 12  # clipped like a file
        assert len(data.read(142, 142)) == 0
        with pytest.raises(EventFileError, match="outside"):
            data.read(-1, 3)


def test_global_index_maps_to_file_and_local_index(folder: Path) -> None:
    per_file = _per_file(folder)
    with open_dataset(folder) as data:
        starts = np.concatenate(([0], np.cumsum(LENGTHS)))
        for k, name in enumerate(FILES):
            assert data.locate(int(starts[k])) == (folder / name, 0)
            assert data.locate(int(starts[k + 1]) - 1) == (folder / name, LENGTHS[k] - 1)
        assert data.locate(-1) == (folder / "a5.h5", 59)
        for i in (0, 39, 40, 64, 65, 71, 72, 81, 82, 141):
            path, local = data.locate(i)
            assert data.event(i).event_id() == per_file[FILES.index(location_name(path))].event_id(local)
        with pytest.raises(EventFileError, match="out of range"):
            data.locate(142)


def test_scan_visits_every_event_once_in_bounded_chunks(folder: Path) -> None:
    with open_dataset(folder, max_open=1) as data:
        chunks = list(data.scan(16))
        assert all(len(c.batch) <= 16 for c in chunks)
        index = np.concatenate([c.index for c in chunks])
        assert index.tolist() == list(range(len(data)))
        assert_same_events(EventBatch.concat([c.batch for c in chunks]), data.read())
        assert data.open_files == 1


def test_a_damaged_file_in_the_middle_is_skipped_and_named(folder: Path, tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(folder / name, tmp_path / name)
    damaged = tmp_path / "a3.root"  # an ntuple cut off halfway, between a2 and a4
    data_bytes = (folder / "a2.root").read_bytes()
    damaged.write_bytes(data_bytes[: len(data_bytes) // 2])
    cut_h5 = tmp_path / "a45.h5"
    h5_bytes = (folder / "a5.h5").read_bytes()
    cut_h5.write_bytes(h5_bytes[: len(h5_bytes) // 3])
    with open_dataset(tmp_path) as data:
        assert [location_name(p) for p in data.files] == list(FILES)  # a3.root and a45.h5 left out
        assert len(data) == sum(LENGTHS)
        assert len(data.issues) == 2
        assert data.issues[0].startswith(f"{damaged}: ")  # one line, naming the file first
        assert data.issues[1].startswith(f"{cut_h5}: ")
        assert data.left_out == [damaged, cut_h5]
        assert "truncated" in data.issues[0]
        assert all("truncated" in line or "corrupted" in line for line in data.issues)
        index = np.concatenate([c.index for c in data.scan(50)])
        assert len(index) == sum(LENGTHS)


def test_a_file_failing_while_read_is_recorded_once_and_scan_goes_on(folder: Path, tmp_path: Path) -> None:
    paths = [folder / "a1.h5", tmp_path / "late.h5", folder / "a5.h5"]
    shutil.copy(folder / "a1.h5", paths[1])
    with open_dataset(paths) as data:
        data.close()
        with h5py.File(paths[1], "a") as f:  # offsets that point past the data: found only when read
            f["tracks/offsets"][-1] = 10**9
        index = np.concatenate([c.index for c in data.scan(15)])
        assert len(data.issues) == 1
        assert str(paths[1]) in data.issues[0]
        assert index[index < 40].tolist() == list(range(40))
        # late.h5 (events 40-79) up to the chunk that reaches its last event, then all of a5.h5
        assert index[(index >= 40) & (index < 80)].tolist() == list(range(40, 75))
        assert index[index >= 80].tolist() == list(range(80, 140))
        with pytest.raises(EventFileError, match=r"late\.h5"):
            data.read(75, 85)
        assert len(data.issues) == 1


def test_empty_matches_and_missing_files_raise_naming_them(folder: Path, tmp_path: Path) -> None:
    pattern = str(tmp_path / "nothing*.h5")
    with pytest.raises(EventFileError, match="no files match") as info:
        open_dataset(pattern)
    assert pattern in str(info.value)
    with pytest.raises(EventFileError, match="no event files"):
        open_dataset(tmp_path)
    with pytest.raises(EventFileError, match="no such file"):
        open_dataset([folder / "a1.h5", tmp_path / "gone.h5"])
    with pytest.raises(EventFileError, match="no event files given"):
        open_dataset([])
    with pytest.raises(EventFileError, match="none an event file"):
        open_dataset(str(folder / "*.txt"))


def test_only_damaged_files_raise(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(EventFileError, match=r"bad\.h5"):
        open_dataset(bad)
    other = tmp_path / "bad.json"
    other.write_text("{")
    with pytest.raises(EventFileError, match="none of the 2 files"):
        open_dataset(tmp_path)


def test_a_data_set_is_an_event_source(folder: Path) -> None:
    data = DataSet([folder / "a1.h5"])
    assert len(data) == 40
    assert sum(len(b) for b in data.chunks(7)) == 40
    assert "1 files" in repr(data)
    data.close()


def test_the_index_is_lazy_its_length_is_right_once_asked(folder: Path) -> None:
    """Making a data set opens its first file only; reading its first event counts no other; the
    length counts the rest from their metadata, without opening them."""
    with DataSet(expand(folder), background=False) as data:
        assert data.counted == 1
        assert data.open_files == 1
        assert data.read(0, 1).event_id() == io.load(folder / FILES[0]).event_id(0)
        assert data.counted == 1
        assert not data.fully_counted
        assert len(data) == sum(LENGTHS)
        assert data.fully_counted
        assert data.open_files == 1  # counted, not opened
        assert data.offsets.tolist() == np.concatenate(([0], np.cumsum(LENGTHS))).tolist()


def test_an_event_of_an_uncounted_file_counts_the_files_up_to_it(folder: Path) -> None:
    per_file = _per_file(folder)
    with DataSet(expand(folder), background=False) as data:
        i = sum(LENGTHS[:3]) + 4  # the fifth event of a4.root (mdst), three files not yet counted
        assert data.event(i).event_id() == per_file[3].event_id(4)
        assert data.counted == 4
        assert data.locate(i) == (folder / "a4.root", 4)
        assert data.counted == 4
        batch = data.read(sum(LENGTHS[:4]) - 2, sum(LENGTHS[:4]) + 3)  # across into the last file
        assert data.fully_counted
        assert_same_events(batch, EventBatch.concat([per_file[3].slice(8, 10), per_file[4].slice(0, 3)]))
    with DataSet(expand(folder), background=False) as data:
        assert data.event(-1).event_id() == per_file[4].event_id(59)  # from the end: all counted


def test_the_counting_thread_counts_ahead_without_opening_files(folder: Path) -> None:
    with open_dataset(folder) as data:
        assert data._thread is not None
        data._thread.join(timeout=60)
        assert data.fully_counted
        assert data.open_files == 1
        assert data.issues == []
        assert len(data) == sum(LENGTHS)


@pytest.mark.parametrize("background", [False, True])
def test_a_damaged_file_among_lazily_counted_ones_is_reported_once(
    folder: Path, tmp_path: Path, background: bool
) -> None:
    damaged = tmp_path / "b-cut.root"
    whole = (folder / "a2.root").read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])
    files = [folder / "a1.h5", damaged, folder / "a4.root", folder / "a5.h5"]
    with DataSet(files, background=background) as data:
        if data._thread is not None:
            data._thread.join(timeout=60)  # the thread stops before the damaged file, noting nothing
        assert data.issues == []
        assert data.counted == 1
        assert data.event(45).event_id() == io.load(folder / "a4.root").event_id(5)  # past the damage
        assert len(data.issues) == 1
        assert data.issues[0].startswith(f"{damaged}: ")
        assert "truncated" in data.issues[0]
        assert data.left_out == [damaged]
        assert len(data) == 110
        assert [location_name(p) for p in data.files] == ["a1.h5", "a4.root", "a5.h5"]
        assert len(np.concatenate([c.index for c in data.scan(30)])) == 110
        assert len(data.issues) == 1


def test_count_events_reads_the_counts_without_opening_the_files(folder: Path, tmp_path: Path) -> None:
    kinds = {"a1.h5": "hdf5", "a2.root": "ntuple", "a3.json": "phoenix", "a4.root": "mdst", "a5.h5": "hdf5"}
    for name, length in zip(FILES, LENGTHS, strict=True):
        assert io.count_events(folder / name) == (length, kinds[name])
    cut = tmp_path / "cut.root"
    cut.write_bytes((folder / "a4.root").read_bytes()[:5000])
    with pytest.raises(EventFileError, match=r"cut\.root: .*truncated"):
        io.count_events(cut)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(EventFileError, match=r"garbage\.h5: not a readable HDF5 file"):
        io.count_events(garbage)


def _chunk_bytes_held(data: DataSet, k: int) -> int:
    """The bytes of chunks the data set's k-th file (an HDF5 store) keeps; asking makes it the most recent."""
    store = data.source(k)
    assert isinstance(store, HDF5Source)
    return store._held


def test_files_not_read_lately_stay_open_without_their_caches(folder: Path) -> None:
    files = [folder / "a1.h5", folder / "a2.root", folder / "a5.h5"]
    with DataSet(files, max_open=3, max_cached=1, background=False) as data:
        first = data.event(3)
        data.event(45)
        data.event(70)  # a5.h5 read last: the other two trimmed, all three open
        assert data.open_files == 3
        assert _chunk_bytes_held(data, 2) > 0
        assert _chunk_bytes_held(data, 0) == 0  # (source(0) makes it the most recent: a5.h5 trimmed now)
        assert _chunk_bytes_held(data, 2) == 0
        assert_same_events(data.event(3), first)
    with DataSet(files, max_open=2, background=False) as data:
        for i in (3, 45, 70, 4):
            data.event(i)
        assert data.open_files == 2


def test_a_pass_closes_the_files_it_is_done_with(folder: Path) -> None:
    """Files read at random stay open; a pass keeps only the ``max_cached`` read last (a pass over
    many files would otherwise keep them all, with what their readers hold)."""
    with open_dataset(folder, max_cached=2) as data:
        data.event(50)  # a2.root
        data.event(75)  # a4.root
        assert data.open_files == 3  # with a1.h5, opened when the data set was made
        assert len(np.concatenate([c.index for c in data.scan(16)])) == sum(LENGTHS)
        assert data.open_files == 2  # a4.root and a5.h5, the pass's last two
        for i in (3, 50, 75):  # at random again: the pass's two closed as they leave the last two read
            data.event(i)
        assert data.open_files == 3  # a1.h5 (trimmed), a2.root, a4.root
