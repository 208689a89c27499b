"""Screens that follow a presenter: two real outreach windows on a real ZeroMQ link (loopback)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import zmq

from displays import show_link
from displays.show_link import Follower, Presenter, ShowLinkError, ShowState
from events import io
from events.generator import samples

pytestmark = pytest.mark.gl


def test_states_round_trip_and_anything_else_is_refused() -> None:
    state = ShowState("exp 0 run 1 event 7", 12.5, 30.0, 480.0, (0.0, 0.0, 20.0), 3.25, False, True)
    event = io.load(samples.SAMPLE).event(3)
    back, batch = show_link.decode([bytes(f) for f in show_link.encode(state, event)])
    assert back == state
    assert batch is not None
    assert batch.event_label() == event.event_label()
    bad = [
        [b"B2SHOW1", b"{not json"],
        [b"OTHER", state.to_json()],
        [b"B2SHOW1", state.to_json().replace(b"480.0", b"NaN")],
        [b"B2SHOW1", b"{" + b" " * 5000 + b"}"],
        [b"B2SHOW1", state.to_json(), b"garbage", b"frames"],
    ]
    for frames in bad:
        with pytest.raises(ShowLinkError):
            show_link.decode(frames)


def label(window: Any) -> str:
    """The id of the event a window shows ("" for none)."""
    event = window.current_event
    return "" if event is None else str(event.event_label())


def _wait(qtbot: Any, condition: Any, timeout_ms: int = 15_000) -> None:
    qtbot.waitUntil(condition, timeout=timeout_ms)


def test_a_follower_mirrors_the_presenter_goes_on_alone_and_rejoins(qtbot: Any, monkeypatch: Any) -> None:
    from panels.outreach import OutreachWindow

    monkeypatch.setattr(show_link, "LOST_AFTER_S", 0.6)
    source = io.open_events(samples.SAMPLE)
    presenter = Presenter("tcp://127.0.0.1:*")
    port = presenter.endpoint.rsplit(":", 1)[1]
    lead = OutreachWindow.from_source(source, presenter=presenter, dwell_s=60.0)
    follower_link = Follower(f"zmq://127.0.0.1:{port}")
    other = OutreachWindow.from_generator(seed=5, follower=follower_link, dwell_s=60.0)
    for window in (lead, other):
        qtbot.addWidget(window)
        window.resize(640, 360)
        window.start(full_screen=False)
    try:
        lead.advance()
        lead.advance()  # the presenter moves on: the follower shows its event, not its own
        shown = label(lead)
        _wait(qtbot, lambda: label(other) == shown)
        assert other.following
        lead.detector.view.camera.azimuth = 77.0  # the presenter turns the detector: so does the follower

        def same_camera() -> bool:
            return abs(other.detector.view.camera.azimuth - lead.detector.view.camera.azimuth) < 3.0

        _wait(qtbot, same_camera)
        lead.set_blank(True)
        _wait(qtbot, lambda: other.blanked)
        lead.set_blank(False)
        _wait(qtbot, lambda: not other.blanked)
        lead.stop()  # the presenter goes silent: the follower runs its own show
        _wait(qtbot, lambda: not other.following)
        own_before = other.shown
        other.advance()
        assert other.shown == own_before + 1
        lead.timer.start()  # back: the follower rejoins and shows the presenter's event again
        lead.advance()
        back = label(lead)
        _wait(qtbot, lambda: other.following and label(other) == back)
    finally:
        for window in (other, lead):
            window.close()


def test_a_follower_ignores_what_is_not_a_show(qtbot: Any) -> None:
    context: zmq.Context[Any] = zmq.Context.instance()
    hostile = context.socket(zmq.PUB)
    port = hostile.bind_to_random_port("tcp://127.0.0.1")
    follower = Follower(f"zmq://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 10
        while follower.dropped == 0 and time.monotonic() < deadline:
            hostile.send_multipart([b"B2SHOW1", b"\\x00" * 100])
            hostile.send_multipart([b"B2SHOW1", b'{"event": 1}'])
            follower.poll()
            time.sleep(0.05)
        assert follower.dropped > 0
        assert follower.state is None  # nothing was taken for a state
        assert not follower.following
        assert follower.problem
    finally:
        follower.close()
        hostile.close()


def test_bad_addresses_are_one_line() -> None:
    with pytest.raises(ShowLinkError, match="zmq://HOST:PORT"):
        Follower("tcp://somewhere:1")
    with pytest.raises(ShowLinkError, match="cannot publish"):
        Presenter("tcp://256.1.1.1:5")


def test_the_latency_benchmark_runs_quick() -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "follow_latency.py"), "--quick"],
        capture_output=True, text=True, timeout=120, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["ratios"]) == {"follow_within_100ms", "event_vs_pickle"}
    assert report["event_ms"]["median"] > 0
