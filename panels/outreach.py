"""Outreach mode: full screen, interesting events one after another, tracks growing out of the
collision point, a slowly turning camera and large plain-language captions.

Built to run unattended for hours: one view whose visuals are reused (``set_data`` only), one
timer driving the animation, and nothing kept from past events.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from displays import event_geometry as geo
from displays.event_view import EventView
from events import filtering
from events.model import EventBatch

FRAME_MS = 40  # 25 frames per second
DEFAULT_FILTER = "ntracks >= 2"


def caption(event: EventBatch) -> str:
    """A plain-language description of what the visitor sees."""
    n_tracks = event.tracks.size
    n_photons = int(geo.photon_clusters(event.ecl).sum())
    energy = float(np.nansum(event.ecl["energy"][geo.photon_clusters(event.ecl)]))
    parts = [
        "An electron (7 GeV) and a positron (4 GeV) collided at the centre of Belle II.",
        f"{n_tracks} charged particle{'s' if n_tracks != 1 else ''} curve in the magnetic field"
        " (red: positive, blue: negative).",
    ]
    if n_photons:
        parts.append(f"{n_photons} burst{'s' if n_photons != 1 else ''} of energy in the crystal calorimeter"
                     f" ({energy:.1f} GeV in total).")  # fmt: skip
    if (event.vertices["kind"] != 0).any():
        parts.append("An unstable particle flew a few centimetres before decaying (orange tracks).")
    return "\n".join(parts)


class OutreachWindow(QtWidgets.QWidget):
    """One 3D view plus a caption; ``start()`` begins the show."""

    advanced = QtCore.Signal(int)  # index of the event now shown

    def __init__(
        self,
        source: Any,
        filter_text: str = DEFAULT_FILTER,
        dwell_s: float = 12.0,
        grow_s: float = 2.5,
        degrees_per_s: float = 6.0,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Belle II: live from the collision point")
        self.source = source
        self.filter = filtering.parse(filter_text)
        self.dwell_frames = max(int(dwell_s * 1000 / FRAME_MS), 1)
        self.grow_frames = max(int(grow_s * 1000 / FRAME_MS), 1)
        self.step_deg = degrees_per_s * FRAME_MS / 1000
        self.index = -1
        self.frame = 0
        self.shown = 0
        self.view = EventView("3d", size=(1280, 720), legend=False)
        self.view.canvas.create_native()
        self.view.canvas.native.setParent(self)
        self.caption = QtWidgets.QLabel("")
        self.caption.setWordWrap(True)
        font = QtGui.QFont()
        font.setPointSize(22)
        self.caption.setFont(font)
        self.caption.setStyleSheet("color: white; background: rgba(10, 12, 20, 200); padding: 16px;")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view.canvas.native, stretch=1)
        lay.addWidget(self.caption)
        self.setStyleSheet("background: black;")
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)

    def start(self, full_screen: bool = True) -> None:
        self.showFullScreen() if full_screen else self.show()
        self.advance()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def next_interesting(self, after: int) -> int:
        """Index of the next event passing the filter, wrapping around; -1 if none passes."""
        n = len(self.source)
        for k in range(1, n + 1):
            i = (after + k) % n
            if bool(self.filter(self.source.read(i, i + 1))[0]):
                return i
        return -1

    def advance(self) -> None:
        i = self.next_interesting(self.index)
        if i < 0:
            self.caption.setText("Waiting for collisions…")
            return
        event = self.source.read(i, i + 1)
        self.index = i
        self.frame = 0
        self.shown += 1
        self.view.visuals.set_growth(0.0)
        self.view.visuals.set_event(event)
        self.caption.setText(caption(event))
        self.advanced.emit(i)

    def tick(self) -> None:
        self.frame += 1
        if self.frame <= self.grow_frames:
            t = self.frame / self.grow_frames
            self.view.visuals.set_growth(1 - (1 - t) ** 2)  # ease out: fast from the collision, then settle
        self.view.view.camera.azimuth = (self.view.view.camera.azimuth + self.step_deg) % 360
        if self.frame >= self.dwell_frames:
            self.advance()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Escape:
            self.stop()
            self.close()
        elif event.key() == QtCore.Qt.Key.Key_Space:
            self.stop() if self.timer.isActive() else self.timer.start()
        elif event.key() == QtCore.Qt.Key.Key_Right:
            self.advance()
        else:
            super().keyPressEvent(event)
