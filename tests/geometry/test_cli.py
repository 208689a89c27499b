"""`python main.py geometry` as a user runs it."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import run_main

NAMES = ["BEAMPIPE", "PXD", "SVD", "CDC", "TOP", "ARICH", "ECL", "COIL", "BKLM", "EKLM"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_main("geometry", *args)


def test_json_summary_and_cell() -> None:
    done = _run("--json", "--cell", "1153")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data["subdetectors"]) == NAMES
    for s in data["subdetectors"].values():
        assert set(s) == {"count", "r_min", "r_max", "z_min", "z_max"}
        assert s["r_min"] < s["r_max"]
        assert s["z_min"] < s["z_max"]
    assert data["subdetectors"]["ECL"]["count"] == 8736
    assert data["subdetectors"]["CDC"]["r_max"] == pytest.approx(112.76)
    assert data["ecl"]["crystals"] == {"forward": 1152, "barrel": 6624, "backward": 960}
    cell = data["cell"]
    assert (cell["thetaID"], cell["phiID"]) == (13, 0)
    assert cell["phi"] == pytest.approx(0.0234, abs=0.001)  # 1.34°
    assert cell["theta"] == pytest.approx(0.5750, abs=0.001)
    assert (cell["x"] ** 2 + cell["y"] ** 2) ** 0.5 == pytest.approx(136.2, abs=0.1)


def test_table_is_readable() -> None:
    done = _run("--cell", "8736")
    assert done.returncode == 0, done.stderr
    for name in NAMES:
        assert name in done.stdout
    assert "thetaID 68, phiID 63" in done.stdout


@pytest.mark.parametrize("bad", ["0", "8737", "-5"])
def test_bad_cell_is_a_clear_error(bad: str) -> None:
    done = _run("--json", f"--cell={bad}")
    assert done.returncode != 0
    assert "not an ECL cellId" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
