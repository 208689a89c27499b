"""``main.py ioc``: serve the SuperKEKB/Belle II simulation as EPICS PVs with caproto.

Every channel of :mod:`monitoring.channels` becomes a read-only PV named in Belle II's style
under ``--prefix`` (default ``SIM:``, so a simulator never shadows a real PV), with units,
precision and the HIHI/HIGH/LOW/LOLO limits of docs/monitoring.md §1; caproto sets each value's
alarm severity from those limits. Samples carry the simulated clock as their timestamp, and
around a sudden beam loss the beam-current PVs are written turn by turn, so clients see the
collapse. Set ``--port`` (or EPICS_CA_SERVER_PORT) to run beside another IOC.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from typing import Any

from monitoring.channels import CHANNELS, Channel
from monitoring.sim import Simulation, config_from_options

DEFAULT_PREFIX = "SIM:"
INTEGER_CHANNELS = ("EXP", "RUN", "RUNNING", "FILL", "HER:INJ", "LER:INJ")
MILLIAMP_CHANNELS = ("HER:I", "LER:I")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="PV name prefix (default %(default)s)")
    parser.add_argument("--accel", type=float, default=1.0, help="time-acceleration factor (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick", type=float, default=0.1, help="wall seconds between updates")
    parser.add_argument("--sbl-rate", type=float, default=0.5, help="sudden beam losses per hour")
    parser.add_argument("--preset", choices=("default", "design"), default="default")
    parser.add_argument("--port", type=int, help="CA server port (default: EPICS_CA_SERVER_PORT or 5064)")
    parser.add_argument("--interfaces", nargs="+", default=None, help="interfaces to serve on (default all)")
    parser.add_argument("--list-pvs", action="store_true", help="print the PV names and exit")


def pv_table(prefix: str = DEFAULT_PREFIX) -> list[tuple[str, Channel, float]]:
    """(PV name, channel, scale from channel units to PV units) for every served channel."""
    return [
        (prefix + spec.pv, spec, 1000.0 if spec.name in MILLIAMP_CHANNELS else 1.0)
        for spec in CHANNELS.values()
        if spec.pv
    ]


def build_pvdb(prefix: str) -> tuple[dict[str, Any], dict[str, tuple[Any, float]]]:
    """The caproto PV database and, per channel, its PV object and scale."""
    from caproto import AccessRights, ChannelDouble, ChannelInteger

    class ReadOnlyDouble(ChannelDouble):
        def check_access(self, hostname: str, username: str) -> AccessRights:
            return AccessRights.READ

    class ReadOnlyInteger(ChannelInteger):
        def check_access(self, hostname: str, username: str) -> AccessRights:
            return AccessRights.READ

    pvdb: dict[str, Any] = {}
    by_channel: dict[str, tuple[Any, float]] = {}
    for name, spec, scale in pv_table(prefix):
        lim = spec.limits
        units = "mA" if scale == 1000.0 else spec.units
        limits = dict(
            lower_alarm_limit=lim.lolo * scale,
            lower_warning_limit=lim.low * scale,
            upper_warning_limit=lim.high * scale,
            upper_alarm_limit=lim.hihi * scale,
        )
        if spec.name in INTEGER_CHANNELS:
            pv = ReadOnlyInteger(value=0, units=units, reported_record_type="longin")
        else:
            pv = ReadOnlyDouble(value=0.0, units=units, precision=3, reported_record_type="ai", **limits)
        pvdb[name] = pv
        by_channel[spec.name] = (pv, scale)
    return pvdb, by_channel


async def publish_simulation(
    sim: Simulation, by_channel: dict[str, tuple[Any, float]], accel: float, tick: float
) -> None:
    """Step the simulation every ``tick`` wall seconds and write its samples to the PVs."""
    wall0, start = time.monotonic(), sim.now
    while True:
        await asyncio.sleep(tick)
        target = start + accel * (time.monotonic() - wall0)
        n = max(1, min(10, math.ceil((target - sim.now) / 1.0)))
        for u in sim.step(target, n):
            pv, scale = by_channel[u.channel]
            value = int(u.value) if u.channel in INTEGER_CHANNELS else u.value * scale
            await pv.write(value, timestamp=u.timestamp)


def run(args: argparse.Namespace) -> int:
    if args.list_pvs:
        for name, spec, scale in pv_table(args.prefix):
            print(f"{name}\t{'mA' if scale == 1000.0 else spec.units}\t{spec.description}")
        return 0
    if args.port:
        os.environ["EPICS_CA_SERVER_PORT"] = str(args.port)
    from caproto.asyncio.server import run as run_server

    options = {"sbl_rate": str(args.sbl_rate), "preset": args.preset}
    sim = Simulation(config_from_options(options, "ioc"), time.time(), seed=args.seed)
    pvdb, by_channel = build_pvdb(args.prefix)

    async def startup(async_lib: object) -> None:
        await publish_simulation(sim, by_channel, args.accel, args.tick)

    print(f"serving {len(pvdb)} PVs under {args.prefix!r} at {args.accel:g}x real time", flush=True)
    run_server(pvdb, interfaces=args.interfaces, startup_hook=startup)
    return 0
