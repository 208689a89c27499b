"""Exports of the event display: PNG stills up to 4K and beyond, the Phoenix JSON of the shown
event, a view state (camera, visibility, selection) that reopens identically, and batch rendering
of many events for ``main.py render FILE --events 0-99 --out-dir DIR``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from vispy import io, scene

from displays import event_geometry as geo
from displays.event_visuals import LAYERS, EventVisuals
from events import helix
from events.model import EventBatch

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
    path = Path(path)
    try:
        io.write_png(str(path), img)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write picture: {exc.strerror}") from None
    return path


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
        state["event"] = {k: int(h[k][0]) for k in ("experiment", "run", "event")}
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
    Path(path).write_text(json.dumps(states, indent=1))


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


def phoenix_event(
    event: EventBatch, extent: geo.Extent = geo.ECL_INNER, n_points: int = 32
) -> dict[str, Any]:
    """The event in the HSF Phoenix format (mm, MeV), tracks as drawn points (1.5 T, not Phoenix's 2 T)."""
    if len(event) != 1:
        raise ExportError(f"Phoenix export takes one event, got {len(event)}")
    h = event.header
    t = event.tracks
    bz = float(h["bz"][0])
    colors = geo.track_colors(t, "charge")
    lines = geo.track_polylines(t, "3d", colors, extent, n_points=n_points)
    pts = lines.pos.reshape(t.size, n_points, 3).astype(np.float64) * 10.0
    p = helix.momentum(t["phi0"], t["omega"], t["tan_lambda"], bz)
    pt = np.hypot(p[:, 0], p[:, 1])
    theta = np.arctan2(pt, p[:, 2])
    tracks = [
        {
            "pos": pts[i].round(3).tolist(),
            "dparams": [
                float(t["d0"][i]) * 10,
                float(t["z0"][i]) * 10,
                float(t["phi0"][i]),
                float(theta[i]),
                float(t["charge"][i]) / float(np.linalg.norm(p[i]) * 1000),
            ],
            "charge": int(t["charge"][i]),
            "pT": float(pt[i] * 1000),
            "phi": float(t["phi0"][i]),
            "eta": float(-np.log(np.tan(theta[i] / 2))),
            "d0": float(t["d0"][i]) * 10,
            "z0": float(t["z0"][i]) * 10,
            "color": "".join(f"{int(255 * c):02x}" for c in colors[i, :3]),
        }
        for i in range(t.size)
    ]
    ecl = event.ecl
    keep = np.flatnonzero(geo.photon_clusters(ecl))
    clusters = [
        {
            "energy": float(ecl["energy"][i]) * 1000,
            "phi": float(ecl["phi"][i]),
            "theta": float(ecl["theta"][i]),
            "eta": float(-np.log(np.tan(ecl["theta"][i] / 2))),
            "radius": float(ecl["r"][i] * np.sin(ecl["theta"][i])) * 10,
            "z": float(ecl["r"][i] * np.cos(ecl["theta"][i])) * 10,
        }
        for i in keep
    ]
    k = event.klm
    v = event.vertices
    return {
        "event number": int(h["event"][0]),
        "run number": int(h["run"][0]),
        "experiment number": int(h["experiment"][0]),
        "Tracks": {"Tracks": tracks},
        "CaloClusters": {"ECLClusters": clusters},
        "Hits": {
            "KLMClusters": [
                {"type": "Point", "pos": [float(k[c][i]) * 10 for c in "xyz"], "size": 40}
                for i in range(k.size)
            ]
        },
        "Vertices": {
            "Vertices": [
                {
                    "x": float(v["x"][i]) * 10,
                    "y": float(v["y"][i]) * 10,
                    "z": float(v["z"][i]) * 10,
                    "vertexType": int(v["kind"][i]),
                    "linkedTracks": [int(v[c][i]) for c in ("track_pos", "track_neg") if v[c][i] >= 0],
                    "linkedTrackCollection": "Tracks",
                }
                for i in range(v.size)
            ]
        },
    }


def write_phoenix(path: str | Path, event: EventBatch) -> Path:
    h = event.header
    key = f"Experiment {int(h['experiment'][0])}/Run {int(h['run'][0])}/Event {int(h['event'][0])}"
    path = Path(path)
    try:
        path.write_text(json.dumps({key: phoenix_event(event)}))
    except OSError as exc:
        raise ExportError(f"{path}: cannot write Phoenix JSON: {exc.strerror}") from None
    return path


# --- batch rendering ---------------------------------------------------------------------


def parse_range(text: str) -> range:
    """'0-99' -> range(0, 100); '7' -> range(7, 8)."""
    try:
        lo, _, hi = text.partition("-")
        start = int(lo)
        stop = int(hi) + 1 if hi else start + 1
    except ValueError:
        raise ExportError(f"bad event range {text!r}: write e.g. 0-99 or 7") from None
    if start < 0 or stop <= start:
        raise ExportError(f"bad event range {text!r}: empty or negative")
    return range(start, stop)


def _open(path: str | Path) -> Any:
    try:
        event_io = importlib.import_module("events.io")  # the readers: mdst ROOT, HDF5, Phoenix JSON
        return event_io.open_events(str(path))
    except Exception as exc:
        raise ExportError(f"cannot read events from {path}: {exc}") from exc


def render_events(
    path: str | Path,
    event_range: range | Iterable[int] | str,
    out_dir: str | Path,
    size: tuple[int, int] = (1920, 1080),
    projection: geo.Projection = "3d",
    source: Any = None,
) -> list[Path]:
    """Write one PNG per event of ``path`` in ``event_range`` to ``out_dir``; returns the files.

    ``source`` is anything with ``__len__`` and ``read(start, stop) -> EventBatch`` (default:
    ``events.io.open_events(path)``). Events past the end of the file are skipped.
    """
    from displays.event_view import EventView

    rng = parse_range(event_range) if isinstance(event_range, str) else event_range
    src = source if source is not None else _open(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    view = EventView(projection, size=size)
    stem = Path(str(path)).name.split(".")[0] or "events"
    written: list[Path] = []
    try:
        for i in rng:
            if not 0 <= i < len(src):
                continue
            event = src.read(i, i + 1)
            view.visuals.set_event(event)
            h = event.header
            name = f"{stem}_e{int(h['experiment'][0])}_r{int(h['run'][0])}_ev{int(h['event'][0])}_{i}.png"
            written.append(save_png(view.canvas, out / name))
    finally:
        view.close()
    return written


class BatchSource:
    """An in-memory EventBatch behind the ``__len__`` / ``read(start, stop)`` source interface."""

    def __init__(self, batch: EventBatch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch)

    def read(self, start: int, stop: int) -> EventBatch:
        return self.batch.slice(start, stop)
