"""The archive as the history of ca://: a GUI restart against a real IOC gets its charts and its
integrated luminosity back from the archive, and goes on counting without counting twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitoring.archive import Archive
from tests.monitoring.conftest import IOCProcess, wait_for

pytestmark = pytest.mark.slow


def test_a_restarted_window_replays_the_archive_and_goes_on(
    qapp: object, ioc_process: Callable[[list[str]], IOCProcess], tmp_path: Path
) -> None:
    from panels.monitoring.hub import LiveHub

    ioc_process(["main.py", "ioc", "--prefix", "T:"])
    path = tmp_path / "shift.sqlite"

    def run_window(seconds: float) -> tuple[LiveHub, Archive]:
        archive = Archive(path)
        hub = LiveHub("ca://?prefix=T:", archive=archive)
        hub.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            qapp.processEvents()  # type: ignore[attr-defined]
            time.sleep(0.02)
        hub.stop()
        hub.tick()  # what arrived before the stop
        return hub, archive

    first, archive = run_window(6.0)
    assert first.replayed == 0
    t_lum, v_lum = archive.values("LUM")
    assert len(t_lum) >= 3
    assert (v_lum > 1e33).all()
    assert (t_lum[1:] - t_lum[:-1] >= 1.0 - 1e-9).all()  # one sample a second, not every update
    total_first = first.model.lumi.total
    assert total_first > 0
    archive.close()

    second = LiveHub("ca://?prefix=T:", archive=Archive(path))  # the window restarted
    assert second.replayed == len(Archive(path).history(second.source.channels, 0.0))
    t_chart, _ = second.model.buffers["LUM"].view()
    assert set(t_lum) <= set(t_chart.tolist())  # the chart opens with the archived hour
    # the replayed integral is the first window's, from one sample a second instead of ten
    assert second.model.lumi.total == pytest.approx(total_first, rel=0.2)
    # the checkpoint's, and after it the last archived seconds at 1 Hz (within their noise): a second
    # counted twice would be a sixth too much
    assert second.model.lumi.total <= total_first * 1.02
    replayed_total = second.model.lumi.total
    second.start()

    def counting_on() -> bool:
        qapp.processEvents()  # type: ignore[attr-defined]
        second.tick()
        return second.model.lumi.total > replayed_total

    assert wait_for(counting_on)  # live luminosity adds to the replayed integral
    second.stop()
    assert second.archive is not None
    t_after, _ = second.archive.values("LUM")
    assert len(set(t_after.tolist())) == len(t_after)  # no sample stored twice
    assert len(t_after) > len(t_lum)
    _dispose(first, second)


def _dispose(*hubs: object) -> None:
    """Delete the hubs' Qt objects now, not in some later test's garbage collection."""
    import gc

    import shiboken6

    for hub in hubs:
        shiboken6.delete(hub)  # type: ignore[arg-type]
    gc.collect()


def test_a_full_disk_stops_archiving_with_an_alarm_never_the_panels(qapp: object, tmp_path: Path) -> None:
    from monitoring.alarms import AlarmModel, load_definitions
    from panels.monitoring.hub import ARCHIVE_VALUE, LiveHub
    from panels.monitoring.luminosity import LuminosityPanel

    archive = Archive(tmp_path / "full.sqlite")
    # SQLite's own "database or disk is full" (SQLITE_FULL): the file may not grow past its pages now
    pages = archive._db.execute("PRAGMA page_count").fetchone()[0]
    archive._db.execute(f"PRAGMA max_page_count = {pages}")
    alarms = AlarmModel(load_definitions())
    hub = LiveHub("sim://?accel=60&history=0&sbl_rate=0", archive=archive, alarms=alarms)
    panel = LuminosityPanel()
    hub.add(panel)
    panel.show()
    hub.start()
    try:

        def ticked(condition: Callable[[], bool]) -> Callable[[], bool]:
            def check() -> bool:
                hub.tick()
                return condition()

            return check

        assert wait_for(ticked(lambda: hub.archive is None))
        stopped = hub.model.extra_readings[ARCHIVE_VALUE]
        assert stopped.value == 1.0
        assert "full.sqlite: archiving stopped: database or disk is full" in stopped.detail
        assert any("archiving stopped" in e.text and e.severity == 2 for e in hub.model.log)
        hub.model.check()
        assert alarms.alarms["archive_stopped"].raised
        assert alarms.alarms["archive_stopped"].needs_ack
        # the panels go on: the source is drained, the model grows, the visible panel repaints
        version, frames = hub.model.version, hub.frames
        assert wait_for(ticked(lambda: hub.model.version > version and hub.frames > frames))
    finally:
        hub.stop()
        archive.close()
        panel.close()
    _dispose(hub, panel)
