"""Histograms over real event files: ROOT ntuples and HDF5 written in tmp_path, the mdst sample,
the ``histogram`` subcommand, and the dask backend on a local 2-worker cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from events import io, rootio
from events.model import EventBatch
from main import main
from monitoring.histograms import samples
from monitoring.histograms.backends import NumbaBackend, NumpyBackend
from monitoring.histograms.dask_backend import DaskBackend, needed_columns, partitions, read_batch
from monitoring.histograms.definitions import STANDARD, by_name
from monitoring.histograms.export import read_counts
from monitoring.histograms.files import fill_files
from monitoring.histograms.selections import Columns, MuonPairSelection, Selection, SinglePhotonSelection


def declared_columns(selection: Selection) -> Columns:
    """The event columns a standard selection declares it reads."""
    assert isinstance(selection, MuonPairSelection | SinglePhotonSelection), selection
    return selection.columns


def _batches(seed: int, run: int) -> list[EventBatch]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(3):
        pairs = samples.muon_pair_events(rng.uniform(0.5, 9.5, 700), 700, rng, run=run, first_event=1000 * k)
        photons = samples.single_photon_events(
            rng.uniform(1, 8), 300, rng, run=run, first_event=1000 * k + 700
        )
        out.append(EventBatch.concat([pairs, photons]))
    return out


@pytest.fixture(scope="module")
def event_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, np.ndarray]]:
    """Three ROOT ntuples and one HDF5 file, and the counts expected from the batches in memory."""
    tmp = tmp_path_factory.mktemp("events")
    paths, expected = [], {d.name: np.zeros(tuple(a.bins for a in d.axes), np.int64) for d in STANDARD}
    for k, suffix in enumerate([".root", ".root", ".root", ".h5"]):
        batches = _batches(k, run=10 + k)
        path = tmp / f"part{k}{suffix}"
        io.write(path, batches)
        paths.append(path)
        for batch in batches:
            for d in STANDARD:
                expected[d.name] += NumpyBackend().histogram(d.kernel, d.select(batch).inputs, d.axes)
    return paths, expected


@pytest.mark.parametrize("backend", [NumpyBackend(), NumbaBackend()])
def test_fill_files_matches_the_batches_in_memory(backend, event_files) -> None:
    paths, expected = event_files
    counts = fill_files(backend, paths, STANDARD, chunk_size=1234)
    for d in STANDARD:
        assert expected[d.name].sum() > 100
        np.testing.assert_array_equal(counts[d.name], expected[d.name], err_msg=d.name)


@pytest.mark.slow
def test_dask_local_cluster_over_root_files(event_files) -> None:
    """Basket-aligned tasks on 2 worker processes, several ROOT files, same counts."""
    paths, _ = event_files
    roots = [p for p in paths if p.suffix == ".root"]
    expected = fill_files(NumpyBackend(), roots, STANDARD)
    backend = DaskBackend(n_workers=2, step_size=700)
    try:
        assert len(backend.client.scheduler_info()["workers"]) == 2
        seen: list[tuple[int, int, str]] = []
        counts = fill_files(backend, roots, STANDARD, progress=lambda *a: seen.append(a))
        # the same cluster also fills from flat arrays
        sel = STANDARD[1].select(_batches(7, 1)[0])
        flat = backend.histogram(STANDARD[1].kernel, sel.inputs, STANDARD[1].axes)
    finally:
        backend.close()
    for d in STANDARD:
        np.testing.assert_array_equal(counts[d.name], expected[d.name], err_msg=d.name)
    assert seen[-1] == (3, 3, "files")
    np.testing.assert_array_equal(
        flat, NumpyBackend().histogram(STANDARD[1].kernel, sel.inputs, STANDARD[1].axes)
    )


def test_dask_partitions_follow_the_baskets(event_files, tmp_path: Path) -> None:
    """A file written in baskets of 1000 events, three per branch: the task ranges join whole
    baskets and never cut one (a basket would be decompressed twice)."""
    path = tmp_path / "baskets.root"
    rootio.write(path, _batches(0, run=10), basket_events=1000)
    columns = needed_columns(STANDARD)
    assert partitions(path, columns, 1) == [(0, 1000), (1000, 2000), (2000, 3000)]
    assert partitions(path, columns, 1500) == [(0, 2000), (2000, 3000)]
    assert partitions(path, columns, 10**9) == [(0, 3000)]
    # 3 files x 3000 events on 2 workers: at most 9000 / 8 events per task, so whole baskets
    assert DaskBackend(scheduler="synchronous", step_size=10**6)._partition_size([path] * 3) == 1125


def test_selections_read_only_the_columns_they_declare(event_files) -> None:
    """A batch holding only the declared columns selects exactly what the full batch selects."""
    path = event_files[0][0]
    with io.open_events(path) as source:
        full = source.read(0, len(source))
    tree = uproot.open(path)["events"]
    for d in STANDARD:
        columns = declared_columns(d.selection)
        assert "experiment" not in columns.get("header", ())
        partial = read_batch(tree, 0, len(full), columns)
        expected, got = d.select(full), d.select(partial)
        assert len(expected) > 100
        np.testing.assert_array_equal(got.rows, expected.rows)
        for g, e in zip(got.inputs, expected.inputs, strict=True):
            np.testing.assert_array_equal(g, e)
    # the recoil-angle selection does not look at photons: no ECL branch is read for it
    assert "ecl" not in declared_columns(by_name("recoil_mass2_theta").selection)
    assert needed_columns([by_name("single_photon_energy")])["tracks"] == ()


def test_dask_refuses_hdf5_with_a_clear_error(event_files) -> None:
    paths, _ = event_files
    with pytest.raises(
        io.EventFileError, match=r"part3\.h5: the dask backend reads only this project's ROOT"
    ):
        fill_files(DaskBackend(scheduler="synchronous"), paths, STANDARD)


def test_histogram_subcommand_writes_root(event_files, tmp_path, capsys) -> None:
    paths, expected = event_files
    out = tmp_path / "recoil.root"
    assert main(["histogram", *map(str, paths), "--backend", "numba", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "100.0%" in err
    assert f"{sum(len(b) for k in range(4) for b in _batches(k, 0))}/" in err  # progress counts events
    for d in STANDARD:
        np.testing.assert_array_equal(read_counts(out, d.name), expected[d.name])


def test_histogram_subcommand_dask_scheduler_and_selection(event_files, tmp_path, capsys) -> None:
    paths, _ = event_files
    out = tmp_path / "dask.root"
    roots = [str(p) for p in paths if p.suffix == ".root"]
    rc = main(["histogram", *roots, "--backend", "dask", "--scheduler", "synchronous", "-o", str(out),
               "--histograms", "zprime_recoil_mass"])  # fmt: skip
    assert rc == 0
    assert "3/3 files" in capsys.readouterr().err
    assert read_counts(out, "zprime_recoil_mass").sum() > 0


def test_histogram_subcommand_reads_the_mdst_sample(mdst_sample, tmp_path, capsys) -> None:
    out = tmp_path / "mdst.root"
    assert main(["histogram", str(mdst_sample), "--backend", "numpy", "-o", str(out)]) == 0
    assert "10/10 events" in capsys.readouterr().err
    # ten BB events: no clean dimuon or single-photon candidates, but every histogram is there
    for d in STANDARD:
        assert read_counts(out, d.name).shape == tuple(a.bins for a in d.axes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.root"], "missing.root: no such file"),
        (["--backend", "cupy"], "cupy not available"),
        (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "no dask scheduler at tcp://127.0.0.1:9"),
    ],
)
def test_histogram_subcommand_bad_input(args, message, event_files, tmp_path, capsys) -> None:
    files = [a for a in args if a.endswith(".root")] or [str(event_files[0][0])]
    options = [a for a in args if not a.endswith(".root")]
    out = tmp_path / "never.root"
    assert main(["histogram", *files, *options, "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
