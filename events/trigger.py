"""Belle II L1 (GDL) output bits as this project names and packs them.

Names and meanings: docs/physics.md §6 (basf2 ftd_0036.oup). Bit k of the
header column ``l1_bits`` is ``L1_BITS[k]``. ``PRESCALES`` lists the lines that are prescaled.
:func:`l1_decisions` emulates every line from reconstructed objects, :func:`emulate_l1` adds the
prescales, and :class:`RateModel` turns emulated events into L1 rates (the one model of ``generate``
and the monitoring panels).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geometry.angles import polar_angle

if TYPE_CHECKING:
    from events.model import EventBatch

L1_BITS: tuple[str, ...] = (
    # CDC track lines
    "ff", "ffo", "ffb", "fyo", "fff", "ffy", "fyy", "yyy", "fffo", "ffoc",
    # ECL energy and cluster-count lines
    "hie", "lowe", "lume", "c4", "eclmumu",
    # Bhabha lines
    "bha3d", "bhabha", "bhapur",
    # neutral lines
    "g_high", "g_c1", "gg",
    # ECL low-multiplicity lines
    "lml0", "lml1", "lml2", "lml3", "lml4", "lml5", "lml6", "lml7", "lml8", "lml9", "lml10", "lml12", "lml13",
    # KLM muon lines
    "mu_pair", "mu_b2b", "klmhit", "eklmhit", "cdcklm1", "cdcklm2", "seklm1",
    # technical
    "random", "poisson",
    # the 3D Bhabha selection split by the θ of its forward cluster (appended: bits keep their places)
    "bha_id0", "bha_id1", "bha_id2", "bha_id3",
)  # fmt: skip

BIT = {name: k for k, name in enumerate(L1_BITS)}
NB_TO_CM2 = 1e-33

# Prescales (docs/physics.md §6). The real prescale table is a conditions-database payload
# (TRGGDLDBPrescales), not in basf2's source; what follows is the menu's structure with our factors.
# The Bhabha and γγ calibration samples are kept at 1/100 for θlab ≥ 17° (Iwasaki et al. Table I): the
# menu takes them from the 3D Bhabha selection split by the θID of its forward cluster (bha_id0..3 =
# ecl_bhapur and bha_theta, ftd_0036.lgc; TrgEclBhabha::GetBhabha02 sets the flag "for prescale in
# GDL"), so that each θ region gets the share of the Bhabha budget (350 Hz at 8e35) it deserves:
# bha_id0 (θID ≥ 4, barrel) and bha_id3 (θID 3) keep one in 100, bha_id2 (θID 2, 17°-24°, where 40 % of
# the Bhabhas in the ECL sit) one in 1000, bha_id1 (θID 1, a cluster below 17°, outside the CDC and the
# design table) one in 10 000. The unsplit Bhabha lines
# (bha3d, the veto itself; bhapur; the 2D bhabha) and the lines the menu gives no Bhabha veto that fire
# on most Bhabha or γγ events (lume, gg, g_high, lml3, lml5) are monitors at one in 10 000 (trgdoc's
# example of 100 on bha_3D would keep the forward Bhabhas too); the single-object lines they reach less
# often (one ECL cluster, one KLM hit) one in 1000; lowe, the loosest ECL line (hie backs it up), one in 10.
PRESCALES: dict[str, int] = {
    "bha_id0": 100, "bha_id3": 100, "bha_id2": 1000, "bha_id1": 10_000,
    "bha3d": 10_000, "bhapur": 10_000,
    "bhabha": 10_000, "lume": 10_000, "gg": 10_000, "g_high": 10_000,
    "lml3": 10_000, "lml5": 10_000,
    "lml1": 1000, "lml4": 1000, "g_c1": 1000, "klmhit": 1000, "eklmhit": 1000,
    "lowe": 10,
}  # fmt: skip


def prescale_vector(bits: tuple[str, ...] = L1_BITS) -> np.ndarray:
    """The prescale of every bit in ``bits`` (1 where a line is not prescaled), as floats."""
    return np.array([PRESCALES.get(b, 1) for b in bits], dtype=float)


def pack(fired: dict[str, np.ndarray]) -> np.ndarray:
    """Pack boolean arrays per bit name into the uint64 ``l1_bits`` column."""
    n = len(next(iter(fired.values()))) if fired else 0
    bits = np.zeros(n, dtype=np.uint64)
    for name, mask in fired.items():
        bits |= np.asarray(mask, dtype=np.uint64) << np.uint64(BIT[name])
    return bits


def unpack(bits: np.ndarray) -> np.ndarray:
    """(N, len(L1_BITS)) boolean matrix of fired bits."""
    shifts = np.arange(len(L1_BITS), dtype=np.uint64)
    return ((np.asarray(bits, dtype=np.uint64)[:, None] >> shifts) & np.uint64(1)).astype(bool)


def fired(bits: np.ndarray, name: str) -> np.ndarray:
    return ((np.asarray(bits, dtype=np.uint64) >> np.uint64(BIT[name])) & np.uint64(1)).astype(bool)


# ---------------------------------------------------------------------------------------- emulation
# L1 emulation from reconstructed objects with the logic of docs/physics.md §6: each line as
# ftd_0036.lgc writes it (which lines carry !bha_veto), the ECL quantities as TrgEclMaster.cc and the
# TRGECLModule defaults give them (Etot > 0.5 / 1.0 / 3.0 GeV over θID 2-15 for lowe / hie / lume, the
# lml lines of makeLowMultiTriggerBit, the 2 GeV eclmumu threshold), cdc_open90 (Δφ 90°-270°) and
# cdc_b2b5 (Δφ 160°-200°) from TRGGRLProjectsModule.cc.
# Ours (not from the menu): a 2D ("f") track has pT > 0.3 GeV and reaches r = 80 cm inside the CDC end
# plates; a neural ("y") track is an f track with |z0| < 15 cm; "!track" is no f track; ECL trigger
# clusters are clusters above 0.1 GeV; the trigger θID (1-17) is mapped from θ as below; CM quantities are
# the exact transform of each cluster as a photon from the origin; eclmumu needs at most 4 clusters; the
# injection veto never fires.

# The 3D Bhabha veto (bha_veto, the bha3d line): two clusters back to back in the CM frame. basf2's
# defaults (TrgEclBhabha) are Δφ* 160-200°, θ*1 + θ*2 165-190°, E* 3.0 / 4.5 GeV on the trigger's
# look-up-table CM quantities. Ours: the same Δφ*, θ*1 + θ*2 widened to 100-260° and E* 1.5 / 4 GeV, since
# our CM angles are exact and our Bhabhas carry ISR and FSR, which move θ*1 + θ*2 away from 180° and take
# energy from one electron but keep Δφ*; with the basf2 windows 5 % of our Bhabhas leak into hie and lowe,
# with ours 0.2 % (docs/physics.md §6).
# The 3D Bhabha selection (ecl_bhapur, TrgEclBhabha::GetBhabha02) is basf2's looser calibration window,
# Δφ* 140-220° against the veto's 160-200° (TrgEclMaster: selection E* 2.0 / 4.0 GeV, θ*-sum 160-200°);
# ours takes θ*-sum and E* from our veto, for the same ISR reason. bha_theta is the θID of the forward
# cluster of the selected pair (the last pair found, as basf2 loops); TrgEclMaster also carries a
# per-θ-region selection prescale (m_3DBhabhaSelectionPreScale, 1 by default) for the same purpose.
BHA_VETO_DPHI = (160.0, 200.0)  # Δφ* of the pair [deg]
BHA_VETO_THETA_SUM = (100.0, 260.0)  # θ*1 + θ*2 [deg]
BHA_VETO_E = (1.5, 4.0)  # E* of the lower, higher cluster [GeV]
BHA_SELECTION_DPHI = (140.0, 220.0)  # Δφ* of the selection pair [deg]

_TC_THETA_EDGES_DEG = np.array(
    [17.0, 23.8, 32.2, *np.linspace(32.2, 128.7, 13)[1:-1], 130.7, 143.0]
)  # upper edges of trigger θID 1..16; θID 17 above
_CDC_ENDPLATE = ((16.8, -31.0, 57.0), (111.1, -72.4, 157.9))  # (r, z_bwd, z_fwd) [cm], first / last layer


def _ecl_trigger_inputs(
    batch: EventBatch,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ECL clusters' event index, energy, θ, φ (float64) and trigger θID, and each event's energy
    summed over θID 2-15 (the E_phys of the ECL trigger's energy lines)."""
    ecl = batch.ecl
    c_ev = ecl.event_index()
    energy = np.asarray(ecl["energy"], dtype=np.float64)
    theta = np.asarray(ecl["theta"], dtype=np.float64)
    phi = np.asarray(ecl["phi"], dtype=np.float64)
    tid = trigger_theta_id(theta)
    e_sum = np.bincount(c_ev, np.where((tid >= 2) & (tid <= 15), energy, 0.0), minlength=len(batch))
    return c_ev, energy, theta, phi, tid, e_sum


def trigger_theta_id(theta: np.ndarray) -> np.ndarray:
    """ECL trigger-cell θID (1 most forward … 17 most backward) of polar angles [rad] (approximate)."""
    return (np.searchsorted(_TC_THETA_EDGES_DEG, np.degrees(np.asarray(theta))) + 1).astype(np.int64)


def _padded(
    event: np.ndarray, offsets: np.ndarray, values: np.ndarray, n: int, width: int, fill: float
) -> np.ndarray:
    """(n, width) matrix of per-event values (first ``width`` objects of each event)."""
    out = np.full((n, width), fill, dtype=np.float64)
    local = np.arange(len(event)) - offsets[event]
    keep = local < width
    out[event[keep], local[keep]] = values[keep]
    return out


def _pairs(a: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise (n, w, w) arrays of a column with itself, and the mask of distinct valid pairs."""
    w = a.shape[1]
    upper = np.triu(np.ones((w, w), dtype=bool), 1)
    return a, valid[:, :, None] & valid[:, None, :] & upper[None]


def _delta_phi_deg(phi: np.ndarray) -> np.ndarray:
    """|phi_i - phi_j| in degrees, modulo 360, of every pair: (n, w, w).

    In place, and without a float modulo where it can be skipped: for d in [360, 720), d - 360 is
    exact (Sterbenz), so it equals d % 360 bit for bit; angles further apart (or infinite) take
    the modulo. 3.6x faster than the plain expression on a generator chunk."""
    d = np.abs(phi[:, :, None] - phi[:, None, :])
    np.degrees(d, out=d)
    if np.any(d >= 720.0):
        return d % 360.0
    np.subtract(d, 360.0, out=d, where=d >= 360.0)
    return d


def _prescale_mask(header: dict, k: int, prescale: int, rng: np.random.Generator | None) -> np.ndarray:
    n = len(header["event"])
    if rng is not None:
        return rng.uniform(0.0, 1.0, n) < 1.0 / prescale
    # deterministic: a SplitMix64 hash of (run, event, bit) keeps 1 in ``prescale``, independent of batching
    with np.errstate(over="ignore"):
        x = (
            np.asarray(header["event"], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            + np.asarray(header["run"], dtype=np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
            + np.uint64(k + 1) * np.uint64(0x94D049BB133111EB)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x % np.uint64(prescale)) == 0


def _selected_pair_theta_id(pairs: np.ndarray, theta_id: np.ndarray) -> np.ndarray:
    """Per event, the smaller θID of the last (i, j) pair in ``pairs`` (basf2's loop order); 0 if none."""
    n, w, _ = pairs.shape
    order = np.where(pairs.reshape(n, w * w), np.arange(w * w)[None, :], -1)
    last = order.max(axis=1, initial=-1)
    i, j = np.divmod(np.maximum(last, 0), w)
    rows = np.arange(n)
    smaller = np.minimum(theta_id[rows, i], theta_id[rows, j])
    return np.where(last >= 0, smaller, 0.0).astype(np.int64)


# ---------------------------------------------------------------------------------- 2D finder turn-on
# The 2D ("f") track finder is basf2's CDCTrigger2DFinderModule: a Hough transform of the track-segment
# hits of the five axial superlayers (SL0, 2, 4, 6, 8) into (φ, 1/2R). Its defaults: nCellsPhi 160 cells
# over [-π, π], nCellsR 34 cells over 1/2R in [-maxR, maxR] with maxR = 0.5·c·1.5e-4 / minPt (the plane's
# limit *is* the pT cut: minPt 0.3 GeV), minHits 4 superlayers in a cell, connect 6 (direct neighbours and
# the rising diagonal), minCells 2 (a peak of one cell is dropped); a hit's curve is 1/2R = sin(x − φ_hit)/r
# on its rising half only (CDCTriggerHoughtrafo.cc), the hit at the priority wire of its segment
# (layers 3, 16, 28, 40, 52). A track just below minPt still has its peak cells straddling the plane's
# edge and one just above may lose them, so the pT cut is a turn-on one Hough cell wide (1/17 of the
# curvature range). ``hough_found`` emulates that voting for single tracks (first-priority hits at the
# nearest priority wire, no background hits, no second-priority neighbours: ours), and
# ``hough_turn_on`` the fraction found inside the plane's limits of the tracks it finds in a plane
# extended beyond them, so only the edge is modelled and the plateau stays 100 %, as before.
HOUGH_MIN_PT = 0.3  # GeV, CDCTrigger2DFinderModule minPt
HOUGH_N_PHI = 160  # nCellsPhi
HOUGH_N_R = 34  # nCellsR
HOUGH_MIN_HITS = 4  # minHits (superlayers)
# priority layers of SL0, 2, 4, 6, 8 (CDCTrigger2DFinderModule::initialize)
_HOUGH_LAYERS = (3, 16, 28, 40, 52)
_SPEED_OF_LIGHT_CM_NS = 29.9792458  # Const::speedOfLight in basf2 units [cm/ns]


def hough_max_curvature(min_pt: float = HOUGH_MIN_PT) -> float:
    """maxR of the Hough plane, the largest |1/2R| [1/cm] (basf2: 0.5 · c · 1.5e-4 / minPt)."""
    return 0.5 * _SPEED_OF_LIGHT_CM_NS * 1.5e-4 / min_pt


@functools.cache
def _hough_superlayers() -> tuple[np.ndarray, np.ndarray]:
    from geometry import cdc

    layers = cdc.sense_layers()
    idx = np.array(_HOUGH_LAYERS)
    return np.asarray(layers.radius, dtype=np.float64)[idx], np.asarray(layers.n_wires, dtype=np.int64)[idx]


def hough_found(
    pt: np.ndarray,
    phi0: np.ndarray,
    charge: np.ndarray,
    n_superlayers: int = 5,
    extend: int = 0,
    bz: float = 1.5,
) -> np.ndarray:
    """Whether the 2D finder's Hough voting finds each single track (tracks from the origin).

    The track's hits sit at the nearest priority wire of the first ``n_superlayers`` axial superlayers
    it reaches (5: all; 4: it leaves the chamber before SL8); a cell holds a hit if the hit's rising
    curve crosses it; a track is found if two connected cells (connect 6) hold ``HOUGH_MIN_HITS``
    superlayers. ``extend`` adds that many cells to the plane beyond each curvature limit (0: basf2's
    plane)."""
    pt = np.asarray(pt, dtype=np.float64)
    phi0 = np.asarray(phi0, dtype=np.float64)
    q = np.sign(np.asarray(charge, dtype=np.float64))
    radius, n_wires = _hough_superlayers()
    r, pitch = radius[:n_superlayers], 2.0 * np.pi / n_wires[:n_superlayers]
    two_r = 2.0 * pt / (0.299792458 * bz) * 100.0  # 2R [cm]
    reach = r[None, :] < two_r[:, None]
    with np.errstate(invalid="ignore"):
        phi_hit = phi0[:, None] + q[:, None] * np.arcsin(np.clip(r[None, :] / two_r[:, None], -1.0, 1.0))
    phi_hit = np.round(phi_hit / pitch[None, :]) * pitch[None, :]
    dx = 2.0 * np.pi / HOUGH_N_PHI
    max_r = hough_max_curvature()
    dy = 2.0 * max_r / HOUGH_N_R
    column = np.floor((phi0 + np.pi) / dx).astype(np.int64)[:, None] + np.arange(-3, 4)[None, :]
    x1 = -np.pi + column * dx
    y_a = np.sin(x1[:, None, :] - phi_hit[:, :, None]) / r[None, :, None]  # (tracks, SL, columns)
    y_b = np.sin(x1[:, None, :] + dx - phi_hit[:, :, None]) / r[None, :, None]
    rising = (y_b > y_a) & reach[:, :, None]
    y1 = -max_r + np.arange(-extend, HOUGH_N_R + extend) * dy
    below, above = y_b[..., None] < y1, y_a[..., None] > y1 + dy
    votes = np.sum(rising[..., None] & ~below & ~above, axis=1)  # (tracks, columns, rows)
    peak = votes >= HOUGH_MIN_HITS
    return (
        np.any(peak[:, 1:, :] & peak[:, :-1, :], axis=(1, 2))
        | np.any(peak[:, :, 1:] & peak[:, :, :-1], axis=(1, 2))
        | np.any(peak[:, 1:, 1:] & peak[:, :-1, :-1], axis=(1, 2))
    )


def hough_turn_on(
    pt: np.ndarray, n_superlayers: int = 5, n_tracks: int = 20_000, seed: int = 0
) -> np.ndarray:
    """ε(pT) of the plane's edge: of tracks (random φ0 and charge) the finder finds in a plane extended
    ten cells beyond its limits, the fraction it finds inside them."""
    rng = np.random.default_rng(seed)
    out = []
    for value in np.atleast_1d(np.asarray(pt, dtype=np.float64)):
        phi0 = rng.uniform(-np.pi, np.pi, n_tracks)
        charge = rng.choice([-1.0, 1.0], n_tracks)
        p = np.full(n_tracks, value)
        inside = hough_found(p, phi0, charge, n_superlayers)
        anywhere = hough_found(p, phi0, charge, n_superlayers, extend=10)
        out.append(inside.sum() / max(anywhere.sum(), 1))
    return np.array(out)


# hough_turn_on(HOUGH_TURN_ON_PT, n, n_tracks=40_000, seed=0), tabulated (tests/events/test_trigger_hough.py
# recomputes it): 0 below the first point, 1 above the last, linear in between.
HOUGH_TURN_ON_PT = np.round(np.arange(0.2800, 0.33001, 0.0025), 4)
HOUGH_TURN_ON = {
    5: np.array(
        [
            0.000, 0.000, 0.010, 0.043, 0.088, 0.148, 0.249, 0.382, 0.558, 0.747, 0.870,
            0.923, 0.944, 0.967, 1.000, 1.000, 1.000, 1.000, 1.000, 1.000, 1.000,
        ]
    ),
    4: np.array(
        [
            0.000, 0.000, 0.000, 0.000, 0.000, 0.000, 0.000, 0.090, 0.231, 0.368, 0.491,
            0.604, 0.705, 0.800, 0.909, 0.934, 0.962, 0.982, 1.000, 1.000, 1.000,
        ]
    ),
}  # fmt: skip
_R_SL8 = 105.68  # cm, priority layer 52: a track that leaves the chamber before it has four axial hits


def hough_efficiency(pt: np.ndarray, reaches_sl8: np.ndarray) -> np.ndarray:
    """The 2D finder's probability to find a track of transverse momentum ``pt`` [GeV] that reaches SL6,
    with five axial superlayers if ``reaches_sl8`` else four (``HOUGH_TURN_ON``)."""
    pt = np.asarray(pt, dtype=np.float64)
    five = np.interp(pt, HOUGH_TURN_ON_PT, HOUGH_TURN_ON[5], left=0.0, right=1.0)
    four = np.interp(pt, HOUGH_TURN_ON_PT, HOUGH_TURN_ON[4], left=0.0, right=1.0)
    return np.where(np.asarray(reaches_sl8, dtype=bool), five, four)


def _track_uniform(run: np.ndarray, event: np.ndarray, local: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per track from a SplitMix64 hash of (run, event, track number in the
    event): the finder's draw, the same however the events are batched."""
    with np.errstate(over="ignore"):
        x = (
            np.asarray(event, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            + np.asarray(run, dtype=np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
            + (np.asarray(local, dtype=np.uint64) + np.uint64(101)) * np.uint64(0xD6E8FEB86659FD93)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


F_TRACK_REACH_CM = 80.0  # an f track reaches r = 80 cm (SL6) inside the end plates: four axial superlayers


def f_track_probability(batch: EventBatch) -> np.ndarray:
    """Per track of ``batch``, the probability that the 2D finder makes it an f track: it reaches SL6
    (``F_TRACK_REACH_CM``) inside the CDC end plates, times the finder's turn-on at its pT
    (``hough_efficiency``, five superlayers if it also reaches SL8 inside them, else four)."""
    from events import field, helix

    tr = batch.tracks
    t_ev = tr.event_index()
    bz = np.asarray(batch.header["bz"], dtype=np.float64)
    omega = np.asarray(tr["omega"], dtype=np.float64)
    pt = helix.transverse_momentum(omega, field.track_bz(bz[t_ev], tr["z0"]) if len(t_ev) else 1.5)
    (r0, zb0, zf0), (r1, zb1, zf1) = _CDC_ENDPLATE

    def within_endplates(radius: float) -> np.ndarray:
        """The helix reaches ``radius`` inside the CDC end plates."""
        arc = helix.arc_length_to_radius(tr["d0"], omega, radius)
        z = np.asarray(tr["z0"]) + arc * np.asarray(tr["tan_lambda"])
        f = (radius - r0) / (r1 - r0)
        return np.isfinite(arc) & (z > zb0 + f * (zb1 - zb0)) & (z < zf0 + f * (zf1 - zf0))

    reach = within_endplates(F_TRACK_REACH_CM)
    return np.where(reach, hough_efficiency(pt, reach & within_endplates(_R_SL8)), 0.0)


LOW_MULTIPLICITY = 6  # objects per collection at most for the narrow pass of ``l1_decisions``


def l1_decisions(batch: EventBatch) -> dict[str, np.ndarray]:
    """Every L1 line's decision per event before prescaling, from tracks, ECL and KLM clusters.

    The pair conditions are (events, w, w) arrays padded to the largest multiplicity, so events
    with at most ``LOW_MULTIPLICITY`` tracks, clusters and KLM hits (most of the physics stream:
    mu mu, ee, gamma gamma) are emulated apart from the others, in narrow arrays: 3.7x less time
    on a mixed generator chunk. Every decision depends on its own event only, so the result is
    the same event by event."""
    counts = (batch.tracks.counts, batch.ecl.counts, batch.klm.counts)
    multiplicity = np.maximum.reduce([np.asarray(c) for c in counts]) if len(batch) else np.zeros(0)
    low = multiplicity <= LOW_MULTIPLICITY
    if low.all() or not low.any():
        return _l1_decisions_padded(batch)
    parts = [
        (index, _l1_decisions_padded(batch.take(index)))
        for index in (np.flatnonzero(low), np.flatnonzero(~low))
    ]
    merged = {}
    for line, first in parts[0][1].items():
        values = np.empty(len(batch), first.dtype)
        for index, decisions in parts:
            values[index] = decisions[line]
        merged[line] = values
    return merged


def _l1_decisions_padded(batch: EventBatch) -> dict[str, np.ndarray]:
    """``l1_decisions`` with every pair array padded to the batch's largest multiplicity."""
    from events import kinematics

    n = len(batch)
    # ---- CDC tracks
    tr = batch.tracks
    t_ev = tr.event_index()
    local = np.arange(len(t_ev)) - tr.offsets[t_ev] if len(t_ev) else np.zeros(0, dtype=np.int64)
    header = batch.header
    draw = _track_uniform(np.asarray(header["run"])[t_ev], np.asarray(header["event"])[t_ev], local)
    full = draw < f_track_probability(batch)  # the 2D finder's turn-on, drawn per track by a hash
    neural = full & (np.abs(np.asarray(tr["z0"])) < 15.0)
    n_f = np.bincount(t_ev[full], minlength=n)
    n_y = np.bincount(t_ev[neural], minlength=n)
    fe = t_ev[full]
    f_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(fe, minlength=n), out=f_off[1:])
    width = int(min(max(n_f.max(initial=0), 2), 24))
    phi_f = _padded(fe, f_off, np.asarray(tr["phi0"])[full], n, width, np.nan)
    _, pair = _pairs(phi_f, np.isfinite(phi_f))
    dphi = _delta_phi_deg(phi_f)
    open90 = np.any(pair & (dphi >= 90.0) & (dphi <= 270.0), axis=(1, 2))
    b2b = np.any(pair & (dphi >= 160.0) & (dphi <= 200.0), axis=(1, 2))

    # ---- ECL trigger clusters
    c_ev, energy, theta, phi, tid, e_tot = _ecl_trigger_inputs(batch)
    sin_t = np.sin(theta)
    p4 = energy[:, None] * np.stack(
        [np.ones_like(theta), sin_t * np.cos(phi), sin_t * np.sin(phi), np.cos(theta)], 1
    )
    cm = kinematics.to_cms(p4) if len(p4) else np.zeros((0, 4))
    e_cm = cm[:, 0]
    theta_cm = polar_angle(cm[:, 1:])
    phi_cm = np.arctan2(cm[:, 2], cm[:, 1])
    trig = energy > 0.1
    ce = c_ev[trig]
    c_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ce, minlength=n), out=c_off[1:])
    n_cl = np.diff(c_off)
    width = int(min(max(n_cl.max(initial=0), 2), 24))

    def pad(values: np.ndarray) -> np.ndarray:
        return _padded(ce, c_off, values[trig], n, width, np.nan)

    E, Ecm, Tcm, Pcm, T_id = pad(energy), pad(e_cm), pad(theta_cm), pad(phi_cm), pad(tid.astype(float))
    valid = np.isfinite(E)
    _, cpair = _pairs(E, valid)
    dphi_cm = _delta_phi_deg(np.nan_to_num(Pcm))
    tsum = np.degrees(np.nan_to_num(Tcm)[:, :, None] + np.nan_to_num(Tcm)[:, None, :])
    # pair masks, each built once: (n, w, w) arrays are most of the cost
    phi_160 = cpair & (dphi_cm >= 160) & (dphi_cm <= 200)
    phi_170 = phi_160 & (dphi_cm >= 170) & (dphi_cm <= 190)
    sum_160 = (tsum >= 160) & (tsum <= 200)
    b2b_3d = phi_160 & (tsum >= 165) & (tsum <= 190)
    Ecm0 = np.nan_to_num(Ecm)
    e_lo = np.minimum(Ecm0[:, :, None], Ecm0[:, None, :])
    e_hi = np.maximum(Ecm0[:, :, None], Ecm0[:, None, :])
    (p_lo, p_hi), (s_lo, s_hi) = BHA_VETO_DPHI, BHA_VETO_THETA_SUM
    veto_phi = phi_160 if (p_lo, p_hi) == (160.0, 200.0) else cpair & (dphi_cm >= p_lo) & (dphi_cm <= p_hi)
    veto_pair = veto_phi & (tsum >= s_lo) & (tsum <= s_hi) & (e_lo >= BHA_VETO_E[0]) & (e_hi >= BHA_VETO_E[1])
    bha_veto = np.any(veto_pair, axis=(1, 2))
    sel_pair = (
        cpair
        & (dphi_cm >= BHA_SELECTION_DPHI[0])
        & (dphi_cm <= BHA_SELECTION_DPHI[1])
        & (tsum >= s_lo)
        & (tsum <= s_hi)
        & (e_lo >= BHA_VETO_E[0])
        & (e_hi >= BHA_VETO_E[1])
    )
    bha_select = np.any(sel_pair, axis=(1, 2))
    bha_theta = _selected_pair_theta_id(sel_pair, np.nan_to_num(T_id, nan=99.0))
    bhabha_2d = np.any(phi_160 & (e_lo >= 3.0), axis=(1, 2))
    E0 = np.nan_to_num(E)
    e_lo_lab = np.minimum(E0[:, :, None], E0[:, None, :])
    e_hi_lab = np.maximum(E0[:, :, None], E0[:, None, :])
    eclmumu = np.any(b2b_3d & (e_hi_lab < 2.0), axis=(1, 2)) & (n_cl <= 4)
    # the lml lines as TrgEclMaster::makeLowMultiTriggerBit codes them (CM thresholds on E*)
    n300 = np.sum(valid & (E0 > 0.3), axis=1)  # clusters above 300 MeV (lab)
    big = valid & (Ecm0 >= 2.0)
    n_big = np.sum(big, axis=1)

    def in_ids(*ids: int) -> np.ndarray:
        out = T_id == ids[0]
        for i in ids[1:]:
            out |= T_id == i
        return out

    n1_barrel = np.sum(valid & (Ecm0 >= 1.0) & (T_id >= 4) & (T_id <= 15), axis=1)
    n1_endcap = np.sum(valid & (Ecm0 >= 1.0) & in_ids(2, 3, 16), axis=1)
    b2b_170 = phi_170
    b2b_160 = phi_160 & sum_160
    id216 = valid & (T_id >= 2) & (T_id <= 16)
    lml12 = (np.sum(id216, axis=1) >= 3) & np.any(id216 & (E0 > 0.5), axis=1)
    lml13 = (np.sum(valid & (Ecm0 > 0.5) & (T_id >= 6) & (T_id <= 11), axis=1) == 1) & (n300 == 1)
    # ---- KLM
    klm = batch.klm
    k_ev = klm.event_index()
    k_rho = np.hypot(klm["x"], klm["y"])
    k_barrel = np.abs(k_rho - 201.9) < 2.0
    klm_barrel = np.bincount(k_ev[k_barrel], minlength=n) > 0
    klm_endcap = np.bincount(k_ev[~k_barrel], minlength=n) > 0
    k_off = klm.offsets
    kw = int(min(max(klm.counts.max(initial=0), 2), 16))
    k_phi = _padded(k_ev, k_off, np.arctan2(klm["y"], klm["x"]), n, kw, np.nan)
    _, kpair = _pairs(k_phi, np.isfinite(k_phi))
    kd = _delta_phi_deg(np.nan_to_num(k_phi))
    mu_b2b = np.any(kpair & (kd >= 160) & (kd <= 200), axis=(1, 2))
    kidx = np.asarray(tr["klm_index"])
    has_klm = kidx >= 0
    glob = np.where(has_klm, k_off[t_ev] + np.maximum(kidx, 0), 0)
    trk_klm_barrel = has_klm & (k_barrel[glob] if len(k_barrel) else False)
    cdc_klm = np.bincount(t_ev[trk_klm_barrel & full], minlength=n)
    se_klm = np.bincount(t_ev[has_klm & ~trk_klm_barrel], minlength=n)

    no_bha = ~bha_veto
    no_track = n_f == 0
    big_fwd_bwd = np.any(big & in_ids(2, 3, 15, 16), axis=1)
    big_edge = np.any(big & in_ids(1, 17), axis=1)
    # ftd_0036.lgc line by line (``!veto``, the injection veto, never fires here)
    d: dict[str, np.ndarray] = {
        "ff": (n_f >= 2) & no_bha,
        "ffo": (n_f >= 2) & open90 & no_bha,
        "ffb": (n_f >= 2) & b2b & no_bha,
        "fyo": (n_f >= 2) & (n_y >= 1) & open90 & no_bha,
        "fff": n_f >= 3,
        "ffy": (n_f >= 3) & (n_y >= 1),
        "fyy": (n_f >= 3) & (n_y >= 2),
        "yyy": n_y >= 3,
        "fffo": (n_f >= 3) & open90,
        "ffoc": (n_f >= 2) & open90 & no_bha & (n_cl >= 1),
        "hie": (e_tot > 1.0) & no_bha,
        "lowe": (e_tot > 0.5) & no_bha,
        "lume": e_tot > 3.0,
        "c4": (n_cl > 3) & no_bha,
        "eclmumu": eclmumu & no_bha,
        "bha3d": bha_veto,
        "bhabha": bhabha_2d,
        "bhapur": bha_select,
        "g_high": (e_tot > 1.0) & no_track,
        "g_c1": (n_cl == 1) & no_track,
        "gg": (n_cl == 2) & no_track,
        "lml0": (n_cl >= 3) & (n300 >= 1) & no_bha,
        "lml1": np.any(big & (T_id >= 4) & (T_id <= 14), axis=1),
        "lml2": big_fwd_bwd & no_bha,
        "lml3": big_fwd_bwd & bha_veto,
        "lml4": big_edge & no_bha,
        "lml5": big_edge & bha_veto,
        "lml6": (n1_barrel == 1) & (n300 == 1),
        "lml7": (n1_endcap == 1) & (n300 == 1),
        "lml8": np.any(b2b_170 & (e_lo_lab > 0.25), axis=(1, 2)) & (n_big == 0),
        "lml9": np.any(b2b_170 & (e_lo_lab < 0.25) & (e_hi_lab > 0.25), axis=(1, 2)) & (n_big == 0),
        "lml10": np.any(b2b_160, axis=(1, 2)) & (n_big == 0),
        "lml12": lml12 & no_bha,
        "lml13": lml13,
        "mu_pair": (klm_barrel | klm_endcap) & (n_f >= 2),
        "mu_b2b": mu_b2b,
        "klmhit": klm_barrel,
        "eklmhit": klm_endcap,
        "cdcklm1": (cdc_klm >= 1) & no_bha,
        "cdcklm2": (cdc_klm >= 2) & no_bha,
        "seklm1": (se_klm >= 1) & no_bha,
        "random": np.zeros(n, dtype=bool),
        "poisson": np.zeros(n, dtype=bool),
        "bha_id0": bha_select & (bha_theta >= 4),
        "bha_id1": bha_select & (bha_theta == 1),
        "bha_id2": bha_select & (bha_theta == 2),
        "bha_id3": bha_select & (bha_theta == 3),
    }
    return d


# The ECL trigger's additional Bhabha veto for hie (trg/ecl TrgEclBhabha::getBhabhaAddition and the
# ECL-to-GDL bits 90-95 of TrgEclMaster): hie1 ... hie4 are E_phys > 1 GeV with no single cluster in the
# forward endcap (θID ≤ 3) and, for exactly two clusters, not: (1) Δφ* 150°-210° and θ*-sum 160°-200°,
# (2) Δφ* 150°-210° or θ*-sum 160°-200°, (3) the lower-energy cluster in an endcap (θID ≤ 3 or ≥ 16),
# (4) that, with both clusters above 0.5 GeV (lab) (TrgEclMaster defaults m_hie12BhabhaVetoAngle,
# m_hie4LowCLELabCut). They are what radiative γγ and Bhabha events with one hard ISR photon along the
# beam look like: two clusters back to back in φ* whose θ*-sum is far from 180°. The GDL menu of the
# emulation, ftd_0036 (the newest in basf2's tree), takes hie from ehigh and !bha_veto and none of these;
# later GDL input tables list ehigh1-3 but no menu logic using them is in the source, so they are not
# lines of L1_BITS: ``hie_additional_veto`` gives them for comparison (docs/physics.md §6).
HIE12_VETO_ANGLE = (150.0, 210.0, 160.0, 200.0)  # Δφ* low, high; θ*-sum low, high [deg]
HIE4_LOW_CLUSTER_E = 0.5  # GeV (lab)


def hie_additional_veto(batch: EventBatch) -> dict[str, np.ndarray]:
    """TRGECL's hie1 ... hie4 per event (E_phys > 1 GeV with the additional Bhabha veto), before any
    GDL logic; clusters are the emulation's ECL trigger clusters (above 0.1 GeV)."""
    from events import kinematics

    n = len(batch)
    c_ev, energy, theta, phi, tid, e_phys = _ecl_trigger_inputs(batch)
    trig = energy > 0.1
    ev, e, t, i = c_ev[trig], energy[trig], theta[trig], tid[trig]
    n_cl = np.bincount(ev, minlength=n)
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_cl, out=first[1:])
    one = np.flatnonzero(n_cl == 1)
    single_forward = np.zeros(n, dtype=bool)
    single_forward[one] = i[first[one]] <= 3
    two = np.flatnonzero(n_cl == 2)
    a, b = first[two], first[two] + 1
    sin_t = np.sin(t)
    ph = phi[trig]
    p4 = e[:, None] * np.stack([np.ones_like(t), sin_t * np.cos(ph), sin_t * np.sin(ph), np.cos(t)], 1)
    cm = kinematics.to_cms(p4) if len(p4) else np.zeros((0, 4))
    theta_cm = np.degrees(polar_angle(cm[:, 1:]))
    phi_cm = np.degrees(np.arctan2(cm[:, 2], cm[:, 1]))
    dphi = np.abs(phi_cm[a] - phi_cm[b])
    tsum = theta_cm[a] + theta_cm[b]
    lo_phi, hi_phi, lo_sum, hi_sum = HIE12_VETO_ANGLE
    in_phi = (dphi > lo_phi) & (dphi < hi_phi)
    in_sum = (tsum > lo_sum) & (tsum < hi_sum)
    low_id = np.where(e[a] < e[b], i[a], i[b])
    endcap = (low_id <= 3) | (low_id >= 16)
    both_hard = (e[a] > HIE4_LOW_CLUSTER_E) & (e[b] > HIE4_LOW_CLUSTER_E)
    vetoes = {"hie1": in_phi & in_sum, "hie2": in_phi | in_sum, "hie3": endcap, "hie4": endcap & both_hard}
    ehigh = (e_phys > 1.0) & ~single_forward
    out = {}
    for name, veto in vetoes.items():
        vetoed = np.zeros(n, dtype=bool)
        vetoed[two] = veto
        out[name] = ehigh & ~vetoed
    return out


def emulate_l1(batch: EventBatch, rng: np.random.Generator | None = None) -> np.ndarray:
    """Packed ``l1_bits`` of every event of ``batch`` after the prescales of ``PRESCALES``.

    With ``rng`` the prescales draw at random; without, a hash of (run, event, bit) keeps one event in
    ``prescale`` deterministically.
    """
    decisions = l1_decisions(batch)
    for name, prescale in PRESCALES.items():
        decisions[name] = decisions[name] & _prescale_mask(dict(batch.header), BIT[name], prescale, rng)
    return pack(decisions)


# ---------------------------------------------------------------------------------------- rates
def decision_matrix(decisions: dict[str, np.ndarray]) -> np.ndarray:
    """(N, len(L1_BITS)) boolean matrix of :func:`l1_decisions`."""
    return np.stack([np.asarray(decisions[b], dtype=bool) for b in L1_BITS], axis=1)


def accept_probability(raw: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
    """Probability that each event fires at least one live line after the prescales.

    ``raw`` is the (N, B) matrix of decisions before prescaling. An event that fires an unprescaled
    line is kept; otherwise every prescaled line it fires keeps it with 1/prescale, independently
    (the GDL has one prescale counter per line). This is the expectation of :func:`emulate_l1`'s
    ``l1_bits != 0``, without the noise of one prescale draw.
    """
    keep = 1.0 / prescale_vector()
    if live is not None:
        keep = keep * np.asarray(live, dtype=float)
    return 1.0 - np.prod(np.where(np.asarray(raw, dtype=bool), 1.0 - keep, 1.0), axis=1)


@dataclass(frozen=True)
class RateModel:
    """The L1 rate model: per process, its cross section and the raw L1 decisions of emulated events.

    The rate of process p at luminosity L is L · σ_p · ε_p, with ε_p the fraction of its events that
    fire any line after the prescales (:func:`accept_probability`, event by event, never from bits
    taken as independent); a line's rate is L · Σ_p σ_p · (fraction firing it) / prescale.
    """

    processes: tuple[str, ...]
    cross_sections_nb: np.ndarray  # (P,)
    raw_bits: tuple[np.ndarray, ...]  # per process: packed ``l1_bits`` of its events before prescaling
    origin: str = ""

    def __post_init__(self) -> None:
        if len(self.raw_bits) != len(self.processes) or len(self.cross_sections_nb) != len(self.processes):
            raise ValueError("one cross section and one set of events per process")

    @property
    def counts(self) -> np.ndarray:
        return np.array([len(b) for b in self.raw_bits], dtype=np.int64)

    def raw_efficiency(self) -> np.ndarray:
        """(P, B): fraction of each process's events whose line fires, before prescaling."""
        return np.array([unpack(b).mean(axis=0) if len(b) else np.zeros(len(L1_BITS)) for b in self.raw_bits])

    def acceptance(self, live: np.ndarray | None = None) -> np.ndarray:
        """(P,): fraction of each process's events that fire any live line after the prescales."""
        return np.array(
            [accept_probability(unpack(b), live).mean() if len(b) else 0.0 for b in self.raw_bits]
        )

    def bit_efficiency(self, live: np.ndarray | None = None) -> np.ndarray:
        """(P, B): expected fraction of each process's events in each line after its prescale."""
        eff = self.raw_efficiency() / prescale_vector()[None, :]
        return eff if live is None else eff * np.asarray(live, dtype=float)[None, :]

    def rates(self, luminosity: np.ndarray | float, live: np.ndarray | None = None) -> PhysicsRates:
        """Physics L1 rates [Hz] at luminosities [cm^-2 s^-1]."""
        lum = np.atleast_1d(np.asarray(luminosity, dtype=float))
        flux = lum[:, None] * self.cross_sections_nb[None, :] * NB_TO_CM2  # (N, P) events per second
        return PhysicsRates(flux * self.acceptance(live)[None, :], flux @ self.bit_efficiency(live))

    def summary(self, luminosity: float, busiest: int = 12) -> list[str]:
        """Text lines: rate per process and in all, then the busiest lines, at one luminosity."""
        r = self.rates(luminosity)
        acc = self.acceptance()
        lines = [f"L1 rates at {luminosity:.3g} cm^-2 s^-1 (after prescales; {self.origin or 'emulated'}):"]
        for k, name in enumerate(self.processes):
            lines.append(
                f"  {name:<14} {self.cross_sections_nb[k]:8.3f} nb  {acc[k]:7.2%} of {self.counts[k]:>6} "
                f"events  {r.per_process[0, k]:10.1f} Hz"
            )
        lines.append(f"  {'physics total':<14} {r.total[0]:>48.1f} Hz")
        order = np.argsort(r.bits[0])[::-1][:busiest]
        lines.append("  busiest lines: " + ", ".join(f"{L1_BITS[k]} {r.bits[0, k]:.0f} Hz" for k in order))
        return lines


@dataclass(frozen=True)
class PhysicsRates:
    """Physics L1 rates [Hz] for N luminosities: per process (N, P) and per line (N, B)."""

    per_process: np.ndarray
    bits: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """(N,): events per second that fire any line after the prescales."""
        return self.per_process.sum(axis=1)
