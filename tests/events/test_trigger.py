"""L1 emulation: the lines fire for the physics they were built for, with the menu's prescales."""

from __future__ import annotations

import numpy as np
import pytest

from events import helix, trigger
from events.generator import generate, parse_signal, trigger_efficiencies
from events.model import EventBatch


def fraction(batch: EventBatch, name: str, mask: np.ndarray | None = None) -> float:
    fired = trigger.fired(batch.header["l1_bits"], name)
    return float(fired[mask].mean() if mask is not None else fired.mean())


def test_mumu_events_fire_the_two_track_lines() -> None:
    batch = generate(1500, seed=21, processes=["mumu"])
    t = batch.tracks
    two = t.counts == 2
    first = t.offsets[:-1]
    theta = np.degrees(np.arctan2(1.0, t["tan_lambda"]))
    pt = helix.transverse_momentum(t["omega"])
    central = np.zeros(len(batch), dtype=bool)
    idx = np.flatnonzero(two)
    a, b = first[idx], first[idx] + 1
    central[idx] = (
        (theta[a] > 45) & (theta[a] < 115) & (theta[b] > 45) & (theta[b] < 115) & (pt[a] > 1) & (pt[b] > 1)
    )
    assert central.sum() > 300
    for name in ("ff", "ffo", "ffb", "fyo"):
        assert fraction(batch, name, central) > 0.97, name
    # muons reach the KLM: the muon lines fire too
    assert fraction(batch, "mu_pair", central) > 0.8
    assert fraction(batch, "cdcklm1", central) > 0.8
    # and nothing prescaled or neutral does
    for name in ("bha3d", "g_high", "gg"):
        assert fraction(batch, name, central) < 0.01, name


def test_bhabha_lines_are_prescaled_by_100() -> None:
    batch = generate(4000, seed=22, processes=["bhabha"])
    raw = trigger.l1_decisions(batch)["bha3d"]
    assert raw.mean() > 0.85  # the 3D Bhabha logic recognises Bhabha events
    kept = trigger.fired(batch.header["l1_bits"], "bha3d")
    assert not (kept & ~raw).any()
    expected = raw.sum() / trigger.PRESCALES["bha3d"]
    assert abs(kept.sum() - expected) < 4 * np.sqrt(expected)
    # Bhabha events are vetoed from the two-track and energy lines that physics uses
    assert fraction(batch, "ff") < 0.05
    assert fraction(batch, "hie") < 0.1
    # a random-number prescale keeps the same fraction
    bits = trigger.emulate_l1(batch, np.random.default_rng(1))
    kept_rng = trigger.fired(bits, "bha3d")
    assert abs(kept_rng.sum() - expected) < 4 * np.sqrt(expected)


def test_prescale_decision_does_not_depend_on_batching() -> None:
    batch = generate(900, seed=23, processes=["bhabha", "gammagamma"])
    whole = trigger.emulate_l1(batch)
    parts = np.concatenate([trigger.emulate_l1(b) for b in batch.chunks(250)])
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(whole, batch.header["l1_bits"])


def test_single_photon_signal_fires_the_photon_lines() -> None:
    batch = generate(1500, seed=24, signals=[parse_signal("darkphoton:mass=3,fraction=1")], processes=[])
    e = batch.ecl
    ev = e.event_index()
    barrel_photon = np.zeros(len(batch), dtype=bool)
    hard = (e["energy"] > 2.0) & (np.degrees(e["theta"]) > 40) & (np.degrees(e["theta"]) < 115)
    barrel_photon[ev[hard]] = True
    assert barrel_photon.sum() > 250
    assert fraction(batch, "lml1", barrel_photon) > 0.95
    assert fraction(batch, "g_high", barrel_photon) > 0.95
    assert fraction(batch, "ff", barrel_photon) < 0.01


def test_hadronic_events_are_triggered_with_full_efficiency() -> None:
    batch = generate(800, seed=25, processes=["bbbar_charged", "bbbar_mixed", "uubar", "ccbar"])
    bits = batch.header["l1_bits"]
    hadronic = trigger.fired(bits, "fff") | trigger.fired(bits, "hie") | trigger.fired(bits, "c4")
    assert hadronic.mean() > 0.98  # trgdoc: hadronic trigger efficiency ≈ 100 %


def test_an_empty_event_fires_nothing() -> None:
    assert (trigger.emulate_l1(EventBatch.build(5)) == 0).all()


def test_trigger_efficiencies_give_rates_from_the_physics() -> None:
    names, sigma, eff = trigger_efficiencies(n_per_process=400, seed=1)
    assert eff.shape == (len(names), len(trigger.L1_BITS))
    assert ((eff >= 0) & (eff <= 1)).all()
    rates = 51.0 * sigma[:, None] * eff  # Hz at 5.1e34 (51 Hz per nb)
    bha = names.index("bhabha")
    bit = trigger.BIT["bha3d"]
    # Bhabha through the prescaled 3D line: 74.4 nb × ~0.95 / 100 ≈ 36 Hz (physics.md §5: 2.9 % of 1.33 kHz)
    assert rates[bha, bit] == pytest.approx(38.0, rel=0.25)
    mumu = names.index("mumu")
    assert 0.4 < eff[mumu, trigger.BIT["ff"]] < 0.9
