"""Faults with real peers: the simulation IOC killed and restarted, and an IOC that sends garbage."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from monitoring.ca import CASource, load_pv_map
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from monitoring.source import SourceError, Update, open_source
from tests.monitoring.conftest import wait_for

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
    source = open_source("ca://?prefix=T1:")
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
    source = open_source(f"ca://?map={pv_map}")
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
        open_source(f"ca://?map={broken}")
    with pytest.raises(SourceError, match="unknown scheme"):
        open_source("pva://x")


def test_ca_source_is_read_only_by_default() -> None:
    with pytest.raises(SourceError, match="read-only"):
        CASource("ca://").put("LER:I", 1.0)
