"""Which histograms we fill: a selection, an observable and the axes, under one name, with the DQM
check against the reference (chi2 or KS, warning and error p-values, minimum entries) and how the
reference is drawn (normalised to the entries, the maximum, or not at all) for each.

The check of each standard histogram (docs/monitoring.md §5.3 has the table):

* sparse 1D spectra (the Z' recoil mass, the single-photon energy): Kolmogorov-Smirnov, which needs no
  bin to be well filled; the photon line is drawn scaled to its maximum (its peak), the recoil mass to
  the entries;
* 2D planes: chi2 "UU" (bins empty in both skipped), with a higher minimum of entries; KS has no
  meaning for a 2D histogram and is refused there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from events.model import EventBatch
from monitoring.histograms.axes import Axis
from monitoring.histograms.compare import CheckConfig, Normalisation
from monitoring.histograms.observables import Observable, resolve
from monitoring.histograms.selections import (
    DARK_HIGGSSTRAHLUNG,
    RECOIL_ANGLE,
    SINGLE_PHOTON,
    Z_PRIME_INVISIBLE,
    Selected,
    Selection,
)


@dataclass(frozen=True)
class HistogramDefinition:
    name: str
    title: str
    selection: Selection
    observable: str
    axes: tuple[Axis, ...]
    check: CheckConfig = field(default_factory=CheckConfig)
    normalisation: Normalisation = Normalisation.ENTRIES

    def __post_init__(self) -> None:
        obs = self.kernel
        if obs.inputs != self.selection.inputs or obs.dims != len(self.axes):
            raise ValueError(f"{self.name}: {obs.name} does not fit its selection or axes")
        if self.check.method == "ks" and len(self.axes) != 1:
            raise ValueError(f"{self.name}: a Kolmogorov test needs a 1D histogram; use chi2")

    @property
    def kernel(self) -> Observable:
        return resolve(self.observable)

    def select(self, batch: EventBatch) -> Selected:
        return self.selection.select(batch)


RECOIL_MASS_AXIS = Axis("recoil_mass", 212, -0.2, 10.4, "M_recoil [GeV]")

STANDARD: tuple[HistogramDefinition, ...] = (
    HistogramDefinition(
        "zprime_recoil_mass",
        "Z' -> invisible: recoil mass against mu+ mu-",
        Z_PRIME_INVISIBLE,
        "recoil_mass",
        (RECOIL_MASS_AXIS,),
        check=CheckConfig("ks", warning=0.05, error=0.001, min_entries=50),
        normalisation=Normalisation.ENTRIES,
    ),
    HistogramDefinition(
        "dark_higgs_plane",
        "Dark Higgsstrahlung: M(mu mu) vs M_recoil",
        DARK_HIGGSSTRAHLUNG,
        "pair_mass:recoil_mass",
        (
            Axis("pair_mass", 104, 0.0, 10.4, "M(mu mu) [GeV]"),
            Axis("recoil_mass", 104, 0.0, 10.4, "M_recoil [GeV]"),
        ),
        check=CheckConfig("chi2", warning=0.01, error=0.0001, min_entries=200),
        normalisation=Normalisation.ENTRIES,
    ),
    HistogramDefinition(
        "recoil_mass2_theta",
        "M^2_recoil vs recoil polar angle",
        RECOIL_ANGLE,
        "recoil_mass2:recoil_theta",
        (
            Axis("recoil_mass2", 120, -10.0, 110.0, "M^2_recoil [GeV^2]"),
            Axis("recoil_theta", 90, 0.0, 180.0, "theta_recoil [deg]"),
        ),
        check=CheckConfig("chi2", warning=0.01, error=0.0001, min_entries=200),
        normalisation=Normalisation.ENTRIES,
    ),
    HistogramDefinition(
        "single_photon_energy",
        "Single photon: E*_gamma",
        SINGLE_PHOTON,
        "photon_cms_energy",
        (Axis("photon_cms_energy", 140, 0.0, 7.0, "E*_gamma [GeV]"),),
        check=CheckConfig("ks", warning=0.05, error=0.001, min_entries=50),
        normalisation=Normalisation.MAXIMUM,
    ),
)


#: How the window writes each histogram and axis, in the display's typography (Z′, μ⁺μ⁻, E*_γ). The
#: ``title`` and the axis labels above stay ASCII: they are written into the ROOT files (TH1 titles and
#: axis titles of ``main.py histogram`` and of the panel's export, read back as references), where the
#: names, not these words, are the keys.
DISPLAY_TITLES: dict[str, str] = {
    "zprime_recoil_mass": "Z′ → invisible: recoil mass against μ⁺μ⁻",
    "dark_higgs_plane": "Dark Higgsstrahlung: M(μμ) vs M_recoil",
    "recoil_mass2_theta": "M²_recoil vs recoil polar angle",
    "single_photon_energy": "Single photon: E*_γ",
}
DISPLAY_AXIS_LABELS: dict[str, str] = {
    "recoil_mass": "M_recoil [GeV]",
    "pair_mass": "M(μμ) [GeV]",
    "recoil_mass2": "M²_recoil [GeV²]",
    "recoil_theta": "θ_recoil [°]",
    "photon_cms_energy": "E*_γ [GeV]",
}


def display_title(definition: HistogramDefinition) -> str:
    """The histogram's name as the window shows it (its ``title`` where none is given)."""
    return DISPLAY_TITLES.get(definition.name, definition.title)


def display_label(axis: Axis) -> str:
    """An axis label as the window shows it (its ``label``, or its name, where none is given)."""
    return DISPLAY_AXIS_LABELS.get(axis.name, axis.label or axis.name)


def by_name(name: str) -> HistogramDefinition:
    for d in STANDARD:
        if d.name == name:
            return d
    raise KeyError(f"no histogram named {name!r}; known: {[d.name for d in STANDARD]}")
