"""DQM-grade histograms: the previous run as the default reference, reference files, the normalisations,
the per-histogram checks, the delta over the last minutes and the statuses as the alarms see them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from monitoring.alarms import dqm_statuses
from monitoring.histograms import samples
from monitoring.histograms.compare import (
    CheckConfig,
    Normalisation,
    Status,
    scale_reference,
)
from monitoring.histograms.definitions import STANDARD, HistogramDefinition, by_name
from monitoring.histograms.export import to_hist, write_running
from monitoring.histograms.reference import ReferenceFileError, load_references
from monitoring.histograms.running import RUN_START_SLACK, RunningHistogram

ZPRIME = by_name("zprime_recoil_mass")


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def flat_run(running: RunningHistogram, rng: np.random.Generator, run: int, n: int, first: int = 1) -> None:
    running.fill(samples.muon_pair_events(rng.uniform(1.0, 9.0, n), n, rng, run=run, first_event=first))


def test_belle2_status_numbers_and_normalisations() -> None:
    # basf2 DQMHistAnalysis.h: c_StatusTooFew 0, Default 1, Good 2, Warning 3, Error 4
    order = (Status.TOO_FEW, Status.NO_REFERENCE, Status.GOOD, Status.WARNING, Status.ERROR)
    assert [s.epics for s in order] == [0, 1, 2, 3, 4]
    ref = np.array([0.0, 10.0, 30.0, 20.0])
    data = np.array([1.0, 2.0, 6.0, 1.0])
    np.testing.assert_allclose(scale_reference(ref, data, Normalisation.ENTRIES), ref * 10 / 60)
    np.testing.assert_allclose(scale_reference(ref, data, Normalisation.MAXIMUM), ref * 6 / 30)
    np.testing.assert_allclose(scale_reference(ref, data, Normalisation.NONE), ref)
    np.testing.assert_allclose(
        scale_reference(ref, np.zeros(4), Normalisation.ENTRIES), ref
    )  # nothing to scale to


def test_every_standard_histogram_has_its_own_check() -> None:
    table = {
        d.name: (d.check.method, d.check.warning, d.check.error, d.check.min_entries, d.normalisation.value)
        for d in STANDARD
    }
    assert table == {
        "zprime_recoil_mass": ("ks", 0.05, 0.001, 50, "entries"),
        "dark_higgs_plane": ("chi2", 0.01, 0.0001, 200, "entries"),
        "recoil_mass2_theta": ("chi2", 0.01, 0.0001, 200, "entries"),
        "single_photon_energy": ("ks", 0.05, 0.001, 50, "maximum"),
    }
    assert RunningHistogram(ZPRIME).check_config.method == "ks"
    plane = by_name("dark_higgs_plane")
    with pytest.raises(ValueError, match="Kolmogorov test needs a 1D histogram"):
        HistogramDefinition(plane.name, plane.title, plane.selection, plane.observable, plane.axes,
                            check=CheckConfig("ks"))  # fmt: skip


def test_the_previous_complete_run_becomes_the_reference() -> None:
    rng = np.random.default_rng(5)
    running = RunningHistogram(ZPRIME)
    flat_run(running, rng, run=1, n=3000)
    run1 = running.snapshot().run_counts
    assert running.snapshot().check.status is Status.NO_REFERENCE
    flat_run(running, rng, run=2, n=20)  # run 1 ended: it is run 2's reference
    snap = running.snapshot()
    assert snap.reference_source == "exp 0 run 1 (previous)"
    assert snap.reference is not None
    np.testing.assert_array_equal(snap.reference, run1)
    assert snap.check.status is Status.TOO_FEW  # < 50 entries
    flat_run(running, rng, run=2, n=2000, first=21)
    assert running.snapshot().check.status is Status.GOOD
    # a peak where run 2 had none: error against run 2
    flat_run(running, rng, run=3, n=1500)
    running.fill(samples.muon_pair_events(np.full(400, 6.0), 400, rng, run=3, first_event=1501))
    snap = running.snapshot()
    assert (snap.reference_source, snap.check.status) == ("exp 0 run 2 (previous)", Status.ERROR)


def test_a_partial_or_thin_run_never_becomes_the_reference() -> None:
    rng = np.random.default_rng(6)
    running = RunningHistogram(ZPRIME)
    flat_run(running, rng, run=1, n=3000, first=RUN_START_SLACK + 5)  # joined late
    flat_run(running, rng, run=2, n=30)  # too few entries (30 < 50) to judge by
    assert running.snapshot().reference is None
    flat_run(running, rng, run=3, n=100)
    assert running.snapshot().reference is None  # run 2 was thin: still nothing
    flat_run(running, rng, run=4, n=10)
    assert running.snapshot().reference_source == "exp 0 run 3 (previous)"  # the last good one


def test_a_pinned_reference_survives_run_changes_until_handed_back() -> None:
    rng = np.random.default_rng(7)
    running = RunningHistogram(ZPRIME)
    chosen = np.ones(ZPRIME.axes[0].bins)
    running.set_reference(chosen, "file ref.root")
    flat_run(running, rng, run=1, n=500)
    run1 = running.snapshot().run_counts
    flat_run(running, rng, run=2, n=10)
    assert running.snapshot().reference_source == "file ref.root"
    running.follow_previous_run()  # back to the automatic choice: run 1, already ended
    assert running.snapshot().reference_source == "exp 0 run 1 (previous)"
    np.testing.assert_array_equal(running.snapshot().reference, run1)


def test_delta_over_the_last_minutes() -> None:
    rng = np.random.default_rng(8)
    clock = Clock()
    running = RunningHistogram(ZPRIME, clock=clock)
    entered = []  # entries of each batch, one batch every 30 s for 12 minutes
    for k in range(24):
        before = int(running.snapshot().run_counts.sum())
        flat_run(running, rng, run=1, n=50, first=1 + 50 * k)
        entered.append(int(running.snapshot().run_counts.sum()) - before)
        clock.t += 30.0
    clock.t -= 30.0  # "now" is the time of the last batch
    total = int(running.snapshot().run_counts.sum())
    assert int(running.delta(60).sum()) == sum(entered[-2:])  # the last minute: 2 batches
    assert int(running.delta(300).sum()) == sum(entered[-10:])
    assert int(running.delta(1800).sum()) == total
    clock.t += 3600.0  # an hour without events: nothing is recent
    assert int(running.delta(600).sum()) == 0
    with pytest.raises(ValueError, match="at most 1800 s"):
        running.delta(3600)
    flat_run(running, rng, run=2, n=40)  # a new run starts the delta afresh
    np.testing.assert_array_equal(running.delta(60), running.snapshot().run_counts)


def test_delta_memory_is_bounded_by_its_slots() -> None:
    clock = Clock()
    running = RunningHistogram(ZPRIME, clock=clock, delta_slot_s=10, delta_span_s=60)
    rng = np.random.default_rng(9)
    for k in range(40):
        flat_run(running, rng, run=1, n=5, first=1 + 5 * k)
        clock.t += 10.0
    assert len(running.delta_slots.slots) == 6


def test_references_from_our_own_export(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    hists = [RunningHistogram(d) for d in STANDARD]
    batch = samples.muon_pair_events(rng.uniform(1, 9, 3000), 3000, rng, run=4, first_event=1)
    for h in hists:
        h.fill(batch)
    path = tmp_path / "run4.root"
    write_running(path, hists)
    refs = load_references(path, STANDARD)
    np.testing.assert_array_equal(refs.counts["zprime_recoil_mass"], hists[0].snapshot().run_counts)
    np.testing.assert_array_equal(refs.counts["dark_higgs_plane"], hists[1].snapshot().run_counts)
    assert refs.notes == [f"{path}: single_photon_energy is empty"]  # no photon in a muon-pair run
    assert refs.label == "file run4.root"


def test_a_basf2_style_reference_file_and_a_mismatching_one(tmp_path: Path) -> None:
    axis = ZPRIME.axes[0]
    counts = np.arange(axis.bins, dtype=float) + 1
    path = tmp_path / "dqm_ref.root"
    with uproot.recreate(path) as f:
        f["ref/PHYS/default/zprime_recoil_mass"] = to_hist(counts, ZPRIME.axes)
        f["ref/PHYS/default/single_photon_energy"] = to_hist(np.ones(50), (ZPRIME.axes[0].__class__(
            "photon_cms_energy", 50, 0.0, 7.0),))  # fmt: skip
    refs = load_references(path, [ZPRIME, by_name("single_photon_energy")])
    np.testing.assert_array_equal(refs.counts["zprime_recoil_mass"], counts)
    assert refs.notes == [f"{path}: ref/PHYS/default/single_photon_energy has (50,) bins, expected (140,)"]
    with pytest.raises(ReferenceFileError) as only_bad:
        load_references(path, [by_name("single_photon_energy")])
    assert str(only_bad.value).startswith(f"{path}: no usable reference (")


@pytest.mark.parametrize("content", [b"", b"not a ROOT file at all\n" * 40])
def test_a_damaged_reference_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "damaged.root"
    path.write_bytes(content)
    with pytest.raises(ReferenceFileError) as err:
        load_references(path, STANDARD)
    text = str(err.value)
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    with pytest.raises(ReferenceFileError, match="no such reference file"):
        load_references(tmp_path / "missing.root", STANDARD)


def test_statuses_as_the_alarms_and_the_shift_report_see_them() -> None:
    rng = np.random.default_rng(11)
    running = RunningHistogram(ZPRIME)
    flat_run(running, rng, run=1, n=2000)
    flat_run(running, rng, run=2, n=400)
    readings = dqm_statuses([running.snapshot()])
    reading = readings["DQM:zprime_recoil_mass"]
    assert reading.value == Status.GOOD.epics
    assert reading.detail.startswith("good, ks p = ")
    assert "reference exp 0 run 1 (previous)" in reading.detail
