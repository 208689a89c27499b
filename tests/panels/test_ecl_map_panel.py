"""The θ-φ map dock in the application: linked both ways with the views, the browser and the inspector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "dark-sector-sample.h5"


def test_the_map_dock_follows_and_drives_the_selection(qtbot, tmp_path, screenshot_dir) -> None:
    from displays.ecl_map import cluster_cells
    from geometry.ecl_map import cell_rectangles
    from panels.app import AppConfig, Application

    app = Application(
        AppConfig(file=SAMPLE, machine="bogus://x", stream="none", settings=tmp_path / "settings.ini")
    )
    window = app.window
    qtbot.addWidget(window)
    try:
        dock = window.docks["θ-φ map"]
        app.build_all_docks()  # the hidden docks' contents, otherwise built after the first frame
        assert dock.widget() is app.ecl_map
        window.show()
        dock.show()
        dock.raise_()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: app.browser.current_event is not None, timeout=15_000)

        def clusters() -> int:
            return 0 if app.browser.current_event is None else app.browser.current_event.ecl.size

        while clusters() < 3:  # an event with a few clusters
            shown = app.browser.index
            app.browser.step(+1)
            qtbot.waitUntil(lambda shown=shown: app.browser.index != shown, timeout=5_000)
        event = app.browser.current_event
        assert event is not None
        view = app.ecl_map.map
        assert (view.energy > 0).sum() >= 1  # the map shows the browser's event
        # the browser (or any view) selects a cluster: the map frames its crystal
        app.browser.select_object("ecl", 1)
        assert view.frame.visible
        np.testing.assert_array_equal(view.selected_cells(), cluster_cells(event.ecl)[1:2])
        # a click on another cluster's crystal in the map selects it in the scene, the table, the inspector
        owners = view.owner[view.owner >= 0]
        target = int(next(i for i in owners if i != 1))
        cell = int(np.flatnonzero(view.owner == target)[0]) + 1
        c = cell_rectangles()
        point = np.degrees([[c.phi_mid[cell - 1], c.theta_mid[cell - 1]]])
        pixel = tuple(float(v) for v in view.to_pixels(point)[0])
        view.canvas.events.mouse_press(pos=pixel, button=1, modifiers=())
        view.canvas.events.mouse_release(pos=pixel, button=1, modifiers=())
        assert app.scene.selection == ("ecl", target)
        assert app.visuals["3d"].scene.selection == ("ecl", target)  # the 3D and 2D views follow
        rows = app.browser.table.selectionModel().selectedRows()
        assert rows
        item = app.browser.table.item(rows[0].row(), 1)
        assert item is not None
        assert item.text() == str(target)
        view.canvas.events.mouse_move(pos=pixel, button=None, modifiers=())  # hovering says what is there
        text = app.ecl_map.readout.text()
        assert f"crystal {cell} " in text
        assert f"from cluster {target}" in text
        qtbot.wait(100)
        dock.grab().save(str(screenshot_dir / "ecl_map_dock.png"))
    finally:
        app.close()
