"""The masterclass exercises, without any window: the guided steps, the student's answers, the scoring.

Three exercises (``EXERCISES``): ``zprime`` (the recoil mass of two muons: an invisible Z′), ``jpsi``
(the invariant mass of two muons: the J/ψ at 3.097 GeV) and ``pi0`` (the invariant mass of two photon
clusters: the π⁰ at 0.135 GeV). The true J/ψ and π⁰ masses come from ``events.pdg``; a pair is right
when Monte Carlo truth says both objects are the asked particle and share the sought mother.

The Z′ exercise: a student looks at an event, picks the two muon tracks, reads their invariant mass M(μμ)
and the mass recoiling against them from the beams (``events.candidate``, the one place masses are
computed), adds M_recoil to a histogram and goes on. After ``needed`` entries a last step asks where the
peak is; the answer is checked against the mass injected into the sample (header ``signal_mass`` of the
Z′ events). Every added pair is checked against the Monte Carlo truth (tracks' ``mc_index`` →
``mc.pdg``).
``reset()`` prepares everything for the next group. Pure Python and numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from events import candidate, pdg
from events.generator.processes import BY_NAME, SIGNAL_BY_NAME
from events.model import EventBatch

MUON, PHOTON, PI0, JPSI = 13, 22, 111, 443
ZPRIME = SIGNAL_BY_NAME["zprime"].code
NEEDED = 8  # histogram entries before the peak question is asked
TOLERANCE = 0.3  # GeV: how close a peak answer must be to the true mass
EVENT_FILTER = "ntracks >= 2 and (signal == 1 or process == 7)"  # Z′ events and plain muon pairs
PLAIN_NAMES = {
    11: "an electron",
    13: "a muon",
    211: "a pion",
    321: "a kaon",
    2212: "a proton",
    22: "a photon",
    130: "a neutral kaon (K_L)",
}


class Step(IntEnum):
    """The numbered steps the student sees, in order."""

    LOOK = 1
    PICK = 2
    MASSES = 3
    ADD = 4
    NEXT = 5
    PEAK = 6
    DONE = 7


STEP_TEXT: dict[Step, str] = {
    Step.LOOK: "Look at the collision: the lines are charged particles.",
    Step.PICK: "Click the two muon tracks.",
    Step.MASSES: "Read the two masses of your pair.",
    Step.ADD: "Add the pair to your histogram.",
    Step.NEXT: "Go to the next event.",
    Step.PEAK: "Muon pairs with nothing missing sit near 0 GeV. Where is the other peak?",
    Step.DONE: "Well done: you found the invisible particle!",
}
MASS_SENTENCE = "M(μμ): the mass of the two muons together, as if they came from one particle."
RECOIL_SENTENCE = "M_recoil: the mass of what we did not see, the beams' energy minus the two muons."


@dataclass(frozen=True)
class Exercise:
    """One masterclass exercise: what is picked, what is histogrammed, what the truth is, in what words."""

    name: str
    title: str
    kind: candidate.ObjectKind  # what the student clicks: "track" or "ecl"
    particle: int  # |PDG| the two picks should be (and their mass hypothesis)
    parent: int  # |PDG| of the mother both should share (0: the Z′ event flag decides)
    histogram: str  # "recoil" (M_recoil) or "mass" (the pair's invariant mass)
    axis_label: str
    bins: np.ndarray
    steps: dict[Step, str]
    explain: tuple[str, ...]
    event_filter: str
    tolerance: float  # GeV
    decimals: int  # of the masses shown and the peak answer
    symbol: str  # "M(μμ)" or "M(γγ)"
    truth_pdg: int = 0  # |PDG| whose mass is the answer (0: the Z′ mass injected into the file)
    generate: tuple[tuple[str, float], ...] = ()  # (process, weight) of the generated events, if no file
    photons: tuple[int, int] | None = None  # events offered: this many ECL clusters with no track (min, max)

    @property
    def pick_name(self) -> str:
        return "track" if self.kind == "track" else "cluster"

    @property
    def pdg_mass(self) -> float | None:
        """The true mass of the particle weighed (PDG, events.pdg); None for the Z′ (it is the file's)."""
        return float(pdg.mass([self.truth_pdg])[0]) if self.truth_pdg else None


_COMMON = {Step.ADD: "Add the pair to your histogram.", Step.NEXT: "Go to the next event."}
ZPRIME_EXERCISE = Exercise(
    name="zprime", title="Find the invisible particle", kind="track", particle=MUON, parent=0,
    histogram="recoil", axis_label="M_recoil (GeV)", bins=np.linspace(-1.0, 11.0, 49), steps=STEP_TEXT,
    explain=(MASS_SENTENCE, RECOIL_SENTENCE), event_filter=EVENT_FILTER, tolerance=TOLERANCE, decimals=1,
    symbol="M(μμ)",
)  # fmt: skip
JPSI_EXERCISE = Exercise(
    name="jpsi", title="Weigh the J/ψ", kind="track", particle=MUON, parent=JPSI, histogram="mass",
    axis_label="M(μμ) (GeV)", bins=np.linspace(0.5, 4.5, 81),
    steps={
        Step.LOOK: "Look at the collision: the lines are charged particles.",
        Step.PICK: "Click the two muon tracks.",
        Step.MASSES: "Read the mass of your pair.",
        **_COMMON,
        Step.PEAK: "Most pairs pile up in one place. Where is the peak?",
        Step.DONE: "Well done: you weighed the J/ψ!",
    },
    explain=(
        "M(μμ): the mass of the two muons together.",
        "If both came from one particle, that is its mass.",
    ),
    event_filter="ntracks >= 2", tolerance=0.05, decimals=2, symbol="M(μμ)", truth_pdg=JPSI,
    generate=(("jpsi_isr", 0.6), ("eemumu", 0.4)),
)  # fmt: skip
PI0_EXERCISE = Exercise(
    name="pi0", title="Weigh the π⁰", kind="ecl", particle=PHOTON, parent=PI0, histogram="mass",
    axis_label="M(γγ) (GeV)", bins=np.linspace(0.0, 0.3, 61),
    steps={
        Step.LOOK: "Look at the collision: coloured crystals are where particles left their energy.",
        Step.PICK: "Click two photons: rings with no line running into them.",
        Step.MASSES: "Read the mass of your two photons.",
        **_COMMON,
        Step.PEAK: "Many pairs pile up in one place. Where is the peak?",
        Step.DONE: "Well done: you weighed the π⁰!",
    },
    explain=(
        "M(γγ): the mass of the two photons together.",
        "A π⁰ lives far too short to be seen: it turns into two photons at once.",
    ),
    event_filter="process == 10", photons=(2, 4), tolerance=0.01, decimals=3, symbol="M(γγ)",
    truth_pdg=PI0, generate=(("tautau", 1.0),),
)  # fmt: skip
EXERCISES: dict[str, Exercise] = {e.name: e for e in (ZPRIME_EXERCISE, JPSI_EXERCISE, PI0_EXERCISE)}


@dataclass(frozen=True)
class Verdict:
    """The truth about one added pair: were both objects the asked particle (muons, photons)?"""

    muons: bool  # both were the exercise's particle (muons; photons in the π⁰ exercise)
    signal: bool  # the event is a Z′ event (Z′), both came from one J/ψ or one π⁰ (the others)
    message: str


def _mc_rows(event: EventBatch, objects: tuple[int, ...], kind: str) -> list[int]:
    """Row of the Monte Carlo particle behind each object (-1 where it has no truth)."""
    mc_index = np.asarray((event.tracks if kind == "track" else event.ecl)["mc_index"])
    n_mc = event.mc.size
    return [int(mc_index[o]) if 0 <= int(mc_index[o]) < n_mc else -1 for o in objects]


def true_particles(event: EventBatch, tracks: tuple[int, ...], kind: str = "track") -> list[int]:
    """|PDG| of the Monte Carlo particle behind each track (or ECL cluster), 0 where it has no truth."""
    mc_pdg = np.asarray(event.mc["pdg"])
    return [abs(int(mc_pdg[k])) if k >= 0 else 0 for k in _mc_rows(event, tracks, kind)]


def true_mothers(event: EventBatch, objects: tuple[int, ...], kind: str = "track") -> list[int]:
    """Monte Carlo row of the mother of each object's particle (-1: a primary or no truth)."""
    mother = np.asarray(event.mc["mother"])
    return [int(mother[k]) if k >= 0 else -1 for k in _mc_rows(event, objects, kind)]


def check_pair(event: EventBatch, tracks: tuple[int, ...], exercise: Exercise = ZPRIME_EXERCISE) -> Verdict:
    """Say in plain words whether the picked tracks (clusters) were the two muons (photons)."""
    kind, want = exercise.kind, exercise.particle
    truth = true_particles(event, tracks, kind)
    if 0 in truth:
        return Verdict(
            False, False, "This file does not know what the particles really were (no simulation truth)."
        )
    what_pair = "two muons" if want == MUON else "two photons"
    if all(p == want for p in truth):
        if not exercise.parent:
            signal = int(event.header["signal"][0]) == ZPRIME
            what = " This event had an invisible Z′ in it!" if signal else ""
            return Verdict(True, signal, f"Yes! Those were the {what_pair}.{what}")
        mothers = true_mothers(event, tracks, kind)
        mc_pdg = np.abs(np.asarray(event.mc["pdg"]))
        one = mothers[0] >= 0 and len(set(mothers)) == 1 and int(mc_pdg[mothers[0]]) == exercise.parent
        name = "J/ψ" if exercise.parent == JPSI else "π⁰"
        if one:
            return Verdict(True, True, f"Yes! Those {what_pair} came from one {name}.")
        return Verdict(
            True, False, f"Those were {what_pair}, but not from one {name}: they make the background."
        )
    noun = exercise.pick_name
    wrong = [
        f"{noun} {t + 1} was {'' if kind == 'track' else 'left by '}{PLAIN_NAMES.get(p, 'something else')}"
        for t, p in zip(tracks, truth, strict=True)
        if p != want
    ]
    return Verdict(False, False, f"Not quite: {' and '.join(wrong)}. It still counts in your histogram.")


def true_peak(header: Mapping[str, np.ndarray] | np.ndarray) -> float | None:
    """The Z′ mass injected into a sample (median over its Z′ events), None if it has none."""
    signal = np.asarray(header["signal"])
    masses = np.asarray(header["signal_mass"], dtype=np.float64)[signal == ZPRIME]
    masses = masses[np.isfinite(masses)]
    return float(np.median(masses)) if masses.size else None


@dataclass
class Entry:
    """One pair the student added to the histogram."""

    event_index: int
    tracks: tuple[int, int]  # the two picked objects (tracks, or ECL clusters in the π⁰ exercise)
    mass: float
    recoil_mass: float
    verdict: Verdict


@dataclass
class Masterclass:
    """The state of one group's session: the current step, the picked tracks, the histogram entries."""

    truth_mass: float | None
    needed: int = NEEDED
    tolerance: float = TOLERANCE
    exercise: Exercise = ZPRIME_EXERCISE
    step: Step = Step.LOOK
    event: EventBatch | None = None
    event_index: int = -1
    picked: list[int] = field(default_factory=list)
    pair: candidate.Candidate | None = None
    entries: list[Entry] = field(default_factory=list)
    attempts: int = 0  # peak answers given
    found: bool = False

    def show(self, event: EventBatch, index: int) -> None:
        """A new event is on the screen: step 1 (or the peak question, once enough are collected)."""
        self.event, self.event_index = event, index
        self.picked, self.pair = [], None
        self.step = Step.DONE if self.found else Step.PEAK if self.ready_for_peak else Step.LOOK

    @property
    def ready_for_peak(self) -> bool:
        return len(self.entries) >= self.needed

    @property
    def recoil_masses(self) -> np.ndarray:
        return np.array([e.recoil_mass for e in self.entries], dtype=np.float64)

    @property
    def values(self) -> np.ndarray:
        """What goes into the histogram: M_recoil (Z′) or the pair's invariant mass (J/ψ, π⁰)."""
        if self.exercise.histogram == "recoil":
            return self.recoil_masses
        return np.array([e.mass for e in self.entries], dtype=np.float64)

    @property
    def right_pairs(self) -> int:
        return sum(e.verdict.muons for e in self.entries)

    def toggle(self, track: int) -> None:
        """A click on a track: pick it (at most two; a third replaces the older) or unpick it."""
        if self.event is None or self.already_added:  # an added pair stays as it was
            return
        if track in self.picked:
            self.picked.remove(track)
        else:
            self.picked = [*self.picked[-1:], track] if len(self.picked) >= 2 else [*self.picked, track]
        if len(self.picked) == 2:
            picks = [candidate.Pick(self.exercise.kind, t, self.exercise.particle) for t in self.picked]
            self.pair = candidate.evaluate(self.event, picks)
            if self.step < Step.PEAK:
                self.step = Step.ADD
        else:
            self.pair = None
            if self.step < Step.PEAK:
                self.step = Step.PICK

    @property
    def already_added(self) -> bool:
        return bool(self.entries) and self.entries[-1].event_index == self.event_index

    def add(self) -> Verdict:
        """Put the pair's M_recoil into the histogram; says whether the tracks were the muons."""
        if self.event is None or self.pair is None or len(self.picked) != 2:
            raise ValueError(f"pick two {self.exercise.pick_name}s first")
        if self.already_added:
            raise ValueError("this event is already in your histogram")
        tracks = (self.picked[0], self.picked[1])
        verdict = check_pair(self.event, tracks, self.exercise)
        self.entries.append(Entry(self.event_index, tracks, self.pair.mass, self.pair.recoil_mass, verdict))
        if self.step < Step.PEAK:
            self.step = Step.PEAK if self.ready_for_peak else Step.NEXT
        return verdict

    def answer(self, mass: float) -> tuple[bool, str]:
        """Check the student's peak mass against the truth, with a friendly message."""
        if not self.ready_for_peak:
            return False, f"Collect {self.needed - len(self.entries)} more events first."
        if self.truth_mass is None:
            return False, "This file has no simulated Z′, so there is no right answer to check."
        self.attempts += 1
        off = float(mass) - self.truth_mass
        d = self.exercise.decimals
        if abs(off) <= self.tolerance:
            self.found, self.step = True, Step.DONE
            return True, _found_text(self.exercise, self.truth_mass)
        hint = "lower" if off > 0 else "higher"
        return False, f"Not quite. Look again: the peak is a bit {hint} than {mass:.{d}f} GeV."

    def reset(self) -> None:
        """Everything back to the start, for the next group (the event on screen stays)."""
        self.entries.clear()
        self.attempts, self.found = 0, False
        if self.event is not None:
            self.show(self.event, self.event_index)
        else:
            self.step, self.picked, self.pair = Step.LOOK, [], None


def _found_text(exercise: Exercise, truth: float) -> str:
    if exercise.name == "jpsi":
        return (
            f"Yes! The J/ψ has a mass of {truth:.3f} GeV (Particle Data Group). "
            "You weighed it from two muons."
        )
    if exercise.name == "pi0":
        return (
            f"Yes! The π⁰ has a mass of {truth:.3f} GeV, {truth * 1000:.0f} MeV (Particle Data Group). "
            "You weighed it from two photons."
        )
    return (
        f"Yes! The invisible Z′ in these events has a mass of {truth:.1f} GeV. "
        "You weighed a particle that nobody can see."
    )


def truth_of(exercise: Exercise, header: Mapping[str, np.ndarray] | np.ndarray) -> float | None:
    """The mass a class's answer is checked against: the PDG mass (J/ψ, π⁰) or the file's Z′ mass."""
    return exercise.pdg_mass if exercise.truth_pdg else true_peak(header)


def offered(batch: EventBatch, exercise: Exercise) -> np.ndarray:
    """Rows of ``batch`` an exercise offers: its filter, and for the π⁰ its number of photon clusters."""
    from events import filtering

    keep = filtering.parse(exercise.event_filter)(batch)
    if exercise.photons is not None:
        alone = ~np.asarray(batch.ecl["is_track"], dtype=bool)
        n = np.bincount(batch.ecl.event_index()[alone], minlength=len(batch))
        keep &= (n >= exercise.photons[0]) & (n <= exercise.photons[1])
    return np.flatnonzero(keep)


GENERATED_EVENTS = 300
GENERATED_SEED = 2026


def generated_events(exercise: Exercise, n: int = GENERATED_EVENTS, seed: int = GENERATED_SEED) -> EventBatch:
    """The simulated events of an exercise that needs no file (J/ψ, π⁰): its processes, a fixed seed."""
    from events.generator import generate

    unknown = [name for name, _ in exercise.generate if name not in BY_NAME]
    if not exercise.generate or unknown:
        raise ValueError(f"exercise {exercise.name!r} has no simulated events of its own")
    return generate(n, seed=seed, processes=dict(exercise.generate))
