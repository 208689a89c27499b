"""The HDF5 event store: exact round trips, appending, random access, schema and corruption errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np
import pytest

from events import hdf5, io
from events.model import COLLECTIONS, HEADER, Collection, EventBatch


def random_batch(n_events: int, seed: int = 0, max_objects: int = 12) -> EventBatch:
    """A batch with every schema column filled with random values of its dtype."""
    rng = np.random.default_rng(seed)

    def column(dtype: str, shape: tuple[int, ...], n: int) -> np.ndarray:
        size = (n, *shape)
        kind = np.dtype(dtype).kind
        if kind == "f":
            return rng.normal(size=size).astype(dtype)
        if kind == "b":
            return rng.random(size) < 0.5
        if kind == "u":
            return rng.integers(0, 2**40, size=size, dtype=np.uint64).astype(dtype)
        return rng.integers(-1, 100, size=size).astype(dtype)

    header = {name: column(d, s, n_events) for name, (d, s, _) in HEADER.items()}
    header["event"] = np.arange(n_events, dtype=np.int64) + 1000 * seed
    colls = {}
    for coll, spec in COLLECTIONS.items():
        counts = rng.integers(0, max_objects, n_events)
        total = int(counts.sum())
        colls[coll] = Collection.from_columns(
            coll, counts, {name: column(d, s, total) for name, (d, s, _) in spec.items()}
        )
    return EventBatch.build(n_events, header, "", **colls)


def assert_batches_equal(a: EventBatch, b: EventBatch) -> None:
    assert len(a) == len(b)
    for name in HEADER:
        np.testing.assert_array_equal(a.header[name], b.header[name], err_msg=f"header.{name}")
    for coll, ca in a.collections().items():
        cb = getattr(b, coll)
        np.testing.assert_array_equal(ca.offsets, cb.offsets, err_msg=f"{coll} offsets")
        for name in COLLECTIONS[coll]:
            np.testing.assert_array_equal(ca[name], cb[name], err_msg=f"{coll}.{name}")


def test_round_trip_is_exact_across_appended_batches(tmp_path: Path) -> None:
    parts = [random_batch(50, seed) for seed in range(3)]
    path = tmp_path / "events.h5"
    assert io.write(path, parts[:2]) == 100
    assert hdf5.write(path, parts[2:], mode="a") == 150
    source = io.open_events(path)
    assert len(source) == 150
    assert_batches_equal(source.read(), EventBatch.concat(parts))
    # random access: one event in the middle reads only its rows
    assert_batches_equal(source.event(73), parts[1].event(23))
    assert_batches_equal(source.read(40, 60), EventBatch.concat(parts).slice(40, 60))
    chunks = list(source.chunks(64))
    assert [len(c) for c in chunks] == [64, 64, 22]


def test_empty_events_and_an_empty_file_round_trip(tmp_path: Path) -> None:
    empty_events = EventBatch.build(4, {"event": [1, 2, 3, 4]})
    io.write(tmp_path / "e.h5", empty_events)
    back = io.load(tmp_path / "e.h5")
    assert len(back) == 4
    assert back.tracks.size == 0
    assert back.ecl.counts.tolist() == [0, 0, 0, 0]
    io.write(tmp_path / "none.h5", [])
    assert len(io.open_events(tmp_path / "none.h5")) == 0


def test_newer_or_foreign_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "new.h5"
    io.write(path, random_batch(3))
    with h5py.File(path, "a") as f:
        f.attrs["SCHEMA_VERSION"] = 99
    with pytest.raises(io.EventFileError, match=r"new\.h5: .*schema version 99, newer"):
        io.open_events(path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(io.EventFileError, match="not an event store"):
        io.open_events(other)
    missing = tmp_path / "missing.h5"
    io.write(missing, random_batch(3))
    with h5py.File(missing, "a") as f:
        del f["tracks/omega"]
    with pytest.raises(io.EventFileError, match="missing dataset tracks/omega"):
        io.open_events(missing)


def test_truncated_and_corrupted_files_give_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "full.h5"
    io.write(path, random_batch(400, max_objects=40))
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(io.EventFileError, match=r"cut\.h5"):
        io.load(cut)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n" + bytes(range(256)) * 20)
    with pytest.raises(io.EventFileError, match="not a readable HDF5 file"):
        io.open_events(garbage)


def test_interrupted_append_keeps_the_events_written_before(tmp_path: Path) -> None:
    path = tmp_path / "events.h5"
    first = random_batch(10)
    io.write(path, first)
    with h5py.File(path, "a") as f:  # an append that died after growing one column
        f["tracks/d0"].resize(f["tracks/d0"].shape[0] + 5, axis=0)
    assert_batches_equal(io.load(path), first)


def test_a_store_written_in_many_small_batches_reads_back_exactly_through_h5py_too(tmp_path: Path) -> None:
    """A new store is written in whole chunks (shuffled and deflated here): batches of any size, a
    last partial chunk, and h5py's own filters decode the same rows as the store's reader."""
    whole = random_batch(9000, seed=7, max_objects=6)  # > 2 header chunks, > 1 row chunk per collection
    sizes = [1, 2, 700, 4093, 3, 4104, 97]
    cuts = np.concatenate(([0], np.cumsum(sizes))).tolist()
    path = tmp_path / "skim.h5"
    assert io.write(path, [whole.slice(a, b) for a, b in itertools.pairwise(cuts)]) == 9000
    assert_batches_equal(io.load(path), whole)
    with h5py.File(path, "r") as f:
        assert f.attrs["n_events"] == 9000
        np.testing.assert_array_equal(f["header/event"][:], whole.header["event"])
        np.testing.assert_array_equal(f["tracks/offsets"][:], whole.tracks.offsets)
        np.testing.assert_array_equal(f["tracks/cov"][:], whole.tracks["cov"])
        assert f["tracks/cov"].compression == "gzip"
        assert f["tracks/cov"].shuffle
    assert_batches_equal(io.open_events(path).read(4090, 4200), whole.slice(4090, 4200))
    assert hdf5.write(path, [whole.slice(0, 5)], mode="a") == 9005  # and it can be appended to
    assert_batches_equal(io.load(path), EventBatch.concat([whole, whole.slice(0, 5)]))


def test_schema_damage_is_named_whatever_stands_in_a_dataset_s_place(tmp_path: Path) -> None:
    cases = {
        "no group": (lambda f: f.__delitem__("ecl"), "missing dataset ecl/"),
        "a group for a dataset": (
            lambda f: (f.__delitem__("tracks/charge"), f.create_group("tracks/charge")),
            "missing dataset tracks/charge",
        ),
        "another dtype": (
            lambda f: (f.__delitem__("ecl/energy"), f.create_dataset("ecl/energy", data=np.zeros(3, "i4"))),
            r"dataset ecl/energy is int32\[\], schema says f4\[\]",
        ),
        "a short header": (
            lambda f: f["header/run"].resize(2, axis=0),
            "dataset header/run has 2 rows for 5 events",
        ),
        "no offsets": (lambda f: f.__delitem__("klm/offsets"), "missing or short dataset klm/offsets"),
    }
    for k, (damage, message) in enumerate(cases.values()):
        path = tmp_path / f"damaged{k}.h5"
        io.write(path, random_batch(5, seed=k))
        with h5py.File(path, "a") as f:
            damage(f)
        with pytest.raises(io.EventFileError, match=rf"damaged{k}\.h5: {message}"):
            io.open_events(path)


def test_a_store_opened_again_reads_its_chunks_from_its_layout_alone(tmp_path: Path) -> None:
    """The second opening of an unchanged store opens no HDF5 file (its layout is kept), reads the
    same rows, and a store rewritten since, or cut short, is seen for what it is."""
    path = tmp_path / "kept.h5"
    batch = random_batch(300, seed=3, max_objects=80)
    io.write(path, batch)
    first = hdf5.HDF5Source(path)
    want = {name: first.rows("ecl", name, 0, first.length("ecl", name)) for name in COLLECTIONS["ecl"]}
    first.close()
    again = hdf5.HDF5Source(path)
    assert again._file is None
    assert len(again) == 300
    for name, values in want.items():
        np.testing.assert_array_equal(again.rows("ecl", name, 0, again.length("ecl", name)), values)
        assert again.rows("ecl", name, 5, 5).shape == (0, *values.shape[1:])
    assert again._file is None  # every chunk read with os.pread
    assert_batches_equal(again.read(0, 300), batch)
    again.close()
    io.write(path, random_batch(40, seed=4))  # replaced: learnt again
    assert len(hdf5.HDF5Source(path)) == 40
    io.write(path, batch)
    hdf5.HDF5Source(path).close()
    data = path.read_bytes()
    with open(path, "r+b") as f:  # the same size, another time: learnt again, the damage seen
        f.seek(len(data) // 2)
        f.write(bytes(4096))
    with pytest.raises(io.EventFileError, match=r"kept\.h5"):
        io.load(path)
