"""A clone of the repository on its own (nothing named ``shared`` beside it) runs the geometry
summary, renders the detector and opens the window: everything it needs is in the repository.

The clone is of the committed HEAD of the checkout under test (uncommitted work is not in it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from geometry.reference import ENV_VAR
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _top_level() -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout: {done.stderr.strip()}")
    return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = _top_level()
    venv = ROOT / ".venv"
    if not venv.exists():
        pytest.skip(f"no virtual environment to reuse at {venv}")
    app = tmp_path_factory.mktemp("bare") / "x" / "app"
    subprocess.run(["git", "clone", "-q", str(top), str(app)], check=True, timeout=120)
    (app / ".venv").symlink_to(venv.resolve())
    for folder in (app, *app.parents):
        assert not (folder / "shared").exists(), folder
    return app


def run_in(app: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python main.py ARGS`` in the clone, with no $BELLE2_GEOMETRY_DATA."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env["XDG_CONFIG_HOME"] = str(app.parent / "config")  # the window's settings stay in the sandbox
    return subprocess.run(
        [str(app / ".venv" / "bin" / "python"), *args],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rgb(path: Path) -> np.ndarray:
    """(h, w, 3) int pixels of a PNG."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), path
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : 3 * w].reshape(h, w, 3).astype(int)


def shows_the_detector(pixels: np.ndarray, centre_fill: float) -> None:
    """The centre of the picture (the 3D view) differs from the background in enough pixels and
    holds the ECL green, the CDC blue and the ARICH pink."""
    h, w, _ = pixels.shape
    background = pixels[2, 2]
    centre = pixels[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    assert (np.abs(centre - background).sum(axis=-1) > 30).mean() > centre_fill
    r, g, b = centre[..., 0], centre[..., 1], centre[..., 2]
    ecl_green = (g > r + 40) & (g > b + 20)
    cdc_blue = (b > r + 60) & (g > r + 40) & (np.abs(g - b) < 60)
    arich_pink = (r > g + 60) & (b > g + 30)
    assert ecl_green.mean() > 0.02
    assert cdc_blue.mean() > 0.001
    assert arich_pink.mean() > 0.005


def test_the_clone_reads_its_own_tables(clone: Path) -> None:
    done = run_in(clone, "-c", "import geometry.reference as r; print(r.data_dir())")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == clone / "assets" / "geometry"


def test_geometry_summary(clone: Path) -> None:
    done = run_in(clone, "main.py", "geometry", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    assert data["ecl"]["total"] == 8736
    parts = data["subdetectors"]
    assert parts["CDC"]["count"] == 56
    assert parts["ARICH"]["r_max"] == pytest.approx(114.0)
    assert (parts["EKLM"]["z_min"], parts["EKLM"]["z_max"]) == pytest.approx((-315.1, 409.1))


@pytest.mark.gl
def test_render(clone: Path) -> None:
    out = clone.parent / "x.png"
    done = run_in(clone, "main.py", "render", "--out", str(out), "--size", "1280x800")
    assert done.returncode == 0, done.stderr
    pixels = rgb(out)
    assert pixels.shape == (800, 1280, 3)
    shows_the_detector(pixels, centre_fill=0.3)


@pytest.mark.gl
def test_gui_screenshot(clone: Path) -> None:
    out = clone.parent / "window.png"
    done = run_in(clone, "main.py", "gui", "--screenshot", str(out), timeout=240)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    pixels = rgb(out)
    assert pixels.shape[0] >= 700
    assert pixels.shape[1] >= 1200
    shows_the_detector(pixels, centre_fill=0.15)
