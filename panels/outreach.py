"""Outreach mode: the Belle II detector, cut open, on a big screen; collisions one after another.

Each collision is replayed in its own time, slowed down (``displays.timeline``): the particles fly out
of the collision point at their own speeds and the calorimeter crystals light as they arrive;
the camera turns slowly around the detector, and a large caption says in plain words what happened.
With no file the collisions come from the project's generator, with dark-sector signals mixed in
(``OutreachWindow.from_generator(seed)``); with a file, its interesting events loop forever.

Built to run unattended for hours: one detector view and one set of event visuals on one scene,
reused (``set_data`` only); one timer driving the animation; events produced in bounded chunks on a
worker thread; of past events only the last ``HISTORY`` are kept, for the presenter to go back to.

Presenter keys (what a presentation clicker sends): PageDown / Right / N the next event, PageUp / Left
the previous one, B (or "." ) a black screen and again back, P or Space holds the current event (the
camera keeps turning, no new event comes) until pressed again; Escape ends the show. A toggle is
said on screen for ``NOTICE_MS``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vispy import scene as vispy_scene
from vispy.visuals.transforms import STTransform

from displays.event_view import apply_event_look
from displays.event_visuals import EventVisuals, detector_crystal_painter
from displays.scene import Scene
from displays.show_link import Follower, Presenter, ShowState
from displays.showcase import (  # noqa: F401  (the captions are found here too)
    CAMERA_CENTER,
    CAMERA_EXTENT,
    CUTAWAY,
    DATA_STORY,
    DEFAULT_FILTER,
    DEFAULT_SIGNALS,
    DEGREES_PER_S,
    DWELL_S,
    ELEVATION,
    GROW_S,
    NS_PER_S,
    PROCESS_STORY,
    SIGNAL_STORY,
    TRACK_WIDTH,
    caption,
    clock_text,
    facts,
    replay_rate,
    story,
)
from displays.timeline import timeline
from displays.view3d import DetectorView3D
from events import filtering
from events.generator import parse_signal
from events.model import EventBatch
from events.source import Events
from geometry.mesh import Part

FRAME_MS = 33  # the show's frame: at most 30 frames per second (30.3), paced by a precise timer
CHUNK = 100  # generated events per chunk (about 0.1 s of work on the worker thread)
HISTORY = 30  # past events the presenter can page back to
NOTICE_MS = 1500  # how long "Paused" / "Playing" stays on screen
HELD_MARK = "  · paused"  # after the source's name while the presenter holds the event

# --- where the events come from ------------------------------------------------------------


def file_feed(source: Events, filter_text: str = DEFAULT_FILTER) -> Iterator[tuple[int, EventBatch]]:
    """(index, one-event batch) of every event of ``source`` passing the filter, looping forever.

    ``source`` has ``__len__`` and ``read(start, stop)``; it is read in chunks, the filter applied
    to whole chunks. Ends at once if no event passes.
    """
    keep = filtering.parse(filter_text)
    n = len(source)
    while True:
        found = False
        for start in range(0, n, CHUNK):
            batch = source.read(start, min(start + CHUNK, n))
            for i in np.flatnonzero(keep(batch)):
                found = True
                yield start + int(i), batch.event(int(i))
        if not found:
            return


class GeneratorFeed:
    """Endless interesting generated events; the next chunk is generated on a worker thread
    while the current one is shown, so the screen never waits and memory holds two chunks."""

    def __init__(
        self, seed: int = 0, signals: Sequence[str] = DEFAULT_SIGNALS, filter_text: str = DEFAULT_FILTER
    ):
        from events.generator import stream

        self.keep = filtering.parse(filter_text)
        self._stream = stream(seed, [parse_signal(s) for s in signals], chunk_size=CHUNK)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outreach-generator")
        self._next: Future[EventBatch] = self._pool.submit(self._interesting)
        self._batch = EventBatch.empty()
        self._row = 0

    def _interesting(self) -> EventBatch:
        for _ in range(100):
            batch = next(self._stream)
            chosen = np.flatnonzero(self.keep(batch))
            if len(chosen):
                return batch.take(chosen)
        raise RuntimeError("the generator made no event passing the outreach filter in 10000 events")

    def __iter__(self) -> GeneratorFeed:
        return self

    def __next__(self) -> tuple[int, EventBatch]:
        if self._row >= len(self._batch):
            self._batch = self._next.result()
            self._next = self._pool.submit(self._interesting)
            self._row = 0
        event = self._batch.event(self._row)
        self._row += 1
        return int(event.header["event"][0]), event

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# --- the window ----------------------------------------------------------------------------


class LabelOverlay:
    """A Qt label drawn into the detector picture, where the native GL window would hide the widget.

    The label stays an ordinary child widget (its text, font, style sheet, size and place are Qt's);
    ``refresh`` renders it into an RGBA image once each time its text or place changes, and the canvas
    draws that image over the scene at the label's place, blended as Qt would compose it.
    """

    def __init__(
        self, label: QtWidgets.QLabel, canvas: Any, host: QtWidgets.QWidget, order: int = 1000
    ) -> None:
        self.label = label
        self.host = host  # the widget whose top left corner is the canvas's
        self.image = vispy_scene.visuals.Image(
            np.zeros((1, 1, 4), np.uint8), parent=canvas.scene, interpolation="nearest", clim=(0, 255)
        )
        self.image.set_gl_state("translucent", depth_test=False)
        self.image.order = order  # over everything in the canvas (a higher order over a lower one)
        self.image.transform = STTransform()
        self.image.visible = False
        self._shown: tuple[str, QtCore.QRect] | None = None
        self._busy = False

    def refresh(self) -> None:
        label = self.label
        if self._busy:
            return  # rendering a label lays its window out, which resizes and refreshes again
        if label.isHidden() or not label.text() or not self.host.isVisible():
            self.image.visible = False
            self._shown = None
            return
        corner = label.mapTo(self.host, QtCore.QPoint(0, 0))
        place = QtCore.QRect(corner, label.size())
        if self._shown == (label.text(), place) and self.image.visible:
            return
        ratio = max(float(label.devicePixelRatioF()), 1.0)  # a high-DPI screen: as sharp as the widget
        picture = QtGui.QImage(label.size() * ratio, QtGui.QImage.Format.Format_RGBA8888)
        picture.setDevicePixelRatio(ratio)
        picture.fill(QtCore.Qt.GlobalColor.transparent)
        self._busy = True
        try:
            flags = QtWidgets.QWidget.RenderFlag.DrawChildren  # no window background: transparent round it
            label.render(picture, QtCore.QPoint(0, 0), QtGui.QRegion(), flags)
        finally:
            self._busy = False
        pixels = np.frombuffer(picture.constBits(), np.uint8).reshape(
            picture.height(), picture.bytesPerLine() // 4, 4
        )[:, : picture.width()]
        self.image.set_data(pixels.copy())  # the image's memory goes with it; uploads wait for a paint
        if self._shown is None or self._shown[1].topLeft() != corner:  # a moved transform costs a lot
            self.image.transform.translate = (corner.x(), corner.y())
            self.image.transform.scale = (1.0 / ratio, 1.0 / ratio)  # image pixels to the canvas's
        self.image.visible = True
        self._shown = (label.text(), place)


class OutreachWindow(QtWidgets.QWidget):
    """The detector view plus a caption; ``start()`` begins the show."""

    advanced = QtCore.Signal(int)  # index (file) or event number (generator) of the event now shown

    def __init__(
        self,
        feed: Iterator[tuple[int, EventBatch]],
        parts: Sequence[Part] | None = None,
        dwell_s: float = DWELL_S,
        grow_s: float = GROW_S,
        degrees_per_s: float = DEGREES_PER_S,
        label: str = "",
        parent: QtWidgets.QWidget | None = None,
        presenter: Presenter | None = None,
        follower: Follower | None = None,
    ) -> None:
        super().__init__(parent)
        self.presenter = presenter  # publishes what this screen shows (--present)
        self.follower = follower  # mirrors a presenting screen while it is heard (--follow)
        self.following = False
        self.setWindowTitle("Belle II: live from the collision point")
        self.feed = feed
        self.dwell_frames = max(int(dwell_s * 1000 / FRAME_MS), 1)
        self.longest_s = grow_s  # the longest replay of one collision
        self.grow_frames = max(int(grow_s * 1000 / FRAME_MS), 1)  # frames of the current one's replay
        self.ns_per_frame = NS_PER_S * FRAME_MS / 1000
        self.step_deg = degrees_per_s * FRAME_MS / 1000
        self.index = -1
        self.frame = 0
        self.shown = 0
        self.current_event: EventBatch | None = None
        self.history: deque[tuple[int, EventBatch]] = deque(maxlen=HISTORY)  # shown, oldest first
        self.back = 0  # how many events behind the newest the presenter has paged
        self.held = False  # P / Space: the current event stays, no auto-advance
        if parts is None:
            from geometry.detector import build_detector

            parts = build_detector()
        from displays.window_canvas import window_app

        self.detector = DetectorView3D(parts, app=window_app(), size=(1280, 720), cutaway=CUTAWAY)
        apply_event_look(self.detector)
        camera = self.detector.view.camera
        camera.elevation = ELEVATION
        camera.scale_factor = CAMERA_EXTENT
        camera.center = CAMERA_CENTER
        painter = detector_crystal_painter(self.detector) if "ECL" in self.detector.parts else None
        self.scene = Scene()
        self.visuals = EventVisuals(
            self.detector.view,
            "3d",
            crystal_painter=painter,
            line_width=TRACK_WIDTH,
            showers=True,
            scene=self.scene,
        )
        self._build(label)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)  # a coarse one may wait 5 % longer
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)

    @classmethod
    def from_generator(
        cls, seed: int = 0, signals: Sequence[str] = DEFAULT_SIGNALS, **kwargs: Any
    ) -> OutreachWindow:
        """The show on generated collisions with dark-sector signals mixed in."""
        return cls(GeneratorFeed(seed, signals), label="Simulated collisions", **kwargs)

    @classmethod
    def from_source(cls, source: Events, filter_text: str = DEFAULT_FILTER, **kwargs: Any) -> OutreachWindow:
        """The show on the events of a file (anything with ``__len__`` and ``read``), looping."""
        name = str(getattr(source, "path", "")).rsplit("/", 1)[-1]
        return cls(file_feed(source, filter_text), label=name, **kwargs)

    def _build(self, label: str) -> None:
        self.setStyleSheet("background: #070a12;")
        canvas = self.detector.canvas
        canvas.create_native()
        canvas.native.key_target = self  # the presenter's keys, pressed while the picture has the focus
        # the picture in a native GL window: no composition pass of the whole screen per frame
        self.canvas_widget = QtWidgets.QWidget.createWindowContainer(canvas.native, self)
        policy = self.canvas_widget.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # a black screen keeps the layout as it is
        self.canvas_widget.setSizePolicy(policy)
        self.resize(*canvas.size)  # as a window, the show's size is its picture's (a container has no hint)
        self.headline = QtWidgets.QLabel("")
        self.sentence = QtWidgets.QLabel("")
        self.facts = QtWidgets.QLabel("")
        self.source_label = QtWidgets.QLabel(label)
        for widget, size, weight, colour in (
            (self.headline, 34, QtGui.QFont.Weight.Bold, "#ffffff"),
            (self.sentence, 22, QtGui.QFont.Weight.Normal, "#dfe6f2"),
            (self.facts, 17, QtGui.QFont.Weight.Normal, "#8fd3f4"),
            (self.source_label, 14, QtGui.QFont.Weight.Normal, "#8e9ab0"),
        ):
            font = QtGui.QFont()
            font.setPointSize(size)
            font.setWeight(weight)
            widget.setFont(font)
            widget.setWordWrap(True)
            widget.setStyleSheet(f"color: {colour}; background: transparent;")
        panel = QtWidgets.QFrame()
        panel.setObjectName("caption")
        panel.setStyleSheet("#caption { background: #0d1320; border-top: 3px solid #3fb6e8; }")
        text = QtWidgets.QVBoxLayout(panel)
        text.setContentsMargins(36, 18, 36, 22)
        text.setSpacing(6)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.headline, stretch=1)
        top.addWidget(
            self.source_label, alignment=QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignTop
        )
        text.addLayout(top)
        text.addWidget(self.sentence)
        text.addWidget(self.facts)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.canvas_widget.setMinimumSize(320, 240)  # the detector never yields its place to the text
        lay.addWidget(self.canvas_widget, stretch=1)
        lay.addWidget(panel)
        self.canvas_widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the presenter's keys: the show
        self.blank = QtWidgets.QWidget(self)  # B: the whole screen black, over everything
        self.blank.setObjectName("blank")
        self.blank.setStyleSheet("#blank { background: #000000; }")
        self.blank.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        self.blank.hide()
        self.notice = QtWidgets.QLabel("", self)  # a toggle, said briefly over the detector
        font = QtGui.QFont()
        font.setPointSize(28)
        font.setWeight(QtGui.QFont.Weight.Bold)
        self.notice.setFont(font)
        self.notice.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.notice.setStyleSheet(
            "color: #ffffff; background: rgba(13, 19, 32, 210); border: 2px solid #3fb6e8;"
            " border-radius: 12px; padding: 14px 36px;"
        )
        self.notice.hide()
        self._notice_timer = QtCore.QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.setInterval(NOTICE_MS)
        self._notice_timer.timeout.connect(self._end_notice)
        self.clock = QtWidgets.QLabel("", self)  # the replay's time, over the detector's top left corner
        font = QtGui.QFont()
        font.setPointSize(18)
        self.clock.setFont(font)
        self.clock.setStyleSheet("color: #8fd3f4; background: transparent;")
        # the two labels over the picture are drawn into it (the GL window would hide the widgets)
        self.overlays = [
            LabelOverlay(self.clock, canvas, self),
            LabelOverlay(self.notice, canvas, self, 1001),
        ]
        self.scene.events.time.connect(self._show_clock)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self.blank.setGeometry(self.rect())
        self._place_notice()
        self.clock.move(28, 20)
        self._refresh_overlays()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_overlays()

    def _refresh_overlays(self) -> None:
        for overlay in self.overlays:
            overlay.refresh()

    def _end_notice(self) -> None:
        self.notice.hide()
        self._refresh_overlays()

    def _show_clock(self, t: float | None) -> None:
        """How long after the collision the picture is, in plain words."""
        self.clock.setText(clock_text(t))
        self.clock.adjustSize()
        if not self.blanked:
            self.clock.raise_()
        self._refresh_overlays()

    def _place_notice(self) -> None:
        self.notice.adjustSize()
        x = (self.width() - self.notice.width()) // 2
        self.notice.move(max(x, 0), 28)

    def say(self, text: str) -> None:
        """Show ``text`` large over the detector for ``NOTICE_MS``."""
        self.notice.setText(text)
        self._place_notice()
        self.notice.show()
        self.notice.raise_()
        self._notice_timer.start()
        self._refresh_overlays()

    # --- caption as one string (for tests and logs) --------------------------------------------
    def caption_text(self) -> str:
        return "\n".join(w.text() for w in (self.headline, self.sentence, self.facts))

    # --- the show ------------------------------------------------------------------------------
    def start(self, full_screen: bool = True) -> None:
        self.showFullScreen() if full_screen else self.show()
        self.advance()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def advance(self) -> None:
        """Show the next event: the one after the shown one when the presenter paged back, else the
        feed's next; tracks at the collision point, calorimeter dark."""
        if self.back > 0:
            self.back -= 1
            self._show(*self.history[len(self.history) - 1 - self.back])
            return
        try:
            index, event = next(self.feed)
        except StopIteration:
            self.headline.setText("Waiting for collisions…")
            self.sentence.setText("")
            self.facts.setText("")
            return
        self.history.append((index, event))
        self._show(index, event)

    def previous(self) -> bool:
        """Show the event before the shown one again (of the last ``HISTORY``); False at the oldest."""
        if self.back + 1 >= len(self.history):
            return False
        self.back += 1
        self._show(*self.history[len(self.history) - 1 - self.back])
        return True

    def _show(self, index: int, event: EventBatch) -> None:
        self.index = index
        self.current_event = event
        self.frame = 0
        self.shown += 1
        duration = timeline(event).duration  # until the slowest particle has arrived
        self.ns_per_frame = replay_rate(duration, NS_PER_S, self.longest_s) * FRAME_MS / 1000
        self.grow_frames = max(int(np.ceil(duration / self.ns_per_frame)), 1)
        self.scene.set_time(0.0)  # before the event: it appears at the collision point
        self.scene.set_event(event)
        head, sentence = story(event)
        self.headline.setText(head)
        self.sentence.setText(sentence)
        self.facts.setText(facts(event))
        self.advanced.emit(index)

    def set_held(self, held: bool) -> None:
        """Hold the current event (no auto-advance; the animation and the camera go on) or go on."""
        self.held = bool(held)
        self.say("Paused" if self.held else "Playing")
        base = self.source_label.text().removesuffix(HELD_MARK)
        self.source_label.setText(base + HELD_MARK if self.held else base)  # stays while held

    def set_blank(self, blank: bool) -> None:
        """A black screen (nothing is animated behind it) or the show again."""
        self.blank.setGeometry(self.rect())
        self.blank.setVisible(bool(blank))
        self.canvas_widget.setVisible(not blank)  # a native window: the black widget cannot cover it
        if blank:
            self.notice.hide()
            self.blank.raise_()
        self._refresh_overlays()

    @property
    def blanked(self) -> bool:
        return not self.blank.isHidden()

    def show_state(self) -> ShowState:
        """What this screen shows, for the screens that follow it."""
        camera = self.detector.view.camera
        event = self.current_event
        return ShowState(
            event.event_label() if event is not None and len(event) else "",
            float(camera.azimuth), float(camera.elevation), float(camera.scale_factor),
            tuple(float(c) for c in camera.center)[:3],  # type: ignore[arg-type]
            self.scene.time, self.blanked, self.held,
        )  # fmt: skip

    def _mirror(self) -> bool:
        """Show what the presenter shows, if it is heard; False when this screen is on its own."""
        assert self.follower is not None
        state = self.follower.poll()
        if state is None:
            if self.following:
                self.following = False
                self.say("On our own: the presenter is away")
            return False
        if not self.following:
            self.following = True
            self.say("Following the presenter")
        if state.blank != self.blanked:
            self.set_blank(state.blank)
        shown = self.current_event.event_label() if self.current_event is not None else ""
        event = self.follower.event(state.event)
        if state.event and state.event != shown and event is not None:
            self._show(-1, event)
        camera = self.detector.view.camera
        camera.azimuth, camera.elevation = state.azimuth, state.elevation
        camera.scale_factor, camera.center = state.distance, state.center
        self.scene.set_time(state.time_ns)
        return True

    def tick(self) -> None:
        """One animation frame; nothing while the show is hidden or minimised (uploads wait for a paint,
        so a show that cannot paint would pile them up). A follower mirrors its presenter while it
        hears it; a presenter publishes its screen after each frame."""
        if self.follower is not None and self.isVisible() and self._mirror():
            return
        if not self.isVisible() or self.isMinimized() or self.blanked:
            if self.presenter is not None and self.blanked:
                self.presenter.publish(self.show_state(), self.current_event)
            return
        self.frame += 1
        if self.frame <= self.grow_frames:  # the particles fly out; crystals light as they arrive
            self.scene.set_time(self.frame * self.ns_per_frame)
        camera = self.detector.view.camera
        camera.azimuth = (camera.azimuth + self.step_deg + 180.0) % 360.0 - 180.0
        if self.frame >= self.dwell_frames and not self.held:
            self.advance()
        if self.presenter is not None:
            self.presenter.publish(self.show_state(), self.current_event)

    def grab(self, rectangle: QtCore.QRect | None = None) -> QtGui.QPixmap:
        """The window as it looks: its widgets, and the picture of the native GL window rendered
        into its place (a widget grab alone cannot see inside a native window)."""
        whole = super().grab()
        container = self.canvas_widget
        if not container.isHidden() and container.width() > 0 and container.height() > 0:
            pixels = np.ascontiguousarray(self.detector.canvas.render(alpha=False)[..., :3])
            h, w = pixels.shape[:2]
            image = QtGui.QImage(pixels.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888)
            painter = QtGui.QPainter(whole)
            painter.drawImage(QtCore.QRect(container.pos(), container.size()), image)
            painter.end()
        return whole if rectangle is None else whole.copy(rectangle)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key, keys = event.key(), QtCore.Qt.Key
        if key == keys.Key_Escape:
            self.close()
        elif key in (keys.Key_B, keys.Key_Period):
            self.set_blank(not self.blanked)
        elif key in (keys.Key_P, keys.Key_Space):
            self.set_held(not self.held)
        elif key in (keys.Key_PageDown, keys.Key_Right, keys.Key_N):
            self.advance()
        elif key in (keys.Key_PageUp, keys.Key_Left):
            if not self.previous():
                self.say("No earlier event")
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        for link in (self.presenter, self.follower):
            if link is not None:
                link.close()
        close = getattr(self.feed, "close", None)
        if callable(close):
            close()
        super().closeEvent(event)
