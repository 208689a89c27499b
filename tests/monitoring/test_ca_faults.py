"""Faults with real peers: the simulation IOC killed and restarted, and an IOC that sends garbage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from monitoring.ca import CASource, load_pv_map
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from monitoring.source import SourceError, Update, open_machine_source
from tests.monitoring.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow


class Recorder:
    """Feeds a model from the source thread (under a lock) and keeps every update it saw."""

    def __init__(self, model: MonitorModel) -> None:
        self.model = model
        self.lock = threading.Lock()
        self.updates: list[Update] = []
        self.frozen = False

    def __call__(self, updates: list[Update]) -> None:
        with self.lock:
            if self.frozen:
                return
            self.updates.extend(updates)
            self.model.ingest(updates)

    def lum(self) -> list[Update]:
        with self.lock:
            return [u for u in self.updates if u.channel == "LUM"]


def trapezoid(samples: list[Update]) -> float:
    t = np.array([u.timestamp for u in samples])
    v = np.array([u.value for u in samples], dtype=float)
    return float(np.trapezoid(v, t))


def test_ioc_killed_and_restarted(ioc_process, tmp_path: Path) -> None:
    ioc = ioc_process(
        ["main.py", "ioc", "--prefix", "T1:", "--accel", "1", "--tick", "0.05", "--sbl-rate", "0"]
    )
    source = open_machine_source("ca://?prefix=T1:")
    assert isinstance(source, CASource)
    model = MonitorModel(source.channels, source_name=source.url)
    rec = Recorder(model)
    source.subscribe(rec)
    source.start()
    try:
        assert wait_for(lambda: len(rec.lum()) >= 20), "no luminosity from the IOC"
        assert model.states["LER:I"].value == pytest.approx(1.35, rel=0.01)  # mA on the wire, A here
        assert model.states["LER:I"].connected
        ioc.kill()
        assert wait_for(lambda: not model.states["LUM"].connected), "the disconnection was not noticed"
        with rec.lock:
            before = [u for u in rec.updates if u.channel == "LUM" and u.connected]
            assert model.states["LUM"].severity == Severity.INVALID
            assert model.lumi.open_gap is not None
            assert not model.states["HER:I"].connected
        time.sleep(1.0)
        ioc.start()
        t_restart = time.monotonic()
        assert wait_for(lambda: model.states["LUM"].connected, timeout=30), "no recovery after restart"
        print(f"reconnected {time.monotonic() - t_restart:.1f} s after the restart")
        assert wait_for(lambda: len([u for u in rec.lum() if u.timestamp > before[-1].timestamp]) >= 20)
        with rec.lock:
            assert model.states["LUM"].severity == Severity.NO_ALARM
            assert model.states["LER:I"].connected
    finally:
        source.stop()
    with rec.lock:
        after = [
            u
            for u in rec.updates
            if u.channel == "LUM" and u.connected and u.timestamp > before[-1].timestamp
        ]
        closed = [g for g in model.lumi.gaps if g.end is not None]
        assert len(closed) == 1  # (stopping the source opens a last gap of its own)
        gap = closed[0]
        # the gap runs from the last sample before the kill to the first one after the restart
        assert gap.start == before[-1].timestamp
        assert gap.end == after[0].timestamp
        assert gap.duration > 1.0
        # integrated exactly over the data on both sides of it, nothing over the gap itself
        expected = trapezoid(before) + trapezoid(after)
        assert model.lumi.total == pytest.approx(expected, rel=1e-9)
        assert any(e.text == "connected again" and e.channel == "LUM" for e in model.log)


def test_garbage_from_a_real_ioc_raises_clear_alarms(ioc_process, tmp_path: Path) -> None:
    ioc_process(["tests/monitoring/garbage_ioc.py", "G:"])
    pv_map = tmp_path / "garbage.toml"
    pv_map.write_text(
        'prefix = "G:"\n[channels]\n'
        '"LER:I" = "TEXT"\nLUM = "NAN"\n"HER:I" = { pv = "HUGE", scale = 1.0 }\n"L1:TOTAL" = "GOOD"\n'
    )
    source = open_machine_source(f"ca://?map={pv_map}")
    model = MonitorModel(source.channels, source_name=source.url)
    rec = Recorder(model)
    source.subscribe(rec)
    source.start()
    try:
        assert wait_for(
            lambda: all(len([u for u in rec.updates if u.channel == c]) > 5 for c in source.channels)
        )
        rec.frozen = True  # judge what arrived while connected, not the goodbye of stop()
    finally:
        source.stop()
    with rec.lock:
        states = model.states
        assert "wrong type" in states["LER:I"].message
        assert "not a finite number" in states["LUM"].message
        assert "absurd value" in states["HER:I"].message
        for name in ("LER:I", "LUM", "HER:I"):
            assert states[name].severity == Severity.INVALID
            assert str(pv_map) in states[name].message  # names the source
        assert states["L1:TOTAL"].severity == Severity.NO_ALARM
        assert states["L1:TOTAL"].value == pytest.approx(1.0, abs=0.01)
        assert model.lumi.total == 0.0
        assert not model.alarms  # garbage currents never look like a beam loss
        assert sum("invalid data" in e.text for e in model.log) == 3  # each problem once


def test_bad_pv_maps_are_refused_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[channels]\nLUM = 3\n")
    with pytest.raises(SourceError, match=r"bad\.toml.*LUM"):
        load_pv_map(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SourceError, match=r"broken\.json"):
        open_machine_source(f"ca://?map={broken}")
    with pytest.raises(SourceError, match="unknown scheme"):
        open_machine_source("opc://x")


def test_ca_source_is_read_only_by_default() -> None:
    with pytest.raises(SourceError, match="read-only"):
        CASource("ca://").put("LER:I", 1.0)


# --- beam losses around IOC faults ---------------------------------------------------------------

IOC = ["main.py", "ioc", "--prefix", "T2:", "--tick", "0.05", "--sbl-rate", "0"]


def connected_model() -> tuple[CASource, MonitorModel, Recorder]:
    source = open_machine_source("ca://?prefix=T2:")
    assert isinstance(source, CASource)
    model = MonitorModel(source.channels, source_name=source.url)
    rec = Recorder(model)
    source.subscribe(rec)
    source.start()
    return source, model, rec


def full_beam(model: MonitorModel, rec: Recorder) -> bool:
    with rec.lock:
        return len(model.buffers["LER:I"]) >= 10 and model.states["LER:I"].value > 1.0


def test_a_beam_lost_while_the_ioc_is_down_is_alarmed_on_reconnect(ioc_process) -> None:
    ioc = ioc_process([*IOC, "--accel", "1"])
    source, model, rec = connected_model()
    try:
        assert wait_for(lambda: full_beam(model, rec)), "no beam current from the IOC"
        assert not model.alarms
        ioc.kill()
        assert wait_for(lambda: not model.states["LER:I"].connected)
        # the IOC comes back without beam: it was lost while nobody could see it
        ioc.argv = [sys.executable, "-u", *IOC, "--accel", "1", "--sbl-at", "0"]
        ioc.start()
        assert wait_for(lambda: model.sbl.latched, timeout=30), "the loss during the gap was not alarmed"
        # each channel reconnects by itself: the other ring joins the alarm when it is back
        assert wait_for(lambda: all(model.states[c].connected for c in ("HER:I", "LER:I")), timeout=30)
    finally:
        source.stop()
    with rec.lock:
        alarm = model.alarms[0]
        assert alarm.gap is not None, "the loss was not seen: it must be reported as during the gap"
        assert alarm.current_before > 1.0
        assert alarm.fraction > 0.9
        assert "disconnected" in alarm.gap_reason
        assert set(alarm.rings) == {"HER", "LER"}
        lines = [e.text for e in model.log.beam_losses]
        assert any("during a data gap" in line for line in lines), lines


def test_an_abort_half_a_second_after_the_ioc_restarts_is_alarmed(ioc_process) -> None:
    ioc = ioc_process([*IOC, "--accel", "1"])
    source, model, rec = connected_model()
    try:
        assert wait_for(lambda: full_beam(model, rec)), "no beam current from the IOC"
        ioc.kill()
        assert wait_for(lambda: not model.states["LER:I"].connected)
        ioc.argv = [sys.executable, "-u", *IOC, "--accel", "1", "--sbl-at", "0.5"]
        restart = time.time()
        ioc.start()
        assert wait_for(lambda: model.sbl.latched, timeout=30), "the abort after the restart was missed"
        latched = time.time()
        print(f"alarm latched {latched - restart:.2f} s after the restart")
    finally:
        source.stop()
    with rec.lock:
        (alarm,) = model.alarms
        assert alarm.current_before > 1.0
        assert alarm.fraction > 0.9
        if alarm.gap is not None:  # the client came back after the abort: it happened in the gap
            assert alarm.gap[0] < restart + 0.5 <= alarm.gap[1] + 0.2
        else:  # the IOC's clock: 0.5 s after its own start (its imports take a while), before the latch
            assert restart + 0.5 - 0.05 <= alarm.time <= latched + 0.05


def test_a_restart_on_another_clock_keeps_every_sample_and_detection_going(ioc_process) -> None:
    ioc = ioc_process([*IOC, "--accel", "30"])  # the simulated clock runs ahead of the wall
    source, model, rec = connected_model()
    try:
        assert wait_for(lambda: full_beam(model, rec)), "no beam current from the IOC"
        time.sleep(2.0)  # ~60 s ahead now
        ioc.kill()
        assert wait_for(lambda: not model.states["LER:I"].connected)
        with rec.lock:
            before = len([u for u in rec.updates if u.channel == "LER:I" and u.connected])
            stored_before = len(model.buffers["LER:I"])
            ahead = model.buffers["LER:I"].last_time - time.time()
        assert ahead > 20.0
        ioc.argv = [sys.executable, "-u", *IOC, "--accel", "1", "--sbl-at", "8"]
        restart = time.time()
        ioc.start()
        assert wait_for(lambda: model.states["LER:I"].connected, timeout=30)
        back = time.time()
        assert wait_for(lambda: model.sbl.latched, timeout=30), "detection stopped on the new clock"
    finally:
        source.stop()
    with rec.lock:
        updates = [u for u in rec.updates if u.channel == "LER:I" and u.connected]
        after = len(updates) - before
        assert after > (10 if back < restart + 7 else 0)
        state = model.states["LER:I"]
        assert "clock went back" in state.suspect, state.suspect
        assert model.clock_jumps >= 2  # at least both currents
        assert model.out_of_order == 0
        # every sample after the restart was stored (none dropped as out of order), bar repeats
        assert len(model.buffers["LER:I"]) - stored_before >= after - model.repeats
        (alarm,) = model.alarms
        if back < restart + 7:  # connected before the abort: seen as it happened, on the new clock
            assert alarm.gap is None
        assert alarm.fraction > 0.9
        shift = alarm.time - (restart + 8.0)
        assert shift > 20.0  # shown shifted to follow the samples of the old clock
        assert any("clock went back" in e.text for e in model.log)


def test_a_huge_array_from_a_real_ioc_is_shown_with_the_reason(ioc_process, tmp_path: Path) -> None:
    ioc_process(["tests/monitoring/garbage_ioc.py", "G:"])
    pv_map = tmp_path / "big.toml"
    # a beam current in mA (scaled) that arrives as 100 000 values
    pv_map.write_text('prefix = "G:"\n[channels]\n"HER:I" = { pv = "BIG", scale = 0.001 }\nLUM = "GOOD"\n')
    source = open_machine_source(f"ca://?map={pv_map}")
    model = MonitorModel(source.channels, source_name=source.url)
    rec = Recorder(model)
    source.subscribe(rec)
    source.start()
    try:
        assert wait_for(lambda: len([u for u in rec.updates if u.channel == "HER:I"]) >= 3)
        rec.frozen = True
    finally:
        source.stop()
    with rec.lock:
        state = model.states["HER:I"]
        assert state.severity == Severity.INVALID
        assert "array of 100000" in state.message
        assert str(pv_map) in state.message
        # the queue never holds the array itself
        assert all(not isinstance(u.value, np.ndarray) for u in rec.updates if u.channel == "HER:I")
        assert model.states["LUM"].severity == Severity.NO_ALARM


# --- PV maps a control room might get wrong --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("list.json", '["LUM", "HER:I"]', "top level is a list"),
        ("string.json", '"LUM"', "top level is a str"),
        ("number.json", "3", "top level is a int"),
        ("two.toml", '[channels]\nLUM = "X"\n"L1:TOTAL" = "X"\n', "'LUM' and 'L1:TOTAL' both map to PV 'X'"),
        ("zero.toml", '[channels]\nLUM = { pv = "X:LUM", scale = 0 }\n', "scale 0"),
        ("bool.toml", '[channels]\nLUM = { pv = "X:LUM", scale = true }\n', "not a number"),
        ("inf.json", '{"channels": {"LUM": {"pv": "X", "scale": 1e999}}}', "not a number"),
        ("prefix.toml", 'prefix = 3\n[channels]\nLUM = "X"\n', "prefix must be a string"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "cannot parse"),
        ("latin.toml", b"[channels]\nLUM = \"\xe9\"\n", "not UTF-8"),
        ("empty.toml", "", "needs a [channels] table"),
    ],
)
def test_bad_pv_maps_are_refused_in_one_line(
    tmp_path: Path, name: str, text: str | bytes, words: str
) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(SourceError) as info:
        open_machine_source(f"ca://?map={path}")  # what the GUI does at start: it shows SourceError
    message = str(info.value)
    assert str(path) in message
    assert words in message
    assert "\n" not in message


def test_a_pv_map_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "map.toml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    with pytest.raises(SourceError, match=r"map\.toml: not a regular file"):
        load_pv_map(fifo)
    (tmp_path / "folder").mkdir()
    with pytest.raises(SourceError, match=r"folder: (not a regular file|cannot read it)"):
        load_pv_map(tmp_path / "folder")
    big = tmp_path / "big.toml"
    big.write_text("[channels]\n" + "# padding\n" * 200_000)
    with pytest.raises(SourceError, match=r"big\.toml: larger than 1024 kB"):
        load_pv_map(big)


CHILD = """
import resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from monitoring.ca import load_pv_map
from monitoring.source import SourceError
try:
    load_pv_map(sys.argv[1])
except SourceError as exc:
    print(exc)
"""


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_pv_map_is_refused_without_reading_it(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} is absent here")
    limit = 1 << 30  # 1 GiB of address space: reading /dev/zero to the end would exceed it
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, device, str(limit)],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"PV map {device}: not a regular file"
