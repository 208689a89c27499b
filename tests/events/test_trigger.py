"""L1 emulation: the lines fire for the physics they were built for, with the menu's vetoes and prescales,
and the rate model built on it gives Belle II's design rates (docs/physics.md §6)."""

from __future__ import annotations

import numpy as np
import pytest

from events import helix, trigger
from events.generator import generate, parse_signal, rate_model
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


def test_the_bhabha_sample_is_kept_by_its_theta_lines_with_their_prescales() -> None:
    batch = generate(4000, seed=22, processes=["bhabha"])
    raw = trigger.l1_decisions(batch)
    assert raw["bha3d"].mean() > 0.95  # the 3D Bhabha logic recognises Bhabha events
    assert raw["bhapur"].mean() >= raw["bha3d"].mean()  # the selection's window holds the veto's
    # bha_theta splits the selection by the θID of the forward cluster: exactly one line per selected event
    split = np.stack([raw[f"bha_id{k}"] for k in range(4)])
    np.testing.assert_array_equal(split.sum(axis=0), raw["bhapur"].astype(int))
    # Bhabhas are forward: θID 1 (below 17°) and 2 (17°-24°) hold most of them
    assert raw["bha_id1"].mean() + raw["bha_id2"].mean() > 0.5
    for name in ("bha_id0", "bha_id3", "bha_id2"):
        kept = trigger.fired(batch.header["l1_bits"], name)
        assert not (kept & ~raw[name]).any()
        expected = raw[name].sum() / trigger.PRESCALES[name]
        assert abs(kept.sum() - expected) < 4 * np.sqrt(expected) + 1, name
    # Bhabha events are vetoed from the two-track and energy lines that physics uses
    assert fraction(batch, "ff") < 0.05
    assert fraction(batch, "hie") < 0.01
    # a random-number prescale keeps the same fraction
    bits = trigger.emulate_l1(batch, np.random.default_rng(1))
    expected = raw["bha_id0"].sum() / 100
    assert abs(trigger.fired(bits, "bha_id0").sum() - expected) < 4 * np.sqrt(expected) + 1


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
    raw = trigger.l1_decisions(batch)
    for name in ("lml1", "g_high"):  # the single-photon lines, prescaled: they fire on γγ too
        assert raw[name][barrel_photon].mean() > 0.95, name
    for name in ("hie", "lml6"):  # unprescaled: E_tot > 1 GeV; one cluster above 1 GeV and nothing else
        assert fraction(batch, name, barrel_photon) > 0.95, name
    assert fraction(batch, "ff", barrel_photon) < 0.01


def test_hadronic_events_are_triggered_with_full_efficiency() -> None:
    batch = generate(800, seed=25, processes=["bbbar_charged", "bbbar_mixed", "uubar", "ccbar"])
    bits = batch.header["l1_bits"]
    hadronic = trigger.fired(bits, "fff") | trigger.fired(bits, "hie") | trigger.fired(bits, "c4")
    assert hadronic.mean() > 0.98  # trgdoc: hadronic trigger efficiency ≈ 100 %


def test_an_empty_event_fires_nothing() -> None:
    assert (trigger.emulate_l1(EventBatch.build(5)) == 0).all()


DESIGN_LUMINOSITY = 8e35  # Iwasaki et al., IEEE TNS 58 (2011) 1807, Table I


@pytest.fixture(scope="module")
def model() -> trigger.RateModel:
    return rate_model(n_per_process=1500, seed=7)


def test_the_bhabha_veto_keeps_generated_bhabhas_out_of_the_physics_lines() -> None:
    batch = generate(3000, seed=26, processes=["bhabha"])
    raw = trigger.l1_decisions(batch)
    assert raw["bha3d"].mean() > 0.95  # the 3D Bhabha veto recognises them
    # every line that carries !bha_veto in ftd_0036 stays almost silent on Bhabhas
    for name in ("ff", "ffo", "fyo", "hie", "lowe", "c4", "eclmumu", "lml0", "lml12", "cdcklm1", "seklm1"):
        assert raw[name].mean() < 0.02, name
    # lume (no veto in the menu) and lml5 (a 3D Bhabha by definition) fire, and are prescaled
    assert raw["lume"].mean() > 0.5
    assert trigger.PRESCALES["lume"] >= 100
    assert trigger.PRESCALES["lml5"] >= 100
    # after veto and prescales, about 0.6 % of Bhabhas in the ECL fire L1 (the design's 1 % of θ ≥ 17°)
    kept = trigger.accept_probability(trigger.decision_matrix(raw)).mean()
    assert 0.003 < kept < 0.012


def test_accept_probability_is_the_expected_fraction_of_emulated_bits() -> None:
    batch = generate(4000, seed=27, processes={"bhabha": 1, "eeee": 1, "tautau": 1})
    expected = trigger.accept_probability(trigger.decision_matrix(trigger.l1_decisions(batch)))
    fired = trigger.emulate_l1(batch) != 0
    assert abs(fired.sum() - expected.sum()) < 4 * np.sqrt(expected.sum())
    # a dead line never keeps an event
    live = np.ones(len(trigger.L1_BITS), dtype=bool)
    live[trigger.BIT["hie"]] = False
    raw = trigger.decision_matrix(trigger.l1_decisions(batch))
    only_hie = raw[:, trigger.BIT["hie"]] & (raw.sum(axis=1) == 1)
    assert (trigger.accept_probability(raw, live)[only_hie] == 0).all()


# Iwasaki et al., IEEE TNS 58 (2011) 1807, Table I at 8e35 [Hz], and how close each process must come.
# The tolerances are the differences of definition and of our toys, stated: continuum, μμ and ττ carry our
# cross sections (3.69, 1.148, 0.919 nb against the table's 2.8, 0.8, 0.8); Bhabha and γγ add, to the
# 1/100 of θ ≥ 17°, the radiative events that escape the 3D veto (ISR or FSR taking one particle below
# the veto's energies) and fire hie, which the table leaves out. Two-photon: the ≈ 80 nb of the table with
# basf2's AAFH preselection (one charged particle at 17-150°, pT > 0.1 GeV), of which our emulation fires
# on 12 % (the table: 23 %; f tracks with the 2D finder's turn-on at minPt, one Hough cell wide), 7.7 kHz,
# plus e+e- → e+e- hadrons from the equivalent-photon fluxes (3.5 nb, 60 % fire, 1.7 kHz): 9.4 kHz, 37 %
# below the table's ≈ 15 kHz; the total is 14.8-16.5 kHz across seeds (−24 %).
DESIGN_TABLE_HZ = {
    "bbbar": (960.0, 0.2),
    "continuum": (2200.0, 0.45),
    "mumu": (640.0, 0.45),
    "tautau": (640.0, 0.2),
    "bhabha": (350.0, 0.45),
    "gammagamma": (19.0, 2.5),
    "two_photon": (15_000.0, 0.5),
    "total": (20_000.0, 0.4),
}


def _design_table_rows(model: trigger.RateModel) -> dict[str, float]:
    """The physics L1 rates at 8e35 [Hz] in the rows of the design table (Iwasaki Table I)."""
    r = model.rates(DESIGN_LUMINOSITY)
    rate = dict(zip(model.processes, r.per_process[0], strict=True))
    return {
        "bbbar": rate["bbbar_charged"] + rate["bbbar_mixed"],
        "continuum": sum(rate[p] for p in ("uubar", "ddbar", "ssbar", "ccbar")),
        "mumu": rate["mumu"],
        "tautau": rate["tautau"],
        "bhabha": rate["bhabha"],
        "gammagamma": rate["gammagamma"],
        "two_photon": rate["eeee"] + rate["eemumu"] + rate["eehadrons"],
        "total": float(r.total[0]),
    }


def test_l1_rates_at_design_luminosity_follow_the_design_table(model: trigger.RateModel) -> None:
    """Each process within its stated tolerance of the design table at 8e35, the total under 30 kHz."""
    r = model.rates(DESIGN_LUMINOSITY)
    ours = _design_table_rows(model)
    for name, (design, tolerance) in DESIGN_TABLE_HZ.items():
        assert abs(ours[name] / design - 1) < tolerance, (name, ours[name], design)
    assert r.total[0] < 30_000  # the DAQ reads out 30 kHz
    # the Bhabha sample proper, the θ-split lines, is most of the Bhabha rate; the rest is the leakage
    k = model.processes.index("bhabha")
    eff = model.raw_efficiency()[k]
    sample = sum(eff[trigger.BIT[f"bha_id{i}"]] / trigger.PRESCALES[f"bha_id{i}"] for i in range(4))
    sample_hz = sample * model.cross_sections_nb[k] * DESIGN_LUMINOSITY * trigger.NB_TO_CM2
    assert 0.4 * ours["bhabha"] < sample_hz < ours["bhabha"]
    # a line's rate never exceeds the rate of events that fire any line
    assert (r.bits[0] <= r.total[0] + 1e-6).all()


# docs/physics.md §6 at 8e35 (2000 events per process, seed 0) [Hz], and the spread of the fixture's
# 1500 events per process: four standard deviations across seeds 2-13 (Bhabha and γγ rest on the few
# radiative events that escape the 3D veto: ±19 % each; two-photon ±4.4 %, total ±3.0 %).
DOCUMENTED_HZ = {
    "bbbar": (888.0, 0.01),
    "continuum": (2942.0, 0.01),
    "mumu": (796.0, 0.04),
    "tautau": (681.0, 0.04),
    "bhabha": (412.0, 0.19),
    "gammagamma": (41.0, 0.19),
    "two_photon": (9417.0, 0.044),
    "total": (15177.0, 0.03),
}


def test_l1_rates_at_design_luminosity_are_the_documented_figures(model: trigger.RateModel) -> None:
    ours = _design_table_rows(model)
    for name, (documented, tolerance) in DOCUMENTED_HZ.items():
        assert abs(ours[name] / documented - 1) < tolerance, (name, ours[name], documented)


def test_gamma_gamma_acceptance_and_prescale_follow_the_design_table(model: trigger.RateModel) -> None:
    """γγ: 2.4 nb at θlab ≥ 17° prescaled 1/100, 19 Hz at 8e35 (Iwasaki Table I). Our 3.30 nb (both photons
    in the ECL above 0.5 GeV) holds 2.75 nb at 17-150°, and the θ-split Bhabha selection keeps 17-18 Hz of
    it; the rest of its L1 rate is the radiative leak past the 3D veto (hard ISR), which the table omits."""
    from events.generator import beams, physics

    parts = physics.SAMPLERS["gammagamma"](np.random.default_rng(8), 20_000, physics.GeneratorConfig())
    hard = (parts.pdg == 22) & (np.hypot(parts.p4[:, 1], parts.p4[:, 2]) > 1e-9)  # not the ISR photon
    lab = beams.to_lab(parts.p4[hard])
    theta = np.degrees(np.arctan2(np.hypot(lab[:, 1], lab[:, 2]), lab[:, 3]))
    inside = (theta >= 17) & (theta <= 150)
    both = np.bincount(parts.event[hard][inside], minlength=20_000) >= 2
    k = model.processes.index("gammagamma")
    assert model.cross_sections_nb[k] * both.mean() == pytest.approx(2.4, rel=0.2)
    eff = model.raw_efficiency()[k]
    sample = sum(eff[trigger.BIT[f"bha_id{i}"]] / trigger.PRESCALES[f"bha_id{i}"] for i in range(4))
    sample_hz = sample * model.cross_sections_nb[k] * DESIGN_LUMINOSITY * trigger.NB_TO_CM2
    assert sample_hz == pytest.approx(19.0, rel=0.25)
    total_hz = model.rates(DESIGN_LUMINOSITY).per_process[0][k]
    assert sample_hz < total_hz < 4 * sample_hz


def test_the_rate_model_is_linear_in_luminosity(model: trigger.RateModel) -> None:
    r = model.rates(np.array([1e34, 5.1e34]))
    np.testing.assert_allclose(r.per_process[1], 5.1 * r.per_process[0], rtol=1e-12)
    assert r.total[1] == pytest.approx(5.1 * r.total[0])


def test_low_multiplicity_events_apart_give_the_same_decisions_event_by_event() -> None:
    batch = generate(600, seed=31)
    multiplicity = np.maximum.reduce([batch.tracks.counts, batch.ecl.counts, batch.klm.counts])
    low = multiplicity <= trigger.LOW_MULTIPLICITY
    assert low.any()  # both passes run
    assert not low.all()
    split, padded = trigger.l1_decisions(batch), trigger._l1_decisions_padded(batch)
    assert list(split) == list(padded)
    for line, decisions in padded.items():
        np.testing.assert_array_equal(split[line], decisions, err_msg=line)
