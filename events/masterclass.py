"""The recoil-mass masterclass, without any window: the guided steps, the student's answers, the scoring.

A student looks at an event, picks the two muon tracks, reads their invariant mass M(μμ) and the mass
recoiling against them from the beams (``events.candidate``, the one place masses are computed), adds
M_recoil to a histogram and goes on. After ``needed`` entries a last step asks where the peak is; the
answer is checked against the mass injected into the sample (header ``signal_mass`` of the Z′ events).
Every added pair is checked against the Monte Carlo truth (tracks' ``mc_index`` → ``mc.pdg``).
``reset()`` prepares everything for the next group. Pure Python and numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from events import candidate
from events.generator.processes import SIGNAL_BY_NAME
from events.model import EventBatch

MUON = 13
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
class Verdict:
    """The truth about one added pair: were both tracks really muons?"""

    muons: bool
    signal: bool  # the event is a Z′ event of the sample
    message: str


def true_particles(event: EventBatch, tracks: tuple[int, ...]) -> list[int]:
    """|PDG| of the Monte Carlo particle behind each track (0 where the track has no truth)."""
    mc_index = np.asarray(event.tracks["mc_index"])
    mc_pdg = np.asarray(event.mc["pdg"])
    out = []
    for t in tracks:
        k = int(mc_index[t])
        out.append(abs(int(mc_pdg[k])) if 0 <= k < mc_pdg.size else 0)
    return out


def check_pair(event: EventBatch, tracks: tuple[int, ...]) -> Verdict:
    """Say in plain words whether the picked tracks were the two muons."""
    truth = true_particles(event, tracks)
    signal = int(event.header["signal"][0]) == ZPRIME
    if 0 in truth:
        return Verdict(
            False, signal, "This file does not know what the particles really were (no simulation truth)."
        )
    if all(p == MUON for p in truth):
        what = " This event had an invisible Z′ in it!" if signal else ""
        return Verdict(True, signal, f"Yes! Those were the two muons.{what}")
    wrong = [
        f"track {t + 1} was {PLAIN_NAMES.get(p, 'not a muon')}"
        for t, p in zip(tracks, truth, strict=True)
        if p != MUON
    ]
    return Verdict(False, signal, f"Not quite: {' and '.join(wrong)}. It still counts in your histogram.")


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
    tracks: tuple[int, int]
    mass: float
    recoil_mass: float
    verdict: Verdict


@dataclass
class Masterclass:
    """The state of one group's session: the current step, the picked tracks, the histogram entries."""

    truth_mass: float | None
    needed: int = NEEDED
    tolerance: float = TOLERANCE
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
            picks = [candidate.Pick("track", t, MUON) for t in self.picked]
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
            raise ValueError("pick two tracks first")
        if self.already_added:
            raise ValueError("this event is already in your histogram")
        tracks = (self.picked[0], self.picked[1])
        verdict = check_pair(self.event, tracks)
        self.entries.append(Entry(self.event_index, tracks, self.pair.mass, self.pair.recoil_mass, verdict))
        if self.step < Step.PEAK:
            self.step = Step.PEAK if self.ready_for_peak else Step.NEXT
        return verdict

    def answer(self, mass: float) -> tuple[bool, str]:
        """Check the student's peak mass against the truth of the sample, with a friendly message."""
        if not self.ready_for_peak:
            return False, f"Collect {self.needed - len(self.entries)} more events first."
        if self.truth_mass is None:
            return False, "This file has no simulated Z′, so there is no right answer to check."
        self.attempts += 1
        off = float(mass) - self.truth_mass
        if abs(off) <= self.tolerance:
            self.found, self.step = True, Step.DONE
            return True, (
                f"Yes! The invisible Z′ in these events has a mass of {self.truth_mass:.1f} GeV. "
                "You weighed a particle that nobody can see."
            )
        hint = "lower" if off > 0 else "higher"
        return False, f"Not quite. Look again: the peak is a bit {hint} than {mass:.1f} GeV."

    def reset(self) -> None:
        """Everything back to the start, for the next group (the event on screen stays)."""
        self.entries.clear()
        self.attempts, self.found = 0, False
        if self.event is not None:
            self.show(self.event, self.event_index)
        else:
            self.step, self.picked, self.pair = Step.LOOK, [], None
