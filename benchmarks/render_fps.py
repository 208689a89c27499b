"""Frame rate of the 3D detector while it turns, ours against the plain VisPy way, and time to first frame.

Prints one JSON object. Run under Xvfb (``make bench`` does): the canvas is a Qt window drawn by Mesa
(llvmpipe), the camera turns 3 degrees per frame and every finished paint counts. Without a display it
falls back to EGL and ``canvas.render()`` (which adds the pixel read-back to every frame).

``tile_pairs`` (alone with ``--tile-pairs``): the show's (triangle, 64x64 tile) pairs per translucent
part, counted offline; llvmpipe rasterizes each triangle once in every tile it touches.

* naive: every subdetector as a VisPy ``Mesh`` with per-face colours and VisPy's flat ``ShadingFilter``,
  the ECL as all 8736 closed crystals (12 triangles each), default translucent state, no culling.
* ours: ``displays.view3d.DetectorView3D``: every subdetector in two draws (opaque parts, then the
  translucent ones without depth writes), per-vertex lighting, ECL front/back shell, back faces
  culled, an RGB canvas texture without VisPy's alpha pass, glibc keeping llvmpipe's per-frame heap.

Besides wall-clock fps and CPU per frame it reports the CPU per frame of the main thread (Python,
vertex shading, binning) and of the busiest llvmpipe rasterizer thread: they mostly take turns, so
their sum estimates the frame time on two idle cores, a figure other work on the machine disturbs less.

``outreach_show``: the outreach show (``panels.outreach.OutreachWindow``, generated collisions) at its
default size, full screen (1920x1080 on ``make bench``'s Xvfb screen), one show frame per paint as
fast as it paints (its own timer would cap it at 25): the collision replayed with growing tracks,
showers, the clock and the caption, the camera turning. Its ``split`` repaints without the show's
ticks, without the translucent detector shells, and with nothing in the scene (clearing, Qt's
composition of the window and the buffer swap alone), to tell where the frame's time goes. Needs a
display; without one it says so.

``first_frame_s``: fresh processes opening the main window (``MainWindow.from_geometry()``, the
dark theme, 1600x950) until every view in it (the 3D view, both projections) has painted once,
from just before each process starts (``first_frame_3d_view_only_s``: until the 3D view had);
``first_frame_cpu_s`` the CPU seconds of each (all threads), which other work on a shared machine
disturbs less; ``first_frame_phases`` where the best start spent them (interpreter up, imports,
QApplication and theme, the detector geometry, the window with its three canvases, the 3D view
painted, every view painted); ``first_frame_app_s``/``first_frame_app_cpu_s`` the same for the full
application window as ``main.py gui`` builds it (``panels.app.Application``, every dock, the embedded
simulation; starts alternating with the main window's), ``first_frame_app_docks_built_s`` when every
dock's contents existed (the hidden ones are built after the first frame), ``first_frame_app_phases``;
``first_frame_profile`` the most expensive functions of one more
start under cProfile (not with ``--quick``); ``first_frame_conditions`` what the starts found
ready: the rendered glyphs kept on disk by an earlier start (``displays.glyph_cache``: ``warm``,
``cold`` or ``off``) and whether the project's own modules had their bytecode cached (they are
compiled from source at every start where it is not, as under ``PYTHONDONTWRITEBYTECODE``).
``--first-frame`` measures only these.

``ratios``: the full detector ours against naive (goal 8x), the first frame against the 1.5 s
goal (1.5 s / the best measured start, wall clock and CPU; the main window's and the full
application's) and the outreach show against 30 fps.
``--quick`` (under 30 s): 0.6 s of turning per case after one frame (not 5), the five cases and then
the show one after another in one process (not one each), the show timed after 8 frames (not 20),
its split 0.3 s each, one first-frame start; the same keys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (1280, 800)
QUICK_SECONDS = 0.6  # of turning per case with --quick
QUICK_WARMUP = 1  # frames drawn before a case is timed with --quick (5 without)
QUICK_SHOW_WARMUP = 8  # show frames before the show is timed with --quick (20 without)


def naive_scene(parts: list[Any], canvas: Any) -> Any:
    """The plain VisPy way: one shaded Mesh per part, face colours from the part colour."""
    import numpy as np
    from vispy import scene

    view = canvas.central_widget.add_view()
    for part in parts:
        colors = np.tile(np.asarray(part.color, np.float32), (len(part.mesh.faces), 1))
        scene.visuals.Mesh(
            vertices=part.mesh.vertices,
            faces=part.mesh.faces,
            face_colors=colors,
            shading="flat",
            parent=view.scene,
        )
    view.camera = scene.TurntableCamera(up="+y", fov=30.0, elevation=22.0, azimuth=-40.0, scale_factor=900.0)
    return view


def ours_scene(parts: list[Any], app: Any, cutaway: str) -> Any:
    from displays.view3d import DetectorView3D

    detector = DetectorView3D(parts, size=SIZE, app=app, show=app.backend_name != "egl", cutaway=cutaway)
    return detector


def thread_cpu_seconds() -> dict[tuple[str, str], float]:
    """CPU seconds (user + system) of each thread of this process, keyed by (thread id, name); Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        times[(tid, name)] = (int(fields[11]) + int(fields[12])) / tick
    return times


def thread_split(before: dict[tuple[str, str], float], frames: int) -> dict[str, float]:
    """Milliseconds per frame of the main thread and of the busiest llvmpipe rasterizer thread.

    llvmpipe's main-thread work (Python, vertex shading, binning) and its rasterizer threads mostly
    take turns, so their sum estimates the frame time on two otherwise idle cores.
    """
    after = thread_cpu_seconds()
    ms = {key: 1000.0 * (t - before.get(key, 0.0)) / frames for key, t in after.items()}
    main = max((v for (tid, _), v in ms.items() if tid == str(os.getpid())), default=0.0)
    raster = max((v for (_, name), v in ms.items() if name.startswith("llvmpipe")), default=0.0)
    return {
        "main_thread_ms_per_frame": round(main, 1),
        "raster_thread_ms_per_frame": round(raster, 1),
        "idle_2core_fps_estimate": round(1000.0 / max(main + raster, 1e-3), 1),
    }


def measure(canvas: Any, camera: Any, app: Any, seconds: float, warmup: int = 5) -> dict[str, float]:
    """Frames per second while the camera turns 3 degrees per frame, and CPU milliseconds per frame.

    llvmpipe renders in this process, so CPU time per frame (all threads) is the figure that stays
    comparable when other work shares the machine; wall-clock fps is what a viewer would see.
    """
    qt = app.backend_name != "egl"
    frames = [0]

    def count(event: Any) -> None:
        frames[0] += 1

    if qt:
        canvas.events.draw.connect(count)
        for _ in range(warmup):  # upload buffers, compile shaders
            camera.azimuth += 3.0
            canvas.update()
            app.process_events()
        frames[0] = 0
        threads = thread_cpu_seconds()
        start, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds:
            camera.azimuth += 3.0
            canvas.update()
            app.process_events()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        canvas.events.draw.disconnect(count)
        n = max(frames[0], 1)
    else:
        canvas.render()
        threads = thread_cpu_seconds()
        start, cpu = time.perf_counter(), time.process_time()
        n = 0
        while time.perf_counter() - start < seconds:
            camera.azimuth += 3.0
            canvas.render()
            n += 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "fps": round(n / elapsed, 1),
        "cpu_ms_per_frame": round(1000 * cpu / n, 1),
        **thread_split(threads, n),
    }


FIRST_FRAME_GOAL_S = 1.5

Phases = list[tuple[str, float, float]]


def _phase_clock() -> tuple[Phases, Callable[[str], None]]:
    """The phases of a first-frame child: (name, wall s since ``BENCH_T0``, CPU s of this process)."""
    t0 = float(os.environ["BENCH_T0"])
    phases: Phases = []

    def mark(name: str) -> None:
        phases.append((name, round(time.time() - t0, 3), round(time.process_time(), 3)))

    return phases, mark


def _when_every_view_painted(
    views: list[Any], phases: Phases, mark: Callable[[str], None], then: Callable[[dict[str, Any]], None]
) -> None:
    """Call ``then`` with the first-frame figures once every canvas of ``views`` has painted once
    (the first one marks ``3d_view_painted``, the last ``every_view_painted``)."""
    painted: set[int] = set()

    def painted_once(index: int) -> Callable[[Any], None]:
        def done(event: Any) -> None:
            if index in painted:
                return
            painted.add(index)
            if index == 0:
                mark("3d_view_painted")
            if len(painted) < len(views):
                return
            mark("every_view_painted")
            first = next(p for p in phases if p[0] == "3d_view_painted")
            then(
                {
                    "first_frame_s": phases[-1][1],
                    "cpu_s": phases[-1][2],
                    "first_view_s": first[1],
                    "first_view_cpu_s": first[2],
                }
            )

        return done

    for k, canvas in enumerate(views):
        canvas.events.draw.connect(painted_once(k))


def first_frame_child() -> None:
    """Run as a fresh process: open the main window and report when every view in it (the 3D view
    and both projections) has painted once: its first whole frame.

    Prints the wall-clock seconds since the parent started it (``BENCH_T0``), this process's CPU
    seconds (every thread: Python, Qt, llvmpipe), both at the end of each phase, and both when the
    3D view alone had painted (what this benchmark measured before). With
    ``BENCH_PROFILE`` set, cProfile runs from the first import on and the functions of the most
    cumulative time come back too (the profile's own overhead makes that start slower).
    """
    phases, mark = _phase_clock()
    mark("interpreter")
    profile = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    from PySide6.QtWidgets import QApplication

    from geometry.detector import build_detector
    from panels.main_window import MainWindow
    from panels.theme import apply_theme

    mark("imports")
    app = QApplication([])
    apply_theme(app)
    mark("application")
    build_detector(cdc_wires=True)  # cached: the window below takes these parts
    mark("geometry")
    window = MainWindow.from_geometry()
    window.resize(1600, 950)
    mark("window")

    views = [window.detector.canvas, *(view.canvas for view in window.projections.values())]

    def report(result: dict[str, Any]) -> None:
        result["phases"] = {name: {"wall_s": wall, "cpu_s": cpu} for name, wall, cpu in phases}
        if profile is not None:
            profile.disable()
            result["profile"] = profile_summary(profile)
        print(json.dumps(result), flush=True)
        os._exit(0)

    _when_every_view_painted(views, phases, mark, report)
    window.show()
    app.exec()


def first_frame_app_child() -> None:
    """Run as a fresh process: the full application window as ``main.py gui`` builds it
    (``panels.app.Application`` on the embedded simulation and machine source, the dark theme, its
    docks: monitoring panels, histograms, θ-φ map, event summary, log, ...; fresh settings in a
    temporary file) until every view in it (the 3D view and both projections) has painted once.

    Prints the same figures as :func:`first_frame_child`, and ``docks_built_s``/``docks_built_cpu_s``:
    when every dock's contents existed (built at once, or after the first frame where the application
    defers the hidden ones), so what comes after the first frame is seen too.
    """
    phases, mark = _phase_clock()
    mark("interpreter")
    import tempfile

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from panels.app import AppConfig, Application
    from panels.theme import apply_theme

    mark("imports")
    app = QApplication([])
    apply_theme(app, "dark")
    mark("application")
    settings = Path(tempfile.mkdtemp(prefix="first-frame-app-")) / "settings.ini"
    application = Application(AppConfig(settings=settings))
    mark("window")
    window = application.window
    views = [window.detector.canvas, *(view.canvas for view in window.projections.values())]
    result: dict[str, Any] = {}

    def docks_built() -> bool:
        pending = getattr(application, "pending_docks", None)
        return not pending or not pending()

    def finish() -> None:
        if not docks_built():
            QTimer.singleShot(20, finish)
            return
        mark("docks_built")
        result["docks_built_s"], result["docks_built_cpu_s"] = phases[-1][1], phases[-1][2]
        result["phases"] = {name: {"wall_s": wall, "cpu_s": cpu} for name, wall, cpu in phases}
        print(json.dumps(result), flush=True)
        os._exit(0)

    def first_frame(figures: dict[str, Any]) -> None:
        result.update(figures)
        QTimer.singleShot(0, finish)

    _when_every_view_painted(views, phases, mark, first_frame)
    window.show()
    app.exec()


IMPORT_MACHINERY = (
    "<built-in method builtins.exec>",
    "<built-in method builtins.__import__>",
    "<built-in method _imp.exec_dynamic>",
)


def profile_summary(profile: Any, n: int = 25) -> list[str]:
    """The ``n`` functions of most cumulative time: "cumulative s  own s  calls  function" (the
    import machinery left out: the modules' own top levels stand for their imports)."""
    import pstats

    stats = pstats.Stats(profile)
    rows = []
    for (path, line, name), (_, calls, own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if path.startswith("<frozen importlib") or (path == "~" and name in IMPORT_MACHINERY):
            continue
        short = path.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        rows.append((cum, own, calls, f"{short}:{line}({name})"))
    rows.sort(reverse=True)
    return [f"{cum:6.3f} {own:6.3f} {calls:6d}  {where}" for cum, own, calls, where in rows[:n]]


def first_frame(
    repeats: int = 3, profile: bool = False, child: str = "--first-frame-child"
) -> list[dict[str, Any]]:
    """``repeats`` fresh starts of the window (``child``: the main window's, or the full
    application's with ``--first-frame-app-child``), each measured from just before its process starts."""
    runs = []
    for _ in range(repeats):
        env = dict(os.environ, BENCH_T0=repr(time.time()))
        if profile:
            env["BENCH_PROFILE"] = "1"
        out = subprocess.run(
            [sys.executable, __file__, child],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not line:
            raise RuntimeError(f"first-frame child failed: {out.stderr[-2000:]}")
        runs.append(json.loads(line[-1]))
    return runs


def first_frame_conditions() -> dict[str, Any]:
    """What a start finds ready: the glyph file of an earlier start, the project's bytecode."""
    import importlib.util

    from displays import glyph_cache

    glyphs = glyph_cache.cache_path()
    sources = [ROOT / "panels" / name for name in ("app.py", "main_window.py", "cli.py")]
    return {
        "glyph_cache": "off" if glyphs is None else ("warm" if glyphs.is_file() else "cold"),
        "project_bytecode": all(Path(importlib.util.cache_from_source(str(f))).is_file() for f in sources),
    }


def first_frame_figures(quick: bool) -> dict[str, Any]:
    """Wall and CPU seconds to the first frame (best and every start), the phases of the best start,
    the load average, what the starts found ready, and one profiled start's most expensive functions."""
    conditions = first_frame_conditions()
    load = os.getloadavg()
    repeats = 1 if quick else 3
    runs, app_runs = [], []
    for _ in range(repeats):  # alternating: both see the same load
        runs += first_frame(1)
        app_runs += first_frame(1, child="--first-frame-app-child")
    best = min(runs, key=lambda r: r["cpu_s"])
    best_app = min(app_runs, key=lambda r: r["cpu_s"])
    return {
        "first_frame_s": [r["first_frame_s"] for r in runs],
        "first_frame_cpu_s": [r["cpu_s"] for r in runs],
        "first_frame_3d_view_only_s": [r["first_view_s"] for r in runs],
        "first_frame_3d_view_only_cpu_s": [r["first_view_cpu_s"] for r in runs],
        "first_frame_phases": best["phases"],
        "first_frame_app_s": [r["first_frame_s"] for r in app_runs],
        "first_frame_app_cpu_s": [r["cpu_s"] for r in app_runs],
        "first_frame_app_docks_built_s": [r["docks_built_s"] for r in app_runs],
        "first_frame_app_docks_built_cpu_s": [r["docks_built_cpu_s"] for r in app_runs],
        "first_frame_app_phases": best_app["phases"],
        "first_frame_load_average": [round(v, 2) for v in (load[0], os.getloadavg()[0])],
        "first_frame_conditions": conditions,
        "first_frame_profile": (
            ["--quick: no profiled start (render_fps.py --first-frame has one)"]
            if quick
            else first_frame(1, profile=True)[0]["profile"]
        ),
    }


CASES = {  # name: (way, parts, cutaway)
    "ecl_only/naive": ("naive", "ECL", "none"),
    "ecl_only/ours": ("ours", "ECL", "none"),
    "full_detector/naive": ("naive", "all", "none"),
    "full_detector/ours": ("ours", "all", "none"),
    "full_detector/ours_wedge_cut": ("ours", "all", "wedge"),
}


def measure_case(name: str, seconds: float, warmup: int = 5) -> dict[str, Any]:
    """One configuration, measured in this (fresh) process."""
    from vispy import app as vispy_app

    from displays.canvas import DetectorCanvas
    from geometry.detector import build_detector

    if os.environ.get("DISPLAY"):
        app = vispy_app.use_app("pyside6")
    else:
        from displays.headless import offscreen_app

        app = offscreen_app()
    way, which, cutaway = CASES[name]
    parts = [p for p in build_detector() if which == "all" or p.name == which]
    if way == "naive":
        canvas = DetectorCanvas(
            keys=None, size=SIZE, app=app, show=app.backend_name != "egl", bgcolor="black"
        )
        view = naive_scene(parts, canvas)
        figures: dict[str, Any] = measure(canvas, view.camera, app, seconds, warmup)
        figures["triangles"] = sum(len(p.mesh.faces) for p in parts)
        canvas.close()  # the next case may run in this process (--quick)
    else:
        detector = ours_scene(parts, app, cutaway)
        figures = measure(detector.canvas, detector.view.camera, app, seconds, warmup)
        meshes = (detector.meshes.opaque, detector.meshes.translucent)
        figures["triangles"] = sum(m.data.n_faces for m in meshes if m.visible and m.data is not None)
        figures["draw_calls"] = sum(bool(m.visible) for m in meshes)
        detector.close()
    figures["backend"] = app.backend_name
    return figures


TILE = 64  # llvmpipe rasterizes a triangle once in every 64x64 tile its bounding box touches
SHOW_CANVAS = (1920, 911)  # the show's picture on a 1920x1080 screen, above the caption


def tile_pairs(detector: Any, azimuths: Sequence[float] = tuple(range(-180, 180, 30))) -> dict[str, int]:
    """Per translucent part, the (triangle, 64x64 tile) pairs of its front faces (open parts: both
    windings, so each triangle once), bounding boxes clipped to the canvas, the mean over ``azimuths``."""
    import numpy as np

    width, height = detector.canvas.size
    totals: dict[str, float] = {}
    camera = detector.view.camera
    start = camera.azimuth
    for azimuth in azimuths:
        camera.azimuth = azimuth
        for name, visual in detector.parts.items():
            layer = visual.mesh
            if not (layer.visible and layer.translucent and layer.data is not None):
                continue
            xy = detector.to_pixels(layer.data.positions).reshape(-1, 3, 2)
            (x0, y0), (x1, y1), (x2, y2) = (xy[:, i].T for i in range(3))
            area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
            front = np.ones(len(xy), bool) if layer.two_sided else area < 0  # y down: CCW reads negative
            lo = np.clip(np.floor(xy.min(axis=1) / TILE), 0, None)
            hi = np.minimum(np.floor(xy.max(axis=1) / TILE), [(width - 1) // TILE, (height - 1) // TILE])
            n = np.prod(np.clip(hi - lo + 1, 0, None), axis=1)
            totals[name] = totals.get(name, 0.0) + float(n[front & (area != 0)].sum())
    camera.azimuth = start
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    counts = {name: round(total / len(azimuths)) for name, total in ranked}
    counts["total"] = sum(counts.values())
    return counts


def show_tile_pairs() -> dict[str, Any]:
    """``tile_pairs`` of the show's detector (its cutaway, look and camera) on a 1920x911 canvas."""
    from displays.event_view import apply_event_look
    from displays.showcase import CAMERA_CENTER, CAMERA_EXTENT, CUTAWAY, ELEVATION
    from displays.view3d import DetectorView3D
    from geometry.detector import build_detector

    detector = DetectorView3D(build_detector(), size=SHOW_CANVAS, cutaway=CUTAWAY)
    apply_event_look(detector)
    camera = detector.view.camera
    camera.elevation, camera.scale_factor, camera.center = ELEVATION, CAMERA_EXTENT, CAMERA_CENTER
    counts = tile_pairs(detector)
    detector.close()
    return {"canvas": "x".join(map(str, SHOW_CANVAS)), "tile": TILE, "pairs": counts}


def outreach_show(seconds: float, warmup: int = 20) -> dict[str, Any]:
    """The outreach show full screen, as ``main.py gui --outreach`` starts it, and its cost split."""
    if not os.environ.get("DISPLAY"):
        return {"skipped": "needs a display (run under xvfb-run, as make bench does)"}
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from panels.outreach import OutreachWindow

    qapp = QApplication.instance() or QApplication([])
    show = OutreachWindow.from_generator(seed=0)
    show.start(full_screen=True)
    show.timer.stop()  # one show frame per paint, not per 40 ms tick
    show.setGeometry(QGuiApplication.primaryScreen().geometry())  # what a window manager does for full screen
    canvas = show.detector.canvas
    for _ in range(warmup):  # the first collision on screen, buffers uploaded, shaders compiled
        show.tick()
        qapp.processEvents()
    frames = [0]

    def count(event: Any) -> None:
        frames[0] += 1

    canvas.events.draw.connect(count)

    def run(length: float, tick: bool = True) -> dict[str, Any]:
        frames[0] = 0
        threads = thread_cpu_seconds()
        start, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - start < length:
            if tick:
                show.tick()
            canvas.update()
            # the show's native GL window paints when Qt asks it to: wait for that paint (asleep, as
            # the show does between its timer's ticks) before the next show frame
            drawn = frames[0]
            while frames[0] == drawn and time.perf_counter() - start < length:
                QTimer.singleShot(50, lambda: None)  # wakes the wait if no paint comes
                qapp.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        n = max(frames[0], 1)
        return {
            "fps": round(frames[0] / elapsed, 1),
            "cpu_ms_per_frame": round(1000 * cpu / n, 1),
            **thread_split(threads, n),
        }

    figures: dict[str, Any] = run(seconds)
    figures["canvas"] = "x".join(str(v) for v in canvas.physical_size)
    figures["window"] = f"{show.width()}x{show.height()}"
    part = max(seconds / 2, 0.3)
    split = {"no_show_ticks": run(part, tick=False)}
    meshes = show.detector.meshes
    meshes.translucent.visible = False
    split["no_translucent_shells"] = run(part)
    hidden = [node for node in show.detector.view.scene.children if node.visible]
    for node in hidden:
        node.visible = False
    split["empty_scene"] = run(part, tick=False)
    figures["split"] = split
    show.close()
    return figures


def run_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=300)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child {args} failed (rc {out.returncode}): {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def first_frame_ratios(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "first_frame_vs_1.5s": {
            "value": FIRST_FRAME_GOAL_S / min(figures["first_frame_s"]),
            "goal": 1.0,
            "against": "absolute goal: 1.5 s from process start to the first painted frame "
            "(1.5 s / the best wall-clock start)",
        },
        "first_frame_cpu_vs_1.5s": {
            "value": FIRST_FRAME_GOAL_S / min(figures["first_frame_cpu_s"]),
            "goal": 1.0,
            "against": "the same goal against the start's CPU seconds (all threads; "
            "what a shared machine disturbs less)",
        },
        "first_frame_app_vs_1.5s": {
            "value": FIRST_FRAME_GOAL_S / min(figures["first_frame_app_s"]),
            "goal": 1.0,
            "against": "the same goal for the full application window as main.py gui builds it "
            "(every dock; 1.5 s / the best wall-clock start)",
        },
        "first_frame_app_cpu_vs_1.5s": {
            "value": FIRST_FRAME_GOAL_S / min(figures["first_frame_app_cpu_s"]),
            "goal": 1.0,
            "against": "the full application's first frame against its CPU seconds (all threads)",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of turning per measurement")
    parser.add_argument("--quick", action="store_true", help="1 s per case, one first-frame start (< 30 s)")
    parser.add_argument("--tile-pairs", action="store_true", help="the show's tile pairs per part")
    parser.add_argument("--first-frame", action="store_true", help="only the start to the first frame")
    parser.add_argument("--first-frame-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-frame-app-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=[*CASES, "outreach_show"], help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)  # several CASES, comma-separated, one process
    parser.add_argument("--warmup", type=int, default=None, help=argparse.SUPPRESS)  # frames before timing
    args = parser.parse_args()
    if args.quick:
        args.seconds = QUICK_SECONDS
    if args.first_frame_child:
        first_frame_child()
        return
    if args.first_frame_app_child:
        first_frame_app_child()
        return
    if args.case == "outreach_show":
        print(json.dumps(outreach_show(args.seconds, args.warmup or 20)), flush=True)
        return
    if args.case:
        print(json.dumps(measure_case(args.case, args.seconds, args.warmup or 5)), flush=True)
        return
    if args.cases:  # --quick: every case and then the show, in this one process
        by_case: dict[str, Any] = {}
        for case in args.cases.split(","):
            if case == "outreach_show":
                by_case[case] = outreach_show(args.seconds, QUICK_SHOW_WARMUP)
            else:
                by_case[case] = measure_case(case, args.seconds, args.warmup or 5)
        print(json.dumps(by_case), flush=True)
        return
    if args.tile_pairs:
        print(json.dumps({"benchmark": "render_fps --tile-pairs", **show_tile_pairs()}, indent=2))
        return
    if args.first_frame:
        figures: dict[str, Any] = {"benchmark": "render_fps --first-frame", "cpu_count": os.cpu_count()}
        figures.update(first_frame_figures(args.quick))
        figures["ratios"] = first_frame_ratios(figures)
        print(json.dumps(figures, indent=2))
        return

    from geometry.detector import build_detector

    results: dict[str, Any] = {
        "benchmark": "render_fps",
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "mode": (
            "Xvfb + Qt (QOpenGLWidget), draws per second while turning"
            if os.environ.get("DISPLAY")
            else "EGL surfaceless, canvas.render() per frame (includes read-back)"
        ),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "triangles": {p.name: len(p.mesh.faces) for p in build_detector()},
    }
    results["tile_pairs"] = show_tile_pairs()  # the show's (triangle, 64x64 tile) pairs per part
    seconds = ["--seconds", str(args.seconds)]
    if args.quick:  # one process for all the cases and the show: five interpreter starts fewer
        quick = ["--warmup", str(QUICK_WARMUP)]  # shaders compile and buffers upload in the first frame
        by_case = run_child(["--cases", ",".join([*CASES, "outreach_show"]), *seconds, *quick])
    else:  # each in a fresh process: no GL state or Qt window survives between them
        by_case = {case: run_child(["--case", case, *seconds]) for case in [*CASES, "outreach_show"]}
    results["outreach_show"] = by_case.pop("outreach_show")
    for case, figures in by_case.items():
        group, way = case.split("/")
        results.setdefault(group, {})[way] = figures
    results.update(first_frame_figures(args.quick))
    full = results["full_detector"]
    show_fps = results["outreach_show"].get("fps", 0.0)
    results["ratios"] = {
        "full_detector_vs_naive": {
            "value": full["ours"]["fps"] / max(full["naive"]["fps"], 1e-9),
            "goal": 8.0,
            "against": "the naive VisPy mesh, full detector turning, fps",
        },
        **first_frame_ratios(results),
        "outreach_show_vs_30fps": {
            "value": show_fps / 30.0,
            "goal": 1.0,
            "against": "absolute goal: the outreach show, full screen, at 30 fps (measured fps / 30; "
            "0 without a display)",
        },
    }
    results["note"] = "shared 2-core machine: figures are noisy; compare within one run"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
