"""``main.py filter`` and ``main.py summary`` run as a user would, on real files of every format:
counts and selections against a direct computation, written output read back, user errors as one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from events import filtering, io
from events.dataset import open_dataset
from events.generator import samples
from events.model import EventBatch
from events.summary import summarize
from tests.conftest import run_main
from tests.events.test_dataset import assert_same_events

WHERE = "recoil_mass > 3 or (ntracks >= 8 and photon_cms_energy > 0.6)"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, mdst_sample: Path) -> list[Path]:
    sample = io.load(samples.SAMPLE)
    out = tmp_path_factory.mktemp("cli")
    paths = [out / "b1.h5", out / "b2.root", out / "b3.json", out / "b4.root"]
    io.write(paths[0], sample.slice(0, 150))
    io.write(paths[1], sample.slice(150, 260))
    io.write(paths[2], sample.slice(260, 300))
    shutil.copy(mdst_sample, paths[3])
    return paths


def _expected(paths: list[Path], where: str) -> tuple[list[dict[str, object]], EventBatch, int]:
    rows, parts, total = [], [], 0
    for path in paths:
        batch = io.load(path)
        picked = batch.take(filtering.select(batch, where))
        parts.append(picked)
        total += len(batch)
        ids = (picked.header[k].tolist() for k in ("experiment", "run", "event"))
        rows += [
            {"file": str(path), "experiment": e, "run": r, "event": v} for e, r, v in zip(*ids, strict=True)
        ]
    return rows, EventBatch.concat(parts), total


def test_filter_json_is_the_direct_selection(files: list[Path]) -> None:
    done = run_main("filter", *map(str, files), "--where", WHERE, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # exactly one JSON object
    assert set(out) == {"selected", "passed", "total"}
    rows, _, total = _expected(files, WHERE)
    assert out["total"] == total == 310
    assert out["passed"] == len(rows) == len(out["selected"])
    assert out["selected"] == rows
    assert {r["file"] for r in rows} == {str(p) for p in files}  # every format contributes
    assert "events" in done.stderr  # the progress bar
    assert f"{len(rows)} of 310 events pass" in done.stderr


@pytest.mark.parametrize("suffix", [".h5", ".root", ".json"])
def test_filter_writes_the_selected_events_with_all_their_objects(
    files: list[Path], tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"selected{suffix}"
    done = run_main("filter", str(files[0].parent), "--where", WHERE, "-o", str(out))
    assert done.returncode == 0, done.stderr
    _, expected, _ = _expected(sorted(files), WHERE)
    written = io.load(out)
    if suffix == ".h5":
        assert_same_events(written, expected)
    else:  # the other formats hold what they hold of each event; compare with a round trip of the same
        io.write(tmp_path / f"direct{suffix}", expected)
        assert_same_events(written, io.load(tmp_path / f"direct{suffix}"))
    assert len(done.stdout.splitlines()) == len(expected)
    assert f"wrote {out}" in done.stderr


def test_filter_over_a_glob_with_a_damaged_file_in_the_middle(files: list[Path], tmp_path: Path) -> None:
    for path in files:
        shutil.copy(path, tmp_path / path.name)
    cut = tmp_path / "b2.h5"
    data = files[0].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out" / "all.h5"
    out.parent.mkdir()
    done = run_main("filter", str(tmp_path / "b*"), "--where", "ntracks >= 0", "--json", "-o", str(out))
    assert done.returncode == 1  # some events could not be read
    assert json.loads(done.stdout)["total"] == 310
    # the other files' events are written, in data-set order
    assert_same_events(io.load(out), EventBatch.concat([io.load(p) for p in sorted(files)]))
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"filter: {cut}: ")
    assert "left out" in last
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--where", "ntracks >"], "syntax error"),
        (["--where", "ntracks > 2 and wrongname"], "unknown name 'wrongname'"),
        (["--where", "ntracks > 2", "-o", "/nonexistent-folder/out.h5"], "/nonexistent-folder/out.h5"),
        (["--where", "ntracks > 2", "-o", "OUT/sel.txt"], "cannot write '.txt'"),
        (["--where", "ntracks > 2", "-o", "OUT"], "is a folder"),
        (["--where", "ntracks > 2", "-o", "INPUT"], "is also an input"),
    ],
)
def test_filter_user_errors_are_one_line(
    files: list[Path], tmp_path: Path, args: list[str], named: str
) -> None:
    args = [a.replace("OUT", str(tmp_path)).replace("INPUT", str(files[0])) for a in args]
    before = files[0].read_bytes()
    done = run_main("filter", *map(str, files), *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("filter: ")
    assert named in lines[0]
    assert files[0].read_bytes() == before


def test_missing_inputs_and_empty_globs_are_named(files: list[Path], tmp_path: Path) -> None:
    for command in (["filter", "--where", "ntracks > 1"], ["summary"]):
        gone = tmp_path / "gone.h5"
        done = run_main(command[0], str(files[0]), str(gone), *command[1:])
        assert done.returncode == 2
        assert done.stderr.strip() == f"{command[0]}: {gone}: no such file"
        pattern = str(tmp_path / "none-*.root")
        done = run_main(command[0], pattern, *command[1:])
        assert done.returncode == 2
        assert done.stderr.strip() == f"{command[0]}: {pattern}: no files match this pattern"


def test_summary_json_is_the_summary_table(files: list[Path]) -> None:
    done = run_main("summary", *map(str, files), "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["events"]
    with open_dataset(files) as data:
        table = summarize(data)
    assert len(rows) == len(table) == 310
    assert [r["index"] for r in rows] == list(range(310))
    for name in ("ntracks", "necl", "nl1", "event"):
        assert [r[name] for r in rows] == table.columns[name].astype(int).tolist()
    for name in ("total_ecl_energy", "max_ecl_energy", "recoil_mass", "photon_cms_energy"):
        got = np.array([np.nan if r[name] is None else r[name] for r in rows])
        np.testing.assert_array_equal(got, table.columns[name])
    # the recoil mass column selects what the filter selects
    passed = [r for r in rows if r["recoil_mass"] is not None and r["recoil_mass"] > 3]
    filtered = json.loads(run_main("filter", *map(str, files), "--where", "recoil_mass > 3", "--json").stdout)
    assert filtered["passed"] == len(passed)
    assert all("mumu" in r["flags"] for r in passed)
    assert rows[-1]["file"] == str(files[3])
    assert rows[-1]["l1"]


def test_summary_text_and_csv(files: list[Path]) -> None:
    text = run_main("summary", str(files[3]))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 11
    assert lines[0].split()[:5] == ["file", "#", "exp", "run", "event"]
    assert [line.split()[4] for line in lines[1:]] == [str(k) for k in range(1, 11)]
    table = run_main("summary", str(files[3]), "--csv")
    assert table.returncode == 0
    assert len(table.stdout.splitlines()) == 11
    assert table.stdout.splitlines()[0].startswith("index,file,local,experiment,run,event,")


def test_histogram_takes_a_folder_or_a_glob_like_its_files(files: list[Path], tmp_path: Path) -> None:
    import uproot

    outs = {}
    for name, spec in [("listed", list(map(str, sorted(files)))), ("folder", [str(files[0].parent)]),
                       ("glob", [str(files[0].parent / "b*")])]:  # fmt: skip
        outs[name] = tmp_path / f"{name}.root"
        done = run_main("histogram", *spec, "--backend", "numpy", "-o", str(outs[name]))
        assert done.returncode == 0, done.stderr
    with uproot.open(outs["listed"]) as listed:
        counts = {key: listed[key].values() for key in listed.keys(cycle=False)}
    assert counts
    assert sum(v.sum() for v in counts.values()) > 0
    for name in ("folder", "glob"):
        with uproot.open(outs[name]) as other:
            for key, values in counts.items():
                np.testing.assert_array_equal(other[key].values(), values)
