"""A collision replayed in its own time on the real detector, as the outreach show and its movies draw it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from displays import timeline as timing
from displays.movie import Frame, MovieRequest
from tests.displays.test_movie import SAMPLE
from tests.displays.test_render import app  # noqa: F401  (the fixture)

pytestmark = pytest.mark.gl
EVENT = 166  # ten tracks, a particle decaying in flight, two KLM hits, hard photons below


def test_the_replay_lights_the_calorimeter_as_the_particles_arrive(
    app: Any,  # noqa: F811
    tmp_path: Path,
    screenshot_dir: Path,
) -> None:
    from vispy.io import write_png

    from displays.event_render import open_event_source
    from displays.movie import MovieScene, showcase
    from geometry.detector import build_detector

    parts = build_detector()  # the real Belle II, as the show has it
    event = open_event_source(SAMPLE).read(EVENT, EVENT + 1)
    timeline = timing.timeline(event)
    request = MovieRequest(tmp_path / "replay.mp4", size=(960, 540), outreach=True)
    scene = MovieScene(request, parts, app, events=True)
    ecl = scene.detector.part("ECL").model
    try:
        lit, extents = [], []
        times = (0.5, 2.0, 4.5, 7.0, timeline.duration)
        for k, t in enumerate(times):
            # a frame t / NS_PER_S seconds into a replay long enough to run at the show's pace
            frame = Frame(k, 0, 30.0, 1.0, True, k == 0, t / showcase.NS_PER_S, 1e3)
            assert frame.time_ns(timeline.duration) == pytest.approx(t)
            scene.show(frame, event if k == 0 else None)
            image = scene.render()
            write_png(str(screenshot_dir / f"replay_{t:04.1f}ns.png"), image)
            lit.append(int(ecl.element_custom.sum()))
            extents.append(float(np.abs(scene.visuals.tracks.pos).max()))
        assert lit[0] == 0  # nothing has reached the calorimeter after half a nanosecond
        assert lit == sorted(lit)  # crystals light as the particles arrive, and stay lit
        assert lit[-1] > lit[1]
        assert extents == sorted(extents)
        assert scene.visuals.scene.time == pytest.approx(timeline.duration)
        assert scene.clock.text == showcase.clock_text(timeline.duration)  # said over the picture
        shown = timeline.counts(times[1])
        assert shown["ecl"] < event.ecl.size  # at 2 ns some clusters are still to come
    finally:
        scene.close()


def test_render_draws_an_event_at_a_moment_from_the_command_line(
    tmp_path: Path, screenshot_dir: Path
) -> None:
    from tests.displays.test_cli import _rgb, run_render

    pictures = {}
    for label, extra in (("1ns", ("--time", "1")), ("whole", ())):
        out = tmp_path / label
        result = run_render(
            str(SAMPLE),
            "--events",
            str(EVENT),
            "--out-dir",
            str(out),
            "--size",
            "640x360",
            "--view",
            "rphi",
            *extra,
        )
        assert result.returncode == 0, result.stderr
        (picture,) = out.iterdir()
        pictures[label] = _rgb(picture)
        (screenshot_dir / f"render_rphi_{label}.png").write_bytes(picture.read_bytes())
    background = pictures["whole"][5, 5]
    drawn = {k: int((np.abs(v - background).sum(axis=-1) > 60).sum()) for k, v in pictures.items()}
    assert drawn["1ns"] < drawn["whole"]  # 1 ns after the collision the tracks are 30 cm long at most
    for bad in ("-1", "soon", "nan"):
        result = run_render(str(SAMPLE), "--out-dir", str(tmp_path / "bad"), "--time", bad)
        assert result.returncode == 2
        assert f"bad time '{bad}'" in result.stderr
        assert "Traceback" not in result.stderr
    result = run_render("--out", str(tmp_path / "detector.png"), "--time", "3")
    assert result.returncode == 2
    assert "--time draws events at one moment" in result.stderr
