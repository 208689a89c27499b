"""``main.py dump``: one event as JSON, run as a user would, and one clear line on bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from events import io
from tests.conftest import run_main


def _dump(*args: str) -> subprocess.CompletedProcess[str]:
    return run_main("dump", *args)


def test_dump_prints_event_one_of_the_sample(mdst_sample: Path) -> None:
    done = _dump(str(mdst_sample), "--event", "0")
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)
    assert event["header"]["event"] == 1
    assert len(event["tracks"]) == 8
    t0 = event["tracks"][0]
    # basf2 printout: TrackFitResult#0 and its momentum (the field at the interaction point)
    assert t0["d0"] == pytest.approx(-0.00270966, rel=1e-5)
    assert t0["omega"] == pytest.approx(-0.022786, rel=1e-5)
    assert t0["charge"] == -1
    assert [t0["px"], t0["py"], t0["pz"]] == pytest.approx([0.181439, -0.0601238, 0.0937607], rel=3e-4)
    assert event["header"]["bz"] == pytest.approx(1.4528, abs=1e-4)  # the field the dump used
    ecl = event["ecl_clusters"]
    assert len(ecl) == 23  # every cluster, 5 of them with the neutral-hadron hypothesis alone
    assert sum(c["hypotheses"] == 32 for c in ecl) == 5
    c = ecl[0]
    assert np.hypot(np.hypot(c["x"], c["y"]), c["z"]) == pytest.approx(c["r"], rel=1e-6)
    assert [set(k) >= {"x", "y", "z"} for k in event["klm_clusters"]] == [True, True]
    assert [v["daughters"] for v in event["vertices"]] == [[1, 2], [3, 5]]
    assert event["issues"] == []


def test_dump_reads_our_own_files(mdst_sample: Path, tmp_path: Path) -> None:
    path = tmp_path / "sample.h5"
    io.write(path, io.load(mdst_sample))
    done = _dump(str(path), "--event", "-1", "--indent", "0")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["header"]["event"] == 10


def test_dump_errors_are_one_line_and_exit_code_2(mdst_sample: Path, tmp_path: Path) -> None:
    for args, problem in (
        ((str(tmp_path / "missing.root"),), "no such file"),
        ((str(mdst_sample), "--event", "99"), "out of range"),
    ):
        done = _dump(*args)
        assert done.returncode == 2
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        assert problem in lines[0]
        assert args[0] in lines[0]
    cut = tmp_path / "cut.root"
    cut.write_bytes(mdst_sample.read_bytes()[:50_000])
    done = _dump(str(cut))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "cut.root" in done.stderr
