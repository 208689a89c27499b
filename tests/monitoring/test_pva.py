"""pva:// against real p4p servers in subprocesses: ``main.py ioc --protocol pva`` and a hostile one."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitoring.channels import CHANNELS, Severity
from monitoring.ioc import _nt_value, pv_table
from monitoring.source import Unexpected, Update, open_machine_source
from tests.monitoring.conftest import IOCProcess, free_port, started_processes, wait_for

pytest.importorskip("p4p")
pytestmark = pytest.mark.slow


@pytest.fixture
def pva_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """PV Access on private localhost ports, for this process and its children (the standard variables)."""
    server, search = free_port(), free_port()
    env = {
        "EPICS_PVAS_SERVER_PORT": str(server),
        "EPICS_PVAS_BROADCAST_PORT": str(search),
        "EPICS_PVA_BROADCAST_PORT": str(search),
        "EPICS_PVA_ADDR_LIST": "127.0.0.1",
        "EPICS_PVA_AUTO_ADDR_LIST": "NO",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def server(pva_env: dict[str, str]) -> Iterator[Callable[[list[str]], IOCProcess]]:
    yield from started_processes()


def collect(source: object) -> Callable[[], list[Update]]:
    got: list[Update] = []

    def drain() -> list[Update]:
        got.extend(source.drain())  # type: ignore[attr-defined]
        return got

    return drain


def test_the_simulation_over_pv_access_kill_and_restart(server: Callable[[list[str]], IOCProcess]) -> None:
    ioc = server(["main.py", "ioc", "--protocol", "pva", "--prefix", "T:", "--accel", "10"])
    assert "PV Access" in ioc.banner
    source = open_machine_source("pva://?prefix=T:")
    source.queue()
    source.start()
    seen = collect(source)
    try:
        served = {spec.name for _, spec, _ in pv_table("T:")}
        assert wait_for(lambda: served <= {u.channel for u in seen() if u.connected}, timeout=30)
        her = [u for u in seen() if u.channel == "HER:I" and u.connected][-1]
        assert 0.1 < her.value < 3.0  # served in mA, delivered in A as over Channel Access
        assert her.severity == Severity.NO_ALARM
        assert all(isinstance(u.value, int) for u in seen() if u.channel == "RUN" and u.connected)
        ioc.kill()  # kill -9: every channel is told it lost its server
        assert wait_for(lambda: served <= {u.channel for u in seen() if not u.connected}, timeout=30)
        lost = [u for u in seen() if not u.connected]
        assert all(math.isnan(u.value) and u.severity == Severity.INVALID for u in lost)
        assert "T:" in lost[0].message
        assert "disconnected" in lost[0].message
        n_before = len(seen())
        server(["main.py", "ioc", "--protocol", "pva", "--prefix", "T:"])  # back on the same ports
        assert wait_for(
            lambda: any(u.connected and u.channel == "LUM" for u in seen()[n_before:]), timeout=30
        )
    finally:
        source.stop()


def test_served_limits_and_severity_are_the_channels(server: Callable[[list[str]], IOCProcess]) -> None:
    from p4p.client.thread import Context

    server(["main.py", "ioc", "--protocol", "pva", "--prefix", "T:"])
    with Context("pva") as ctx:
        value = ctx.get("T:" + CHANNELS["LUM"].pv, timeout=20)
        fields = value.raw.todict()
        limits = CHANNELS["LUM"].limits
        assert fields["valueAlarm"]["lowAlarmLimit"] == pytest.approx(limits.lolo)
        assert fields["valueAlarm"]["highWarningLimit"] == pytest.approx(limits.high)
        assert fields["display"]["units"] == CHANNELS["LUM"].units
        with pytest.raises(Exception, match="read-only"):
            ctx.put("T:" + CHANNELS["LUM"].pv, 1.0, timeout=10)


def test_severity_follows_the_limits_as_caproto_does() -> None:
    from p4p.nt import NTScalar

    nt = NTScalar("d", valueAlarm=True)
    spec = CHANNELS["LUM"]
    for value, expected in ((spec.limits.lolo - 1, 2), ((spec.limits.low + spec.limits.high) / 2, 0)):
        wrapped = _nt_value(nt, spec, 1.0, value, 1.0)
        assert wrapped["alarm.severity"] == expected
    assert _nt_value(nt, spec, 1.0, math.nan, 1.0)["alarm.severity"] == Severity.INVALID


HOSTILE = textwrap.dedent(
    """
    import time
    from p4p.nt import NTScalar
    from p4p.server import Server
    from p4p.server.thread import SharedPV
    scalar = NTScalar("d")
    pvs = {
        "X:LUM": SharedPV(nt=scalar, initial=scalar.wrap(7.0, timestamp=123.0, severity=2)),
        "X:HER": SharedPV(nt=NTScalar("ad"), initial=list(range(100000))),
        "X:LER": SharedPV(nt=NTScalar("s"), initial="not a number"),
    }
    with Server(providers=[pvs]):
        print("serving", flush=True)
        while True:
            time.sleep(1)
    """
)


def test_a_peer_that_sends_arrays_strings_and_alarms(
    server: Callable[[list[str]], IOCProcess], tmp_path: Path
) -> None:
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE)
    pv_map = tmp_path / "map.toml"
    pv_map.write_text('prefix = "X:"\n[channels]\nLUM = "LUM"\n"HER:I" = "HER"\n"LER:I" = "LER"\n')
    server([str(script)])
    source = open_machine_source(f"pva://?map={pv_map}")
    source.queue()
    source.start()
    seen = collect(source)
    try:
        assert wait_for(lambda: {"LUM", "HER:I", "LER:I"} <= {u.channel for u in seen()}, timeout=30)
        by = {u.channel: u for u in seen()}
        assert (by["LUM"].value, by["LUM"].timestamp, by["LUM"].severity) == (7.0, 123.0, Severity.MAJOR)
        assert isinstance(by["HER:I"].value, Unexpected)
        assert "array of 100000" in by["HER:I"].value.problem
        assert by["LER:I"].value == "not a number"  # passed on; the model judges it
    finally:
        source.stop()
