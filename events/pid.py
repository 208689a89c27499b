"""Particle identification from the summed PID log-likelihoods of a track.

``pid_logl`` holds, per track, log L summed over the detectors for the six hypotheses in the order
of ``events.kinematics.HYPOTHESES`` (e, mu, pi, K, p, d). The probability of one hypothesis is its
likelihood over the sum of the six (the basf2 "binary-free" PID fraction with equal priors).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from events.kinematics import HYPOTHESES

MUON_HYPOTHESIS = HYPOTHESES.index(13)  # position of mu in pid_logl (e, mu, pi, K, p, d)
MUON_PROBABILITY_MIN = 0.5  # a muon candidate: L_mu / sum_h L_h at least this

F8 = NDArray[np.float64]


def probability(pid_logl: NDArray[np.floating], hypothesis: int) -> F8:
    """L_h / sum of the six hypothesis likelihoods, from log-likelihoods (NaN where PID is missing)."""
    columns = np.asarray(pid_logl, dtype=np.float64).T  # per hypothesis: elementwise, not a slow row reduce
    top = columns[0].copy()
    for column in columns[1:]:
        np.maximum(top, column, out=top)  # NaN propagates
    total = np.zeros_like(top)
    for column in columns:
        total += np.exp(column - top)
    return np.exp(columns[hypothesis] - top) / total


def muon_probability(pid_logl: NDArray[np.floating]) -> F8:
    """L_mu / sum of the six hypothesis likelihoods (NaN where PID is missing)."""
    return probability(pid_logl, MUON_HYPOTHESIS)
