"""Live monitoring panels: alarm latch and acknowledge, export, alarm colours, docks with the simulation."""

from __future__ import annotations

import csv
import math
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from monitoring.channels import Severity
from monitoring.machine import MachineConfig
from monitoring.model import LogEntry
from monitoring.rates import quick_menu
from monitoring.sim import CONTINUOUS, DISCRETE, SimSource, Simulation
from monitoring.source import Update
from panels.monitoring import PANELS, LiveHub, monitoring_docks
from panels.monitoring.luminosity import LuminosityPanel
from panels.monitoring.sbl import MESSAGE_ROWS, SBLPanel
from panels.monitoring.style import ALARM_COLORS, ALARM_STATES, DISCONNECTED, alarm_style
from panels.monitoring.trigger import TriggerPanel

T0 = 1.7e9


@pytest.fixture(scope="module")
def history() -> list[list[Update]]:
    """Two simulated hours with sudden losses, a dead trigger line at the end (seeded)."""
    sim = Simulation(MachineConfig(sbl_per_hour=2.0, run_length_s=1800.0), T0, seed=3, menu=quick_menu())
    batches = [sim.step(T0 + 6.0 * k, 6) for k in range(1, 1101)]
    k = 1101
    while not (sim.machine.stable and sim.machine.now - sim.machine.run_starts[-1] > 600):  # collide first
        batches.append(sim.step(T0 + 6.0 * k, 6))
        k += 1
    sim.kill_bits({"mu_pair"})
    batches += [sim.step(T0 + 6.0 * j, 6) for j in range(k, k + 10)]
    return batches


def make_hub(qtbot, history: list[list[Update]], names: list[str]) -> tuple[LiveHub, dict]:
    hub = LiveHub(SimSource(f"sim://?start={T0:.0f}"))  # never started: the test feeds it live data
    panels = {}
    for name in names:
        panel = PANELS[name]()
        panel.resize(1000, 640)
        qtbot.addWidget(panel)
        panel.show()
        qtbot.waitExposed(panel)
        hub.add(panel)
        panels[name] = panel
    for batch in history:
        hub.model.ingest(batch)
    hub.tick()
    QApplication.processEvents()  # let the plots take their new ranges before anyone grabs them
    return hub, panels


def cell(table, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None
    return item.text()


def pixel_fraction(image: QImage, color: str, tol: int = 40) -> float:
    """Fraction of pixels within ``tol`` of a colour."""
    img = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)[
        :, : 4 * w
    ]
    bgr = arr.reshape(h, w, 4)[:, :, :3].astype(int)
    c = QColor(color)
    target = np.array([c.blue(), c.green(), c.red()])
    return float((np.abs(bgr - target).max(axis=2) <= tol).mean())


def test_sbl_banner_latches_until_acknowledged(qtbot, history, screenshot_dir: Path) -> None:
    hub, panels = make_hub(qtbot, history, ["sbl"])
    panel: SBLPanel = panels["sbl"]
    alarms = hub.model.alarms
    assert len(alarms) >= 2
    assert "SUDDEN BEAM LOSS" in panel.banner.text()
    assert panel.ack.isEnabled()
    assert panel.log.rowCount() == len(alarms)
    assert cell(panel.log, 0, 5) == "NO"
    red = ALARM_COLORS[Severity.MAJOR]
    banner = panel.banner.grab().toImage()
    assert pixel_fraction(banner, red) > 0.5  # the banner is red
    # the post-mortem plot shows the collapse turn by turn
    x, _ = panel.pm_curves[alarms[-1].ring][1].getData()
    assert x is not None
    assert len(x) >= 5
    assert x.min() < 0 < x.max()
    panel.grab().save(str(screenshot_dir / "monitoring_sbl_latched.png"))

    # more data does not clear the latch: only a shifter does
    hub.tick()
    assert panel.ack.isEnabled()
    qtbot.mouseClick(panel.ack, Qt.MouseButton.LeftButton)
    assert not hub.model.sbl.latched
    assert not panel.ack.isEnabled()
    assert panel.banner.text().startswith("acknowledged")
    assert cell(panel.log, 0, 5) != "NO"
    assert pixel_fraction(panel.banner.grab().toImage(), red) < 0.05
    QApplication.processEvents()
    panel.grab().save(str(screenshot_dir / "monitoring_sbl_acknowledged.png"))


def test_every_panel_exports_png_and_csv(qtbot, history, tmp_path: Path, screenshot_dir: Path) -> None:
    hub, panels = make_hub(qtbot, history, list(PANELS))
    for name, panel in panels.items():
        panel.grab().save(str(screenshot_dir / f"monitoring_{name}.png"))
        png, table = panel.export(tmp_path / name)
        image = QImage(str(png))
        assert image.width() == panel.width()
        assert image.height() == panel.height()
        with table.open() as f:
            rows = list(csv.reader(f))
        assert len(rows) > 10, name
        header = rows[0]
        assert len(header) >= 3
    with (tmp_path / "luminosity.csv").open() as f:
        rows = list(csv.reader(f))
    kinds = {r[0] for r in rows[1:]}
    assert {"LUM", "run_start", "fill_start", "integrated_total"} <= kinds
    total = float(next(r[2] for r in rows if r[0] == "integrated_total"))
    assert total == pytest.approx(hub.model.lumi.total, rel=1e-5)


def test_luminosity_panel_shows_integrals_runs_and_fills(qtbot, history) -> None:
    hub, panels = make_hub(qtbot, history, ["luminosity"])
    panel: LuminosityPanel = panels["luminosity"]
    model = hub.model
    assert panel.total_int.text().endswith("fb⁻¹") or panel.total_int.text().endswith("pb⁻¹")
    assert panel.run.text() == str(int(model.states["RUN"].value))
    x, _ = panel.chart.markers["runs"].getData()
    assert x is not None
    in_window = [t for t, _ in model.runs if t >= model.latest_time - panel.span]
    assert len(x) == 2 * len(in_window)
    x, y = panel.chart.curves["LUM"].getData()
    assert np.nanmax(y) == pytest.approx(5.1, rel=0.05)  # ×10³⁴


def test_trigger_panel_flags_a_bit_that_stopped_firing(qtbot, history, screenshot_dir: Path) -> None:
    _, panels = make_hub(qtbot, history, ["trigger"])
    panel: TriggerPanel = panels["trigger"]
    assert panel.silent_bits == ["mu_pair"]
    row = panel.rows.index("mu_pair")
    assert cell(panel.table, row, 3) == f"{ALARM_STATES[Severity.MAJOR].glyph} NOT FIRING"  # not colour alone
    assert "mu_pair" in panel.silent.text()
    assert cell(panel.table, panel.rows.index("ff"), 3) == ""
    # physics and beam background are shown apart, beside the total
    assert panel.physics.text().startswith("physics ")
    assert "Hz" in panel.physics.text()
    assert panel.background.text().startswith("beam background ")
    assert "Hz" in panel.background.text()
    panel.grab().save(str(screenshot_dir / "monitoring_trigger_silent_bit.png"))


def test_disconnected_and_invalid_channels_wear_the_alarm_colours(qtbot, history) -> None:
    hub, panels = make_hub(qtbot, history, ["beams"])
    panel = panels["beams"]
    t = hub.model.latest_time
    hub.model.ingest(
        [
            Update("LER:I", t + 1, math.nan, Severity.INVALID, False, "SIM:BMLDCCT:CURRENT disconnected"),
            Update("HER:I", t + 1, "garbage"),
        ]
    )
    hub.tick()
    ler, her = panel.values["LER"], panel.values["HER"]
    assert ler.text() == f"{DISCONNECTED.glyph} disconnected"
    assert "dashed" in ler.styleSheet()
    assert "disconnected" in ler.toolTip()
    assert ALARM_COLORS[Severity.INVALID] in her.styleSheet()
    assert "wrong type" in her.toolTip()
    image = her.grab().toImage()
    assert pixel_fraction(image, ALARM_COLORS[Severity.INVALID]) > 0.02  # a magenta border
    assert "dashed" in alarm_style(None)


def test_hidden_panels_skip_repaint(qtbot, history) -> None:
    hub, panels = make_hub(qtbot, history, ["luminosity", "beams"])
    panels["beams"].hide()
    before = panels["beams"]._version
    hub.model.ingest([Update("LUM", hub.model.latest_time + 1, 5e34)])
    hub.tick()
    assert panels["beams"]._version == before
    assert panels["luminosity"]._version == hub.model.version


@pytest.mark.slow
def test_docks_run_the_simulation_in_a_worker_thread(qtbot, screenshot_dir: Path) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    docks = monitoring_docks("sim://?accel=300&sbl_rate=0", window)
    assert all(isinstance(d, QDockWidget) for d in docks)
    for dock in docks:
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.resize(1400, 1000)
    window.show()
    hub = docks[0].hub  # type: ignore[attr-defined]
    try:
        qtbot.waitUntil(lambda: len(hub.model.buffers["LUM"]) > 50, timeout=20000)
        qtbot.waitUntil(lambda: hub.frames > 10, timeout=10000)
        assert hub.model.states["LUM"].connected
        assert hub.model.lumi.total > 0
        window.grab().save(str(screenshot_dir / "monitoring_docks.png"))
    finally:
        hub.stop()
    assert set(CONTINUOUS + DISCRETE) <= set(hub.model.states)


class StyleChanges(QObject):
    """Counts re-polishes (stylesheet changes) of the widgets it watches."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.StyleChange:
            self.count += 1
        return False


def test_sbl_messages_go_on_top_and_shown_rows_are_not_rewritten(qtbot, history) -> None:
    hub, panels = make_hub(qtbot, history, ["sbl"])
    panel: SBLPanel = panels["sbl"]
    model = hub.model
    t = model.latest_time
    n = model.log.maxlen
    for k in range(n):  # a full log, as after a long shift
        model.log.append(
            LogEntry(T0 + k, t + k, f"CH{k}", int(Severity.MINOR) if k % 7 else 0, f"message {k}")
        )
    panel.update_data(model)
    assert panel.messages.rowCount() == MESSAGE_ROWS
    assert cell(panel.messages, 0, 3) == f"message {n - 1}"  # newest on top
    assert cell(panel.messages, MESSAGE_ROWS - 1, 3) == f"message {n - MESSAGE_ROWS}"
    assert any("sudden beam loss" in e.text for e in model.log)  # never pushed out by the flood
    top = panel.messages.item(0, 3)
    assert top is not None
    watcher = StyleChanges()
    panel.banner.installEventFilter(watcher)
    for _ in range(3):  # nothing new: no row written again, the banner not restyled
        panel.update_data(model)
    assert panel.messages.item(0, 3) is top
    assert watcher.count == 0
    model.log.append(LogEntry(T0, t, "LER:I", int(Severity.MAJOR), "newer"))
    model.log.append(LogEntry(T0, t, "HER:I", int(Severity.MAJOR), "newest"))
    panel.update_data(model)
    assert [cell(panel.messages, r, 3) for r in range(3)] == ["newest", "newer", top.text()]
    assert panel.messages.item(2, 3) is top
    assert panel.messages.rowCount() == MESSAGE_ROWS
    newest = panel.messages.item(0, 0)
    assert newest is not None
    assert newest.background().color() == QColor(ALARM_COLORS[Severity.MAJOR])
    model.log.clear()  # a new model state without the shown messages: the table starts over
    model.log.append(LogEntry(T0, t, "LUM", 0, "alone"))
    panel.update_data(model)
    assert panel.messages.rowCount() == 1
    assert cell(panel.messages, 0, 3) == "alone"


def test_trigger_table_columns_fit_every_text_they_show(qtbot, history) -> None:
    """Fixed column widths (a refresh must not re-measure the table) still fit every cell."""
    _, panels = make_hub(qtbot, history, ["trigger"])
    table = panels["trigger"].table
    metrics = table.fontMetrics()
    for column in range(3):  # the last column stretches
        widest = max(metrics.horizontalAdvance(cell(table, r, column)) for r in range(table.rowCount()))
        assert widest < table.columnWidth(column), column


def test_a_loss_during_a_gap_and_a_suspect_clock_are_shown(qtbot, history, screenshot_dir: Path) -> None:
    hub, panels = make_hub(qtbot, history, ["sbl", "beams"])
    model = hub.model
    model.acknowledge()
    t = model.latest_time
    rings = ("HER:I", "LER:I")
    gone = [Update(c, t + 1, math.nan, Severity.INVALID, False, f"SIM:{c} disconnected") for c in rings]
    model.ingest([Update("HER:I", t + 0.5, 1.05), Update("LER:I", t + 0.5, 1.35), *gone])
    model.ingest([Update("HER:I", t + 30, 0.0), Update("LER:I", t + 30, 0.0)])  # back, beams gone
    hub.tick()
    sbl: SBLPanel = panels["sbl"]
    assert sbl.banner.text().startswith("SUDDEN BEAM LOSS ")
    assert "DURING A DATA GAP" in sbl.banner.text()
    assert "disconnected" in sbl.banner.text()
    assert cell(sbl.log, 0, 3).startswith("gap of 29.5 s")
    assert sbl.ack.isEnabled()
    sbl.grab().save(str(screenshot_dir / "monitoring_sbl_loss_during_gap.png"))
    # a clock that went back: the value is marked suspect, with the reason in the tooltip
    model.ingest([Update("LER:I", t - 500 + k, 1.35) for k in range(3)])
    hub.tick()
    label = panels["beams"].values["LER"]
    assert "[SUSPECT]" in label.text()
    assert "clock went back" in label.toolTip()
    assert "dotted" in label.styleSheet()
    panels["beams"].grab().save(str(screenshot_dir / "monitoring_beams_suspect_clock.png"))


@pytest.mark.slow
def test_a_huge_history_never_freezes_the_window(qtbot) -> None:
    source = SimSource("sim://?history=1e6&sbl_rate=0")
    hub = LiveHub(source, max_per_tick=2000)
    sizes: list[int] = []
    ingest = hub.model.ingest

    def counted(updates: list[Update]) -> None:
        sizes.append(len(updates))
        ingest(updates)

    hub.model.ingest = counted  # type: ignore[method-assign]
    panel = PANELS["beams"]()
    qtbot.addWidget(panel)
    panel.show()
    hub.add(panel)
    hub.start()

    def replayed() -> bool:
        t, _ = hub.model.buffers["LER:I"].view()
        return len(t) > 0 and t[0] <= source.start_time - 43000 and hub.model.latest_time >= source.start_time

    try:
        qtbot.waitUntil(replayed, timeout=180_000)
    finally:
        hub.stop()
    assert max(sizes) <= 2000  # bounded work per tick, however much was queued
    assert len(sizes) > 100  # ... spread over many ticks
    assert any("history=1e+06 is more than 43200" in e.text for e in hub.model.log)
    assert hub.frames > 50  # the panel kept repainting meanwhile


def test_the_hub_hands_the_run_in_progress_to_other_threads_as_of_its_last_tick(qtbot) -> None:
    hub = LiveHub(SimSource(f"sim://?start={T0:.0f}"))  # never started: fed by the test
    assert hub.current_run() is None  # run control exists, its number is on its way
    hub.model.ingest([Update("EXP", T0, 35.0), Update("RUN", T0, 12.0), Update("RUNNING", T0, 1.0)])
    assert hub.current_run() is None  # not until the GUI thread's next tick
    hub.tick()
    seen: list[tuple[int, int] | None] = []
    reader = threading.Thread(target=lambda: seen.append(hub.current_run()))  # as the event stream does
    reader.start()
    reader.join()
    assert seen == [(35, 12)]
    hub.model.ingest([Update("RUNNING", T0 + 1, 0.0)])
    hub.tick()
    assert hub.current_run() is None  # between runs: the embedded stream takes no events


def test_sbl_postmortem_stays_readable_in_a_low_dock_and_a_tall_one(
    qtbot, history, screenshot_dir: Path
) -> None:
    from panels.monitoring.sbl import MIN_PLOT_HEIGHT
    from panels.theme import current_theme

    _, panels = make_hub(qtbot, history, ["sbl"])
    panel: SBLPanel = panels["sbl"]
    background = current_theme().color("plot_background")
    shapes = (((1600, 300), Qt.Orientation.Horizontal), ((900, 760), Qt.Orientation.Vertical))
    for (width, height), orientation in shapes:
        panel.resize(width, height)
        qtbot.waitUntil(lambda o=orientation: panel.split.orientation() == o, timeout=3000)
        QApplication.processEvents()
        for plot in (panel.pm_wide, panel.pm_turns):
            assert plot.height() >= MIN_PLOT_HEIGHT  # room for tick labels and the axis title
            assert plot.isVisible()
        assert panel.pm_title.text().startswith("post-mortem: SUDDEN BEAM LOSS")
        assert panel.pm_title.width() <= panel.width()  # wrapped, not clipped at the plot's edge
        image = panel.grab().toImage()
        image.save(str(screenshot_dir / f"monitoring_sbl_{width}x{height}.png"))
        # the post-mortem plots are drawn: their dark plot background covers a good part of the panel
        plot_image = panel.pm_turns.grab().toImage()
        assert pixel_fraction(plot_image, background) > 0.4


# the beam-loss panel as the window docks it at start (a 1680 x 1000 window, bottom docks 300 px
# high): the panel inside its dock measured 1680 x 254 in the application
DEFAULT_SBL_SIZE = (1680, 254)


def test_sbl_postmortem_axis_titles_never_touch_their_tick_labels_at_the_default_dock_size(
    qtbot, history, screenshot_dir: Path
) -> None:
    """Pixel probe: each axis title is drawn once with and once without its title; the title's own
    pixels (the difference) must lie apart from the tick labels' pixels, inside the plot, unclipped."""
    _, panels = make_hub(qtbot, history, ["sbl"])
    panel: SBLPanel = panels["sbl"]
    panel.resize(*DEFAULT_SBL_SIZE)  # out of make_hub's tall layout, into the low strip's
    qtbot.waitUntil(lambda: panel.split.orientation() == Qt.Orientation.Horizontal, timeout=3000)
    window = QMainWindow()  # docked as the application docks it at start (panels/app.py)
    qtbot.addWidget(window)
    window.setCentralWidget(QWidget())
    dock = QDockWidget(panel.title, window)
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    other = QDockWidget("Log", window)  # tabbed with the other bottom docks, as there
    other.setWidget(QWidget())
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, other)
    window.tabifyDockWidget(dock, other)
    dock.raise_()
    window.resize(1680, 1000)
    window.resizeDocks([dock], [300], Qt.Orientation.Vertical)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    assert panel.split.orientation() == Qt.Orientation.Horizontal
    assert abs(panel.width() - DEFAULT_SBL_SIZE[0]) <= 20
    assert abs(panel.height() - DEFAULT_SBL_SIZE[1]) <= 20
    panel.grab().save(str(screenshot_dir / "monitoring_sbl_default_dock.png"))
    assert panel.pm_title.text().startswith("post-mortem: SUDDEN BEAM LOSS")
    probed = 0
    for plot, axes in ((panel.pm_wide, ("left", "bottom")), (panel.pm_turns, ("bottom",))):
        for name in axes:
            axis = plot.getAxis(name)
            rect = axis.sceneBoundingRect().toAlignedRect().intersected(plot.rect())
            axis.label.setVisible(False)
            axis.update()
            without = ink(plot.grab().toImage(), rect)
            axis.label.setVisible(True)
            axis.update()
            with_title = ink(plot.grab().toImage(), rect)
            title = with_title & ~without
            ticks = without.copy()
            if name == "left":  # the axis line and tick marks: the columns next to the plot
                ticks[:, -7:] = False
            else:
                ticks[:7, :] = False
            assert title.sum() > 60, (name, "axis title not drawn")
            assert ticks.sum() > 60, (name, "tick labels not drawn")
            ty, tx = np.nonzero(title)
            ky, kx = np.nonzero(ticks)
            if name == "left":  # rotated title left of the numbers, a clear gap between them
                assert tx.max() + 2 <= kx.min(), (tx.max(), kx.min())
                assert rect.left() + tx.min() >= 1  # not cut at the plot's left edge
                assert tx.max() - tx.min() >= 8  # the text's full height: no glyph cut off
                assert ty.max() - ty.min() >= 25  # "I [mA]" at its full length, not squashed
            else:  # title below the numbers
                assert ty.min() >= ky.max() + 2, (ty.min(), ky.max())
                assert rect.top() + ty.max() <= plot.height() - 2  # not cut at the bottom
                assert tx.max() - tx.min() >= 80  # "time from loss [s]" written out
            probed += 1
    assert probed == 3


def ink(image: QImage, rect) -> np.ndarray:
    """Pixels of ``rect`` differing clearly from the plot background (text, lines)."""
    from panels.theme import current_theme

    img = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)
    rgb = arr[:, : 4 * w].reshape(h, w, 4)[:, :, :3].astype(int)
    c = QColor(current_theme().color("plot_background"))
    background = np.array([c.blue(), c.green(), c.red()])
    region = rgb[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]
    return np.abs(region - background).max(axis=2) > 60


def test_strip_chart_markers_are_fed_only_when_they_change(qtbot) -> None:
    """Run and fill boundaries are redrawn when one is added, not at every data update."""
    from panels.monitoring.base import StripChart

    chart = StripChart("L")
    qtbot.addWidget(chart)
    chart.marker("runs", "run start", "#ffffff", Qt.PenStyle.DashLine)
    fed: list[int] = []
    chart.markers["runs"].sigPlotChanged.connect(lambda *_: fed.append(1))
    chart.verticals("runs", np.array([T0, T0 + 60.0]), 0.0, 5.0)
    chart.verticals("runs", np.array([T0, T0 + 60.0]), 0.0, 5.0)  # the same boundaries again
    assert len(fed) == 1
    chart.verticals("runs", np.array([T0, T0 + 60.0, T0 + 120.0]), 0.0, 5.0)  # a run started
    chart.verticals("runs", np.array([T0, T0 + 60.0, T0 + 120.0]), 0.0, 6.0)  # the y range grew
    assert len(fed) == 3
    x, y = chart.markers["runs"].getData()
    assert np.array_equal(x, np.repeat([T0, T0 + 60.0, T0 + 120.0], 2))
    assert np.array_equal(y, np.tile([0.0, 6.0], 3))


def test_strip_chart_keys_sit_above_their_plots_never_on_the_curves(qtbot, history) -> None:
    """The key of every strip chart is laid out above its view box (a legend inside covered the
    luminosity and beam-current curves, which sit at the top of their range, and the L1 rates)."""
    _, panels = make_hub(qtbot, history, ["luminosity", "beams", "trigger"])
    for name, panel in panels.items():
        panel.resize(1366 - 40, 270)  # a bottom dock of the laptop layout
        QApplication.processEvents()
        item = panel.chart.plotItem
        key, view = item.legend, item.vb
        assert key is panel.chart.key
        labels = [label.text for _, label in key.items]
        assert len(labels) >= 3, name  # every named curve and marker has its entry
        assert all(labels), name
        key_rect, view_rect = key.sceneBoundingRect(), view.sceneBoundingRect()
        assert key_rect.height() > 0, name
        assert key_rect.bottom() <= view_rect.top() + 1, (name, key_rect, view_rect)
        assert view_rect.height() >= 100, name  # the plot keeps most of the dock


def test_l1_summary_boxes_hold_their_widest_values(qtbot) -> None:
    """Each of the L1 summary boxes keeps room for its widest plain value, in its own style sheet
    font: "beam background 2.29 kHz" was cut at the box's edge at 1366x768."""
    from panels.monitoring.style import si

    panel = TriggerPanel()
    qtbot.addWidget(panel)
    panel.resize(1326, 270)
    panel.show()
    qtbot.waitExposed(panel)
    texts = {
        panel.total: f"L1 29.9 kHz of {si(30e3, 'Hz')}",
        panel.dead: "dead time 12.5%",
        panel.physics: f"physics {si(9870.0, 'Hz')}",
        panel.background: f"beam background {si(22900.0, 'Hz')}",
    }
    for label, text in texts.items():
        label.setText(text)
    QApplication.processEvents()
    for label, text in texts.items():
        margins = label.contentsMargins()
        needed = label.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right()
        assert label.font().family() == "monospace"  # measured in the style sheet's font
        assert label.minimumWidth() >= needed, text
        assert label.width() >= needed, text


def test_values_sit_by_their_names_in_a_wide_dock(qtbot, history) -> None:
    """At 1920 px a bottom dock spread the luminosity's and the currents' names and values ~400 px
    apart; they are packed at the left, and the injection state is a word, not a bare dash."""
    _, panels = make_hub(qtbot, history, ["luminosity", "beams"])
    for panel in panels.values():
        panel.resize(1900, 270)
    QApplication.processEvents()
    for name, panel in panels.items():
        grid = panel.grid
        for row in range(2):
            label = grid.itemAtPosition(row, 0).widget()
            value = grid.itemAtPosition(row, 1).widget()
            gap = value.geometry().left() - label.geometry().right()
            assert gap < 120, (name, label.text(), gap)
    beams = panels["beams"]
    assert {beams.injection[r].text() for r in ("HER", "LER")} <= {"injecting", "not injecting"}


def test_integrated_luminosity_keeps_room_for_a_stopped_run(qtbot, history) -> None:
    """"this run 61.02 pb⁻¹ (stopped)" was cut to "(stoppe" when the text grew after the layout."""
    _, panels = make_hub(qtbot, history, ["luminosity"])
    panel = panels["luminosity"]
    panel.resize(1400, 270)
    QApplication.processEvents()
    for label in (panel.run_int, panel.day_int, panel.total_int):
        label.setText("9999.99 pb⁻¹ (stopped)")  # no layout pass in between, as at a tick
        assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())
