"""The beam-aware candidate tool: pick objects of one event, get the recoil against them.

Selected tracks (with a mass hypothesis), ECL clusters (photons) and KLM clusters (K_L) are
summed into one four-vector; the recoil is the SuperKEKB e+e- four-vector (83 mrad crossing)
minus that sum (docs/physics.md §2). Everything is pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from events import field, helix, kinematics, pdg
from events.model import EventBatch
from geometry.angles import polar_angle

ObjectKind = Literal["track", "ecl", "klm"]
PHOTON = 22
K_LONG = 130
MASS = {**kinematics.MASS, **pdg.masses((PHOTON, K_LONG))}
DEFAULT_PDG: dict[str, int] = {"track": 211, "ecl": PHOTON, "klm": K_LONG}


class CandidateError(ValueError):
    """A selection that cannot be evaluated (unknown object, wrong hypothesis)."""


@dataclass(frozen=True)
class Pick:
    """One selected object of the event, with the mass hypothesis it enters with."""

    kind: ObjectKind
    index: int
    pdg: int = 0  # |PDG| of the hypothesis; 0 takes the kind's default (pi, photon, K_L)

    @property
    def hypothesis(self) -> int:
        return self.pdg or DEFAULT_PDG[self.kind]


@dataclass(frozen=True)
class Candidate:
    """The selection's four-vector and everything the recoil overlay shows (GeV, rad)."""

    picks: tuple[Pick, ...]
    p4: np.ndarray  # lab (E, px, py, pz) of the selection
    mass: float  # invariant mass of the selection
    e_star: float  # selection energy in the CM frame
    recoil_p4: np.ndarray  # lab four-vector of the recoil
    recoil_p4_cms: np.ndarray  # recoil four-vector in the CM frame
    recoil_mass_squared: float
    recoil_mass: float  # sign(M^2) sqrt(|M^2|)
    recoil_e_star: float  # recoil energy in the CM frame
    recoil_theta: float  # polar angle of the recoil momentum in the lab
    recoil_theta_cms: float  # ... in the CM frame
    recoil_phi: float

    @property
    def recoil_direction(self) -> np.ndarray:
        """Unit lab direction of the recoil momentum (zero vector if it has none)."""
        p = self.recoil_p4[1:]
        norm = float(np.linalg.norm(p))
        return p / norm if norm > 0 else np.zeros(3)


def _polar(p3: np.ndarray) -> float:
    return float(polar_angle(p3))


def object_four_vectors(event: EventBatch, picks: tuple[Pick, ...] | list[Pick]) -> np.ndarray:
    """Lab four-vectors (n, 4) of the picked objects of a one-event batch."""
    if len(event) != 1:
        raise CandidateError(f"the candidate tool works on one event, got a batch of {len(event)}")
    out = np.zeros((len(picks), 4))
    bz = float(event.header["bz"][0])
    for i, pick in enumerate(picks):
        col = {"track": event.tracks, "ecl": event.ecl, "klm": event.klm}[pick.kind]
        if not 0 <= pick.index < col.size:
            raise CandidateError(f"{pick.kind} {pick.index} does not exist (event has {col.size})")
        if pick.hypothesis not in MASS:
            raise CandidateError(f"unknown mass hypothesis {pick.hypothesis} for {pick.kind} {pick.index}")
        m = MASS[pick.hypothesis]
        k = pick.index
        if pick.kind == "track":
            t = event.tracks
            bz_k = field.track_bz(bz, t["z0"][k])
            p3 = helix.momentum(t["phi0"][k], t["omega"][k], t["tan_lambda"][k], bz_k)
        elif pick.kind == "ecl":
            c = event.ecl
            th, ph, energy = float(c["theta"][k]), float(c["phi"][k]), float(c["energy"][k])
            pmag = np.sqrt(max(energy**2 - m**2, 0.0))
            p3 = pmag * np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
        else:
            c = event.klm
            pos = np.array([c["x"][k], c["y"][k], c["z"][k]], dtype=np.float64)
            p3 = float(c["p"][k]) * pos / np.linalg.norm(pos)
        out[i] = kinematics.four_vector(p3, m)
    return out


def evaluate(
    event: EventBatch, picks: tuple[Pick, ...] | list[Pick], beam: np.ndarray | None = None
) -> Candidate:
    """Sum the picks and compute the recoil against them with the beam four-vector (default SuperKEKB)."""
    picks = tuple(picks)
    beam = kinematics.beam_four_vector() if beam is None else np.asarray(beam, dtype=np.float64)
    p4 = object_four_vectors(event, picks).sum(axis=0)
    recoil = kinematics.recoil(p4, beam)
    recoil_cms = kinematics.to_cms(recoil, beam)
    m2 = float(kinematics.mass_squared(recoil))
    return Candidate(
        picks=picks,
        p4=p4,
        mass=float(kinematics.mass(p4)),
        e_star=float(kinematics.cms_energy(p4, beam)),
        recoil_p4=recoil,
        recoil_p4_cms=recoil_cms,
        recoil_mass_squared=m2,
        recoil_mass=float(np.sign(m2) * np.sqrt(abs(m2))),
        recoil_e_star=float(recoil_cms[0]),
        recoil_theta=_polar(recoil[1:]),
        recoil_theta_cms=_polar(recoil_cms[1:]),
        recoil_phi=float(np.arctan2(recoil[2], recoil[1])),
    )


def summary_lines(c: Candidate, cms: bool = False) -> list[str]:
    """The figures the overlay label and the panel show, one per line."""
    theta = np.degrees(c.recoil_theta_cms if cms else c.recoil_theta)
    frame = "CM" if cms else "lab"
    return [
        f"M(sel) = {c.mass:.4f} GeV",
        f"E*(sel) = {c.e_star:.4f} GeV",
        f"M_recoil = {c.recoil_mass:.4f} GeV",
        f"M²_recoil = {c.recoil_mass_squared:.4f} GeV²",
        f"E*_recoil = {c.recoil_e_star:.4f} GeV",
        f"θ_recoil ({frame}) = {theta:.2f}°",
    ]
