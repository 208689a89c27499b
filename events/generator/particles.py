"""The true-particle table the physics samplers fill, and the decay kernels they share.

Every particle of a chunk is one row: its event, signed PDG code, four-momentum and mother row.
Samplers append whole blocks (one row per event or per decaying parent), so nothing loops over
events. Momenta are built in the centre-of-mass frame with +z along the incoming electron; the
engine rotates and boosts them to the lab and assigns production and decay points afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from events import kinematics, pdg

F8 = NDArray[np.float64]
I8 = NDArray[np.int64]

# |PDG| -> mass [GeV] of the species the samplers make (events/pdg.py)
MASS: dict[int, float] = pdg.masses(
    (11, 12, 13, 14, 15, 16, 22, 111, 211, 130, 310, 321, 443, 2212, 511, 521, 300553)
)
CTAU = pdg.CTAU_CM  # |PDG| -> c tau [cm] of particles that fly before decaying
NEUTRINOS = (12, 14, 16)

charge_of = pdg.charge  # electric charge of signed PDG codes, int8 (0 for neutral and unknown)
mass_of = pdg.mass  # mass [GeV] of PDG codes (0 for unknown)


class ParticleTable:
    """Append-only table of true particles; ``add`` returns the global rows of the new block."""

    def __init__(self) -> None:
        self._blocks: list[tuple[I8, NDArray[np.int32], F8, I8, F8]] = []
        self.n_rows = 0

    def add(
        self,
        event: np.ndarray,
        pdg: np.ndarray | int,
        p4: np.ndarray,
        mother: np.ndarray | int = -1,
        ctau: np.ndarray | float | None = None,
    ) -> I8:
        event = np.asarray(event, dtype=np.int64)
        n = len(event)
        pdg_arr = np.broadcast_to(np.asarray(pdg, dtype=np.int32), (n,)).copy()
        mother_arr = np.broadcast_to(np.asarray(mother, dtype=np.int64), (n,)).copy()
        if ctau is None:
            ctau_arr = np.zeros(n)
            for code, value in CTAU.items():
                ctau_arr[np.abs(pdg_arr) == code] = value
        else:
            ctau_arr = np.broadcast_to(np.asarray(ctau, dtype=np.float64), (n,)).copy()
        p4 = np.asarray(p4, dtype=np.float64).reshape(n, 4)
        self._blocks.append((event, pdg_arr, p4, mother_arr, ctau_arr))
        rows = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        self.n_rows += n
        return rows

    def last_block(self, back: int = 1) -> tuple[I8, NDArray[np.int32], F8]:
        """(events, pdg codes, four-momenta) of the block added last (``back=2``: the one before it)."""
        event, pdg, p4, _, _ = self._blocks[-back]
        return event, pdg, p4

    def extend(self, particles: Particles, event_map: np.ndarray | None = None) -> I8:
        """Append frozen rows (their mothers shifted to this table), relabelling events by ``event_map``."""
        offset = self.n_rows
        mother = np.where(particles.mother >= 0, particles.mother + offset, -1)
        event = particles.event if event_map is None else np.asarray(event_map)[particles.event]
        return self.add(event, particles.pdg, particles.p4, mother, particles.ctau)

    def freeze(self) -> Particles:
        if not self._blocks:
            z = np.zeros(0, dtype=np.int64)
            return Particles(z, z.astype(np.int32), np.zeros((0, 4)), z, np.zeros(0))
        cols = list(zip(*self._blocks, strict=True))
        return Particles(*(np.concatenate(c) for c in cols))


@dataclass
class Particles:
    """Frozen particle rows (global row numbers; ``mother`` refers to rows of the same table)."""

    event: I8
    pdg: NDArray[np.int32]
    p4: F8
    mother: I8
    ctau: F8  # flight c tau [cm] of a particle that decays (0: at once)

    def __len__(self) -> int:
        return len(self.event)

    def sorted_by_event(self) -> Particles:
        """Rows grouped by event, keeping each event's order (mothers stay before daughters)."""
        order = np.argsort(self.event, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        mother = self.mother[order]
        mother = np.where(mother >= 0, inverse[np.maximum(mother, 0)], -1)
        return Particles(self.event[order], self.pdg[order], self.p4[order], mother, self.ctau[order])

    def select_events(self, keep: np.ndarray) -> Particles:
        """Rows of the events flagged in ``keep`` (indexed by event), renumbered 0..k-1 in order."""
        rows = np.flatnonzero(keep[self.event])
        new_row = np.full(len(self), -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows))
        new_event = np.cumsum(keep) - 1
        mother = self.mother[rows]
        mother = np.where(mother >= 0, new_row[np.maximum(mother, 0)], -1)
        return Particles(new_event[self.event[rows]], self.pdg[rows], self.p4[rows], mother, self.ctau[rows])

    @staticmethod
    def concat(parts: list[Particles]) -> Particles:
        table = ParticleTable()
        for part in parts:
            table.extend(part)
        return table.freeze()

    def has_daughters(self) -> np.ndarray:
        out = np.zeros(len(self), dtype=bool)
        out[self.mother[self.mother >= 0]] = True
        return out


# ---------------------------------------------------------------------------------------- kernels


def unit_vectors(cos_theta: F8, phi: F8) -> F8:
    sin_theta = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
    return np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=-1)


def isotropic(rng: np.random.Generator, n: int) -> F8:
    return unit_vectors(rng.uniform(-1.0, 1.0, n), rng.uniform(-np.pi, np.pi, n))


def two_body_momentum(m_parent: F8 | float, m1: F8 | float, m2: F8 | float) -> F8:
    """p* = λ^½(M², m1², m2²) / (2M)."""
    mp = np.asarray(m_parent, dtype=np.float64)
    lam = (mp**2 - (np.asarray(m1) + m2) ** 2) * (mp**2 - (np.asarray(m1) - m2) ** 2)
    return np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * mp)


def boost_from_rest(p4: F8, parent_p4: F8) -> F8:
    """Four-vectors given in the rest frame of ``parent_p4`` expressed in the parent's frame."""
    return kinematics.boost(p4, -kinematics.boost_vector(parent_p4))


def rejection(rng: np.random.Generator, n: int, propose, weight, w_max: float, max_rounds: int = 200) -> F8:
    """n samples of ``propose(rng, m)`` accepted with probability ``weight(x) / w_max``."""
    out: list[F8] = []
    have = 0
    for _ in range(max_rounds):
        if have >= n:
            break
        m = max(64, int(1.3 * (n - have)) + 16)
        x = propose(rng, m)
        keep = rng.uniform(0.0, w_max, m) < weight(x)
        out.append(x[keep])
        have += int(keep.sum())
    else:
        raise RuntimeError("rejection sampling did not converge")
    return np.concatenate(out)[:n]


def cos_one_plus_cos2(rng: np.random.Generator, n: int) -> F8:
    """cos θ distributed as 1 + cos²θ (s-channel annihilation into fermion pairs)."""
    return rejection(rng, n, lambda r, m: r.uniform(-1, 1, m), lambda c: 1 + c * c, 2.0)


def cos_one_plus_cos2_over_sin2(rng: np.random.Generator, n: int, c_max: float, beta: F8 | float = 1.0) -> F8:
    """cos θ ∝ (1 + cos²θ)/(1 − β²cos²θ) on |cos θ| < c_max (γγ final states, ℓℓ from γγ)."""
    beta = np.broadcast_to(np.asarray(beta, dtype=np.float64), (n,))
    out = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        b = beta[todo]
        # proposal ∝ 1/(1 − β²c²): uniform in atanh(βc)
        c = np.tanh(rng.uniform(-1, 1, len(todo)) * np.arctanh(b * c_max)) / b
        keep = rng.uniform(0, 2, len(todo)) < 1 + c * c
        out[todo[keep]] = c[keep]
        todo = todo[~keep]
    return out


def rotate_from_z(vectors: F8, axis: F8) -> F8:
    """Rotate vectors given in a frame whose +z is ``axis`` (unit, per row) into the frame of ``axis``."""
    z = axis
    helper = np.where(np.abs(z[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    return vectors[:, 0:1] * x + vectors[:, 1:2] * y + vectors[:, 2:3] * z


def decay_two_body(
    rng: np.random.Generator,
    table: ParticleTable,
    event: I8,
    parent_rows: I8,
    parent_p4: F8,
    pdg1: np.ndarray | int,
    pdg2: np.ndarray | int,
    ctau1: np.ndarray | float | None = None,
    ctau2: np.ndarray | float | None = None,
    mass2: float | None = None,
) -> tuple[I8, I8]:
    """Isotropic two-body decays of the parents; returns the rows of both daughters.

    ``mass2`` gives the second daughter's mass when its code is not in ``MASS`` (a new particle).
    """
    n = len(parent_rows)
    m_parent = np.sqrt(np.clip(kinematics.mass_squared(parent_p4), 0, None))
    m1 = mass_of(np.broadcast_to(pdg1, (n,)))
    m2 = mass_of(np.broadcast_to(pdg2, (n,))) if mass2 is None else np.full(n, mass2)
    p = two_body_momentum(m_parent, m1, m2)[:, None] * isotropic(rng, n)
    d1 = boost_from_rest(kinematics.four_vector(p, m1), parent_p4)
    d2 = boost_from_rest(kinematics.four_vector(-p, m2), parent_p4)
    return (
        table.add(event, pdg1, d1, parent_rows, ctau1),
        table.add(event, pdg2, d2, parent_rows, ctau2),
    )


def balance(momenta: F8, masses: F8, group: I8, total_mass: F8, n_groups: int, iterations: int = 30) -> F8:
    """Make each group's momenta sum to zero and its energies to ``total_mass`` (in its rest frame).

    Subtracts the group's mean momentum, then scales all momenta of the group by one factor found by
    Newton's method (the energy sum is convex and increasing in the factor; starting from the massless
    estimate, Newton converges from above). Groups whose masses exceed ``total_mass`` get zero momenta.
    """
    counts = np.bincount(group, minlength=n_groups).astype(np.float64)
    sums = np.stack([np.bincount(group, momenta[:, k], n_groups) for k in range(3)], axis=1)
    mean = sums / np.maximum(counts, 1.0)[:, None]
    p = momenta - mean[group]
    p2 = np.sum(p * p, axis=1)
    m2 = masses**2
    pabs_sum = np.bincount(group, np.sqrt(p2), n_groups)
    a = np.where(pabs_sum > 0, total_mass / np.maximum(pabs_sum, 1e-12), 0.0)
    for _ in range(iterations):
        ai = a[group]
        e = np.sqrt(ai * ai * p2 + m2)
        f = np.bincount(group, e, n_groups) - total_mass
        df = np.bincount(group, np.where(e > 0, ai * p2 / np.maximum(e, 1e-300), 0.0), n_groups)
        a = np.clip(a - np.where(df > 0, f / np.maximum(df, 1e-300), 0.0), 0.0, None)
    return p * a[group][:, None]


def decay_many_body(
    rng: np.random.Generator,
    table: ParticleTable,
    event: I8,
    parent_rows: I8,
    parent_p4: F8,
    counts: np.ndarray,
    daughter_pdg: np.ndarray,
    mean_momentum: float = 0.4,
    initial: F8 | None = None,
) -> I8:
    """Decay every parent into ``counts[i]`` daughters (flat ``daughter_pdg``), isotropic in its rest frame.

    The daughters' momenta start as ``initial`` (rest-frame momenta, e.g. jets) or as isotropic vectors
    with Gamma(2)-distributed magnitudes, and are then balanced to the parent's four-momentum.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_parent = len(parent_rows)
    group = np.repeat(np.arange(n_parent), counts)
    n = len(group)
    masses = mass_of(daughter_pdg)
    if initial is None:
        initial = isotropic(rng, n) * rng.gamma(2.0, mean_momentum / 2.0, n)[:, None]
    m_parent = np.sqrt(np.clip(kinematics.mass_squared(parent_p4), 0, None))
    p = balance(initial, masses, group, m_parent, n_parent)
    rest = kinematics.four_vector(p, masses)
    lab = boost_from_rest(rest, parent_p4[group])
    return table.add(event[group], daughter_pdg, lab, parent_rows[group])
