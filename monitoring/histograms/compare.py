"""Compare a histogram with its reference: chi2 or Kolmogorov p-value and a DQM status colour.

The tests follow ROOT as used by basf2's DQMHistComparitor (docs/monitoring.md §5.3): ``Chi2Test("UU")``
for two unweighted histograms of any normalisation, and ``KolmogorovTest`` on the binned
cumulative distributions. Status colours follow the Belle II DQM canvases (TooFew gray,
Default white, Good green, Warning yellow, Error red) with the PyDM alarm hues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike


class Status(Enum):
    NO_REFERENCE = "#ffffff"  # DQM "Default"
    TOO_FEW = "#a0a0a0"
    GOOD = "#00b050"
    WARNING = "#ebeb00"
    ERROR = "#ff0000"

    @property
    def colour(self) -> str:
        return self.value


@dataclass(frozen=True)
class CheckConfig:
    """``method`` "chi2" or "ks"; p below ``warning`` is a warning, below ``error`` an error."""

    method: str = "chi2"
    warning: float = 0.05
    error: float = 0.001
    min_entries: int = 50

    def __post_init__(self) -> None:
        if self.method not in ("chi2", "ks"):
            raise ValueError(f"unknown comparison {self.method!r}: use 'chi2' or 'ks'")
        if not 0.0 <= self.error <= self.warning <= 1.0:
            raise ValueError("need 0 <= error <= warning <= 1")


@dataclass(frozen=True)
class CheckResult:
    method: str
    statistic: float
    ndf: int
    p_value: float
    status: Status


def upper_gamma_regularized(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a): series below a + 1, continued fraction above."""
    if x <= 0.0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        k = a
        while abs(term) > abs(total) * 1e-15:
            k += 1.0
            term *= x / k
            total += term
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    # modified Lentz for the continued fraction of Gamma(a, x)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(log_prefix) * h


def chi2_probability(chi2: float, ndf: int) -> float:
    return upper_gamma_regularized(ndf / 2.0, chi2 / 2.0) if ndf > 0 else 1.0


def kolmogorov_probability(z: float) -> float:
    """P(sqrt(n) D > z) of the Kolmogorov distribution."""
    if z < 0.2:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * z * z) for k in range(1, 101))
    return min(1.0, max(0.0, 2.0 * total))


def chi2_uu(observed: ArrayLike, reference: ArrayLike) -> tuple[float, int]:
    """ROOT's unweighted-unweighted chi2 and ndf (bins empty in both are skipped)."""
    n1 = np.asarray(observed, dtype=np.float64).ravel()
    n2 = np.asarray(reference, dtype=np.float64).ravel()
    total1, total2 = n1.sum(), n2.sum()
    used = (n1 + n2) > 0
    chi2 = np.sum((total2 * n1[used] - total1 * n2[used]) ** 2 / (n1[used] + n2[used])) / (total1 * total2)
    return float(chi2), int(used.sum()) - 1


def kolmogorov(observed: ArrayLike, reference: ArrayLike) -> float:
    """z = D sqrt(N1 N2 / (N1 + N2)) from the binned cumulative distributions."""
    n1 = np.asarray(observed, dtype=np.float64).ravel()
    n2 = np.asarray(reference, dtype=np.float64).ravel()
    total1, total2 = n1.sum(), n2.sum()
    d = np.max(np.abs(np.cumsum(n1) / total1 - np.cumsum(n2) / total2))
    return float(d * math.sqrt(total1 * total2 / (total1 + total2)))


def check(
    observed: ArrayLike, reference: ArrayLike | None, config: CheckConfig = CheckConfig()
) -> CheckResult:
    """Compare ``observed`` with ``reference`` (same binning) and grade the p-value."""
    obs = np.asarray(observed)
    if reference is None:
        return CheckResult(config.method, math.nan, 0, math.nan, Status.NO_REFERENCE)
    ref = np.asarray(reference)
    if ref.shape != obs.shape:
        raise ValueError(f"reference has shape {ref.shape}, histogram {obs.shape}")
    if obs.sum() < config.min_entries or ref.sum() < config.min_entries:
        return CheckResult(config.method, math.nan, 0, math.nan, Status.TOO_FEW)
    if config.method == "chi2":
        statistic, ndf = chi2_uu(obs, ref)
        p = chi2_probability(statistic, ndf)
    else:
        statistic, ndf = kolmogorov(obs, ref), 0
        p = kolmogorov_probability(statistic)
    if p < config.error:
        status = Status.ERROR
    elif p < config.warning:
        status = Status.WARNING
    else:
        status = Status.GOOD
    return CheckResult(config.method, statistic, ndf, p, status)
