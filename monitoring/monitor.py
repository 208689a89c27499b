"""``main.py monitor``: watch a machine source headless and print what the monitoring model saw.

For scripts, cron jobs and tests: the same source, model and alarm logic as the GUI's panels
(``sim://``, ``ca://``; see :mod:`monitoring.source`), drained for ``--seconds`` of wall time, then
one JSON object (``--json``) or a short table: every channel with its last value (in the channel's
unit), EPICS severity, connection and staleness; the beam-loss alarms with their state; the
integrated luminosity per run, per day and in total; the accepted L1 rate; the alarm model's
roll-up and raised alarms (``--alarms FILE``, default assets/alarms.toml). It exits 1 with one
line naming the URL when the source cannot be opened or no channel ever connected, 2 for bad
arguments, and 0 otherwise (alarms are reported, not exit codes: a monitor is not an alarm).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from monitoring.alarms import ASSETS_ALARMS, AlarmConfigError, AlarmModel, load_definitions
from monitoring.channels import BIT_CHANNELS, Severity, channel
from monitoring.model import MonitorModel
from monitoring.source import Source, SourceError, open_machine_source

INV_NB = 1e33  # cm^-2 in one inverse nanobarn
CHECK_EVERY_S = 1.0  # staleness checks, as the GUI's hub makes them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--machine", default="sim://", help="machine source URL (default sim://)")
    parser.add_argument("--seconds", type=float, default=5.0, help="wall seconds to watch (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--stale-after", type=float, default=10.0, help="silence (s) that makes a channel stale"
    )
    parser.add_argument(
        "--alarms", default=str(ASSETS_ALARMS), help="alarm definitions (TOML; default assets/alarms.toml)"
    )


def watch(
    source: Source,
    seconds: float,
    stale_after: float = 10.0,
    poll_s: float = 0.05,
    alarms: AlarmModel | None = None,
    model: MonitorModel | None = None,
) -> MonitorModel:
    """Run ``source`` for ``seconds`` and return the model it fed (the source is stopped after);
    ``model``: one to go on feeding (a shift report's, after the archived history) instead of a new one."""
    if model is None:
        model = MonitorModel(
            source.channels,
            source_name=source.url,
            stale_after=stale_after,
            live_from=source.live_from,
            alarms=alarms,
        )
    source.queue()
    source.start()
    try:
        deadline = time.monotonic() + seconds
        last_check = -math.inf
        while True:
            model.ingest(source.drain(20_000))
            now = time.monotonic()
            if now - last_check >= CHECK_EVERY_S:
                model.check()
                last_check = now
            if now >= deadline:
                break
            time.sleep(min(poll_s, max(0.0, deadline - now)))
        model.ingest(source.drain())
        model.check()
    finally:
        source.stop()
    return model


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def report(model: MonitorModel) -> dict[str, Any]:
    """What the model saw, as plain JSON-ready data."""
    channels = {
        name: {
            "value": _number(state.value),
            "units": channel(name).units,
            "severity": Severity(state.severity).name,
            "connected": state.connected,
            "stale": state.stale,
            "message": state.message,
        }
        for name, state in model.states.items()
    }
    alarms = [
        {
            "name": "sudden beam loss",
            "ring": alarm.ring,
            "time": alarm.time,
            "fraction": alarm.fraction,
            "severity": Severity.MAJOR.name,
            "state": "acknowledged" if alarm.acknowledged else "latched",
            "during_gap": alarm.gap_reason or None,
        }
        for alarm in model.alarms
    ]
    lumi = model.lumi
    l1 = model.states.get("L1:TOTAL")
    out: dict[str, Any] = {
        "source": model.source_name,
        "connected_channels": sum(s.connected for s in model.states.values()),
        "channels": channels,
        "alarms": alarms,
        "integrated_luminosity_inv_nb": {
            "per_run": {str(run): value / INV_NB for run, value in lumi.by_run.items()},
            "per_day": {day: value / INV_NB for day, value in lumi.by_day.items()},
            "total": lumi.total / INV_NB,
        },
        "l1_total_hz": _number(l1.value) if l1 is not None else None,
        "log": [entry.text for entry in list(model.log)[-20:]],
    }
    if model.alarm_model is not None:
        out["alarm_rollup"] = model.alarm_model.rollup().marker
        out["raised_alarms"] = [
            {
                "name": a.name,
                "title": a.definition.title,
                "severity": a.definition.severity.name,
                "state": a.state,
                "message": a.message,
                "panel": a.definition.panel,
            }
            for a in model.alarm_model.raised()
        ]
    return out


def _table(result: dict[str, Any]) -> str:
    channels = result["channels"]
    lines = [f"{result['source']}: {result['connected_channels']} of {len(channels)} channels connected"]
    bits = [name for name in channels if name in BIT_CHANNELS]
    for name, c in channels.items():
        if name in BIT_CHANNELS:
            continue
        value = "-" if c["value"] is None else f"{c['value']:.6g} {c['units']}".rstrip()
        flags = ("" if c["connected"] else " disconnected") + (" stale" if c["stale"] else "")
        lines.append(f"  {name:<14} {value:<22} {c['severity']}{flags}")
    for alarm in result["alarms"]:
        lines.append(f"  ALARM sudden beam loss {alarm['ring']} ({alarm['state']})")
    if "alarm_rollup" in result:
        lines.append(f"  alarms: {result['alarm_rollup']}")
        for a in result["raised_alarms"]:
            lines.append(f"    {a['severity']:<7} {a['title']} ({a['state']}): {a['message']}")
    lines.append(f"  integrated luminosity: {result['integrated_luminosity_inv_nb']['total']:.4g} nb^-1")
    if bits:
        lines.append(f"  ({len(bits)} L1 bit rates: --json)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not math.isfinite(args.seconds) or args.seconds < 0 or not math.isfinite(args.stale_after):
        print(f"monitor: --seconds must be a number >= 0, not {args.seconds}", file=sys.stderr)
        return 2
    try:
        alarms = AlarmModel(load_definitions(args.alarms))
    except AlarmConfigError as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return 2
    try:
        source = open_machine_source(args.machine)
        model = watch(source, args.seconds, args.stale_after, alarms=alarms)
    except (SourceError, OSError, ValueError) as exc:
        print(f"monitor: {args.machine}: {exc}", file=sys.stderr)
        return 1
    result = report(model)
    print(json.dumps(result, indent=1) if args.json else _table(result))
    if not result["connected_channels"]:
        print(f"monitor: {args.machine}: no channel connected in {args.seconds:g} s", file=sys.stderr)
        return 1
    return 0
