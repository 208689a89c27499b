"""Event selections over EventBatch columns, vectorized, handing flat arrays to the kernels.

A selection returns ``Selected``: for every selected event its row in the batch and the flat
kernel inputs (a muon pair's momenta, or a photon's E, theta, phi). Thresholds are dataclass
fields; the presets follow the dark-sector searches of docs/physics.md §4.

* Muon candidate: a track whose muon likelihood fraction L_mu / sum_h L_h (from the summed
  PID log-likelihoods, hypotheses e, mu, pi, K, p, d) passes ``muon_probability_min``.
* Photon: an ECL cluster not matched to a track, with the nPhotons hypothesis (bit 16).
* ECL barrel: 32.2 deg - 128.7 deg in the lab (docs/detector.md §7, ECLCluster regions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from events import field, helix
from events.model import EventBatch
from events.pid import MUON_PROBABILITY_MIN, muon_probability
from geometry.angles import polar_angle
from monitoring.histograms.observables import BEAM, PAIR_INPUTS, PHOTON_INPUTS, RAD_TO_DEG, Beam

ECL_BARREL_DEG = (32.2, 128.7)
N_PHOTONS_HYPOTHESIS = 16

F8 = NDArray[np.float64]
I8 = NDArray[np.int64]


@dataclass(frozen=True)
class Selected:
    """Selected events: their rows in the batch and the kernel inputs, one entry per event."""

    rows: I8
    inputs: tuple[F8, ...]

    def __len__(self) -> int:
        return len(self.rows)


Columns = dict[str, tuple[str, ...]]  # per collection ("header" too) the columns read


class Selection(Protocol):
    @property
    def inputs(self) -> tuple[str, ...]: ...

    def select(self, batch: EventBatch) -> Selected: ...


def merge_columns(*needs: Columns) -> Columns:
    """The union of several column needs, in first-seen order."""
    merged: Columns = {}
    for need in needs:
        for collection, columns in need.items():
            merged[collection] = tuple(dict.fromkeys((*merged.get(collection, ()), *columns)))
    return merged


def photon_mask(batch: EventBatch) -> NDArray[np.bool_]:
    ecl = batch.ecl
    return ~ecl["is_track"] & ((ecl["hypotheses"] & N_PHOTONS_HYPOTHESIS) != 0)


def _per_event(mask: NDArray[np.bool_], event: I8, n_events: int) -> I8:
    return np.bincount(event[mask], minlength=n_events)


def _in_range(x: F8, bounds: tuple[float, float] | None) -> NDArray[np.bool_]:
    if bounds is None:
        return np.ones(len(x), dtype=bool)
    return (x >= bounds[0]) & (x <= bounds[1])


@dataclass(frozen=True)
class MuonPairSelection:
    """Exactly two opposite-charge muon candidates, optionally: no other track, a pT(mu mu)
    threshold, the recoil inside a lab polar-angle window, no extra photon above a threshold."""

    muon_probability_min: float = MUON_PROBABILITY_MIN
    exactly_two_tracks: bool = True
    pair_pt_min: float = 0.0  # GeV
    recoil_theta_deg: tuple[float, float] | None = None
    extra_photon_energy_max: float | None = 0.1  # GeV; None: photons are not looked at
    beam: Beam = BEAM
    inputs: tuple[str, ...] = PAIR_INPUTS

    @property
    def columns(self) -> Columns:
        """The event columns ``select`` reads (a reader may leave out the rest)."""
        need: Columns = {
            "header": ("bz",),
            "tracks": ("phi0", "omega", "z0", "tan_lambda", "charge", "pid_logl"),
        }
        if self.extra_photon_energy_max is not None:
            need["ecl"] = ("energy", "hypotheses", "is_track")
        return need

    def select(self, batch: EventBatch) -> Selected:
        n = len(batch)
        tracks = batch.tracks
        event = tracks.event_index()
        is_mu = (muon_probability(tracks["pid_logl"]) >= self.muon_probability_min) & (tracks["charge"] != 0)
        ok = _per_event(is_mu, event, n) == 2
        if self.exactly_two_tracks:
            ok &= tracks.counts == 2
        if self.extra_photon_energy_max is not None:
            hard = photon_mask(batch) & (batch.ecl["energy"] > self.extra_photon_energy_max)
            ok &= _per_event(hard, batch.ecl.event_index(), n) == 0
        pair = np.flatnonzero(is_mu & ok[event]).reshape(-1, 2)  # two rows per event, in event order
        first, second = pair[:, 0], pair[:, 1]
        rows = event[first]
        keep = tracks["charge"][first] == -tracks["charge"][second]
        bz = batch.header["bz"][rows].astype(np.float64)
        bz1, bz2 = field.track_bz(bz, tracks["z0"][first]), field.track_bz(bz, tracks["z0"][second])
        phi0, omega, tl = tracks["phi0"], tracks["omega"], tracks["tan_lambda"]
        p1 = helix.momentum(phi0[first], omega[first], tl[first], bz1)
        p2 = helix.momentum(phi0[second], omega[second], tl[second], bz2)
        keep &= np.hypot(p1[:, 0] + p2[:, 0], p1[:, 1] + p2[:, 1]) > self.pair_pt_min
        if self.recoil_theta_deg is not None:
            b = self.beam
            recoil = np.array([b.px, b.py, b.pz]) - p1[:, :3] - p2[:, :3]
            keep &= _in_range(polar_angle(recoil) * RAD_TO_DEG, self.recoil_theta_deg)
        p1, p2 = p1[keep], p2[keep]
        return Selected(rows[keep], tuple(np.ascontiguousarray(c) for c in (*p1.T, *p2.T)))


@dataclass(frozen=True)
class SinglePhotonSelection:
    """No track and exactly one photon above ``extra_photon_energy_max``; that photon has at least
    ``energy_min`` (lab) and lies in the polar-angle window."""

    energy_min: float = 0.5  # GeV, lab
    theta_deg: tuple[float, float] | None = ECL_BARREL_DEG
    extra_photon_energy_max: float = 0.1  # GeV
    inputs: tuple[str, ...] = PHOTON_INPUTS

    @property
    def columns(self) -> Columns:
        """The event columns ``select`` reads; of the tracks only their number per event."""
        return {"tracks": (), "ecl": ("energy", "theta", "phi", "hypotheses", "is_track")}

    def select(self, batch: EventBatch) -> Selected:
        n = len(batch)
        ecl = batch.ecl
        event = ecl.event_index()
        energy = ecl["energy"].astype(np.float64)
        theta = ecl["theta"].astype(np.float64)
        hard = photon_mask(batch) & (energy > self.extra_photon_energy_max)
        candidate = hard & (energy >= self.energy_min) & _in_range(theta * RAD_TO_DEG, self.theta_deg)
        ok = (_per_event(hard, event, n) == 1) & (batch.tracks.counts == 0)
        chosen = np.flatnonzero(candidate & ok[event])
        phi = ecl["phi"].astype(np.float64)
        return Selected(event[chosen], (energy[chosen], theta[chosen], phi[chosen]))


# Presets (docs/monitoring.md §5.1); every threshold is a field, so a run can tune its own copy.
Z_PRIME_INVISIBLE = MuonPairSelection(pair_pt_min=0.5, recoil_theta_deg=ECL_BARREL_DEG)
DARK_HIGGSSTRAHLUNG = MuonPairSelection()
RECOIL_ANGLE = MuonPairSelection(extra_photon_energy_max=None)
SINGLE_PHOTON = SinglePhotonSelection()
