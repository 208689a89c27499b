"""Compare a histogram with its reference: chi2 or Kolmogorov p-value and a DQM status.

The tests follow ROOT as used by basf2's DQMHistComparitor (docs/monitoring.md §5.3): ``Chi2Test("UU")``
for two unweighted histograms of any normalisation, and ``KolmogorovTest`` on the binned
cumulative distributions. The statuses are those of the Belle II DQM canvases (Default, TooFew,
Good, Warning, Error); the probabilities come from ``scipy.special``. How each is drawn (colour,
glyph, word) is the views' business: the colour table's ``dqm`` section, keyed by ``Status.value``.
A status PV carries basf2's ``EStatus`` number (``Status.epics``); a reference is drawn scaled by one
of basf2's ``ERefScaling`` choices (:class:`Normalisation`, :func:`scale_reference`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike, NDArray


class Status(Enum):
    NO_REFERENCE = "no_reference"  # DQM "Default"
    TOO_FEW = "too_few"
    GOOD = "good"
    WARNING = "warning"
    ERROR = "error"

    @property
    def epics(self) -> int:
        """The number a status PV carries: basf2's ``DQMHistAnalysisModule::EStatus``."""
        return EPICS_STATUS[self]


# c_StatusTooFew = 0, c_StatusDefault = 1, c_StatusGood = 2, c_StatusWarning = 3, c_StatusError = 4
EPICS_STATUS: dict[Status, int] = {
    Status.TOO_FEW: 0,
    Status.NO_REFERENCE: 1,
    Status.GOOD: 2,
    Status.WARNING: 3,
    Status.ERROR: 4,
}


class Normalisation(Enum):
    """How a reference is scaled before it is drawn over a histogram (basf2's ``ERefScaling``)."""

    NONE = "none"  # c_RefScaleNone: as it is
    ENTRIES = "entries"  # c_RefScaleEntries: to the histogram's number of entries (integral)
    MAXIMUM = "maximum"  # c_RefScaleMax: to the histogram's tallest bin


def scale_reference(
    reference: ArrayLike, counts: ArrayLike, normalisation: Normalisation
) -> NDArray[np.float64]:
    """The reference scaled to ``counts`` as ``normalisation`` says (unscaled where ``counts``
    or the reference is empty, as basf2's ``scaleReference`` leaves it)."""
    ref = np.asarray(reference, dtype=np.float64)
    data = np.asarray(counts, dtype=np.float64)
    if normalisation is Normalisation.ENTRIES:
        total, ref_total = float(data.sum()), float(ref.sum())
        return ref * (total / ref_total) if total > 0 and ref_total > 0 else ref.copy()
    if normalisation is Normalisation.MAXIMUM:
        top, ref_top = float(data.max(initial=0.0)), float(ref.max(initial=0.0))
        return ref * (top / ref_top) if top > 0 and ref_top > 0 else ref.copy()
    return ref.copy()


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


def chi2_probability(chi2: float, ndf: int) -> float:
    """P(chi2' > chi2) for ``ndf`` degrees of freedom (ROOT's ``TMath::Prob``)."""
    from scipy.special import chdtrc  # deferred: scipy.special costs ~0.4 s, not needed at start-up

    return float(chdtrc(ndf, chi2)) if ndf > 0 else 1.0


def kolmogorov_probability(z: float) -> float:
    """P(sqrt(n) D > z) of the Kolmogorov distribution (ROOT's ``TMath::KolmogorovProb``)."""
    from scipy.special import kolmogorov as survival

    return float(survival(z))


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
