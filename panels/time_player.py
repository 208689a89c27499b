"""The collision replayed in its own time: play/pause, a time slider and the slow-motion factor.

``TimePlayer(scene)`` drives ``Scene.time`` (ns since the collision; ``displays.timeline`` says what is
there when): the slider runs from 0 to the event's duration (the slowest shown particle's arrival),
playing advances the time by the slow-motion factor (1 ns per second by default) per second of real
time, and "Whole" leaves the time axis (the whole event at once, the views' ordinary state). A new
event keeps the player's state: playing starts again from 0, a paused time stays where it was.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from displays import timeline as timing
from displays.scene import Scene
from events.model import EventBatch

TICKS_PER_NS = 20  # slider resolution: 50 ps
FRAME_MS = 40  # 25 frames per second while playing
SPEEDS = (0.1, 20.0)  # the slow-motion factor's range [ns per second]


class TimePlayer(QtWidgets.QWidget):
    """Play/pause, the time slider, the time in ns and the slow-motion factor of one scene."""

    time_changed = QtCore.Signal(object)  # the scene's time (float ns, or None for the whole event)

    def __init__(
        self, scene: Scene, ns_per_s: float = timing.NS_PER_S, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.scene = scene
        self.duration = timing.MIN_DURATION_NS
        style = self.style()
        self.play_icon = style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPlay)
        self.pause_icon = style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPause)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setIcon(self.play_icon)
        self.play_button.setText("Play")
        self.play_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.play_button.setToolTip("replay the collision in slow motion, from the collision point out")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(180)
        self.slider.setToolTip("time since the collision")
        self.label = QtWidgets.QLabel()
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("whole event  "))
        self.speed = QtWidgets.QDoubleSpinBox()
        self.speed.setRange(*SPEEDS)
        self.speed.setDecimals(1)
        self.speed.setSingleStep(0.5)
        self.speed.setSuffix(" ns/s")
        self.speed.setValue(float(ns_per_s))
        self.speed.setToolTip("slow motion: nanoseconds of the collision per second on the screen")
        self.whole_button = QtWidgets.QToolButton()
        self.whole_button.setText("Whole")
        self.whole_button.setToolTip("show the whole event at once (no time axis)")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        for widget in (self.play_button, self.slider, self.label, self.speed, self.whole_button):
            lay.addWidget(widget, stretch=1 if widget is self.slider else 0)

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)
        self.clock = QtCore.QElapsedTimer()
        self.play_button.toggled.connect(self._play_toggled)
        self.slider.valueChanged.connect(self._slider_moved)
        self.whole_button.clicked.connect(self.show_whole)
        self.scene.events.event.connect(self._event_changed)
        self.scene.events.time.connect(self._time_changed)
        self._event_changed(scene.event)

    # --- what the user does -----------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    @property
    def ns_per_s(self) -> float:
        return float(self.speed.value())

    def play(self) -> None:
        """Advance the time at the slow-motion factor; from 0 when at the end or without a time axis."""
        time = self.scene.time
        if time is None or time >= self.duration:
            self.set_time(0.0)
        self.clock.start()
        self.timer.start()
        self._show_playing(True)

    def pause(self) -> None:
        self.timer.stop()
        self._show_playing(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_time(self, t: float | None) -> None:
        """The scene at ``t`` ns (clipped to the event's duration); None: the whole event."""
        self.scene.set_time(None if t is None else min(max(float(t), 0.0), self.duration))

    def show_whole(self) -> None:
        self.pause()
        self.set_time(None)

    def step(self, seconds: float) -> None:
        """Advance by ``seconds`` of real time at the slow-motion factor; pause at the event's end."""
        now = self.scene.time or 0.0
        later = now + max(float(seconds), 0.0) * self.ns_per_s
        self.set_time(later)
        if later >= self.duration:
            self.pause()

    def detach(self) -> None:
        """Stop following the scene."""
        self.pause()
        self.scene.events.event.disconnect(self._event_changed)
        self.scene.events.time.disconnect(self._time_changed)

    # --- following the scene ----------------------------------------------------------------

    def _tick(self) -> None:
        self.step(self.clock.restart() / 1000.0)

    def _event_changed(self, event: EventBatch | None) -> None:
        self.duration = timing.timeline(event).duration if event is not None else timing.MIN_DURATION_NS
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setRange(0, round(self.duration * TICKS_PER_NS))
        if self.playing:
            self.set_time(0.0)
            self.clock.start()
        elif self.scene.time is not None:
            self.set_time(self.scene.time)
        self._time_changed(self.scene.time)

    def _time_changed(self, t: float | None) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(self.slider.maximum() if t is None else round(t * TICKS_PER_NS))
        self.label.setText("whole event" if t is None else f"{t:5.2f} ns")
        self.time_changed.emit(t)

    def _slider_moved(self, value: int) -> None:
        self.set_time(value / TICKS_PER_NS)

    def _play_toggled(self, on: bool) -> None:
        if on != self.playing:
            self.play() if on else self.pause()

    def _show_playing(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.play_button):
            self.play_button.setChecked(on)
        self.play_button.setIcon(self.pause_icon if on else self.play_icon)
        self.play_button.setText("Pause" if on else "Play")
