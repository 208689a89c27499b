"""The J/ψ → μμ and π⁰ → γγ masterclass exercises on generated events with known truth (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from events import pdg
from events.generator import generate, physics
from events.generator.processes import BY_NAME, JPSI_ACCEPTANCE, PROCESSES
from events.generator.stream_model import stream_shares
from events.masterclass import (
    JPSI,
    JPSI_EXERCISE,
    MUON,
    PHOTON,
    PI0,
    PI0_EXERCISE,
    ZPRIME_EXERCISE,
    Masterclass,
    Step,
    check_pair,
    generated_events,
    offered,
    true_mothers,
    true_particles,
    truth_of,
)


@pytest.fixture(scope="module")
def jpsi_events():
    return generated_events(JPSI_EXERCISE, n=120, seed=7)


@pytest.fixture(scope="module")
def pi0_events():
    return generated_events(PI0_EXERCISE, n=120, seed=7)


def _pairs(event, exercise):
    """(right pair from one mother, pair of the particle from two mothers) of one event, None if none."""
    kind = exercise.kind
    n = event.tracks.size if kind == "track" else event.ecl.size
    objects = tuple(range(n))
    truth, mothers = true_particles(event, objects, kind), true_mothers(event, objects, kind)
    mc_pdg = np.abs(np.asarray(event.mc["pdg"]))
    mine = [o for o in objects if truth[o] == exercise.particle]
    right = [(a, b) for a in mine for b in mine if a < b and mothers[a] == mothers[b] >= 0
             and mc_pdg[mothers[a]] == exercise.parent]  # fmt: skip
    other = [(a, b) for a in mine for b in mine if a < b and mothers[a] != mothers[b]]
    return (right[0] if right else None), (other[0] if other else None)


def _run_class(events, exercise, needed):
    """A class that adds the true pair of each event until ``needed`` entries: the Masterclass state."""
    mc = Masterclass(truth_of(exercise, events.header), needed=needed, tolerance=exercise.tolerance,
                     exercise=exercise)  # fmt: skip
    for row in offered(events, exercise):
        event = events.event(int(row))
        mc.show(event, int(row))
        right, _ = _pairs(event, exercise)
        if right is None:
            continue
        for o in right:
            mc.toggle(o)
        assert mc.step is Step.ADD
        verdict = mc.add()
        assert verdict.muons
        assert verdict.signal, verdict.message
        if mc.ready_for_peak:
            break
    return mc


def test_jpsi_isr_events_carry_a_jpsi_into_two_muons(jpsi_events) -> None:
    jpsi = jpsi_events.take(np.flatnonzero(jpsi_events.header["process"] == BY_NAME["jpsi_isr"].code))
    assert len(jpsi) > 40
    mc_pdg, mother = np.asarray(jpsi.mc["pdg"]), np.asarray(jpsi.mc["mother"])
    mc_event = jpsi.mc.event_index()
    psi = np.flatnonzero(mc_pdg == JPSI)
    assert len(psi) == len(jpsi)  # one J/ψ an event
    m = np.sqrt(np.asarray(jpsi.mc["energy"])[psi] ** 2
                - sum(np.asarray(jpsi.mc[c])[psi] ** 2 for c in ("px", "py", "pz")))  # fmt: skip
    np.testing.assert_allclose(m, pdg.mass([JPSI])[0], atol=1e-6)
    offsets = np.concatenate([[0], np.cumsum(jpsi.mc.counts)[:-1]])
    daughters = np.flatnonzero((mother >= 0) & (mc_pdg != 0))
    daughters = daughters[mc_pdg[mother[daughters] + offsets[mc_event[daughters]]] == JPSI]
    assert sorted(np.unique(mc_pdg[daughters]).tolist()) == [-MUON, MUON]
    assert len(daughters) == 2 * len(jpsi)
    # the ISR photon carries E = (s - M²)/(2√s) in the CM frame: ≈ 4.8 GeV, along a beam
    assert (jpsi.mc["pdg"] == PHOTON).sum() >= len(jpsi)


def test_the_jpsi_stays_out_of_the_default_stream() -> None:
    codes, shares = stream_shares()
    assert BY_NAME["jpsi_isr"].code not in codes.tolist()
    assert len(codes) == len(PROCESSES)
    assert shares.sum() == pytest.approx(1.0)


def test_jpsi_acceptance_is_the_quoted_one(monkeypatch) -> None:
    seen: list[float] = []

    def once(rng, n, make):
        parts, k = make(20_000)
        seen.append(k / 20_000)
        return parts

    monkeypatch.setattr(physics, "preselected", once)
    physics.jpsi_isr(np.random.default_rng(11), 1, physics.GeneratorConfig())
    assert seen[0] == pytest.approx(JPSI_ACCEPTANCE, abs=0.015)


def test_a_jpsi_class_finds_the_pdg_mass(jpsi_events) -> None:
    mc = _run_class(jpsi_events, JPSI_EXERCISE, needed=12)
    assert mc.truth_mass == pytest.approx(3.0969)
    assert mc.ready_for_peak
    assert np.median(mc.values) == pytest.approx(3.097, abs=0.01)  # the two muons' mass, not the recoil
    assert mc.answer(2.9) == (False, "Not quite. Look again: the peak is a bit higher than 2.90 GeV.")
    right, message = mc.answer(3.10)
    assert right
    assert "3.097 GeV" in message
    assert mc.step is Step.DONE
    mc.reset()
    assert (mc.entries, mc.found, mc.attempts) == ([], False, 0)
    assert mc.step is Step.LOOK


def test_two_muons_not_from_a_jpsi_are_background(jpsi_events) -> None:
    for row in np.flatnonzero(jpsi_events.header["process"] == BY_NAME["eemumu"].code):
        event = jpsi_events.event(int(row))
        muons = [t for t, p in enumerate(true_particles(event, tuple(range(event.tracks.size)))) if p == MUON]
        if len(muons) >= 2:
            verdict = check_pair(event, (muons[0], muons[1]), JPSI_EXERCISE)
            assert verdict.muons
            assert not verdict.signal
            assert "not from one J/ψ" in verdict.message
            return
    pytest.fail("no two-photon muon pair among the generated events")


def test_a_pi0_class_finds_the_pdg_mass(pi0_events) -> None:
    rows = offered(pi0_events, PI0_EXERCISE)
    assert len(rows) > 30
    assert (pi0_events.header["process"][rows] == BY_NAME["tautau"].code).all()
    mc = _run_class(pi0_events, PI0_EXERCISE, needed=15)
    assert mc.ready_for_peak
    assert mc.truth_mass == pytest.approx(pdg.mass([PI0])[0])
    # two photon clusters at crystal centres with the CsI(Tl) resolution: the peak within 10 MeV
    assert np.median(mc.values) == pytest.approx(0.135, abs=0.01)
    assert np.std(mc.values) < 0.03
    assert not mc.answer(0.2)[0]
    right, message = mc.answer(0.14)
    assert right
    assert "135 MeV" in message


def test_pi0_wrong_picks_are_told_in_plain_words(pi0_events) -> None:
    told_background = told_pion = False
    for row in offered(pi0_events, PI0_EXERCISE):
        event = pi0_events.event(int(row))
        _, other = _pairs(event, PI0_EXERCISE)
        if other is not None and not told_background:
            verdict = check_pair(event, other, PI0_EXERCISE)
            assert (verdict.muons, verdict.signal) == (True, False)
            assert "not from one π⁰" in verdict.message
            told_background = True
        truth = true_particles(event, tuple(range(event.ecl.size)), "ecl")
        pions = [c for c, p in enumerate(truth) if p == 211]
        photons = [c for c, p in enumerate(truth) if p == PHOTON]
        if pions and photons and not told_pion:
            verdict = check_pair(event, (photons[0], pions[0]), PI0_EXERCISE)
            assert not verdict.muons
            assert f"cluster {pions[0] + 1} was left by a pion" in verdict.message
            told_pion = True
        if told_background and told_pion:
            return
    pytest.fail(f"background told: {told_background}, pion cluster told: {told_pion}")


def test_clusters_are_picked_with_the_photon_hypothesis(pi0_events) -> None:
    row = int(offered(pi0_events, PI0_EXERCISE)[0])
    mc = Masterclass(truth_of(PI0_EXERCISE, pi0_events.header), needed=1, exercise=PI0_EXERCISE)
    mc.show(pi0_events.event(row), row)
    with pytest.raises(ValueError, match="pick two clusters"):
        mc.add()
    mc.toggle(0)
    mc.toggle(1)
    assert mc.pair is not None
    assert all(p.kind == "ecl" and p.hypothesis == PHOTON for p in mc.pair.picks)


def test_only_the_simulated_exercises_generate_their_events() -> None:
    with pytest.raises(ValueError, match="no simulated events"):
        generated_events(ZPRIME_EXERCISE)
    assert truth_of(ZPRIME_EXERCISE, generate(20, seed=1).header) is None  # no Z′ in a plain stream
