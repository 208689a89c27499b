"""Read Belle II mdst ROOT files with uproot into ``EventBatch`` (docs/detector.md §11).

Whole-array conversion of one bounded chunk of entries of the tree ``tree``:

* **header**: ``EventMetaData`` (experiment, run, event, time). ``l1_bits`` packs the
  prescaled GDL output bits (``TRGSummary.m_psnmBits``) into ``events.trigger.L1_BITS`` using
  the output-bit numbers of menu ``ftd_0036`` (basf2 ``trg/gdl/dbobjects/log/ftd_0036.oup``).
  The file does not store which menu was active, so for files of other menus the names are a
  best guess (unverified for the v06 sample). Fired bits that are no line of ``L1_BITS`` (other
  lines of the menu, or bits beyond it in newer files) are never relabelled: they are kept by their
  GDL bit number (``MdstSource.unnamed_l1_bits``, ``dump``'s ``l1_unnamed_bits``) and logged once.
* **tracks**: the π fit of each track, else the fit of the hypothesis closest in mass that
  exists (μ, K, e, p, d); helix, covariance, charge = sign(ω), |PDG|, p-value. PID: the 6 × 6
  ``m_logl[detector][hypothesis]`` of the related PIDLikelihood summed over detectors.
* **ecl**: every cluster once (an mdst stores each cluster once, its hypotheses as bits: 16
  nPhotons, 32 neutralHadron; 3-5 clusters an event have the neutral-hadron bit alone);
  energy = exp(m_logEnergy). **klm**: all clusters. **mc**: all particles, mother 0-based.
* **vertices**: the V0s, one per entry. The vertex is ``m_fittedVertexX/Y/Z`` where the file
  stores it (mdst v08+), else the midpoint of the daughter helices' closest approach; the DCA of
  the daughter helices is always kept. The hypothesis comes from the daughter fits (ππ → K_S,
  pπ → Λ, ee → γ).
* **relations** (track → ECL/KLM/MC, cluster → MC, track → PID) come from the relation leaf
  branches; where one object relates to several, the highest weight wins (for track → ECL a
  photon-hypothesis cluster first).

**Field.** No mdst stores the solenoid field. ``header.bz`` is basf2's field map at the interaction
point, ``events.field.IP_BZ`` = 1.4528 T (derived from its own printout), which marks the event's field
as the map: every momentum is then converted with the map at the track's own perigee
(``events.field.track_bz``: 1.4528 T near the IP, 1.44 T at z = -17.5 cm, 1.20 T at z = 69 cm), as basf2
does, and agrees with basf2's printout to 1e-4. The ``bz`` argument sets a constant field instead (1.5
for the nominal constant field of ``MagneticFieldConstant.xml``).

Leaves are looked up by name and missing ones tolerated (their columns keep the schema's fill
value and ``issues`` says what was missing), since members are added between mdst versions.
"""

from __future__ import annotations

import logging
import math
import os
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot
from uproot.containers import AsArray, AsVector
from uproot.interpretation.jagged import AsJagged
from uproot.interpretation.numerical import AsDouble32, AsDtype
from uproot.interpretation.objects import AsObjects

from events import field, remote, rootclasses, rootio, vertexing
from events import pdg as pdg_table
from events.model import Collection, EventBatch, VertexKind
from events.source import EventFileError, EventSource, Location, is_url
from events.trigger import L1_BITS

log = logging.getLogger(__name__)

TREE = "tree"
BZ = field.IP_BZ  # T, the field basf2's momenta of interaction-region tracks use (module docstring)

# GDL output-bit numbers of menu ftd_0036 for the lines events.trigger names
FTD_0036_BITS: dict[str, int] = {
    "fff": 0, "fffo": 1, "ffy": 8, "fyy": 9, "yyy": 10, "ff": 11, "ffo": 18, "ffoc": 19, "fyo": 23,
    "ffb": 24, "hie": 41, "lowe": 42, "lume": 43, "c4": 47, "bha3d": 49, "bhabha": 50, "bhapur": 51,
    "bha_id0": 52, "bha_id1": 53, "bha_id2": 54, "bha_id3": 55,
    "eclmumu": 56, "g_high": 61, "g_c1": 62, "gg": 63, "mu_pair": 64, "mu_b2b": 65, "klmhit": 66,
    "eklmhit": 69, "random": 77, "poisson": 80, "lml0": 83, "lml1": 84, "lml2": 85, "lml3": 86,
    "lml4": 87, "lml5": 88, "lml6": 89, "lml7": 90, "lml8": 91, "lml9": 92, "lml10": 93,
    "lml12": 94, "lml13": 95, "cdcklm1": 135, "cdcklm2": 136, "seklm1": 137,
}  # fmt: skip

# fit preference: π, then the hypotheses closest in mass (positions in m_trackFitIndices: e μ π K p d)
FIT_PREFERENCE = (2, 1, 3, 0, 4, 5)
V0_HYPOTHESES = {(211, 211): 310, (2212, 211): 3122, (211, 2212): -3122, (11, 11): 22}

EMD = "EventMetaData/"
B: dict[str, str] = {
    "experiment": EMD + "m_experiment",
    "run": EMD + "m_run",
    "event": EMD + "m_event",
    "time": EMD + "m_time",
    "psnm": "TRGSummary/m_psnmBits[10]",
    "fit_indices": "Tracks/Tracks.m_trackFitIndices[6]",
    "tau": "TrackFitResults/TrackFitResults.m_tau[5]",
    "cov5": "TrackFitResults/TrackFitResults.m_cov5[15]",
    "fit_pdg": "TrackFitResults/TrackFitResults.m_pdg",
    "p_value": "TrackFitResults/TrackFitResults.m_pValue",
    "logl": "PIDLikelihoods/PIDLikelihoods.m_logl[6][6]",
    "ecl_hyp": "ECLClusters/ECLClusters.m_hypotheses",
    "ecl_theta": "ECLClusters/ECLClusters.m_theta",
    "ecl_phi": "ECLClusters/ECLClusters.m_phi",
    "ecl_r": "ECLClusters/ECLClusters.m_r",
    "ecl_log_e": "ECLClusters/ECLClusters.m_logEnergy",
    "ecl_time": "ECLClusters/ECLClusters.m_time",
    "ecl_cell": "ECLClusters/ECLClusters.m_maxECellId",
    "ecl_ncry": "ECLClusters/ECLClusters.m_numberOfCrystals",
    "ecl_is_track": "ECLClusters/ECLClusters.m_isTrack",
    "klm_x": "KLMClusters/KLMClusters.m_globalX",
    "klm_y": "KLMClusters/KLMClusters.m_globalY",
    "klm_z": "KLMClusters/KLMClusters.m_globalZ",
    "klm_layers": "KLMClusters/KLMClusters.m_layers",
    "klm_inner": "KLMClusters/KLMClusters.m_innermostLayer",
    "klm_p": "KLMClusters/KLMClusters.m_p",
    "klm_time": "KLMClusters/KLMClusters.m_time",
    "v0_tpos": "V0s/V0s.m_trackIndexPositive",
    "v0_tneg": "V0s/V0s.m_trackIndexNegative",
    "v0_fpos": "V0s/V0s.m_trackFitResultIndexPositive",
    "v0_fneg": "V0s/V0s.m_trackFitResultIndexNegative",
    "v0_x": "V0s/V0s.m_fittedVertexX",
    "v0_y": "V0s/V0s.m_fittedVertexY",
    "v0_z": "V0s/V0s.m_fittedVertexZ",
}
MC_LEAVES = {
    "pdg": "m_pdg", "mother": "m_mother", "px": "m_momentum_x", "py": "m_momentum_y",
    "pz": "m_momentum_z", "energy": "m_energy", "mass": "m_mass", "vx": "m_productionVertex_x",
    "vy": "m_productionVertex_y", "vz": "m_productionVertex_z", "dx": "m_decayVertex_x",
    "dy": "m_decayVertex_y", "dz": "m_decayVertex_z", "first_daughter": "m_firstDaughter",
}  # fmt: skip
for _key, _leaf in MC_LEAVES.items():
    B["mc_" + _key] = f"MCParticles/MCParticles.{_leaf}"
RELATIONS = (
    "TracksToECLClusters",
    "TracksToKLMClusters",
    "TracksToMCParticles",
    "TracksToPIDLikelihoods",
    "ECLClustersToMCParticles",
    "KLMClustersToMCParticles",
)
for _rel in RELATIONS:
    for _leaf in ("m_from", "m_to", "m_weights"):
        B[f"{_rel}.{_leaf}"] = f"{_rel}/m_elements/m_elements.{_leaf}"
COUNTERS = {"Tracks": "Tracks", "TrackFitResults": "TrackFitResults", "ECLClusters": "ECLClusters",
            "KLMClusters": "KLMClusters", "V0s": "V0s", "MCParticles": "MCParticles",
            "PIDLikelihoods": "PIDLikelihoods"}  # fmt: skip
# essential leaves: without them a collection cannot be built at all
REQUIRED = {
    "tracks": ("fit_indices", "tau"),
    "ecl": ("ecl_theta", "ecl_phi", "ecl_r", "ecl_log_e"),
    "klm": ("klm_x", "klm_y", "klm_z"),
    "vertices": ("v0_tpos", "v0_tneg"),
    "mc": ("mc_pdg",),
}


def is_ttree(obj: Any) -> bool:
    return isinstance(obj, uproot.behaviors.TTree.TTree)


def describe(obj: Any) -> str:
    """What a ROOT object is, for messages: 'an RNTuple', 'a TH1D', ..."""
    name = str(getattr(obj, "classname", type(obj).__name__)).replace("ROOT::", "")
    name = {"Experimental::RNTuple": "RNTuple"}.get(name, name)
    return f"an {name}" if name[:1].upper() in "AEIOU" or name.startswith("RN") else f"a {name}"


def is_mdst(tree: Any) -> bool:
    """A TTree looks like an mdst event tree if it holds EventMetaData or a Tracks array."""
    keys = set(tree.keys(recursive=False))
    return "EventMetaData" in keys or ("Tracks" in keys and "TrackFitResults" in keys)


Relation = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _regular(layout: ak.contents.Content) -> np.ndarray:
    """The numpy array behind a (regular, fixed-size) leaf layout: shape (length, *fixed dims)."""
    n, shape = layout.length, []
    while isinstance(layout, ak.contents.RegularArray):
        shape.append(layout.size)
        layout = layout.content
    if not isinstance(layout, ak.contents.NumpyArray):
        raise ValueError(f"unexpected leaf layout {type(layout).__name__}")
    data = np.asarray(layout.data)
    return data[: n * math.prod(shape)].reshape(n, *shape, *data.shape[1:])


def unpack(layout: ak.contents.Content) -> tuple[list[np.ndarray], np.ndarray]:
    """Offsets (from 0) of every list level of a leaf and its flat values, as numpy views.

    Reads the layout's buffers directly (no awkward operation per leaf), honouring offsets that
    do not start at 0, as uproot returns for an entry range inside a basket.
    """
    levels: list[np.ndarray] = []
    lo, hi = 0, layout.length
    while isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray)):
        if isinstance(layout, ak.contents.ListArray):
            layout = layout.to_ListOffsetArray64(False)
        offsets = np.asarray(layout.offsets.data)[lo : hi + 1]
        lo, hi = int(offsets[0]), int(offsets[-1])
        levels.append(offsets - lo)
        layout = layout.content
    return levels, _regular(layout)[lo:hi]


class Chunk:
    """Flat numpy views of one chunk of mdst entries, with per-leaf offsets.

    ``arrays`` maps leaf paths to what ``tree.arrays(..., library="ak")`` returned; every leaf
    is unpacked to numpy once, on first use.
    """

    def __init__(self, arrays: Mapping[str, Any], n: int, unpacked: bool = False) -> None:
        self.arrays = arrays
        self.n = n
        self._unpacked: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
        if unpacked:  # ``arrays`` maps leaf paths to (offsets of each list level, flat values) already
            self._unpacked = {key: arrays[leaf] for key, leaf in B.items() if leaf in arrays}

    def has(self, *keys: str) -> bool:
        return all(B[k] in self.arrays for k in keys)

    def leaf(self, key: str) -> tuple[list[np.ndarray], np.ndarray]:
        """(offsets of each list level, flat values) of leaf ``key``."""
        got = self._unpacked.get(key)
        if got is None:
            got = self._unpacked[key] = unpack(self.arrays[B[key]].layout)
            entries = len(got[0][0]) - 1 if got[0] else len(got[1])
            if entries != self.n:
                raise ValueError(f"{B[key]}: {entries} entries, expected {self.n}")
        return got

    def flat(self, key: str, dtype: Any = None) -> np.ndarray:
        """One row per object (per event for event-level leaves), fixed-size members as trailing dims."""
        out = self.leaf(key)[1]
        return out if dtype is None else out.astype(dtype)

    def counts(self, key: str) -> np.ndarray:
        return np.diff(self.leaf(key)[0][0])

    def relation(self, name: str) -> Relation | None:
        """All (event, from, to, weight) pairs of a relation container, flat."""
        keys = (f"{name}.m_from", f"{name}.m_to", f"{name}.m_weights")
        if not self.has(*keys[:2]):
            return None
        (element_off,), frm = self.leaf(keys[0])
        to_levels, to = self.leaf(keys[1])
        if len(to_levels) != 2 or not np.array_equal(to_levels[0], element_off):
            raise ValueError(f"relation {name}: m_from and m_to disagree")
        to_off = to_levels[1]  # per element, its range of 'to' entries
        pairs_per_event = to_off[element_off[1:]] - to_off[element_off[:-1]]
        event = np.repeat(np.arange(self.n), pairs_per_event)
        frm_pairs = np.repeat(frm.astype(np.int64), np.diff(to_off))
        weight = self.flat(keys[2], np.float64) if self.has(keys[2]) else np.ones(0)
        if len(weight) != len(to):
            weight = np.ones(len(to))
        return event, frm_pairs, to.astype(np.int64), weight


def offsets_of(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def best_target(
    pairs: Relation | None,
    from_offsets: np.ndarray,
    to_counts: np.ndarray,
    score: np.ndarray | None = None,
) -> np.ndarray:
    """For every 'from' object (flat), the local index of its best 'to' object, -1 if none.

    Best = highest ``score`` (indexed by the flat 'to' index) then highest weight.
    """
    n_from = int(from_offsets[-1])
    out = np.full(n_from, -1, dtype=np.int64)
    if pairs is None or len(pairs[0]) == 0:
        return out
    event, frm, to, weight = pairs
    from_counts = np.diff(from_offsets)
    ok = (frm < from_counts[event]) & (to < to_counts[event])
    event, frm, to, weight = event[ok], frm[ok], to[ok], weight[ok]
    g_from = from_offsets[event] + frm
    if score is None:
        order = np.lexsort((-weight, g_from))
    else:
        order = np.lexsort((-weight, -score[offsets_of(to_counts)[event] + to], g_from))
    g_from, to = g_from[order], to[order]
    first = np.flatnonzero(np.diff(g_from, prepend=-1))  # the best pair of each 'from' object
    out[g_from[first]] = to[first]
    return out


def _local_index_map(keep: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For every flat row, its index among the kept rows of its event, -1 if dropped."""
    kept = np.concatenate(([0], np.cumsum(keep)))
    event_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return np.where(keep, kept[:-1] - kept[offsets[:-1]][event_of], -1)


def _gather(values: np.ndarray, rows: np.ndarray, ok: np.ndarray, fill: Any) -> np.ndarray:
    """``values[rows]`` where ``ok``, ``fill`` elsewhere (``rows`` need only be valid where ``ok``)."""
    out = np.full((len(rows), *values.shape[1:]), fill, dtype=np.result_type(values, fill))
    out[ok] = values[rows[ok]]
    return out


def v0_hypothesis(pdg_pos: np.ndarray, pdg_neg: np.ndarray) -> np.ndarray:
    """PDG code of a V0 from its daughters' fit hypotheses (``V0_HYPOTHESES``), 0 if none fits."""
    out = np.zeros(len(pdg_pos), np.int64)
    for (pos, neg), code in V0_HYPOTHESES.items():
        out[(pdg_pos == pos) & (pdg_neg == neg)] = code
    return out


def _remap(local: np.ndarray, event: np.ndarray, offsets: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    valid = local >= 0
    flat = np.where(valid, offsets[event] + local, 0)
    return np.where(valid, mapping[flat] if len(mapping) else -1, -1)


# the L1_BITS positions with a known ftd_0036 output bit, and those GDL bit numbers
_L1_POSITION = np.array([k for k, name in enumerate(L1_BITS) if name in FTD_0036_BITS], np.uint64)
_L1_GDL = np.array([FTD_0036_BITS[name] for name in L1_BITS if name in FTD_0036_BITS], np.uint64)


def pack_l1(psnm: np.ndarray) -> np.ndarray:
    """Pack (N, 10) uint32 PSNM words into the ``l1_bits`` column (menu ftd_0036 bit numbers)."""
    words = np.asarray(psnm, dtype=np.uint64)
    word = (_L1_GDL // 32).astype(np.intp)
    known = word < words.shape[1]
    fired = (words[:, word[known]] >> (_L1_GDL[known] % 32)) & np.uint64(1)  # (N, known bits)
    return np.bitwise_or.reduce(fired << _L1_POSITION[known], axis=1, initial=np.uint64(0))


_NAMED_GDL = np.zeros(PSNM_WORDS := 10, np.uint64)  # per PSNM word: the bits of lines L1_BITS names
for _bit in _L1_GDL.tolist():
    _NAMED_GDL[_bit // 32] |= np.uint64(1 << (_bit % 32))


def unnamed_gdl_bits(psnm: np.ndarray) -> list[list[int]]:
    """Per event, the GDL output-bit numbers that fired but are no line of ``L1_BITS`` (ascending)."""
    if len(psnm) == 0:
        return []
    words = np.asarray(psnm, dtype=np.uint64).reshape(len(psnm), -1)
    width = min(words.shape[1], PSNM_WORDS)
    rest = words[:, :width] & ~_NAMED_GDL[:width]
    rest = np.concatenate([rest, words[:, width:]], axis=1)  # words beyond the menu: all unnamed
    shifts = np.arange(32, dtype=np.uint64)
    fired = ((rest[:, :, None] >> shifts) & np.uint64(1)).astype(bool).reshape(len(words), -1)
    return [np.flatnonzero(row).tolist() for row in fired]


def renamed_leaves(available: set[str], missing: set[str]) -> list[str]:
    """For collections that cannot be built although their branch is there: which leaf is gone
    (renamed or dropped in the file's class version), one line per branch, naming the leaves."""
    lost: dict[str, list[str]] = {}
    for coll in sorted(missing):
        for key in REQUIRED[coll]:
            leaf = B[key]
            branch = leaf.split("/", 1)[0]
            if leaf not in available and any(k.startswith(branch + "/") for k in available):
                lost.setdefault(branch, []).append(leaf.rsplit("/", 1)[1])
    return [
        f"{branch} has no leaf {', '.join(leaves)} (renamed or dropped in this class version)"
        for branch, leaves in lost.items()
    ]


class MdstSource(EventSource):
    """Events of a Belle II mdst file, read entry range by entry range."""

    def __init__(self, path: str | Path, bz: float = BZ, tree: Any = None) -> None:
        super().__init__(path)
        self.bz = float(bz)
        self._reported_gdl: set[int] = set()  # unnamed GDL bits already told about in ``issues``
        if tree is None:
            try:
                file = remote.open_uproot(self.path)
            except EventFileError:
                raise
            except Exception as exc:  # uproot raises many types for damaged files
                rootclasses.forget()
                raise EventFileError(
                    self.path, f"not a readable ROOT file (truncated or corrupted?): {exc}"
                ) from exc
            if TREE not in file:
                rootclasses.close(file)
                raise EventFileError(self.path, f"no mdst tree {TREE!r} in this ROOT file")
            tree = file[TREE]
        if not is_ttree(tree):
            rootclasses.close(getattr(tree, "file", None))
            raise EventFileError(self.path, f"{TREE!r} is {describe(tree)}, not the TTree of an mdst file")
        if not is_mdst(tree):
            rootclasses.close(tree.file)
            raise EventFileError(
                self.path, f"tree {TREE!r} holds no EventMetaData or Tracks: not an mdst file"
            )
        self.tree = tree
        available = set(tree.keys())
        self.keys = [leaf for leaf in B.values() if leaf in available]
        missing = {coll for coll, need in REQUIRED.items() if not all(B[k] in available for k in need)}
        self.missing = missing
        if missing:
            self.note(f"no {', '.join(sorted(missing))} in this mdst file (leaves missing)")
            for line in renamed_leaves(available, missing):
                self.note(line)
        if B["event"] not in available:
            self.note("no EventMetaData: events are numbered by entry")
        if "tracks" not in missing and B["logl"] not in available:
            self.note("no PIDLikelihoods: tracks carry no particle identification (no muon selection)")
        if B["psnm"] not in available:
            self.note("no TRGSummary: no L1 trigger bits (every l1() filter is false)")
        self._basket_cache: MdstBaskets | None = None  # made at the first small read

    def __len__(self) -> int:
        return int(self.tree.num_entries)

    def _failed(self) -> None:
        rootclasses.forget()

    def trim(self) -> None:
        """Drop the decoded baskets (a data set trims the files it has not read lately), the file open."""
        if self._basket_cache is not None:
            self._basket_cache.trim()

    def close(self) -> None:
        """Release the ROOT file (uproot keeps it open until told) and the cached baskets."""
        if self._basket_cache is not None:
            self._basket_cache.close()
            self._basket_cache = None
        rootclasses.close(self.tree.file)

    def _read(self, start: int, stop: int) -> EventBatch:
        chunk = None
        if 0 < stop - start <= SMALL_READ and not is_url(self.path):
            chunk = self._baskets().chunk(start, stop)
        if chunk is None:
            chunk = self._read_entries(start, stop)
        try:
            batch = build_batch(chunk, self.bz, start, str(self.path), self.missing)
        except (ValueError, IndexError, TypeError) as exc:
            raise EventFileError(self.path, f"entries {start}:{stop} are inconsistent: {exc}") from exc
        if chunk.has("psnm"):
            self._report_unnamed(unnamed_gdl_bits(chunk.flat("psnm")))
        return batch

    def _read_entries(self, start: int, stop: int) -> Chunk:
        """Entries ``start:stop`` through uproot's ``tree.arrays`` (large reads, URLs, and the branches
        the direct reader does not know)."""
        try:
            arrays = self.tree.arrays(self.keys, entry_start=start, entry_stop=stop, library="ak", how=dict)
        except Exception as exc:
            raise remote.read_error(self.path, exc, f"cannot read entries {start}:{stop}") from exc
        return Chunk(arrays, stop - start)

    def _baskets(self) -> MdstBaskets:
        if self._basket_cache is None:
            self._basket_cache = MdstBaskets(self.tree, self.keys, self.path)
        return self._basket_cache

    def _report_unnamed(self, per_event: list[list[int]]) -> None:
        new = sorted({b for bits in per_event for b in bits} - self._reported_gdl)
        if new:
            self._reported_gdl.update(new)  # told once at info level: a fact of the menu, not a fault
            log.info(
                "%s: L1 output bits %s fired but are no line this program names (menu ftd_0036 "
                "assumed): kept by GDL bit number (dump: l1_unnamed_bits), never relabelled",
                self.path,
                ", ".join(map(str, new)),
            )

    def unnamed_l1_bits(self, index: int) -> list[int]:
        """GDL output-bit numbers of event ``index`` that fired but are no line of ``L1_BITS``."""
        if B["psnm"] not in self.keys:
            return []
        words = self.tree[B["psnm"]].array(entry_start=index, entry_stop=index + 1, library="np")
        return unnamed_gdl_bits(np.asarray(words).reshape(1, -1))[0]


def build_batch(c: Chunk, bz: float, start: int, source: str, missing: set[str]) -> EventBatch:
    n = c.n
    header: dict[str, Any] = {"bz": np.full(n, bz, np.float32)}
    for key in ("experiment", "run", "event", "time"):
        if c.has(key):
            header[key] = c.flat(key)
    if "event" not in header:
        header["event"] = np.arange(start, start + n)
    if c.has("psnm"):
        header["l1_bits"] = pack_l1(c.flat("psnm"))

    ecl, ecl_map, ecl_off, ecl_counts_all = _ecl(c, missing)
    klm = _klm(c, missing)
    tracks, fit_off, track_off = _tracks(c, missing, ecl_map, ecl_off, ecl_counts_all, klm)
    vertices = _vertices(c, missing, fit_off, track_off)
    mc = _mc(c, missing)
    return EventBatch.build(
        n, header, source=source, tracks=tracks, ecl=ecl, klm=klm, vertices=vertices, mc=mc
    )


def _ecl(c: Chunk, missing: set[str]) -> tuple[Collection, np.ndarray, np.ndarray, np.ndarray]:
    if "ecl" in missing:
        zeros = np.zeros(c.n, np.int64)
        return Collection.empty("ecl", c.n), np.zeros(0, np.int64), offsets_of(zeros), zeros
    counts = c.counts("ecl_theta")
    off = offsets_of(counts)
    hyp = c.flat("ecl_hyp", np.int64) if c.has("ecl_hyp") else np.full(off[-1], 16)
    keep = (hyp & (16 | 32)) != 0  # a cluster with neither hypothesis bit is not a cluster to show
    mapping = _local_index_map(keep, off)
    event_of = np.repeat(np.arange(c.n), counts)
    cols: dict[str, Any] = {
        "energy": np.exp(c.flat("ecl_log_e")),
        "theta": c.flat("ecl_theta"),
        "phi": c.flat("ecl_phi"),
        "r": c.flat("ecl_r"),
        "hypotheses": hyp,
    }
    for col, key in (("time", "ecl_time"), ("cell_id", "ecl_cell"), ("n_crystals", "ecl_ncry"),
                     ("is_track", "ecl_is_track")):  # fmt: skip
        if c.has(key):
            cols[col] = c.flat(key)
    cols["mc_index"] = best_target(c.relation("ECLClustersToMCParticles"), off, _mc_counts(c, missing))
    kept_cols = {k: np.asarray(v)[keep] for k, v in cols.items()}
    kept_counts = np.bincount(event_of[keep], minlength=c.n)
    return Collection.from_columns("ecl", kept_counts, kept_cols), mapping, off, counts


def _mc_counts(c: Chunk, missing: set[str]) -> np.ndarray:
    return np.zeros(c.n, np.int64) if "mc" in missing else c.counts("mc_pdg")


def _klm(c: Chunk, missing: set[str]) -> Collection:
    if "klm" in missing:
        return Collection.empty("klm", c.n)
    counts = c.counts("klm_x")
    cols: dict[str, Any] = {"x": c.flat("klm_x"), "y": c.flat("klm_y"), "z": c.flat("klm_z")}
    for col, key in (("layers", "klm_layers"), ("innermost_layer", "klm_inner"), ("p", "klm_p"),
                     ("time", "klm_time")):  # fmt: skip
        if c.has(key):
            cols[col] = c.flat(key)
    rel = c.relation("KLMClustersToMCParticles")
    cols["mc_index"] = best_target(rel, offsets_of(counts), _mc_counts(c, missing))
    return Collection.from_columns("klm", counts, cols)


def _tracks(
    c: Chunk,
    missing: set[str],
    ecl_map: np.ndarray,
    ecl_off: np.ndarray,
    ecl_counts: np.ndarray,
    klm: Collection,
) -> tuple[Collection, np.ndarray, np.ndarray]:
    if "tracks" in missing:
        zeros = offsets_of(np.zeros(c.n, np.int64))
        return Collection.empty("tracks", c.n), zeros, zeros
    counts = c.counts("fit_indices")
    off = offsets_of(counts)
    fit_counts = c.counts("tau")
    fit_off = offsets_of(fit_counts)
    event_of = np.repeat(np.arange(c.n), counts)
    indices = c.flat("fit_indices", np.int64).reshape(-1, 6)
    ordered = indices[:, FIT_PREFERENCE]
    valid = (ordered >= 0) & (ordered < fit_counts[event_of][:, None])
    choice = np.argmax(valid, axis=1)
    local_fit = np.where(valid.any(axis=1), ordered[np.arange(len(ordered)), choice], -1)
    has_fit = local_fit >= 0
    g_fit = fit_off[event_of] + local_fit

    helix = _gather(c.flat("tau").reshape(-1, 5), g_fit, has_fit, np.nan)
    cols: dict[str, Any] = {
        name: helix[:, k] for k, name in enumerate(("d0", "phi0", "omega", "z0", "tan_lambda"))
    }
    cols["charge"] = np.sign(np.nan_to_num(cols["omega"])).astype(np.int8)
    if c.has("cov5"):
        cols["cov"] = _gather(c.flat("cov5").reshape(-1, 15), g_fit, has_fit, np.nan)
    if c.has("fit_pdg"):
        cols["pdg"] = _gather(c.flat("fit_pdg", np.int64), g_fit, has_fit, 0)
    if c.has("p_value"):
        cols["p_value"] = _gather(c.flat("p_value"), g_fit, has_fit, np.nan)

    if c.has("logl"):
        pid_counts = c.counts("logl")
        pid = best_target(c.relation("TracksToPIDLikelihoods"), off, pid_counts)
        logl = c.flat("logl").reshape(-1, 6, 6).sum(axis=1)  # [detector][hypothesis]: sum detectors
        cols["pid_logl"] = _gather(logl, offsets_of(pid_counts)[event_of] + pid, pid >= 0, np.nan)

    photon = np.zeros(int(ecl_off[-1]))
    photon[ecl_map >= 0] = 1.0
    ecl_local = best_target(c.relation("TracksToECLClusters"), off, ecl_counts, score=photon)
    cols["ecl_index"] = _remap(ecl_local, event_of, ecl_off, ecl_map)
    cols["klm_index"] = best_target(c.relation("TracksToKLMClusters"), off, klm.counts)
    cols["mc_index"] = best_target(c.relation("TracksToMCParticles"), off, _mc_counts(c, missing))
    return Collection.from_columns("tracks", counts, cols), fit_off, off


def _vertices(c: Chunk, missing: set[str], fit_off: np.ndarray, track_off: np.ndarray) -> Collection:
    if "vertices" in missing:
        return Collection.empty("vertices", c.n)
    counts = c.counts("v0_tpos")
    event_of = np.repeat(np.arange(c.n), counts)
    n_tracks = np.diff(track_off)[event_of]
    tpos, tneg = c.flat("v0_tpos", np.int64), c.flat("v0_tneg", np.int64)
    cols: dict[str, Any] = {
        "kind": np.full(len(tpos), VertexKind.V0),
        "track_pos": np.where((tpos >= 0) & (tpos < n_tracks), tpos, -1),
        "track_neg": np.where((tneg >= 0) & (tneg < n_tracks), tneg, -1),
    }
    vertex = np.full((len(tpos), 3), np.nan)
    if c.has("v0_fpos", "v0_fneg", "tau"):
        n_fits = np.diff(fit_off)[event_of]
        fpos, fneg = c.flat("v0_fpos", np.int64), c.flat("v0_fneg", np.int64)
        ok = (fpos >= 0) & (fpos < n_fits) & (fneg >= 0) & (fneg < n_fits)
        gpos, gneg = (fit_off[event_of] + fpos)[ok], (fit_off[event_of] + fneg)[ok]
        cols["dca"] = np.full(len(tpos), np.nan)
        if ok.any():
            tau = c.flat("tau").reshape(-1, 5)
            ca = vertexing.closest_approach(tau[gpos], tau[gneg])
            vertex[ok], cols["dca"][ok] = ca.vertex, ca.dca
        if c.has("fit_pdg"):
            pdg = c.flat("fit_pdg", np.int64)
            cols["pdg"] = np.zeros(len(tpos), np.int64)
            cols["pdg"][ok] = v0_hypothesis(pdg[gpos], pdg[gneg])
    if c.has("v0_x", "v0_y", "v0_z"):  # stored fitted vertex (mdst v08+) takes precedence
        stored = np.stack([c.flat("v0_x"), c.flat("v0_y"), c.flat("v0_z")], axis=-1)
        vertex = np.where(np.isfinite(stored), stored, vertex)
    cols["x"], cols["y"], cols["z"] = vertex[:, 0], vertex[:, 1], vertex[:, 2]
    return Collection.from_columns("vertices", counts, cols)


def _mc(c: Chunk, missing: set[str]) -> Collection:
    if "mc" in missing:
        return Collection.empty("mc", c.n)
    counts = c.counts("mc_pdg")
    cols: dict[str, Any] = {}
    for col in ("pdg", "px", "py", "pz", "energy", "mass", "vx", "vy", "vz", "dx", "dy", "dz"):
        if c.has("mc_" + col):
            cols[col] = c.flat("mc_" + col)
    if c.has("mc_mother"):
        cols["mother"] = c.flat("mc_mother", np.int64) - 1  # 1-based, 0 = none -> 0-based, -1
    if c.has("mc_first_daughter"):
        stable = c.flat("mc_first_daughter", np.int64) == 0
        for col in ("dx", "dy", "dz"):
            if col in cols:
                cols[col] = np.where(stable, np.nan, cols[col])
    return Collection.from_columns("mc", counts, cols)


def charge_of_pdg(pdg: np.ndarray) -> np.ndarray:
    """Electric charge sign of common long-lived particles from their PDG codes (0 if neutral/unknown)."""
    return pdg_table.charge(pdg)


# reads of up to this many entries are assembled from whole decoded baskets, kept for the next reads
SMALL_READ = 64
BASKET_CACHE_BYTES = 32 * 2**20  # decoded baskets kept per file, least recently used dropped first

Leaf = tuple[list[np.ndarray], np.ndarray]  # offsets of each list level (from 0), flat values


def _slice(leaf: Leaf, lo: int, hi: int) -> Leaf:
    """Entries ``lo:hi`` of a decoded leaf."""
    levels, values = leaf
    out = []
    for offsets in levels:
        offsets = offsets[lo : hi + 1]
        lo, hi = int(offsets[0]), int(offsets[-1])
        out.append(offsets - lo)
    return out, values[lo:hi]


def _join(pieces: list[Leaf]) -> Leaf:
    """Consecutive entry ranges of one leaf (from neighbouring baskets) as one."""
    if len(pieces) == 1:
        return pieces[0]
    levels = []
    for depth in range(len(pieces[0][0])):
        parts, shift = [np.zeros(1, np.int64)], 0
        for piece in pieces:
            offsets = piece[0][depth].astype(np.int64)
            parts.append(offsets[1:] + shift)
            shift += int(offsets[-1])
        levels.append(np.concatenate(parts))
    return levels, np.concatenate([piece[1] for piece in pieces])


def _is_vector_per_element(model: Any) -> bool:
    return (
        isinstance(model, AsArray)
        and model.header
        and not model.speedbump
        and not model.inner_shape
        and isinstance(model.values, AsVector)
        and not model.values.header
        and isinstance(model.values.values, np.dtype)
        and model.values.values.kind in "iuf"
        and not model.values.values.shape
    )


_HEADER = 6  # an entry's byte count (with its flag 0x40000000) and class version
_COUNT = np.dtype(">u4")


def _vectors(name: str, raw: np.ndarray, entry_offsets: np.ndarray, dtype: np.dtype) -> Leaf:
    """Per entry, a list of elements each a vector of ``dtype`` (big-endian), from a basket's bytes:
    every entry is walked at once, one element a step (as many steps as the most elements an entry
    has), each step reading the count where each entry's cursor is."""
    starts, stops = entry_offsets[:-1], entry_offsets[1:]
    filled = stops > starts
    if (stops[filled] - starts[filled] < _HEADER).any():
        raise ValueError(f"basket of {name}: an entry shorter than its header")
    if filled.any():
        head = raw[starts[filled, None] + np.arange(4)].astype(np.uint32)
        count = (head[:, 0] << 24) | (head[:, 1] << 16) | (head[:, 2] << 8) | head[:, 3]
        if ((count & 0x40000000) == 0).any() or (
            (count & ~np.uint32(0x40000000)) + 4 != stops[filled] - starts[filled]
        ).any():
            raise rootio.NotDirect(f"{name}: entries without the byte count uproot's reading assumes")
    cursor = np.where(filled, starts + _HEADER, stops)
    entry_ids, lengths, value_starts = [], [], []
    active = np.flatnonzero(cursor < stops)
    while len(active):
        at = cursor[active]
        if (at + 4 > stops[active]).any():
            raise ValueError(f"basket of {name}: an element's count runs past its entry")
        b = raw[at[:, None] + np.arange(4)].astype(np.int64)
        n = (b[:, 0] << 24) | (b[:, 1] << 16) | (b[:, 2] << 8) | b[:, 3]
        at = at + 4
        cursor[active] = at + n * dtype.itemsize
        if (cursor[active] > stops[active]).any():
            raise ValueError(f"basket of {name}: an element's values run past its entry")
        entry_ids.append(active)
        lengths.append(n)
        value_starts.append(at)
        active = active[cursor[active] < stops[active]]
    if entry_ids:
        entry = np.concatenate(entry_ids)
        order = np.argsort(entry, kind="stable")  # element by element within each entry, in order
        entry, length, begin = (
            entry[order],
            np.concatenate(lengths)[order],
            np.concatenate(value_starts)[order],
        )
    else:
        entry = length = begin = np.zeros(0, np.int64)
    per_entry = np.bincount(entry, minlength=len(starts))
    inner = offsets_of(length)
    within = np.arange(int(inner[-1]), dtype=np.int64) - np.repeat(inner[:-1], length)
    at = np.repeat(begin, length) + within * dtype.itemsize
    values = (
        raw[at[:, None] + np.arange(dtype.itemsize)].reshape(-1).view(dtype)
        if len(at)
        else np.zeros(0, dtype)
    )
    return [offsets_of(per_entry), inner], values.astype(dtype.newbyteorder("="))


class _Direct:
    """How the direct reader decodes one leaf's baskets: a plain number, fixed-size array of numbers
    or Double32 range-packed number, flat (one per entry) or jagged (a split TClonesArray member)."""

    def __init__(self, branch: Any) -> None:
        interp = branch.interpretation
        self.jagged = isinstance(interp, AsJagged)
        if self.jagged:
            if interp.header_bytes:
                raise rootio.NotDirect(f"{branch.name}: {interp}")
            interp = interp.content
        self.scale: float | None = None
        self.vectors = False
        self.dtype: np.dtype[Any]
        self.to_dtype: np.dtype[Any]
        model: Any = getattr(interp, "model", None)
        if isinstance(interp, AsObjects) and _is_vector_per_element(model):
            # a split vector member of a vector of structs (a relation's m_to, m_weights): per entry a
            # 6-byte header, then for each element a count and its values
            self.vectors, self.dtype, self.shape = True, np.dtype(model.values.values), ()
            self.to_dtype = self.dtype.newbyteorder("=")
            return
        if isinstance(interp, AsDouble32) and not interp.is_truncated and not interp.to_dims:
            self.dtype, self.shape = np.dtype(">u4"), ()
            self.to_dtype = np.dtype("float64")
            self.scale, self.low = float(interp.high - interp.low) / (1 << interp.num_bits), interp.low
        elif type(interp) is AsDtype:
            self.dtype, self.shape = interp.from_dtype.base, interp.from_dtype.shape
            self.to_dtype = interp.to_dtype.base
            if self.dtype.fields or interp.to_dtype.shape != self.shape:
                raise rootio.NotDirect(f"{branch.name}: {interp}")
        else:
            raise rootio.NotDirect(f"{branch.name}: {interp}")

    def decode(self, name: str, key: memoryview, entries: int) -> Leaf:
        if self.vectors:
            sizes, raw = rootio._basket_arrays(name, key, np.dtype("u1"), True, entries)
            if sizes is None:
                raise ValueError(f"basket of {name}: no entry offsets")
            return _vectors(name, raw, offsets_of(sizes), self.dtype)
        counts, values = rootio._basket_arrays(name, key, self.dtype, self.jagged, entries, self.shape)
        if self.scale is not None:  # as uproot's AsDouble32: low + raw * (high - low) / 2^bits
            values = values.astype(np.float64)
            np.multiply(values, self.scale, out=values)
            np.add(values, self.low, out=values)
        elif values.dtype != self.to_dtype:
            values = values.astype(self.to_dtype)
        return ([offsets_of(counts)] if counts is not None else []), values


class MdstBaskets:
    """The baskets of an mdst tree's leaves, decoded whole and kept (bounded, least recently used
    first out): a read of one entry decodes, for each leaf, the basket holding it, and the next
    entries of those baskets are then free. Plain numeric leaves (flat or split TClonesArray
    members, Double32 included) are read straight from the file (``events.rootio``'s basket
    decoder, with its checks); the others (the relations' vectors) through uproot, basket by
    basket. The per-leaf plans (positions, interpretations) are made once."""

    def __init__(self, tree: Any, keys: list[str], path: Location) -> None:
        self.path = path
        self.tree = tree
        self.keys = keys
        self.starts: dict[str, np.ndarray] = {}
        self.positions: dict[str, tuple[list[int], list[int]]] = {}
        self.direct: dict[str, _Direct] = {}
        for key in keys:
            branch = tree[key]
            starts = np.asarray(branch.entry_offsets, dtype=np.int64)
            n = branch.num_baskets
            if len(starts) != n + 1 or starts[-1] != tree.num_entries:
                starts = np.array([0, tree.num_entries], np.int64)
            self.starts[key] = starts
            try:
                if branch.embedded_baskets or len(starts) != n + 1:
                    raise rootio.NotDirect(f"{key}: baskets kept in the tree's metadata")
                self.direct[key] = _Direct(branch)
            except rootio.NotDirect:
                continue
            seeks = np.asarray(branch.member("fBasketSeek"), dtype=np.int64)[:n].tolist()
            sizes = np.asarray(branch.member("fBasketBytes"), dtype=np.int64)[:n].tolist()
            if len(seeks) != n or min(seeks, default=1) <= 0 or min(sizes, default=1) <= 0:
                del self.direct[key]
                continue
            self.positions[key] = (seeks, sizes)
        self._cache: dict[tuple[str, int], tuple[Leaf, int]] = {}
        self._bytes = 0
        self._fd: int | None = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)
        self._size = os.fstat(self._fd).st_size

    def trim(self) -> None:
        self._cache.clear()
        self._bytes = 0

    def close(self) -> None:
        self.trim()
        if self._fd is not None:
            self._closer()
            self._fd = None

    def chunk(self, start: int, stop: int) -> Chunk:
        self._read_through_uproot(start, stop)
        leaves = {}
        for key in self.keys:
            starts = self.starts[key]
            first = int(np.searchsorted(starts, start, side="right")) - 1
            last = max(int(np.searchsorted(starts, stop, side="left")), first + 1)
            pieces = []
            for k in range(first, last):
                lo, hi = int(starts[k]), int(starts[k + 1])
                pieces.append(_slice(self.basket(key, k), max(start, lo) - lo, min(stop, hi) - lo))
            leaves[key] = _join(pieces)
        return Chunk(leaves, stop - start, unpacked=True)

    def _read_through_uproot(self, start: int, stop: int) -> None:
        """The baskets of entries ``start:stop`` of the leaves uproot reads that are not kept yet, in
        one ``tree.arrays`` for each entry range of baskets (uproot's set-up is per call)."""
        wanted: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for key in self.keys:
            if key in self.direct:
                continue
            starts = self.starts[key]
            first = int(np.searchsorted(starts, start, side="right")) - 1
            last = max(int(np.searchsorted(starts, stop, side="left")), first + 1)
            for k in range(first, last):
                if (key, k) not in self._cache:
                    wanted.setdefault((int(starts[k]), int(starts[k + 1])), []).append((key, k))
        for (lo, hi), leaves in wanted.items():
            keys = [key for key, _ in leaves]
            try:
                arrays = self.tree.arrays(keys, entry_start=lo, entry_stop=hi, library="ak", how=dict)
            except Exception as exc:
                raise remote.read_error(self.path, exc, f"cannot read entries {lo}:{hi}") from exc
            for key, k in leaves:
                self._keep(key, k, unpack(arrays[key].layout))

    def _keep(self, key: str, k: int, leaf: Leaf) -> tuple[Leaf, int]:
        nbytes = leaf[1].nbytes + sum(offsets.nbytes for offsets in leaf[0])
        self._bytes += nbytes
        self._cache[(key, k)] = (leaf, nbytes)
        return leaf, nbytes

    def basket(self, key: str, k: int) -> Leaf:
        """Basket ``k`` of leaf ``key``, decoded: from the cache or the file."""
        cached = self._cache.pop((key, k), None)
        if cached is None:
            starts = self.starts[key]
            lo, hi = int(starts[k]), int(starts[k + 1])
            try:
                leaf = self._decode(key, k, hi - lo)
            except EventFileError:
                raise
            except Exception as exc:
                raise remote.read_error(
                    self.path, exc, f"cannot read {key}, entries {lo}:{hi} (basket {k})"
                ) from exc
            cached = self._keep(key, k, leaf)
        self._cache[(key, k)] = cached  # newest last
        while self._bytes > BASKET_CACHE_BYTES and len(self._cache) > 1:
            self._bytes -= self._cache.pop(next(iter(self._cache)))[1]
        return cached[0]

    def _decode(self, key: str, k: int, entries: int) -> Leaf:
        direct = self.direct.get(key)
        if direct is not None and self._fd is not None:
            seek, size = self.positions[key][0][k], self.positions[key][1][k]
            if seek + size > self._size:
                raise ValueError(f"basket at bytes {seek}:{seek + size}, past the file's end ({self._size})")
            data = memoryview(os.pread(self._fd, size, seek))
            if data.nbytes != size:
                raise ValueError(f"bytes {seek}:{seek + size} lie past the end of the file")
            try:
                leaf = direct.decode(key, data, entries)
            except rootio.NotDirect:  # a compression the decoder does not know: uproot from now on
                del self.direct[key]
            else:
                n = len(leaf[0][0]) - 1 if leaf[0] else len(leaf[1])
                if n != entries:
                    raise ValueError(f"{n} entries where the branch records {entries}")
                return leaf
        starts = self.starts[key]
        array = self.tree[key].array(entry_start=int(starts[k]), entry_stop=int(starts[k + 1]), library="ak")
        return unpack(array.layout)
