"""e+e- -> gamma* -> mu+ mu- Z': the Z' radiated off a muon, by its tree-level matrix element.

A vector Z' that couples to muons (the L_mu - L_tau Z' of the Belle II searches) is emitted from
either final-state muon line. The spin-summed squared amplitude, up to constant couplings, is

    |M|^2 ∝ sum_{a, lambda} Tr[(p1-slash + m) G (p2-slash - m) Gbar] / s^2,
    G = eps-slash (p1-slash + k-slash + m) e-slash / D1 + e-slash (-p2-slash - k-slash + m) eps-slash / D2,

with D1 = (p1 + k)^2 - m^2, D2 = (p2 + k)^2 - m^2 (p1 the mu-, p2 the mu+, k the Z'), Gbar the
same products in reverse order, and no soft or collinear approximation:

* the beam current: for massless e-e+ colliding along z in their centre-of-mass frame, the
  spin-summed current tensor is proportional to the sum over the two transverse unit vectors e_x, e_y;
* the Z' polarisations: the massive vector's sum -g + k k / M^2 is the sum over three real
  polarisation vectors eps (two transverse to the Z' momentum, one longitudinal).

``tests/events/test_generator_fsr.py`` holds an independent evaluation with the full lepton and
muon tensors (L_{mu mu'} H^{mu nu mu' nu'} P_{nu nu'}) and checks the two agree, that both
currents are conserved, and that for a light Z' the orientation-averaged density is the classic
(x1^2 + x2^2) / ((1 - x1)(1 - x2)) of radiation off massless fermions. The generator uses it as an
acceptance weight on flat three-body phase space (``events.generator.signals.zprime``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F8 = NDArray[np.float64]
C16 = NDArray[np.complex128]

METRIC = np.diag([1.0, -1.0, -1.0, -1.0])
_SIGMA = (
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
)
_ZERO2 = np.zeros((2, 2), dtype=complex)
# gamma^mu in the Dirac representation, shape (4 Lorentz, 4, 4)
GAMMA = np.stack(
    [np.diag([1.0, 1.0, -1.0, -1.0]).astype(complex)]
    + [np.block([[_ZERO2, s], [-s, _ZERO2]]) for s in _SIGMA]
)
IDENTITY = np.eye(4, dtype=complex)
_BEAM_TRANSVERSE = (np.array([0.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, 0.0]))


def slash(p: F8) -> C16:
    """p-slash = gamma^mu p_mu of (N, 4) contravariant four-vectors: (N, 4, 4)."""
    lowered = np.asarray(p, dtype=np.float64) @ METRIC
    return np.einsum("nm,mab->nab", lowered, GAMMA)


def dot(a: F8, b: F8) -> F8:
    """Minkowski product of rows of (N, 4) four-vectors."""
    return np.einsum("ni,ij,nj->n", a, METRIC, b)


def polarisations(k: F8, mass: float) -> tuple[F8, F8, F8]:
    """Three real polarisation vectors of a massive vector of momentum k: sum of eps eps = -g + kk/M^2."""
    p = k[:, 1:]
    pabs = np.linalg.norm(p, axis=1)
    direction = p / np.maximum(pabs, 1e-300)[:, None]
    helper = np.where(np.abs(direction[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    t1 = np.cross(direction, helper)
    t1 /= np.linalg.norm(t1, axis=1, keepdims=True)
    t2 = np.cross(direction, t1)
    zero = np.zeros((len(k), 1))
    longitudinal = np.column_stack([pabs / mass, direction * (k[:, :1] / mass)])
    return np.column_stack([zero, t1]), np.column_stack([zero, t2]), longitudinal


def squared_amplitude(p1: F8, p2: F8, k: F8, m_mu: float, m_z: float) -> F8:
    """Spin-summed |M|^2 of e-e+ -> mu-(p1) mu+(p2) Z'(k) in the beams' centre-of-mass frame (beams
    along z), up to constant couplings; rows of (N, 4) four-vectors (E, px, py, pz) in GeV."""
    p1, p2, k = (np.asarray(v, dtype=np.float64) for v in (p1, p2, k))
    s = dot(p1 + p2 + k, p1 + p2 + k)
    d1 = (dot(p1 + k, p1 + k) - m_mu**2)[:, None, None]
    d2 = (dot(p2 + k, p2 + k) - m_mu**2)[:, None, None]
    prop1 = (slash(p1 + k) + m_mu * IDENTITY) / d1
    prop2 = (-slash(p2 + k) + m_mu * IDENTITY) / d2
    left = slash(p1) + m_mu * IDENTITY
    right = slash(p2) - m_mu * IDENTITY
    n = len(p1)
    total = np.zeros(n)
    for beam in _BEAM_TRANSVERSE:
        e = np.einsum("m,mab->ab", beam @ METRIC, GAMMA)  # e-slash, the same in every event
        for eps in polarisations(k, m_z):
            ep = slash(eps)
            vertex = ep @ prop1 @ e + e @ prop2 @ ep
            adjoint = e @ prop1 @ ep + ep @ prop2 @ e
            total += np.real(np.trace(left @ vertex @ right @ adjoint, axis1=1, axis2=2))
    return total / (s * s)
