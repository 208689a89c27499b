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

Values are passed on as received (after scaling numbers); the model judges them. A lost
connection is delivered as an update with ``connected=False``; caproto re-establishes the
channels and their subscriptions by itself when the IOC is back.
"""

from __future__ import annotations

import json
import math
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitoring.channels import CHANNELS, Severity
from monitoring.source import Source, SourceError, Update, parse_url

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


def load_pv_map(path: str | Path, prefix: str | None = None) -> dict[str, PVLink]:
    """Read a TOML/JSON PV map; errors name the file and the entry at fault."""
    path = Path(path)
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise SourceError(f"PV map {path}: cannot read it: {exc}") from None
    prefix = prefix if prefix is not None else str(data.get("prefix", ""))
    entries = data.get("channels")
    if not isinstance(entries, dict) or not entries:
        raise SourceError(f"PV map {path}: needs a [channels] table mapping channel names to PV names")
    links = {}
    for name, entry in entries.items():
        spec: dict[str, Any] = {"pv": entry} if isinstance(entry, str) else entry
        if not isinstance(spec, dict) or not isinstance(spec.get("pv"), str) or not spec["pv"]:
            raise SourceError(f"PV map {path}: channel {name!r} needs a PV name (a string or {{pv = ...}})")
        scale = spec.get("scale", 1.0)
        if not isinstance(scale, int | float) or not math.isfinite(scale):
            raise SourceError(f"PV map {path}: channel {name!r} has a scale that is not a number: {scale!r}")
        links[name] = PVLink(name, prefix + spec["pv"], float(scale))
    return links


class CASource(Source):
    scheme = "ca"

    def __init__(self, url: str = "ca://") -> None:
        _, _, options = parse_url(url)
        prefix = options.get("prefix")
        if "map" in options:
            self.links = load_pv_map(options["map"], prefix)
        else:
            self.links = default_pv_map(DEFAULT_PREFIX if prefix is None else prefix)
        super().__init__(url, tuple(self.links))
        self.writable = options.get("write", "0").lower() in ("1", "true", "yes")
        self._by_pv = {link.pv: link for link in self.links.values()}
        self._context: Any = None
        self._pvs: dict[str, Any] = {}
        self._subscriptions: list[Any] = []
        self._start_lock = threading.Lock()

    def start(self) -> None:
        from caproto.threading.client import Context  # imported here: only ca:// users pay for it

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
        data = response.data
        value: Any = data[0] if len(data) == 1 else data
        if link.scale != 1.0 and isinstance(value, int | float) and not isinstance(value, bool):
            value = value * link.scale
        elif link.scale != 1.0 and hasattr(value, "dtype") and value.dtype.kind in "iuf":
            value = float(value) * link.scale
        md = response.metadata
        self._publish([Update(link.channel, float(md.timestamp), value, int(md.severity), True)])

    def _on_connection(self, pv: Any, state: str) -> None:
        link = self._by_pv.get(pv.name)
        if link is None or state == "connected":
            return
        message = f"{pv.name} {state}"
        self._publish([Update(link.channel, time.time(), math.nan, Severity.INVALID, False, message)])
