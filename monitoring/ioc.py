"""``main.py ioc``: serve the SuperKEKB/Belle II simulation as EPICS PVs, over Channel Access
(caproto, the default) or PV Access (``--protocol pva``: p4p's server, NTScalar PVs).

Every channel of :mod:`monitoring.channels` becomes a read-only PV named in Belle II's style
under ``--prefix`` (default ``SIM:``, so a simulator never shadows a real PV), with units,
precision and the HIHI/HIGH/LOW/LOLO limits of docs/monitoring.md §1; caproto sets each value's
alarm severity from those limits. Samples carry the simulated clock as their timestamp, and
around a sudden beam loss the beam-current PVs are written turn by turn, so clients see the
collapse. Set ``--port`` (or EPICS_CA_SERVER_PORT, for PV Access EPICS_PVAS_SERVER_PORT) to run
beside another IOC. Over PV Access every PV is an NTScalar with the same name, its ``display``
(units, precision), ``control`` and ``valueAlarm`` fields (the limits) and an ``alarm`` severity
computed from those limits as caproto does for Channel Access; p4p honours the EPICS_PVAS_*
variables (broadcast port, beacon and interface lists).

It serves on the loopback interface only (TCP and UDP, beacons included) unless told otherwise:
``--interfaces 0.0.0.0`` (or named addresses) widens it, as does EPICS_CAS_INTF_ADDR_LIST when
set; the first line it prints says where it serves. ``--sbl-at S`` makes a sudden beam loss
happen S seconds after the start (a drill for the alarm chain).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from monitoring.channels import CHANNELS, Channel, severity_from_limits
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
    parser.add_argument(
        "--interfaces",
        "--bind",
        nargs="+",
        default=None,
        metavar="ADDRESS",
        help="IPv4 addresses to serve on (default 127.0.0.1, or EPICS_CAS_INTF_ADDR_LIST when set; "
        "0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--sbl-at", type=float, default=None, metavar="S", help="a sudden beam loss S seconds after the start"
    )
    parser.add_argument("--list-pvs", action="store_true", help="print the PV names and exit")
    parser.add_argument(
        "--protocol", choices=("ca", "pva"), default="ca", help="Channel Access or PV Access (default ca)"
    )


def pv_table(prefix: str = DEFAULT_PREFIX) -> list[tuple[str, Channel, float]]:
    """(PV name, channel, scale from channel units to PV units) for every served channel."""
    return [
        (prefix + spec.pv, spec, 1000.0 if spec.name in MILLIAMP_CHANNELS else 1.0)
        for spec in CHANNELS.values()
        if spec.pv
    ]


def build_pvdb(
    prefix: str, initial: dict[str, tuple[float, float]] | None = None
) -> tuple[dict[str, Any], dict[str, tuple[Any, float]]]:
    """The caproto PV database and, per channel, its PV object and scale; ``initial`` gives
    channels their first (value, timestamp), so no client ever reads a placeholder."""
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
        value, stamp = (initial or {}).get(spec.name, (0.0, None))
        if spec.name in INTEGER_CHANNELS:
            pv = ReadOnlyInteger(
                value=int(value), timestamp=stamp, units=units, reported_record_type="longin"
            )
        else:
            pv = ReadOnlyDouble(
                value=value * scale, timestamp=stamp, units=units, precision=3, reported_record_type="ai",
                **limits,
            )  # fmt: skip
        pvdb[name] = pv
        by_channel[spec.name] = (pv, scale)
    return pvdb, by_channel


async def publish_simulation(
    sim: Simulation,
    by_channel: dict[str, tuple[Any, float]],
    accel: float,
    tick: float,
    origin: tuple[float, float] | None = None,
) -> None:
    """Step the simulation every ``tick`` wall seconds and write its samples to the PVs.

    ``origin``: (monotonic wall clock, simulated time) that correspond; by default now and
    the simulation's present."""
    wall0, start = origin if origin is not None else (time.monotonic(), sim.now)
    while True:
        await asyncio.sleep(tick)
        target = start + accel * (time.monotonic() - wall0)
        n = max(1, min(10, math.ceil((target - sim.now) / 1.0)))
        for u in sim.step(target, n):
            pv, scale = by_channel[u.channel]
            value = int(u.value) if u.channel in INTEGER_CHANNELS else u.value * scale
            await pv.write(value, timestamp=u.timestamp)


def serving_interfaces(requested: list[str] | None) -> tuple[list[str], str]:
    """(addresses to serve on, where they came from); raises ValueError for a bad address."""
    if requested:
        source = "--interfaces"
        addresses = requested
    elif os.environ.get("EPICS_CAS_INTF_ADDR_LIST", "").strip():
        source = "EPICS_CAS_INTF_ADDR_LIST"
        addresses = [a.partition(":")[0] for a in os.environ["EPICS_CAS_INTF_ADDR_LIST"].split()]
    else:
        return ["127.0.0.1"], "default"
    for address in addresses:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise ValueError(f"{source}: {address!r} is not an IPv4 address") from None
    return sorted(set(addresses)), source


class _BeaconWithoutRepeater(logging.Filter):
    """caproto logs a traceback for every beacon nobody receives (no CA repeater on the loopback
    interface): say it once, in one line; clients find the IOC by searching anyway."""

    def __init__(self) -> None:
        super().__init__()
        self.said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Failed to send beacon"):
            return True
        if not self.said:
            self.said = True
            where = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            print(f"main.py ioc: no CA repeater receives beacons at {where}; clients find this IOC by "
                  "searching", file=sys.stderr, flush=True)  # fmt: skip
        return False


def _shut_down_on_signals() -> None:
    """SIGINT and SIGTERM cancel the server task: caproto closes its sockets and returns, with
    no KeyboardInterrupt raised wherever the loop happened to be."""
    loop = asyncio.get_running_loop()
    tasks = asyncio.all_tasks()
    server = next((t for t in tasks if getattr(t.get_coro(), "__name__", "") == "start_server"), None)
    if server is None:
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.cancel)


def _fail(text: str) -> int:
    print(f"main.py ioc: {text}", file=sys.stderr, flush=True)
    return 1


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C before the server loop took the signals over
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.list_pvs:
        for name, spec, scale in pv_table(args.prefix):
            print(f"{name}\t{'mA' if scale == 1000.0 else spec.units}\t{spec.description}")
        return 0
    if not (math.isfinite(args.accel) and 0 < args.accel <= 3600):
        return _fail(f"--accel {args.accel:g}: must be a number in (0, 3600]")
    if not (math.isfinite(args.tick) and 0.001 <= args.tick <= 60):
        return _fail(f"--tick {args.tick:g}: must be between 0.001 and 60 s")
    if not (math.isfinite(args.sbl_rate) and args.sbl_rate >= 0):
        return _fail(f"--sbl-rate {args.sbl_rate:g}: must be a number >= 0")
    if args.sbl_at is not None and not math.isfinite(args.sbl_at):
        return _fail(f"--sbl-at {args.sbl_at:g}: must be a number of seconds")
    if args.port is not None and not 0 < args.port < 65536:
        return _fail(f"--port {args.port}: not a port number")
    if args.port:
        os.environ["EPICS_PVAS_SERVER_PORT" if args.protocol == "pva" else "EPICS_CA_SERVER_PORT"] = str(
            args.port
        )
    try:
        interfaces, where = serving_interfaces(args.interfaces)
    except ValueError as exc:
        return _fail(str(exc))
    loopback = all(ipaddress.IPv4Address(a).is_loopback for a in interfaces)
    if loopback and not os.environ.get("EPICS_CAS_BEACON_ADDR_LIST", "").strip():
        # beacons would otherwise go to the broadcast address of the network
        os.environ["EPICS_CAS_BEACON_ADDR_LIST"] = " ".join(interfaces)
        os.environ["EPICS_CAS_AUTO_BEACON_ADDR_LIST"] = "NO"
    logging.getLogger("caproto.ctx").addFilter(_BeaconWithoutRepeater())

    from caproto.asyncio.server import run as run_server

    from monitoring.rates import load_menu

    try:
        menu = load_menu()
    except Exception as exc:  # the generator failed: say so in one line, no traceback
        return _fail(f"cannot build the trigger-rate model: {type(exc).__name__}: {exc}")
    for note in menu.notes:
        print(f"main.py ioc: {note}", file=sys.stderr, flush=True)
    options = {"sbl_rate": str(args.sbl_rate), "preset": args.preset}
    # the simulated clock starts now, so at --accel 1 it is the wall clock
    origin = (time.monotonic(), time.time())
    sim = Simulation(config_from_options(options, "ioc"), origin[1], seed=args.seed, menu=menu)
    if args.sbl_at is not None:
        sim.machine.schedule_loss(sim.now + args.sbl_at)
        at = sim.now + args.sbl_at
        when = time.strftime("%H:%M:%S", time.localtime(at))
        text = f"drill: a sudden beam loss at {when} (simulated clock {at:.6f}) if the beams are stable"
        print(f"main.py ioc: {text}", file=sys.stderr, flush=True)
    first = {u.channel: (u.value, u.timestamp) for u in sim.step(sim.now + 1e-3, 1)}
    if args.protocol == "pva":
        return _serve_pva(args, sim, first, interfaces, loopback, where, origin)
    pvdb, by_channel = build_pvdb(args.prefix, first)

    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")
    scope = (
        "loopback only; --interfaces 0.0.0.0 serves every interface"
        if loopback
        else f"from {where}; reachable from the network"
    )

    async def startup(async_lib: object) -> None:
        # called once the sockets are bound: "serving" is true when it is printed
        _shut_down_on_signals()
        print(
            f"serving {len(pvdb)} PVs under {args.prefix!r} at {args.accel:g}x real time on "
            f"{', '.join(interfaces)} port {port} (TCP and UDP; {scope})",
            flush=True,
        )
        await publish_simulation(sim, by_channel, args.accel, args.tick, origin)

    try:
        run_server(pvdb, interfaces=interfaces, startup_hook=startup)
    except OSError as exc:
        return _fail(f"cannot serve on {', '.join(interfaces)} port {port}: {exc.strerror or exc}")
    return 0


# ----------------------------------------------------------------------------------- PV Access


def _nt_value(nt: Any, spec: Channel, scale: float, value: float, stamp: float | None) -> Any:
    """One NTScalar update: the value in PV units, its time, and the severity of its limits."""
    if spec.name in INTEGER_CHANNELS:
        return nt.wrap(int(value), timestamp=stamp)
    severity = int(severity_from_limits(value, spec.limits)) if math.isfinite(value) else 3
    wrapped = nt.wrap(value * scale, timestamp=stamp)
    wrapped["alarm.severity"] = severity
    wrapped["alarm.message"] = ("", "MINOR", "MAJOR", "INVALID")[severity]
    return wrapped


@dataclass(frozen=True)
class ServedPV:
    """One PV Access PV of the simulation: its name, p4p's SharedPV and NTScalar type, the channel."""

    name: str
    pv: Any
    nt: Any
    spec: Channel
    scale: float

    def post(self, value: float, stamp: float | None) -> None:
        self.pv.post(_nt_value(self.nt, self.spec, self.scale, value, stamp))


def _limit_fields(spec: Channel, scale: float) -> dict[str, Any]:
    """NTScalar display and valueAlarm fields of a channel (PV units)."""
    lim = spec.limits
    fields: dict[str, Any] = {
        "display.units": "mA" if scale == 1000.0 else spec.units,
        "display.description": spec.description,
        "display.format": "%d" if spec.name in INTEGER_CHANNELS else "%.3f",
    }
    if spec.name not in INTEGER_CHANNELS and lim.lolo != lim.hihi:
        fields |= {
            "valueAlarm.active": True,
            "valueAlarm.lowAlarmLimit": lim.lolo * scale,
            "valueAlarm.lowWarningLimit": lim.low * scale,
            "valueAlarm.highWarningLimit": lim.high * scale,
            "valueAlarm.highAlarmLimit": lim.hihi * scale,
            "valueAlarm.lowAlarmSeverity": 2,
            "valueAlarm.highAlarmSeverity": 2,
            "valueAlarm.lowWarningSeverity": 1,
            "valueAlarm.highWarningSeverity": 1,
        }
    return fields


def build_pva(prefix: str, initial: dict[str, tuple[float, float]]) -> dict[str, ServedPV]:
    """channel -> its read-only NTScalar PV, with units, precision, limits and a first value."""
    from p4p.nt import NTScalar
    from p4p.server.thread import SharedPV

    def refuse(pv: Any, op: Any) -> None:  # read-only, as the Channel Access PVs are
        op.done(error="read-only PV")

    served: dict[str, ServedPV] = {}
    for name, spec, scale in pv_table(prefix):
        nt = NTScalar(
            "l" if spec.name in INTEGER_CHANNELS else "d", display=True, control=True, valueAlarm=True
        )
        value, stamp = initial.get(spec.name, (0.0, time.time()))
        first = _nt_value(nt, spec, scale, value, stamp)
        for field, setting in _limit_fields(spec, scale).items():
            first[field] = setting
        pv = SharedPV(nt=nt, initial=first)
        pv.put(refuse)
        served[spec.name] = ServedPV(name, pv, nt, spec, scale)
    return served


def _serve_pva(
    args: argparse.Namespace,
    sim: Simulation,
    first: dict[str, tuple[float, float]],
    interfaces: list[str],
    loopback: bool,
    where: str,
    origin: tuple[float, float],
) -> int:
    from p4p.server import Server

    conf = {"EPICS_PVAS_INTF_ADDR_LIST": " ".join(interfaces)}
    if loopback and not os.environ.get("EPICS_PVAS_BEACON_ADDR_LIST", "").strip():
        conf |= {
            "EPICS_PVAS_BEACON_ADDR_LIST": " ".join(interfaces),
            "EPICS_PVAS_AUTO_BEACON_ADDR_LIST": "NO",
        }
    pvs = build_pva(args.prefix, first)
    try:
        server = Server(providers=[{p.name: p.pv for p in pvs.values()}], conf=conf, useenv=True)
    except RuntimeError as exc:
        return _fail(f"cannot serve PV Access on {', '.join(interfaces)}: {exc}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    port = server.conf().get("EPICS_PVAS_SERVER_PORT", "5075")
    scope = "loopback only; --interfaces 0.0.0.0 serves every interface" if loopback else f"from {where}"
    print(
        f"serving {len(pvs)} PVs under {args.prefix!r} at {args.accel:g}x real time on "
        f"{', '.join(interfaces)} port {port} (PV Access; {scope})",
        flush=True,
    )
    wall0, start = origin
    try:
        while not stop.wait(args.tick):
            target = start + args.accel * (time.monotonic() - wall0)
            n = max(1, min(10, math.ceil((target - sim.now) / 1.0)))
            for u in sim.step(target, n):
                pvs[u.channel].post(u.value, u.timestamp)
    finally:
        server.stop()
    return 0
