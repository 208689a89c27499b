"""The columnar passes give what the per-batch functions give on whole events, bit for bit: the summary
table on a generated HDF5 store, a generated ntuple and the real mdst sample, every filter variable,
tracks with a non-finite helix dropped and reported the same way, stores h5py decodes (no shuffle,
uncompressed), and ``main.py filter``'s selection and written skim."""

from __future__ import annotations

import io as text_io
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from events import columnar, filtering, io
from events.dataset import open_dataset
from events.filter_cli import Selection
from events.generator import generate
from events.model import Collection, EventBatch
from events.progress import ProgressBar
from events.summary import summarize

N = 3000


def _with_bad_helices(batch: EventBatch) -> EventBatch:
    """Every 97th track with a NaN omega and every 89th with an infinite z0: dropped by the readers."""
    t = batch.tracks
    columns = {k: v.copy() for k, v in t.columns.items()}
    columns["omega"][::97] = np.nan
    columns["z0"][5::89] = np.inf
    tracks = Collection.from_columns("tracks", t.counts, columns)
    return EventBatch(
        batch.header, tracks=tracks, ecl=batch.ecl, klm=batch.klm, vertices=batch.vertices, mc=batch.mc
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, mdst_sample: Path) -> dict[str, Path]:
    events = _with_bad_helices(generate(N, seed=7))
    out = tmp_path_factory.mktemp("columnar")
    paths = {"h5": out / "a.h5", "root": out / "b.root", "mdst": out / "c.root"}
    io.write(paths["h5"], events.chunks(1000))  # several appends: chunks that straddle reads
    io.write(paths["root"], events.chunks(700))  # several baskets
    shutil.copy(mdst_sample, paths["mdst"])
    return paths


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bytes (NaN payloads and the sign of zero included)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("kind", ["h5", "root", "mdst", "all"])
def test_the_columnar_summary_is_the_per_batch_one_bit_for_bit(files: dict[str, Path], kind: str) -> None:
    spec = list(files.values()) if kind == "all" else files[kind]
    with open_dataset(spec) as data:
        ours = summarize(data, chunk_size=1234)
    with open_dataset(spec) as data:
        reference = summarize(data, chunk_size=1234, columnar=False)
    assert len(ours) == len(reference) == reference.total
    assert set(ours.columns) == set(reference.columns)
    for name, column in reference.columns.items():
        assert _same(ours.columns[name], column), name
    assert ours.issues == reference.issues
    if kind in ("h5", "root"):
        assert any("NaN or infinite helix" in line for line in ours.issues)
        assert np.isfinite(ours.columns["recoil_mass"]).sum() > 100
        assert np.isfinite(ours.columns["photon_cms_energy"]).sum() > 100
    if kind == "mdst":
        assert np.isfinite(ours.columns["photon_cms_energy"]).all()


def test_every_filter_variable_is_the_per_batch_function(files: dict[str, Path]) -> None:
    names = sorted(filtering.QUANTITIES)
    needs = columnar.needs_of(names)
    for path in files.values():
        with io.open_events(path) as source:
            start, stop = (200, 2100) if len(source) > 2100 else (3, len(source))
            whole = source.read(start, stop)
            partial = columnar.read(source, start, stop, needs)
        values = columnar.quantities(partial, names)
        on_whole = columnar.quantities(whole, names)
        for name in names:
            expected = filtering.QUANTITIES[name][0](whole)
            assert _same(values[name], expected), (path.name, name)
            assert _same(on_whole[name], expected), (path.name, name)


def test_stores_h5py_decodes_give_the_same_columns(files: dict[str, Path], tmp_path: Path) -> None:
    """A store whose datasets are not deflate+shuffle of whole rows (another writer's) is read by h5py."""
    plain = tmp_path / "plain.h5"
    with h5py.File(files["h5"], "r") as src, h5py.File(plain, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for group in src:
            g = dst.create_group(group)
            for k, name in enumerate(src[group]):
                data = src[group][name][:]
                # deflate alone, chunks h5py chooses (pid_logl's split along its 6 values), or no filter
                rows = (500, *data.shape[1:])
                options = {"compression": "gzip", "chunks": True} if k % 2 else {"chunks": rows}
                g.create_dataset(name, data=data, maxshape=(None, *data.shape[1:]), **options)
    with open_dataset(plain) as data:
        ours = summarize(data, chunk_size=999)
    with open_dataset(files["h5"]) as data:
        reference = summarize(data, chunk_size=999, columnar=False)
    for name in ("ntracks", "recoil_mass", "photon_cms_energy", "total_ecl_energy", "flags"):
        assert _same(ours.columns[name], reference.columns[name]), name


WHERES = (
    "recoil_mass > 3 and ntracks == 2",
    "photon_cms_energy > 1 or max_ecl_energy > 2.5",
    "max_p > 2 and npositive >= 1 and nnegative >= 1 and total_charge == 0",
    "l1('ffb') or nl1 >= 3 or necl > 4",
    "max_pt < 0.5 and nmc > 0 and signal < 0 and nklm + nvertices >= 1",
)


@pytest.mark.parametrize("where", WHERES)
def test_the_selection_and_skim_are_those_of_the_per_batch_filter(
    files: dict[str, Path], where: str, tmp_path: Path
) -> None:
    flt = filtering.parse(where)
    spec = list(files.values())
    with open_dataset(spec) as data:
        expected: list[tuple[str, int]] = []
        parts = []
        for chunk in data.scan(1000):  # the per-batch filter on whole events
            rows = np.flatnonzero(flt(chunk.batch))
            parts.append(chunk.batch.take(rows))
            numbers = data.file_of(chunk.index[rows]).tolist()
            events = chunk.batch.header["event"][rows].tolist()
            expected += [(str(data.files[k]), e) for k, e in zip(numbers, events, strict=True)]
        whole = EventBatch.concat(parts)
    with open_dataset(spec) as data:
        selection = Selection(data, flt, 1000, ProgressBar(text_io.StringIO()))
        skim = tmp_path / "skim.h5"
        io.write(skim, selection.batches())
        assert [(row["file"], row["event"]) for row in selection.selected] == expected
        assert selection.total == len(data)
    with open_dataset(spec) as data:
        ids_only = Selection(data, flt, 1000, ProgressBar(text_io.StringIO()))
        ids_only.run()
        assert ids_only.selected == selection.selected
    if not expected:
        return
    written = io.load(skim)  # every column of the selected events, as the per-batch pass read them
    assert len(written) == len(expected)
    for name, column in whole.header.items():
        assert _same(written.header[name], column), name
    for name, coll in whole.collections().items():
        assert _same(getattr(written, name).offsets, coll.offsets), name
        for key, column in coll.columns.items():
            assert _same(getattr(written, name).columns[key], column), (name, key)


def test_whole_events_read_again_are_the_readers_own(files: dict[str, Path]) -> None:
    """``columnar.read_whole`` (a local ntuple through the pass's memory map) is ``source.read``."""
    for path in files.values():
        with io.open_events(path) as source:
            start, stop = (100, 1900) if len(source) > 1900 else (2, len(source))
            ours = columnar.read_whole(source, start, stop)
            theirs = source.read(start, stop)
        assert len(ours) == len(theirs)
        for name, column in theirs.header.items():
            assert _same(ours.header[name], column), (path.name, name)
        for name, coll in theirs.collections().items():
            assert _same(getattr(ours, name).offsets, coll.offsets), (path.name, name)
            for key, column in coll.columns.items():
                assert _same(getattr(ours, name).columns[key], column), (path.name, name, key)
