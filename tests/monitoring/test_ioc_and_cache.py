"""``main.py ioc`` on loopback by default, and a damaged trigger-rate cache named and rebuilt."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from monitoring import rates
from monitoring.ca import CASource
from monitoring.source import open_machine_source
from tests.monitoring.conftest import ROOT, wait_for

N_SMALL = 40  # events per process for a quick matrix


def cache_file(n: int = 2000) -> Path:
    return rates.cache_path(n, seed=1)


def damage(path: Path, how: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "garbage":
        path.write_bytes(b"\x00not a zip file at all" * 10)
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "wrong arrays":
        np.savez(path, processes=np.array(["a"]), cross_sections_nb=np.ones(3), counts=np.ones(1),
                 raw_bits=np.ones(2, dtype=np.uint64))  # fmt: skip
    elif how == "pickled":
        np.savez(path, processes=np.array([{"x": 1}], dtype=object), cross_sections_nb=np.ones(1),
                 counts=np.ones(1), raw_bits=np.ones(1, dtype=np.uint64))  # fmt: skip
    elif how == "not cross sections":
        good = dict(np.load(path))
        good["cross_sections_nb"] = good["cross_sections_nb"] * np.nan
        np.savez(path, **good)
    elif how == "events cut":
        good = dict(np.load(path))
        good["raw_bits"] = good["raw_bits"][:-5]
        np.savez(path, **good)


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


DAMAGE = ["garbage", "truncated", "empty", "wrong arrays", "pickled", "not cross sections", "events cut"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_cache_is_named_and_rebuilt(cache_home: Path, how: str) -> None:
    good = rates.load_menu(N_SMALL)
    path = cache_file(N_SMALL)
    assert path.is_file()
    assert good.notes == ()
    damage(path, how)
    menu = rates.load_menu(N_SMALL)
    (note,) = menu.notes
    assert str(path) in note
    assert "damaged" in note
    assert "rebuilt" in note
    np.testing.assert_array_equal(menu.efficiency, good.efficiency)
    again = rates.load_menu(N_SMALL)  # the rebuilt file is good
    assert again.notes == ()
    assert zipfile.is_zipfile(path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_cache_that_cannot_be_written_is_used_from_memory(cache_home: Path) -> None:
    path = cache_file(N_SMALL)
    path.mkdir(parents=True)  # a folder where the file belongs
    menu = rates.load_menu(N_SMALL)
    assert len(menu.notes) == 2
    assert all(str(path) in n for n in menu.notes)
    assert "cannot write" in menu.notes[1]
    assert menu.efficiency.shape[0] == len(menu.processes)


CUT_SHORT = """
import resource, signal, sys
import numpy as np
from pathlib import Path
from monitoring import rates
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
from events.trigger import RateModel
processes = tuple(f"p{k}" for k in range(200))
model = RateModel(processes, np.ones(200), tuple(np.zeros(50, dtype=np.uint64) for _ in processes))
try:
    rates._write_cache(Path(sys.argv[1]), model)
except OSError as exc:
    print("failed:", exc.strerror)
"""


def test_a_cache_write_cut_short_leaves_the_good_file(cache_home: Path) -> None:
    rates.load_menu(N_SMALL)
    path = cache_file(N_SMALL)
    before = path.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", CUT_SHORT, str(path)], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("failed: File too large")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_sim_source_names_a_damaged_cache_in_its_notices(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitoring.sim as sim

    monkeypatch.setattr(sim, "load_menu", functools.partial(rates.load_menu, N_SMALL))
    rates.load_menu(N_SMALL)
    damage(cache_file(N_SMALL), "truncated")
    source = open_machine_source("sim://?history=60&accel=10")
    q = source.queue()
    source.start()
    try:
        assert wait_for(lambda: bool(source.notices) and q.qsize() > 0, timeout=60)
    finally:
        source.stop()
    assert not getattr(source, "error", "")
    (notice,) = source.notices
    assert str(cache_file(N_SMALL)) in notice
    assert "damaged (not an .npz (zip) archive: truncated" in notice
    assert "rebuilt" in notice


def test_sim_source_clamps_a_history_it_cannot_hold() -> None:
    source = open_machine_source("sim://?history=1e6&accel=1e9&max_samples=1e12")
    assert source.history == 12 * 3600  # type: ignore[attr-defined]
    assert source.accel == 3600  # type: ignore[attr-defined]
    text = "\n".join(source.notices)
    assert "history=1e+06 is more than 43200" in text
    assert "accel=1e+09" in text
    assert "max_samples" in text
    fine = open_machine_source("sim://?history=600&history_dt=0.01")
    assert fine.history == 50.0  # type: ignore[attr-defined]  # 5000 samples at most
    assert "history_dt=0.01" in fine.notices[0]


# --- the IOC's interfaces ---------------------------------------------------------------------------


def listening(port: int) -> dict[str, set[str]]:
    """Local addresses bound to ``port``, per protocol, from /proc/net (IPv4)."""
    out: dict[str, set[str]] = {}
    for proto in ("tcp", "udp"):
        for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
            local = line.split()[1]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port:
                octets = [str(int(address[k : k + 2], 16)) for k in (6, 4, 2, 0)]
                out.setdefault(proto, set()).add(".".join(octets))
    return out


@pytest.mark.slow
def test_the_ioc_serves_on_loopback_by_default_and_our_client_finds_it(
    ca_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, ioc_process
) -> None:
    for key in ("EPICS_CAS_INTF_ADDR_LIST", "EPICS_CAS_BEACON_ADDR_LIST", "EPICS_CA_ADDR_LIST",
                "EPICS_CA_AUTO_ADDR_LIST", "EPICS_CAS_AUTO_BEACON_ADDR_LIST"):  # fmt: skip
        monkeypatch.delenv(key)  # as a shifter's shell has them: unset
    ioc = ioc_process(["main.py", "ioc", "--prefix", "T3:", "--sbl-rate", "0"])
    port = int(ca_env["EPICS_CA_SERVER_PORT"])
    from monitoring.channels import CHANNELS

    assert ioc.banner.startswith(f"serving {len(CHANNELS)} PVs under 'T3:'")  # one PV per channel
    assert f"on 127.0.0.1 port {port} (TCP and UDP; loopback only" in ioc.banner
    assert listening(port) == {"tcp": {"127.0.0.1"}, "udp": {"127.0.0.1"}}
    source = open_machine_source("ca://?prefix=T3:")
    assert isinstance(source, CASource)
    got: list = []
    source.subscribe(got.extend)
    source.start()
    try:
        assert wait_for(lambda: any(u.channel == "LER:I" and u.connected for u in got), timeout=20)
    finally:
        source.stop()


@pytest.mark.slow
def test_the_ioc_widens_only_when_told(
    ca_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, ioc_process
) -> None:
    monkeypatch.delenv("EPICS_CAS_INTF_ADDR_LIST")
    ioc = ioc_process(["main.py", "ioc", "--prefix", "T4:", "--interfaces", "0.0.0.0"])
    port = int(ca_env["EPICS_CA_SERVER_PORT"])
    assert "on 0.0.0.0" in ioc.banner
    assert "reachable from the network" in ioc.banner
    assert listening(port) == {"tcp": {"0.0.0.0"}, "udp": {"0.0.0.0"}}
    ioc.stop()
    assert ioc.output is not None
    assert "Traceback" not in ioc.output  # SIGINT shuts it down cleanly


def test_bad_ioc_options_give_one_line() -> None:
    for args, words in (
        (["--interfaces", "eth0"], "'eth0' is not an IPv4 address"),
        (["--accel", "nan"], "--accel nan"),
        (["--tick", "0"], "--tick 0"),
        (["--port", "70000"], "not a port number"),
    ):
        result = subprocess.run(
            [sys.executable, "main.py", "ioc", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert words in result.stderr


@pytest.mark.slow
def test_the_ioc_rebuilds_a_damaged_cache_instead_of_dying(
    ca_env: dict[str, str], cache_home: Path, ioc_process
) -> None:
    path = cache_file()
    damage(path, "garbage")
    ioc = ioc_process(["main.py", "ioc", "--prefix", "T5:", "--sbl-rate", "0"])
    assert ioc.banner.startswith("serving")
    assert zipfile.is_zipfile(path)
    ioc.stop()
    assert ioc.output is not None
    assert f"main.py ioc: trigger-rate cache {path} is damaged (not an .npz" in ioc.output
    assert "Traceback" not in ioc.output
