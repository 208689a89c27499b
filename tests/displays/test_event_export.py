"""Exports: 4K PNG, view state that reopens identically, Phoenix JSON, batch rendering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from events.generator import generate
from events.model import EventBatch


def busy_event(seed: int, min_tracks: int = 6) -> EventBatch:
    """The first generated event of ``seed`` with at least ``min_tracks`` tracks."""
    batch = generate(200, seed=seed)
    return batch.event(int(np.flatnonzero(batch.tracks.counts >= min_tracks)[0]))


def test_phoenix_export_reopens_as_the_same_event(tmp_path: Path) -> None:
    from displays.event_render import write_phoenix
    from events import io as event_io

    ev = busy_event(4)
    path = write_phoenix(tmp_path / "event.json", ev)
    doc = json.loads(path.read_text())
    assert list(doc) == [f"Experiment 0/Run 0/Event {int(ev.header['event'][0])}"]
    back = event_io.load(path)
    assert back.tracks.size == ev.tracks.size
    np.testing.assert_allclose(back.tracks["omega"], ev.tracks["omega"], rtol=1e-5)
    np.testing.assert_allclose(back.ecl["energy"], ev.ecl["energy"], rtol=1e-5)


def test_parse_range() -> None:
    from displays.event_render import ExportError, parse_range

    assert parse_range("0-99") == range(100)
    assert parse_range("7") == range(7, 8)
    with pytest.raises(ExportError, match="bad event range"):
        parse_range("a-b")


@pytest.mark.gl
def test_png_4k_view_state_and_batch_render(qapp, tmp_path: Path) -> None:
    from vispy import app

    app.use_app("pyside6")
    from displays import event_render
    from displays.event_view import EventView

    ev = busy_event(6)
    view = EventView("3d", size=(640, 360))
    view.visuals.set_event(ev)
    png = event_render.save_png(view.canvas, tmp_path / "still.png", size=(3840, 2160))
    from PySide6 import QtGui

    img = QtGui.QImage(str(png))
    assert (img.width(), img.height()) == (3840, 2160)

    cam = view.view.camera
    cam.azimuth, cam.elevation, cam.distance = 33.0, 12.0, 300.0
    view.visuals.set_color_mode("pid")
    view.visuals.set_layer_visible("klm", False)
    view.visuals.show_mc = True
    view.visuals.set_layer_visible("mc", True)
    view.visuals.highlight("track", 2)
    state = event_render.view_state(view.visuals)
    event_render.save_view_state(tmp_path / "state.json", {"3d": state})
    before = view.render()

    again = EventView("3d", size=(640, 360))
    again.visuals.set_event(ev)
    event_render.apply_view_state(again.visuals, event_render.load_view_state(tmp_path / "state.json")["3d"])
    after = again.render()
    assert again.visuals.visibility == view.visuals.visibility
    assert again.visuals.selection == ("track", 2)
    np.testing.assert_array_equal(after, before)  # reopens identically, pixel for pixel
    view.close()
    again.close()

    view = EventView("3d", size=(640, 360))
    batch = generate(5, seed=3)
    files = event_render.render_events(
        event_render.BatchSource(batch), range(1, 9), tmp_path / "out", view.visuals, view.render, "generated"
    )
    assert [f.name for f in files] == [f"generated_e0000_r00000_ev{i + 1:08d}.png" for i in (1, 2, 3, 4)]
    small = QtGui.QImage(str(files[0]))
    assert (small.width(), small.height()) == (640, 360)
    assert not view.visuals.tracks.visible  # the overlay is cleared after the last picture
    with pytest.raises(event_render.ExportError, match="outside the file, which holds 5 events"):
        event_render.render_events(
            event_render.BatchSource(batch), range(7, 9), tmp_path, view.visuals, view.render
        )
    view.close()


def test_render_events_of_a_missing_file_names_it(tmp_path: Path) -> None:
    from displays import event_render

    with pytest.raises(event_render.ExportError, match=r"x\.root: no such file"):
        event_render.open_event_source(tmp_path / "x.root")


def test_batch_source_reads_slices() -> None:
    from displays.event_render import BatchSource

    batch = generate(4, seed=1)
    src = BatchSource(batch)
    assert len(src) == 4
    one = src.read(2, 3)
    assert isinstance(one, EventBatch)
    assert int(one.header["event"][0]) == 3
