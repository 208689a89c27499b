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

Beside the machine it serves the DQM status of the standard histograms (``monitoring.dqm_feed``):
``<prefix>DQM:<histogram>:STATUS`` and ``:PVALUE``, filled from events generated at ``--dqm-rate``
(0: none) and checked against the previous complete run or ``--dqm-reference FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from monitoring.channels import CHANNELS, Channel, severity_from_limits
from monitoring.dqm_feed import DQM_RATE_HZ, DqmFeed, DqmPV, RunTracker, dqm_pv_table
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
    parser.add_argument(
        "--dqm-rate", type=float, default=DQM_RATE_HZ, metavar="HZ",
        help="events/s generated for the DQM histograms whose status is served (default %(default)g, 0 none)",
    )  # fmt: skip
    parser.add_argument(
        "--dqm-reference", default=None, metavar="FILE",
        help="ROOT file of DQM references (default: each histogram's previous complete run)",
    )  # fmt: skip


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
    ReadOnlyDouble, ReadOnlyInteger = _read_only_types()
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


def _read_only_types() -> tuple[type, type]:
    """caproto's double and integer PV types, refusing writes (clients only read the simulation)."""
    from caproto import AccessRights, ChannelDouble, ChannelInteger

    class ReadOnlyDouble(ChannelDouble):
        def check_access(self, hostname: str, username: str) -> AccessRights:
            return AccessRights.READ

    class ReadOnlyInteger(ChannelInteger):
        def check_access(self, hostname: str, username: str) -> AccessRights:
            return AccessRights.READ

    return ReadOnlyDouble, ReadOnlyInteger


def build_dqm_pvdb(table: list[DqmPV]) -> dict[str, Any]:
    """The DQM PVs over Channel Access: the status an integer, the p-value a double, with limits."""
    ReadOnlyDouble, ReadOnlyInteger = _read_only_types()
    pvdb: dict[str, Any] = {}
    for pv in table:
        lim = pv.limits
        limits = dict(lower_alarm_limit=lim.lolo, lower_warning_limit=lim.low,
                      upper_warning_limit=lim.high, upper_alarm_limit=lim.hihi)  # fmt: skip
        if pv.kind == "STATUS":
            pvdb[pv.name] = ReadOnlyInteger(value=1, reported_record_type="longin", **limits)
        else:
            pvdb[pv.name] = ReadOnlyDouble(value=math.nan, precision=4, reported_record_type="ai", **limits)
    return pvdb


async def publish_dqm(feed: DqmFeed, table: list[DqmPV], pvdb: dict[str, Any], every_s: float = 1.0) -> None:
    """Write each DQM PV when its value changes (checked every ``every_s``); a p-value of NaN (no
    test made) is INVALID."""
    from caproto import AlarmSeverity, AlarmStatus

    last: dict[str, float] = {}
    while True:
        await asyncio.sleep(every_s)
        for name, value in feed.values(table).items():
            if name in last and (last[name] == value or (math.isnan(last[name]) and math.isnan(value))):
                continue
            last[name] = value
            pv = pvdb[name]
            if isinstance(pv.value, int):
                await pv.write(int(value))
            elif math.isfinite(value):
                await pv.write(value)
            else:
                await pv.write(value, status=AlarmStatus.UDF, severity=AlarmSeverity.INVALID_ALARM)


async def publish_simulation(
    sim: Simulation,
    by_channel: dict[str, tuple[Any, float]],
    accel: float,
    tick: float,
    origin: tuple[float, float] | None = None,
    runs: RunTracker | None = None,
) -> None:
    """Step the simulation every ``tick`` wall seconds and write its samples to the PVs.

    ``origin``: (monotonic wall clock, simulated time) that correspond; by default now and
    the simulation's present. ``runs`` is told every sample (the DQM events follow its run)."""
    wall0, start = origin if origin is not None else (time.monotonic(), sim.now)
    while True:
        await asyncio.sleep(tick)
        target = start + accel * (time.monotonic() - wall0)
        n = max(1, min(10, math.ceil((target - sim.now) / 1.0)))
        for u in sim.step(target, n):
            pv, scale = by_channel[u.channel]
            value = int(u.value) if u.channel in INTEGER_CHANNELS else u.value * scale
            if runs is not None:
                runs.see(u.channel, u.value)
            await pv.write(value, timestamp=u.timestamp)


def free_port(host: str = "127.0.0.1") -> int:
    """A port of ``host`` free for both TCP and UDP (Channel Access serves both), for private IOCs."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind((host, port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no port of {host} is free for both TCP and UDP")


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


def _dqm_words(table: list[DqmPV], args: argparse.Namespace) -> str:
    return f" (and {len(table)} DQM PVs, {args.dqm_rate:g} events/s)" if table else ""


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
        for dqm in dqm_pv_table(args.prefix) if args.dqm_rate > 0 else []:
            print(f"{dqm.name}\t\t{dqm.description}")
        return 0
    if not (math.isfinite(args.dqm_rate) and 0 <= args.dqm_rate <= 100_000):
        return _fail(f"--dqm-rate {args.dqm_rate:g}: must be a number of events/s in [0, 100000]")
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
    runs = RunTracker()
    for channel, (value, _) in first.items():
        runs.see(channel, value)
    feed, dqm_table = _dqm_feed(args, runs)
    try:
        serving = _Serving(args, sim, first, interfaces, loopback, where, origin, runs, feed, dqm_table)
        return (_serve_pva if args.protocol == "pva" else _serve_ca)(serving)
    finally:
        if feed is not None:
            feed.stop()


def _dqm_feed(args: argparse.Namespace, runs: RunTracker) -> tuple[DqmFeed | None, list[DqmPV]]:
    """The DQM histograms and their PVs, or (None, []) at ``--dqm-rate 0``; a reference file that
    cannot be used is said in one line each (file, then histogram) and the previous run is used."""
    if args.dqm_rate <= 0:
        return None, []
    from monitoring.histograms.definitions import STANDARD
    from monitoring.histograms.reference import ReferenceFileError, References, load_references

    references: References | None = None
    if args.dqm_reference:
        try:
            references = load_references(args.dqm_reference, STANDARD)
        except ReferenceFileError as exc:
            print(f"main.py ioc: DQM reference: {exc}; using the previous run", file=sys.stderr, flush=True)
        else:
            for note in references.notes:
                print(f"main.py ioc: DQM reference: {note}; using the previous run", file=sys.stderr)
    feed = DqmFeed(runs, args.dqm_rate, args.seed, references).start()
    return feed, dqm_pv_table(args.prefix)


@dataclass(frozen=True)
class _Serving:
    """What both servers need: the options, the running simulation and its first values, where to
    serve, the run tracker and the DQM feed with its PV table."""

    args: argparse.Namespace
    sim: Simulation
    first: dict[str, tuple[float, float]]
    interfaces: list[str]
    loopback: bool
    where: str
    origin: tuple[float, float]
    runs: RunTracker
    feed: DqmFeed | None
    dqm_table: list[DqmPV]

    def banner(self, count: int, port: str, transport: str) -> str:
        """The line printed once the server listens: what it serves, how fast, where and to whom."""
        scope = (
            "loopback only; --interfaces 0.0.0.0 serves every interface"
            if self.loopback
            else f"from {self.where}; reachable from the network"
        )
        return (
            f"serving {count} PVs under {self.args.prefix!r}{_dqm_words(self.dqm_table, self.args)} at "
            f"{self.args.accel:g}x real time on {', '.join(self.interfaces)} port {port} "
            f"({transport}; {scope})"
        )


def _serve_ca(run: _Serving) -> int:
    from caproto.asyncio.server import run as run_server

    pvdb, by_channel = build_pvdb(run.args.prefix, run.first)
    dqm_pvdb = build_dqm_pvdb(run.dqm_table)
    pvdb |= dqm_pvdb

    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")

    async def startup(async_lib: object) -> None:
        # called once the sockets are bound: "serving" is true when it is printed
        _shut_down_on_signals()
        print(run.banner(len(pvdb) - len(dqm_pvdb), port, "TCP and UDP"), flush=True)
        machine = publish_simulation(run.sim, by_channel, run.args.accel, run.args.tick, run.origin, run.runs)
        if run.feed is None:
            await machine
        else:
            await asyncio.gather(machine, publish_dqm(run.feed, run.dqm_table, dqm_pvdb))

    try:
        run_server(pvdb, interfaces=run.interfaces, startup_hook=startup)
    except OSError as exc:
        return _fail(f"cannot serve on {', '.join(run.interfaces)} port {port}: {exc.strerror or exc}")
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


def build_dqm_pva(table: list[DqmPV]) -> dict[str, tuple[DqmPV, Any, Any]]:
    """PV name -> (its DqmPV, p4p SharedPV, NTScalar type): read-only, with the valueAlarm limits."""
    from p4p.nt import NTScalar
    from p4p.server.thread import SharedPV

    def refuse(pv: Any, op: Any) -> None:
        op.done(error="read-only PV")

    served = {}
    for dqm in table:
        nt = NTScalar("l" if dqm.kind == "STATUS" else "d", display=True, control=True, valueAlarm=True)
        first = _dqm_nt(nt, dqm, 1.0 if dqm.kind == "STATUS" else math.nan)
        lim = dqm.limits
        for field, setting in {
            "display.description": dqm.description,
            "display.format": "%d" if dqm.kind == "STATUS" else "%.4g",
            "valueAlarm.active": True,
            "valueAlarm.lowAlarmLimit": lim.lolo,
            "valueAlarm.lowWarningLimit": lim.low,
            "valueAlarm.highWarningLimit": lim.high,
            "valueAlarm.highAlarmLimit": lim.hihi,
            "valueAlarm.lowAlarmSeverity": 2,
            "valueAlarm.highAlarmSeverity": 2,
            "valueAlarm.lowWarningSeverity": 1,
            "valueAlarm.highWarningSeverity": 1,
        }.items():
            first[field] = setting
        pv = SharedPV(nt=nt, initial=first)
        pv.put(refuse)
        served[dqm.name] = (dqm, pv, nt)
    return served


def _dqm_nt(nt: Any, dqm: DqmPV, value: float) -> Any:
    """One DQM update: the value and the severity of its limits (INVALID for a NaN p-value)."""
    wrapped = nt.wrap(int(value) if dqm.kind == "STATUS" else value, timestamp=time.time())
    severity = int(dqm.severity(value))
    wrapped["alarm.severity"] = severity
    wrapped["alarm.message"] = ("", "MINOR", "MAJOR", "INVALID")[severity]
    return wrapped


def _serve_pva(run: _Serving) -> int:
    from p4p.server import Server

    conf = {"EPICS_PVAS_INTF_ADDR_LIST": " ".join(run.interfaces)}
    if run.loopback and not os.environ.get("EPICS_PVAS_BEACON_ADDR_LIST", "").strip():
        conf |= {
            "EPICS_PVAS_BEACON_ADDR_LIST": " ".join(run.interfaces),
            "EPICS_PVAS_AUTO_BEACON_ADDR_LIST": "NO",
        }
    pvs = build_pva(run.args.prefix, run.first)
    dqm_pvs = build_dqm_pva(run.dqm_table)
    provider = {p.name: p.pv for p in pvs.values()} | {name: pv for name, (_, pv, _) in dqm_pvs.items()}
    try:
        server = Server(providers=[provider], conf=conf, useenv=True)
    except RuntimeError as exc:
        return _fail(f"cannot serve PV Access on {', '.join(run.interfaces)}: {exc}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    port = server.conf().get("EPICS_PVAS_SERVER_PORT", "5075")
    print(run.banner(len(pvs), port, "PV Access"), flush=True)
    wall0, start = run.origin
    last_dqm, dqm_values = time.monotonic(), dict[str, float]()
    try:
        while not stop.wait(run.args.tick):
            target = start + run.args.accel * (time.monotonic() - wall0)
            n = max(1, min(10, math.ceil((target - run.sim.now) / 1.0)))
            for u in run.sim.step(target, n):
                run.runs.see(u.channel, u.value)
                pvs[u.channel].post(u.value, u.timestamp)
            if run.feed is not None and time.monotonic() - last_dqm >= 1.0:
                last_dqm = time.monotonic()
                for name, value in run.feed.values(run.dqm_table).items():
                    before = dqm_values.get(name)
                    if before is None or not (before == value or (math.isnan(before) and math.isnan(value))):
                        dqm_values[name] = value
                        dqm, pv, nt = dqm_pvs[name]
                        pv.post(_dqm_nt(nt, dqm, value))
    finally:
        server.stop()
    return 0
