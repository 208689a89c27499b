"""``pva://``: EPICS 7 PV Access through p4p's threading client, read-only by default.

The options and their meaning are those of ``ca://`` (:mod:`monitoring.ca`): ``map`` a TOML or
JSON PV map, ``prefix`` prepended to every PV name (default ``SIM:``, the simulation that
``main.py ioc --protocol pva`` serves), ``write=1`` to allow :meth:`PVASource.put`. So are the
semantics: values are passed on as received (numbers scaled), each with the severity of its
NTScalar's ``alarm`` field and the ``timeStamp`` it carries; an array where one number belongs
arrives as :class:`~monitoring.source.Unexpected`; a lost connection is an update with
``connected=False``, and p4p reconnects and resubscribes by itself when the server is back.

p4p reads the standard ``EPICS_PVA_*`` variables (address list, broadcast port, ...). Without
``EPICS_PVA_ADDR_LIST`` the search also goes to 127.0.0.1, where ``main.py ioc`` serves by
default (broadcasts do not reach a loopback-only server).
"""

from __future__ import annotations

import functools
import math
import os
import time
from typing import Any

from monitoring.ca import PVLink, PVSource
from monitoring.channels import Severity
from monitoring.source import Unexpected, Update


class PVASource(PVSource):
    scheme = "pva"

    def __init__(self, url: str = "pva://") -> None:
        super().__init__(url)

    def start(self) -> None:
        from p4p.client.thread import Context  # imported here: only pva:// users pay for it

        with self._start_lock:
            if self._context is not None:
                return
            own_list = os.environ.get("EPICS_PVA_ADDR_LIST", "").strip()
            conf = None if own_list else {"EPICS_PVA_ADDR_LIST": "127.0.0.1"}
            self._context = Context("pva", conf=conf, useenv=True)
            for link in self.links.values():
                callback = functools.partial(self._on_value, link)
                self._subscriptions.append(self._context.monitor(link.pv, callback, notify_disconnect=True))

    def stop(self) -> None:
        with self._start_lock:
            for sub in self._subscriptions:
                sub.close()
            self._subscriptions.clear()
            if self._context is not None:
                self._context.close()
                self._context = None

    def put(self, channel: str, value: float) -> None:
        if not self.writable:
            super().put(channel, value)
        link = self.links[channel]
        self._context.put(link.pv, value / link.scale, wait=True)

    def _on_value(self, link: PVLink, value: Any) -> None:
        if isinstance(value, Exception):
            if type(value).__name__ == "Disconnected":
                message = f"{link.pv} disconnected"
                self._publish([Update(link.channel, time.time(), math.nan, Severity.INVALID, False, message)])
            return  # Cancelled: our own stop()
        try:
            update = Update(
                link.channel,
                float(getattr(value, "timestamp", time.time())),
                self._scaled(link, value),
                int(getattr(value, "severity", Severity.NO_ALARM)),
                True,
            )
        except Exception as exc:  # never lose a value silently in p4p's callback thread
            problem = f"cannot read {link.pv}: {type(exc).__name__}: {exc}"[:300]
            update = Update(link.channel, time.time(), Unexpected(problem), Severity.INVALID, True)
        self._publish([update])

    @staticmethod
    def _scaled(link: PVLink, value: Any) -> Any:
        """One value as the model wants it: a number (scaled), a string, or what was wrong."""
        if isinstance(value, str):
            return str.__str__(value)  # the text itself, not p4p's "time text" rendering
        if hasattr(value, "__len__"):  # NTScalarArray: never pass a large array on
            kind = getattr(getattr(value, "dtype", None), "name", type(value).__name__)
            return Unexpected(f"array of {len(value)} {kind} values where one number was expected")
        number = int(value) if isinstance(value, int) and not isinstance(value, bool) else float(value)
        return number * link.scale if link.scale != 1.0 else number
