"""The event scene: what every event view shows, as plain state with change callbacks.

One ``Scene`` holds the event, the selected object, the track colour mode, which overlay layers are
shown, the candidate's recoil, the growth of the collision animation and the time axis (``time``: ns
since the collision, None for the whole event at once; ``displays.timeline`` says what is there
when). Views do not copy any of it: each overlay adapter (``displays.overlays``) subscribes to the
emitters in ``Scene.events`` and redraws its own visual when something it shows changed. Panels
change the scene, never the views.

Pure Python and numpy (no Qt, no VisPy): the emitters are small callback lists, as napari's events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from events.model import EventBatch

ColorMode = Literal["charge", "pid", "momentum"]  # how tracks are coloured
COLOR_MODES: tuple[str, ...] = get_args(ColorMode)
Selection = tuple[str, int]


class Emitter:
    """A list of callbacks, called in the order they were connected with the emitted arguments.

    A callback that raises does not stop the others (every view still follows the scene); the first
    error is raised again once all have run.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``callback`` on every emission (once, however often connected); returns it."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def __call__(self, *args: Any) -> None:
        error: Exception | None = None
        for callback in list(self._callbacks):  # a callback may disconnect itself
            try:
                callback(*args)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    def __len__(self) -> int:
        return len(self._callbacks)

    def __repr__(self) -> str:
        return f"<Emitter {self.name}: {len(self)} callbacks>"


class SceneEvents:
    """The scene's emitters and what each passes to its callbacks.

    * ``event(event)``: a new event (or None); the selection and the recoil are cleared with it
    * ``selection(selection)``: ``(kind, index)`` or None
    * ``color_mode(mode)``
    * ``visibility(layer, visible)``
    * ``recoil(recoil)``: a ``Recoil`` or None
    * ``growth(t)``: fraction of every track drawn, in [0, 1]
    * ``time(t)``: ns since the collision (None: no time axis, the whole event)
    """

    def __init__(self) -> None:
        self.event = Emitter("event")
        self.selection = Emitter("selection")
        self.color_mode = Emitter("color_mode")
        self.visibility = Emitter("visibility")
        self.recoil = Emitter("recoil")
        self.growth = Emitter("growth")
        self.time = Emitter("time")

    def emitters(self) -> list[Emitter]:
        return [
            self.event, self.selection, self.color_mode, self.visibility, self.recoil, self.growth, self.time,
        ]  # fmt: skip


@dataclass(frozen=True)
class Recoil:
    """The recoil of a candidate: unit direction, momentum [GeV] and the label drawn at its tip."""

    direction: np.ndarray
    momentum: float
    label: str


class Scene:
    """Shared state of the event views.

    Layers are declared by the overlays that draw them (``declare_layer``), so a new overlay brings
    its own switch; setting an undeclared layer is an error naming the known ones.
    """

    def __init__(self, color_mode: ColorMode = "charge") -> None:
        self.events = SceneEvents()
        self.event: EventBatch | None = None
        self.selection: Selection | None = None
        self.color_mode: ColorMode = _checked_mode(color_mode)
        self.recoil: Recoil | None = None
        self.growth = 1.0
        self.time: float | None = None
        self._visible: dict[str, bool] = {}

    # --- layers -----------------------------------------------------------------------------

    def declare_layer(self, layer: str, visible: bool = True) -> None:
        """Make ``layer`` switchable, shown or not at first; a layer declared before keeps its state."""
        self._visible.setdefault(layer, bool(visible))

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self._visible)

    def layer_visible(self, layer: str) -> bool:
        return self._visible[self._known(layer)]

    @property
    def visibility(self) -> dict[str, bool]:
        return dict(self._visible)

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        layer, visible = self._known(layer), bool(visible)
        if self._visible[layer] != visible:
            self._visible[layer] = visible
            self.events.visibility(layer, visible)

    def _known(self, layer: str) -> str:
        if layer not in self._visible:
            raise ValueError(f"unknown layer {layer!r}; layers: {', '.join(self._visible)}")
        return layer

    # --- what is shown ------------------------------------------------------------------------

    def set_event(self, event: EventBatch | None) -> None:
        """Show a one-event batch (None: nothing); the selection and the recoil go with the old event."""
        if event is not None and len(event) != 1:
            raise ValueError(f"a scene shows one event, got a batch of {len(event)}")
        self.event = event
        self.selection = None
        self.recoil = None
        self.events.event(event)

    def clear(self) -> None:
        self.set_event(None)

    def select(self, kind: str | None, index: int = -1) -> None:
        """Emphasise one object (a track, cluster, KLM hit, vertex); None clears."""
        selection = None if kind is None else (str(kind), int(index))
        if selection != self.selection:
            self.selection = selection
            self.events.selection(selection)

    def set_color_mode(self, mode: ColorMode) -> None:
        mode = _checked_mode(mode)
        if mode != self.color_mode:
            self.color_mode = mode
            self.events.color_mode(mode)

    def set_growth(self, t: float) -> None:
        """Draw the fraction ``t`` in [0, 1] of every track (the collision animation)."""
        t = float(np.clip(t, 0.0, 1.0))
        if t != self.growth:
            self.growth = t
            self.events.growth(t)

    def set_time(self, t: float | None) -> None:
        """Show the event as it was ``t`` ns after the collision (at least 0); None: the whole event."""
        t = None if t is None else max(float(t), 0.0)
        if t != self.time:
            self.time = t
            self.events.time(t)

    def set_recoil(self, direction: np.ndarray, momentum: float, label: str) -> None:
        """Show a candidate's recoil: an arrow from the IP along ``direction`` with ``label``."""
        self.recoil = Recoil(np.asarray(direction, np.float64).copy(), float(momentum), str(label))
        self.events.recoil(self.recoil)

    def clear_recoil(self) -> None:
        if self.recoil is not None:
            self.recoil = None
            self.events.recoil(None)

    def disconnect_all(self) -> None:
        """Drop every callback (the views and panels that listened are gone)."""
        for emitter in self.events.emitters():
            emitter._callbacks.clear()


def _checked_mode(mode: str) -> ColorMode:
    if mode not in COLOR_MODES:
        raise ValueError(f"unknown colour mode {mode!r}; choose one of {', '.join(COLOR_MODES)}")
    return mode  # type: ignore[return-value]  # one of the literal's values, checked above
