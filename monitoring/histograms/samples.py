"""Events of known kinematics: muon pairs recoiling against a known mass, single photons.

Made in the e+e- centre-of-mass frame of the SuperKEKB beams and boosted to the lab
(docs/physics.md §2, §4), so the recoil mass computed in the lab with the crossing-angle beam must
give back the mass put in. Used by the tests, the throughput benchmark and the demo panel.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from events import helix, kinematics
from events.model import Collection, EventBatch
from geometry.angles import polar_angle
from monitoring.histograms.observables import BEAM, MUON_MASS, Beam

F8 = NDArray[np.float64]


def _isotropic(n: int, rng: np.random.Generator) -> F8:
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=-1)


def _beam_array(beam: Beam) -> F8:
    return np.array([beam.energy, beam.px, beam.py, beam.pz])


def muon_pair_momenta(
    recoil_mass: float | F8,
    n: int,
    rng: np.random.Generator,
    pair_mass: float | F8 | None = None,
    beam: Beam = BEAM,
) -> tuple[F8, F8]:
    """Lab momenta (n, 3) of mu- and mu+ recoiling against ``recoil_mass``; the pair mass is
    ``pair_mass`` or uniform over what phase space allows."""
    sqrt_s = beam.sqrt_s
    recoil = np.broadcast_to(np.asarray(recoil_mass, dtype=np.float64), (n,))
    if pair_mass is None:
        top = sqrt_s - recoil
        mass = rng.uniform(2 * MUON_MASS + 0.01, top - 0.01)
    else:
        mass = np.broadcast_to(np.asarray(pair_mass, dtype=np.float64), (n,))
    if np.any(mass + recoil >= sqrt_s) or np.any(mass <= 2 * MUON_MASS):
        raise ValueError("pair and recoil masses outside phase space")
    e_pair = (sqrt_s**2 + mass**2 - recoil**2) / (2 * sqrt_s)
    p_pair = np.sqrt(e_pair**2 - mass**2)[:, None] * _isotropic(n, rng)
    q = np.sqrt(mass**2 / 4 - MUON_MASS**2)[:, None] * _isotropic(n, rng)
    e_mu = np.sqrt(np.sum(q * q, axis=1) + MUON_MASS**2)[:, None]
    pair_beta = p_pair / e_pair[:, None]
    cms_beta = kinematics.boost_vector(_beam_array(beam))
    out = []
    for sign in (1.0, -1.0):
        rest = np.concatenate([e_mu, sign * q], axis=1)
        cms = kinematics.boost(rest, -pair_beta)
        out.append(kinematics.boost(cms, -cms_beta)[:, 1:])
    return out[0], out[1]


def _tracks_from_momenta(p: F8, charge: NDArray[np.int8], bz: float) -> dict[str, np.ndarray]:
    pt = np.hypot(p[:, 0], p[:, 1])
    logl = np.full((len(p), 6), -20.0, dtype=np.float32)
    logl[:, 1] = 0.0  # muon-like
    return {
        "d0": np.zeros(len(p)),
        "z0": np.zeros(len(p)),
        "phi0": np.arctan2(p[:, 1], p[:, 0]),
        "omega": charge * helix.PT_PER_CURVATURE * bz / pt,
        "tan_lambda": p[:, 2] / pt,
        "charge": charge,
        "pdg": np.full(len(p), 13),
        "pid_logl": logl,
    }


def muon_pair_events(
    recoil_mass: float | F8,
    n: int,
    rng: np.random.Generator,
    pair_mass: float | F8 | None = None,
    run: int = 1,
    first_event: int = 0,
    bz: float = helix.BZ_DEFAULT,
) -> EventBatch:
    """A batch of ``n`` events, each exactly one mu+ mu- pair (muon-like PID) recoiling against
    ``recoil_mass`` (an invisible particle), no ECL clusters."""
    minus, plus = muon_pair_momenta(recoil_mass, n, rng, pair_mass)
    p = np.stack([minus, plus], axis=1).reshape(-1, 3)
    charge = np.tile(np.array([-1, 1], dtype=np.int8), n)
    tracks = Collection.from_columns("tracks", np.full(n, 2), _tracks_from_momenta(p, charge, bz))
    header = {
        "experiment": np.full(n, 0),
        "run": np.full(n, run),
        "event": first_event + np.arange(n),
        "bz": np.full(n, bz),
        "signal_mass": np.broadcast_to(np.asarray(recoil_mass, dtype=np.float32), (n,)),
    }
    return EventBatch.build(n, header, source="samples", tracks=tracks)


def single_photon_events(
    dark_mass: float, n: int, rng: np.random.Generator, run: int = 1, first_event: int = 0
) -> EventBatch:
    """``n`` events e+e- -> gamma X with X invisible of mass ``dark_mass``: one barrel-or-not photon
    cluster with E*_gamma = (s - M^2) / (2 sqrt(s)), nothing else."""
    sqrt_s = BEAM.sqrt_s
    e_star = (sqrt_s**2 - dark_mass**2) / (2 * sqrt_s)
    p4 = np.concatenate([np.full((n, 1), e_star), e_star * _isotropic(n, rng)], axis=1)
    lab = kinematics.boost(p4, -kinematics.boost_vector(_beam_array(BEAM)))
    energy = lab[:, 0]
    theta = polar_angle(lab[:, 1:])
    phi = np.arctan2(lab[:, 2], lab[:, 1])
    ecl = Collection.from_columns(
        "ecl",
        np.ones(n, dtype=np.int64),
        {
            "energy": energy,
            "theta": theta,
            "phi": phi,
            "hypotheses": np.full(n, 16),
            "is_track": np.zeros(n, bool),
        },
    )
    header = {"run": np.full(n, run), "event": first_event + np.arange(n)}
    return EventBatch.build(n, header, source="samples", ecl=ecl)
