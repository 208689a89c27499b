"""Dark and light themes: every dock follows, plots and canvases too, the choice outlives a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from displays.palette import THEMES, PaletteError, palette
from tests.displays.toy_detector import detector_outlines, detector_parts

pytestmark = pytest.mark.gl


def pixels(image: QImage) -> np.ndarray:
    """(h, w, 3) RGB of a grabbed image."""
    img = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    raw = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)[:, : 4 * w]
    return raw.reshape(h, w, 4)[:, :, [2, 1, 0]].astype(int)


def opaque_pixels(image: QImage) -> np.ndarray:
    """RGB of the fully opaque pixels of an icon."""
    img = image.convertToFormat(QImage.Format.Format_ARGB32)
    w, h = img.width(), img.height()
    raw = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)[:, : 4 * w]
    bgra = raw.reshape(-1, 4).astype(int)
    return bgra[bgra[:, 3] == 255][:, [2, 1, 0]]


def rgb(hex_colour: str) -> np.ndarray:
    c = QColor(hex_colour)
    return np.array([c.red(), c.green(), c.blue()])


def lightness(image: np.ndarray) -> float:
    """Median lightness (0..255) of a picture: what most of it looks like."""
    return float(np.median(image.max(axis=2) / 2 + image.min(axis=2) / 2))


def app() -> Any:
    from PySide6.QtWidgets import QApplication

    instance = QApplication.instance()
    assert isinstance(instance, QApplication)
    return instance


@pytest.fixture
def dark_again() -> Any:
    """Tests switch the whole application's theme; the next test finds the dark one again."""
    yield
    from panels.theme import apply_theme

    apply_theme(app(), "dark")


def make_window(qtbot: Any, settings_file: Path) -> Any:
    from PySide6.QtCore import QSettings

    from panels.main_window import MainWindow

    outlines = {kind: detector_outlines(kind) for kind in ("rphi", "rz")}
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    win = MainWindow(detector_parts(), outlines, screenshot_dir=settings_file.parent, settings=settings)
    qtbot.addWidget(win)
    return win


def test_both_themes_render_every_dock(qtbot: Any, tmp_path: Path, screenshot_dir: Path, dark_again) -> None:
    from panels.app import AppConfig, Application

    application = Application(AppConfig(stream="none", settings=tmp_path / "settings.ini"))
    window = application.window
    qtbot.addWidget(window)
    window.resize(1680, 1000)
    window.show()
    qtbot.waitExposed(window)
    try:
        for name in ("dark", "light"):
            theme = window.set_theme(name)
            assert app().palette().color(app().palette().ColorRole.Window).name() == theme.color("window")
            qtbot.wait(100)
            shot = window.grab()
            for folder in (tmp_path, screenshot_dir):
                assert shot.save(str(folder / f"theme_{name}_window.png"))
            assert (lightness(pixels(shot.toImage())) < 80) == (name == "dark")
            for title, dock in window.docks.items():
                dock.show()
                dock.raise_()
                qtbot.wait(30)
                grab = dock.grab()
                grab.save(str(screenshot_dir / f"theme_{name}_dock_{dock.objectName()}.png"))
                image = pixels(grab.toImage())
                seen = lightness(image)
                assert (seen < 90) if name == "dark" else (seen > 170), f"{name}: dock {title!r} at {seen}"
            window.docks["Recoil-mass histograms"].raise_()
            window.docks["Detector"].raise_()
            qtbot.wait(100)
            window.grab().save(str(screenshot_dir / f"theme_{name}_histograms.png"))
    finally:
        application.close()


def test_histogram_plot_background_follows_the_theme(qtbot: Any, dark_again) -> None:
    from monitoring.histograms.definitions import STANDARD
    from monitoring.histograms.running import RunningHistogram
    from panels.histogram_panel import HistogramPanel
    from panels.theme import apply_theme

    apply_theme(app(), "dark")
    panel = HistogramPanel([RunningHistogram(STANDARD[0])])
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    qtbot.waitExposed(panel)
    for name in ("dark", "light", "dark"):
        theme = apply_theme(app(), name)
        qtbot.wait(50)
        image = pixels(panel.plot.grab().toImage())
        probe = image[8:20, 8:20].reshape(-1, 3)  # the top-left corner: no data, no axis
        expected = rgb(theme.color("plot_background"))
        assert (np.abs(probe - expected).max(axis=1) <= 2).all(), f"{name}: {probe[0]} != {expected}"
        axis_text = panel.plot.getAxis("left").textPen().color().name()
        assert axis_text == theme.color("plot_foreground")


def test_detector_canvases_follow_the_theme(qtbot: Any, tmp_path: Path, dark_again) -> None:
    win = make_window(qtbot, tmp_path / "settings.ini")
    win.show()
    qtbot.waitExposed(win)
    for name in ("light", "dark"):
        theme = win.set_theme(name)
        expected = np.round(np.asarray(theme.canvas.background[:3]) * 255)
        image = win.detector.render()
        np.testing.assert_allclose(image[4, 4, :3], expected, atol=2)  # a corner of the 3D view
        for view in win.projections.values():
            drawn = view.render()[..., :3]
            np.testing.assert_allclose(drawn[10, -10], expected, atol=2)
            outlines = (np.abs(drawn - expected).max(axis=2) > 40).mean()
            assert outlines > 0.01, f"{name}: the {view.kind} outlines are missing"
        assert not win.windowIcon().isNull()  # the application icon
        # the toolbar draws its icons in the theme's text colour
        strokes = opaque_pixels(win.preset_actions["3d"].icon().pixmap(24, 24).toImage())
        assert len(strokes) > 20
        assert (np.abs(strokes - rgb(theme.color("text"))).max(axis=1) <= 8).mean() > 0.9


def test_theme_choice_outlives_a_restart(qtbot: Any, tmp_path: Path, dark_again) -> None:
    settings = tmp_path / "settings.ini"
    first = make_window(qtbot, settings)
    first.restore_settings()
    assert first.theme.name == "dark"
    first.theme_actions["light"].trigger()  # View > Theme > Light
    assert first.theme.name == "light"
    first.close()
    from panels.theme import apply_theme

    apply_theme(app(), "dark")  # a new process starts dark, then reads the settings
    second = make_window(qtbot, settings)
    assert second.theme.name == "dark"
    second.restore_settings()
    assert second.theme.name == "light"
    assert second.theme_actions["light"].isChecked()
    light = palette().theme("light")
    assert app().palette().color(app().palette().ColorRole.Window).name() == light["window"]
    assert second.detector.canvas.bgcolor.hex == light["canvas"]


def test_a_damaged_setting_or_style_sheet_keeps_the_window_up(
    qtbot: Any, tmp_path: Path, monkeypatch: Any, dark_again
) -> None:
    from panels import theme as theme_module

    settings = tmp_path / "settings.ini"
    settings.write_text("[view]\ntheme=purple\n")
    win = make_window(qtbot, settings)
    win.restore_settings()  # an unknown theme is ignored
    assert win.theme.name == "dark"
    with monkeypatch.context() as patch:
        patch.setattr(theme_module, "STYLES", tmp_path / "nowhere")
        with pytest.raises(PaletteError, match="cannot read the style sheet"):
            theme_module.load_theme("light")
        other = tmp_path / "other.ini"  # the first window's settings keep the dark theme it has
        other.write_text("[view]\ntheme=light\n")
        win2 = make_window(qtbot, other)
        win2.restore_settings()
        assert "theme not applied" in win2.statusBar().currentMessage()
        assert "nowhere" in win2.statusBar().currentMessage()
    assert set(THEMES) == {"dark", "light"}


def test_restoring_the_theme_the_application_has_does_not_restyle_it(
    qtbot: Any, tmp_path: Path, monkeypatch: Any, dark_again
) -> None:
    from panels import main_window
    from panels.theme import apply_theme

    apply_theme(app(), "dark")
    win = make_window(qtbot, tmp_path / "settings.ini")  # no theme kept: the one there is
    applied: list[str] = []

    def counted(qt: Any, name: str) -> Any:
        applied.append(name)
        return apply_theme(qt, name)

    monkeypatch.setattr(main_window, "apply_theme", counted)
    followed: list[str] = []
    win.theme_changed.connect(lambda theme: followed.append(theme.name))
    win.restore_settings()
    assert applied == []  # the start restyles nothing
    assert followed == ["dark"]  # the views and the application still follow it
    assert win.settings.value("view/theme") == "dark"
    win.set_theme("dark")  # asked for: applied again
    assert applied == ["dark"]


def test_window_starts_without_pyqtgraph_and_late_plots_get_the_theme() -> None:
    """The main window's start never imports pyqtgraph; a plot made after a theme was applied, in a
    process that imported pyqtgraph only then, still gets the theme's plot colours."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from panels.main_window import MainWindow\n"
        "from panels.theme import apply_theme, load_theme\n"
        "app = QApplication([])\n"
        "apply_theme(app, 'light')\n"
        "assert 'pyqtgraph' not in sys.modules, 'pyqtgraph imported on the way to the window'\n"
        "from panels.plots import pg\n"
        "light = load_theme('light')\n"
        "for role in ('background', 'foreground'):\n"
        "    print(pg.getConfigOption(role), light.color('plot_' + role))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines()]
    assert len(rows) == 2, out.stdout
    assert all(shown == wanted for shown, wanted in rows), out.stdout


@pytest.mark.parametrize("name", ["dark", "light"])
def test_file_dialog_toolbar_icons_stand_out_from_their_buttons(
    qtbot: Any, tmp_path: Path, name: str, dark_again
) -> None:
    """Qt's own save dialog (the shift report's): its parent-folder and view buttons draw dark icons,
    which the dark theme sets on light chips; the icon differs from its button plainly in either theme."""
    from PySide6.QtWidgets import QFileDialog, QToolButton

    from panels.theme import apply_theme

    apply_theme(app(), name)
    dialog = QFileDialog(None, "Write", str(tmp_path / "x.html"), "HTML (*.html)")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    qtbot.addWidget(dialog)
    dialog.resize(640, 420)
    dialog.show()
    qtbot.waitExposed(dialog)
    for button_name in ("toParentButton", "newFolderButton", "detailModeButton"):
        button = dialog.findChild(QToolButton, button_name)
        assert button is not None, button_name
        image = pixels(button.grab().toImage())
        light = image.max(axis=2) / 2 + image.min(axis=2) / 2
        background = float(np.median(light))
        assert np.abs(light - background).max() > 90, f"{name}: {button_name} icon is lost in its button"
