"""The event summary of real data sets: its columns are the filter's variables, its recoil mass and
E*_gamma are the candidate tool's, it runs in chunks with progress and cancel, and skips damaged files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from events import candidate, filtering, io, trigger
from events.candidate import Pick
from events.dataset import open_dataset
from events.generator import samples
from events.model import EventBatch
from events.summary import FLAGS, QUANTITY_COLUMNS, csv_text, summarize, text_table


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, mdst_sample: Path) -> list[Path]:
    """The generated sample split over an HDF5 store, a ROOT ntuple and Phoenix JSON, and the mdst."""
    sample = io.load(samples.SAMPLE)
    out = tmp_path_factory.mktemp("summary")
    paths = [out / "s1.h5", out / "s2.root", out / "s3.json", out / "s4.root"]
    io.write(paths[0], sample.slice(0, 120))
    io.write(paths[1], sample.slice(120, 250))
    io.write(paths[2], sample.slice(250, 300))
    shutil.copy(mdst_sample, paths[3])
    return paths


def test_the_columns_are_the_filter_variables_file_by_file(files: list[Path]) -> None:
    with open_dataset(files) as data:
        table = summarize(data, chunk_size=37)
    assert len(table) == table.total == 310
    assert not table.cancelled
    assert table.columns["index"].tolist() == list(range(310))
    start = 0
    for k, path in enumerate(files):
        batch = io.load(path)
        rows = slice(start, start + len(batch))
        assert (table.columns["file"][rows] == k).all()
        assert table.columns["local"][rows].tolist() == list(range(len(batch)))
        for name in ("experiment", "run", "event"):
            np.testing.assert_array_equal(table.columns[name][rows], batch.header[name])
        for name in QUANTITY_COLUMNS:
            np.testing.assert_array_equal(
                table.columns[name][rows], filtering.QUANTITIES[name][0](batch), err_msg=name
            )
        for flag_number, text in enumerate(FLAGS.values()):
            np.testing.assert_array_equal(
                (table.columns["flags"][rows] >> flag_number) & 1, filtering.parse(text)(batch)
            )
        start += len(batch)
    assert np.isfinite(table.columns["recoil_mass"]).sum() > 50  # the sample holds dimuon events
    assert np.isfinite(table.columns["photon_cms_energy"][-10:]).all()  # every mdst event has a photon


def _mdst_and_sample() -> EventBatch:
    from tests.conftest import MDST_SAMPLE

    return EventBatch.concat([io.load(samples.SAMPLE), io.load(MDST_SAMPLE)])


def test_recoil_mass_and_photon_energy_are_the_candidate_tools(mdst_sample: Path) -> None:
    batch = _mdst_and_sample()
    recoil = filtering.QUANTITIES["recoil_mass"][0](batch)
    e_star = filtering.QUANTITIES["photon_cms_energy"][0](batch)
    plus, minus = filtering.muon_pair(batch)
    photon = filtering.hardest_photon(batch)
    checked = 0
    for i in range(len(batch)):
        event = batch.event(i)
        t0, e0 = int(batch.tracks.offsets[i]), int(batch.ecl.offsets[i])
        if plus[i] >= 0 and minus[i] >= 0:
            picks = [Pick("track", int(plus[i]) - t0, 13), Pick("track", int(minus[i]) - t0, 13)]
            assert recoil[i] == pytest.approx(candidate.evaluate(event, picks).recoil_mass, rel=1e-12)
            checked += 1
        else:
            assert math.isnan(recoil[i])
        if photon[i] >= 0:
            got = candidate.evaluate(event, [Pick("ecl", int(photon[i]) - e0)]).e_star
            assert e_star[i] == pytest.approx(got, rel=1e-12)
            energies = event.ecl["energy"][(event.ecl["hypotheses"] & 16 != 0) & ~event.ecl["is_track"]]
            assert event.ecl["energy"][int(photon[i]) - e0] == energies.max()
        else:
            assert math.isnan(e_star[i])
    assert checked > 50
    # the best pair: opposite charges, the most muon-like of each sign
    both = (plus >= 0) & (minus >= 0)
    assert (batch.tracks["charge"][plus[both]] == 1).all()
    assert (batch.tracks["charge"][minus[both]] == -1).all()


def test_the_new_variables_filter_like_the_others(files: list[Path]) -> None:
    batch = io.load(files[0])
    recoil = filtering.QUANTITIES["recoil_mass"][0](batch)
    selected = filtering.select(batch, "recoil_mass > 3 and nl1 >= 0")
    np.testing.assert_array_equal(selected, np.flatnonzero(recoil > 3))
    n_fired = trigger.unpack(batch.header["l1_bits"]).sum(axis=1)
    np.testing.assert_array_equal(filtering.select(batch, "nl1 == 0"), np.flatnonzero(n_fired == 0))


def test_progress_is_reported_per_chunk_and_cancel_stops_the_pass(files: list[Path]) -> None:
    seen: list[tuple[int, int]] = []
    with open_dataset(files) as data:
        summarize(data, chunk_size=100, progress=lambda done, total: seen.append((done, total)))
        assert seen == [(100, 310), (200, 310), (300, 310), (310, 310)]
        calls = iter(range(10))
        partial = summarize(data, chunk_size=100, cancel=lambda: next(calls) >= 1)
    assert partial.cancelled
    assert len(partial) == 200
    assert partial.columns["index"].tolist() == list(range(200))


def test_a_damaged_file_is_skipped_and_named(files: list[Path], tmp_path: Path) -> None:
    cut = tmp_path / "cut.h5"
    data_bytes = files[0].read_bytes()
    cut.write_bytes(data_bytes[: len(data_bytes) // 2])
    with open_dataset([files[1], cut, files[3]]) as data:
        table = summarize(data)
    assert len(table) == 140
    assert len(table.issues) == 1
    assert "cut.h5" in table.issues[0]
    assert [r["file"] for r in table.rows()][-1] == str(files[3])


def test_text_and_csv_forms(files: list[Path]) -> None:
    with open_dataset(files[3]) as data:
        table = summarize(data)
    rows = list(table.rows())
    assert [r["event"] for r in rows] == list(range(1, 11))
    assert all(isinstance(r["ntracks"], int) for r in rows)
    lines = text_table(table).splitlines()
    assert len(lines) == 11
    assert lines[0].split()[:6] == ["file", "#", "exp", "run", "event", "ntrk"]
    end = lines[0].index("event") + len("event")  # numbers are right-aligned under their heading
    assert all(line[end - 1].isdigit() and line[end] == " " for line in lines[1:])
    assert all(len(line.split()) >= 13 for line in lines[1:])
    csv_lines = csv_text(table).splitlines()
    assert len(csv_lines) == 11
    assert csv_lines[0].startswith("index,file,local,experiment,run,event,ntracks")
    assert "+".join(rows[0]["l1"]) in csv_lines[1]


def test_the_documented_columns_and_flags_are_the_codes() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "datasets.md").read_text()

    def table(header: str) -> list[list[str]]:
        lines = text.splitlines()
        start = lines.index(header)
        rows = []
        for line in lines[start + 2 :]:
            if not line.startswith("|"):
                break
            rows.append([c.strip().strip("`") for c in line.strip("|").split("|")])
        return rows

    columns = table("| Column | Filter variable | Meaning |")
    documented = [name.strip("` ") for row in columns for name in row[1].split(",")]
    assert documented == ["experiment", "run", "event", *QUANTITY_COLUMNS]
    assert all(name in filtering.QUANTITIES for name in documented)
    flags = table("| Flag | Expression | Meaning |")
    assert {row[0]: row[1] for row in flags} == FLAGS
