"""Masterclass mode: students weigh a particle, an invisible Z′ (recoil mass), the J/ψ or the π⁰.

The window shows one event of a file (by default the shipped sample) on the Belle II detector and, on
the right, short numbered steps in large print: look, click the two muon tracks, read M(μμ) and
M_recoil, add M_recoil to the histogram, go to the next event; once enough are collected, say where
the peak is. The steps, the truth checks and the scoring are ``events.masterclass`` (no Qt); the
masses come from ``events.candidate``. R (or the Reset button) starts again for the next group. The
J/ψ and π⁰ exercises (``exercise=``) pick two muon tracks or two ECL clusters and histogram their mass.
How a class goes: docs/outreach.md, "Masterclass".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vispy import scene as vispy_scene

from displays.event_view import apply_event_look
from displays.event_visuals import EventVisuals, detector_crystal_painter
from displays.overlays import nearest_on_screen
from displays.scene import Scene
from displays.view3d import DetectorView3D
from events.masterclass import (
    NEEDED,
    ZPRIME_EXERCISE,
    Exercise,
    Masterclass,
    Step,
    generated_events,
    offered,
    truth_of,
)
from events.model import EventBatch
from events.source import Events
from geometry.mesh import Part
from panels.plots import pg

BINS = ZPRIME_EXERCISE.bins  # GeV, 0.25 GeV wide (each exercise has its own)
CHUNK = 1000  # events read at a time when choosing the class's events
MAX_EVENTS = 500  # events a class goes round (more than any group adds)
PICK_RADIUS = 24.0  # pixels: a generous target for a first click
PICKED_COLOR = (1.0, 0.85, 0.1, 1.0)
TARGET_COLOR = (0.95, 0.97, 1.0, 0.9)
STYLE = """
#masterclass { background: #0b1020; }
#masterclass QLabel { color: #f2f5fa; font-size: 20pt; }
#masterclass QLabel#title { font-size: 30pt; font-weight: bold; color: #ffffff; }
#masterclass QLabel[role="step"] { font-size: 20pt; color: #8e9ab0; padding: 3px 8px; border-radius: 8px; }
#masterclass QLabel[role="step"][state="now"] { color: #0b1020; background: #ffd84a; font-weight: bold; }
#masterclass QLabel[role="step"][state="done"] { color: #9fe3a8; }
#masterclass QLabel#masses { font-size: 26pt; font-weight: bold; color: #8fd3f4; }
#masterclass QLabel#explain { font-size: 18pt; color: #c9d2e3; }
#masterclass QLabel#message { font-size: 20pt; font-weight: bold; color: #ffd84a; }
#masterclass QLabel#progress { font-size: 18pt; color: #c9d2e3; }
#masterclass QPushButton { font-size: 20pt; padding: 12px 20px; border-radius: 10px; background: #2a6fdb;
                           color: white; border: none; }
#masterclass QPushButton:disabled { background: #2b3245; color: #6b7590; }
#masterclass QDoubleSpinBox { font-size: 22pt; padding: 6px; min-width: 150px; }
"""
FULL_HEIGHT = 1000  # px of screen the sizes of STYLE are made for (a projector or a 1920x1080 screen)
SMALLEST_SCALE = 0.7  # a 1366x768 laptop: 20 pt steps become 14 pt
PANEL_WIDTH = 900  # px: the side panel at full size; narrower windows give it 56 % of their width
PLOT_HEIGHT = 280  # px: the histogram's least height at full size (times the scale squared below it)
EXPLAIN_PT = 18  # the explanation's font size in STYLE
SMALL_EXPLAIN = 0.8  # below full size the explanation shrinks further: its lines stay one row each


def style(scale: float = 1.0) -> str:
    """STYLE with every font size times ``scale`` (1: STYLE itself); below full size the explanation
    under the masses times ``SMALL_EXPLAIN`` as well, so that the class fits a laptop after a pick."""
    text = re.sub(r"(\d+)pt", lambda m: f"{max(1, round(int(m.group(1)) * scale))}pt", STYLE)
    if scale < 1.0:
        small = max(1, round(EXPLAIN_PT * scale * SMALL_EXPLAIN))
        text += f"#masterclass QLabel#explain {{ font-size: {small}pt; }}\n"
    return text


class MasterclassWindow(QtWidgets.QWidget):
    """The detector with one event, the numbered steps, the two masses and the student's histogram."""

    def __init__(
        self,
        events: EventBatch,
        truth_mass: float | None,
        label: str = "",
        parts: Sequence[Part] | None = None,
        needed: int = NEEDED,
        exercise: Exercise = ZPRIME_EXERCISE,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("masterclass")
        self.setWindowTitle(f"Belle II masterclass: {exercise.title[0].lower()}{exercise.title[1:]}")
        self.events = events
        self.label = label
        self.exercise = exercise
        self.bins = exercise.bins
        self.rows = np.arange(len(events))  # the events offered, in order (``from_source`` chooses them)
        self.position = -1
        self.state = Masterclass(truth_mass, needed=needed, tolerance=exercise.tolerance, exercise=exercise)
        if parts is None:
            from geometry.detector import build_detector

            parts = build_detector()
        from vispy import app as vispy_app

        self.detector = DetectorView3D(
            parts, app=vispy_app.use_app("pyside6"), size=(1100, 900), cutaway="wedge"
        )
        apply_event_look(self.detector)
        painter = detector_crystal_painter(self.detector) if "ECL" in self.detector.parts else None
        self.scene = Scene()
        self.visuals = EventVisuals(
            self.detector.view, "3d", crystal_painter=painter, line_width=3.0, scene=self.scene
        )
        self.picked_marker = vispy_scene.visuals.Markers(parent=self.detector.view.scene)
        self.picked_marker.order = 10
        self.target_marker = vispy_scene.visuals.Markers(parent=self.detector.view.scene)
        self.target_marker.order = 9  # π⁰ exercise: a ring round every cluster, a target for the click
        self.target_marker.visible = False
        self.visuals.recoil_label.font_size = 18  # what is missing, readable from the back
        self._build(label)
        self._press: tuple[float, float] | None = None
        canvas = self.detector.canvas
        canvas.events.mouse_press.connect(self._mouse_press)
        canvas.events.mouse_release.connect(self._mouse_release)
        self.next_event()

    @classmethod
    def generated(cls, exercise: Exercise, **kwargs: Any) -> MasterclassWindow:
        """The J/ψ or π⁰ exercise on simulated events of its own (``events.masterclass.generated_events``)."""
        events = generated_events(exercise)
        events = events.take(offered(events, exercise)[:MAX_EVENTS])
        label = "simulated collisions"
        return cls(events, truth_of(exercise, events.header), label=label, exercise=exercise, **kwargs)

    @classmethod
    def from_source(
        cls, source: Events, exercise: Exercise = ZPRIME_EXERCISE, **kwargs: Any
    ) -> MasterclassWindow:
        """The masterclass on a file (anything with ``__len__`` and ``read``): its events passing the
        exercise's filter (every event where none does), read in chunks, at most ``MAX_EVENTS``."""
        n = len(source)
        chosen: list[EventBatch] = []
        first = EventBatch.empty()
        for start in range(0, n, CHUNK):
            batch = source.read(start, min(start + CHUNK, n))
            if start == 0:
                first = batch
            rows = offered(batch, exercise)
            if len(rows):
                chosen.append(batch.take(rows))
            if sum(len(b) for b in chosen) >= MAX_EVENTS:
                break
        events = EventBatch.concat(chosen) if chosen else first  # unlabelled data: its first events
        events = events.take(np.arange(min(len(events), MAX_EVENTS)))
        name = str(getattr(source, "path", "")).rsplit("/", 1)[-1]
        return cls(events, truth_of(exercise, events.header), label=name, exercise=exercise, **kwargs)

    # --- building -------------------------------------------------------------------------------
    def _build(self, label: str) -> None:
        self.scale = 1.0
        self._fitted = False  # fit_to not called yet: the first show fits the window to its screen
        self.setStyleSheet(STYLE)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        canvas = self.detector.canvas
        canvas.create_native()
        canvas.native.setParent(self)
        canvas.native.setMinimumSize(480, 360)
        canvas.native.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # R and N reach the window

        side = QtWidgets.QVBoxLayout()
        side.setSpacing(6)
        exercise = self.exercise
        title = QtWidgets.QLabel(exercise.title)
        title.setObjectName("title")
        self.source_label = QtWidgets.QLabel(label)
        self.source_label.setObjectName("progress")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(title, stretch=1)
        top.addWidget(self.source_label)
        side.addLayout(top)
        self.step_labels: dict[Step, QtWidgets.QLabel] = {}
        for step in Step:
            if step is Step.DONE:
                continue
            widget = QtWidgets.QLabel(f"{int(step)}. {exercise.steps[step]}")
            widget.setProperty("role", "step")
            widget.setWordWrap(True)
            self.step_labels[step] = widget
            side.addWidget(widget)
        self.masses = QtWidgets.QLabel("")
        self.masses.setObjectName("masses")
        self.explain = QtWidgets.QLabel("")
        self.explain.setObjectName("explain")
        self.explain.setWordWrap(True)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        for widget in (self.masses, self.explain, self.message):
            side.addWidget(widget)
        self.masses.hide()  # until a pair is picked: no empty rows above the tip
        self.explain.hide()

        buttons = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add to my histogram")
        self.next_button = QtWidgets.QPushButton("Next event →")
        self.reset_button = QtWidgets.QPushButton("Reset (R)")
        self.add_button.clicked.connect(self.add_to_histogram)
        self.next_button.clicked.connect(self.next_event)
        self.reset_button.clicked.connect(self.reset)
        for button in (self.add_button, self.next_button, self.reset_button):
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        side.addLayout(buttons)

        self.plot = pg.PlotWidget(background="#0b1020")
        self.plot.setMinimumHeight(280)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        for axis in ("bottom", "left"):
            ax = self.plot.getAxis(axis)
            ax.setTextPen("#f2f5fa")
            ax.setPen("#f2f5fa")
            ax.enableAutoSIPrefix(False)  # "0.135 GeV", never "135 (x0.001)"
        self._plot_fonts()
        bins = self.bins
        self.histogram_item = pg.PlotDataItem(
            bins, np.zeros(len(bins) - 1), stepMode="center", fillLevel=0,
            pen=pg.mkPen("#ffd84a", width=3), brush=pg.mkBrush(255, 216, 74, 110),
        )  # fmt: skip
        self.plot.addItem(self.histogram_item)
        self.plot.setXRange(float(bins[0]), float(bins[-1]), padding=0)
        self._set_count_range(4)
        side.addWidget(self.plot, stretch=1)

        peak = QtWidgets.QHBoxLayout()
        peak_label = QtWidgets.QLabel("The peak is at")
        self.peak_input = QtWidgets.QDoubleSpinBox()
        self.peak_input.setRange(float(bins[0]), float(bins[-1]))
        self.peak_input.setSingleStep(10.0**-exercise.decimals)
        self.peak_input.setDecimals(exercise.decimals)
        self.peak_input.setSuffix(" GeV")
        self.check_button = QtWidgets.QPushButton("Check")
        self.check_button.clicked.connect(lambda: self.answer_peak(self.peak_input.value()))
        self.check_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        peak.addWidget(peak_label)
        peak.addWidget(self.peak_input)
        peak.addWidget(self.check_button)
        peak.addStretch(1)
        side.addLayout(peak)
        self.progress = QtWidgets.QLabel("")
        self.progress.setObjectName("progress")
        self.progress.setWordWrap(True)
        side.addWidget(self.progress)

        self.panel = panel = QtWidgets.QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(PANEL_WIDTH)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 16, 0)
        lay.addWidget(canvas.native, stretch=1)
        lay.addWidget(panel)

    def _set_count_range(self, top: int) -> None:
        """Counts from 0 to ``top`` on whole-number ticks (never "1.5 events"), at most about 6 of them."""
        self.plot.setYRange(0, top, padding=0)
        step = max(1, -(-top // 6))
        self.plot.getAxis("left").setTickSpacing(major=step, minor=step)

    def _plot_fonts(self) -> None:
        font = QtGui.QFont()
        font.setPointSize(max(1, round(16 * self.scale)))
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTickFont(font)
        label = {"font-size": f"{max(1, round(18 * self.scale))}pt", "color": "#f2f5fa"}
        self.plot.setLabel("bottom", self.exercise.axis_label, **label)
        self.plot.setLabel("left", "events", **label)
        # pyqtgraph leaves 0.8 of the title's height below the tick labels: a big title's foot is cut
        bottom = self.plot.getAxis("bottom")
        ticks = QtGui.QFontMetrics(font).height()
        bottom.setHeight(ticks + bottom.label.boundingRect().height() + 2 * abs(bottom.style["tickLength"]))
        # below full size the histogram gives up room first (it has the most): the masses, their
        # explanation and the answer row all fit a 1366x768 laptop after a pick
        self.plot.setMinimumHeight(round(PLOT_HEIGHT * self.scale**2))

    def fit_to(self, width: int, height: int) -> None:
        """Size the window for a screen ``width`` x ``height`` px: text at full size from FULL_HEIGHT
        up, smaller (down to SMALLEST_SCALE) below, and the side panel narrower than PANEL_WIDTH on a
        narrow screen, so that the whole window fits a laptop's screen."""
        self._fitted = True
        self._fit_panel(width)
        scale = min(1.0, max(SMALLEST_SCALE, height / FULL_HEIGHT))
        if abs(scale - self.scale) < 0.01:
            return
        self.scale = scale
        self.setStyleSheet(style(scale))
        self._plot_fonts()

    def _fit_panel(self, width: int) -> None:
        """The side panel at its full width while the window leaves the detector room, else 56 % of it."""
        self.panel.setFixedWidth(min(PANEL_WIDTH, max(560, round(0.56 * width))))

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # Qt name
        super().showEvent(event)
        screen = self.screen()
        if screen is not None and not self._fitted:  # the screen it opens on, unless told a size
            available = screen.availableGeometry()
            self.fit_to(min(available.width(), self.width()), available.height())
            # a size asked for before the fit was held to the full-size minimum: now it fits the screen
            width, height = min(self.width(), available.width()), min(self.height(), available.height())
            if (width, height) != (self.width(), self.height()):
                layout = self.layout()
                if layout is not None:
                    layout.activate()  # the smaller text's minimum size first
                self.resize(width, height)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # Qt name
        super().resizeEvent(event)
        self._fit_panel(event.size().width())

    # --- clicking tracks ----------------------------------------------------------------------------
    def _mouse_press(self, event: Any) -> None:
        self._press = (float(event.pos[0]), float(event.pos[1]))

    def _mouse_release(self, event: Any) -> None:
        start, self._press = self._press, None
        if start is None or np.hypot(event.pos[0] - start[0], event.pos[1] - start[1]) > 4:
            return  # a drag turns the detector, it picks nothing
        self.click_at((float(event.pos[0]), float(event.pos[1])))

    def click_at(self, canvas_pos: tuple[float, float]) -> int | None:
        """A click on the detector at a canvas position (pixels): pick or unpick the nearest track (the
        nearest ECL cluster in the π⁰ exercise)."""
        picks = self.visuals.picks
        kind = self.exercise.kind
        if kind not in picks.kinds:
            return None
        candidates = np.flatnonzero(np.asarray(picks.kind) == picks.kinds.index(kind))
        if not len(candidates):
            return None
        screen = self.visuals.scene_to_canvas(picks.points[candidates])
        row = nearest_on_screen(screen, canvas_pos, PICK_RADIUS)
        if row is None:
            return None
        index = int(picks.index[candidates[row]])
        self.toggle_track(index)
        return index

    def track_anchor(self, track: int) -> tuple[float, float]:
        """Where on the canvas a click picks ``track`` (its pick anchor; a cluster's in the π⁰ exercise)."""
        picks = self.visuals.picks
        rows = self._track_rows(track)
        x, y = self.visuals.scene_to_canvas(picks.points[rows[2 * len(rows) // 3 : 2 * len(rows) // 3 + 1]])[
            0
        ]
        return float(x), float(y)  # two thirds out: every track starts at the collision point

    def _track_rows(self, track: int) -> np.ndarray:
        """Rows of the pick table along ``track`` (or of the cluster), from the collision point outwards."""
        picks = self.visuals.picks
        kind = picks.kinds.index(self.exercise.kind) if self.exercise.kind in picks.kinds else -1
        return np.flatnonzero((np.asarray(picks.kind) == kind) & (picks.index == track))

    def toggle_track(self, track: int) -> None:
        self.state.toggle(track)
        self._refresh()

    # --- the student's actions ----------------------------------------------------------------------
    def next_event(self) -> None:
        """Show the next event of the file (round and round)."""
        if not len(self.rows):
            self.message.setText("This file has no events.")
            return
        self.position = (self.position + 1) % len(self.rows)
        index = int(self.rows[self.position])
        event = self.events.event(index)
        self.scene.set_event(event)
        self.state.show(event, index)
        self._show_targets()
        what = "a line" if self.exercise.kind == "track" else "a ring"
        self.message.setText(f"Tip: drag to turn the detector, click {what} to choose it.")
        self._refresh()

    def add_to_histogram(self) -> None:
        try:
            verdict = self.state.add()
        except ValueError as exc:
            self.message.setText(str(exc).capitalize() + ".")
            return
        self.message.setText(verdict.message)
        self._refresh()

    def answer_peak(self, mass: float) -> bool:
        right, text = self.state.answer(mass)
        self.message.setText(text)
        self._refresh()
        return right

    def reset(self) -> None:
        """Empty histogram, steps from the start: ready for the next group."""
        self.state.reset()
        self.message.setText("Ready for a new group!")
        self._refresh()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key, keys = event.key(), QtCore.Qt.Key
        if key == keys.Key_R:
            self.reset()
        elif key in (keys.Key_N, keys.Key_Right, keys.Key_PageDown):
            self.next_event()
        elif key in (keys.Key_A, keys.Key_Return, keys.Key_Enter):
            self.add_to_histogram()
        else:
            super().keyPressEvent(event)

    # --- what is shown ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        state = self.state
        for step, widget in self.step_labels.items():
            now = state.step == step or (state.step is Step.ADD and step is Step.MASSES)
            mark = "now" if now else "done" if step < state.step else ""
            if widget.property("state") != mark:
                widget.setProperty("state", mark)
                widget.style().unpolish(widget)
                widget.style().polish(widget)
        pair = state.pair
        exercise = self.exercise
        if pair is None:
            self.masses.setText("")
            self.explain.setText("")
            self.scene.clear_recoil()
        else:
            d = max(2, exercise.decimals)
            text = f"{exercise.symbol} = {pair.mass:.{d}f} GeV"
            self.explain.setText("\n".join(exercise.explain))
            if exercise.histogram == "recoil":
                text += f"      M_recoil = {pair.recoil_mass:.2f} GeV"
                p = float(np.linalg.norm(pair.recoil_p4[1:]))
                self.scene.set_recoil(pair.recoil_direction, p, f"missing: {pair.recoil_mass:.2f} GeV")
            self.masses.setText(text)
        for widget in (self.masses, self.explain):  # an empty row takes no room
            widget.setVisible(bool(widget.text()))
        self.scene.select(exercise.kind, state.picked[-1]) if state.picked else self.scene.select(None)
        self._show_picked()
        counts, _ = np.histogram(state.values, self.bins)
        self.histogram_item.setData(self.bins, counts)
        self._set_count_range(max(4, int(counts.max(initial=0)) + 1))
        self.add_button.setEnabled(pair is not None and not state.already_added)
        self.check_button.setEnabled(state.ready_for_peak and not state.found)
        n = len(state.entries)
        self.progress.setText(
            f"In your histogram: {n} of {state.needed} events · right {self._pair_word} pairs: "
            f"{state.right_pairs} of {n}"
        )

    @property
    def _pair_word(self) -> str:
        return "muon" if self.exercise.kind == "track" else "photon"

    def _show_targets(self) -> None:
        """Rings round the ECL clusters a student can click (π⁰ exercise): small crystals are hard to hit."""
        picks = self.visuals.picks
        if self.exercise.kind != "ecl" or "ecl" not in picks.kinds:
            self.target_marker.visible = False
            return
        rows = np.flatnonzero(np.asarray(picks.kind) == picks.kinds.index("ecl"))
        if not len(rows):
            self.target_marker.visible = False
            return
        self.target_marker.set_data(
            pos=np.asarray(picks.points[rows], np.float32), size=30, face_color=(0, 0, 0, 0),
            edge_color=TARGET_COLOR, edge_width=3,
        )  # fmt: skip
        self.target_marker.visible = True

    def _show_picked(self) -> None:
        if not self.state.picked:
            self.picked_marker.visible = False
            return
        picks = self.visuals.picks
        rows = [int(self._track_rows(t)[-1]) for t in self.state.picked]  # tracks' outer ends, clusters
        self.picked_marker.set_data(
            pos=np.asarray(picks.points[rows], np.float32), size=26, face_color=PICKED_COLOR,
            edge_color=(0, 0, 0, 1), edge_width=2,
        )  # fmt: skip
        self.picked_marker.visible = True

    @property
    def shown_masses(self) -> tuple[float, ...] | None:
        """(M(μμ), M_recoil) as the window shows them (M alone for the J/ψ and π⁰), read back from its
        text (None: no pair)."""
        text = self.masses.text()
        if not text:
            return None
        return tuple(float(part.split("=")[1]) for part in text.split("GeV")[:-1])

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.scene.disconnect_all()
        super().closeEvent(event)
