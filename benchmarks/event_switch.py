"""Event switch latency and frame rate of the event display, ours and the plain way side by side; prints JSON.

Events come from the project's generator: typical events are the generated physics stream (at least two
tracks); the stress event overlays generated hadronic and BB events until it holds 1000 tracks (with
their ECL clusters and KLM hits).

* Switch = read one event from a source + rebuild every visual of the 3D, r-phi and r-z views (median).
  The plain way: one Line visual per track.
* fps = the 3D view (800x600) with the event shown, turning 1 degree per frame in a shown window
  (Xvfb + Mesa llvmpipe), with CPU milliseconds per frame (llvmpipe renders in-process, all threads
  counted). Ours: points per track by how much it turns, towers opaque with back faces culled. The
  previous way: 64 points for every track, translucent towers. The naive way: one Line per track.
  Also: the line width, the 'agg' line method, and the stress event on the full Belle II detector.

Run under xvfb-run. Figures on a shared 2-core machine are noisy: compare within one run.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from vispy import app, scene

from displays import event_geometry as geo
from displays.event_render import BatchSource
from displays.event_view import EventView
from displays.event_visuals import EventVisuals
from events import filtering
from events.generator import generate
from events.model import Collection, EventBatch

app.use_app("pyside6")
SIZE = (800, 600)


def stress_event(n_tracks: int = 1000, seed: int = 1) -> EventBatch:
    """Generated hadronic and BB events overlaid into one event of exactly ``n_tracks`` tracks."""
    batch = generate(600, seed=seed, processes=["uubar", "ddbar", "ccbar", "bbbar_charged", "bbbar_mixed"])
    take = np.flatnonzero(np.cumsum(batch.tracks.counts) <= n_tracks)
    sub = batch.take(take)
    cols: dict[str, Collection] = {}
    for name in ("tracks", "ecl", "klm"):
        c = getattr(sub, name)
        columns = dict(c.columns)
        for k in ("ecl_index", "klm_index", "mc_index"):  # indices point into events that no longer exist
            if k in columns:
                columns[k] = np.full(len(columns[k]), -1, columns[k].dtype)
        cols[name] = Collection.from_columns(name, [c.size], columns)
    extra = n_tracks - cols["tracks"].size
    if extra > 0:  # top up with the first tracks of the next event
        t = batch.tracks
        more = {
            k: np.concatenate([cols["tracks"].columns[k], v[t.offsets[len(take)] :][:extra]])
            for k, v in t.columns.items()
        }
        cols["tracks"] = Collection.from_columns("tracks", [n_tracks], more)
    header = {k: v[:1] for k, v in batch.header.items()}
    return EventBatch.build(1, header, source="stress", **cols)


class PerTrackLines:
    """The plain way: one Line visual per track (what the merged Line replaces)."""

    def __init__(self, view: scene.ViewBox) -> None:
        self.view = view
        self.lines: list[scene.visuals.Line] = []

    def set_event(self, event: EventBatch) -> None:
        t = event.tracks
        colors = geo.track_colors(t, "charge")
        lines = geo.track_polylines(t, "3d", colors)
        pos = lines.pos.reshape(t.size, lines.n_points, 3)
        while len(self.lines) < t.size:
            self.lines.append(scene.visuals.Line(parent=self.view.scene, width=2, method="gl"))
        for i, line in enumerate(self.lines):
            line.visible = i < t.size
            if i < t.size:
                line.set_data(pos=pos[i], color=tuple(colors[i]))


class TracksOnly:
    """Rebuild only the merged track Line of an EventVisuals (the like-for-like comparison)."""

    def __init__(self, visuals: EventVisuals) -> None:
        self.visuals = visuals

    def set_event(self, event: EventBatch) -> None:
        v = self.visuals
        v.event = event
        v._s_end = geo.track_end_arc_lengths(event.tracks, v.extent)
        v._counts = geo.points_per_track(event.tracks["omega"], v._s_end, v.n_points) if v.adaptive else None
        v._update_track_colors()
        v._draw_tracks(update_picks=False)


def switch_ms(source: BatchSource, targets: list[Any], n: int) -> float:
    times = []
    for k in range(n):
        i = k % len(source)
        t0 = time.perf_counter()
        event = source.read(i, i + 1)
        for v in targets:
            v.set_event(event)
        times.append((time.perf_counter() - t0) * 1e3)
    return round(statistics.median(times[2:]), 2)


def interactive(canvas: Any, camera: Any, seconds: float = 3.0) -> dict[str, float]:
    """fps and CPU ms per frame of a shown canvas while the camera turns."""
    frames = [0]
    canvas.events.draw.connect(lambda _: frames.__setitem__(0, frames[0] + 1))
    canvas.show()
    for _ in range(10):
        app.process_events()
    frames[0] = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        camera.azimuth += 1.0
        canvas.update()
        app.process_events()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = max(frames[0], 1)
    return {"fps": round(frames[0] / wall, 1), "cpu_ms_per_frame": round(cpu / n * 1e3, 1)}


def shown_event_fps(
    event: EventBatch, seconds: float = 3.0, tracks_only: bool = False, **options: Any
) -> dict[str, float]:
    previous_way = options.pop("previous_way", False)
    width = options.pop("width", None)
    view = EventView("3d", size=SIZE, legend=not tracks_only, outline=not tracks_only, **options)
    v = view.visuals
    if previous_way:
        v.adaptive = False
        v.ecl.set_gl_state("translucent", depth_test=True, cull_face=False)
    if width is not None:
        v.tracks.set_data(width=width)
    v.set_event(event)
    if tracks_only:
        for visual in v.visuals():
            visual.visible = visual is v.tracks
    result = interactive(view.canvas, view.view.camera, seconds)
    result["points_drawn"] = len(v.tracks.pos)
    view.close()
    return result


def per_track_fps(event: EventBatch, seconds: float = 3.0) -> dict[str, float]:
    view = EventView("3d", size=SIZE, legend=False)
    PerTrackLines(view.view).set_event(event)
    result = interactive(view.canvas, view.view.camera, seconds)
    view.close()
    return result


def agg_fps(event: EventBatch, seconds: float = 2.0) -> dict[str, Any]:
    """The merged track Line with VisPy's 'agg' method (antialiased triangles), if it can draw it."""
    import logging

    errors: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    handler = Catch(level=logging.WARNING)
    logging.getLogger("vispy").addHandler(handler)
    view = EventView("3d", size=SIZE, legend=False, outline=False)
    try:
        v = view.visuals
        v.tracks.method = "agg"
        v.set_event(event)
        for visual in v.visuals():
            visual.visible = visual is v.tracks
        result: dict[str, Any] = dict(interactive(view.canvas, view.view.camera, seconds))
    except (ValueError, TypeError) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        result = {}
    finally:
        logging.getLogger("vispy").removeHandler(handler)
        view.close()
    if errors:
        return {"usable": False, "error": errors[0].strip().splitlines()[-1][:200]}
    return {"usable": True, **result}


def on_detector_fps(event: EventBatch, seconds: float = 3.0) -> dict[str, float]:
    from displays.event_view import apply_event_look
    from displays.event_visuals import detector_crystal_painter
    from displays.view3d import DetectorView3D
    from geometry.detector import build_detector

    detector = DetectorView3D(build_detector(), size=SIZE, app=app.use_app(), cutaway="wedge")
    apply_event_look(detector)
    visuals = EventVisuals(detector.view, "3d", crystal_painter=detector_crystal_painter(detector))
    visuals.set_event(event)
    result = interactive(detector.canvas, detector.view.camera, seconds)
    detector.close()
    return result


def main() -> None:
    stream = generate(400, seed=11)
    typical = BatchSource(stream.take(filtering.select(stream, "ntracks >= 2")))
    stress_batch = EventBatch.concat([stress_event(1000, seed=s) for s in range(1, 4)])
    stress = BatchSource(stress_batch)
    one = stress.read(0, 1)
    out: dict[str, Any] = {
        "benchmark": "event_switch",
        "machine": f"{platform.machine()}, {platform.python_version()}, shared 2-core, Xvfb + llvmpipe",
        "typical_event_tracks_mean": round(float(np.mean(typical.batch.tracks.counts)), 1),
        "stress_event_tracks": int(one.tracks.size),
        "stress_event_photon_clusters": int(geo.photon_clusters(one.ecl).sum()),
        "goal_stress_fps": 20,
        "goal_typical_switch_ms": 30,
    }
    # windows shown on screen first (never rendered off screen before: VisPy's FBO stack forbids the mix)
    view = EventView("3d", size=SIZE)
    view.visuals.set_event(typical.read(0, 1))
    out["typical_fps_ours"] = interactive(view.canvas, view.view.camera, 2.0)
    view.close()
    out["stress_fps_ours"] = shown_event_fps(one)
    out["stress_fps_previous_way_64_points_translucent_towers"] = shown_event_fps(one, previous_way=True)
    out["stress_fps_naive_one_line_per_track"] = per_track_fps(one)
    out["stress_tracks_only_fps_ours"] = shown_event_fps(one, tracks_only=True)
    out["stress_tracks_only_fps_64_points"] = shown_event_fps(one, tracks_only=True, previous_way=True)
    out["stress_tracks_only_fps_16_points"] = shown_event_fps(
        one, tracks_only=True, previous_way=True, n_points=16
    )
    out["stress_tracks_only_fps_ours_width_1"] = shown_event_fps(one, tracks_only=True, width=1.0)
    out["stress_tracks_only_fps_ours_width_4"] = shown_event_fps(one, tracks_only=True, width=4.0)
    out["stress_tracks_only_line_method_agg"] = agg_fps(one)
    out["stress_fps_on_the_belle2_detector"] = on_detector_fps(one)

    views = [EventView(p, size=SIZE) for p in ("3d", "rphi", "rz")]
    visuals = [v.visuals for v in views]
    naive_view = EventView("3d", size=SIZE, legend=False)
    naive = PerTrackLines(naive_view.view)
    out["typical_switch_ms_median"] = {
        "ours_three_views": switch_ms(typical, visuals, 60),
        "tracks_only_ours": switch_ms(typical, [TracksOnly(visuals[0])], 60),
        "tracks_only_naive_one_line_per_track": switch_ms(typical, [naive], 60),
    }
    out["stress_switch_ms_median"] = {
        "ours_three_views": switch_ms(stress, visuals, 12),
        "tracks_only_ours": switch_ms(stress, [TracksOnly(visuals[0])], 12),
        "tracks_only_naive_one_line_per_track": switch_ms(stress, [naive], 6),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
