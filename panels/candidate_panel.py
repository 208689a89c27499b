"""The candidate tool panel: add selected objects with a mass hypothesis, read the recoil.

The panel follows a ``Scene``: its event and its selection (what Add selected adds). Figures update
live; the recoil goes into the scene, so every view of it draws the dashed arrow from the IP with
its mass.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from displays.scene import Scene
from events import candidate
from events.candidate import Candidate, CandidateError, Pick
from events.model import EventBatch

HYPOTHESES = {
    "track": [("π", 211), ("μ", 13), ("e", 11), ("K", 321), ("p", 2212)],
    "ecl": [("γ", 22)],
    "klm": [("K_L", 130)],
}


class CandidatePanel(QtWidgets.QWidget):
    candidate_changed = QtCore.Signal(object)  # Candidate or None

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, scene: Scene | None = None) -> None:
        super().__init__(parent)
        self.scene = scene if scene is not None else Scene()
        self.current_event: EventBatch | None = self.scene.event
        self.picks: list[Pick] = []
        self.current: tuple[str, int] | None = None
        self.result: Candidate | None = None
        lay = QtWidgets.QVBoxLayout(self)
        buttons = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add selected")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.clear_button = QtWidgets.QPushButton("Clear")
        for b in (self.add_button, self.remove_button, self.clear_button):
            buttons.addWidget(b)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["object", "#", "as"])
        self.table.verticalHeader().setVisible(False)
        self.cms_box = QtWidgets.QCheckBox("recoil angle in the CM frame")
        self.result_label = QtWidgets.QLabel("select tracks or clusters, then Add selected")
        self.result_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setStyleSheet("font-family: monospace;")
        lay.addLayout(buttons)
        lay.addWidget(self.table)
        lay.addWidget(self.cms_box)
        lay.addWidget(self.result_label)
        self.add_button.clicked.connect(self.add_current)
        self.remove_button.clicked.connect(self._remove_selected)
        self.clear_button.clicked.connect(self.clear)
        self.cms_box.toggled.connect(lambda _: self._update())
        self.scene.events.event.connect(self.set_event)
        self.scene.events.selection.connect(self._selection_changed)

    def detach(self) -> None:
        """Stop following the scene."""
        self.scene.events.event.disconnect(self.set_event)
        self.scene.events.selection.disconnect(self._selection_changed)

    def set_event(self, event: EventBatch | None) -> None:
        """A new event: nothing selected, no candidate yet."""
        self.current_event = event
        self.set_current(None, -1)
        self.clear()

    def _selection_changed(self, selection: tuple[str, int] | None) -> None:
        self.set_current(*(selection if selection is not None else (None, -1)))

    def set_current(self, kind: str | None, index: int) -> None:
        """The object selected in the browser or a view (what Add selected adds)."""
        self.current = None if kind is None else (kind, index)
        self.add_button.setEnabled(kind in HYPOTHESES)

    def add_current(self) -> None:
        if self.current is not None and self.current[0] in HYPOTHESES:
            self.add(Pick(self.current[0], self.current[1]))  # type: ignore[arg-type]

    def add(self, pick: Pick) -> None:
        if any((p.kind, p.index) == (pick.kind, pick.index) for p in self.picks):
            return
        self.picks.append(pick)
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(pick.kind))
        self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(str(pick.index)))
        combo = QtWidgets.QComboBox()
        for label, pdg in HYPOTHESES[pick.kind]:
            combo.addItem(label, pdg)
        combo.setCurrentIndex(max(combo.findData(pick.hypothesis), 0))
        combo.currentIndexChanged.connect(
            lambda _=0, r=row, c=combo: self._set_hypothesis(r, int(c.currentData()))
        )
        self.table.setCellWidget(row, 2, combo)
        self._update()

    def set_hypothesis(self, row: int, pdg: int) -> None:
        combo = self.table.cellWidget(row, 2)
        assert isinstance(combo, QtWidgets.QComboBox)
        combo.setCurrentIndex(combo.findData(pdg))

    def _set_hypothesis(self, row: int, pdg: int) -> None:
        p = self.picks[row]
        self.picks[row] = Pick(p.kind, p.index, pdg)
        self._update()

    def _remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows:
            self.table.removeRow(r)
            del self.picks[r]
        self._rebuild()

    def _rebuild(self) -> None:
        picks, self.picks = self.picks, []
        self.table.setRowCount(0)
        for p in picks:
            self.add(p)
        self._update()

    def clear(self) -> None:
        self.picks = []
        self.table.setRowCount(0)
        self._update()

    def _update(self) -> None:
        self.result = None
        if self.current_event is not None and self.picks:
            try:
                self.result = candidate.evaluate(self.current_event, self.picks)
            except CandidateError as exc:
                self.result_label.setText(str(exc))
        if self.result is None:
            if not self.picks:
                self.result_label.setText("select tracks or clusters, then Add selected")
            self.scene.clear_recoil()
        else:
            c = self.result
            self.result_label.setText("\n".join(candidate.summary_lines(c, self.cms_box.isChecked())))
            label = f"recoil  M = {c.recoil_mass:.3f} GeV"
            self.scene.set_recoil(c.recoil_direction, float(np.linalg.norm(c.recoil_p4[1:])), label)
        self.candidate_changed.emit(self.result)
