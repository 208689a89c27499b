"""The main window: controls drive the views, docks join, screenshots are written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from tests.displays.toy_detector import detector_outlines, detector_parts

pytestmark = pytest.mark.gl
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Any:
    from panels.main_window import MainWindow
    from panels.theme import apply_theme

    apply_theme(qtbot_app(qtbot))
    outlines = {kind: detector_outlines(kind) for kind in ("rphi", "rz")}
    win = MainWindow(detector_parts(), outlines, screenshot_dir=tmp_path)
    qtbot.addWidget(win)
    win.resize(1600, 950)
    win.show()
    qtbot.waitExposed(win)
    return win


def qtbot_app(qtbot: Any) -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance()


def test_controls_drive_the_3d_view_and_projections(window: Any, qtbot: Any) -> None:
    controls = window.controls
    ecl = window.detector.part("ECL")
    assert window.projections["rphi"].outlines["ECL"].visible

    controls.checkboxes["ECL"].setChecked(False)
    assert not ecl.mesh.visible
    assert not window.projections["rphi"].outlines["ECL"].visible
    assert not window.projections["rz"].outlines["ECL"].visible
    controls.checkboxes["ECL"].setChecked(True)
    assert ecl.mesh.visible

    controls.sliders["ECL"].setValue(100)
    assert ecl.model.opacity == pytest.approx(1.0)
    assert ecl.mesh.order < 100  # opaque parts draw first and write depth
    controls.sliders["ECL"].setValue(25)
    assert ecl.mesh.data.colors[:, 3].max() == pytest.approx(0.25)

    with_wedge = ecl.mesh.data.n_faces
    controls.cutaway_radios["none"].setChecked(True)
    full = ecl.mesh.data.n_faces
    assert with_wedge == pytest.approx(0.75 * full, rel=0.06)
    controls.cutaway_radios["half"].setChecked(True)
    assert ecl.mesh.data.n_faces < 0.6 * full
    phi = np.degrees(ecl.model.azimuth[ecl.mesh.data.faces]) % 360.0
    assert not ((phi > 0.0) & (phi < 180.0)).any()  # nothing left in the upper half


def test_camera_presets_and_rotation(window: Any, qtbot: Any) -> None:
    camera = window.detector.view.camera
    window.preset_actions["end"].trigger()
    assert (camera.azimuth, camera.elevation) == (90.0, 0.0)
    window.preset_actions["side"].trigger()
    assert (camera.azimuth, camera.elevation) == (0.0, 0.0)
    window.preset_actions["3d"].trigger()
    start = camera.azimuth
    window.rotate_action.setChecked(True)
    qtbot.waitUntil(lambda: camera.azimuth != start, timeout=3000)
    window.rotate_action.setChecked(False)


def test_add_dock_and_screenshot(window: Any, qtbot: Any, tmp_path: Path, screenshot_dir: Path) -> None:
    dock = window.add_dock(QLabel("luminosity"), "Luminosity", Qt.DockWidgetArea.BottomDockWidgetArea)
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert dock.toggleViewAction() in window._view_menu().actions()
    dock.close()

    qtbot.wait(200)
    path = window.save_screenshot()
    assert path is not None
    assert path.parent == tmp_path
    image = QImage(str(path))
    w, h = window.detector.canvas.size
    assert (image.width(), image.height()) == (2 * w, 2 * h)
    converted = image.convertToFormat(QImage.Format.Format_RGB888)  # keep it alive while read
    rgb = np.frombuffer(converted.constBits(), np.uint8).copy()
    rgb = rgb.reshape(2 * h, -1)[:, : 2 * w * 3].reshape(2 * h, 2 * w, 3).astype(int)
    assert (np.abs(rgb - rgb[0, 0]).sum(axis=-1) > 12).mean() > 0.05  # the detector is in the picture

    assert window.grab().save(str(screenshot_dir / "main_window.png"))

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert window.save_screenshot(blocked / "x.png") is None
    assert "not saved" in window.statusBar().currentMessage()


def run_gui(*args: str, display: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if not display:
        for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
            env.pop(key, None)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "gui", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_gui_command_opens_the_window_with_wires(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    result = run_gui("--cdc-wires", "--screenshot", str(out), display=True)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert image.width() >= 1200
    assert image.height() >= 700


def test_gui_without_display_says_what_to_do() -> None:
    result = run_gui(display=False)
    assert result.returncode == 2
    assert "no display found" in result.stderr
    assert "Traceback" not in result.stderr


def test_wires_toggle_draws_the_cdc_sense_wires(qtbot: Any, tmp_path: Path) -> None:
    from geometry.detector import build_detector
    from panels.main_window import MainWindow

    parts = build_detector(cdc_wires=True)
    win = MainWindow(
        parts, {kind: detector_outlines(kind) for kind in ("rphi", "rz")}, screenshot_dir=tmp_path
    )
    qtbot.addWidget(win)
    cdc = win.detector.part("CDC")
    assert win.controls.wires.isEnabled()
    assert not cdc.wires.visible
    win.controls.wires.setChecked(True)
    assert cdc.wires.visible
    assert len(cdc.wires.pos) < 2 * 0.8 * 14336  # the quarter cut removes the wires inside the wedge
    win.controls.cutaway_radios["none"].setChecked(True)
    assert len(cdc.wires.pos) == 2 * 14336
