"""What the histograms show, as kernels over flat per-event arrays (docs/physics.md §2).

Every kernel takes flat float64 arrays, one entry per selected event, and the array module
``xp`` (numpy, or cupy on a GPU), so all backends share one definition. The numba kernels in
``numba_kernels`` repeat these expressions operation for operation, so every backend puts
every event in the same bin.

Inputs: a muon pair is (p1x, p1y, p1z, p2x, p2y, p2z) [GeV]; a photon is (E, theta, phi) of
its ECL cluster [GeV, rad]. The beam is the lab four-vector with the 83 mrad crossing angle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from events import kinematics

MUON_MASS = kinematics.MASS[13]
RAD_TO_DEG = 180.0 / math.pi
PAIR_INPUTS = ("p1x", "p1y", "p1z", "p2x", "p2y", "p2z")
PHOTON_INPUTS = ("energy", "theta", "phi")


@dataclass(frozen=True)
class Beam:
    """The e+e- four-vector in the lab (default: SuperKEKB at the Upsilon(4S), 83 mrad crossing)."""

    energy: float
    px: float
    py: float
    pz: float

    @classmethod
    def superkekb(cls) -> Beam:
        e, px, py, pz = (float(v) for v in kinematics.beam_four_vector())
        return cls(e, px, py, pz)

    @property
    def sqrt_s(self) -> float:
        return math.sqrt(self.energy**2 - (self.px**2 + self.py**2 + self.pz**2))


BEAM = Beam.superkekb()


def signed_sqrt(m2: Any, xp: Any = np) -> Any:
    """sqrt(M^2), negative where M^2 < 0 so resolution tails stay visible."""
    return xp.copysign(xp.sqrt(xp.abs(m2)), m2)


def _energies(xp: Any, p1x: Any, p1y: Any, p1z: Any, p2x: Any, p2y: Any, p2z: Any) -> tuple[Any, Any]:
    m2 = MUON_MASS * MUON_MASS
    e1 = xp.sqrt(p1x * p1x + p1y * p1y + p1z * p1z + m2)
    e2 = xp.sqrt(p2x * p2x + p2y * p2y + p2z * p2z + m2)
    return e1, e2


def _recoil(xp: Any, beam: Beam, p: tuple[Any, ...]) -> tuple[Any, Any, Any, Any]:
    """Recoil four-vector P_beam - p1 - p2."""
    p1x, p1y, p1z, p2x, p2y, p2z = p
    e1, e2 = _energies(xp, *p)
    return (
        beam.energy - e1 - e2,
        beam.px - p1x - p2x,
        beam.py - p1y - p2y,
        beam.pz - p1z - p2z,
    )


def _mass2(e: Any, x: Any, y: Any, z: Any) -> Any:
    return e * e - x * x - y * y - z * z


def recoil_mass2(xp: Any, beam: Beam, *p: Any) -> tuple[Any]:
    """M^2_rec = (P_beam - p1 - p2)^2 [GeV^2]."""
    return (_mass2(*_recoil(xp, beam, p)),)


def recoil_mass(xp: Any, beam: Beam, *p: Any) -> tuple[Any]:
    """Signed recoil mass [GeV]."""
    return (signed_sqrt(_mass2(*_recoil(xp, beam, p)), xp),)


def pair_mass_recoil_mass(xp: Any, beam: Beam, *p: Any) -> tuple[Any, Any]:
    """(M(mu mu), M_rec) [GeV]: the dark-Higgsstrahlung plane."""
    p1x, p1y, p1z, p2x, p2y, p2z = p
    e1, e2 = _energies(xp, *p)
    pair = _mass2(e1 + e2, p1x + p2x, p1y + p2y, p1z + p2z)
    return signed_sqrt(pair, xp), signed_sqrt(_mass2(*_recoil(xp, beam, p)), xp)


def recoil_mass2_theta(xp: Any, beam: Beam, *p: Any) -> tuple[Any, Any]:
    """(M^2_rec [GeV^2], lab polar angle of the recoil [deg])."""
    e, x, y, z = _recoil(xp, beam, p)
    return _mass2(e, x, y, z), xp.arctan2(xp.sqrt(x * x + y * y), z) * RAD_TO_DEG


def photon_cms_energy(xp: Any, beam: Beam, energy: Any, theta: Any, phi: Any) -> tuple[Any]:
    """E*_gamma = (P_beam . p_gamma) / sqrt(s) of a massless photon [GeV]."""
    st = xp.sin(theta)
    px = energy * st * xp.cos(phi)
    py = energy * st * xp.sin(phi)
    pz = energy * xp.cos(theta)
    return ((beam.energy * energy - beam.px * px - beam.py * py - beam.pz * pz) / beam.sqrt_s,)


@dataclass(frozen=True)
class Observable:
    """A named kernel: flat inputs -> one coordinate array per histogram axis."""

    name: str
    inputs: tuple[str, ...]
    dims: int
    compute: Callable[..., tuple[Any, ...]]

    def __call__(self, *inputs: Any, beam: Beam = BEAM, xp: Any = np) -> tuple[Any, ...]:
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.name}: expected inputs {self.inputs}, got {len(inputs)} arrays")
        return self.compute(xp, beam, *inputs)


OBSERVABLES: dict[str, Observable] = {
    o.name: o
    for o in (
        Observable("recoil_mass", PAIR_INPUTS, 1, recoil_mass),
        Observable("recoil_mass2", PAIR_INPUTS, 1, recoil_mass2),
        Observable("pair_mass:recoil_mass", PAIR_INPUTS, 2, pair_mass_recoil_mass),
        Observable("recoil_mass2:recoil_theta", PAIR_INPUTS, 2, recoil_mass2_theta),
        Observable("photon_cms_energy", PHOTON_INPUTS, 1, photon_cms_energy),
    )
}


def resolve(observable: str | Observable) -> Observable:
    """An observable by name (or itself); ``ValueError`` lists the known names."""
    if isinstance(observable, Observable):
        return observable
    try:
        return OBSERVABLES[observable]
    except KeyError:
        raise ValueError(f"unknown observable {observable!r}; known: {sorted(OBSERVABLES)}") from None
