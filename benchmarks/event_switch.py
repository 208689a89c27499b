"""Event switch latency and frame rate of the event display; prints JSON.

Switch = read one event from a source + rebuild every visual of the 3D, r-phi and r-z views
(median over events). Compared side by side with the plain way: one Line visual per track.
fps: the 3D view with an event shown, redrawn continuously in a shown window (Xvfb + Mesa)
and with off-screen ``canvas.render()``. Run under xvfb-run; figures on a shared 2-core
machine are noisy.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from vispy import app, scene

from displays import event_geometry as geo
from displays.event_render import BatchSource
from displays.event_samples import sample_batch, sample_event
from displays.event_view import EventView
from displays.event_visuals import EventVisuals
from events.model import EventBatch

app.use_app("pyside6")


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
        v._update_track_colors()
        v._draw_tracks(update_picks=False)


def switch_ms(source: BatchSource, targets: list, n: int) -> float:  # type: ignore[type-arg]
    times = []
    for k in range(n):
        i = k % len(source)
        t0 = time.perf_counter()
        event = source.read(i, i + 1)
        for v in targets:
            v.set_event(event)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times[2:])


def switch_and_draw_ms(source: BatchSource, views: list[EventView], n: int) -> float:
    times = []
    for k in range(n):
        i = k % len(source)
        t0 = time.perf_counter()
        event = source.read(i, i + 1)
        for v in views:
            v.visuals.set_event(event)
        views[0].canvas.render()  # upload + one frame of the 3D view
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times[2:])


def interactive_fps(view: EventView, seconds: float = 3.0) -> float:
    frames = [0]
    view.canvas.events.draw.connect(lambda _: frames.__setitem__(0, frames[0] + 1))
    view.canvas.show()
    for _ in range(5):
        app.process_events()
    cam = view.view.camera
    frames[0] = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        cam.azimuth += 1.0  # the outreach rotation
        view.canvas.update()
        app.process_events()
    return frames[0] / (time.perf_counter() - t0)


def render_fps(view: EventView, n: int = 20) -> float:
    view.canvas.render()
    t0 = time.perf_counter()
    for _ in range(n):
        view.view.camera.azimuth += 1.0
        view.canvas.render()
    return n / (time.perf_counter() - t0)


def main() -> None:
    typical = BatchSource(sample_batch(60, seed=11, n_tracks=(6, 16)))
    stress = BatchSource(EventBatch.concat([sample_event(1000, 60, seed=s, event=s + 1) for s in range(4)]))
    out: dict[str, object] = {}
    # a window shown on screen (never rendered off screen before: VisPy's FBO stack forbids the mix)
    shown = EventView("3d", size=(800, 600))
    shown.visuals.set_event(typical.read(0, 1))
    out["typical_interactive_fps"] = round(interactive_fps(shown, 2.0), 1)
    shown.visuals.set_event(stress.read(0, 1))
    out["stress_interactive_fps_merged"] = round(interactive_fps(shown), 1)
    shown_naive = EventView("3d", size=(800, 600), legend=False)
    PerTrackLines(shown_naive.view).set_event(stress.read(0, 1))
    out["stress_interactive_fps_per_track_lines"] = round(interactive_fps(shown_naive, 3.0), 1)
    out["goal_stress_fps"] = 20
    shown.close()
    shown_naive.close()
    views = [EventView(p, size=(800, 600)) for p in ("3d", "rphi", "rz")]  # type: ignore[arg-type]
    visuals = [v.visuals for v in views]
    naive_view = EventView("3d", size=(800, 600), legend=False)
    naive = PerTrackLines(naive_view.view)
    out |= {
        "benchmark": "event_switch",
        "machine": f"{platform.machine()}, {platform.python_version()}, shared 2-core (noisy)",
        "typical_event_tracks": float(np.mean(typical.batch.tracks.counts)),
        "typical_switch_ms_median": round(switch_ms(typical, visuals, 60), 2),
        "typical_switch_plus_frame_ms_median": round(switch_and_draw_ms(typical, views, 30), 2),
        "typical_switch_tracks_only_merged_ms_median": round(
            switch_ms(typical, [TracksOnly(visuals[0])], 60), 2
        ),
        "typical_switch_tracks_only_per_track_lines_ms_median": round(switch_ms(typical, [naive], 60), 2),
        "stress_event_tracks": 1000,
        "stress_switch_ms_median": round(switch_ms(stress, visuals, 12), 2),
        "stress_switch_tracks_only_merged_ms_median": round(
            switch_ms(stress, [TracksOnly(visuals[0])], 12), 2
        ),
        "stress_switch_tracks_only_per_track_lines_ms_median": round(switch_ms(stress, [naive], 6), 2),
        "goal_typical_switch_ms": 30,
    }
    views[0].visuals.set_event(stress.read(0, 1))
    out["stress_offscreen_render_fps_merged"] = round(render_fps(views[0]), 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
