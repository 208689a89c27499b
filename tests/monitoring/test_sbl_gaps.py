"""Beam-loss detection around gaps, clock jumps and out-of-order samples; the log that keeps it."""

from __future__ import annotations

import math
import queue

import numpy as np
import pytest

from monitoring.accumulators import SBLDetector
from monitoring.channels import Severity
from monitoring.model import MonitorModel
from monitoring.source import Source, Unexpected, Update

T0 = 1.7e9


def beam(t0: float, n: int, current: float = 1.35, dt: float = 0.1, ring: str = "LER") -> list[Update]:
    return [Update(f"{ring}:I", t0 + k * dt, current) for k in range(n)]


def gone(channel: str, t: float) -> Update:
    return Update(channel, t, math.nan, Severity.INVALID, False, f"{channel} disconnected")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_loss_during_a_disconnection_is_latched_as_a_loss_in_the_gap() -> None:
    model = MonitorModel(["LER:I", "HER:I"])
    model.ingest(beam(T0, 30) + beam(T0, 30, 1.05, ring="HER"))
    model.ingest([gone("LER:I", T0 + 3), gone("HER:I", T0 + 3)])
    assert not model.alarms
    model.ingest([Update("LER:I", T0 + 40, 0.0), Update("HER:I", T0 + 40, 0.0)])  # back, no beam
    (alarm,) = model.alarms
    assert not alarm.acknowledged
    assert alarm.gap == (pytest.approx(T0 + 2.9), T0 + 40)
    assert "disconnected" in alarm.gap_reason
    assert alarm.fraction == 1.0
    assert alarm.current_before == 1.35
    assert set(alarm.rings) == {"LER", "HER"}
    (line,) = [e for e in model.log.beam_losses if "sudden beam loss" in e.text]
    assert "during a data gap" in line.text
    assert "100% of 1350 mA" in line.text
    assert line.severity == Severity.MAJOR


def test_window_only_detection_misses_it() -> None:
    """The plain way, for comparison: with no samples within the window, nothing to compare."""
    model = MonitorModel(["LER:I"], sbl=SBLDetector(across_gaps=False))
    model.ingest(beam(T0, 30))
    model.ingest([gone("LER:I", T0 + 3)])
    model.ingest([Update("LER:I", T0 + 40, 0.0)])
    assert not model.alarms


def test_a_current_that_came_back_after_a_gap_is_no_loss() -> None:
    model = MonitorModel(["LER:I"])
    model.ingest(beam(T0, 30))
    model.ingest([gone("LER:I", T0 + 3)])
    model.ingest(beam(T0 + 40, 30, 1.30))  # a little lower (4 %): lifetime, not a loss
    assert not model.alarms


def test_an_abort_right_after_a_short_reconnection_is_seen() -> None:
    model = MonitorModel(["LER:I"])
    model.ingest(beam(T0, 30))
    model.ingest([gone("LER:I", T0 + 3)])
    model.ingest([*beam(T0 + 3.5, 5), Update("LER:I", T0 + 4.0, 0.0)])
    (alarm,) = model.alarms
    assert alarm.fraction == 1.0


def test_a_garbage_stretch_hides_no_loss() -> None:
    model = MonitorModel(["LER:I"])
    model.ingest(beam(T0, 30))
    model.ingest([Update("LER:I", T0 + 3 + k, "garbage") for k in range(10)])
    model.ingest([Update("LER:I", T0 + 14, 0.2)])
    (alarm,) = model.alarms
    assert "invalid data" in alarm.gap_reason


def test_a_clock_that_went_back_after_a_reconnection_keeps_every_sample() -> None:
    clock = Clock()
    model = MonitorModel(["LER:I"], clock=clock)
    model.ingest(beam(T0 + 600, 50))  # an IOC whose clock ran ahead
    clock.now = 10.0
    model.ingest([gone("LER:I", T0 + 605)])
    clock.now = 13.0
    model.ingest(beam(T0 + 10, 50))  # restarted on the wall clock, 590 s behind
    state = model.states["LER:I"]
    assert len(model.buffers["LER:I"]) == 100 + 1  # every sample, and the break of the chart
    assert model.out_of_order == 0
    assert model.clock_jumps == 1
    assert "clock went back" in state.suspect
    t, _ = model.buffers["LER:I"].view()
    assert np.all(np.diff(t) > 0)
    # shifted to follow the old samples after the 3 s it took to come back
    assert t[51] == pytest.approx(T0 + 604.9 + 3.0)
    assert any("suspect" in e.text and "clock went back" in e.text for e in model.log)
    # detection goes on, on the new clock
    model.ingest([Update("LER:I", T0 + 15.05, 0.1)])
    (alarm,) = model.alarms
    assert alarm.gap is None
    assert alarm.fraction == pytest.approx(1 - 0.1 / 1.35)


def test_a_clock_jump_without_disconnection_is_taken_after_two_samples() -> None:
    model = MonitorModel(["LER:I"])
    model.ingest(beam(T0 + 600, 20))
    model.ingest(beam(T0, 1))
    assert "older than the one before" in model.states["LER:I"].suspect  # held, not yet judged
    model.ingest(beam(T0 + 0.1, 10))
    assert model.clock_jumps == 1
    assert model.out_of_order == 0
    assert len(model.buffers["LER:I"]) == 31


def test_a_stray_sample_is_counted_and_shown_not_stored() -> None:
    clock = Clock()
    model = MonitorModel(["LER:I"], clock=clock)
    model.ingest(beam(T0, 20))
    model.ingest([Update("LER:I", T0 + 0.55, 1.0)])  # late, from the past
    model.ingest(beam(T0 + 2.0, 5))
    state = model.states["LER:I"]
    assert model.out_of_order == 1
    assert model.clock_jumps == 0
    assert "out-of-order sample" in state.suspect
    assert len(model.buffers["LER:I"]) == 25
    assert any("out-of-order" in e.text for e in model.log)
    assert not model.alarms  # a late 1.0 A is no beam loss
    clock.now = 61.0
    model.check()
    assert state.suspect == ""  # it clears after a minute


def test_a_repeat_after_a_resubscription_is_no_problem() -> None:
    model = MonitorModel(["LER:I"])
    model.ingest(beam(T0, 10))
    model.ingest([gone("LER:I", T0 + 1)])
    model.ingest([Update("LER:I", T0 + 0.9, 1.35)])  # the same last sample, sent again
    model.ingest(beam(T0 + 1.5, 5))
    assert model.repeats == 1
    assert model.clock_jumps == 0
    assert model.out_of_order == 0
    assert model.states["LER:I"].suspect == ""


def test_a_clock_jump_inside_one_batch_keeps_its_order() -> None:
    model = MonitorModel(["LER:I", "LUM"])
    batch = [*beam(T0 + 600, 5), gone("LER:I", T0 + 601), *beam(T0, 5)]
    batch += [Update("LUM", T0 + 300 + k, 5e34) for k in range(3)]
    model.ingest(batch)
    assert model.clock_jumps == 1
    assert len(model.buffers["LER:I"]) == 11


def test_beam_loss_lines_survive_a_flood_of_other_messages() -> None:
    model = MonitorModel(["LER:I", "LUM"])
    model.ingest(beam(T0, 30))
    model.ingest([Update("LER:I", T0 + 3.1, 0.0)])
    assert len(model.alarms) == 1
    # a channel alternating between two bad values: one message per value
    flood = [Update("LUM", T0 + 4 + 0.1 * k, "x" if k % 2 else math.nan) for k in range(3 * model.log.maxlen)]
    for k in range(0, len(flood), 100):
        model.ingest(flood[k : k + 100])
    texts = [e.text for e in model.log]
    assert len(texts) == model.log.maxlen + 1
    assert sum("sudden beam loss" in t for t in texts) == 1
    assert "sudden beam loss" in next(iter(model.log)).text  # still first, in logging order
    assert model.log[-1].text == texts[-1]
    assert [e.text for e in reversed(model.log)] == texts[::-1]
    model.acknowledge()
    assert [e.text for e in model.log.beam_losses][-1] == "1 beam-loss alarm(s) acknowledged"


def test_latched_alarms_are_never_evicted() -> None:
    sbl = SBLDetector(keep=3)
    t = T0
    for _ in range(6):  # six losses, none acknowledged
        for k in range(5):
            sbl.add("LER", t + 0.1 * k, 1.35)
        sbl.add("LER", t + 0.5, 0.0)
        t += 100
    assert len(sbl.alarms) == 6
    for a in sbl.alarms:
        a.postmortem = {"LER:I": (np.zeros(1), np.zeros(1))}
    sbl.acknowledge()
    assert len(sbl.alarms) == 3  # now only acknowledged ones with a post-mortem can go


def test_a_value_the_source_could_not_pass_on_shows_why() -> None:
    model = MonitorModel(["HER:I"], source_name="ca://x")
    problem = "array of 100000 float64 values where one number was expected"
    model.ingest([Update("HER:I", T0, Unexpected(problem))])
    state = model.states["HER:I"]
    assert state.severity == Severity.INVALID
    assert "array of 100000" in state.message


class ListSource(Source):
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_a_bounded_drain_keeps_the_rest_for_the_next_one() -> None:
    source = ListSource("list://", ("LUM",))
    q: queue.SimpleQueue[list[Update]] = source.queue()
    for b in range(10):
        source._publish([Update("LUM", T0 + 100 * b + k, 1.0) for k in range(100)])
    assert q.qsize() == 10
    got: list[Update] = []
    while True:
        part = source.drain(250)
        assert len(part) <= 250
        if not part:
            break
        got += part
    assert [u.timestamp for u in got] == [T0 + 100 * b + k for b in range(10) for k in range(100)]
    assert source.backlog == 0


@pytest.mark.parametrize("wobble", [+1, -1])
def test_an_abort_whose_residual_current_wobbles_is_one_loss_of_both_rings(wobble: int) -> None:
    """The LER dumps its beam, its residual current wobbles up or down by 0.1 % from one 10 µs
    sample to the next, and the HER follows 20 µs later: one loss of both rings, latched once."""
    detector = SBLDetector()
    for k in range(20):
        detector.add("LER", T0 + 0.1 * k, 1.2)
        detector.add("HER", T0 + 0.1 * k, 0.9)
    loss = T0 + 2.0
    residual = [0.005 * (1 + wobble * 1e-3 * k) for k in range(20)]
    new = []
    for k, current in enumerate(residual):
        t = loss + 1e-5 * (k + 1)
        new.append(detector.add("LER", t, current))
        new.append(detector.add("HER", t + 1e-7, 0.9 if k < 2 else 0.004))
    (alarm,) = detector.alarms
    assert [a for a in new if a is not None] == [alarm]
    assert alarm.ring == "LER"
    assert set(alarm.rings) == {"LER", "HER"}
    assert alarm.fraction > 0.99
