"""The 2D track finder's turn-on at its minPt and the ECL trigger's additional Bhabha veto for hie, each
against its source: basf2's CDCTrigger2DFinderModule defaults (the Hough plane) and TrgEclBhabha /
TrgEclMaster (the hie1 ... hie4 bits) (docs/physics.md §6)."""

from __future__ import annotations

import numpy as np
import pytest

from events import trigger
from events.generator import generate, parse_signal

B_T = 1.5  # the generator's solenoid field [T]


def test_the_hough_plane_ends_at_the_curvature_of_min_pt() -> None:
    # basf2: maxR = 0.5 · c · 1.5e-4 / minPt, the 1/2R of a 0.3 GeV track in 1.5 T
    radius_cm = trigger.HOUGH_MIN_PT / (0.299792458 * B_T) * 100.0
    assert trigger.hough_max_curvature() == pytest.approx(1.0 / (2.0 * radius_cm), rel=1e-9)
    assert (trigger.HOUGH_N_PHI, trigger.HOUGH_N_R, trigger.HOUGH_MIN_HITS) == (160, 34, 4)


def test_the_tabulated_turn_on_is_the_hough_emulation() -> None:
    """``HOUGH_TURN_ON`` against a fresh run of the emulation it was made from (other tracks)."""
    n = 3000
    for superlayers, points in ((5, [0.2875, 0.295, 0.3, 0.305, 0.31]), (4, [0.3, 0.305, 0.31, 0.315, 0.32])):
        measured = trigger.hough_turn_on(np.array(points), superlayers, n_tracks=n, seed=11)
        table = trigger.hough_efficiency(np.array(points), np.full(len(points), superlayers == 5))
        sigma = np.sqrt(np.maximum(table * (1 - table), 0.01) / n)
        np.testing.assert_array_less(np.abs(measured - table), 4 * sigma + 0.01, err_msg=str(superlayers))


def test_the_turn_on_is_about_one_hough_cell_wide_around_min_pt() -> None:
    """The 34 cells span ±1/2R(minPt): one cell is 1/17 of it, so a track is lost beyond the edge by
    a cell or more (pT < 0.3 · 17/18 GeV) and found inside it by a cell (pT > 0.3 · 17/16 GeV) when it
    has five axial superlayers; with four (it leaves the chamber before SL8) the peak is narrower and the
    edge sits half a cell further in. The 50 % point of five superlayers is minPt within half a cell."""
    cell = 1.0 / 17
    pt = trigger.HOUGH_TURN_ON_PT  # the tabulated points (linear in between)

    def eff(superlayers: int) -> np.ndarray:
        return trigger.hough_efficiency(pt, np.full(len(pt), superlayers == 5))

    five, four = eff(5), eff(4)
    assert (five[pt <= 0.3 / (1 + cell)] == 0).all()
    assert (five[pt >= 0.3 / (1 - cell)] == 1).all()
    half = pt[np.argmax(five >= 0.5)]
    assert 0.3 / (1 + cell / 2) < half < 0.3 / (1 - cell / 2)
    assert (four[pt <= 0.3] < 0.25).all()
    assert (four[pt >= 0.3 / (1 - 1.5 * cell)] == 1).all()
    assert (np.diff(five) >= 0).all()
    assert (np.diff(four) >= 0).all()
    # and the emulated finder has its plateau: every track above the turn-on is found, inside the plane
    rng = np.random.default_rng(5)
    for value in (0.35, 0.6, 1.5, 4.0):
        phi0 = rng.uniform(-np.pi, np.pi, 2000)
        charge = rng.choice([-1.0, 1.0], 2000)
        assert trigger.hough_found(np.full(2000, value), phi0, charge).all(), value
    # and nothing below it: the plane holds no curvature beyond a 0.3 GeV track's
    phi0 = rng.uniform(-np.pi, np.pi, 2000)
    assert not trigger.hough_found(np.full(2000, 0.27), phi0, np.ones(2000)).any()


def at_least_two(p: np.ndarray, event: np.ndarray, n: int) -> np.ndarray:
    """Per event, P(at least two of its tracks are found) for independent tracks found with ``p``."""
    none, one = np.ones(n), np.zeros(n)
    local = np.arange(len(event)) - np.searchsorted(event, event)
    for k in range(int(local.max(initial=-1)) + 1):
        ev, q = event[local == k], p[local == k]
        one[ev], none[ev] = one[ev] * (1 - q) + none[ev] * q, none[ev] * (1 - q)
    return 1.0 - none - one


def test_f_tracks_follow_the_turn_on_event_by_event() -> None:
    """Two-photon events, whose leptons sit around minPt: the two-track line fires as often as the
    per-track probabilities (reach × turn-on) predict, and each event's draw does not depend on batching."""
    batch = generate(3000, seed=41, processes=["eeee", "eemumu"])
    p = trigger.f_track_probability(batch)
    assert ((p > 0) & (p < 1)).sum() > 20  # tracks inside the turn-on
    raw = trigger.l1_decisions(batch)
    two = at_least_two(p, batch.tracks.event_index(), len(batch))
    keep = ~raw["bha3d"]
    expected, sigma = two[keep].sum(), np.sqrt((two * (1 - two))[keep].sum())
    assert abs(raw["ff"].sum() - expected) < 4 * sigma + 1, (raw["ff"].sum(), expected, sigma)
    parts = [trigger.l1_decisions(b)["ff"] for b in batch.chunks(700)]
    np.testing.assert_array_equal(np.concatenate(parts), raw["ff"])


def test_the_additional_bhabha_veto_sees_the_radiative_gamma_gamma_that_pass_the_3d_veto() -> None:
    """γγ events that escape the 3D Bhabha veto and fire hie are two clusters back to back in φ* with a
    θ*-sum far from 180° (a hard ISR photon along the beam): TRGECL's hie2 (Δφ* or θ*-sum window) vetoes
    them, hie1 (both windows) does not. A single barrel photon passes all four."""
    batch = generate(4000, seed=42, processes=["gammagamma"])
    raw = trigger.l1_decisions(batch)
    extra = trigger.hie_additional_veto(batch)
    leak = raw["hie"]
    assert 10 < leak.sum() < 0.02 * len(batch)
    clusters = np.bincount(batch.ecl.event_index()[batch.ecl["energy"] > 0.1], minlength=len(batch))
    assert (clusters[leak] == 2).all()
    assert (~extra["hie2"][leak]).mean() > 0.9
    assert (~extra["hie1"][leak]).mean() < 0.1
    # every hieN is ehigh (E over θID 2-15 above 1 GeV) less its vetoes; hie4 vetoes a subset of hie3's
    theta_id = trigger.trigger_theta_id(batch.ecl["theta"])
    central = (theta_id >= 2) & (theta_id <= 15)
    deposit = np.where(central, batch.ecl["energy"], 0.0)
    e_phys = np.bincount(batch.ecl.event_index(), deposit, minlength=len(batch))
    for name in ("hie1", "hie2", "hie3", "hie4"):
        assert not (extra[name] & (e_phys <= 1.0)).any(), name
    assert extra["hie4"][extra["hie3"]].all()
    assert extra["hie1"][extra["hie2"]].all()  # the OR window vetoes more than the AND window
    single = generate(400, seed=43, signals=[parse_signal("darkphoton:mass=3,fraction=1")], processes=[])
    e = single.ecl
    barrel = np.zeros(len(single), dtype=bool)
    hard = (e["energy"] > 2.0) & (np.degrees(e["theta"]) > 40) & (np.degrees(e["theta"]) < 115)
    barrel[e.event_index()[hard]] = True
    only = barrel & (np.bincount(e.event_index()[e["energy"] > 0.1], minlength=len(single)) == 1)
    assert only.sum() > 50
    for name, fired in trigger.hie_additional_veto(single).items():
        assert fired[only].all(), name
