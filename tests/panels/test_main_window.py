"""The main window: controls drive the views, docks join, screenshots are written."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from displays.parts import CUTAWAYS
from tests.conftest import run_main
from tests.displays.toy_detector import detector_outlines, detector_parts

pytestmark = pytest.mark.gl


def make_window(qtbot: Any, tmp_path: Path, **kwargs: Any) -> Any:
    from PySide6.QtCore import QSettings

    from panels.main_window import MainWindow

    outlines = {kind: detector_outlines(kind) for kind in ("rphi", "rz")}
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(detector_parts(), outlines, screenshot_dir=tmp_path, settings=settings, **kwargs)
    qtbot.addWidget(win)
    return win


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Any:
    from panels.theme import apply_theme

    apply_theme(qtbot_app(qtbot))
    win = make_window(qtbot, tmp_path)
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
    # every slider says what it controls: its row's check box, its accessible name, its value
    grid = controls.sliders["ECL"].parentWidget().layout()
    for name, slider in controls.sliders.items():
        row = grid.getItemPosition(grid.indexOf(slider))[0]
        assert grid.itemAtPosition(row, 1).widget() is controls.checkboxes[name]
        assert grid.itemAtPosition(row, 3).widget() is controls.opacity_labels[name]
        assert slider.accessibleName() == f"{name} opacity"
        assert name in slider.toolTip()
        assert controls.opacity_labels[name].text() == f"{slider.value()} %"
    assert controls.opacity_labels["ECL"].text() == "25 %"

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


def run_gui(*args: str, display: bool, config_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_main(
        "gui",
        *args,
        drop_env=() if display else ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"),
        # the settings the window saves on closing go there, not to the user's
        set_env={"XDG_CONFIG_HOME": str(config_home)} if config_home is not None else None,
        timeout=120,
    )


def test_gui_command_opens_the_window_with_wires(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    result = run_gui("--cdc-wires", "--screenshot", str(out), display=True, config_home=tmp_path)
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
    from PySide6.QtCore import QSettings

    from geometry.detector import build_detector
    from panels.main_window import MainWindow

    parts = build_detector(cdc_wires=True)
    win = MainWindow(
        parts,
        {kind: detector_outlines(kind) for kind in ("rphi", "rz")},
        screenshot_dir=tmp_path,
        settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
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


def test_settings_come_back_in_the_next_session(qtbot: Any, tmp_path: Path) -> None:
    first = make_window(qtbot, tmp_path)
    first.resize(1300, 820)
    first.show()
    qtbot.waitExposed(first)
    first.add_dock(QLabel("histograms"), "Histograms", Qt.DockWidgetArea.BottomDockWidgetArea)
    first.docks["r-z (side view)"].hide()
    first.controls.checkboxes["BKLM"].setChecked(False)
    first.controls.sliders["ECL"].setValue(60)
    first.controls.cutaway_radios["half"].setChecked(True)
    first.set_color_mode("pid")
    first.close()  # closing saves
    text = (tmp_path / "settings.ini").read_text()
    assert "cutaway=half" in text
    assert "color_mode=pid" in text

    second = make_window(qtbot, tmp_path)
    colours: list[str] = []
    second.color_mode_changed.connect(colours.append)
    second.add_dock(QLabel("histograms"), "Histograms", Qt.DockWidgetArea.RightDockWidgetArea)
    assert second.detector.part("BKLM").visible
    second.restore_settings()
    second.show()
    qtbot.waitExposed(second)
    assert not second.detector.part("BKLM").visible
    assert not second.controls.checkboxes["BKLM"].isChecked()
    assert not second.projections["rz"].outlines["BKLM"].visible  # the projections follow
    assert second.detector.part("ECL").model.opacity == pytest.approx(0.60)
    assert second.detector.cutaway == CUTAWAYS["half"]
    assert second.controls.cutaway_radios["half"].isChecked()
    assert colours == ["pid"]  # the event views learn the colour mode
    assert second.color_actions["pid"].isChecked()
    assert not second.docks["r-z (side view)"].isVisible()
    assert second.dockWidgetArea(second.docks["Histograms"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert (second.width(), second.height()) == (1300, 820)


def test_damaged_settings_are_ignored(qtbot: Any, tmp_path: Path) -> None:
    (tmp_path / "settings.ini").write_text(
        "[detector]\ncutaway=sideways\nECL\\opacity=lots\n[event]\ncolor_mode=rainbow\n"
    )
    win = make_window(qtbot, tmp_path)
    win.restore_settings()
    assert win.detector.cutaway == CUTAWAYS["wedge"]
    assert win.color_mode == "charge"
    assert win.detector.part("ECL").model.opacity == pytest.approx(0.35)


def test_shortcuts_act_and_are_listed(window: Any, qtbot: Any, tmp_path: Path, screenshot_dir: Path) -> None:
    from events.generator import generate

    steps: list[int] = []
    opened: list[bool] = []
    window.navigate.connect(steps.append)
    window.open_requested.connect(lambda: opened.append(True))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)  # window shortcuts need the active window
    window.detector.canvas.native.setFocus()
    for key in (Qt.Key.Key_Right, Qt.Key.Key_N, Qt.Key.Key_Left, Qt.Key.Key_P):
        qtbot.keyClick(window.detector.canvas.native, key)
    assert steps == [1, 1, -1, -1]
    qtbot.keyClick(window.detector.canvas.native, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert opened == [True]
    camera = window.detector.view.camera
    qtbot.keyClick(window.detector.canvas.native, Qt.Key.Key_2)
    assert (camera.azimuth, camera.elevation) == (0.0, 0.0)  # the side view

    calls: list[str] = []
    window.add_shortcut("Ctrl+K", lambda: calls.append("k"), "Do the thing")
    qtbot.keyClick(window.detector.canvas.native, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert calls == ["k"]

    dialog = window.show_shortcuts()
    rows = dict(dialog.rows())
    for shortcut in ("Right or N", "Left or P", "F11", "Ctrl+O", "Ctrl+E", "Ctrl+J", "1", "2", "3", "Ctrl+K"):
        assert shortcut in rows, shortcut
    assert rows["Ctrl+K"] == "Do the thing"
    qtbot.wait(50)
    dialog.grab().save(str(screenshot_dir / "main_window_shortcuts.png"))
    dialog.close()

    # Ctrl+J without an event says so; with one it writes Phoenix JSON
    assert window.export_phoenix(tmp_path / "e.json") is None
    assert "no event shown" in window.statusBar().currentMessage()
    event = generate(1, seed=3)
    window.event_provider = lambda: event
    path = window.export_phoenix(tmp_path / "e.json")
    assert path is not None
    assert "Experiment 0/Run 0/Event 1" in path.read_text()

    png = window.export_png(tmp_path / "still.png", size=(1280, 720))
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1280, 720)


def test_f11_toggles_full_screen(window: Any, qtbot: Any) -> None:
    assert not window.isFullScreen()
    window.full_screen_action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=3000)
    window.full_screen_action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=3000)
