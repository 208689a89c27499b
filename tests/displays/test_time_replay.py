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
        shown = timeline.counts(times[1])
        assert shown["ecl"] < event.ecl.size  # at 2 ns some clusters are still to come
    finally:
        scene.close()
