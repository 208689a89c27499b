"""The one PDG table: charge, mass and (for those that fly) c tau of the species the application uses.

The rows come from the scikit-hep ``particle`` package (``particle==1.1.0``) and are checked against
it by ``tests/events/test_pdg.py``: charges exactly, masses within particle's quoted PDG uncertainty
or the 7-digit rounding of a row. The masses the generator uses (e, μ, τ, π, K, p, B, Υ(4S)) are kept
at the values the shipped sample (``assets/samples``) was generated with, so a rebuild stays
bit-identical; moving them to particle's newest central values (τ, B move by under 1σ) means
``make samples`` and new reference pictures. The deuteron is the nucleus, as Belle II fits use it;
``particle`` gives the deuterium atom. Lookups are whole-array (``searchsorted`` over the sorted
codes), never a dict lookup per particle; unknown codes have charge 0 and mass 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# |PDG| code, charge of the particle (not the antiparticle), mass [GeV], as ``particle`` names it
_ROWS: tuple[tuple[int, int, float], ...] = (
    (11, -1, 0.000510999),  # e-
    (12, 0, 0.0),  # nu(e)
    (13, -1, 0.1056584),  # mu-
    (14, 0, 0.0),  # nu(mu)
    (15, -1, 1.77686),  # tau-
    (16, 0, 0.0),  # nu(tau)
    (22, 0, 0.0),  # gamma
    (111, 0, 0.1349768),  # pi0
    (130, 0, 0.497611),  # K(L)0
    (211, 1, 0.1395704),  # pi+
    (310, 0, 0.497611),  # K(S)0
    (321, 1, 0.493677),  # K+
    (443, 0, 3.0969),  # J/psi(1S)
    (511, 0, 5.27966),  # B0
    (521, 1, 5.27934),  # B+
    (2112, 0, 0.9395654219),  # n
    (2212, 1, 0.9382721),  # p
    (3112, -1, 1.197449),  # Sigma-
    (3122, 0, 1.115683),  # Lambda
    (3222, 1, 1.18937),  # Sigma+
    (3312, -1, 1.32171),  # Xi-
    (3334, -1, 1.67245),  # Omega-
    (300553, 0, 10.5794),  # Upsilon(4S)
    (1000010020, 1, 1.875613),  # deuteron nucleus (particle: 1.8761239303, the atom)
)
NUCLEAR_MASS_OVERRIDES: dict[int, float] = {1000010020: 1875.61294500}  # MeV, CODATA 2018

# |PDG| -> c tau [cm] of the species the generator lets fly before they decay (particle: ``ctau`` in
# mm); kept, like the masses, at the values the shipped sample was generated with (B0: PDG 2018)
CTAU_CM: dict[int, float] = {15: 0.008711, 511: 0.04557, 521: 0.04911, 310: 2.6844}

CODES: NDArray[np.int64] = np.array([r[0] for r in _ROWS], dtype=np.int64)
_ORDER = np.argsort(CODES)
CODES = CODES[_ORDER]
_CHARGE: NDArray[np.int8] = np.array([r[1] for r in _ROWS], dtype=np.int8)[_ORDER]
_MASS: NDArray[np.float64] = np.array([r[2] for r in _ROWS], dtype=np.float64)[_ORDER]  # GeV


def _rows(pdg: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.intp], NDArray[np.bool_]]:
    code = np.asarray(pdg, dtype=np.int64)
    a = np.abs(code)
    i = np.minimum(np.searchsorted(CODES, a), len(CODES) - 1)
    return code, i, CODES[i] == a


def charge(pdg: ArrayLike) -> NDArray[np.int8]:
    """Electric charge of signed PDG codes, int8 (0 for neutral and unknown codes)."""
    code, i, known = _rows(pdg)
    q = np.where(known, _CHARGE[i], 0).astype(np.int8)
    return (q * np.sign(code)).astype(np.int8)


def mass(pdg: ArrayLike) -> NDArray[np.float64]:
    """Mass [GeV] of PDG codes of either sign (0 for unknown codes)."""
    _, i, known = _rows(pdg)
    return np.where(known, _MASS[i], 0.0)


def masses(codes: tuple[int, ...] | list[int]) -> dict[int, float]:
    """``{code: mass [GeV]}`` for a few named species, for scalar use outside loops."""
    return {int(c): float(m) for c, m in zip(codes, mass(np.array(codes, dtype=np.int64)), strict=True)}


def known(pdg: ArrayLike) -> NDArray[np.bool_]:
    """Whether each code (of either sign) is a row of the table."""
    return _rows(pdg)[2]
