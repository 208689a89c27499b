"""Recoil-mass histograms: kernels, backends bin by bin, selections, running mode, checks, export."""

from __future__ import annotations

import math

import numpy as np
import pytest
import uproot

from events import kinematics
from events.model import Collection, EventBatch
from monitoring.histograms import numpy_kernels, samples
from monitoring.histograms.axes import Axis
from monitoring.histograms.backends import (
    BackendUnavailable,
    CupyBackend,
    NumbaBackend,
    NumpyBackend,
    available_backends,
    default_backend,
    get_backend,
)
from monitoring.histograms.compare import CheckConfig, Status, check
from monitoring.histograms.definitions import RECOIL_MASS_AXIS, STANDARD, HistogramDefinition, by_name
from monitoring.histograms.export import read_counts, write_running
from monitoring.histograms.observables import BEAM, OBSERVABLES, Beam, Observable
from monitoring.histograms.running import RunningHistogram
from monitoring.histograms.selections import (
    Z_PRIME_INVISIBLE,
    MuonPairSelection,
    SinglePhotonSelection,
    muon_probability,
)

RNG_SEED = 20240611


@pytest.fixture(scope="module")
def pair_inputs() -> list[np.ndarray]:
    """A spread of muon pairs: known-mass events plus smeared momenta, float32 as stored."""
    rng = np.random.default_rng(RNG_SEED)
    p1, p2 = samples.muon_pair_momenta(rng.uniform(0.3, 9.5, 60_000), 60_000, rng)
    p = np.concatenate([p1, p2], axis=1) * rng.normal(1.0, 0.02, (60_000, 6))
    return [np.ascontiguousarray(c, dtype=np.float32) for c in p.T]


def test_beam_is_the_superkekb_crossing_angle_beam() -> None:
    np.testing.assert_allclose(
        [BEAM.energy, BEAM.px, BEAM.py, BEAM.pz], [11.006, 0.4566, 0, 2.9994], atol=2e-4
    )
    assert BEAM.sqrt_s == pytest.approx(kinematics.sqrt_s())


def test_recoil_kernel_matches_the_shared_kinematics(pair_inputs: list[np.ndarray]) -> None:
    p = [c.astype(np.float64) for c in pair_inputs]
    p4 = kinematics.four_vector(np.stack(p[:3], -1), kinematics.MASS[13]) + kinematics.four_vector(
        np.stack(p[3:], -1), kinematics.MASS[13]
    )
    (m2,) = OBSERVABLES["recoil_mass2"](*p)
    np.testing.assert_allclose(m2, kinematics.recoil_mass_squared(p4), rtol=1e-9, atol=1e-9)
    # physics.md §2: M^2_rec = s + m^2 - 2 sqrt(s) E*
    s = BEAM.sqrt_s**2
    np.testing.assert_allclose(
        m2,
        s + kinematics.mass_squared(p4) - 2 * BEAM.sqrt_s * kinematics.cms_energy(p4),
        rtol=1e-9,
        atol=1e-8,
    )


@pytest.mark.parametrize("name", sorted(OBSERVABLES))
def test_backends_agree_bin_by_bin(name: str, pair_inputs: list[np.ndarray]) -> None:
    obs = OBSERVABLES[name]
    definition = next(d for d in STANDARD if d.observable == name) if name != "recoil_mass2" else None
    axes = definition.axes if definition else (Axis("m2", 150, -10.0, 110.0),)
    if obs.inputs == samples_photon_inputs():
        batch = samples.single_photon_events(3.0, 1, np.random.default_rng(0))
        rng = np.random.default_rng(RNG_SEED)
        inputs = [
            rng.uniform(0.05, 6.5, 50_000),
            rng.uniform(0.2, 2.9, 50_000),
            rng.uniform(-np.pi, np.pi, 50_000),
        ]
        assert len(batch) == 1
    else:
        inputs = pair_inputs
    reference = NumpyBackend(chunk_size=7_000).histogram(name, inputs, axes)
    assert reference.shape == tuple(a.bins for a in axes)
    assert reference.sum() > 0.5 * len(inputs[0])  # most entries in range: a meaningful comparison
    for backend in (
        NumpyBackend(chunk_size=1 << 20),
        NumbaBackend(),
        NumbaBackend(threads=1),
        CupyBackend(xp=np),
    ):
        np.testing.assert_array_equal(backend.histogram(name, inputs, axes), reference, err_msg=backend.name)


@pytest.mark.parametrize("name", sorted(OBSERVABLES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beam", [BEAM, Beam(11.0, 0.45, 0.12, 3.0)], ids=["superkekb", "tilted"])
def test_numpy_chunk_kernels_are_the_shared_kernels_bit_for_bit(
    name: str, dtype: type, beam: Beam, pair_inputs: list[np.ndarray]
) -> None:
    """The buffer-reusing kernels give every value of ``observables`` exactly, on chunks shorter
    than the scratch and on a scratch that held another chunk before (NaN input stays NaN)."""
    obs = OBSERVABLES[name]
    rng = np.random.default_rng(RNG_SEED)
    if obs.inputs == samples_photon_inputs():
        columns = [rng.uniform(0.05, 6.5, 9000), rng.uniform(0.2, 2.9, 9000), rng.uniform(-3.1, 3.1, 9000)]
    else:
        columns = [c[:9000].copy() for c in pair_inputs]
    columns = [c.astype(dtype) for c in columns]
    columns[0][17] = np.nan
    expected = obs(*(c.astype(np.float64) for c in columns), beam=beam)
    scratch = numpy_kernels.Scratch(5000)
    for start, stop in ((0, 5000), (5000, 9000), (0, 5000)):
        got = numpy_kernels.chunk(name, [c[start:stop] for c in columns], beam, scratch)
        assert len(got) == obs.dims
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g, e[start:stop])
    assert np.isnan(got[0][17])
    with pytest.raises(ValueError, match="exceeds the scratch size"):
        scratch.views(5001)


def test_numpy_backend_runs_custom_observables_through_their_kernel(pair_inputs: list[np.ndarray]) -> None:
    """An observable outside the standard set (same name, other kernel) is not swapped for ours."""
    doubled = Observable("recoil_mass2", OBSERVABLES["recoil_mass2"].inputs, 1, lambda xp, b, *p: (2 * p[0],))
    axis = Axis("x", 50, 0.0, 10.0)
    p1x = pair_inputs[0].astype(np.float64)
    counts = NumpyBackend(chunk_size=4000).histogram(doubled, pair_inputs, (axis,))
    np.testing.assert_array_equal(
        counts, np.bincount(axis.index(2 * p1x)[axis.index(2 * p1x) >= 0], minlength=50)
    )
    with pytest.raises(ValueError, match="chunk_size"):
        NumpyBackend(chunk_size=0)


def samples_photon_inputs() -> tuple[str, ...]:
    return OBSERVABLES["photon_cms_energy"].inputs


def test_bin_rule_is_half_open_and_drops_nan() -> None:
    axis = Axis("x", 4, 0.0, 4.0)
    x = np.array([0.0, 0.999, 1.0, 3.999, 4.0, -1e-9, np.nan])
    np.testing.assert_array_equal(axis.index(x), [0, 0, 1, 3, -1, -1, -1])


def test_known_recoil_mass_lands_in_its_bin() -> None:
    """mu+ mu- recoiling against 4.02 GeV (CM phase space, boosted with the SuperKEKB beams)."""
    rng = np.random.default_rng(RNG_SEED)
    batch = samples.muon_pair_events(4.02, 2000, rng)
    definition = by_name("dark_higgs_plane")
    selected = definition.select(batch)
    assert len(selected) == 2000
    mass_bin = RECOIL_MASS_AXIS.index(np.array([4.02]))[0]
    for backend in (NumpyBackend(), NumbaBackend()):
        counts = backend.histogram("recoil_mass", selected.inputs, (RECOIL_MASS_AXIS,))
        assert counts[mass_bin] == 2000
        assert RECOIL_MASS_AXIS.edges[mass_bin] <= 4.02 < RECOIL_MASS_AXIS.edges[mass_bin + 1]
    # single photon: E* = (s - M^2) / (2 sqrt s) = 4.534 GeV at M = 4 GeV (physics.md §2)
    photons = samples.single_photon_events(4.0, 500, rng)
    sel = by_name("single_photon_energy")
    (e_star,) = sel.kernel(*sel.select(photons).inputs)
    np.testing.assert_allclose(e_star, 4.534, atol=1e-3)


def _two_track_batch(
    pid_mu: list[float], charges: list[int], photon_energy: float | None = None
) -> EventBatch:
    """One event with the given tracks (muon probability set through pid_logl) and at most one photon."""
    rng = np.random.default_rng(3)
    template = samples.muon_pair_events(3.0, 1, rng)
    n = len(pid_mu)
    cols = {
        k: np.resize(template.tracks[k], (n, *template.tracks[k].shape[1:]))
        for k in ("phi0", "omega", "tan_lambda")
    }
    logl = np.zeros((n, 6), np.float32)
    logl[:, 1] = np.log(np.array(pid_mu) / (1 - np.array(pid_mu)) * 5)  # mu vs five equal others
    cols["pid_logl"] = logl
    cols["charge"] = np.array(charges, np.int8)
    cols["omega"] = np.abs(cols["omega"]) * np.sign(charges)
    tracks = Collection.from_columns("tracks", [n], cols)
    counts = [0] if photon_energy is None else [1]
    ecl_cols = (
        {}
        if photon_energy is None
        else {"energy": [photon_energy], "theta": [1.5], "phi": [0.0], "hypotheses": [16]}
    )
    ecl = Collection.from_columns("ecl", counts, ecl_cols)
    return EventBatch.build(1, {"run": [1], "event": [7]}, tracks=tracks, ecl=ecl)


def test_muon_probability_is_the_likelihood_fraction() -> None:
    logl = np.log(np.array([[1, 8, 1, 0.5, 0.25, 0.25], [1, 1, 1, 1, 1, 1]], np.float32))
    np.testing.assert_allclose(muon_probability(logl), [8 / 11, 1 / 6], rtol=1e-6)
    assert math.isnan(muon_probability(np.full((1, 6), np.nan))[0])


@pytest.mark.parametrize(
    ("pid_mu", "charges", "photon", "passes"),
    [
        ([0.9, 0.9], [1, -1], None, True),
        ([0.9, 0.9], [1, 1], None, False),  # same charge
        ([0.9, 0.3], [1, -1], None, False),  # one muon candidate only
        ([0.9, 0.9, 0.9], [1, -1, 1], None, False),  # three candidates
        ([0.9, 0.9], [1, -1], 0.05, True),  # soft photon allowed
        ([0.9, 0.9], [1, -1], 0.5, False),  # extra photon above threshold
    ],
)
def test_muon_pair_cuts(pid_mu: list[float], charges: list[int], photon: float | None, passes: bool) -> None:
    batch = _two_track_batch(pid_mu, charges, photon)
    assert len(MuonPairSelection(muon_probability_min=0.5).select(batch)) == int(passes)


def test_pair_pt_and_recoil_angle_cuts() -> None:
    rng = np.random.default_rng(RNG_SEED)
    batch = samples.muon_pair_events(5.0, 3000, rng)
    sel = Z_PRIME_INVISIBLE.select(batch)
    assert 0 < len(sel) < len(batch)
    p = sel.inputs
    assert np.all(np.hypot(p[0] + p[3], p[1] + p[4]) > Z_PRIME_INVISIBLE.pair_pt_min)
    (_, theta) = OBSERVABLES["recoil_mass2:recoil_theta"](*p)
    assert theta.min() >= 32.2
    assert theta.max() <= 128.7
    # what the cuts removed really failed one of them
    everything = MuonPairSelection().select(batch)
    rejected = np.setdiff1d(everything.rows, sel.rows)
    q = [c[np.isin(everything.rows, rejected)] for c in everything.inputs]
    (_, theta_r) = OBSERVABLES["recoil_mass2:recoil_theta"](*q)
    pt_r = np.hypot(q[0] + q[3], q[1] + q[4])
    assert np.all((pt_r <= 0.5) | (theta_r < 32.2) | (theta_r > 128.7))


def test_single_photon_selection() -> None:
    rng = np.random.default_rng(RNG_SEED)
    photons = samples.single_photon_events(2.0, 400, rng)
    theta = np.degrees(photons.ecl["theta"])
    sel = SinglePhotonSelection().select(photons)
    np.testing.assert_array_equal(sel.rows, np.flatnonzero((theta >= 32.2) & (theta <= 128.7)))
    # a second hard photon or a track removes the event
    two = EventBatch.concat([photons.slice(0, 1)])
    ecl = Collection.from_columns(
        "ecl", [2], {k: np.repeat(two.ecl[k], 2) for k in ("energy", "theta", "phi", "hypotheses")}
    )
    assert len(SinglePhotonSelection(theta_deg=None).select(EventBatch.build(1, ecl=ecl))) == 0
    tracks = samples.muon_pair_events(3.0, 1, rng).tracks
    assert (
        len(SinglePhotonSelection(theta_deg=None).select(EventBatch.build(1, ecl=two.ecl, tracks=tracks)))
        == 0
    )


def test_cupy_absence_is_reported_and_skipped() -> None:
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(BackendUnavailable, match="cupy not available"):
            get_backend("cupy")
        assert available_backends()["cupy"].startswith("cupy not available")
        assert default_backend().name == "numba"
    else:
        assert default_backend().name == "cupy"
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("root")


def test_backends_are_found_by_name_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from monitoring.histograms import backends

    assert tuple(backends.BACKEND_TABLE) == backends.BACKENDS
    for name, entry in backends.BACKEND_TABLE.items():
        module, cls = entry.factory.split(":")
        factory = getattr(importlib.import_module(module), cls)
        assert issubclass(factory, backends.Backend)
        assert factory.name == name  # the table's name is the one the backend reports
    status = available_backends()
    assert set(status) == set(backends.BACKENDS)
    assert status["numpy"] == "ok"
    with pytest.raises(ValueError, match="choose one of numpy, numba, cupy, dask"):
        get_backend("root")
    # a backend whose library is missing is named, not raised as an ImportError
    entry = backends.BackendEntry("monitoring.histograms.backends:NumpyBackend", ("no_such_library_xyz",))
    monkeypatch.setitem(backends.BACKEND_TABLE, "needy", entry)
    with pytest.raises(BackendUnavailable, match="no_such_library_xyz not available"):
        get_backend("needy")
    assert available_backends()["needy"].startswith("no_such_library_xyz not available")


def _running(window: int = 3) -> RunningHistogram:
    return RunningHistogram(by_name("dark_higgs_plane"), window_batches=window, keep_events=4)


def test_running_histogram_resets_at_run_boundaries() -> None:
    rng = np.random.default_rng(RNG_SEED)
    running = _running()
    running.fill(samples.muon_pair_events(3.0, 100, rng, run=5))
    running.fill(samples.muon_pair_events(3.0, 50, rng, run=5, first_event=100))
    assert running.snapshot().run_counts.sum() == 150
    # a batch straddling the boundary: the run-5 part closes run 5, the run-6 part starts afresh
    mixed = EventBatch.concat(
        [
            samples.muon_pair_events(3.0, 30, rng, run=5, first_event=150),
            samples.muon_pair_events(7.05, 20, rng, run=6),
        ]
    )
    running.fill(mixed)
    snap = running.snapshot()
    assert (snap.run, snap.run_counts.sum(), snap.window_counts.sum()) == (6, 20, 20)
    assert running.previous_run is not None
    assert running.previous_run.run_counts.sum() == 180
    m7 = snap.axes[1].index(np.array([7.05]))[0]
    assert snap.run_counts.sum(axis=0)[m7] == 20


def test_sliding_window_keeps_the_last_batches() -> None:
    rng = np.random.default_rng(RNG_SEED)
    running = _running(window=2)
    for k, n in enumerate((10, 20, 40, 80)):
        running.fill(samples.muon_pair_events(3.0, n, rng, run=1, first_event=1000 * k))
    snap = running.snapshot()
    assert (snap.run_counts.sum(), snap.window_counts.sum(), snap.batches) == (150, 120, 4)


def test_bin_event_links_are_bounded_and_newest_first_out() -> None:
    rng = np.random.default_rng(RNG_SEED)
    running = _running()
    for k in range(3):
        running.fill(samples.muon_pair_events(4.02, 7, rng, pair_mass=2.05, run=9, first_event=100 * k))
    events = running.events_in_bin(20, 40)  # M(mu mu) 2.0-2.1, M_rec 4.0-4.1
    assert running.snapshot().run_counts[20, 40] == 21
    assert len(events) == 4  # keep_events
    np.testing.assert_array_equal(events["event"], [203, 204, 205, 206])
    np.testing.assert_array_equal(events["batch"], [2, 2, 2, 2])
    np.testing.assert_array_equal(events["row"], [3, 4, 5, 6])
    assert set(events["run"]) == {9}
    assert len(running.events_in_bin(0, 0)) == 0
    with pytest.raises(IndexError):
        running.events_in_bin(104, 0)


def test_chi2_and_ks_flag_a_distorted_histogram() -> None:
    rng = np.random.default_rng(RNG_SEED)
    edges = np.linspace(-4, 4, 41)
    reference = np.histogram(rng.normal(0, 1, 200_000), edges)[0]
    compatible = np.histogram(rng.normal(0, 1, 5_000), edges)[0]
    shifted = np.histogram(rng.normal(0.15, 1, 5_000), edges)[0]
    for method in ("chi2", "ks"):
        config = CheckConfig(method=method)
        good = check(compatible, reference, config)
        bad = check(shifted, reference, config)
        assert good.status is Status.GOOD, (method, good)
        assert bad.status is Status.ERROR, (method, bad)
        assert bad.p_value < 1e-3 < 0.05 < good.p_value
    assert check(compatible[:3], reference[:3]).status is Status.TOO_FEW
    assert check(compatible, None).status is Status.NO_REFERENCE


def test_chi2_p_values_are_uniform_for_compatible_histograms() -> None:
    """Under the null hypothesis the p-value is flat: about 10 % fall below 0.1."""
    rng = np.random.default_rng(RNG_SEED)
    edges = np.linspace(-3, 3, 25)
    reference = np.histogram(rng.normal(size=100_000), edges)[0]
    p = [check(np.histogram(rng.normal(size=2000), edges)[0], reference).p_value for _ in range(300)]
    assert 0.05 < np.mean(np.array(p) < 0.1) < 0.16


def test_running_reference_status() -> None:
    rng = np.random.default_rng(RNG_SEED)
    definition = HistogramDefinition("zprime", "Z'", MuonPairSelection(), "recoil_mass", (RECOIL_MASS_AXIS,))
    masses = rng.uniform(1.0, 9.0, 40_000)
    ref_hist = RunningHistogram(definition)
    ref_hist.fill(samples.muon_pair_events(masses, 40_000, rng))
    reference = ref_hist.snapshot().run_counts
    same = RunningHistogram(definition, reference=reference)
    same.fill(samples.muon_pair_events(rng.uniform(1.0, 9.0, 4000), 4000, rng))
    assert same.snapshot().check.status is Status.GOOD
    peaked = RunningHistogram(definition, reference=reference)
    peaked.fill(
        samples.muon_pair_events(
            np.where(rng.random(4000) < 0.1, 6.0, rng.uniform(1.0, 9.0, 4000)), 4000, rng
        )
    )
    assert peaked.snapshot().check.status is Status.ERROR


def test_root_export_reads_back_identically(tmp_path) -> None:
    rng = np.random.default_rng(RNG_SEED)
    hists = [RunningHistogram(d, keep_events=3) for d in STANDARD]
    hists[0].set_reference(np.ones(RECOIL_MASS_AXIS.bins))
    for k in range(3):
        batch = EventBatch.concat(
            [
                samples.muon_pair_events(rng.uniform(1, 9, 500), 500, rng, run=2, first_event=1000 * k),
                samples.single_photon_events(3.0, 300, rng, run=2, first_event=1000 * k + 500),
            ]
        )
        for h in hists:
            h.fill(batch)
    path = tmp_path / "recoil.root"
    write_running(path, hists)
    with uproot.open(path) as f:
        assert f.classnames()["zprime_recoil_mass;1"] == "TH1D"
        assert f.classnames()["dark_higgs_plane;1"] == "TH2D"
        h2 = f["dark_higgs_plane"]
        np.testing.assert_allclose(h2.axis(0).edges(), STANDARD[1].axes[0].edges)
        assert h2.member("fXaxis").member("fTitle") == "M(mu mu) [GeV]"
        events = f["dark_higgs_plane_events"].arrays(library="np")
    for h in hists:
        snap = h.snapshot()
        assert snap.run_counts.sum() > 0
        np.testing.assert_array_equal(read_counts(path, snap.name), snap.run_counts)
        np.testing.assert_array_equal(read_counts(path, f"{snap.name}_window"), snap.window_counts)
    np.testing.assert_array_equal(read_counts(path, "zprime_recoil_mass_reference"), np.ones(212))
    # the event lists point back to events that are in those bins
    running = hists[1]
    i, j = events["bin_pair_mass"][0], events["bin_recoil_mass"][0]
    linked = running.events_in_bin(int(i), int(j))
    assert events["event"][0] in linked["event"]
    assert len(events["event"]) == np.minimum(running.snapshot().run_counts, 3).sum()
    with pytest.raises(KeyError, match="no histogram"):
        read_counts(path, "nonexistent")


@pytest.mark.parametrize(
    "backend", [NumpyBackend(), NumbaBackend(), CupyBackend(xp=np)], ids=lambda b: b.name
)
def test_backends_take_empty_inputs_and_reject_mismatched_ones(backend) -> None:
    empty = [np.zeros(0, np.float32)] * 6
    assert backend.histogram("recoil_mass", empty, (RECOIL_MASS_AXIS,)).sum() == 0
    with pytest.raises(ValueError, match="differ in length"):
        backend.histogram("recoil_mass", [np.zeros(3)] * 5 + [np.zeros(4)], (RECOIL_MASS_AXIS,))
    with pytest.raises(ValueError, match="2-D histograms"):
        backend.histogram("pair_mass:recoil_mass", empty, (RECOIL_MASS_AXIS,))


def test_a_snapshot_is_made_once_per_change_and_reflects_every_fill() -> None:
    definition = STANDARD[0]
    running = RunningHistogram(definition)
    first = running.snapshot()
    assert running.snapshot() is first  # nothing changed: the same snapshot, the check not rerun
    running.fill(EventBatch.empty())
    second = running.snapshot()
    assert second is not first
    assert second.batches == 1
    running.set_reference(np.ones(second.run_counts.shape))
    third = running.snapshot()
    assert third is not second
    assert third.reference is not None
    running.reset()
    assert running.snapshot() is not third
