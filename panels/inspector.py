"""The object inspector: every parameter of the selected object and of the objects linked to it
(track <-> ECL cluster <-> KLM cluster <-> MC particle, vertex <-> daughter tracks, MC mother <->
daughters).

Given the event's details (``events.mdst_details``), it also shows what the mdst holds beyond the
event model: for a track its PID per detector with the probabilities and every fit hypothesis, for a
cluster its shape variables and every member, for an MC particle its truth (status, vertices, seen
in) and its reconstructed matches with their weights (clones marked); with nothing selected, the
event: HLT results, the event-level objects and the MC truth tree. A double click on a row naming an
object (``linked mc 3``, ``daughter mc 12``) selects that object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from displays.timeline import timeline
from events import field, helix, kinematics
from events.model import Collection, EventBatch
from events.source import EventFileError
from geometry.angles import polar_angle

if TYPE_CHECKING:  # imported where the details are read: it brings awkward, which the start does without
    from events import mdst_details as md

Section = tuple[str, list[tuple[str, str]]]
Node = tuple[str, str, list["Node"]]  # name, value, children (the MC truth tree)
TARGET = re.compile(r"^(?:linked |mother |daughter |matched )?(track|ecl|klm|vertex|mc) (\d+)\b")
ECL_SHAPE_LABELS = {  # ECLCluster members, as basf2's documentation names them
    "m_E1oE9": "E1/E9", "m_E9oE21": "E9/E21", "m_secondMoment": "second moment",
    "m_LAT": "lateral energy (LAT)",
    "m_absZernike40": "|Z40| Zernike moment", "m_absZernike51": "|Z51| Zernike moment",
    "m_zernikeMVA": "Zernike MVA", "m_PulseShapeDiscriminationMVA": "pulse-shape discrimination MVA",
    "m_ClusterHadronIntensity": "hadron intensity (PSD)", "m_NumberOfHadronDigits": "hadron digits (PSD)",
    "m_numberOfCrystals": "crystals (weighted)", "m_deltaL": "deltaL [cm]",
    "m_minTrkDistance": "distance to nearest track [cm]", "m_deltaTime99": "time resolution dt99 [ns]",
    "m_logEnergyRaw": "ln E raw", "m_logEnergyHighestCrystal": "ln E highest crystal",
}  # fmt: skip
PID_NAMES = ("e", "mu", "pi", "K", "p", "d")
COLLECTION_OF = {"track": "tracks", "ecl": "ecl", "klm": "klm", "vertex": "vertices", "mc": "mc"}


NAME_COLUMN_MIN = 140  # px: the parameter column's least width when the dock is narrow


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "nan" if not np.isfinite(value) else f"{float(value):.5g}"
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(_fmt(v) for v in value.ravel()) + "]"
    return str(value.item() if isinstance(value, np.generic) else value)


# the model's columns in Belle II units (cm, GeV, ns, rad; events/model.py), shown with their names
_LENGTH = {name: "cm" for name in ("x", "y", "z", "vx", "vy", "vz", "dx", "dy", "dz", "r", "dca")}
UNITS: dict[str, dict[str, str]] = {
    "tracks": {"d0": "cm", "z0": "cm", "phi0": "rad", "omega": "1/cm"},
    "ecl": {"energy": "GeV", "theta": "rad", "phi": "rad", "r": "cm", "time": "ns"},
    "klm": {**_LENGTH, "p": "GeV", "time": "ns"},
    "vertices": {**_LENGTH, "cov": "cm²"},
    "mc": {**_LENGTH, "px": "GeV", "py": "GeV", "pz": "GeV", "energy": "GeV", "mass": "GeV"},
}


def _columns(col: Collection, index: int) -> list[tuple[str, str]]:
    units = UNITS.get(col.name, {})
    return [
        (f"{name} [{units[name]}]" if name in units else name, _fmt(values[index]))
        for name, values in col.columns.items()
    ]


def _track_derived(event: EventBatch, i: int) -> list[tuple[str, str]]:
    t = event.tracks
    bz = float(event.header["bz"][0])
    p = helix.momentum(t["phi0"][i], t["omega"][i], t["tan_lambda"][i], field.track_bz(bz, t["z0"][i]))
    pmag = float(np.linalg.norm(p))
    out = [
        ("p [GeV]", _fmt(pmag)),
        ("pT [GeV]", _fmt(float(np.hypot(p[0], p[1])))),
        ("(px, py, pz) [GeV]", _fmt(p)),
        ("θ [°]", _fmt(float(np.degrees(polar_angle(p))))),
        ("perigee [cm]", _fmt(helix.perigee(t["d0"][i], t["phi0"][i], t["z0"][i]))),
    ]
    logl = t["pid_logl"][i]
    if np.isfinite(logl).any():
        w = np.exp(logl - np.nanmax(logl))
        prob = w / np.nansum(w)
        out.append(
            (
                "PID (likelihood ratio)",
                ", ".join(f"{n} {q:.2f}" for n, q in zip(PID_NAMES, prob, strict=True)),
            )
        )
    e_star = kinematics.cms_energy(kinematics.four_vector(p, kinematics.MASS[211]))
    out.append(("E* as pion [GeV]", _fmt(float(e_star))))
    return out


def _flight(event: EventBatch, kind: str, index: int) -> list[tuple[str, str]]:
    """When the replay in time (``displays.timeline``) has the object appear: by flight at beta c, not
    the measured ``time`` column."""
    t = timeline(event)
    if kind == "track":
        speed = t.track_rate[index] * np.hypot(1.0, float(event.tracks["tan_lambda"][index]))
        return [
            ("beta (fitted mass)", _fmt(float(speed / helix.C_LIGHT))),
            (
                "flight: starts, reaches the ECL [ns]",
                f"{_fmt(t.track_start[index])}, {_fmt(t.track_end[index])}",
            ),
        ]
    arrival = {"ecl": t.ecl, "klm": t.klm, "vertex": t.vertices}.get(kind)
    return [] if arrival is None else [("flight: appears at [ns]", _fmt(arrival[index]))]


def linked(event: EventBatch, kind: str, index: int) -> list[tuple[str, int]]:
    """Objects linked to (kind, index): (kind, index) pairs, in both directions of each relation."""
    t, v = event.tracks, event.vertices
    links: list[tuple[str, int]] = []
    if kind == "track":
        for target, column in (("ecl", "ecl_index"), ("klm", "klm_index"), ("mc", "mc_index")):
            j = int(t[column][index])
            if j >= 0:
                links.append((target, j))
        for vi in np.flatnonzero((v["track_pos"] == index) | (v["track_neg"] == index)):
            links.append(("vertex", int(vi)))
    elif kind in ("ecl", "klm"):
        links += [("track", int(i)) for i in np.flatnonzero(t[f"{kind}_index"] == index)]
        j = int(getattr(event, kind)["mc_index"][index])
        if j >= 0:
            links.append(("mc", j))
    elif kind == "vertex":
        links += [("track", int(v[c][index])) for c in ("track_pos", "track_neg") if v[c][index] >= 0]
    elif kind == "mc":
        for k, col in (("track", t), ("ecl", event.ecl), ("klm", event.klm)):
            links += [(k, int(i)) for i in np.flatnonzero(col["mc_index"] == index)]
        mother = int(event.mc["mother"][index])
        if mother >= 0:
            links.append(("mc", mother))
    return links


def _values(names: tuple[str, ...], values: np.ndarray, digits: int = 3) -> str:
    return ", ".join(
        f"{n} {v:.{digits}g}" for n, v in zip(names, np.asarray(values, float).tolist(), strict=True)
    )


def _mc_label(p: md.McParticle) -> str:
    from events import mdst_details as md

    energy = "" if p.energy is None else f", E {p.energy:.4g} GeV"
    return f"{md.particle_name(p.pdg)} ({p.pdg}){energy}"


def _missing(details: md.EventDetails, section: str, title: str) -> Section:
    return (title, [("", details.note(section) or "not in this file")])


def _pid_section(event: EventBatch, i: int, d: md.EventDetails) -> Section:
    from events import mdst_details as md

    title = "PID per detector (log L)"
    pid = None if d.pid is None else d.pid.get(i)
    if pid is None:
        return (
            _missing(d, "pid", title) if d.pid is None else (title, [("", "no PIDLikelihood for this track")])
        )
    rows = [
        (f"{det} log L", _values(md.HYPOTHESES, row, 4))
        for det, row in zip(md.PID_DETECTORS, pid.logl, strict=True)
        if det in pid.detectors
    ]
    rows += [
        ("detectors", ", ".join(pid.detectors) or "none"),
        ("sum over detectors", _values(md.HYPOTHESES, pid.summed, 4)),
        ("probability (equal priors)", _values(md.HYPOTHESES, pid.probabilities)),
        ("binary vs pi", _values(md.HYPOTHESES, pid.binary_vs_pion)),
    ]
    return title, rows


def _fit_section(event: EventBatch, i: int, d: md.EventDetails) -> Section:
    title = "fit hypotheses"
    if d.fits is None:
        return _missing(d, "fits", title)
    bz = float(event.header["bz"][0])
    rows = []
    for f in d.fits.get(i, []):
        d0, phi0, omega, z0, tan_lambda = f.helix
        p = helix.momentum(phi0, omega, tan_lambda, bz)
        text = f"pdg {f.pdg}, p {float(np.linalg.norm(p)):.4g} GeV, pT {float(np.hypot(p[0], p[1])):.4g} GeV"
        text += f", d0 {d0:.3g} cm, z0 {z0:.3g} cm"
        if f.p_value is not None:
            text += f", p-value {f.p_value:.3g}"
        if f.ndf is not None:
            text += f", ndf {f.ndf}"
        if f.cdc_hits is not None:
            text += f", CDC hits {f.cdc_hits}"
        text += "".join(f", {m} {_fmt(v)}" for m, v in f.members.items())
        rows.append((f"{f.hypothesis} (fit {f.fit_index})", text))
    return title, rows or [("", "no fit")]


def _mc_match_section(kind: str, i: int, d: md.EventDetails) -> Section:
    from events import mdst_details as md

    title = "MC match (relation weights)"
    if d.mc_links is None:
        return _missing(d, "mc_links", title)
    rows = []
    for link in d.links_of(kind, i):
        name = md.particle_name(d.mc[link.mc].pdg) if d.mc and 0 <= link.mc < len(d.mc) else ""
        mark = " (negative: a clone)" if link.clone else ""
        rows.append((f"matched mc {link.mc} {name}", f"weight {link.weight:.4g}{mark}"))
    return title, rows or [("", "no MC particle related")]


def _members_section(title: str, members: dict[str, object], labels: dict[str, str] | None = None) -> Section:
    labels = labels or {}
    first = [(labels[m], _fmt(members[m])) for m in labels if m in members]
    rest = [(m, _fmt(v)) for m, v in members.items() if m not in labels]
    return title, first + rest


def _mc_truth_section(i: int, d: md.EventDetails) -> list[Section]:
    if d.mc is None or not 0 <= i < len(d.mc):
        return [_missing(d, "mc", "MC truth")] if d.mc is None else []
    p = d.mc[i]
    rows = [("particle", _mc_label(p))]
    if p.status_names is not None:
        rows.append(("status", f"{p.status}: {', '.join(p.status_names) or 'none'}"))
    if p.mother >= 0:
        rows.append((f"mother mc {p.mother}", _mc_label(d.mc[p.mother]) if p.mother < len(d.mc) else "?"))
    rows += [(f"daughter mc {j}", _mc_label(d.mc[j])) for j in p.daughters if j < len(d.mc)]
    for name, value in (
        ("production vertex [cm]", p.production_vertex),
        ("production time [ns]", p.production_time),
        ("decay vertex [cm]", p.decay_vertex),
        ("decay time [ns]", p.decay_time),
        ("valid vertex", p.valid_vertex),
        ("secondary process (Geant4)", p.secondary_process),
    ):
        if value is not None:
            rows.append((name, _fmt(np.asarray(value)) if isinstance(value, tuple) else _fmt(value)))
    if p.seen_in is not None:
        rows.append(("seen in", ", ".join(p.seen_in) or "no detector"))
    sections: list[Section] = [(f"MC truth ({d.mc_origin})", rows)]
    if d.mc_links is not None:
        matched = [
            (
                f"matched {x.kind} {x.index}",
                f"weight {x.weight:.4g}" + (" (negative: a clone)" if x.clone else ""),
            )
            for x in d.links_to(i)
            if x.index >= 0
        ]
        sections.append(("reconstructed from it (relation weights)", matched or [("", "nothing")]))
    return sections


def detail_sections(event: EventBatch, kind: str, index: int, d: md.EventDetails) -> list[Section]:
    """The sections of what the mdst holds for (kind, index) beyond the event model."""
    if kind == "track":
        out = [_pid_section(event, index, d), _fit_section(event, index, d)]
        out.append(_mc_match_section("track", index, d))
        if d.members.get("Tracks"):
            out.append(_members_section("Track members (file)", d.member_rows("Tracks", index)))
        return out
    if kind == "ecl":
        members = d.ecl_members(index)
        if not members:
            return [_missing(d, "members", "cluster shape")]
        return [
            _members_section("cluster shape and members", members, ECL_SHAPE_LABELS),
            _mc_match_section("ecl", index, d),
        ]
    if kind == "klm":
        members = d.member_rows("KLMClusters", index)
        out = [_members_section("KLM cluster members (file)", members)] if members else []
        return [*out, _mc_match_section("klm", index, d)]
    if kind == "vertex":
        members = d.member_rows("V0s", index)
        return [_members_section("V0 members (file)", members)] if members else []
    if kind == "mc":
        return _mc_truth_section(index, d)
    return []


def event_sections(d: md.EventDetails) -> list[Section]:
    """With nothing selected: the event's HLT results and event-level objects."""
    if not d.available:
        return [("event details", [("", d.note("event"))])]
    sections: list[Section] = []
    if d.hlt is None:
        sections.append(_missing(d, "hlt", "HLT (SoftwareTriggerResult)"))
    else:
        ordered = sorted(d.hlt, key=lambda h: (not h.accepted, h.identifier))
        accepted = sum(h.accepted for h in d.hlt)
        rows = [(h.identifier.removeprefix("software_trigger_cut&"), h.words()) for h in ordered]
        sections.append((f"HLT (SoftwareTriggerResult): {accepted} of {len(d.hlt)} accept", rows))
    for obj, rows in d.event_info.items():
        sections.append((obj, [(name, _fmt(value)) for name, value in rows]))
    if "event_info" in d.notes:
        sections.append(_missing(d, "event_info", "event-level information"))
    for line in d.issues:
        sections.append(("file issue", [("", line)]))
    return sections


def mc_tree(d: md.EventDetails) -> list[Node]:
    """The MC truth as a tree: the particles without a mother at the top, daughters below."""
    particles = d.mc or []
    n = len(particles)

    def node(i: int, depth: int) -> Node:
        p = particles[i]
        seen = "" if p.seen_in is None else f"; seen in {', '.join(p.seen_in) or 'none'}"
        children = [node(j, depth + 1) for j in p.daughters if 0 <= j < n] if depth < 64 else []
        return (f"mc {i}", f"{_mc_label(p)}{seen}", children)

    return [node(i, 0) for i, p in enumerate(particles) if not 0 <= p.mother < n]


def describe(
    event: EventBatch, kind: str, index: int, details: md.EventDetails | None = None
) -> list[Section]:
    """Sections of (name, value) rows: the object itself, its mdst details (when given), then each
    linked object."""
    col: Collection = getattr(event, COLLECTION_OF[kind])
    if not 0 <= index < col.size:
        return [(f"{kind} {index}", [("error", f"no such object (event has {col.size})")])]
    rows = _columns(col, index)
    if kind == "track":
        rows = _track_derived(event, index) + rows
    rows += _flight(event, kind, index)
    sections: list[Section] = [(f"{kind} {index}", rows)]
    if details is not None:
        sections += detail_sections(event, kind, index, details)
    for k, j in linked(event, kind, index):
        other: Collection = getattr(event, COLLECTION_OF[k])
        if 0 <= j < other.size:
            extra = _track_derived(event, j) if k == "track" else []
            sections.append((f"linked {k} {j}", extra + _columns(other, j)))
    return sections


DetailsProvider = Callable[[], "md.EventDetails | None"]


def browser_details(browser: Any) -> md.EventDetails | None:
    """The mdst details of the event an EventBrowser shows (its source and index); a file that
    fails to give them gives details saying why."""
    from events import mdst_details as md

    event, source = browser.current_event, browser.source
    if event is None or source is None:
        return None
    try:
        return md.details_for(source, int(browser.index), event)
    except EventFileError as exc:
        return md.EventDetails(str(getattr(source, "path", "")), int(browser.index), False, str(exc))


class Inspector(QtWidgets.QTreeWidget):
    """A two-column tree: one branch per section of ``describe`` (or of the event, with nothing
    selected). ``details_provider`` gives the shown event's mdst details; it is asked only while the
    inspector is visible. ``navigate`` asks for an object to be selected (double click on its row)."""

    navigate = QtCore.Signal(str, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["parameter", "value"])
        self.setAlternatingRowColors(True)
        self.details_provider: DetailsProvider | None = None
        self._shown: tuple[EventBatch | None, str | None, int] = (None, None, -1)
        self._stale = False
        self._name_width = 0  # the names' column as wide as its contents, before _fit_names
        self.itemDoubleClicked.connect(self._double_clicked)

    def show_object(
        self,
        event: EventBatch | None,
        kind: str | None,
        index: int = -1,
        details: md.EventDetails | None = None,
    ) -> None:
        self._shown = (event, kind, index)
        if details is None and self.details_provider is not None:
            if not self.isVisible():  # read the file's details when someone looks
                self._stale = True
                self.clear()
                return
            details = self.details_provider()
        self._stale = False
        self.clear()
        if event is None:
            return
        if kind is None:
            if details is not None:  # HLT (or why there is none), the MC tree, the event-level objects
                sections = event_sections(details)
                self._add_sections(sections[:1])
                self._add_mc_tree(details)
                self._add_sections(sections[1:])
        else:
            self._add_sections(describe(event, kind, index, details))
        self.resizeColumnToContents(0)
        self._name_width = self.columnWidth(0)
        self._fit_names()

    def _fit_names(self) -> None:
        """The names never take more than half a narrow dock: the values (an MC particle, a fit) need it."""
        half = max(NAME_COLUMN_MIN, self.viewport().width() // 2)
        self.setColumnWidth(0, min(self._name_width, half))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # Qt name
        super().resizeEvent(event)
        if self._name_width:
            self._fit_names()

    def _add_sections(self, sections: list[Section]) -> None:
        for title, rows in sections:
            top = QtWidgets.QTreeWidgetItem([title, ""])
            notes = []
            for name, value in rows:
                item = QtWidgets.QTreeWidgetItem([name or value, value])
                item.setToolTip(0 if not name else 1, value)  # long values (a fit, an HLT line) in full
                top.addChild(item)
                if not name:  # a note (why a section is empty): the whole row's width, not the value's
                    notes.append(item)
            self.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)  # a section's title has the row to itself
            for item in notes:
                item.setFirstColumnSpanned(True)
            top.setExpanded(
                not title.startswith(("linked", "HLT", "Track members", "KLM cluster", "V0 members"))
            )

    def _add_mc_tree(self, details: md.EventDetails) -> None:
        if details.mc is None:
            return
        top = QtWidgets.QTreeWidgetItem(
            [f"MC truth tree ({details.mc_origin})", f"{len(details.mc)} particles"]
        )
        self.addTopLevelItem(top)

        def add(parent: QtWidgets.QTreeWidgetItem, nodes: list[Node], depth: int) -> None:
            for name, value, children in nodes:
                item = QtWidgets.QTreeWidgetItem([name, value])
                item.setToolTip(1, value)
                parent.addChild(item)
                add(item, children, depth + 1)
                item.setExpanded(depth < 2)  # the first decays open; deeper ones on demand

        add(top, mc_tree(details), 0)
        top.setExpanded(True)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.show_object(*self._shown)

    def _double_clicked(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        target = TARGET.match(item.text(0))
        if target:
            self.navigate.emit(target.group(1), int(target.group(2)))

    def sections(self) -> list[str]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item.text(0) for item in items if item is not None]
