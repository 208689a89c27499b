"""``main.py render``: pictures without a display, and clear errors for bad requests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from displays.cli import Picture, RenderError, parse_size, picture_from_args

ROOT = Path(__file__).resolve().parents[2]


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")
    }  # no display at all
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "render", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_render_writes_a_picture_without_a_display(tmp_path: Path) -> None:
    out = tmp_path / "detector.png"
    result = run_render("--out", str(out), "--size", "640x400", "--view", "rphi")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (640x400, rphi view" in result.stdout
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (640, 400)
    converted = image.convertToFormat(QImage.Format.Format_RGB888)  # keep it alive while read
    rgb = np.frombuffer(converted.constBits(), np.uint8).copy()
    rgb = rgb.reshape(400, -1)[:, : 640 * 3].reshape(400, 640, 3).astype(int)
    assert (np.abs(rgb - rgb[5, 600]).sum(axis=-1) > 40).mean() > 0.02  # outlines and axes drawn


def test_render_reports_bad_requests_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.png"
    result = run_render("--out", str(missing))
    assert result.returncode == 2
    assert f"render: {missing}: directory {missing.parent} does not exist" in result.stderr
    assert "Traceback" not in result.stderr

    result = run_render("--out", str(tmp_path / "x.png"), "--size", "big")
    assert result.returncode == 2
    assert "size must look like 1920x1080" in result.stderr


def test_picture_requests() -> None:
    assert parse_size("1920x1080") == (1920, 1080)
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=r"outside 16\.\.8192"):
        parse_size("9x9")
    args = argparse.Namespace(
        out=Path("a.png"), size=(800, 600), view="3d", camera=None, cutaway="half", hide="bklm, EKLM"
    )
    assert picture_from_args(args) == Picture(
        Path("a.png"), "3d", (800, 600), None, "half", frozenset({"BKLM", "EKLM"})
    )
    args.out = Path("a.jpg")
    with pytest.raises(RenderError, match="only PNG"):
        picture_from_args(args)
