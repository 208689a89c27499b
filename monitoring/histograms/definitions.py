"""Which histograms we fill: a selection, an observable and the axes, under one name."""

from __future__ import annotations

from dataclasses import dataclass

from events.model import EventBatch
from monitoring.histograms.axes import Axis
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

    def __post_init__(self) -> None:
        obs = self.kernel
        if obs.inputs != self.selection.inputs or obs.dims != len(self.axes):
            raise ValueError(f"{self.name}: {obs.name} does not fit its selection or axes")

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
    ),
    HistogramDefinition(
        "single_photon_energy",
        "Single photon: E*_gamma",
        SINGLE_PHOTON,
        "photon_cms_energy",
        (Axis("photon_cms_energy", 140, 0.0, 7.0, "E*_gamma [GeV]"),),
    ),
)


def by_name(name: str) -> HistogramDefinition:
    for d in STANDARD:
        if d.name == name:
            return d
    raise KeyError(f"no histogram named {name!r}; known: {[d.name for d in STANDARD]}")
