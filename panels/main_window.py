"""The main window: the 3D detector in the centre, r-phi and r-z projections and the controls in docks.

Other panels join with ``add_dock(widget, title, area)``; overlays parent their visuals to
``window.detector.view.scene`` (3D) or ``window.projections[kind].view.scene`` (2D).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDockWidget,
    QGridLayout,
    QGroupBox,
    QLabel,
    QMainWindow,
    QRadioButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from vispy import app as vispy_app

from displays.parts import CUTAWAYS
from displays.projections import PROJECTIONS, ProjectionView
from displays.view3d import CAMERA_PRESETS, DetectorView3D
from geometry.mesh import Part

CUTAWAY_LABELS = {"none": "Full detector", "wedge": "Quarter cut", "half": "Upper half removed"}
PRESET_LABELS = {"3d": "3D", "side": "Side (r-z)", "end": "End (x-y)"}
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
        self.checkboxes: dict[str, QCheckBox] = {}
        self.sliders: dict[str, QSlider] = {}
        for row, (name, visual) in enumerate(detector.parts.items()):
            swatch = QLabel()
            swatch.setPixmap(_swatch(visual.model.base_color))
            check = QCheckBox(name)
            check.setToolTip(f"{visual.label}: {visual.model.count} elements")
            check.setChecked(visual.visible)
            check.toggled.connect(lambda on, n=name: window.set_part_visible(n, on))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(round(100 * visual.model.opacity))
            slider.setToolTip(f"{name} opacity")
            slider.valueChanged.connect(lambda v, n=name: detector.set_part_opacity(n, v / 100.0))
            grid.addWidget(swatch, row, 0)
            grid.addWidget(check, row, 1)
            grid.addWidget(slider, row, 2)
            self.checkboxes[name] = check
            self.sliders[name] = slider
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


class MainWindow(QMainWindow):
    """3D view central; projections, controls and other rooms' panels in docks."""

    def __init__(
        self,
        parts: Sequence[Part],
        outlines: Mapping[str, Mapping[str, np.ndarray]],
        *,
        screenshot_dir: Path | None = None,
        cutaway: str = "wedge",
    ) -> None:
        super().__init__()
        self.setWindowTitle("Belle II: detector and events")
        self.screenshot_dir = screenshot_dir or Path.cwd() / "screenshots"
        app = vispy_app.use_app("pyside6")
        self.detector = DetectorView3D(parts, app=app, cutaway=cutaway, size=(1100, 800))
        self.setCentralWidget(self.detector.canvas.native)
        self.projections: dict[str, ProjectionView] = {}
        self.docks: dict[str, QDockWidget] = {}
        for kind in ("rphi", "rz"):
            view = ProjectionView(kind, outlines.get(kind, {}), app=app, size=(420, 360))
            self.projections[kind] = view
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
        self.addDockWidget(area, dock)
        self.docks[title] = dock
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
        self.preset_actions: dict[str, QAction] = {}
        for i, name in enumerate(CAMERA_PRESETS, start=1):
            action = QAction(PRESET_LABELS.get(name, name), self)
            action.setShortcut(QKeySequence(str(i)))
            action.setToolTip(f"camera: {PRESET_LABELS.get(name, name)} ({i})")
            action.triggered.connect(lambda _=False, n=name: self.set_camera_preset(n))
            bar.addAction(action)
            self.preset_actions[name] = action
        bar.addSeparator()
        self.rotate_action = QAction("Rotate", self, checkable=True)
        self.rotate_action.setShortcut(QKeySequence("R"))
        self.rotate_action.setToolTip("turn the detector slowly (R), for the big screen")
        self.rotate_action.toggled.connect(self.set_rotating)
        bar.addAction(self.rotate_action)
        self.screenshot_action = QAction("Screenshot", self)
        self.screenshot_action.setShortcut(QKeySequence.StandardKey.Save)
        self.screenshot_action.setToolTip("save the 3D view as PNG at twice its size (Ctrl+S)")
        self.screenshot_action.triggered.connect(self.save_screenshot)
        bar.addAction(self.screenshot_action)

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
        from vispy.io import write_png

        if path is None:
            path = self.screenshot_dir / time.strftime("belle2-%Y%m%d-%H%M%S.png")
        w, h = self.detector.canvas.size
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            image = self.detector.render(size=(2 * w, 2 * h))
            write_png(str(path), np.ascontiguousarray(image[..., :3]))
        except OSError as exc:
            self.statusBar().showMessage(f"screenshot not saved: {path}: {exc.strerror or exc}", 10000)
            return None
        self.statusBar().showMessage(f"screenshot saved: {path}", 10000)
        return path

    def closeEvent(self, event: Any) -> None:
        self._rotation.stop()
        super().closeEvent(event)
