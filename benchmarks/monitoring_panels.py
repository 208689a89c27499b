"""Live monitoring panels: repaint rate with the simulation at the 30 kHz L1 design rate, and memory
over an accelerated 8-hour shift. Prints JSON.

1. All four panels docked and visible, fed by ``sim://?preset=design`` (design currents and
   luminosity: the L1 rate sits at the 30 kHz DAQ limit) at 60x real time. Measured: hub frames
   per second (ticks that refreshed the panels), paint events per second of each chart (a chart
   repaints when new data arrives, ``data_updates_per_s``, or its time axis moves a pixel), the
   L1 rate the panels were showing, and the capacity: frames per second when every panel
   rebuilds and repaints every frame, just after start and with the 1-hour windows full.
2. Side by side on the same data: our way (curves made once, ``setData``) against the plain way
   (clear the plot and plot again each frame), synchronous repaint loop.
3. Resident memory sampled while the simulation runs an 8-hour shift in about a minute, with the
   panels visible. Goal: flat after warm-up (the strip buffers are bounded).
4. Where the source's time goes: one simulation step of the design preset (two samples: what the
   source publishes 30 times a second at 60x), and its physics rates from the menu's cached
   efficiencies against the rate model judging every emulated event again.

``ratios``: the chart paints per second of the slowest panel with strip charts (the beam-loss
post-mortem plots repaint only on an alarm) at the design rate against the 20 fps goal,
and the strip chart redrawn our way against the plain way. ``--quick`` (under 30 s): shorter
measurements and shift, the same keys.

Usage: xvfb-run -a python benchmarks/monitoring_panels.py [--quick] [--measure 10] [--shift-wall 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import psutil
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QMainWindow

from panels.monitoring import monitoring_docks
from panels.monitoring.base import MonitorPanel, StripChart


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)


def window_with_docks(url: str) -> tuple[QMainWindow, list]:
    window = QMainWindow()
    docks = monitoring_docks(url, window)
    for k, dock in enumerate(docks):
        side = Qt.DockWidgetArea.LeftDockWidgetArea if k < 2 else Qt.DockWidgetArea.RightDockWidgetArea
        window.addDockWidget(side, dock)
    window.resize(1600, 1000)
    window.show()
    return window, docks


def repaint_at_design_rate(app: QApplication, measure: float) -> dict:
    window, docks = window_with_docks("sim://?preset=design&accel=60&sbl_rate=0&seed=2")
    hub = docks[0].hub
    counters = {}
    n_charts = {}
    for dock in docks:
        panel: MonitorPanel = dock.widget()
        counter = PaintCounter()
        charts = [c for c in panel.findChildren(pg.PlotWidget)]
        for chart in charts:
            chart.viewport().installEventFilter(counter)
        counters[dock.windowTitle()] = counter
        n_charts[dock.windowTitle()] = sum(isinstance(c, StripChart) for c in charts)
    pump(app, 4.0)  # warm up: the efficiency matrix loads, buffers fill
    frames0, version0 = hub.frames, hub.model.version
    for c in counters.values():
        c.count = 0
    cpu0 = psutil.Process().cpu_times()
    t0 = time.monotonic()
    pump(app, measure)
    wall = time.monotonic() - t0
    cpu1 = psutil.Process().cpu_times()
    l1 = hub.model.buffers["L1:TOTAL"].view()[1]
    result = {
        "source": hub.source.url,
        "hub_frames_per_s": round((hub.frames - frames0) / wall, 1),
        "chart_paints_per_s": {k: round(c.count / wall, 1) for k, c in counters.items()},
        "strip_charts_per_panel": n_charts,
        "l1_total_median_hz": round(float(np.nanmedian(l1[-200:])), 0) if len(l1) else None,
        "l1_dead_fraction": round(hub.model.states["L1:DEAD"].value, 3),
        "updates_per_s": round(hub.model.arrivals.rate(time.monotonic()), 0),
        "process_cpu_percent": round(100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / wall, 1),
        "goal_fps": 20,
    }
    result["data_updates_per_s"] = round((hub.model.version - version0) / wall, 1)
    result["full_redraw_capacity_fps"] = redraw_capacity(app, hub, docks, measure / 2)
    hub.stop()
    window.close()
    # the same once the 1-hour strip charts are full: the steady state of a shift
    window, docks = window_with_docks("sim://?preset=design&accel=1800&sbl_rate=0&seed=2")
    hub = docks[0].hub
    pump(app, 3.0)  # 1.5 h of beam time
    result["full_redraw_capacity_fps_1h_window"] = redraw_capacity(app, hub, docks, measure / 2)
    result["points_in_1h_window"] = len(hub.model.buffers["LUM"].view(hub.model.latest_time - 3600.0)[0])
    hub.stop()
    window.close()
    return result


def redraw_capacity(app: QApplication, hub, docks: list, seconds: float) -> float:
    """Frames per second when every frame drains the source, rebuilds every panel's data and
    repaints every chart at once (no frame skipped because nothing changed)."""
    hub.timer.stop()
    panels = [d.widget() for d in docks]
    charts = [c for p in panels for c in p.findChildren(pg.PlotWidget)]
    frames, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        version = hub.model.version
        hub.tick()  # drains the source; a model that changed has rebuilt the panels already
        if hub.model.version == version:
            for panel in panels:
                panel.update_data(hub.model)
        for chart in charts:
            chart.repaint()
        app.processEvents()
        frames += 1
    return round(frames / (time.monotonic() - t0), 1)


def setdata_vs_replot(app: QApplication, seconds: float) -> dict:
    """The luminosity strip chart with 7200 points, redrawn as fast as possible both ways."""
    t = 1.7e9 + np.arange(7200, dtype=float)
    v = 5.0 + 0.05 * np.random.default_rng(1).standard_normal(7200)
    out = {}
    for way in ("setData on items made once", "clear and plot again"):
        chart = StripChart("L")
        chart.resize(900, 400)
        chart.show()
        curve = chart.curve("LUM", "luminosity", "#f0d040")
        frames, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            shift = frames % 100
            if way.startswith("setData"):
                curve.setData(t + shift, v)
            else:
                chart.plotItem.clear()
                chart.plot(t + shift, v, pen=pg.mkPen("#f0d040", width=1.5))
            chart.setXRange(t[0] + shift, t[-1] + shift, padding=0)
            chart.repaint()
            app.processEvents()
            frames += 1
        out[way] = round(frames / seconds, 1)
        chart.close()
    return out


def memory_over_shift(app: QApplication, shift_wall: float) -> dict:
    accel = 8 * 3600 / shift_wall
    url = f"sim://?accel={accel:.0f}&max_samples=30&sbl_rate=1&seed=5"
    window, docks = window_with_docks(url)
    hub = docks[0].hub
    proc = psutil.Process()
    samples = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < shift_wall:
        pump(app, shift_wall / 30)
        model = hub.model
        simulated_h = (
            (model.latest_time - hub.source.start_time) / 3600 if np.isfinite(model.latest_time) else 0.0
        )
        buffers_mb = sum(b.nbytes for b in model.buffers.values()) / 1e6
        samples.append((round(simulated_h, 2), round(proc.memory_info().rss / 1e6, 1), round(buffers_mb, 1)))
    rows = [f"{h:5.2f} h  {r:6.1f} MB  (buffers {b:.1f} MB)" for h, r, b in samples]
    hub.stop()
    window.close()
    rss = np.array([s[1] for s in samples])
    warm = len(rss) // 3
    return {
        "source": url,
        "simulated_hours": samples[-1][0],
        "rss_samples": rows,
        "rss_after_warmup_MB": float(rss[warm]),
        "rss_end_MB": float(rss[-1]),
        "growth_after_warmup_MB": round(float(rss[-1] - rss[warm]), 1),
        "raw_samples_per_channel_end": len(hub.model.buffers["LUM"]),
        "sbl_alarms": len(hub.model.alarms),
    }


def simulation_step_cost(steps: int) -> dict:
    """Milliseconds per simulation step at the design preset, and of its physics rates both ways."""
    from monitoring.rates import load_menu
    from monitoring.sim import SimSource, Simulation

    source = SimSource("sim://?preset=design&accel=60&sbl_rate=0&seed=2")
    menu = load_menu()
    sim = Simulation(source.config, source.start_time, source.seed, menu)
    spacing = source.sample_spacing()
    sim.step(sim.now + 2 * spacing, 2)  # warm: the menu's efficiencies computed once
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.step(sim.now + 2 * spacing, 2)
    step_ms = 1e3 * (time.perf_counter() - t0) / steps
    lum = np.full(2, 8e35)
    t0 = time.perf_counter()
    for _ in range(steps):
        menu.physics_rates(lum)
    cached_ms = 1e3 * (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    for _ in range(max(steps // 10, 3)):
        menu.model.rates(lum, menu.live_mask)
    every_event_ms = 1e3 * (time.perf_counter() - t0) / max(steps // 10, 3)
    return {
        "step_ms": round(step_ms, 2),
        "physics_rates_cached_ms": round(cached_ms, 3),
        "physics_rates_every_event_ms": round(every_event_ms, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", type=float, default=10.0, help="seconds of repaint measurement")
    parser.add_argument("--shift-wall", type=float, default=60.0, help="wall seconds for the 8-hour shift")
    parser.add_argument("--quick", action="store_true", help="shorter measurements and shift (< 30 s)")
    args = parser.parse_args()
    if args.quick:
        args.measure, args.shift_wall = 2.5, 6.0
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, platform {QApplication.platformName()}; shared and noisy",
        "repaint_at_30kHz_design_rate": repaint_at_design_rate(app, args.measure),
        "strip_chart_redraw_fps": setdata_vs_replot(app, 1.5 if args.quick else 3.0),
        "memory_over_8h_shift": memory_over_shift(app, args.shift_wall),
        "simulation_step": simulation_step_cost(40 if args.quick else 200),
    }
    design = result["repaint_at_30kHz_design_rate"]
    paints = {k: v for k, v in design["chart_paints_per_s"].items() if design["strip_charts_per_panel"][k]}
    redraw = result["strip_chart_redraw_fps"]
    slowest = min(paints, key=lambda k: paints[k])
    result["ratios"] = {
        "chart_paints_vs_20fps": {
            "value": paints[slowest] / 20.0,
            "goal": 1.0,
            "against": f"20 paints/s, the slowest panel with strip charts ({slowest}) "
            "at the 30 kHz design rate",
        },
        "strip_chart_setdata_vs_replot": {
            "value": redraw["setData on items made once"] / max(redraw["clear and plot again"], 1e-9),
            "goal": 1.0,
            "against": "clearing the plot and plotting again each frame (7200 points)",
        },
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
