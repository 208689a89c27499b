"""The main window: the 3D detector in the centre, r-phi and r-z projections and the controls in docks.

Other panels join with ``add_dock(widget, title, area)``; overlays parent their visuals to
``window.detector.view.scene`` (3D) or ``window.projections[kind].view.scene`` (2D).

Keyboard: every shortcut is made with ``add_shortcut(key, callback, text)`` and listed in
Help > Keyboard shortcuts. The window's own: camera presets 1/2/3, R rotate, F11 full screen,
Ctrl+S screenshot, Ctrl+E export PNG (4K), Ctrl+J Phoenix JSON of the shown event, Ctrl+O open
(several files: one data set), Ctrl+Shift+O open a folder, Right/N and Left/P next and previous
event; the last four only emit ``open_requested``, ``open_folder_requested`` and ``navigate(+1/-1)``
for the event browser to act on.

Settings: ``restore_settings()`` (call it once every dock is added) and ``save_settings()`` (also
run on close) keep the window geometry and dock layout, each subdetector's visibility and opacity,
the cutaway, the track colour mode and the theme (View > Theme: dark or light) in a ``QSettings``
(an INI file given to the constructor in tests).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QMainWindow,
    QRadioButton,
    QScrollArea,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from vispy import app as vispy_app

from displays.palette import THEMES, PaletteError, palette
from displays.parts import CUTAWAYS
from displays.projections import PROJECTIONS, ProjectionView
from displays.view3d import CAMERA_PRESETS, DetectorView3D
from geometry.mesh import Part
from panels.icons import app_icon, icon
from panels.theme import Theme, applied_theme, apply_theme, current_theme

log = logging.getLogger(__name__)

CUTAWAY_LABELS = {"none": "Full detector", "wedge": "Quarter cut", "half": "Upper half removed"}
COLOR_MODES = {"charge": "Charge", "pid": "Particle identification", "momentum": "Momentum"}
EXPORT_SIZE = (3840, 2160)  # Ctrl+E: a 4K still of the 3D view


def default_settings() -> QSettings:
    """The user's settings file (INI, in the platform's configuration directory)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Belle II", "display")


PRESET_LABELS = {"3d": "3D", "side": "Side (r-z)", "end": "End (x-y)"}
PRESET_ICONS = {"3d": "view-3d", "side": "view-side", "end": "view-end"}
ROTATION_STEP_DEG = 0.6  # per frame of the 30 Hz turntable: one turn in 20 s


def _swatch(rgba: Sequence[float] | np.ndarray) -> QPixmap:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor.fromRgbF(float(rgba[0]), float(rgba[1]), float(rgba[2])))
    return pixmap


class DetectorControls(QWidget):
    """Per-subdetector visibility and opacity, the cutaway and the CDC wires of one 3D view."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        detector = window.detector
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        parts_box = QGroupBox("Subdetectors")
        grid = QGridLayout(parts_box)
        grid.setColumnStretch(2, 1)
        # a heading over the columns; each slider is named for its subdetector (its row's check box,
        # tooltip and accessible name) and shows its value: "CDC ——o—— 15 %"
        for col, text in ((1, "shown"), (2, "opacity")):
            heading = QLabel(text)
            heading.setObjectName("columnHeading")
            grid.addWidget(heading, 0, col)
        self.checkboxes: dict[str, QCheckBox] = {}
        self.sliders: dict[str, QSlider] = {}
        self.opacity_labels: dict[str, QLabel] = {}
        for row, (name, visual) in enumerate(detector.parts.items(), start=1):
            swatch = QLabel()
            swatch.setPixmap(_swatch(visual.model.base_color))
            check = QCheckBox(name)
            check.setToolTip(f"{visual.label}: {visual.model.count} elements")
            check.setChecked(visual.visible)
            check.toggled.connect(lambda on, n=name: window.set_part_visible(n, on))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(round(100 * visual.model.opacity))
            slider.setToolTip(f"{name} opacity ({visual.label})")
            slider.setAccessibleName(f"{name} opacity")
            value = QLabel()
            value.setToolTip(f"{name} opacity")
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("100 %"))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            slider.valueChanged.connect(lambda v, n=name: detector.set_part_opacity(n, v / 100.0))
            slider.valueChanged.connect(lambda v, n=name, label=value: label.setText(f"{v} %"))
            value.setText(f"{slider.value()} %")
            grid.addWidget(swatch, row, 0)
            grid.addWidget(check, row, 1)
            grid.addWidget(slider, row, 2)
            grid.addWidget(value, row, 3)
            self.checkboxes[name] = check
            self.sliders[name] = slider
            self.opacity_labels[name] = value
        layout.addWidget(parts_box)

        cut_box = QGroupBox("Cutaway")
        cut_layout = QVBoxLayout(cut_box)
        self.cutaway_buttons = QButtonGroup(self)
        self.cutaway_radios: dict[str, QRadioButton] = {}
        for name in CUTAWAYS:
            radio = QRadioButton(CUTAWAY_LABELS.get(name, name))
            radio.setChecked(detector.cutaway == CUTAWAYS[name])
            radio.toggled.connect(lambda on, n=name: self._cutaway_toggled(n, on))
            self.cutaway_buttons.addButton(radio)
            self.cutaway_radios[name] = radio
            cut_layout.addWidget(radio)
        layout.addWidget(cut_box)

        self.wires = QCheckBox("CDC sense wires (14336)")
        self.wires.setEnabled(detector.has_wires)
        if not detector.has_wires:
            self.wires.setToolTip("this geometry was built without wires")
        self.wires.toggled.connect(detector.set_wires_visible)
        layout.addWidget(self.wires)
        layout.addStretch(1)

    def _cutaway_toggled(self, name: str, on: bool) -> None:
        if on:
            self.window_.detector.set_cutaway(name)


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: every shortcut of the window, as a two-column table."""

    def __init__(self, shortcuts: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(shortcuts), 2)
        self.table.setHorizontalHeaderLabels(["Key", "Action"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (key, text) in enumerate(shortcuts):
            self.table.setItem(row, 0, QTableWidgetItem(key))
            self.table.setItem(row, 1, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 28 * len(shortcuts) + 110)

    def rows(self) -> list[tuple[str, str]]:
        cells = [[self.table.item(r, c) for c in (0, 1)] for r in range(self.table.rowCount())]
        return [(key.text() if key else "", text.text() if text else "") for key, text in cells]


class MainWindow(QMainWindow):
    """3D view central; projections, controls and other rooms' panels in docks."""

    navigate = Signal(int)  # +1 next event, -1 previous (Right/N, Left/P)
    open_requested = Signal()  # Ctrl+O
    open_folder_requested = Signal()  # File > Open folder (Ctrl+Shift+O)
    color_mode_changed = Signal(str)  # "charge", "pid" or "momentum"
    theme_changed = Signal(object)  # the Theme now shown

    def __init__(
        self,
        parts: Sequence[Part],
        outlines: Mapping[str, Mapping[str, np.ndarray]],
        *,
        screenshot_dir: Path | None = None,
        cutaway: str = "wedge",
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Belle II: detector and events")
        self.setWindowIcon(app_icon())
        self.screenshot_dir = screenshot_dir or Path.cwd() / "screenshots"
        self.settings = settings if settings is not None else default_settings()
        self.shortcuts: list[tuple[str, str]] = []  # (key, what it does), in the order added
        self.color_mode = "charge"
        self.theme = current_theme()
        self.icons: dict[QAction, str] = {}  # action -> icon name, redrawn in each theme's text colour
        self.event_provider: Callable[[], Any] | None = None  # the shown event, for Ctrl+J
        app = vispy_app.use_app("pyside6")
        self.detector = DetectorView3D(parts, app=app, cutaway=cutaway, size=(1100, 800))
        self.setCentralWidget(self.detector.canvas.native)
        self.projections: dict[str, ProjectionView] = {}
        self.docks: dict[str, QDockWidget] = {}
        for kind in ("rphi", "rz"):
            view = ProjectionView(kind, outlines.get(kind, {}), app=app, size=(420, 360))
            self.projections[kind] = view
            view.canvas.native.setToolTip(view.units)
            self.add_dock(view.canvas.native, PROJECTIONS[kind].title, Qt.DockWidgetArea.RightDockWidgetArea)

        self.controls = DetectorControls(self)
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        self.add_dock(scroll, "Detector", Qt.DockWidgetArea.LeftDockWidgetArea)

        self._rotation = QTimer(self)
        self._rotation.setInterval(33)
        self._rotation.timeout.connect(self._turn)
        self._build_toolbar()
        self._build_menus()
        self._follow_theme(self.theme)
        n_crystals = self.detector.parts["ECL"].model.n_elements if "ECL" in self.detector.parts else 0
        self.statusBar().showMessage(
            f"{len(self.detector.parts)} subdetectors · {n_crystals} ECL crystals · "
            "drag to rotate, wheel to zoom, shift-drag to pan"
        )

    @classmethod
    def from_geometry(cls, **kwargs: Any) -> MainWindow:
        """The window on the full Belle II geometry (CDC wires built, shown on request)."""
        from geometry.detector import build_detector
        from geometry.outlines import outlines

        parts = build_detector(cdc_wires=True)
        return cls(parts, {kind: outlines(kind) for kind in ("rphi", "rz")}, **kwargs)

    # -- docks --------------------------------------------------------------------------------
    def add_dock(
        self, widget: QWidget, title: str, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Put another panel in a dock; its show/hide action joins the View menu."""
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        return self.place_dock(dock, area)

    def place_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Add a ready-made dock widget; its show/hide action joins the View menu."""
        self.addDockWidget(area, dock)
        self.docks[dock.windowTitle()] = dock
        self._view_menu().addAction(dock.toggleViewAction())
        return dock

    def _view_menu(self) -> Any:
        if not hasattr(self, "_menu_view"):
            self._menu_view = self.menuBar().addMenu("&View")
        return self._menu_view

    # -- actions ------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Camera")
        bar.setObjectName("Camera")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)  # the words stay
        self.toolbar = bar
        self.preset_actions: dict[str, QAction] = {}
        for i, name in enumerate(CAMERA_PRESETS, start=1):
            label = PRESET_LABELS.get(name, name)
            action = self.add_shortcut(str(i), partial(self.set_camera_preset, name), f"Camera: {label}")
            action.setText(label)
            action.setToolTip(f"camera: {label} ({i})")
            self.icons[action] = PRESET_ICONS.get(name, "view-3d")
            bar.addAction(action)
            self.preset_actions[name] = action
        bar.addSeparator()
        self.rotate_action = self.add_shortcut("R", None, "Turn the detector slowly")
        self.rotate_action.setText("Rotate")
        self.rotate_action.setCheckable(True)
        self.rotate_action.setToolTip("turn the detector slowly (R), for the big screen")
        self.rotate_action.toggled.connect(self.set_rotating)
        self.icons[self.rotate_action] = "rotate"
        bar.addAction(self.rotate_action)
        self.screenshot_action = self.add_shortcut(
            "Ctrl+S", self.save_screenshot, "Screenshot of the 3D view (twice its size)"
        )
        self.screenshot_action.setText("Screenshot")
        self.screenshot_action.setToolTip("save the 3D view as PNG at twice its size (Ctrl+S)")
        self.icons[self.screenshot_action] = "screenshot"
        bar.addAction(self.screenshot_action)

    def _build_menus(self) -> None:
        files = self.file_menu = self.menuBar().addMenu("&File")
        self.open_action = self.add_shortcut(
            "Ctrl+O", self.open_requested.emit, "Open event files (several: one data set)"
        )
        self.open_action.setText("Open…")
        self.open_folder_action = self.add_shortcut(
            "Ctrl+Shift+O", self.open_folder_requested.emit, "Open a folder of event files as one data set"
        )
        self.open_folder_action.setText("Open folder…")
        self.export_png_action = self.add_shortcut(
            "Ctrl+E", self.export_png, f"Export the 3D view as PNG ({EXPORT_SIZE[0]}×{EXPORT_SIZE[1]})"
        )
        self.export_phoenix_action = self.add_shortcut(
            "Ctrl+J", self.export_phoenix, "Export the shown event as Phoenix JSON"
        )
        self.icons[self.open_action] = "open"
        self.icons[self.export_png_action] = "export-png"
        self.icons[self.export_phoenix_action] = "export-phoenix"
        for action in (
            self.open_action,
            self.open_folder_action,
            self.export_png_action,
            self.export_phoenix_action,
            self.screenshot_action,
        ):
            files.addAction(action)
        files.addSeparator()
        files.addAction(self.add_shortcut("Ctrl+Q", self.close, "Quit (the layout and settings are kept)"))
        self.next_action = self.add_shortcut(("Right", "N"), lambda: self.navigate.emit(+1), "Next event")
        self.previous_action = self.add_shortcut(
            ("Left", "P"), lambda: self.navigate.emit(-1), "Previous event"
        )
        view = self._view_menu()
        self.full_screen_action = self.add_shortcut("F11", self.toggle_full_screen, "Full screen on / off")
        view.addAction(self.full_screen_action)
        colours = view.addMenu("Colour tracks by")
        group = QActionGroup(self)
        self.color_actions: dict[str, QAction] = {}
        for mode, label in COLOR_MODES.items():
            action = QAction(label, self, checkable=True)
            action.setChecked(mode == self.color_mode)
            action.triggered.connect(lambda _=False, m=mode: self.set_color_mode(m))
            group.addAction(action)
            colours.addAction(action)
            self.color_actions[mode] = action
        themes = view.addMenu("Theme")
        theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(palette().theme(name).get("label", name), self, checkable=True)
            action.setChecked(name == self.theme.name)
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            theme_group.addAction(action)
            themes.addAction(action)
            self.theme_actions[name] = action
        view.addSeparator()
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.add_shortcut("F1", self.show_shortcuts, "This list of keyboard shortcuts"))

    # -- shortcuts ----------------------------------------------------------------------------
    def add_shortcut(
        self, key: str | Sequence[str], callback: Callable[[], Any] | None, text: str
    ) -> QAction:
        """An action on ``key`` (or several keys) anywhere in the window, listed in Help > Keyboard
        shortcuts. ``callback`` takes no argument (None: connect the returned action yourself).
        A text field with the focus keeps the keys it edits with (arrows, letters)."""
        keys = [key] if isinstance(key, str) else list(key)
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if callback is not None:
            action.triggered.connect(lambda _=False: callback())
        self.addAction(action)
        shown = " or ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        self.shortcuts.append((shown, text))
        return action

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.shortcuts, self)
        dialog.show()
        return dialog

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # -- messages -----------------------------------------------------------------------------
    def report(self, text: str, timeout_ms: int = 10000) -> None:
        """A problem in one line: in the status bar, and logged (so the Log dock keeps it)."""
        log.warning("%s", text)
        self.statusBar().showMessage(text, timeout_ms)

    # -- exports ------------------------------------------------------------------------------
    def _ask_path(self, title: str, name: str, pattern: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(self.screenshot_dir / name), pattern)
        return Path(path) if path else None

    def export_png(self, path: Path | None = None, size: tuple[int, int] = EXPORT_SIZE) -> Path | None:
        """The 3D view as a PNG of ``size`` (4K by default); asks where when no path is given."""
        from panels.files import save_image

        if path is None:
            path = self._ask_path("Export PNG", time.strftime("belle2-%Y%m%d-%H%M%S.png"), "PNG (*.png)")
            if path is None:
                return None
        try:
            save_image(self.detector.render(size=size), path)
        except OSError as exc:  # names the file and the reason
            self.report(f"PNG not saved: {exc}")
            return None
        self.statusBar().showMessage(f"PNG saved ({size[0]}×{size[1]}): {path}", 10000)
        return path

    def export_phoenix(self, path: Path | None = None) -> Path | None:
        """The shown event (from ``event_provider``) as Phoenix JSON; asks where when no path is given."""
        from displays.event_render import ExportError, write_phoenix

        event = self.event_provider() if self.event_provider is not None else None
        if event is None:
            self.statusBar().showMessage("no event shown: open a file or a stream first", 10000)
            return None
        if path is None:
            name = f"event_{event.event_file_stem()}.json"
            path = self._ask_path("Export Phoenix JSON", name, "Phoenix JSON (*.json)")
            if path is None:
                return None
        try:
            write_phoenix(path, event)
        except ExportError as exc:
            self.report(f"Phoenix JSON not saved: {exc}")
            return None
        self.statusBar().showMessage(f"Phoenix JSON saved: {path}", 10000)
        return path

    # -- settings -----------------------------------------------------------------------------
    def set_color_mode(self, mode: str) -> None:
        """Colour tracks by charge, PID or momentum; the event views follow ``color_mode_changed``."""
        if mode not in COLOR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}; choose one of {', '.join(COLOR_MODES)}")
        self.color_mode = mode
        self.color_actions[mode].setChecked(True)
        self.color_mode_changed.emit(mode)

    def set_theme(self, name: str, again: bool = True) -> Theme:
        """Switch the application to the theme ``name`` ("dark" or "light"), live, and keep it.

        With ``again`` false a theme the application has already (``apply_theme``, before this window
        was built) is not applied to it once more: restyling every widget of the built window took a
        tenth of a second of the start and changed nothing."""
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        applied = applied_theme()
        kept = not again and applied is not None and applied.name == name and self.theme is applied
        theme = applied if kept and applied is not None else apply_theme(app, name)
        self._follow_theme(theme)
        self.settings.setValue("view/theme", name)
        self.theme_changed.emit(theme)
        return theme

    def _follow_theme(self, theme: Theme) -> None:
        """The window's own theme colours: the detector canvases, the icons in the text colour."""
        self.theme = theme
        self.detector.set_canvas_colors(theme.canvas)
        for view in self.projections.values():
            view.set_canvas_colors(theme.canvas)
        for action, name in self.icons.items():
            action.setIcon(icon(name, theme.color("text")))
        if hasattr(self, "theme_actions"):
            self.theme_actions[theme.name].setChecked(True)

    def save_settings(self) -> None:
        """Window geometry and docks, subdetector visibility and opacity, cutaway, colour mode, theme."""
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        for name, visual in self.detector.parts.items():
            s.setValue(f"detector/{name}/visible", bool(visual.visible))
            s.setValue(f"detector/{name}/opacity", float(visual.model.opacity))
        cutaway = next((k for k, v in CUTAWAYS.items() if v == self.detector.cutaway), "wedge")
        s.setValue("detector/cutaway", cutaway)
        s.setValue("event/color_mode", self.color_mode)
        s.setValue("view/theme", self.theme.name)
        s.sync()

    def restore_settings(self) -> None:
        """Apply what ``save_settings`` kept (unknown or damaged values are ignored); call it after
        every dock has been added, so their places come back too."""
        s = self.settings
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        for name in self.detector.parts:
            visible = s.value(f"detector/{name}/visible")
            if visible is not None:
                self.controls.checkboxes[name].setChecked(str(visible).lower() in ("true", "1"))
            opacity = _number(s.value(f"detector/{name}/opacity"))
            if opacity is not None:
                self.controls.sliders[name].setValue(round(100 * min(max(opacity, 0.0), 1.0)))
        cutaway = s.value("detector/cutaway")
        if cutaway in self.controls.cutaway_radios:
            self.controls.cutaway_radios[cutaway].setChecked(True)
        mode = s.value("event/color_mode")
        if mode in COLOR_MODES:
            self.set_color_mode(str(mode))
        theme = s.value("view/theme")
        try:
            self.set_theme(str(theme) if theme in THEMES else self.theme.name, again=False)
        except PaletteError as exc:  # a damaged style sheet: keep the look there is, say why
            self.statusBar().showMessage(f"theme not applied: {exc}", 10000)

    def set_camera_preset(self, name: str) -> None:
        self.detector.set_camera_preset(name)

    def set_part_visible(self, name: str, visible: bool) -> None:
        """Show or hide a subdetector in the 3D view and both projections."""
        self.detector.set_part_visible(name, visible)
        for view in self.projections.values():
            view.set_part_visible(name, visible)

    def set_rotating(self, on: bool) -> None:
        if on:
            self._rotation.start()
        else:
            self._rotation.stop()

    def _turn(self) -> None:
        camera = self.detector.view.camera
        camera.azimuth = (camera.azimuth + ROTATION_STEP_DEG + 180.0) % 360.0 - 180.0

    def save_screenshot(self, path: Path | None = None) -> Path | None:
        """Write the 3D view as PNG (twice the on-screen size); say where in the status bar."""
        from panels.files import save_image

        if path is None:
            path = self.screenshot_dir / time.strftime("belle2-%Y%m%d-%H%M%S.png")
        w, h = self.detector.canvas.size
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_image(self.detector.render(size=(2 * w, 2 * h)), path)
        except OSError as exc:
            self.report(f"screenshot not saved: {exc}")
            return None
        self.statusBar().showMessage(f"screenshot saved: {path}", 10000)
        return path

    def closeEvent(self, event: Any) -> None:
        self._rotation.stop()
        self.save_settings()
        super().closeEvent(event)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
