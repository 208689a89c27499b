"""The live histogram panel: reference overlay, status colour, click a bin -> its events, PNG export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from events.model import EventBatch
from monitoring.histograms import samples
from monitoring.histograms.compare import Status
from monitoring.histograms.definitions import STANDARD, by_name
from monitoring.histograms.running import RunningHistogram
from panels.histogram_panel import STATUS, BinSelection, HistogramPanel

PEAK = 6.02  # GeV, recoil mass of the injected signal


def _stream(rng: np.random.Generator, n: int, signal: float, run: int, first: int) -> EventBatch:
    """Muon pairs with a flat recoil-mass spectrum plus a fraction ``signal`` at PEAK, and photons."""
    masses = np.where(rng.random(n) < signal, PEAK, rng.uniform(0.5, 9.5, n))
    pairs = samples.muon_pair_events(masses, n, rng, run=run, first_event=first)
    photons = samples.single_photon_events(4.0, n // 5, rng, run=run, first_event=first + n)
    return EventBatch.concat([pairs, photons])


@pytest.fixture
def histograms() -> list[RunningHistogram]:
    rng = np.random.default_rng(5)
    reference_run = [RunningHistogram(d) for d in STANDARD]
    for k in range(4):
        batch = _stream(rng, 5000, 0.0, run=1, first=10_000 * k)
        for h in reference_run:
            h.fill(batch)
    live = [
        RunningHistogram(d, window_batches=2, reference=r.snapshot().run_counts)
        for d, r in zip(STANDARD, reference_run, strict=True)
    ]
    for k in range(3):
        batch = _stream(rng, 2000, 0.15, run=7, first=10_000 * k)
        for h in live:
            h.fill(batch)
    return live


def _click_plot(qtbot, panel: HistogramPanel, x: float, y: float) -> None:
    viewbox = panel.plot.getViewBox()

    def visible() -> bool:
        (x0, x1), (y0, y1) = viewbox.viewRange()
        return x0 < x < x1 and y0 < y < y1

    qtbot.waitUntil(visible, timeout=2000)  # auto-range settles on the next paint
    scene_point = viewbox.mapViewToScene(QtCore.QPointF(x, y))
    widget_point = panel.plot.mapFromScene(scene_point)
    qtbot.mouseClick(panel.plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_point)


def test_panel_draws_overlay_and_status_and_links_bins(qtbot, histograms, screenshot_dir) -> None:
    panel = HistogramPanel(histograms, refresh_ms=50)
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh()

    # data and scaled reference are the histogram's
    snap = panel.snapshot
    assert snap is not None
    assert snap.name == "zprime_recoil_mass"
    _, y = panel.data_item.getData()
    np.testing.assert_array_equal(y, snap.run_counts)
    _, ref = panel.reference_item.getData()
    assert ref.sum() == pytest.approx(snap.run_counts.sum())
    # the injected peak is flagged against the signal-free reference, in red
    assert snap.check.status is Status.ERROR
    assert "error" in panel.status_label.text()
    assert STATUS[Status.ERROR].color in panel.status_label.styleSheet()

    # click on the peak bin: the signal lists the events of that bin, and so does the list
    axis = snap.axes[0]
    peak_bin = int(axis.index(np.array([PEAK]))[0])
    height = float(snap.run_counts[peak_bin])
    with qtbot.waitSignal(panel.bin_selected, timeout=2000) as blocker:
        _click_plot(qtbot, panel, axis.lo + (peak_bin + 0.5) * axis.width, height / 2)
    selection: BinSelection = blocker.args[0]
    assert selection.bin == (peak_bin,)
    assert selection.histogram == "zprime_recoil_mass"
    assert len(selection.records) == histograms[0].links.keep
    assert set(selection.records["run"]) == {7}
    assert panel.events_list.count() == len(selection.records)
    assert (
        f"event {selection.records['event'][-1]}"
        in panel.events_list.item(panel.events_list.count() - 1).text()
    )

    path = panel.export_png(screenshot_dir / "histogram_panel_zprime.png")
    image = QtGui.QImage(str(path))
    assert image.width() >= 1000
    # the red status border is drawn around the plot
    red = sum(
        1
        for px in range(0, image.width(), 4)
        for py in range(0, image.height(), 4)
        if QtGui.QColor(image.pixel(px, py)).name() == STATUS[Status.ERROR].color
    )
    assert red > 100


def test_panel_two_dimensional_plane_and_window(qtbot, histograms, screenshot_dir) -> None:
    panel = HistogramPanel(histograms, refresh_ms=50)
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.chooser.setCurrentIndex(1)  # dark Higgsstrahlung plane
    assert panel.image_item.isVisible()
    assert not panel.data_item.isVisible()
    snap = panel.snapshot
    assert snap is not None
    np.testing.assert_array_equal(panel.image_item.image, snap.run_counts)
    # click on the fullest cell of the plane
    ix, iy = np.unravel_index(np.argmax(snap.run_counts), snap.run_counts.shape)
    x, y = snap.axes
    with qtbot.waitSignal(panel.bin_selected, timeout=2000) as blocker:
        _click_plot(qtbot, panel, x.lo + (ix + 0.5) * x.width, y.lo + (iy + 0.5) * y.width)
    assert blocker.args[0].bin == (ix, iy)
    assert len(blocker.args[0].records) > 0
    panel.export_png(screenshot_dir / "histogram_panel_dark_higgs.png")

    panel.view_mode.setCurrentText("window")
    np.testing.assert_array_equal(panel.image_item.image, histograms[1].snapshot().window_counts)
    assert histograms[1].snapshot().window_counts.sum() < snap.run_counts.sum()


def test_panel_repaints_on_its_timer_and_follows_run_changes(qtbot, histograms) -> None:
    panel = HistogramPanel(histograms, refresh_ms=30)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    before = panel.data_item.getData()[1].sum()
    rng = np.random.default_rng(9)
    new_run = _stream(rng, 500, 0.0, run=8, first=0)
    for h in histograms:
        h.fill(new_run)
    expected = histograms[0].snapshot().run_counts.sum()
    assert expected < before  # a new run starts from zero
    qtbot.waitUntil(lambda: panel.data_item.getData()[1].sum() == expected, timeout=2000)
    assert "run 8" in panel.status_label.text()


def test_panel_needs_histograms() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HistogramPanel([])


def test_click_outside_the_histogram_selects_nothing(qtbot) -> None:
    panel = HistogramPanel([RunningHistogram(by_name("single_photon_energy"))])
    qtbot.addWidget(panel)
    assert panel.bin_at(-5.0) is None
    assert panel.bin_at(7.0) is None
    assert panel.bin_at(4.53) == (90,)


def test_the_panel_redraws_only_after_a_fill(qtbot, histograms: list[RunningHistogram]) -> None:
    panel = HistogramPanel(histograms)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    redraws: list[int] = []
    panel.data_item.sigPlotChanged.connect(lambda *_: redraws.append(1))
    panel._tick()
    panel._tick()
    assert redraws == []  # nothing filled since the panel drew: nothing redrawn, no check rerun
    before = panel.snapshot
    assert before is not None
    histograms[0].fill(_stream(np.random.default_rng(9), 500, 0.15, run=7, first=90_000))
    panel._tick()
    assert redraws == [1]
    assert panel.snapshot is not None
    assert panel.snapshot.events_seen == before.events_seen + 600  # 500 pairs and 100 photons


def test_the_panel_writes_names_as_the_window_does_and_files_keep_theirs(qtbot, histograms) -> None:
    """Z′, μ⁺μ⁻ and E*_γ in the chooser and on the axes, "PNG" as on the monitoring panels; the
    definitions' ASCII titles and axis labels, which ROOT files carry, are unchanged."""

    panel = HistogramPanel(histograms, refresh_ms=50)
    qtbot.addWidget(panel)
    names = [panel.chooser.itemText(i) for i in range(panel.chooser.count())]
    assert names[0] == "Z′ → invisible: recoil mass against μ⁺μ⁻"
    assert not any("->" in n or "mu" in n or "gamma" in n for n in names)
    assert panel.export_button.text() == "PNG"
    panel.chooser.setCurrentIndex([h.definition.name for h in histograms].index("dark_higgs_plane"))
    assert panel.plot.getAxis("bottom").labelText == "M(μμ) [GeV]"
    assert STANDARD[0].title == "Z' -> invisible: recoil mass against mu+ mu-"
    assert STANDARD[1].axes[0].label == "M(mu mu) [GeV]"
