"""The geometry tables: read from the repository's assets/, another folder by $BELLE2_GEOMETRY_DATA,
and every missing or malformed table a clear error naming the file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geometry import cdc, ecl, klm, pid
from geometry.reference import (
    DEFAULT_DATA_DIR,
    ENV_VAR,
    FIGURES_FILE,
    ROOT,
    GeometryDataError,
    data_dir,
    data_file,
    figures,
)
from tests.conftest import run_main

TABLES = (FIGURES_FILE, ecl.CRYSTALS_FILE, cdc.LAYER_FILE)


@pytest.fixture
def tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the shipped tables, which the application reads through $BELLE2_GEOMETRY_DATA."""
    folder = tmp_path / "tables"
    shutil.copytree(DEFAULT_DATA_DIR, folder)
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder


def test_default_folder_is_the_repository_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert data_dir() == ROOT / "assets" / "geometry"
    for name in TABLES:
        assert data_file(name).is_file()
    assert "shared" not in data_dir().parts


def test_missing_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(GeometryDataError, match=r"ecl_crystals\.csv.*BELLE2_GEOMETRY_DATA"):
        data_file(ecl.CRYSTALS_FILE)


def test_another_folder_of_tables_is_used(tables: Path) -> None:
    doc = json.loads((tables / FIGURES_FILE).read_text())
    doc["top"]["inner_r"]["value"] = 150.0
    (tables / FIGURES_FILE).write_text(json.dumps(doc))
    assert figures("top").value("inner_r") == 150.0
    assert pid.top.__wrapped__().inner_r == 150.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("\n2,0,1,", "\n2,zero,1,", 1), r"line 3, column thetaID: 'zero' is not int"),
        (lambda t: t.replace(",30.0000,", ",nan,", 1), r"column length_cm: 'nan' is not finite"),
        (lambda t: "\n".join(t.splitlines()[:100]) + "\n", r"expected the 8736 cellIds"),
        (lambda t: t.replace("\n5,0,4,", "\n5,1,4,", 1), r"thetaID / phiID disagree"),
        (lambda t: t.replace("axis_z", "axis_w", 1), r"missing column\(s\) axis_z"),
        (lambda t: t.replace("\n3,0,2,", "\n3,0,2,1,", 1), r"line 4 has 15 fields"),
        (lambda t: "", r"empty table"),
    ],
)
def test_malformed_crystal_table_is_refused(tables: Path, edit: Callable[[str], str], message: str) -> None:
    path = tables / ecl.CRYSTALS_FILE
    path.write_text(edit(path.read_text()))
    with pytest.raises(GeometryDataError, match=message) as err:
        ecl.crystals.__wrapped__()
    assert str(path) in str(err.value)


def test_malformed_layer_table_is_refused(tables: Path) -> None:
    path = tables / cdc.LAYER_FILE
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(GeometryDataError, match=r"cdc_sense_layers\.csv: expected the 56 sense layers"):
        cdc.sense_layers.__wrapped__()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("eklm"), r"no section 'eklm'"),
        (lambda d: d["eklm"].pop("endcap_length"), r"figure eklm\.endcap_length missing"),
        (lambda d: d["eklm"]["endcap_length"].update(unit="mm"), r"endcap_length is in 'mm', expected 'cm'"),
        (lambda d: d["eklm"]["endcap_length"].update(value="long"), r"'long' is not a number"),
        (lambda d: d["eklm"]["endcap_r"].update(value=[128.0]), r"expected 2 values, found 1"),
        (lambda d: d["eklm"]["sectors"].update(value=4.5), r"eklm\.sectors: 4\.5 is not a count"),
    ],
)
def test_malformed_figures_are_refused(
    tables: Path, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    path = tables / FIGURES_FILE
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(GeometryDataError, match=message) as err:
        klm.eklm.__wrapped__()
    assert str(path) in str(err.value)


def test_figures_that_are_not_json_are_refused(tables: Path) -> None:
    (tables / FIGURES_FILE).write_text('{"top": {')
    with pytest.raises(GeometryDataError, match=r"figures\.json: not valid JSON \(line 1"):
        figures("top")


def test_cli_says_which_table_is_missing_in_one_line(tmp_path: Path) -> None:
    done = run_main("geometry", "--json", set_env={ENV_VAR: str(tmp_path)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert "geometry data file missing" in done.stderr
    assert str(tmp_path) in done.stderr


def test_no_geometry_module_reads_outside_the_repository() -> None:
    for path in (ROOT / "geometry").glob("*.py"):
        text = path.read_text()
        for name in ("../shared", "shared/reference", '"shared"'):
            assert name not in text, path
