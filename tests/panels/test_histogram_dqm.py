"""The histogram panel's DQM controls: the previous run drawn as the reference, the normalisations, a
reference file chosen and remembered, a damaged one said in one line, and the delta views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from events.model import EventBatch
from monitoring.histograms import samples
from monitoring.histograms.compare import Normalisation, Status, scale_reference
from monitoring.histograms.definitions import by_name
from monitoring.histograms.export import write_running
from monitoring.histograms.running import RunningHistogram
from panels.histogram_panel import REFERENCE_COLOR, STATUS, HistogramPanel

ZPRIME = by_name("zprime_recoil_mass")
PHOTON = by_name("single_photon_energy")


class Clock:
    def __init__(self) -> None:
        self.t = 2_000_000.0

    def __call__(self) -> float:
        return self.t


def _pairs(rng: np.random.Generator, n: int, run: int, first: int, peak: float = 0.0) -> EventBatch:
    masses = np.where(rng.random(n) < peak, 6.02, rng.uniform(0.5, 9.5, n))
    return EventBatch.concat([
        samples.muon_pair_events(masses, n, rng, run=run, first_event=first),
        samples.single_photon_events(4.0, n // 4, rng, run=run, first_event=first + n),
    ])  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(clock: Clock) -> list[RunningHistogram]:
    """Run 1 flat and complete, then run 2 with a peak: run 1 is run 2's reference by default."""
    rng = np.random.default_rng(3)
    hists = [RunningHistogram(d, clock=clock) for d in (ZPRIME, PHOTON)]
    for batch in (_pairs(rng, 6000, 1, 1), _pairs(rng, 6000, 1, 7501)):
        for h in hists:
            h.fill(batch)
    for k in range(6):  # run 2: a batch a minute
        batch = _pairs(rng, 1000, 2, 1 + 1250 * k, peak=0.2)
        for h in hists:
            h.fill(batch)
        clock.t += 60.0
    clock.t -= 60.0
    return hists


@pytest.fixture
def settings(tmp_path: Path) -> QtCore.QSettings:
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


def _pixels(image: QtGui.QImage, color: str) -> int:
    """How many pixels have exactly ``color`` (#rrggbb)."""
    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    pixels = rows[:, : 3 * rgb.width()].reshape(rgb.height(), rgb.width(), 3)
    want = QtGui.QColor(color)
    return int(np.all(pixels == (want.red(), want.green(), want.blue()), axis=2).sum())


def _shown(qtbot, live, settings) -> HistogramPanel:
    panel = HistogramPanel(live, refresh_ms=50, settings=settings)
    qtbot.addWidget(panel)
    panel.resize(1200, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh()
    return panel


def test_the_previous_run_is_drawn_as_the_reference_and_the_status_is_red(
    qtbot, live, settings, screenshot_dir
) -> None:
    panel = _shown(qtbot, live, settings)
    snap = panel.snapshot
    assert snap is not None
    assert snap.reference_source == "exp 0 run 1 (previous)"
    assert snap.check.status is Status.ERROR  # the peak against the flat run 1
    assert "ref exp 0 run 1 (previous)" in panel.status_label.text()
    assert snap.reference is not None
    _, ref = panel.reference_item.getData()
    assert np.allclose(ref, scale_reference(snap.reference, snap.run_counts, Normalisation.ENTRIES))
    path = panel.export_png(screenshot_dir / "histogram_dqm_previous_run.png")
    image = QtGui.QImage(str(path))
    assert _pixels(image, REFERENCE_COLOR) > 100  # the dashed reference is drawn
    assert _pixels(image, STATUS[Status.ERROR].color) > 200  # the red frame and status


def test_normalisations_per_histogram_are_remembered(qtbot, live, settings) -> None:
    panel = _shown(qtbot, live, settings)
    assert panel.norm_box.currentText() == "entries"  # the definition's default for the recoil mass
    panel.norm_box.setCurrentText("maximum")
    counts = panel.data_item.getData()[1]
    _, ref = panel.reference_item.getData()
    assert ref.max() == pytest.approx(counts.max())
    panel.norm_box.setCurrentText("none")
    assert panel.snapshot is not None
    assert panel.snapshot.reference is not None
    np.testing.assert_allclose(panel.reference_item.getData()[1], panel.snapshot.reference)
    legend = [label.text for sample, label in panel.legend.items if sample.item is panel.reference_item]
    assert legend == ["reference (not scaled)"]
    panel.chooser.setCurrentIndex(1)
    assert panel.norm_box.currentText() == "maximum"  # the photon line's own default
    settings.sync()
    again = HistogramPanel(live, settings=settings)
    qtbot.addWidget(again)
    assert again.normalisation == {
        "zprime_recoil_mass": Normalisation.NONE,
        "single_photon_energy": Normalisation.MAXIMUM,
    }


def test_a_reference_file_is_used_remembered_and_reloaded(
    qtbot, live, settings, tmp_path, screenshot_dir
) -> None:
    rng = np.random.default_rng(4)
    peaked = [RunningHistogram(d) for d in (ZPRIME, PHOTON)]
    batch = _pairs(rng, 6000, 9, 1, peak=0.2)
    for h in peaked:
        h.fill(batch)
    path = tmp_path / "run9.root"
    write_running(path, peaked)
    panel = _shown(qtbot, live, settings)
    with qtbot.waitSignal(panel.message) as said:
        panel.load_reference_file(path)
    assert said.args[0] == f"reference: {path}: zprime_recoil_mass, single_photon_energy"
    snap = live[0].snapshot()
    assert snap.reference_source == "file run9.root"
    assert snap.check.status is Status.GOOD  # the peaked run against a peaked reference
    assert "ref file run9.root" in panel.status_label.text()
    assert STATUS[Status.GOOD].color in panel.status_label.styleSheet()
    panel.export_png(screenshot_dir / "histogram_dqm_reference_file.png")
    # remembered: a new panel (a restart) loads it again
    settings.sync()
    for h in live:
        h.follow_previous_run()
    assert live[0].snapshot().reference_source == "exp 0 run 1 (previous)"
    again = HistogramPanel(live, settings=settings)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: live[0].snapshot().reference_source == "file run9.root", timeout=2000)
    # back to the default: the file is forgotten
    again.follow_previous_run()
    assert live[0].snapshot().reference_source == "exp 0 run 1 (previous)"
    assert settings.value("dqm/reference_file") is None


def test_a_damaged_reference_file_is_one_line_and_the_panel_goes_on(qtbot, live, settings, tmp_path) -> None:
    damaged = tmp_path / "damaged.root"
    write_running(damaged, live)
    damaged.write_bytes(damaged.read_bytes()[:2000])  # cut short, as by a full disk
    settings.setValue("dqm/reference_file", str(damaged))  # remembered from an earlier shift
    panel = HistogramPanel(live, settings=settings)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.message, timeout=2000) as said:
        pass  # the remembered file is loaded once the event loop runs
    text = said.args[0]
    assert text.startswith(f"reference: {damaged}: ")
    assert text.endswith("; the previous run stays the reference")
    assert "\n" not in text
    assert live[0].snapshot().reference_source == "exp 0 run 1 (previous)"
    panel.refresh()
    assert panel.snapshot is not None
    assert panel.snapshot.check.status is Status.ERROR


def test_the_delta_view_shows_the_last_minutes(qtbot, live, settings, clock) -> None:
    panel = _shown(qtbot, live, settings)
    panel.view_mode.setCurrentText("last 5 min")
    np.testing.assert_array_equal(panel.data_item.getData()[1], live[0].delta(300))
    assert 0 < live[0].delta(300).sum() < live[0].snapshot().run_counts.sum()  # 5 of the run's 6 minutes
    panel.view_mode.setCurrentText("last 1 min")
    np.testing.assert_array_equal(panel.data_item.getData()[1], live[0].delta(60))
    clock.t += 3600  # an hour later, nothing filled: the delta is empty on the next tick
    qtbot.waitUntil(lambda: panel.data_item.getData()[1].sum() == 0, timeout=3000)


def _plane_pixels(panel: HistogramPanel, color: str) -> tuple[np.ndarray, np.ndarray]:
    """The plot's pixels of exactly ``color`` inside the plot's frame (drawn in the status colour, the
    error's the reference's), in the histogram's coordinates (x, y)."""
    image = panel.plot.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    pixels = rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3)
    want = QtGui.QColor(color)
    py, px = np.nonzero(np.all(pixels == (want.red(), want.green(), want.blue()), axis=2))
    box = panel.plot.getViewBox()
    ratio = panel.plot.grab().devicePixelRatio()

    def to_pixel(x: float, y: float) -> tuple[float, float]:
        point = panel.plot.mapFromScene(box.mapViewToScene(QtCore.QPointF(x, y)))
        return point.x() * ratio, point.y() * ratio

    (x0, y0), (x1, y1) = to_pixel(0.0, 0.0), to_pixel(10.0, 10.0)
    x, y = (px - x0) * 10.0 / (x1 - x0), (py - y0) * 10.0 / (y1 - y0)
    inside = (x > 0.2) & (x < 10.2) & (y > 0.2) & (y < 10.2)
    return x[inside], y[inside]


def test_a_2d_histogram_draws_its_reference_where_it_belongs(qtbot, settings, screenshot_dir) -> None:
    from panels.histogram_panel import DIFFERENCE, RATIO, RATIO_TOP

    plane = by_name("dark_higgs_plane")
    rng = np.random.default_rng(8)
    n = 3000
    data = samples.muon_pair_events(rng.normal(2.5, 0.3, n), n, rng, pair_mass=rng.normal(2.5, 0.3, n))
    live = RunningHistogram(plane)
    live.fill(data)
    x_axis, y_axis = plane.axes
    cx, cy = np.meshgrid(x_axis.centers, y_axis.centers, indexing="ij")  # the reference: a blob elsewhere
    reference = np.round(4000 * np.exp(-((cx - 3.0) ** 2 + (cy - 6.5) ** 2) / (2 * 0.5**2)))
    live.set_reference(reference, "a blob at (3.0, 6.5) GeV")
    panel = _shown(qtbot, [RunningHistogram(ZPRIME), live], settings)
    assert not panel.plane_box.isVisible()  # a 1D histogram: no plane views
    panel.chooser.setCurrentIndex(1)
    assert panel.plane_box.isVisible()
    snap = panel.snapshot
    assert snap is not None
    assert snap.check.method == "chi2"
    assert snap.check.status is Status.ERROR  # the data are nowhere near the reference
    assert "chi2" in panel.status_label.text()
    panel.export_png(screenshot_dir / "histogram_dqm_plane_contours.png")

    x, y = _plane_pixels(panel, REFERENCE_COLOR)
    assert len(x) > 100  # the contours are drawn
    distance = np.hypot(x - 3.0, y - 6.5)
    assert distance.max() < 1.6  # around the reference's blob only (its 10 % contour: 1.07 GeV out)
    assert np.hypot(x.mean() - 3.0, y.mean() - 6.5) < 0.25  # centred on it
    assert (distance < 0.8).sum() > 20  # and the inner contour (50 %: 0.59 GeV out)
    assert np.hypot(x - 2.5, y - 2.5).min() > 2.5  # nothing over the data's own blob (4 GeV away)

    peak = (int(x_axis.index(np.array([3.0]))[0]), int(y_axis.index(np.array([6.5]))[0]))
    filled = np.unravel_index(np.argmax(snap.run_counts), snap.run_counts.shape)
    panel.plane_box.setCurrentText(DIFFERENCE)
    image, levels = panel.image_item.image, panel.image_item.getLevels()
    scaled = scale_reference(reference, snap.run_counts, Normalisation.ENTRIES)
    assert image[peak] == pytest.approx(-scaled[peak])  # the reference's peak, missing in the data
    assert image[filled] > 0
    assert levels[0] == pytest.approx(-levels[1])  # symmetric about "as the reference"
    assert len(_plane_pixels(panel, REFERENCE_COLOR)[0]) > 100  # the contours stay over it
    panel.export_png(screenshot_dir / "histogram_dqm_plane_difference.png")
    panel.plane_box.setCurrentText(RATIO)
    image = panel.image_item.image
    assert image[peak] == pytest.approx(0.0)
    assert image[filled] == RATIO_TOP  # entries where the reference has none
