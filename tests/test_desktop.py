"""The desktop entry: `make install-desktop` writes it with the checkout's absolute path, and its icon."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT


def test_install_desktop_writes_an_entry_that_runs_this_checkout(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    apps, icons = tmp_path / "applications", tmp_path / "icons"
    result = subprocess.run(
        ["make", "-s", "install-desktop", f"DESKTOP_DIR={apps}", f"ICON_DIR={icons}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    entry_file = apps / "belle2-display.desktop"
    text = entry_file.read_text(encoding="utf-8")
    assert "@" not in text  # every placeholder filled in
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read_string(text)
    desktop = entry["Desktop Entry"]
    root = str(ROOT.resolve())
    assert desktop["Path"] == root
    assert desktop["Exec"] == f'"{root}/.venv/bin/python" "{root}/main.py" gui %f'
    assert Path(desktop["Icon"]) == icons / "belle2-display.svg"
    assert ET.parse(desktop["Icon"]).getroot().tag.endswith("svg")
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry_file)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_every_icon_is_well_formed_svg() -> None:
    icons = sorted((ROOT / "assets" / "icons").glob("*.svg"))
    assert len(icons) >= 9
    for path in icons:
        svg = ET.parse(path).getroot()
        assert svg.tag == "{http://www.w3.org/2000/svg}svg", path
        assert svg.get("viewBox"), f"{path}: no viewBox, it would not scale"
