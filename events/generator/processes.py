"""Stable codes, names, cross sections and stream shares of the generated processes and signals.

Codes are written into the header columns ``process`` and ``signal`` of every generated event and
never change meaning (append new ones). Figures from docs/physics.md §3:

* ``cross_section_nb`` is the cross section of what the generator produces, inside its generator-level
  preselection (``selection``). Two-photon: ≈ 80 nb for both leptons at θlab ≥ 17° and pT ≥ 0.1 GeV
  (Iwasaki et al. Table I), split eeee : eeμμ = 39.7 : 18.9 (Physics Book); Bhabha 74.4 nb and γγ 3.30 nb
  for both particles in the ECL above 0.5 GeV; hadronic, μμ, ττ and BB̄ as quoted (unverified literature
  values).
* The stream's share of a process is its share after L1, σ_p · ε_p over the sum, with ε_p the L1 rate
  model's acceptance of emulated events of this generator (``stream_model.py``, the monitoring panels'
  model): the table of docs/physics.md §3 (two-photon about 62 %, of which e+e- hadrons 10 %; q q̄ 19 %,
  μμ 5.1 %, BB̄ 5.8 %, ττ 4.4 %, Bhabha 2.5 %, γγ 0.25 %).

A signal event carries ``process == SIGNAL_PROCESS`` and its signal code in ``signal``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    code: int
    name: str
    label: str
    cross_section_nb: float
    selection: str


TWO_PHOTON_NB = 80.0
# e+e- → e+e- hadrons (W > 1 GeV): no literature value inside the preselection; the equivalent-photon
# integral of twophoton.py (3.885 nb) times the share of its events with a charged hadron at 17-150° and
# pT > 0.1 GeV (0.906, tests/events/test_generator_twophoton.py measures it)
EEHADRONS_EPA_NB = 3.885
EEHADRONS_ACCEPTANCE = 0.906
EEHADRONS_NB = EEHADRONS_EPA_NB * EEHADRONS_ACCEPTANCE
_EEEE, _EEMUMU = 39.7, 18.9

PROCESSES: tuple[Process, ...] = (
    Process(1, "eeee", "e+e- -> e+e- e+e- (two-photon)", TWO_PHOTON_NB * _EEEE / (_EEEE + _EEMUMU),
            "both e from the photon pair at 17-150 deg, pT > 0.1 GeV; W > 0.5 GeV"),
    Process(2, "eemumu", "e+e- -> e+e- mu+mu- (two-photon)",
            TWO_PHOTON_NB * _EEMUMU / (_EEEE + _EEMUMU),
            "both mu at 17-150 deg, pT > 0.1 GeV; W > 0.5 GeV"),
    Process(3, "uubar", "e+e- -> u ubar", 1.61, "none"),
    Process(4, "ddbar", "e+e- -> d dbar", 0.40, "none"),
    Process(5, "ssbar", "e+e- -> s sbar", 0.38, "none"),
    Process(6, "ccbar", "e+e- -> c cbar", 1.30, "none"),
    Process(7, "mumu", "e+e- -> mu+mu-(gamma)", 1.148, "none"),
    Process(8, "bbbar_charged", "Y(4S) -> B+ B-", 1.110 / 2, "none"),
    Process(9, "bbbar_mixed", "Y(4S) -> B0 B0bar", 1.110 / 2, "none"),
    Process(10, "tautau", "e+e- -> tau+tau-(gamma)", 0.919, "none"),
    Process(11, "bhabha", "e+e- -> e+e-(gamma), prescaled", 74.4,
            "both e in the ECL (12.4-155.1 deg), p > 0.5 GeV"),
    Process(12, "gammagamma", "e+e- -> gamma gamma, prescaled", 3.30,
            "both photons in the ECL, E > 0.5 GeV"),
    Process(14, "eehadrons", "e+e- -> e+e- hadrons (two-photon)", EEHADRONS_NB,
            "at least one charged hadron at 17-150 deg, pT > 0.1 GeV; W > 1 GeV"),
)  # fmt: skip

# e+e- → γ_ISR J/ψ at √s = 10.58 GeV, lowest-order radiator (Kuraev-Fadin): σ = 12π² Γee/(M s) · W(x),
# W = (2α/π)(2 ln(√s/me) − 1)(1 − x + x²/2)/x, x = 1 − M²/s; Γee = 5.53 keV, M = 3.0969 GeV give
# 35.5 pb (BaBar measured 37 pb, PRD 69 011103); × B(J/ψ → μμ) = 5.961 % = 2.12 pb; × 0.29, the share of
# events with both muons at 17-150° and pT > 0.1 GeV (tests/events/test_generator_jpsi.py measures it)
JPSI_MUMU_NB = 35.5e-3 * 0.05961
JPSI_ACCEPTANCE = 0.29
# processes made only on request (``processes=["jpsi_isr"]``): they stay out of the default stream, so the
# stream's shares and the random draws of every default run stay as they are
ON_REQUEST: tuple[Process, ...] = (
    Process(13, "jpsi_isr", "e+e- -> gamma_ISR J/psi, J/psi -> mu+mu-", JPSI_MUMU_NB * JPSI_ACCEPTANCE,
            "both mu at 17-150 deg, pT > 0.1 GeV"),
)  # fmt: skip

BY_NAME: dict[str, Process] = {p.name: p for p in PROCESSES + ON_REQUEST}
BY_CODE: dict[int, Process] = {p.code: p for p in PROCESSES + ON_REQUEST}

SIGNAL_PROCESS = 0  # header ``process`` of an injected signal event
SIGNAL_PROCESS_NAME = "signal"


@dataclass(frozen=True)
class Signal:
    code: int
    name: str
    label: str
    mass_meaning: str  # what header ``signal_mass`` holds for this signal


SIGNALS: tuple[Signal, ...] = (
    Signal(1, "zprime", "e+e- -> mu+mu- Z', Z' -> invisible", "M(Z')"),
    Signal(2, "darkhiggs", "e+e- -> A' h', A' -> mu+mu-, h' -> invisible", "M(A')"),
    Signal(3, "darkphoton", "e+e- -> gamma A', A' -> invisible", "M(A')"),
    Signal(4, "alp", "e+e- -> gamma a, a -> gamma gamma", "m(a)"),
    Signal(5, "llp", "B -> K S, S -> mu+mu- / pi+pi-, long-lived", "M(S)"),
)
SIGNAL_BY_NAME: dict[str, Signal] = {s.name: s for s in SIGNALS}
SIGNAL_BY_CODE: dict[int, Signal] = {s.code: s for s in SIGNALS}

# PDG codes of the dark-sector particles in the ``mc`` collection (32 is the PDG Z'; the others follow
# the hidden-valley / new-scalar numbering of common generators)
PDG_ZPRIME = 32
PDG_DARK_PHOTON = 4900022
PDG_DARK_HIGGS = 4900025
PDG_ALP = 9000005
PDG_LLP_SCALAR = 9000006


def process_name(code: int) -> str:
    if code == SIGNAL_PROCESS:
        return SIGNAL_PROCESS_NAME
    return BY_CODE[code].name if code in BY_CODE else "data"


def signal_name(code: int) -> str:
    return SIGNAL_BY_CODE[code].name if code in SIGNAL_BY_CODE else ""
