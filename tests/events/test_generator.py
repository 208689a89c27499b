"""The generator against the physics it claims: recoil peaks, photon energies, shares, vertices."""

from __future__ import annotations

import re

import numpy as np
import pytest

from events import helix, kinematics
from events.generator import GeneratorError, SignalSpecError, generate, parse_signal, stream, stream_model
from events.generator import processes as proc
from events.generator.beams import BETA_CM, SQRT_S
from events.model import EventBatch, VertexKind
from events.vertexing import closest_approach
from geometry import ecl

M_MU = kinematics.MASS[13]


def track_p4(batch: EventBatch, mass: float) -> np.ndarray:
    t = batch.tracks
    p3 = helix.momentum(t["phi0"], t["omega"], t["tan_lambda"], 1.5)
    return kinematics.four_vector(p3, mass)


def two_track_events(batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
    """Events with exactly two opposite-charge tracks, and the sum of their (muon-mass) four-vectors."""
    t = batch.tracks
    two = np.flatnonzero(t.counts == 2)
    first = t.offsets[two]
    opposite = t["charge"][first] != t["charge"][first + 1]
    two, first = two[opposite], first[opposite]
    p4 = track_p4(batch, M_MU)
    return two, p4[first] + p4[first + 1]


def robust_sigma(x: np.ndarray) -> float:
    q1, q3 = np.quantile(x, [0.25, 0.75])
    return float((q3 - q1) / 1.349)


def peak(x: np.ndarray, lo: float, hi: float, bins: int = 200) -> float:
    h, edges = np.histogram(x, bins=bins, range=(lo, hi))
    k = int(np.argmax(h))
    return float(0.5 * (edges[k] + edges[k + 1]))


@pytest.fixture(scope="module")
def mixed() -> EventBatch:
    return generate(6000, seed=11, chunk_size=3000)


def test_zprime_recoil_mass_peaks_at_the_injected_mass() -> None:
    mass = 3.0
    batch = generate(3000, seed=1, signals=[parse_signal(f"zprime:mass={mass},fraction=1")], processes=[])
    assert (batch.header["signal"] == proc.SIGNAL_BY_NAME["zprime"].code).all()
    assert (batch.header["process"] == proc.SIGNAL_PROCESS).all()
    np.testing.assert_allclose(batch.header["signal_mass"], mass)
    _, pair = two_track_events(batch)
    m_rec = np.sqrt(np.clip(kinematics.recoil_mass_squared(pair), 0, None))
    near = m_rec[np.abs(m_rec - mass) < 0.5]
    assert len(near) > 0.5 * len(m_rec) > 500
    # physics.md §1 toy: ~74 MeV at 2 GeV, 34 MeV at 4 GeV
    assert abs(np.median(near) - mass) < 0.02
    assert 0.005 < robust_sigma(near) < 0.08


def test_darkphoton_photon_energy_is_monochromatic_in_the_cms() -> None:
    mass = 4.0
    batch = generate(1500, seed=2, signals=[parse_signal(f"darkphoton:mass={mass},fraction=1")], processes=[])
    e = batch.ecl
    ev = e.event_index()
    best = np.full(len(batch), -1)
    order = np.lexsort((e["energy"], ev))
    best[ev[order]] = order  # the highest-energy cluster of each event (last one written wins)
    has = best >= 0
    c = best[has]
    sin_t = np.sin(e["theta"][c])
    p4 = e["energy"][c][:, None] * np.stack(
        [
            np.ones_like(sin_t),
            sin_t * np.cos(e["phi"][c]),
            sin_t * np.sin(e["phi"][c]),
            np.cos(e["theta"][c]),
        ],
        1,
    )
    e_star = kinematics.cms_energy(p4)
    expected = (SQRT_S**2 - mass**2) / (2 * SQRT_S)
    assert expected == pytest.approx(4.534, abs=2e-3)
    assert has.mean() > 0.8
    assert np.median(e_star) == pytest.approx(expected, rel=0.005)
    # CsI resolution ≈ 1.5 % at 4.5 GeV plus the 0.05 % beam spread
    assert 0.008 < robust_sigma(e_star) / expected < 0.03


def test_darkhiggs_gives_the_two_dimensional_peak() -> None:
    ma, mh = 6.0, 2.0
    batch = generate(
        2000, seed=3, signals=[parse_signal(f"darkhiggs:ma={ma},mh={mh},fraction=1")], processes=[]
    )
    _, pair = two_track_events(batch)
    m_mumu = kinematics.mass(pair)
    m_rec = np.sqrt(np.clip(kinematics.recoil_mass_squared(pair), 0, None))
    assert peak(m_mumu, ma - 0.5, ma + 0.5) == pytest.approx(ma, abs=0.03)
    assert peak(m_rec, mh - 1.0, mh + 1.0, bins=100) == pytest.approx(mh, abs=0.1)


def test_alp_photons_reconstruct_the_alp_mass() -> None:
    m_a = 3.0
    batch = generate(1000, seed=4, signals=[parse_signal(f"alp:mass={m_a},fraction=1")], processes=[])
    mc = batch.mc
    daughters = np.flatnonzero(mc["mother"] >= 0)
    assert (mc["pdg"][daughters] == 22).all()
    p4 = np.stack([mc["energy"], mc["px"], mc["py"], mc["pz"]], 1)[daughters].astype(np.float64)
    ev = mc.event_index()[daughters]
    total = np.stack([np.bincount(ev, p4[:, k], minlength=len(batch)) for k in range(4)], 1)
    np.testing.assert_allclose(kinematics.mass(total), m_a, atol=1e-3)


def test_process_shares_match_the_configured_composition() -> None:
    n = 20000
    codes, shares = stream_model.stream_shares()
    counts = np.zeros(len(codes))
    for batch in stream(seed=5, chunk_size=5000, n_events=n):
        counts += np.array([(batch.header["process"] == c).sum() for c in codes])
    assert counts.sum() == n
    expected = n * shares
    pulls = (counts - expected) / np.sqrt(expected * (1 - shares))
    assert np.abs(pulls).max() < 4.5, dict(
        zip([proc.process_name(int(c)) for c in codes], pulls, strict=True)
    )
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 42.0  # 12 degrees of freedom: p ≈ 4e-5
    # two-photon is 62 % of the stream (physics.md §3): 52 % lepton pairs, 10 % hadrons
    two_photon = shares[np.isin(codes, [1, 2, 14])].sum()
    assert two_photon == pytest.approx(0.627, abs=0.003)
    assert shares[np.isin(codes, [1, 2])].sum() == pytest.approx(0.523, abs=0.003)


def test_the_stream_is_drawn_at_the_rate_models_shares_and_rate() -> None:
    """The stream's shares and its rate are the monitoring panels' rate model (docs/physics.md §3, §6):
    the same emulated events, so the same numbers; the stream's composition is the model's within its
    statistical error; and its events are spaced at the model's physics L1 rate at 5.1e34."""
    from monitoring.rates import load_menu

    model = load_menu().model  # 2000 events per process, seed 1: what the rates panel uses
    rates = model.rates(stream_model.LUMINOSITY)
    codes, shares = stream_model.stream_shares()
    assert [proc.process_name(int(c)) for c in codes] == list(model.processes)
    np.testing.assert_allclose(shares, rates.per_process[0] / rates.total[0], rtol=1e-12)
    assert stream_model.stream_rate_hz() == pytest.approx(float(rates.total[0]), rel=1e-12)
    eps = stream_model.acceptances()
    np.testing.assert_allclose([eps[p] for p in model.processes], model.acceptance(), rtol=1e-12)
    # the stream's events: composition within the binomial errors, ε of each process within its error
    n = 12_000
    batch = generate(n, seed=21, chunk_size=6000)
    pro = batch.header["process"]
    fired = batch.header["l1_bits"] != 0
    counts = np.array([(pro == c).sum() for c in codes])
    pulls = (counts - n * shares) / np.sqrt(n * shares * (1 - shares))
    assert np.abs(pulls).max() < 4.5, dict(zip(model.processes, pulls.round(2), strict=True))
    acc = model.acceptance()
    for k, name in enumerate(model.processes):
        if counts[k] < 100:
            continue
        mine = fired[pro == codes[k]].mean()
        # the stream draws the prescales of its own events: one draw each, plus the model's 2000 events
        err = np.sqrt(acc[k] * (1 - acc[k]) * (1 / counts[k] + 1 / model.counts[k])) + 1e-3
        assert abs(mine - acc[k]) < 4.5 * err, (name, mine, acc[k])
    gaps = np.diff(batch.header["time"].astype(np.float64)) * 1e-9
    assert 1 / gaps.mean() == pytest.approx(float(rates.total[0]), rel=4.5 / np.sqrt(n))


def test_signal_fraction_is_respected() -> None:
    batch = generate(4000, seed=6, signals=[parse_signal("zprime:mass=5,fraction=0.05")])
    is_signal = batch.header["signal"] >= 0
    assert (batch.header["process"][is_signal] == proc.SIGNAL_PROCESS).all()
    assert np.isnan(batch.header["signal_mass"][~is_signal]).all()
    assert abs(is_signal.mean() - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 4000)


def test_displaced_vertex_reconstructs_at_the_true_decay_point() -> None:
    ctau = 5.0
    spec = parse_signal(f"llp:mass=1.0,ctau={ctau},channel=mumu,fraction=1")
    batch = generate(1500, seed=7, signals=[spec], processes=[])
    v, t, mc = batch.vertices, batch.tracks, batch.mc
    disp = np.flatnonzero(v["kind"] == VertexKind.DISPLACED)
    assert len(disp) > 300
    ev = v.event_index()[disp]
    pos = t.offsets[ev] + v["track_pos"][disp]
    neg = t.offsets[ev] + v["track_neg"][disp]
    assert (t["charge"][pos] > 0).all()
    assert (t["charge"][neg] < 0).all()
    helices = [
        np.stack([t[c][rows] for c in ("d0", "phi0", "omega", "z0", "tan_lambda")], 1) for rows in (pos, neg)
    ]
    fit = closest_approach(*helices)
    vertex, dca = fit.vertex, fit.dca
    s_rows = np.flatnonzero(mc["pdg"] == proc.PDG_LLP_SCALAR)
    mc_decay = np.stack([mc["dx"][s_rows], mc["dy"][s_rows], mc["dz"][s_rows]], 1)
    by_event = dict(zip(mc.event_index()[s_rows].tolist(), range(len(s_rows)), strict=True))
    true = mc_decay[[by_event[e] for e in ev.tolist()]]  # the decay point of S in the mc truth
    stored = np.stack([v["x"][disp], v["y"][disp], v["z"][disp]], 1)
    assert np.median(np.linalg.norm(stored - true, axis=1)) < 0.05  # measured: within σ∥ 500 µm
    miss = np.linalg.norm(vertex - true, axis=1)
    assert np.median(miss) < 0.03  # cm: secondary-vertex resolution ~10 µm ⊥, ~500 µm ∥
    assert np.quantile(miss, 0.9) < 0.2
    np.testing.assert_allclose(v["dca"][disp], dca, atol=1e-4)
    assert np.median(dca) < 0.02
    rho = np.hypot(true[:, 0], true[:, 1])
    assert np.median(rho) > 1.0  # displaced: centimetres from the beam line
    # flight lengths follow Exp((p/m) c tau)
    prod = np.stack([mc["vx"][s_rows], mc["vy"][s_rows], mc["vz"][s_rows]], 1)
    p = np.linalg.norm(np.stack([mc["px"][s_rows], mc["py"][s_rows], mc["pz"][s_rows]], 1), axis=1)
    proper = np.linalg.norm(mc_decay - prod, axis=1) / (p / 1.0)
    assert np.mean(proper) == pytest.approx(ctau, rel=5 / np.sqrt(len(s_rows)))


def _chi2(residual: np.ndarray, cov6: np.ndarray) -> np.ndarray:
    """residual^T C^-1 residual for (N, 3) residuals and (N, 6) upper-triangle covariances."""
    cov = np.zeros((len(cov6), 3, 3))
    for k, (i, j) in enumerate(zip([0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2], strict=True)):
        cov[:, i, j] = cov[:, j, i] = cov6[:, k]
    return np.einsum("ni,ni->n", residual, np.linalg.solve(cov, residual[:, :, None])[:, :, 0])


def test_vertex_pulls_have_unit_width_against_the_truth() -> None:
    """Every vertex is measured, not the truth: residual / σ is standard normal, χ²/dof about 1."""
    spec = parse_signal("llp:mass=1.0,ctau=5.0,channel=mumu,fraction=0.5")
    batch = generate(3000, seed=21, signals=[spec], processes=["mumu", "ssbar", "ccbar"])
    v, mc = batch.vertices, batch.mc
    event = v.event_index()
    stored = np.stack([v["x"], v["y"], v["z"]], 1)
    # the primary vertex against the production point of the event's primary particles
    primary = np.flatnonzero(v["kind"] == VertexKind.PRIMARY)
    first = mc.offsets[event[primary]]  # the first mc particle of each event comes from the collision
    assert (mc["mother"][first] == -1).all()
    truth = np.stack([mc["vx"][first], mc["vy"][first], mc["vz"][first]], 1)
    residual = stored[primary] - truth
    sigma = np.sqrt(v["cov"][primary][:, [0, 3, 5]])
    pulls = residual / sigma
    assert np.abs(pulls.mean(axis=0)).max() < 0.1
    np.testing.assert_allclose(pulls.std(axis=0), 1.0, atol=0.06)
    # displaced and V0 vertices against the decay point of their mother
    second = np.flatnonzero(v["kind"] != VertexKind.PRIMARY)
    assert len(second) > 500
    ev = event[second]
    t = batch.tracks
    daughter = mc.offsets[ev] + t["mc_index"][t.offsets[ev] + v["track_pos"][second]]
    mother = mc.offsets[ev] + mc["mother"][daughter]
    assert (np.abs(mc["pdg"][mother]) == v["pdg"][second]).all()
    truth2 = np.stack([mc["dx"][mother], mc["dy"][mother], mc["dz"][mother]], 1)
    chi2 = _chi2(stored[second] - truth2, v["cov"][second])
    assert np.mean(chi2) / 3 == pytest.approx(1.0, abs=0.1)
    assert np.mean(chi2 > 7.81) == pytest.approx(0.05, abs=0.025)  # the 95 % point of χ²(3)


def test_mumu_events_are_back_to_back_in_the_cms() -> None:
    batch = generate(1500, seed=8, processes=["mumu"])
    _, _ = two_track_events(batch)
    t = batch.tracks
    two = np.flatnonzero(t.counts == 2)
    p4 = track_p4(batch, M_MU)
    cm1 = kinematics.to_cms(p4[t.offsets[two]])
    cm2 = kinematics.to_cms(p4[t.offsets[two] + 1])
    u1 = cm1[:, 1:] / np.linalg.norm(cm1[:, 1:], axis=1, keepdims=True)
    u2 = cm2[:, 1:] / np.linalg.norm(cm2[:, 1:], axis=1, keepdims=True)
    acollinearity = np.pi - np.arccos(np.clip(np.sum(u1 * u2, axis=1), -1, 1))
    assert np.median(acollinearity) < 0.01
    assert np.median(cm1[:, 0]) == pytest.approx(SQRT_S / 2, rel=0.01)
    # in the lab they are not back to back: the boost folds them forward
    lab_cos = np.sum(p4[t.offsets[two], 1:] * p4[t.offsets[two] + 1, 1:], axis=1) / (
        np.linalg.norm(p4[t.offsets[two], 1:], axis=1) * np.linalg.norm(p4[t.offsets[two] + 1, 1:], axis=1)
    )
    assert np.median(lab_cos) > -0.99


def test_final_state_conserves_the_beam_four_momentum(mixed: EventBatch) -> None:
    mc = mixed.mc
    final = np.ones(mc.size, dtype=bool)
    ev = mc.event_index()
    mothers = mc["mother"] >= 0
    final[(mc.offsets[ev] + mc["mother"])[mothers]] = False
    p4 = np.stack([mc["energy"], mc["px"], mc["py"], mc["pz"]], 1).astype(np.float64)
    total = np.stack([np.bincount(ev[final], p4[final, k], minlength=len(mixed)) for k in range(4)], 1)
    w = kinematics.mass(total)
    assert np.abs(w - SQRT_S).max() < 0.05  # 5 MeV beam-energy spread, float32 storage
    np.testing.assert_allclose(
        kinematics.boost_vector(total), np.broadcast_to(BETA_CM, total[:, 1:].shape), atol=2e-3
    )


def test_tracks_follow_the_truth_within_the_momentum_resolution(mixed: EventBatch) -> None:
    t, mc = mixed.tracks, mixed.mc
    rows = mc.offsets[t.event_index()] + t["mc_index"]
    pt_true = np.hypot(mc["px"][rows], mc["py"][rows])
    pt_meas = helix.transverse_momentum(t["omega"])
    assert (np.sign(t["omega"]) == t["charge"]).all()
    sel = (pt_true > 1.0) & (pt_true < 3.0)
    rel = (pt_meas[sel] - pt_true[sel]) / pt_true[sel]
    # 0.1 %·pT ⊕ 0.3 %/β at 1-3 GeV: 0.3-0.4 %
    assert 0.002 < robust_sigma(rel) < 0.006
    # charged tracks inside the CDC acceptance only, low-pT curlers kept
    theta = np.degrees(np.arctan2(1.0, t["tan_lambda"]))
    true_theta = np.degrees(np.arctan2(pt_true, mc["pz"][rows]))
    assert true_theta.min() >= 17.0 - 1e-3
    assert true_theta.max() <= 150.0 + 1e-3
    assert np.abs(theta - true_theta).max() < 1.0
    curlers = helix.max_radius(t["d0"], t["omega"]) < 110.0
    assert curlers.sum() > 0.02 * t.size
    # covariance: diagonal matches the spread of the pulls (the stored d0 error is what was used)
    d0_err = np.sqrt(t["cov"][:, 0])
    assert (d0_err > 0).all()


def test_muon_identification_efficiency_and_pion_misidentification(mixed: EventBatch) -> None:
    t, mc = mixed.tracks, mixed.mc
    rows = mc.offsets[t.event_index()] + t["mc_index"]
    p = np.linalg.norm(np.stack([mc["px"], mc["py"], mc["pz"]], 1)[rows], axis=1)
    like = np.exp(t["pid_logl"].astype(np.float64))
    muon_id = like[:, 1] / like.sum(axis=1)
    barrel = np.abs(t["tan_lambda"]) < 0.8
    mu = (np.abs(mc["pdg"][rows]) == 13) & (p > 1.0) & barrel
    pi = (np.abs(mc["pdg"][rows]) == 211) & (p > 1.0) & barrel
    assert mu.sum() > 200
    assert pi.sum() > 200
    eff = (muon_id[mu] > 0.9).mean()
    fake = (muon_id[pi] > 0.9).mean()
    assert 0.85 < eff < 0.97
    assert fake < 0.05


def test_ecl_clusters_sit_at_real_crystal_centres(mixed: EventBatch) -> None:
    e = mixed.ecl
    assert (e["cell_id"] > 0).all()
    centres = ecl.crystal_centres()[e["cell_id"] - 1]
    pos = e["r"][:, None] * np.stack(
        [np.sin(e["theta"]) * np.cos(e["phi"]), np.sin(e["theta"]) * np.sin(e["phi"]), np.cos(e["theta"])], 1
    )
    np.testing.assert_allclose(pos, centres, atol=0.05)
    np.testing.assert_array_equal(ecl.cell_at(e["theta"], e["phi"]), e["cell_id"])
    # every cluster of an event is in its own crystal
    key = e.event_index() * 10000 + e["cell_id"]
    assert len(np.unique(key)) == len(key)


def test_muons_reach_the_klm(mixed: EventBatch) -> None:
    mumu = np.flatnonzero(mixed.header["process"] == proc.BY_NAME["mumu"].code)
    assert mixed.klm.counts[mumu].mean() > 1.2
    k = mixed.klm
    r = np.hypot(k["x"], k["y"])
    assert (r > 129.0).all()
    assert (r < 335.0).all()
    t = mixed.tracks
    has = t["klm_index"] >= 0
    mc_rows = mixed.mc.offsets[t.event_index()[has]] + t["mc_index"][has]
    assert (np.abs(mixed.mc["pdg"][mc_rows]) == 13).mean() > 0.6


def test_same_seed_same_batches_and_bounded_chunks() -> None:
    a = generate(700, seed=9, chunk_size=300)
    b = generate(700, seed=9, chunk_size=300)
    for name, col in a.collections().items():
        for key, values in col.columns.items():
            np.testing.assert_array_equal(values, b.collections()[name].columns[key], err_msg=f"{name}.{key}")
    for key in a.header:
        np.testing.assert_array_equal(a.header[key], b.header[key])
    c = generate(700, seed=10, chunk_size=300)
    assert not np.array_equal(a.header["process"], c.header["process"])
    sizes = [len(x) for x in stream(seed=9, chunk_size=300, n_events=700)]
    assert sizes == [300, 300, 100]
    np.testing.assert_array_equal(a.header["event"], np.arange(1, 701))
    assert (np.diff(a.header["time"].astype(np.int64)) > 0).all()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("zprime", "needs mass"),
        ("zprime:mass=abc", "not a number"),
        ("zprime:mass=11", "mass must be in"),
        ("axion:mass=1", "unknown kind"),
        ("alp:mass=1,fraction=2", "fraction must be in"),
        ("darkhiggs:ma=6,mh=5", "ma + mh"),
        ("llp:mass=1,channel=ee", "channel must be"),
        ("llp:mass=1,ctau=-1", "ctau must be positive"),
        ("zprime:mass=1,width=2", "not 'width'"),
        ("zprime:mass", "expected key=value"),
    ],
)
def test_bad_signal_specs_are_reported(spec: str, message: str) -> None:
    with pytest.raises(SignalSpecError, match=re.escape(message)) as err:
        parse_signal(spec)
    assert spec in str(err.value)


def test_signal_specs_parse_and_round_trip() -> None:
    s = parse_signal("darkhiggs:ma=6,mh=2,fraction=0.02")
    assert (s.kind, s.mass, s.mass2, s.fraction) == ("darkhiggs", 6.0, 2.0, 0.02)
    assert parse_signal(str(s)) == s
    llp = parse_signal("llp:mass=1.0,ctau=5")
    assert (llp.ctau, llp.channel, llp.fraction) == (5.0, "mumu", 0.01)
    with pytest.raises(GeneratorError, match="add up"):
        generate(10, signals=[parse_signal("alp:mass=1,fraction=0.7")] * 2)
    with pytest.raises(GeneratorError, match="unknown process"):
        generate(10, processes=["higgs"])


def test_isr_photon_spectrum_follows_the_radiator_function() -> None:
    """P(x > x0) of μμ events from the Kuraev-Fadin radiator times the Born ratio 1/(1 − x) (physics.md §5.1),
    with β = (2α/π)(ln(s/m²) - 1) ≈ 0.088; tests/events/test_generator_twophoton.py compares the shape."""
    from scipy import integrate

    from events.generator import GeneratorConfig
    from events.generator.beams import BETA_ISR, born_ratio, kf_radiator

    assert pytest.approx(0.088, abs=0.001) == BETA_ISR
    batch = generate(4000, seed=12, processes=["mumu"])
    mc = batch.mc
    isr = (mc["pdg"] == 22) & (mc["mother"] < 0)
    assert (np.bincount(mc.event_index()[isr], minlength=len(batch)) <= 1).all()
    p4 = np.stack([mc["energy"], mc["px"], mc["py"], mc["pz"]], 1)[isr].astype(np.float64)
    x = 2 * kinematics.cms_energy(p4) / SQRT_S
    x0, x_max = 0.1, 1 - (1.0 / SQRT_S) ** 2
    dens = lambda t: float(kf_radiator(np.exp(t)) * born_ratio(np.exp(t), 0.10566)) * np.exp(t)  # noqa: E731
    total = integrate.quad(dens, -200, np.log(x_max))[0]
    expected = integrate.quad(dens, np.log(x0), np.log(x_max))[0] / total
    observed = (x > x0).sum() / len(batch)
    assert observed == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / len(batch)))
    quiet = generate(500, seed=12, processes=["mumu"], config=GeneratorConfig(isr=False))
    assert not ((quiet.mc["pdg"] == 22) & (quiet.mc["mother"] < 0)).any()


def test_beam_background_is_off_by_default_and_adds_soft_unmatched_objects() -> None:
    from events.generator import GeneratorConfig

    clean = generate(500, seed=13, processes=["mumu"])
    noisy = generate(500, seed=13, processes=["mumu"], config=GeneratorConfig(beam_background=True))
    assert (clean.ecl["mc_index"] >= 0).all()
    extra = noisy.ecl["mc_index"] < 0
    assert extra.sum() > 4 * 500 * 0.5
    assert np.median(noisy.ecl["energy"][extra]) < 0.1
    assert (noisy.ecl["cell_id"][extra] > 0).all()
    assert (noisy.tracks["mc_index"] < 0).sum() > 100
    # the physics objects are untouched: every track still points at its own cluster
    t = noisy.tracks
    matched = t["ecl_index"] >= 0
    rows = noisy.ecl.offsets[t.event_index()[matched]] + t["ecl_index"][matched]
    assert (noisy.ecl["mc_index"][rows] == t["mc_index"][matched]).all()


def cms_thrust(batch: EventBatch) -> np.ndarray:
    """Thrust of the visible final state in the CM, maximised over the particle directions as axes."""
    mc = batch.mc
    ev = mc.event_index()
    final = np.ones(mc.size, dtype=bool)
    has_mother = mc["mother"] >= 0
    final[(mc.offsets[ev] + mc["mother"])[has_mother]] = False
    visible = final & ~np.isin(np.abs(mc["pdg"]), (12, 14, 16))
    p = kinematics.to_cms(np.stack([mc["energy"], mc["px"], mc["py"], mc["pz"]], 1).astype(np.float64))[:, 1:]
    out = np.empty(len(batch))
    for i in range(len(batch)):
        q = p[mc.rows(i)][visible[mc.rows(i)]]
        axes = q / np.linalg.norm(q, axis=1, keepdims=True)
        out[i] = (np.abs(q @ axes.T).sum(axis=0) / np.linalg.norm(q, axis=1).sum()).max()
    return out


def test_continuum_is_jet_like_and_bbbar_spherical() -> None:
    qq = cms_thrust(generate(300, seed=14, processes=["uubar", "ccbar"]))
    bb = cms_thrust(generate(300, seed=14, processes=["bbbar_charged", "bbbar_mixed"]))
    assert qq.mean() > 0.78
    assert bb.mean() < 0.74
    assert qq.mean() - bb.mean() > 0.08


def test_k_short_decays_with_the_pdg_fractions_and_its_neutral_pions_to_photons() -> None:
    from events.generator.physics import KS_TO_PI0_PI0, KS_TO_PI_PI

    mc = generate(3000, seed=23, processes=["ssbar", "ccbar"]).mc
    rows = mc.offsets[mc.event_index()] + mc["mother"]  # each particle's mother, as a global row
    has_mother = mc["mother"] >= 0
    from_ks = has_mother & (mc["pdg"][np.where(has_mother, rows, 0)] == 310)
    ks_rows = np.unique(rows[from_ks])
    assert len(ks_rows) > 1000
    daughters = {int(k): sorted(mc["pdg"][from_ks & (rows == k)].tolist()) for k in ks_rows[:3000]}
    kinds = [tuple(d) for d in daughters.values()]
    assert set(kinds) <= {(-211, 211), (111, 111)}
    neutral = kinds.count((111, 111)) / len(kinds)
    expected = KS_TO_PI0_PI0 / (KS_TO_PI_PI + KS_TO_PI0_PI0)
    assert neutral == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / len(kinds)))
    # every π0 of a K_S decays to two photons
    pi0 = np.flatnonzero(from_ks & (mc["pdg"] == 111))
    photons = has_mother & np.isin(rows, pi0) & (mc["pdg"] == 22)
    assert np.bincount(rows[photons], minlength=len(mc["pdg"]))[pi0].tolist() == [2] * len(pi0)
