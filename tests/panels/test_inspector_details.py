"""The Inspector with an mdst event's details: PID per detector, fit hypotheses, MC truth and its
navigation, cluster shapes, the event's HLT results and MC tree; pictures for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6 import QtWidgets

from events import mdst_details as md
from events.generator import generate
from events.mdst import MdstSource
from events.model import EventBatch
from panels.inspector import Inspector, describe


@pytest.fixture(scope="module")
def first(mdst_sample: Path) -> tuple[EventBatch, md.EventDetails]:
    source = MdstSource(mdst_sample)
    return source.event(0), md.details_for(source, 0)


def _top(w: Inspector, i: int) -> QtWidgets.QTreeWidgetItem:
    item = w.topLevelItem(i)
    assert item is not None
    return item


def _kids(item: QtWidgets.QTreeWidgetItem) -> list[QtWidgets.QTreeWidgetItem]:
    out = [item.child(k) for k in range(item.childCount())]
    assert all(c is not None for c in out)
    return [c for c in out if c is not None]


def _section(w: Inspector, start: str) -> QtWidgets.QTreeWidgetItem:
    return next(_top(w, i) for i in range(w.topLevelItemCount()) if _top(w, i).text(0).startswith(start))


def _children(w: Inspector, title: str) -> dict[str, str]:
    return {c.text(0): c.text(1) for c in _kids(_section(w, title))}


def test_a_track_shows_its_pid_per_detector_fits_and_mc_match(
    qtbot, first: tuple[EventBatch, md.EventDetails], screenshot_dir: Path
) -> None:
    event, details = first
    w = Inspector()
    qtbot.addWidget(w)
    w.resize(760, 900)
    w.show()
    qtbot.waitExposed(w)
    w.show_object(event, "track", 0, details)
    assert w.sections()[:4] == [
        "track 0",
        "PID per detector (log L)",
        "fit hypotheses",
        "MC match (relation weights)",
    ]
    pid = _children(w, "PID per detector (log L)")
    assert pid["detectors"] == "SVD, CDC"
    assert pid["CDC log L"].startswith("e -0.01043, mu -2.448, pi -0.2198")
    assert pid["probability (equal priors)"].startswith("e 0.191, mu 0.0787, pi 0.73")
    fits = _children(w, "fit hypotheses")
    assert list(fits) == ["pi (fit 0)", "K (fit 1)"]
    assert "pdg 321" in fits["K (fit 1)"]
    assert "CDC hits 125" in fits["K (fit 1)"]
    w.grab().save(str(screenshot_dir / "inspector_track_details.png"))


def test_mc_truth_navigates_to_mother_and_daughters(qtbot, first: tuple[EventBatch, md.EventDetails]) -> None:
    event, details = first
    w = Inspector()
    qtbot.addWidget(w)
    w.show_object(event, "mc", 2, details)  # the B- of the first event
    truth = _children(w, "MC truth (mdst MCParticles)")
    assert truth["particle"].startswith("B- (-521)")
    assert truth["mother mc 0"].startswith("Upsilon(4S)")
    assert [k for k in truth if k.startswith("daughter")] == [
        "daughter mc 5",
        "daughter mc 6",
        "daughter mc 7",
    ]
    asked: list[tuple[str, int]] = []
    w.navigate.connect(lambda kind, index: asked.append((kind, index)))
    daughter = next(c for c in _kids(_section(w, "MC truth")) if c.text(0) == "daughter mc 6")
    w.itemDoubleClicked.emit(daughter, 0)
    assert asked == [("mc", 6)]


def test_a_cluster_shows_its_shape_and_a_clone_its_mark(
    qtbot, first: tuple[EventBatch, md.EventDetails]
) -> None:
    event, details = first
    sections = dict(describe(event, "ecl", 0, details))
    shape = dict(sections["cluster shape and members"])
    assert shape["E9/E21"] == "0.98633"
    assert shape["Zernike MVA"] == "0.80566"
    assert "m_clusterId" in shape  # every member, the labelled ones first
    clone = md.McLink("track", 0, 3, -1.0)
    assert clone.clone
    assert not md.McLink("ecl", 0, 3, -1.0).clone


def test_the_event_view_lists_hlt_and_the_mc_tree_and_reads_details_only_when_seen(
    qtbot, first: tuple[EventBatch, md.EventDetails], screenshot_dir: Path
) -> None:
    event, details = first
    calls: list[int] = []
    w = Inspector()
    qtbot.addWidget(w)

    def provider() -> md.EventDetails:
        calls.append(1)
        return details

    w.details_provider = provider
    w.show_object(event, None)
    assert calls == []  # hidden: nothing read yet
    w.resize(760, 900)
    w.show()
    qtbot.waitExposed(w)
    assert calls == [1]
    titles = w.sections()
    assert titles[:2] == ["HLT (SoftwareTriggerResult): 16 of 99 accept", "MC truth tree (mdst MCParticles)"]
    assert {"EventLevelTriggerTimeInfo", "EventLevelTrackingInfo", "TRGSummary"} <= set(titles)
    upsilon = _kids(_top(w, 1))[0]
    assert upsilon.text(0) == "mc 0"
    assert [c.text(1).split(" ")[0] for c in _kids(upsilon)] == ["B+", "B-"]
    w.grab().save(str(screenshot_dir / "inspector_event_details.png"))


def test_simulated_events_show_not_available_and_the_generator_tree(qtbot) -> None:
    event = generate(2, seed=3).event(0)
    details = md.details_for(object(), 0, event)
    w = Inspector()
    qtbot.addWidget(w)
    w.show_object(event, None, details=details)
    assert w.sections() == ["event details", "MC truth tree (generator truth)"]
    assert _top(w, 1).childCount() >= 1
    assert _kids(_top(w, 0))[0].text(1).startswith("not available: ")


def test_notes_and_values_are_readable_in_a_narrow_dock(qtbot) -> None:
    """At 1366x768 the Inspector dock is ~480 px: a note ('not available: ...') takes the whole row,
    and the parameter names leave the values at least half of it."""
    event = generate(2, seed=3).event(0)
    details = md.details_for(object(), 0, event)
    w = Inspector()
    qtbot.addWidget(w)
    w.resize(480, 400)
    w.show()
    qtbot.waitExposed(w)
    w.show_object(event, None, details=details)
    note = _kids(_top(w, 0))[0]
    assert note.text(1).startswith("not available: ")
    assert note.text(0) == note.text(1)
    rect = w.visualItemRect(note)
    assert rect.width() >= w.viewport().width() - w.indentation() * 2  # spanned over both columns
    assert w.columnWidth(0) <= w.viewport().width() // 2 + 1
    assert _top(w, 0).isFirstColumnSpanned()  # a section's title is never cut by the value column
