"""Exports of the event display: PNG stills up to 4K and beyond, the Phoenix JSON of the shown
event (written by events.phoenix), a view state (camera, visibility, selection) that reopens
identically, and batch rendering for ``main.py render FILE --events 0-99 --out-dir DIR`` (one PNG per
event, drawn on whatever view the caller gives: the real detector in ``displays.cli``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from vispy import io, scene

from displays.event_visuals import LAYERS, EventVisuals
from events.model import EVENT_ID, EventBatch
from events.outputs import AtomicOutput, OutputError, write_text
from events.source import Events, EventSource

STATE_FORMAT = "belle2-display view state"
MAX_PNG_SIDE = 8192


class ExportError(ValueError):
    """An export that cannot be done; the message names the file and the reason."""


# --- pictures ----------------------------------------------------------------------------


def save_png(canvas: scene.SceneCanvas, path: str | Path, size: tuple[int, int] | None = None) -> Path:
    """Render ``canvas`` off screen at ``size`` (e.g. 3840 x 2160) and write a PNG."""
    if size is not None and not (0 < size[0] <= MAX_PNG_SIDE and 0 < size[1] <= MAX_PNG_SIDE):
        raise ExportError(f"{path}: picture size {size} outside 1..{MAX_PNG_SIDE} pixels")
    img = np.asarray(canvas.render(size=size, alpha=False))
    return write_png(path, img)


def write_png_file(path: str | Path, image: np.ndarray, inputs: Iterable[str | Path] = ()) -> Path:
    """The one PNG writer of arrays: an RGB(A) image written atomically (``events.outputs``), so a
    failure keeps any old file; ``OutputError`` names the file and the reason."""
    out = AtomicOutput(path, "png", inputs)
    with out as tmp:
        io.write_png(str(tmp), np.ascontiguousarray(image))
    return out.path


def write_png(path: str | Path, image: np.ndarray, inputs: Iterable[str | Path] = ()) -> Path:
    """:func:`write_png_file` for the exports; ``ExportError`` names the file."""
    try:
        return write_png_file(path, image, inputs)
    except OutputError as exc:
        raise ExportError(str(exc)) from None


# --- view state --------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray | tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "pos") and hasattr(value, "size"):  # vispy Rect
        return [*map(float, value.pos), *map(float, value.size)]
    return value


def view_state(visuals: EventVisuals, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Camera, layer visibility, colour mode, MC overlay and selection of one view, as JSON data."""
    camera = visuals.view.camera
    state = {
        "format": STATE_FORMAT,
        "projection": visuals.projection,
        "camera": {
            "type": type(camera).__name__,
            **{k: _jsonable(v) for k, v in camera.get_state().items()},
            **({"distance": camera.distance} if getattr(camera, "distance", None) is not None else {}),
        },
        "visibility": visuals.visibility,
        "color_mode": visuals.color_mode,
        "show_mc": visuals.show_mc,
        "selection": list(visuals.selection) if visuals.selection else None,
    }
    if visuals.event is not None:
        h = visuals.event.header
        state["event"] = {k: int(h[k][0]) for k in EVENT_ID}
        state["source"] = visuals.event.source
    state.update(extra or {})
    return state


def apply_view_state(visuals: EventVisuals, state: dict[str, Any]) -> None:
    """Restore a state written by ``view_state`` (the event itself is the caller's to load)."""
    if state.get("format") != STATE_FORMAT:
        raise ExportError("not a view state (missing 'format': 'belle2-display view state')")
    cam = dict(state["camera"])
    kind = cam.pop("type")
    camera = visuals.view.camera
    if kind != type(camera).__name__:
        raise ExportError(f"view state is for a {kind}, this view has a {type(camera).__name__}")
    if "rect" in cam:
        cam["rect"] = tuple(cam["rect"])
    distance = cam.pop("distance", None)
    camera.set_state(cam)
    if distance is not None:
        camera.distance = float(distance)
    visuals.set_color_mode(state.get("color_mode", "charge"))
    for layer in LAYERS:
        visuals.set_layer_visible(layer, bool(state["visibility"].get(layer, True)))
    visuals.show_mc = bool(state.get("show_mc", False))
    visuals.set_layer_visible("mc", visuals.show_mc)
    sel = state.get("selection")
    visuals.highlight(sel[0], sel[1]) if sel else visuals.highlight(None)


def save_view_state(path: str | Path, states: dict[str, Any]) -> None:
    try:
        write_text(path, json.dumps(states, indent=1), "json")
    except OutputError as exc:
        raise ExportError(str(exc)) from None


def load_view_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: cannot read view state: {exc}") from None
    if not isinstance(data, dict):
        raise ExportError(f"{path}: not a view state")
    return data


# --- Phoenix JSON ------------------------------------------------------------------------


def write_phoenix(path: str | Path, event: EventBatch) -> Path:
    """The shown event as Phoenix JSON (events.phoenix: mm, MeV, reopens in this display too)."""
    from events import phoenix
    from events.source import EventFileError

    path = Path(path)
    source = Path(event.source) if event.source else None
    try:
        phoenix.write(path, [event], inputs=[source] if source is not None else [])
    except (EventFileError, OutputError) as exc:
        raise ExportError(str(exc)) from exc
    return path


# --- batch rendering ---------------------------------------------------------------------


MAX_EVENT_INDEX = 2**53  # beyond any file; larger numbers in a range are refused, not iterated


def parse_range(text: str) -> range:
    """'0-99' -> range(0, 100); '7' -> range(7, 8); as Python slices '0:5' -> range(0, 5) and ':5'
    (the first five) -> range(0, 5). Never iterated whole: see ``clamp_range``."""
    text = text.strip()
    sliced = ":" in text
    lo, _, hi = text.partition(":" if sliced else "-")
    if len(lo) > 20 or len(hi) > 20:
        raise ExportError(f"bad event range {text[:40]!r}: numbers that long are no event positions")
    try:
        if sliced:
            start, stop = int(lo or 0), int(hi)
        else:
            start = int(lo)
            stop = int(hi) + 1 if hi else start + 1
    except ValueError:
        raise ExportError(
            f"bad event range {text!r}: write e.g. 0-99 or 7, or :5 for the first five"
        ) from None
    if start < 0 or stop <= start:
        raise ExportError(f"bad event range {text!r}: empty or negative")
    if stop > MAX_EVENT_INDEX:
        raise ExportError(f"bad event range {text!r}: positions stop at {MAX_EVENT_INDEX}")
    return range(start, stop)


def clamp_range(event_range: range, n: int) -> range:
    """The part of ``event_range`` inside a file of ``n`` events (constant time, whatever its length)."""
    return range(max(event_range.start, 0), min(event_range.stop, n))


def open_event_source(path: str | Path) -> EventSource:
    """``events.io.open_events`` with its errors as ``ExportError`` (the message names the file)."""
    from events.io import open_events
    from events.source import EventFileError

    try:
        return open_events(path)
    except EventFileError as exc:
        raise ExportError(str(exc)) from exc


def event_file_name(event: EventBatch, stem: str) -> str:
    """``{stem}_e0007_r01234_ev00000042.png``: experiment, run and event of a one-event batch."""
    return f"{stem}_{event.event_file_stem()}.png"


def render_events(
    source: Events,
    event_range: range,
    out_dir: str | Path,
    visuals: EventVisuals,
    render: Callable[[], np.ndarray],
    stem: str = "event",
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Draw each event of ``source`` in ``event_range`` with ``visuals`` and write ``render()`` as PNG.

    ``source`` has ``__len__`` and ``read(start, stop) -> EventBatch``; ``render`` returns the
    picture of the view ``visuals`` lives in (the detector view with the event drawn on it).
    Files are named by experiment, run and event; a number seen twice gets the index appended.
    Each is written atomically, never over one of ``inputs``. Raises ``ExportError`` when no
    event of the range is in the source (the range is clamped to the source, never iterated whole).
    """
    n = len(source)
    wanted = clamp_range(event_range, n)
    if not wanted:
        first, last = event_range[0], event_range[-1]
        raise ExportError(f"events {first}-{last} are outside the file, which holds {n} events (0-{n - 1})")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot make the output directory {out}: {exc.strerror or exc}") from None
    written: list[Path] = []
    names: set[str] = set()
    from events.source import EventFileError

    for i in wanted:
        try:
            event = source.read(i, i + 1)
        except EventFileError as exc:  # names the file and the events already
            raise ExportError(str(exc)) from exc
        visuals.set_event(event)
        name = event_file_name(event, stem)
        if name in names:
            name = name.replace(".png", f"_{i}.png")
        names.add(name)
        image = np.asarray(render())[..., :3]
        written.append(write_png(out / name, image, inputs=inputs))
    visuals.clear()
    return written


class BatchSource:
    """An in-memory EventBatch behind the ``__len__`` / ``read(start, stop)`` source interface."""

    def __init__(self, batch: EventBatch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch)

    def read(self, start: int, stop: int) -> EventBatch:
        return self.batch.slice(start, stop)
