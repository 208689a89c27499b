"""Missing reference data gives a clear error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from geometry import ecl
from geometry.reference import ENV_VAR, GeometryDataError, data_file


def test_missing_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(GeometryDataError, match=r"crystal_placement_barrel\.dat"):
        data_file("crystal_placement_barrel.dat")


def test_malformed_placement_table_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ecl.PLACEMENT_FILE).write_text("# header\n1 2 3 4 5 6 7\n")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(GeometryDataError, match="92 rows"):
        ecl._barrel_from_table()
    # without the table the barrel falls back to nominal rings: same numbering, 2.5° pitch
    radius, theta, phi, axes = ecl._barrel_nominal()
    assert radius.shape == theta.shape == phi.shape == axes.shape[:2] == (46, 144)
