"""Physics of the SuperKEKB/Belle II simulation and what the accumulators make of it."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from events.trigger import L1_BITS
from monitoring import rates
from monitoring.channels import L1_LIMIT_HZ, Severity
from monitoring.machine import TURN_S, Loss, Machine, MachineConfig
from monitoring.model import MonitorModel
from monitoring.rates import TECHNICAL_HZ, TriggerMenu, l1_rates, load_menu
from monitoring.sim import CONTINUOUS, DISCRETE, Simulation

T0 = 1.7e9


@functools.cache
def quick_menu() -> TriggerMenu:
    return rates.quick_menu()


def run_sim(cfg: MachineConfig, hours: float, seed: int = 3, step: float = 6.0, **model_kw):
    sim = Simulation(cfg, T0, seed=seed, menu=quick_menu())
    model = MonitorModel(CONTINUOUS + DISCRETE, source_name="sim://", **model_kw)
    for t in np.arange(T0 + step, T0 + hours * 3600 + step, step):
        model.ingest(sim.step(float(t), 6))
    return sim, model


def test_luminosity_follows_the_product_of_the_currents() -> None:
    cfg = MachineConfig(sbl_per_hour=4)
    machine = Machine(cfg, T0, seed=5)
    machine.advance(T0 + 3000)
    t = np.linspace(T0, T0 + 3000, 20001)
    currents = machine.currents(t)
    lum = machine.luminosity(t, currents)
    product = currents["HER"] * currents["LER"]
    assert machine.losses, "the seed gives losses, so the currents span empty to full"
    assert product.min() == 0.0
    assert product.max() > 0.99 * cfg.her_setpoint_a * cfg.ler_setpoint_a
    np.testing.assert_allclose(lum, cfg.peak_luminosity * product / (1.05 * 1.35), rtol=1e-12)
    assert lum.max() == pytest.approx(5.1e34, rel=0.01)  # the Dec 2024 record at the setpoints


def test_sudden_loss_collapses_the_ring_within_tens_of_microseconds_then_aborts() -> None:
    cfg = MachineConfig(sbl_per_hour=6)
    machine = Machine(cfg, T0, seed=11)
    checked = 0
    for hour in range(1, 5):
        machine.advance(T0 + hour * 3600)
        for loss in machine.losses_between(T0 + (hour - 1) * 3600, T0 + hour * 3600):
            check_loss(machine, loss)
            checked += 1
    assert checked >= 5


def check_loss(machine: Machine, loss: Loss) -> None:
    """Full current just before, a fraction lost within 10-50 µs, both beams gone after the abort."""
    cfg, ring = machine.cfg, machine.rings[loss.ring]
    assert 10e-6 <= loss.duration <= 50e-6
    before = ring.evaluate(np.array([loss.time - 1e-6]), cfg)[0][0]
    assert before > 0.9 * ring.setpoint
    # timestamps near 1.7e9 s resolve 0.24 µs: look 1 µs after the collapse, before the abort
    after_collapse = ring.evaluate(np.array([loss.time + loss.duration + 1e-6]), cfg)[0][0]
    assert after_collapse == pytest.approx(before * (1 - loss.fraction), rel=1e-6)
    assert loss.abort_time - loss.time - loss.duration == pytest.approx(cfg.abort_latency_s, abs=5e-7)
    gone = machine.currents(np.array([loss.abort_time + 1e-6, loss.abort_time + 60.0]))
    assert gone["HER"].max() == 0.0
    assert gone["LER"].max() == 0.0
    assert machine.luminosity(np.array([loss.abort_time + 1.0]))[0] == 0.0


def test_losses_are_mostly_ler() -> None:
    machine = Machine(MachineConfig(sbl_per_hour=200, recovery_s=(1.0, 2.0)), T0, seed=2)
    rings = []
    for hour in range(1, 40):
        machine.advance(T0 + hour * 3600)
        rings += [loss.ring for loss in machine.losses if loss.time > T0 + (hour - 1) * 3600]
    share = rings.count("LER") / len(rings)
    assert len(rings) > 100
    assert 0.7 < share < 0.9


def test_loss_is_detected_with_its_duration_and_latches_until_acknowledged() -> None:
    sim, model = run_sim(MachineConfig(sbl_per_hour=3.0), hours=1.0)
    losses = sim.machine.losses
    assert len(losses) >= 2
    assert len(model.alarms) == len(losses)
    for loss, alarm in zip(losses, model.alarms, strict=True):
        assert alarm.ring == loss.ring
        assert set(alarm.rings) == {"HER", "LER"}  # the abort dumps both rings
        assert alarm.time == pytest.approx(loss.time, abs=TURN_S)
        # the collapse plus the abort, measured on turn-by-turn samples
        assert alarm.duration <= loss.duration + sim.machine.cfg.abort_latency_s + 2 * TURN_S
        assert alarm.duration < 100e-6
        assert alarm.fraction == pytest.approx(1.0)
        pm_t, pm_v = alarm.postmortem["LER:I"]
        assert pm_t.min() >= alarm.time - model.sbl.pre
        assert pm_t.max() <= alarm.time + model.sbl.post
        assert (np.diff(pm_t) < 2 * TURN_S).sum() >= 5  # the turn-by-turn part is there
        assert pm_v[0] > 0.9 * 1.35
        assert pm_v[-1] == 0.0
    assert model.sbl.latched
    assert model.acknowledge() == len(losses)
    assert not model.sbl.latched
    assert all(a.acknowledged for a in model.alarms)
    log = [e.text for e in model.log if "sudden beam loss" in e.text]
    assert len(log) == len(losses)


def _truth(machine: Machine, t0: float, t1: float) -> float:
    t = np.linspace(t0, t1, max(2, int((t1 - t0) * 20)))
    return float(np.trapezoid(machine.luminosity(t), t))


def test_integrated_luminosity_per_run_resets_at_run_boundaries_and_matches_truth() -> None:
    cfg = MachineConfig(sbl_per_hour=1.0, run_length_s=900.0)
    sim, model = run_sim(cfg, hours=0.75, step=3.0)
    machine = sim.machine
    runs = model.lumi.by_run
    assert len(runs) >= 3
    assert list(runs) == [r for _, r in model.runs]
    # the model's boundaries are the machine's, to one sample
    starts = dict(zip(machine.run_numbers, machine.run_starts, strict=True))
    ends = dict(zip(machine.run_numbers, machine.run_ends, strict=True))
    for t, run in model.runs:
        assert t - starts[run] < 3.0 + 1e-6
    for run, integral in runs.items():
        if np.isinf(ends[run]):
            continue
        truth = _truth(machine, starts[run], ends[run])
        assert integral == pytest.approx(truth, rel=0.02, abs=1e33 * 4)  # one sample at each edge
    total_truth = _truth(machine, T0 + 3.0, model.latest_time)
    assert model.lumi.total == pytest.approx(total_truth, rel=0.005)
    assert sum(runs.values()) < model.lumi.total  # no data taking between runs and during refills
    assert not model.lumi.gaps


def test_l1_rates_scale_with_luminosity_and_respect_the_30_khz_limit() -> None:
    menu = quick_menu()
    lum = np.array([1e34, 2e34, 4e34])
    zero = np.zeros(3)
    r = l1_rates(menu, lum, zero, zero, zero)
    bhabha = L1_BITS.index("bhabha")
    ratio = r.bits[:, bhabha] / lum
    np.testing.assert_allclose(ratio, ratio[0], rtol=0.01)
    # background grows with the square of the current
    b = l1_rates(menu, np.zeros(2), np.array([0.675, 1.35]), np.zeros(2), np.zeros(2))
    klm = L1_BITS.index("klmhit")
    assert b.bits[1, klm] / b.bits[0, klm] == pytest.approx(4.0, rel=0.02)
    # the design currents at twice the design luminosity saturate the DAQ (at 6.3e35 the request is about
    # 25 kHz: 12 kHz of physics, docs/physics.md §7.2)
    design = MachineConfig.design(peak_luminosity=1.3e36)
    d = l1_rates(menu, np.array([design.peak_luminosity]), np.array([3.6]), np.array([2.6]), np.array([1.0]))
    assert d.request[0] > L1_LIMIT_HZ
    assert d.accepted[0] == pytest.approx(L1_LIMIT_HZ)
    assert d.dead_fraction[0] > 0.0


def test_simulated_l1_total_never_exceeds_the_limit_and_alarms_near_it() -> None:
    # twice the design luminosity: the request (≈ 37 kHz) is above the cap, as at the design luminosity
    # before the two-photon sample took basf2's preselection (docs/physics.md §6)
    machine = MachineConfig.design(sbl_per_hour=0.0, peak_luminosity=1.3e36)
    sim = Simulation(machine, T0, seed=4, menu=quick_menu())
    model = MonitorModel(CONTINUOUS + DISCRETE)
    for t in np.arange(T0 + 6, T0 + 600, 6.0):
        model.ingest(sim.step(float(t), 6))
    t, v = model.buffers["L1:TOTAL"].view()
    assert v.max() <= L1_LIMIT_HZ * 1.05  # Poisson fluctuation around the cap
    assert np.median(v) == pytest.approx(L1_LIMIT_HZ, rel=0.02)
    assert model.states["L1:TOTAL"].severity >= Severity.MINOR
    assert model.states["L1:DEAD"].value > 0.1  # MAJOR on the dead-time channel
    # the request splits into collisions and beam background (plus the technical triggers)
    phys, bkg, raw = (model.states[c].value for c in ("L1:PHYS", "L1:BKG", "L1:RAW"))
    assert phys + bkg + sum(TECHNICAL_HZ.values()) == pytest.approx(raw, rel=1e-9)
    assert 15_000 < phys < L1_LIMIT_HZ  # 1.3e36: twice the 12 kHz of physics at 6.3e35
    assert bkg > 0.1 * phys


def test_a_trigger_line_that_stops_firing_is_flagged() -> None:
    sim = Simulation(MachineConfig(sbl_per_hour=0.0), T0, seed=4, menu=quick_menu())
    model = MonitorModel(CONTINUOUS + DISCRETE)
    t = T0
    for _ in range(100):
        t += 6.0
        model.ingest(sim.step(t, 6))
    assert model.silent_bits() == []
    sim.kill_bits({"ffo", "mu_pair"})
    for _ in range(10):
        t += 6.0
        model.ingest(sim.step(t, 6))
    assert set(model.silent_bits()) == {"ffo", "mu_pair"}


def test_generated_rate_model_is_used_and_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    menu = load_menu(n_per_process=200, seed=1)
    assert menu.origin.startswith("generated")
    assert menu.efficiency.shape == (len(menu.processes), len(L1_BITS))
    assert ((menu.efficiency >= 0) & (menu.efficiency <= 1)).all()
    assert list(tmp_path.rglob("trigger-model-*.npz"))
    again = load_menu(n_per_process=200, seed=1)  # from the cache file
    np.testing.assert_array_equal(again.efficiency, menu.efficiency)
    for a, b in zip(again.model.raw_bits, menu.model.raw_bits, strict=True):
        np.testing.assert_array_equal(a, b)
    # physics rates scale with luminosity through the generated matrix
    zero = np.zeros(2)
    r = l1_rates(menu, np.array([2e34, 4e34]), zero, zero, zero)
    physics = r.bits - np.array([TECHNICAL_HZ.get(b, 0.0) for b in L1_BITS])
    assert physics[0].sum() > 0
    np.testing.assert_allclose(physics[1], 2 * physics[0], rtol=0.02, atol=1e-9)


def test_dead_lines_remove_only_the_events_no_other_line_keeps() -> None:
    menu = quick_menu()
    zero = np.zeros(1)
    lum = np.array([8e35])
    alive = l1_rates(menu, lum, zero, zero, zero)
    # ff alone: almost every event it fires also fires ffo, ffb, fyo or another line; the few it keeps
    # alone are a few two-photon hadron events (≈ 14 Hz at 8e35, 0.1 %; 0.1 % of those events fire ff only)
    one = l1_rates(menu.without_bits({"ff"}), lum, zero, zero, zero)
    assert one.bits[0, L1_BITS.index("ff")] == 0.0
    assert one.physics[0] == pytest.approx(alive.physics[0], rel=0.005)
    assert one.physics[0] <= alive.physics[0]
    # the whole two-track family: what is lost is the events only they fire, far less than their sum
    family = {"ff", "ffo", "ffb", "fyo", "ffoc"}
    dead = l1_rates(menu.without_bits(family), lum, zero, zero, zero)
    lost = alive.physics[0] - dead.physics[0]
    family_sum = sum(alive.bits[0, L1_BITS.index(b)] for b in family)
    assert 0 < lost < 0.2 * family_sum


def test_bhabha_line_rate_is_prescaled_once(tmp_path, monkeypatch) -> None:
    """bha_id0 (the barrel Bhabha selection): sigma x L x eff / 100 at 5.1e34 (physics.md §6)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    menu = load_menu(n_per_process=400, seed=1)
    bhabha = menu.processes.index("bhabha")
    k = L1_BITS.index("bha_id0")
    assert menu.efficiency[bhabha, L1_BITS.index("bha3d")] > 0.5  # raw decisions, before the prescale
    assert menu.efficiency[bhabha, k] > 0.1
    zero = np.zeros(1)
    r = l1_rates(menu, np.array([5.1e34]), zero, zero, zero)
    rate = r.bits[0, k] - TECHNICAL_HZ.get("bha_id0", 0.0)
    expected = sum(
        menu.cross_sections_nb[p] * 51.0 * menu.efficiency[p, k] / 100 for p in range(len(menu.processes))
    )
    assert rate == pytest.approx(expected, rel=0.05)
    assert 2 < rate < 20


def test_sim_source_opens_on_its_replayed_past_with_earlier_losses_not_latched() -> None:
    import time

    from monitoring.sim import SimSource

    source = SimSource("sim://?history=1800&sbl_rate=30&seed=4")
    model = MonitorModel(source.channels, source_name=source.url, live_from=source.live_from)
    source.subscribe(model.ingest)
    with source:
        deadline = time.monotonic() + 60
        while model.latest_time < source.live_from and time.monotonic() < deadline:
            time.sleep(0.05)
    times, lum = model.buffers["LUM"].view()
    assert times[0] == pytest.approx(source.live_from - 1800, abs=11)  # the past half hour, 10 s apart
    assert np.nanmedian(lum) > 1e34
    assert model.lumi.total > 0  # integrated over the replayed past
    past = [a for a in model.alarms if a.time < source.live_from]
    assert past, "30 losses an hour: the half hour replayed holds some"
    assert all(a.acknowledged for a in past)  # the previous shift's, logged but not latched
    assert any("replayed history" in entry.text for entry in model.log)


def test_sim_source_samples_a_regular_grid_and_publishes_it_as_it_comes_due() -> None:
    """At 60x real time: a sample every simulated second, in batches several times as frequent as
    the 0.1 s sampling tick would give; at real time a sample every 0.1 s; at high acceleration
    still at most ``max_samples`` per tick."""
    import time

    from monitoring.sim import SimSource

    assert SimSource("sim://?accel=1").sample_spacing() == pytest.approx(0.1)
    assert SimSource("sim://?accel=1800").sample_spacing() == pytest.approx(18.0)
    source = SimSource("sim://?accel=60&history=0&sbl_rate=0&seed=3")
    assert source.sample_spacing() == pytest.approx(1.0)
    batches: list[list[float]] = []
    source.subscribe(lambda updates: batches.append([u.timestamp for u in updates if u.channel == "LUM"]))
    source.start()
    try:
        deadline = time.monotonic() + 60  # the trigger menu may be built first
        while not batches and time.monotonic() < deadline:
            time.sleep(0.01)
        batches.clear()
        time.sleep(1.5)
    finally:
        source.stop()
    times = np.concatenate([b for b in batches if b])
    assert len(times) >= 30  # 60 simulated seconds a wall second, a sample each
    assert np.allclose(np.diff(times), 1.0)  # one grid, across batches
    assert sum(1 for b in batches if b) > 1.5 * 10  # more batches than one per 0.1 s tick
