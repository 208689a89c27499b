"""``ca://``: EPICS Channel Access through caproto's threading client, read-only by default.

URL options: ``map`` a TOML or JSON file mapping our channels to PV names, ``prefix`` prepended
to every PV name (default ``SIM:``, the simulation IOC of ``main.py ioc``), ``write=1`` to allow
:meth:`CASource.put`. Without a map the channels are read from the PVs the simulation IOC
serves (docs/monitoring.md §1), so a control room points the panels at its own PVs with a file::

    prefix = ""                                        # optional, prepended to every PV below
    [channels]
    "LER:I" = { pv = "BMLDCCT:CURRENT", scale = 0.001 }   # mA -> A
    "HER:I" = { pv = "BMHDCCT:CURRENT", scale = 0.001 }
    LUM = "B2_nsm:get:ECL_LUM_MON:lum_inst"

A map is a regular file of at most 1 MB whose top level is a table; each PV feeds one channel
and a scale is a non-zero finite number: anything else is refused in one line naming the file.
Values are passed on as received (after scaling numbers); the model judges them, and a value
that cannot be passed on (an array where one number belongs, a callback that failed) arrives
as :class:`~monitoring.source.Unexpected` with the reason. A lost connection is delivered as an
update with ``connected=False``; caproto re-establishes the channels and their subscriptions by
itself when the IOC is back, searching for it at least once a second. Without
``EPICS_CA_ADDR_LIST`` the search also goes to 127.0.0.1, where ``main.py ioc`` serves by
default (broadcasts do not reach a loopback-only server).
"""

from __future__ import annotations

import json
import math
import os
import stat
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitoring.channels import CHANNELS, Severity
from monitoring.source import Source, SourceError, Unexpected, Update, parse_url

DEFAULT_PREFIX = "SIM:"
MILLIAMP_CHANNELS = ("HER:I", "LER:I")  # SuperKEKB DCCT PVs are in mA


@dataclass(frozen=True)
class PVLink:
    channel: str
    pv: str
    scale: float = 1.0


def default_pv_map(prefix: str = DEFAULT_PREFIX) -> dict[str, PVLink]:
    """Our channels as the simulation IOC serves them."""
    return {
        name: PVLink(name, prefix + spec.pv, 0.001 if name in MILLIAMP_CHANNELS else 1.0)
        for name, spec in CHANNELS.items()
        if spec.pv
    }


MAX_SEARCH_INTERVAL_S = 1.0
MAX_MAP_BYTES = 1 << 20  # a PV map is a few kB; anything larger is not one


def _read_map(path: Path) -> str:
    """The text of a PV map: a regular file of at most ``MAX_MAP_BYTES`` (never /dev/zero)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the opening
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SourceError(f"PV map {path}: not a regular file")
            data = f.read(MAX_MAP_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"PV map {path}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_MAP_BYTES:
        raise SourceError(f"PV map {path}: larger than {MAX_MAP_BYTES // 1024} kB, not a PV map")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"PV map {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_pv_map(path: str | Path, prefix: str | None = None) -> dict[str, PVLink]:
    """Read a TOML/JSON PV map; errors name the file and the entry at fault."""
    path = Path(path)
    text = _read_map(path)
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"PV map {path}: cannot parse it: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise SourceError(
            f"PV map {path}: the top level is a {type(data).__name__}; expected a table with [channels]"
        )
    file_prefix = data.get("prefix", "")
    if not isinstance(file_prefix, str):
        raise SourceError(f"PV map {path}: prefix must be a string, not {file_prefix!r}"[:300])
    prefix = prefix if prefix is not None else file_prefix
    entries = data.get("channels")
    if not isinstance(entries, dict) or not entries:
        raise SourceError(f"PV map {path}: needs a [channels] table mapping channel names to PV names")
    links: dict[str, PVLink] = {}
    by_pv: dict[str, str] = {}
    for name, entry in entries.items():
        spec: Any = {"pv": entry} if isinstance(entry, str) else entry
        if not isinstance(spec, dict) or not isinstance(spec.get("pv"), str) or not spec["pv"]:
            raise SourceError(f"PV map {path}: channel {name!r} needs a PV name (a string or {{pv = ...}})")
        scale = spec.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
            raise SourceError(f"PV map {path}: channel {name!r} has a scale that is not a number: {scale!r}")
        if scale == 0:
            raise SourceError(f"PV map {path}: channel {name!r} has scale 0 (every value would read 0)")
        pv = prefix + spec["pv"]
        if pv in by_pv:
            raise SourceError(
                f"PV map {path}: channels {by_pv[pv]!r} and {name!r} both map to PV {pv!r}; "
                "each PV can feed one channel"
            )
        by_pv[pv] = name
        links[name] = PVLink(name, pv, float(scale))
    return links


class PVSource(Source):
    """What ``ca://`` and ``pva://`` share: the PV links of the URL (``map``, ``prefix``), the
    ``write`` switch, and a client context with its subscriptions, started once."""

    def __init__(self, url: str) -> None:
        _, _, options = parse_url(url)
        prefix = options.get("prefix")
        if "map" in options:
            self.links = load_pv_map(options["map"], prefix)
        else:
            self.links = default_pv_map(DEFAULT_PREFIX if prefix is None else prefix)
        super().__init__(url, tuple(self.links))
        self.writable = options.get("write", "0").lower() in ("1", "true", "yes")
        self._context: Any = None
        self._subscriptions: list[Any] = []
        self._start_lock = threading.Lock()


class CASource(PVSource):
    scheme = "ca"

    def __init__(self, url: str = "ca://") -> None:
        super().__init__(url)
        self._by_pv = {link.pv: link for link in self.links.values()}
        self._pvs: dict[str, Any] = {}

    def start(self) -> None:
        # after a disconnection caproto searches again with a back-off up to this many seconds
        # (5 by default): a restarted IOC is found within about a second (read at import)
        os.environ.setdefault("CAPROTO_CLIENT_MAX_RETRY_SEARCHES_INTERVAL_SEC", str(MAX_SEARCH_INTERVAL_S))
        from caproto.threading.client import Context  # imported here: only ca:// users pay for it

        # ``main.py ioc`` serves on the loopback interface by default, which broadcast searches
        # do not reach: without an address list of its own, search there as well
        if not os.environ.get("EPICS_CA_ADDR_LIST", "").strip():
            os.environ["EPICS_CA_ADDR_LIST"] = "127.0.0.1"
        with self._start_lock:
            if self._context is not None:
                return
            self._context = Context()
            pvs = self._context.get_pvs(
                *self._by_pv, connection_state_callback=self._on_connection, timeout=None
            )
            for pv in pvs:
                self._pvs[pv.name] = pv
                sub = pv.subscribe(data_type="time")
                sub.add_callback(self._on_value)
                self._subscriptions.append(sub)

    def stop(self) -> None:
        with self._start_lock:
            self._subscriptions.clear()
            if self._context is not None:
                self._context.disconnect()
                self._context = None

    def put(self, channel: str, value: float) -> None:
        if not self.writable:
            super().put(channel, value)
        link = self.links[channel]
        self._pvs[link.pv].write([value / link.scale], wait=True)

    def _on_value(self, sub: Any, response: Any) -> None:
        link = self._by_pv.get(sub.pv.name)
        if link is None:
            return
        try:
            value = self._scaled(link, response.data)
            md = response.metadata
            update = Update(link.channel, float(md.timestamp), value, int(md.severity), True)
        except Exception as exc:  # never lose a value silently in caproto's callback thread
            problem = f"cannot read {sub.pv.name}: {type(exc).__name__}: {exc}"[:300]
            update = Update(link.channel, time.time(), Unexpected(problem), Severity.INVALID, True)
        self._publish([update])

    @staticmethod
    def _scaled(link: PVLink, data: Any) -> Any:
        """One value as the model wants it: a number (scaled), a string, or what was wrong."""
        n = len(data)
        if n != 1:  # never pass a large array on: a queue of them would hold megabytes each
            kind = getattr(getattr(data, "dtype", None), "name", type(data).__name__)
            return Unexpected(f"array of {n} {kind} values where one number was expected")
        value: Any = data[0]
        if hasattr(value, "dtype") and value.dtype.kind in "iuf":
            value = value.item()
        if link.scale != 1.0 and isinstance(value, int | float) and not isinstance(value, bool):
            value = value * link.scale
        return value

    def _on_connection(self, pv: Any, state: str) -> None:
        link = self._by_pv.get(pv.name)
        if link is None or state == "connected":
            return
        message = f"{pv.name} {state}"
        self._publish([Update(link.channel, time.time(), math.nan, Severity.INVALID, False, message)])
