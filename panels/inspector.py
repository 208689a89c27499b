"""The object inspector: every parameter of the selected object and of the objects linked to it
(track <-> ECL cluster <-> KLM cluster <-> MC particle, vertex <-> daughter tracks).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from displays.timeline import timeline
from events import field, helix, kinematics
from events.model import Collection, EventBatch
from geometry.angles import polar_angle

Section = tuple[str, list[tuple[str, str]]]
PID_NAMES = ("e", "mu", "pi", "K", "p", "d")
COLLECTION_OF = {"track": "tracks", "ecl": "ecl", "klm": "klm", "vertex": "vertices", "mc": "mc"}


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "nan" if not np.isfinite(value) else f"{float(value):.5g}"
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(_fmt(v) for v in value.ravel()) + "]"
    return str(value.item() if isinstance(value, np.generic) else value)


def _columns(col: Collection, index: int) -> list[tuple[str, str]]:
    return [(name, _fmt(values[index])) for name, values in col.columns.items()]


def _track_derived(event: EventBatch, i: int) -> list[tuple[str, str]]:
    t = event.tracks
    bz = float(event.header["bz"][0])
    p = helix.momentum(t["phi0"][i], t["omega"][i], t["tan_lambda"][i], field.track_bz(bz, t["z0"][i]))
    pmag = float(np.linalg.norm(p))
    out = [
        ("p [GeV]", _fmt(pmag)),
        ("pT [GeV]", _fmt(float(np.hypot(p[0], p[1])))),
        ("(px, py, pz) [GeV]", _fmt(p)),
        ("theta [deg]", _fmt(float(np.degrees(polar_angle(p))))),
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


def describe(event: EventBatch, kind: str, index: int) -> list[Section]:
    """Sections of (name, value) rows: the object itself, then each linked object."""
    col: Collection = getattr(event, COLLECTION_OF[kind])
    if not 0 <= index < col.size:
        return [(f"{kind} {index}", [("error", f"no such object (event has {col.size})")])]
    rows = _columns(col, index)
    if kind == "track":
        rows = _track_derived(event, index) + rows
    rows += _flight(event, kind, index)
    sections: list[Section] = [(f"{kind} {index}", rows)]
    for k, j in linked(event, kind, index):
        other: Collection = getattr(event, COLLECTION_OF[k])
        if 0 <= j < other.size:
            extra = _track_derived(event, j) if k == "track" else []
            sections.append((f"linked {k} {j}", extra + _columns(other, j)))
    return sections


class Inspector(QtWidgets.QTreeWidget):
    """A two-column tree: one branch per section of ``describe``."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["parameter", "value"])
        self.setAlternatingRowColors(True)

    def show_object(self, event: EventBatch | None, kind: str | None, index: int = -1) -> None:
        self.clear()
        if event is None or kind is None:
            return
        for title, rows in describe(event, kind, index):
            top = QtWidgets.QTreeWidgetItem([title, ""])
            for name, value in rows:
                top.addChild(QtWidgets.QTreeWidgetItem([name, value]))
            self.addTopLevelItem(top)
            top.setExpanded(not title.startswith("linked"))
        self.resizeColumnToContents(0)

    def sections(self) -> list[str]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item.text(0) for item in items if item is not None]
