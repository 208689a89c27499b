"""What the outreach show tells and how it looks, shared by the live show (``panels.outreach``) and
its movies (``displays.movie``): which collisions a visitor should see, a plain-words caption per
collision and the camera over the open detector. Pure text and numbers: no Qt, no VisPy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from displays import event_geometry as geo
from events import filtering
from events.generator.processes import BY_CODE, SIGNAL_BY_CODE, SIGNAL_PROCESS
from events.model import EventBatch, VertexKind

ELEVATION = 30.0  # degrees: looking down into the open detector from every side
TRACK_WIDTH = 3.0  # px on a 720-line screen: readable from across the room
CAMERA_CENTER = (0.0, -35.0, 20.0)  # cm: the open lower half sits in the middle of the screen
CAMERA_EXTENT = 430.0  # cm across the view
CUTAWAY = "half"
DEGREES_PER_S = 6.0  # the camera's slow turn
DWELL_S = 12.0  # each collision on screen
# the collision replayed in its own time (displays.timeline): 2.5 ns of it per second, so a track reaches
# the barrel calorimeter in under 2 s; an event whose slowest particle takes longer than GROW_S to
# arrive is played faster, so that every replay ends within GROW_S
NS_PER_S = 2.5
GROW_S = 5.0
# what a visitor should see: every injected signal, busy events, and clean two-track events
DEFAULT_FILTER = "signal >= 0 or ntracks >= 4 or (ntracks == 2 and max_p > 3)"
DEFAULT_SIGNALS = (
    "zprime:mass=3.0,fraction=0.02",
    "darkhiggs:ma=2,mh=3,fraction=0.02",
    "darkphoton:mass=4,fraction=0.02",
    "alp:mass=1.5,fraction=0.02",
    "llp:mass=1.0,ctau=5,channel=pipi,fraction=0.02",
)
GENERATED_CHUNK = 100

# headline and one sentence per generated process (code) and injected signal (code)
PROCESS_STORY: dict[str, tuple[str, str]] = {
    "eeee": (
        "Two photons collide",
        "The electron and the positron each threw off a photon; the two photons met and made a new "
        "electron–positron pair.",
    ),
    "eemumu": (
        "Two photons make two muons",
        "The beam particles each threw off a photon; the photons met and turned into a muon and an antimuon.",
    ),
    "eehadrons": (
        "Two photons make pions",
        "The beam particles each threw off a photon; the photons met and turned into a handful of pions.",
    ),
    "uubar": (
        "A spray of particles",
        "Pure energy became an up quark and its antiquark, which dressed up as pions and kaons.",
    ),
    "ddbar": (
        "A spray of particles",
        "Pure energy became a down quark and its antiquark, which turned into jets of pions.",
    ),
    "ssbar": (
        "A spray of particles",
        "Pure energy became a strange quark and its antiquark: look for kaons.",
    ),
    "ccbar": ("Charm!", "The collision made a charm quark and its antiquark, which live on inside D mesons."),
    "mumu": (
        "A muon pair",
        "Electron and positron annihilated into a muon and an antimuon, heavy cousins of the electron, "
        "flying out back to back.",
    ),
    "bbbar_charged": (
        "Two B mesons",
        "The collision made an Υ(4S), which fell apart into a B⁺ and a B⁻: the particles Belle II was built "
        "to study matter and antimatter with.",
    ),
    "bbbar_mixed": (
        "Two B mesons",
        "The collision made an Υ(4S), which fell apart into a neutral B and its antiparticle: they change "
        "into each other as they fly.",
    ),
    "tautau": (
        "A tau pair",
        "Electron and positron became two tau leptons, which decayed within a millimetre.",
    ),
    "bhabha": (
        "Electron meets positron",
        "They bounced off each other and stopped in the crystal calorimeter.",
    ),
    "gammagamma": ("Two flashes of light", "Electron and positron annihilated into two photons of light."),
}
SIGNAL_STORY: dict[str, tuple[str, str]] = {
    "zprime": (
        "Simulated: a hidden Z′ boson?",
        "Two muons, and energy vanishing into something invisible: what a dark-matter messenger might "
        "look like.",
    ),
    "darkhiggs": (
        "Simulated: a dark Higgs?",
        "A dark photon decays into two muons while a dark Higgs escapes unseen.",
    ),
    "darkphoton": (
        "Simulated: one lonely photon",
        "A single flash of light and nothing else: an invisible dark photon could carry the rest away.",
    ),
    "alp": (
        "Simulated: an axion-like particle",
        "A photon and a short-lived new particle that turns into two more photons.",
    ),
    "llp": (
        "Simulated: a long-lived particle",
        "A new particle flies a few centimetres before decaying: look for tracks that start away from "
        "the centre.",
    ),
}
DATA_STORY = (
    "A collision in Belle II",
    "An electron (7 GeV) and a positron (4 GeV) met at the centre of the detector.",
)


def replay_rate(duration_ns: float, ns_per_s: float = NS_PER_S, longest_s: float = GROW_S) -> float:
    """Nanoseconds of the collision per second of the show for an event lasting ``duration_ns``: the
    slow-motion factor, made faster only where the replay would outlast ``longest_s``."""
    return max(float(ns_per_s), float(duration_ns) / longest_s) if longest_s > 0 else float(ns_per_s)


def clock_text(time_ns: float | None) -> str:
    """How long after the collision the picture is, in plain words ("" for the whole event)."""
    return "" if time_ns is None else f"{time_ns:.1f} billionths of a second after the collision"


def story(event: EventBatch) -> tuple[str, str]:
    """Headline and sentence for what kind of collision this is."""
    process, signal = int(event.header["process"][0]), int(event.header["signal"][0])
    if process == SIGNAL_PROCESS and signal in SIGNAL_BY_CODE:
        return SIGNAL_STORY.get(SIGNAL_BY_CODE[signal].name, DATA_STORY)
    if process in BY_CODE:
        return PROCESS_STORY.get(BY_CODE[process].name, DATA_STORY)
    return DATA_STORY


def facts(event: EventBatch) -> str:
    """What the visitor can count in the picture, in plain words."""
    n_tracks = event.tracks.size
    photons = geo.photon_clusters(event.ecl)
    n_photons = int(photons.sum())
    energy = float(np.nansum(event.ecl["energy"][photons]))
    parts = [
        f"{n_tracks} charged particle{'s' if n_tracks != 1 else ''} curve in the 1.5 T magnetic field "
        "(orange: positive, blue: negative)"
        if n_tracks
        else "No charged particle: light leaves no track, only flashes in the calorimeter"
    ]
    if n_photons:
        parts.append(
            f"{n_photons} flash{'es' if n_photons != 1 else ''} of light in the crystal calorimeter "
            f"({energy:.1f} GeV)"
        )
    if (event.vertices["kind"] != VertexKind.PRIMARY).any():
        parts.append("orange tracks: an unstable particle decayed in flight")
    return " · ".join(parts) + "."


def caption(event: EventBatch) -> str:
    """The whole caption as plain text: headline, sentence, facts."""
    head, sentence = story(event)
    return f"{head}\n{sentence}\n{facts(event)}"


def generated_collisions(
    n: int, seed: int = 0, signals: Sequence[str] = DEFAULT_SIGNALS, filter_text: str = DEFAULT_FILTER
) -> EventBatch:
    """The first ``n`` interesting collisions (``filter_text``) of the generator with ``signals`` mixed
    in, as the outreach show plays them when it has no file; the same ``seed`` gives the same events."""
    from events.generator import parse_signal, stream

    keep = filtering.parse(filter_text)
    found: list[EventBatch] = []
    have, empty_chunks = 0, 0
    for batch in stream(seed, [parse_signal(s) for s in signals], chunk_size=GENERATED_CHUNK):
        if have >= n:
            break
        chosen = np.flatnonzero(keep(batch))[: n - have]
        empty_chunks = 0 if len(chosen) else empty_chunks + 1
        if empty_chunks >= 100:
            raise RuntimeError(f"the generator made no event passing {filter_text!r} in 10000 events")
        if len(chosen):
            found.append(batch.take(chosen))
            have += len(chosen)
    return EventBatch.concat(found) if found else EventBatch.empty()
