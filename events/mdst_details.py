"""What an mdst holds beyond the event model, for one event at a time (docs/detector.md §11.1).

The event model (``events.model``) carries what the display draws; the Inspector and ``dump
--details`` show the rest of an mdst event, read here for ONE entry (only the branches needed,
straight from the file's tree) into plain dataclasses:

* **PID** per track: the PIDLikelihood's ``m_logl[detector][hypothesis]`` (detectors SVD, CDC, TOP,
  ARICH, ECL, KLM, ``Const::PIDDetectors``; hypotheses e, μ, π, K, p, d), the detectors that
  contributed (``m_detectors``, ``Const::DetectorSet`` bits), and the probabilities basf2's
  ``PIDLikelihood::getProbability`` gives with equal priors: the global one (softmax of the
  summed log L over the six hypotheses) and the binary one against the pion.
* **Fit hypotheses**: every TrackFitResult a track points to (``m_trackFitIndices``, order e μ π K p d).
* **MC truth tree**: every MCParticle with mother, daughters (1-based ranges in the file, 0-based
  here), production and decay vertex and time, status bits, "seen in" detectors, Geant4 process.
* **MC relation weights**: track/ECL/KLM -> MCParticle with their weights. A negative track weight
  is basf2's mark for a clone (``MCRecoTracksMatcher`` writes ``-purity``); ECL weights are energies.
* **HLT**: ``SoftwareTriggerResult``, identifier -> (prescaled, non-prescaled) result, 1 accept,
  -1 reject, 0 no result (class version 4 and older store one int: the prescaled result).
* **Event-level objects** (EventLevelTriggerTimeInfo, EventLevelTrackingInfo,
  EventLevelClusteringInfo, TRGSummary timing, EventMetaData extras) and **every member** of the
  selected ECL/KLM cluster, track and V0 (cluster shape variables, and members newer class versions
  add: they are listed by name whatever the version).

**Class versions.** Leaves are found by member name (array dimensions ignored), so members that
newer versions add are shown and ones they drop are skipped. A branch the file lacks makes its
section "not in this file"; a branch present without a leaf a section cannot do without (renamed
or dropped) gives one line in ``issues`` naming the file, the branch and the leaf, and the section
is left out. Non-mdst sources have none of this (:func:`details_for` says so) but the MC tree of
the generator's truth where the batch carries one.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from events.model import EventBatch

HYPOTHESES = ("e", "mu", "pi", "K", "p", "d")  # Const::ChargedStable order, as m_logl and m_trackFitIndices
PID_DETECTORS = ("SVD", "CDC", "TOP", "ARICH", "ECL", "KLM")  # Const::PIDDetectors, rows of m_logl
DETECTOR_BITS = {  # Const::DetectorSet::getBit: 1 << (EDetector - 1)
    "PXD": 0x1, "SVD": 0x2, "CDC": 0x4, "TOP": 0x8, "ARICH": 0x10, "ECL": 0x20, "KLM": 0x40,
    "IR": 0x80, "TRG": 0x100, "DAQ": 0x200, "BEAST": 0x400, "TEST": 0x800,
}  # fmt: skip
MC_STATUS = {  # MCParticle::StatusBit
    0x1: "primary", 0x2: "stable in generator", 0x4: "left detector", 0x8: "stopped in detector",
    0x10: "virtual", 0x20: "initial", 0x40: "ISR photon", 0x80: "FSR photon", 0x100: "PHOTOS photon",
}  # fmt: skip
HLT_RESULT = {1: "accept", -1: "reject", 0: "no result"}  # SoftwareTriggerCutResult
TIMING_TYPE = {  # TRGSummary::ETimingType
    0: "ECL", 1: "TOP", 2: "self", 3: "CDC", 5: "delayed physics", 7: "random", 9: "test pulse",
    13: "Poisson random", 15: "none",
}  # fmt: skip
TIMING_QUALITY = {0: "none", 1: "coarse", 2: "fine", 3: "super fine"}
FTSW_CLOCK_MHZ = 508.887 / 4  # EventLevelTriggerTimeInfo counts ticks of the RF/4 clock (nominal RF)
NO_INJECTION = 0x7FFFFFFF  # EventLevelTriggerTimeInfo::c_flagNoInjection
TRACKING_FLAGS = {0: "unspecified track-finding failure", 1: "VXDTF2 aborted (high combinatorics)"}
CDC_HITS_SHIFT = 56  # HitPatternCDC: the 8 most significant bits count hits (segments at event level)
ARRAYS_WITH_MEMBERS = ("Tracks", "ECLClusters", "KLMClusters", "V0s")
EVENT_OBJECTS = (
    "EventLevelTriggerTimeInfo", "EventLevelTrackingInfo", "EventLevelClusteringInfo", "TRGSummary",
    "EventMetaData",
)  # fmt: skip
MC_RELATIONS = {
    "track": "TracksToMCParticles",
    "ecl": "ECLClustersToMCParticles",
    "klm": "KLMClustersToMCParticles",
}
SKIPPED_MEMBERS = {"fUniqueID", "fBits"}
# members of event objects not worth a row: the trigger words the event model already decodes
EVENT_MEMBERS_LEFT_OUT = {"TRGSummary": {"m_prescaleBits", "m_inputBits", "m_ftdlBits", "m_psnmBits"}}
CACHE_EVENTS = 8  # details kept per reader (the browser goes back and forth)
BLOCK_EVENTS = 16  # entries read from the file at once

_NAMES = {
    11: "e-", 12: "nu_e", 13: "mu-", 14: "nu_mu", 15: "tau-", 16: "nu_tau", 22: "gamma", 111: "pi0",
    113: "rho0", 130: "K_L0", 211: "pi+", 213: "rho+", 221: "eta", 223: "omega", 310: "K_S0", 311: "K0",
    313: "K*0", 321: "K+", 323: "K*+", 331: "eta'", 333: "phi", 411: "D+", 413: "D*+", 421: "D0",
    423: "D*0", 431: "D_s+", 433: "D_s*+", 443: "J/psi", 511: "B0", 513: "B*0", 521: "B+", 523: "B*+",
    531: "B_s0", 2112: "n0", 2212: "p+", 3112: "Sigma-", 3122: "Lambda0", 3212: "Sigma0", 3222: "Sigma+",
    3312: "Xi-", 3322: "Xi0", 3334: "Omega-", 4122: "Lambda_c+", 300553: "Upsilon(4S)",
    1000010020: "deuteron",
}  # fmt: skip


def particle_name(pdg: int) -> str:
    """A short name for a PDG code (``B+``, ``anti-D0``), ``pdg N`` for codes not in the table."""
    name = _NAMES.get(abs(pdg))
    if name is None:
        return f"pdg {pdg}"
    if pdg > 0:
        return name
    if name[-1] in "+-":
        return name[:-1] + ("-" if name[-1] == "+" else "+")
    return "anti-" + name


Value = Any
Rows = list[tuple[str, Value]]


def detector_names(bits: int, names: Iterable[str] = DETECTOR_BITS) -> tuple[str, ...]:
    """The detectors of a ``Const::DetectorSet`` bit field, in detector order."""
    return tuple(n for n in names if bits & DETECTOR_BITS[n])


def status_names(status: int) -> tuple[str, ...]:
    """The MCParticle status bits by name; unknown bits as ``bit N``."""
    out = [name for bit, name in MC_STATUS.items() if status & bit]
    rest = status & ~sum(MC_STATUS)
    out += [f"bit {k}" for k in range(32) if rest >> k & 1]
    return tuple(out)


def global_probabilities(summed: np.ndarray) -> np.ndarray:
    """L_h / sum over the six hypotheses (equal priors), from summed log-likelihoods."""
    top = float(np.max(summed))
    w = np.exp(np.asarray(summed, np.float64) - top)
    return w / w.sum()


@dataclass
class TrackPid:
    """The PIDLikelihood of one track."""

    track: int
    logl: np.ndarray  # (6, 6) [detector (PID_DETECTORS)][hypothesis (HYPOTHESES)]
    detector_bits: int | None  # m_detectors; None if the file does not store it

    @property
    def detectors(self) -> tuple[str, ...]:
        """Detectors that contributed: from m_detectors, else those with a non-zero row."""
        if self.detector_bits is not None:
            return detector_names(self.detector_bits, PID_DETECTORS)
        return tuple(d for d, row in zip(PID_DETECTORS, self.logl, strict=True) if np.any(row != 0))

    @property
    def summed(self) -> np.ndarray:
        """log L per hypothesis summed over the detectors (the event model's ``pid_logl``)."""
        return self.logl.astype(np.float64).sum(axis=0)

    @property
    def probabilities(self) -> np.ndarray:
        return global_probabilities(self.summed)

    @property
    def binary_vs_pion(self) -> np.ndarray:
        """P(h) / (P(h) + P(π)) per hypothesis (basf2's binary PID against the pion)."""
        s = self.summed
        return 1.0 / (1.0 + np.exp(s[HYPOTHESES.index("pi")] - s))


@dataclass
class FitHypothesis:
    """One TrackFitResult of a track."""

    hypothesis: str  # the mass hypothesis slot of m_trackFitIndices (e mu pi K p d)
    fit_index: int  # position in the event's TrackFitResults
    pdg: int
    helix: tuple[float, ...]  # d0, phi0, omega, z0, tan_lambda
    p_value: float | None = None
    ndf: int | None = None
    cdc_hits: int | None = None  # HitPatternCDC hit count
    members: dict[str, Value] = field(default_factory=dict)  # the fit's other members (newer versions)


@dataclass
class McParticle:
    """One MCParticle, its tree links 0-based (-1: none)."""

    index: int
    pdg: int
    mother: int
    daughters: list[int]
    status: int | None = None
    momentum: tuple[float, float, float] | None = None
    energy: float | None = None
    mass: float | None = None
    production_vertex: tuple[float, float, float] | None = None
    production_time: float | None = None
    decay_vertex: tuple[float, float, float] | None = None
    decay_time: float | None = None
    valid_vertex: bool | None = None
    seen_in_bits: int | None = None
    secondary_process: int | None = None

    @property
    def seen_in(self) -> tuple[str, ...] | None:
        return None if self.seen_in_bits is None else detector_names(self.seen_in_bits)

    @property
    def status_names(self) -> tuple[str, ...] | None:
        return None if self.status is None else status_names(self.status)


@dataclass
class McLink:
    """A reconstructed object's relation to an MCParticle, with its weight."""

    kind: str  # "track", "ecl", "klm"
    index: int  # the object's index in the event model (-1 if the model dropped it)
    mc: int
    weight: float

    @property
    def clone(self) -> bool:
        """basf2 marks a track that is a clone of a better-matched one with a negative weight."""
        return self.kind == "track" and self.weight < 0


@dataclass
class HltResult:
    identifier: str
    prescaled: int
    non_prescaled: int | None  # None for SoftwareTriggerResult versions with one result

    @property
    def accepted(self) -> bool:
        return self.prescaled == 1

    def words(self) -> str:
        text = HLT_RESULT.get(self.prescaled, str(self.prescaled))
        if self.non_prescaled is not None and self.non_prescaled != self.prescaled:
            text += f" (before prescale: {HLT_RESULT.get(self.non_prescaled, str(self.non_prescaled))})"
        return text


@dataclass
class EventDetails:
    """The details of one event; a section is None where the source cannot give it (see ``notes``)."""

    source: str
    entry: int
    available: bool = True  # False: not an mdst (``reason`` says what it is)
    reason: str = ""
    mc_origin: str = "mdst MCParticles"
    pid: dict[int, TrackPid] | None = None
    fits: dict[int, list[FitHypothesis]] | None = None
    mc: list[McParticle] | None = None
    mc_links: list[McLink] | None = None
    hlt: list[HltResult] | None = None
    event_info: dict[str, Rows] = field(default_factory=dict)
    members: dict[str, list[dict[str, Value]]] = field(default_factory=dict)  # array -> per file row
    ecl_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # model ecl -> file row
    notes: dict[str, str] = field(default_factory=dict)  # section -> why it is missing
    issues: list[str] = field(default_factory=list)  # renamed or missing leaves, one line each

    def note(self, section: str) -> str:
        """Why ``section`` is empty: its note, 'not available' for non-mdst sources, or ''."""
        if section in self.notes:
            return self.notes[section]
        return "" if self.available else f"not available: {self.reason}"

    def links_of(self, kind: str, index: int) -> list[McLink]:
        return [link for link in self.mc_links or () if link.kind == kind and link.index == index]

    def links_to(self, mc: int) -> list[McLink]:
        return [link for link in self.mc_links or () if link.mc == mc]

    def member_rows(self, array: str, row: int) -> dict[str, Value]:
        rows = self.members.get(array, [])
        return rows[row] if 0 <= row < len(rows) else {}

    def ecl_members(self, index: int) -> dict[str, Value]:
        """Every member of the ECL cluster the event model calls ``index``."""
        row = int(self.ecl_rows[index]) if 0 <= index < len(self.ecl_rows) else -1
        return self.member_rows("ECLClusters", row)


# --- the tree's leaves by member name ---------------------------------------------------------------

_DIMS = re.compile(r"(\[\d+\])+$")


def member_index(keys: Iterable[str]) -> dict[tuple[str, str], str]:
    """(branch, member) -> leaf key: ``ECLClusters/ECLClusters.m_E9oE21`` -> ('ECLClusters', 'm_E9oE21'),
    ``TracksToMCParticles/m_elements/m_elements.m_to`` -> ('TracksToMCParticles', 'm_elements.m_to'),
    ``Tracks/Tracks.m_trackFitIndices[6]`` -> ('Tracks', 'm_trackFitIndices'). Group branches (those
    with sub-branches), TObject bookkeeping and counters are left out."""
    keys = list(keys)
    parents = {k.rsplit("/", 1)[0] for k in keys if "/" in k}
    out: dict[tuple[str, str], str] = {}
    for key in keys:
        if "/" not in key or key in parents:
            continue
        branch, leaf = key.split("/", 1)[0], key.rsplit("/", 1)[1]
        if leaf.startswith(branch + "."):
            leaf = leaf[len(branch) + 1 :]
        leaf = _DIMS.sub("", leaf)
        if leaf.rsplit(".", 1)[-1] in SKIPPED_MEMBERS:
            continue
        out.setdefault((branch, leaf), key)
    return out


def _plain(value: Any) -> Value:
    """An awkward/numpy value as plain Python (lists, ints, floats, bools, str)."""
    if isinstance(value, ak.Array | ak.Record):
        return ak.to_list(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _bits(value: Value) -> int:
    """A std::bitset read as a list of bools, or an int, as an int."""
    if isinstance(value, list):
        return sum(1 << k for k, b in enumerate(value) if b)
    return int(value)


class MdstDetails:
    """Reads the details of single events from an open mdst tree (uproot TTree)."""

    def __init__(self, tree: Any, path: str) -> None:
        self.tree = tree
        self.path = str(path)
        self.members = member_index(tree.keys())
        self.branches = {branch for branch, _ in self.members}
        self._cache: OrderedDict[int, EventDetails] = OrderedDict()
        self._block: tuple[int, int, dict[str, list[Value]], list[str]] | None = None
        self._lost: list[str] = []

    def __len__(self) -> int:
        return int(self.tree.num_entries)

    def key(self, branch: str, member: str) -> str | None:
        return self.members.get((branch, member))

    def _all_members(self, branch: str) -> dict[str, str]:
        return {m: k for (b, m), k in self.members.items() if b == branch}

    def read(self, entry: int) -> EventDetails:
        """The details of entry ``entry`` (cached: the last few entries asked for)."""
        got = self._cache.get(entry)
        if got is None:
            got = self._read(entry)
            self._cache[entry] = got
            while len(self._cache) > CACHE_EVENTS:
                self._cache.popitem(last=False)
        self._cache.move_to_end(entry)
        return got

    def _read(self, entry: int) -> EventDetails:
        from events.source import EventFileError

        if not 0 <= entry < len(self):
            raise EventFileError(
                self.path, f"event index {entry} out of range: the file holds {len(self)} events"
            )
        details = EventDetails(self.path, entry)
        wanted = list(self._wanted())
        values = self._values(wanted, entry, details)
        r = _Reader(self, values, details)
        r.fits()
        r.pid()
        r.mc()
        r.ecl_rows()
        r.mc_links()
        r.hlt()
        r.event_info()
        r.members()
        return details

    def _wanted(self) -> Iterable[str]:
        keep = {
            *ARRAYS_WITH_MEMBERS,
            "TrackFitResults",
            "PIDLikelihoods",
            "MCParticles",
            "SoftwareTriggerResult",
            "TracksToPIDLikelihoods",
            *MC_RELATIONS.values(),
            *EVENT_OBJECTS,
        }
        for (branch, member), key in self.members.items():
            if branch in keep and member not in EVENT_MEMBERS_LEFT_OUT.get(branch, ()):
                yield key

    def _values(self, keys: Sequence[str], entry: int, details: EventDetails) -> dict[str, Value]:
        """Each leaf's value for the entry as plain Python. Entries are read in blocks of
        ``BLOCK_EVENTS`` (uproot's cost is per leaf, hardly per entry), so stepping through the
        events reads the file once a block; a leaf that cannot be read is left out with an issue."""
        block = self._block
        if block is None or not block[0] <= entry < block[1]:
            start = entry - entry % BLOCK_EVENTS
            stop = min(start + BLOCK_EVENTS, len(self))
            self._lost = []
            block = self._block = (start, stop, self._arrays(keys, start, stop), self._lost)
        start, _, arrays, unreadable = block
        details.issues += unreadable
        return {k: v[entry - start] for k, v in arrays.items()}

    def _arrays(self, keys: Sequence[str], start: int, stop: int) -> dict[str, list[Value]]:
        """The leaves of entries start:stop as plain Python lists (one element per entry)."""
        try:
            got = self.tree.arrays(keys, entry_start=start, entry_stop=stop, library="ak", how=dict)
            return {k: _plain(v) for k, v in got.items()}
        except Exception:  # one unreadable leaf (an odd class member): read them one by one
            out: dict[str, list[Value]] = {}
            lost: list[str] = []
            for key in keys:
                try:
                    one = self.tree.arrays([key], entry_start=start, entry_stop=stop, library="ak", how=dict)
                    out[key] = _plain(one[key])
                except Exception as exc:
                    lost.append(f"{self.path}: leaf {key} cannot be read ({type(exc).__name__}): left out")
            self._lost = lost
            return out


class _Reader:
    """Fills one EventDetails from the leaf values of one entry."""

    def __init__(self, owner: MdstDetails, values: Mapping[str, Value], details: EventDetails) -> None:
        self.o, self.v, self.d = owner, values, details

    def get(self, branch: str, member: str) -> Any:
        key = self.o.key(branch, member)
        return None if key is None else self.v.get(key)

    def need(self, section: str, branch: str, members: Sequence[str], what: str) -> bool:
        """True if the branch and these members are there; else the section's note (branch missing)
        or one issue line naming file, branch and leaf (a member renamed or dropped)."""
        if branch not in self.o.branches:
            self.d.notes.setdefault(section, f"not in this file (no {branch} branch)")
            return False
        lost = [m for m in members if self.o.key(branch, m) is None or self.o.key(branch, m) not in self.v]
        if lost:
            line = (
                f"{self.o.path}: {branch} has no leaf {', '.join(f'{branch}.{m}' for m in lost)} "
                f"(renamed or dropped in this class version): no {what}"
            )
            self.d.issues.append(line)
            self.d.notes[section] = line
            return False
        return True

    def relation(self, name: str, section: str = "mc_links") -> list[tuple[int, int, float]] | None:
        """(from, to, weight) triples of a relation container, or None if the file lacks it."""
        members = ("m_elements.m_from", "m_elements.m_to", "m_elements.m_weights")
        if name not in self.o.branches or not self.need(section, name, members[:2], f"relation {name}"):
            return None
        frm, to = self.get(name, members[0]) or [], self.get(name, members[1]) or []
        weights = self.get(name, members[2]) or [[1.0] * len(t) for t in to]
        out = []
        for f, targets, ws in zip(frm, to, weights, strict=False):
            ws = ws if len(ws) == len(targets) else [1.0] * len(targets)
            out += [(int(f), int(t), float(w)) for t, w in zip(targets, ws, strict=True)]
        return out

    def fits(self) -> None:
        if not (
            self.need("fits", "Tracks", ["m_trackFitIndices"], "fit hypotheses")
            and self.need("fits", "TrackFitResults", ["m_tau", "m_pdg"], "fit hypotheses")
        ):
            return
        taus, pdgs = self.get("TrackFitResults", "m_tau"), self.get("TrackFitResults", "m_pdg")
        optional = {
            m: self.get("TrackFitResults", m) for m in ("m_pValue", "m_NDF", "m_hitPatternCDCInitializer")
        }
        known = {"m_tau", "m_pdg", "m_pValue", "m_NDF", "m_hitPatternCDCInitializer", "m_cov5"}
        others = {
            m: self.v.get(k) for m, k in self.o._all_members("TrackFitResults").items() if m not in known
        }
        fits: dict[int, list[FitHypothesis]] = {}
        for t, indices in enumerate(self.get("Tracks", "m_trackFitIndices") or []):
            hyps = []
            for slot, j in enumerate(indices):
                if not 0 <= j < len(taus) or slot >= len(HYPOTHESES):
                    continue

                def at(member: str, j: int = j) -> Value | None:
                    col = optional[member]
                    return None if col is None or j >= len(col) else col[j]

                cdc = at("m_hitPatternCDCInitializer")
                hyps.append(
                    FitHypothesis(
                        HYPOTHESES[slot],
                        int(j),
                        int(pdgs[j]),
                        tuple(float(x) for x in taus[j]),
                        p_value=at("m_pValue"),
                        ndf=at("m_NDF"),
                        cdc_hits=None if cdc is None else int(cdc) >> CDC_HITS_SHIFT,
                        members={m: col[j] for m, col in others.items() if col is not None and j < len(col)},
                    )
                )
            fits[t] = hyps
        self.d.fits = fits

    def pid(self) -> None:
        if not self.need("pid", "PIDLikelihoods", ["m_logl"], "per-detector PID"):
            return
        logl = self.get("PIDLikelihoods", "m_logl") or []
        bits = self.get("PIDLikelihoods", "m_detectors.m_bits")
        size = len(PID_DETECTORS) * len(HYPOTHESES)
        for row in logl:
            if len(np.ravel(row)) != size:
                line = (
                    f"{self.o.path}: PIDLikelihoods.m_logl holds {len(np.ravel(row))} values per track, "
                    f"expected {len(PID_DETECTORS)} detectors x {len(HYPOTHESES)} hypotheses: "
                    "no per-detector PID"
                )
                self.d.issues.append(line)
                self.d.notes["pid"] = line
                return
        pairs = self.relation("TracksToPIDLikelihoods", "pid")
        if pairs is None:
            self.d.notes.setdefault("pid", "not in this file (no TracksToPIDLikelihoods relation)")
            return
        out: dict[int, TrackPid] = {}
        for track, j, _ in pairs:
            if 0 <= j < len(logl) and track not in out:
                b = None if bits is None or j >= len(bits) else int(bits[j])
                out[track] = TrackPid(track, np.asarray(logl[j], np.float64).reshape(6, 6), b)
        self.d.pid = out

    def mc(self) -> None:
        need = ["m_pdg", "m_mother", "m_firstDaughter", "m_lastDaughter"]
        if not self.need("mc", "MCParticles", need, "MC truth tree"):
            return
        g = {
            m: self.get("MCParticles", m)
            for m in (
                "m_pdg",
                "m_mother",
                "m_firstDaughter",
                "m_lastDaughter",
                "m_status",
                "m_momentum_x",
                "m_momentum_y",
                "m_momentum_z",
                "m_energy",
                "m_mass",
                "m_productionVertex_x",
                "m_productionVertex_y",
                "m_productionVertex_z",
                "m_productionTime",
                "m_decayVertex_x",
                "m_decayVertex_y",
                "m_decayVertex_z",
                "m_decayTime",
                "m_validVertex",
                "m_seenIn.m_bits",
                "m_secondaryPhysicsProcess",
            )
        }
        n = len(g["m_pdg"])

        def one(member: str, i: int) -> Any:
            col = g[member]
            return None if col is None or i >= len(col) else col[i]

        def vec(prefix: str, i: int, names: str = "xyz") -> tuple[float, float, float] | None:
            parts = [one(prefix + c, i) for c in names]
            return (
                None if any(p is None for p in parts) else (float(parts[0]), float(parts[1]), float(parts[2]))
            )

        out = []
        for i in range(n):
            first, last = int(g["m_firstDaughter"][i]), int(g["m_lastDaughter"][i])
            daughters = list(range(first - 1, last)) if 0 < first <= last <= n else []
            out.append(
                McParticle(
                    i,
                    int(g["m_pdg"][i]),
                    int(g["m_mother"][i]) - 1,
                    daughters,
                    status=one("m_status", i),
                    momentum=vec("m_momentum_", i),
                    energy=one("m_energy", i),
                    mass=one("m_mass", i),
                    production_vertex=vec("m_productionVertex_", i),
                    production_time=one("m_productionTime", i),
                    decay_vertex=vec("m_decayVertex_", i),
                    decay_time=one("m_decayTime", i),
                    valid_vertex=one("m_validVertex", i),
                    seen_in_bits=one("m_seenIn.m_bits", i),
                    secondary_process=one("m_secondaryPhysicsProcess", i),
                )
            )
        self.d.mc = out

    def ecl_rows(self) -> None:
        hyp = self.get("ECLClusters", "m_hypotheses")
        if hyp is None:
            theta = self.get("ECLClusters", "m_theta") or []
            self.d.ecl_rows = np.arange(len(theta))
        else:  # the event model keeps every cluster with a hypothesis bit (events.mdst._ecl)
            self.d.ecl_rows = np.flatnonzero((np.asarray(hyp, np.int64) & (16 | 32)) != 0)

    def mc_links(self) -> None:
        model_of_row = np.full(int(self.d.ecl_rows.max()) + 1 if len(self.d.ecl_rows) else 0, -1)
        model_of_row[self.d.ecl_rows] = np.arange(len(self.d.ecl_rows))
        links: list[McLink] = []
        found = False
        for kind, name in MC_RELATIONS.items():
            pairs = self.relation(name)
            if pairs is None:
                continue
            found = True
            for frm, to, w in pairs:
                index = frm
                if kind == "ecl":
                    index = int(model_of_row[frm]) if frm < len(model_of_row) else -1
                links.append(McLink(kind, index, to, w))
        if found:
            self.d.mc_links = links
        else:
            self.d.notes.setdefault("mc_links", "not in this file (no relations to MCParticles)")

    def hlt(self) -> None:
        branch = "SoftwareTriggerResult"
        if branch not in self.o.branches:
            self.d.notes["hlt"] = f"not in this file (no {branch} branch)"
            return
        pair = self.o.key(branch, "m_results.second.first") is not None
        second = ["m_results.second.first"] if pair else ["m_results.second"]
        if not self.need("hlt", branch, ["m_results.first", *second], "HLT results"):
            return
        names = self.get(branch, "m_results.first") or []
        first = self.get(branch, second[0]) or []
        other = self.get(branch, "m_results.second.second") if pair else None
        self.d.hlt = [
            HltResult(str(name), int(a), None if other is None else int(other[k]))
            for k, (name, a) in enumerate(zip(names, first, strict=True))
        ]

    def event_info(self) -> None:
        for obj in EVENT_OBJECTS:
            rows: Rows = []
            for member, key in self.o._all_members(obj).items():
                if key in self.v and member not in EVENT_MEMBERS_LEFT_OUT.get(obj, ()):
                    rows.append((member, self.v[key]))
            if rows:
                self.d.event_info[obj] = decode_event_object(obj, rows)
        if not self.d.event_info:
            self.d.notes["event_info"] = "not in this file (no event-level objects)"

    def members(self) -> None:
        for array in ARRAYS_WITH_MEMBERS:
            cols = {m: self.v[k] for m, k in self.o._all_members(array).items() if k in self.v}
            cols = {m: c for m, c in cols.items() if isinstance(c, list)}
            if not cols:
                continue
            n = max(len(c) for c in cols.values())
            self.d.members[array] = [{m: c[i] for m, c in cols.items() if i < len(c)} for i in range(n)]


def decode_event_object(obj: str, rows: Rows) -> Rows:
    """Rows of an event-level object with its coded members in words (units in the labels)."""
    raw = dict(rows)
    out: Rows = []
    if obj == "EventLevelTriggerTimeInfo" and raw.get("m_isValid") is False:
        out.append(("trigger timing", "not valid (no TTD information in this event, e.g. simulation)"))
    elif obj == "EventLevelTriggerTimeInfo":
        ticks = raw.get("m_timeSinceLastInjection")
        if ticks is not None:
            out.append(
                (
                    "time since injection [us]",
                    "no injection" if ticks == NO_INJECTION else round(ticks / FTSW_CLOCK_MHZ, 3),
                )
            )
        if "m_isHER" in raw:
            out.append(("injected ring", "HER" if raw["m_isHER"] else "LER"))
        if "m_timeSincePrevTrigger" in raw:
            out.append(
                ("time since previous trigger [us]", round(raw["m_timeSincePrevTrigger"] / FTSW_CLOCK_MHZ, 3))
            )
        if "m_bunchNumber" in raw:
            out.append(("triggered bunch", raw["m_bunchNumber"]))
    elif obj == "EventLevelTrackingInfo":
        if "m_flagBlock" in raw:
            flags = _bits(raw["m_flagBlock"])
            raw["m_flagBlock"] = flags
            named = [TRACKING_FLAGS.get(k, f"flag {k}") for k in range(16) if flags >> k & 1]
            out.append(("tracking flags", ", ".join(named) or "none"))
        if "m_hitPatternCDCInitializer" in raw:
            out.append(
                ("CDC segments not in tracks", int(raw["m_hitPatternCDCInitializer"]) >> CDC_HITS_SHIFT)
            )
        svd = raw.get("m_nSVDClusters")
        if isinstance(svd, list) and len(svd) == 8:  # index layer - 3 + 4 * isU (getNVXDClustersInLayer)
            out.append(("SVD clusters not in tracks L3-L6 (u)", svd[4:]))
            out.append(("SVD clusters not in tracks L3-L6 (v)", svd[:4]))
    elif obj == "TRGSummary":
        if "m_timType" in raw:
            out.append(("L1 timing source", TIMING_TYPE.get(raw["m_timType"], f"type {raw['m_timType']}")))
        if "m_timQuality" in raw:
            out.append(
                ("L1 timing quality", TIMING_QUALITY.get(raw["m_timQuality"], str(raw["m_timQuality"])))
            )
    return out + [(m, v) for m, v in raw.items()]


# --- any source -----------------------------------------------------------------------------------


def mc_from_batch(event: EventBatch) -> list[McParticle]:
    """The generator's truth of a one-event batch as an MC tree (daughters from the mother links)."""
    mc = event.mc
    n = mc.size
    mothers = mc["mother"].astype(np.int64) if n else np.zeros(0, np.int64)
    daughters: list[list[int]] = [[] for _ in range(n)]
    for i, m in enumerate(mothers.tolist()):
        if 0 <= m < n:
            daughters[m].append(i)

    def vec(a: str, b: str, c: str, i: int) -> tuple[float, float, float] | None:
        v = (float(mc[a][i]), float(mc[b][i]), float(mc[c][i]))
        return v if all(math.isfinite(x) for x in v) else None

    return [
        McParticle(
            i,
            int(mc["pdg"][i]),
            int(mothers[i]),
            daughters[i],
            momentum=vec("px", "py", "pz", i),
            energy=float(mc["energy"][i]),
            mass=float(mc["mass"][i]),
            production_vertex=vec("vx", "vy", "vz", i),
            decay_vertex=vec("dx", "dy", "dz", i),
        )
        for i in range(n)
    ]


_READERS: OrderedDict[int, MdstDetails] = OrderedDict()  # id(tree) -> reader, a few files at most


def reader_for(tree: Any, path: str) -> MdstDetails:
    """The (cached) details reader of an open mdst tree."""
    reader = _READERS.get(id(tree))
    if reader is None or reader.tree is not tree:
        reader = _READERS[id(tree)] = MdstDetails(tree, path)
        while len(_READERS) > 4:
            _READERS.popitem(last=False)
    return reader


# plain names of the sources whose events carry no mdst details, for the Inspector's note
_KIND_NAMES = {
    "BufferSnapshot": "Live-stream",
    "HDF5Source": "HDF5 store",
    "NtupleSource": "Ntuple",
    "PhoenixSource": "Phoenix JSON",
}


def details_for(source: Any, index: int, event: EventBatch | None = None) -> EventDetails:
    """The details of event ``index`` of any event source: read from the file for an mdst (also one in
    a data set), else 'not available' with the MC tree of the batch's generator truth where it has one."""
    from events.dataset import DataSet
    from events.mdst import MdstSource

    local, src = index, source
    if isinstance(source, DataSet):
        k = int(source.file_of(index % max(len(source), 1)))
        src, local = source.source(k), index % len(source) - int(source.offsets[k])
    if isinstance(src, MdstSource):
        return reader_for(src.tree, str(src.path)).read(local)
    path = str(getattr(src, "path", "") or getattr(event, "source", "") or "this source")
    kind = _KIND_NAMES.get(type(src).__name__, type(src).__name__.replace("Source", "")) or "these"
    details = EventDetails(
        path, local, available=False, reason=f"{kind} events carry no mdst details (an mdst file has them)"
    )
    if event is not None and event.mc.size:
        details.mc, details.mc_origin = mc_from_batch(event), "generator truth"
    return details
