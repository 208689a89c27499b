"""The θ-φ map dock: the unrolled ECL (``displays.ecl_map.EclMapView``) and its one switch."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from displays.ecl_map import EclMapView, SelectCallback
from displays.scene import Scene
from displays.style import CanvasColors


class EclMapPanel(QtWidgets.QWidget):
    """The map of one scene; a click on a lit crystal selects its cluster through ``on_select``."""

    def __init__(
        self,
        scene: Scene,
        on_select: SelectCallback | None = None,
        *,
        app: Any = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if app is None:
            from vispy import app as vispy_app

            app = vispy_app.use_app("pyside6")
        self.map = EclMapView(scene, on_select=on_select, app=app, size=(900, 380))
        self.map.canvas.create_native()
        native = self.map.canvas.native
        native.setParent(self)
        native.setMinimumSize(360, 200)
        self.showers = QtWidgets.QCheckBox("Spread each cluster over its 3×3 crystals")
        self.showers.setToolTip(
            "on: the seed crystal and the 8 around it (12 % of the energy each), as on the outreach screen; "
            "off: the seed crystal (cellId) of every cluster only"
        )
        self.showers.toggled.connect(self.map.set_showers)
        self.readout = QtWidgets.QLabel("")  # the crystal under the mouse
        self.readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.map.canvas.events.mouse_move.connect(self._hover)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.showers)
        bottom.addStretch(1)
        bottom.addWidget(self.readout)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(native, stretch=1)
        layout.addLayout(bottom)

    def _hover(self, event: Any) -> None:
        self.readout.setText(self.map.describe(self.map.cell_at_pixel(tuple(event.pos[:2]))))

    def set_canvas_colors(self, colors: CanvasColors) -> None:
        self.map.set_canvas_colors(colors)

    def close_map(self) -> None:
        self.map.close()
