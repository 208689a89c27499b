"""Accumulators: bounded strip buffers, luminosity integration with gaps, garbage and stale data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitoring.accumulators import LumiIntegrator, RateMeter, StripBuffer
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from monitoring.source import Update

T0 = 1.7e9


def test_strip_buffer_holds_a_whole_shift_in_fixed_memory() -> None:
    buf = StripBuffer()  # defaults: 2 h raw at 1 Hz, 12 h of 5 s bins
    nbytes = buf.nbytes
    t = T0 + np.arange(10 * 3600, dtype=float)
    v = np.sin(t / 600.0)
    for chunk in range(0, len(t), 997):
        buf.extend(t[chunk : chunk + 997], v[chunk : chunk + 997])
    assert buf.nbytes == nbytes  # allocated once
    vt, vv = buf.view(t[-1] - 8 * 3600)
    assert vt[0] <= t[-1] - 8 * 3600 + 5
    assert vt[-1] == t[-1]
    assert np.all(np.diff(vt) > 0)
    recent = vt > t[-1] - 7000
    assert np.diff(vt[recent]).max() == 1.0  # full resolution for the last two hours
    old = vt < t[-1] - 7300
    assert np.diff(vt[old]).max() == pytest.approx(5.0)  # decimated before
    np.testing.assert_allclose(vv[old], np.sin(vt[old] / 600.0), atol=2e-3)  # bin means


def test_strip_buffer_keeps_gap_markers_through_decimation() -> None:
    buf = StripBuffer(raw_capacity=50, bin_width=10.0, bin_capacity=100)
    t = T0 + np.arange(500, dtype=float)
    v = np.ones_like(t)
    v[123] = np.nan  # a disconnection marker
    buf.extend(t, v)
    vt, vv = buf.view()
    assert np.isnan(vv).sum() == 1
    k = int(np.flatnonzero(np.isnan(vv))[0])
    assert vt[k] == pytest.approx(np.mean(t[120:130]))


def test_rate_meter() -> None:
    meter = RateMeter(window=10.0, buckets=20)
    for k in range(200):
        meter.add(T0 + k * 0.1, 3.0)  # 30 per second
    assert meter.rate(T0 + 19.9) == pytest.approx(30.0, rel=0.06)
    assert meter.rate(T0 + 100.0) == 0.0


def test_luminosity_integral_skips_a_disconnection_and_never_counts_twice() -> None:
    lumi = LumiIntegrator()
    lumi.set_run(7, True)
    for k in range(11):
        lumi.add(T0 + k, 4e34)  # 10 s connected
    lumi.interrupt(T0 + 12.5, "LUM disconnected")
    assert lumi.open_gap is not None
    assert lumi.open_gap.start == T0 + 10  # from the last good sample
    lumi.add(T0 + 10, 4e34)  # the peer repeats its last value on reconnection
    for k in range(30, 41):
        lumi.add(T0 + k, 4e34)  # 10 s connected again
    assert lumi.total == pytest.approx(4e34 * 20, rel=1e-12)
    assert lumi.this_run == pytest.approx(4e34 * 20, rel=1e-12)
    (gap,) = lumi.gaps
    assert (gap.start, gap.end) == (T0 + 10, T0 + 30)
    assert gap.estimate == pytest.approx(4e34 * 20)  # shown, never added
    lumi.set_run(8, True)
    assert lumi.this_run == 0.0  # a new run starts from zero
    lumi.add(T0 + 41, 4e34)
    assert lumi.this_run == pytest.approx(4e34)
    assert lumi.by_run[7] == pytest.approx(4e34 * 20)


def test_luminosity_silence_longer_than_max_step_is_a_gap() -> None:
    lumi = LumiIntegrator(max_step=60.0)
    lumi.add(T0, 1e34)
    lumi.add(T0 + 600, 1e34)
    assert lumi.total == 0.0
    assert lumi.gaps[0].duration == 600


def _u(channel: str, t: float, value: object, **kw: object) -> Update:
    return Update(channel, t, value, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1.3", "wrong type str"),
        (b"\xff\x00garbage", "wrong type bytes"),
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (1e6, "absurd value"),
        ([1.0, 2.0], "array of 2 values"),
        (None, "wrong type NoneType"),
    ],
)
def test_garbage_raises_a_clear_alarm_and_never_a_crash(value: object, words: str) -> None:
    model = MonitorModel(["LER:I", "LUM"], source_name="ca://test")
    model.ingest([_u("LER:I", T0, 1.3), _u("LUM", T0, 5e34), _u("LUM", T0 + 1, 5e34)])
    model.ingest([_u("LER:I", T0 + 1, value), _u("LUM", T0 + 2, value if words != "absurd value" else 1e40)])
    state = model.states["LER:I"]
    assert state.severity == Severity.INVALID
    assert words in state.message
    assert "ca://test" in state.message
    assert state.value == 1.3  # the last good value stays, flagged
    assert any(words in e.text and e.channel == "LER:I" for e in model.log)
    assert model.lumi.open_gap is not None  # the integral stops instead of using garbage
    total = model.lumi.total
    model.ingest([_u("LER:I", T0 + 2, 1.31), _u("LUM", T0 + 3, 5e34), _u("LUM", T0 + 4, 5e34)])
    assert model.states["LER:I"].severity == Severity.NO_ALARM
    assert model.lumi.total == pytest.approx(total + 5e34)
    assert model.lumi.gaps[-1].end == T0 + 3


def test_a_garbage_flood_logs_each_problem_once() -> None:
    model = MonitorModel(["HER:I"])
    model.ingest([_u("HER:I", T0 + k, "x") for k in range(100)])
    assert sum("wrong type" in e.text for e in model.log) == 1


def test_stale_data_is_flagged_after_the_configured_time() -> None:
    now = [0.0]
    model = MonitorModel(["LUM", "RUN"], stale_after=5.0, clock=lambda: now[0])
    model.ingest([_u("LUM", T0, 5e34), _u("RUN", T0, 12)])
    now[0] = 4.0
    model.check()
    assert not model.states["LUM"].stale
    now[0] = 6.0
    model.check()
    assert model.states["LUM"].stale
    assert not model.states["RUN"].stale  # a run number changes rarely: never stale
    assert any("stale" in e.text for e in model.log)
    model.ingest([_u("LUM", T0 + 6, 5e34)])
    assert not model.states["LUM"].stale


def test_disconnection_is_shown_and_recovers() -> None:
    model = MonitorModel(["LUM"])
    model.ingest([_u("LUM", T0, 5e34), _u("LUM", T0 + 1, 5e34)])
    model.ingest(
        [_u("LUM", T0 + 1.5, math.nan, severity=Severity.INVALID, connected=False, message="X disconnected")]
    )
    state = model.states["LUM"]
    assert not state.connected
    assert state.message == "X disconnected"
    _, v = model.buffers["LUM"].view()
    assert np.isnan(v[-1])  # the strip chart breaks
    model.ingest([_u("LUM", T0 + 5, 5e34)])
    assert model.states["LUM"].connected
    assert any(e.text == "connected again" for e in model.log)


def test_run_in_progress_follows_run_control() -> None:
    now = [100.0]
    model = MonitorModel(["EXP", "RUN", "RUNNING", "LUM"], stale_after=10.0, clock=lambda: now[0])
    assert model.run_in_progress() is None  # the source has run control: its number is on its way
    now[0] += 11
    assert model.run_in_progress() == (0, 0)  # none came: the Monte Carlo labels
    model.ingest([Update("EXP", T0, 35.0), Update("RUN", T0, 12.0), Update("RUNNING", T0, 1.0)])
    assert model.run_in_progress() == (35, 12)
    model.ingest([Update("RUNNING", T0 + 1, 0.0)])
    assert model.run_in_progress() is None  # between runs
    assert MonitorModel(["LUM"]).run_in_progress() == (0, 0)  # no run control at all
