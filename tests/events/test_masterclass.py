"""The masterclass's guided steps and scoring on the shipped sample, with no window."""

from __future__ import annotations

import numpy as np
import pytest

from events import candidate, filtering
from events.generator.samples import SAMPLE
from events.io import open_events
from events.masterclass import EVENT_FILTER, MUON, Masterclass, Step, check_pair, true_peak


@pytest.fixture(scope="module")
def sample():
    source = open_events(SAMPLE)
    return source.read(0, len(source))


def _muon_tracks(event) -> list[int]:
    mc = np.asarray(event.tracks["mc_index"])
    pdg = np.abs(np.asarray(event.mc["pdg"]))
    return [t for t in range(event.tracks.size) if mc[t] >= 0 and pdg[mc[t]] == MUON]


def test_truth_of_the_sample(sample) -> None:
    assert true_peak(sample.header) == pytest.approx(3.0)
    no_signal = {k: np.asarray(v)[np.asarray(sample.header["signal"]) != 1] for k, v in
                 ((n, sample.header[n]) for n in ("signal", "signal_mass"))}  # fmt: skip
    assert true_peak(no_signal) is None
    assert filtering.select(sample, EVENT_FILTER).size >= 20  # enough events for a class


def test_steps_scoring_and_reset(sample) -> None:
    chosen = filtering.select(sample, "signal == 1 and ntracks == 2")
    mc = Masterclass(truth_mass=true_peak(sample.header), needed=2)
    assert mc.step is Step.LOOK
    assert mc.event is None
    ev0 = sample.event(int(chosen[0]))
    mc.show(ev0, int(chosen[0]))
    assert mc.step is Step.LOOK
    with pytest.raises(ValueError, match="pick two tracks"):
        mc.add()
    mc.toggle(0)
    assert mc.step is Step.PICK
    assert mc.pair is None
    mc.toggle(0)  # unpicked again
    assert mc.picked == []
    mc.toggle(0)
    mc.toggle(1)
    assert mc.step is Step.ADD
    expected = candidate.evaluate(ev0, [candidate.Pick("track", 0, MUON), candidate.Pick("track", 1, MUON)])
    assert mc.pair is not None
    assert mc.pair.mass == expected.mass
    assert mc.pair.recoil_mass == expected.recoil_mass
    assert mc.answer(3.0) == (False, "Collect 2 more events first.")
    verdict = mc.add()
    assert verdict.muons
    assert verdict.signal
    assert verdict.message.startswith("Yes!")
    assert mc.step is Step.NEXT
    with pytest.raises(ValueError, match="already"):
        mc.add()
    mc.toggle(0)  # an added pair stays
    assert mc.picked == [0, 1]

    ev1 = sample.event(int(chosen[1]))
    mc.show(ev1, int(chosen[1]))
    assert mc.step is Step.LOOK
    assert mc.picked == []
    mc.toggle(1)
    mc.toggle(0)
    mc.add()
    assert mc.step is Step.PEAK
    assert mc.ready_for_peak
    np.testing.assert_allclose(mc.recoil_masses, [e.recoil_mass for e in mc.entries])
    assert mc.right_pairs == 2

    right, message = mc.answer(4.5)
    assert not right
    assert "lower" in message
    assert mc.step is Step.PEAK
    right, message = mc.answer(1.0)
    assert not right
    assert "higher" in message
    right, message = mc.answer(3.1)
    assert right
    assert "3.0 GeV" in message
    assert mc.step is Step.DONE
    assert mc.attempts == 3

    mc.reset()
    assert mc.entries == []
    assert mc.attempts == 0
    assert not mc.found
    assert mc.step is Step.LOOK
    assert mc.event is ev1


def test_a_wrong_pair_is_told_in_plain_words(sample) -> None:
    for row in filtering.select(sample, "ntracks >= 3"):
        event = sample.event(int(row))
        muons = _muon_tracks(event)
        others = [t for t in range(event.tracks.size) if t not in muons]
        if muons and others:
            verdict = check_pair(event, (muons[0], others[0]))
            assert not verdict.muons
            assert verdict.message.startswith("Not quite")
            assert f"track {others[0] + 1} was" in verdict.message
            return
    pytest.fail("the sample has no event with a muon and another track")


def test_no_truth_means_no_right_answer(sample) -> None:
    mc = Masterclass(truth_mass=None, needed=0)
    assert mc.answer(3.0) == (False, "This file has no simulated Z′, so there is no right answer to check.")


def test_tracks_without_truth_are_not_called_wrong() -> None:
    event = open_events(SAMPLE).read(32, 33)  # a Z′ event, read afresh: its truth is removed below
    event.tracks["mc_index"][:] = -1
    verdict = check_pair(event, (0, 1))
    assert not verdict.muons
    assert "no simulation truth" in verdict.message
