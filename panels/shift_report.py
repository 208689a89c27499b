"""``main.py shift-report``: the shift as one self-contained HTML file for the e-log.

The monitoring model is fed as ``main.py monitor`` feeds it (``--machine URL`` watched for
``--seconds``; ``sim://`` replays its last hour), after the archive's history when ``--archive FILE``
is given (the values and the alarm log a window with ``--alarm-archive FILE`` recorded). The report
holds the luminosity recorded per run, delivered per day and in total; plots of the luminosity, the
beam currents and the L1 rate with its dead time; every sudden beam loss with its post-mortem plot;
the alarm log with who acknowledged and their comments; the raised alarms; and the DQM statuses when
the source carries histograms. Plots are pyqtgraph drawings exported off screen and embedded as PNG,
so the file needs nothing beside it. It is written atomically (``events.outputs``).
"""

from __future__ import annotations

import argparse
import base64
import html
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from events.outputs import AtomicOutput, OutputError
from monitoring.accumulators import SBLAlarm
from monitoring.alarms import (
    ASSETS_ALARMS,
    DQM_PREFIX,
    AlarmConfigError,
    AlarmLogEntry,
    AlarmModel,
    Reading,
    load_definitions,
)
from monitoring.archive import Archive, ArchiveError
from monitoring.channels import Severity
from monitoring.dqm_feed import read_status_pvs
from monitoring.histograms.compare import EPICS_STATUS
from monitoring.model import MonitorModel
from monitoring.monitor import INV_NB, watch
from monitoring.source import SourceError, open_machine_source

PLOT_SIZE = (900, 280)
RING_COLORS = {"HER:I": "#1f77b4", "LER:I": "#d62728"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--machine", default="sim://", help="machine source URL (default sim://)")
    parser.add_argument("--seconds", type=float, default=3.0, help="wall seconds to watch it (default 3)")
    parser.add_argument("--archive", type=Path, help="the window's archive (values and alarm log)")
    parser.add_argument(
        "--since", default="8h", help="how far back the report goes (e.g. 8h, 90m; default 8h)"
    )
    parser.add_argument("--alarms", default=str(ASSETS_ALARMS), help="alarm definitions (TOML)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")


def parse_duration(text: str) -> float:
    """'8h', '90m', '3600' (seconds) -> seconds; ValueError naming the text otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"--since {text!r}: expected a number with s, m, h or d (e.g. 8h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def gather(
    machine: str, seconds: float, since_s: float, alarms_file: str, archive: Path | None
) -> MonitorModel:
    """The model of the shift: the archive's history (if any), then ``seconds`` of the source."""
    alarms = AlarmModel(load_definitions(Path(alarms_file)))
    source = open_machine_source(machine)
    now = time.time()
    store = Archive(archive) if archive is not None else None
    try:
        if store is not None:
            store.restore(alarms)
            source.live_from = max(source.live_from, now)
        model = MonitorModel(
            source.channels, source_name=source.url, live_from=source.live_from, alarms=alarms
        )
        if store is not None:
            model.restore_beam_losses(store.beam_losses(now - since_s))  # as the window recorded them
            history = store.history(source.channels, now - since_s)
            for start in range(0, len(history), 20_000):
                model.ingest(history[start : start + 20_000])
        watched = watch(source, seconds, model=model)
        if source.scheme in ("ca", "pva"):  # the DQM statuses ``main.py ioc`` serves beside the machine
            watched.extra_readings.update(read_status_pvs(machine))
        return watched
    finally:
        if store is not None:
            store.close()


# ---------------------------------------------------------------------------------------- plots


def _qt_app() -> Any:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def plot_png(
    series: Sequence[tuple[str, np.ndarray, np.ndarray, str]],
    y_label: str,
    title: str,
    x_label: str | None = None,
    x_range: tuple[float, float] | None = None,
) -> bytes:
    """One line plot as PNG bytes: (name, x, values, colour) per line; x is time (local clock)
    unless ``x_label`` names another axis."""
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    app = _qt_app()
    axes = {} if x_label else {"bottom": pg.DateAxisItem()}
    widget = pg.PlotWidget(axisItems=axes, background="w")
    widget.resize(*PLOT_SIZE)
    plot = widget.getPlotItem()
    plot.setTitle(title, color="k")
    plot.setLabel("left", y_label, color="k")
    if x_label:
        plot.setLabel("bottom", x_label, color="k")
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=(-10, 10), labelTextColor="k")
    for name, x, v, color in series:
        if len(x):
            dots = {"symbol": "o", "symbolSize": 5, "symbolBrush": color} if x_range else {}
            plot.plot(x, v, pen=pg.mkPen(color, width=2), name=name, **dots)
    if x_range:
        plot.setXRange(*x_range, padding=0)
    widget.show()  # laid out at its size (off screen without a display), then drawn
    app.processEvents()
    exporter = ImageExporter(plot)
    exporter.parameters()["width"] = PLOT_SIZE[0]
    exporter.parameters()["height"] = PLOT_SIZE[1]
    image = exporter.export(toBytes=True)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    widget.close()
    return bytes(data.data())


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


# ---------------------------------------------------------------------------------------- HTML


def _when(t: float | None) -> str:
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t is not None and math.isfinite(t) else "—"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "<p class=none>none</p>"
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #111; max-width: 960px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #eef; text-align: left; } td { font-variant-numeric: tabular-nums; }
.none { color: #666; font-style: italic; } img { display: block; margin: 0.5em 0; }
"""


@dataclass
class ReportData:
    """What a report is made of, copied out of a model: plain values and arrays, so the report can be
    drawn away from the model (by another process, while the window's model goes on)."""

    source_name: str
    since: float  # the report's first source time (-inf: all there is)
    latest_time: float
    by_run: dict[int, float]
    by_day: dict[str, float]
    total: float
    gaps: int
    series: dict[str, tuple[np.ndarray, np.ndarray]]  # the plotted channels, in their own units
    losses: list[SBLAlarm]
    rollup: str | None  # the alarm roll-up's marker; None without an alarm model
    raised: list[list[str]]
    log: list[AlarmLogEntry]
    extra_readings: dict[str, Reading] = field(default_factory=dict)  # the DQM statuses
    generated: float = field(default_factory=time.time)  # when it was taken: the report's date


PLOTTED = ("LUM", "HER:I", "LER:I", "L1:TOTAL", "L1:DEAD")


def snapshot(model: MonitorModel, since_s: float) -> ReportData:
    """The report's content of ``model`` over the last ``since_s`` seconds of its data (copies)."""
    since = model.latest_time - since_s if math.isfinite(model.latest_time) else -math.inf
    lumi = model.lumi
    series = {}
    for name in PLOTTED:
        buffer = model.buffers.get(name)
        if buffer is not None:
            t, v = buffer.view(since)
            series[name] = (np.array(t, dtype=float), np.array(v, dtype=float))
    losses = [
        replace(a, rings=list(a.rings), postmortem=dict(a.postmortem))
        for a in model.alarms
        if a.time >= since
    ]
    alarm_model = model.alarm_model
    rollup, raised, log = None, [], []
    if alarm_model is not None:
        rollup = alarm_model.rollup().marker
        raised = [
            [a.definition.title, a.definition.severity.name, a.state, a.message] for a in alarm_model.raised()
        ]
        log = [e for e in alarm_model.log_since(0) if e.time >= since]
    dqm = {k: r for k, r in model.extra_readings.items() if k.startswith(DQM_PREFIX)}
    return ReportData(
        model.source_name, since, model.latest_time, dict(lumi.by_run), dict(lumi.by_day), lumi.total,
        len(lumi.gaps), series, losses, rollup, raised, log, dqm,
    )  # fmt: skip


def render(model: MonitorModel, since_s: float, generated: float | None = None) -> str:
    """The report of ``model`` over the last ``since_s`` seconds of its data, as HTML."""
    return render_data(snapshot(model, since_s), generated)


def _series(data: ReportData, name: str, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    t, v = data.series.get(name, (np.empty(0), np.empty(0)))
    return t, v * scale


def render_data(data: ReportData, generated: float | None = None) -> str:
    """The report as HTML (plots drawn here: the Qt application's thread of this process)."""
    generated = data.generated if generated is None else generated
    since = data.since
    parts = [
        f"<!doctype html><html><head><meta charset=utf-8><title>Belle II shift report</title>"
        f"<style>{STYLE}</style></head><body>",
        "<h1>Belle II shift report</h1>",
        _table(
            ["source", "from", "to", "generated"],
            [[data.source_name, _when(since), _when(data.latest_time), _when(generated)]],
        ),
        "<h2>Luminosity</h2>",
        _table(
            ["run", "recorded [pb⁻¹]"], [[run, f"{v / INV_NB / 1e3:.3f}"] for run, v in data.by_run.items()]
        ),
        _table(
            ["day", "delivered [pb⁻¹]"],
            [[day, f"{v / INV_NB / 1e3:.3f}"] for day, v in data.by_day.items()],
        ),
        f"<p>total delivered: {data.total / INV_NB / 1e3:.3f} pb⁻¹; gaps without data: {data.gaps}</p>",
    ]
    t, v = _series(data, "LUM", 1e-34)
    parts.append(
        _img(plot_png([("luminosity", t, v, "#b8860b")], "L [1e34 cm⁻²s⁻¹]", "Luminosity"), "luminosity")
    )
    parts.append("<h2>Beam currents</h2>")
    her, ler = _series(data, "HER:I", 1e3), _series(data, "LER:I", 1e3)
    currents = [("HER (e⁻)", *her, RING_COLORS["HER:I"]), ("LER (e⁺)", *ler, RING_COLORS["LER:I"])]
    parts.append(_img(plot_png(currents, "I [mA]", "Beam currents"), "beam currents"))
    parts.append("<h2>Sudden beam losses</h2>")
    losses = data.losses
    rows = [
        [_when(a.time), a.ring, f"{100 * a.fraction:.0f} %", f"{a.current_before * 1e3:.0f} mA",
         "acknowledged" if a.acknowledged else "latched", a.gap_reason or ""]
        for a in losses
    ]  # fmt: skip
    parts.append(_table(["time", "ring", "lost", "current before", "state", "during a gap"], rows))
    for a in losses:  # turn by turn around the loss, as the beam-loss panel's right plot
        lines = []
        for ring in ("HER:I", "LER:I"):
            if ring in a.postmortem:
                t_pm, v_pm = a.postmortem[ring]
                near = np.abs(t_pm - a.time) < 300e-6
                lines.append((ring[:3], (t_pm[near] - a.time) * 1e6, v_pm[near] * 1e3, RING_COLORS[ring]))
        if lines:
            title = f"Post-mortem: the {a.ring} loss at {_when(a.time)}, turn by turn"
            png = plot_png(lines, "I [mA]", title, "µs from the loss", x_range=(-50.0, 100.0))
            parts.append(_img(png, "post-mortem"))
    parts.append("<h2>L1 trigger</h2>")
    l1, dead = _series(data, "L1:TOTAL", 1e-3), _series(data, "L1:DEAD", 100.0)
    parts.append(_img(plot_png([("accepted L1 [kHz]", *l1, "#2ca02c"), ("dead time [%]", *dead, "#7f7f7f")],
                               "kHz / %", "L1 rate and dead time"), "L1 rate"))  # fmt: skip
    parts.append("<h2>Alarms</h2>")
    if data.rollup is not None:
        parts.append(f"<p>now: {html.escape(data.rollup)}</p>")
        parts.append(_table(["raised", "severity", "state", "message"], data.raised))
        log = [[_when(e.time), e.alarm or "(model)", e.action, Severity(e.severity).name, e.who, e.text]
               for e in data.log]  # fmt: skip
        parts.append(_table(["time", "alarm", "action", "severity", "who", "text / comment"], log))
    parts.append("<h2>DQM</h2>")
    parts.extend(_dqm_section(data))
    parts.append("</body></html>\n")
    return "\n".join(parts)


STATUS_WORDS = {epics: status.value.replace("_", " ") for status, epics in EPICS_STATUS.items()}


def _dqm_section(model: MonitorModel | ReportData) -> list[str]:
    """One row per histogram: its DQM status (basf2's number and word) and what the check said."""
    statuses = {
        key.removeprefix(DQM_PREFIX): reading
        for key, reading in sorted(model.extra_readings.items())
        if key.startswith(DQM_PREFIX) and key != "DQM:ERRORS"
    }
    errors = model.extra_readings.get("DQM:ERRORS")
    if not statuses and errors is None:
        return ["<p class=none>no histograms were checked by this source</p>"]
    out = []
    if errors is not None:
        named = f" ({html.escape(errors.detail)})" if errors.detail else ""
        out.append(f"<p>histograms in error: {errors.value:g}{named}</p>")
    rows = []
    for name, reading in statuses.items():
        number = int(reading.value) if math.isfinite(reading.value) else -1
        rows.append([name, f"{number} {STATUS_WORDS.get(number, 'unknown')}", reading.detail])
    if rows:
        out.append(_table(["histogram", "status", "check"], rows))
    return out


def run(args: argparse.Namespace) -> int:
    try:
        since_s = parse_duration(args.since)
        if not (math.isfinite(args.seconds) and args.seconds >= 0):
            raise ValueError(f"--seconds {args.seconds}: must be a number >= 0")
        model = gather(args.machine, args.seconds, since_s, args.alarms, args.archive)
    except (ValueError, AlarmConfigError, ArchiveError) as exc:
        print(f"shift-report: {exc}", file=sys.stderr)
        return 2
    except (SourceError, OSError) as exc:
        print(f"shift-report: {args.machine}: {exc}", file=sys.stderr)
        return 1
    try:
        path, size = write_report(snapshot(model, since_s), args.out)
    except OutputError as exc:
        print(f"shift-report: {exc}", file=sys.stderr)
        return 1
    print(f"shift-report: wrote {path} ({size // 1024} kB)", file=sys.stderr)
    return 0


def write_report(data: ReportData, out: str | Path) -> tuple[Path, int]:
    """The report of ``data`` written atomically at ``out``: (the path written, its length in characters).
    An output that cannot be written is an ``OutputError`` naming it."""
    text = render_data(data)
    output = AtomicOutput(out, "text")
    with output as tmp:
        tmp.write_text(text, encoding="utf-8")
    return output.path, len(text)


CHILD = "import sys; from panels.shift_report import child_main; sys.exit(child_main(sys.argv[1]))"


def child_main(out: str) -> int:
    """The window's report writer (``python -c CHILD OUT``, from the repository root): the pickled
    :class:`ReportData` its parent sends on stdin drawn and written at ``OUT``, off the window's
    process (pyqtgraph's plots are widgets: they can only be drawn on a Qt application's own
    thread). Prints ``wrote PATH SIZE`` or one line saying why not (exit 1)."""
    import pickle

    try:
        data = pickle.loads(sys.stdin.buffer.read())  # our parent's own snapshot, never a file
        if not isinstance(data, ReportData):
            raise TypeError(f"expected the report's data, got {type(data).__name__}")
        path, size = write_report(data, out)
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:  # one line for the window's status bar, never a traceback
        print(f"{out}: the report could not be made: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} {size}")
    return 0
