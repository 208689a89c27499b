"""A window restarted on its archive lists the shift's beam losses again: the beam-loss panel's table,
its post-mortem plot and its messages, from a recording writer killed by SIGKILL."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from monitoring.archive import Archive
from tests.monitoring.test_archive_losses import killed_writer


def test_the_beam_loss_panel_lists_the_archived_losses_after_a_restart(qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QTableWidget

    from panels.monitoring.hub import LiveHub
    from panels.monitoring.sbl import SBLPanel

    db = tmp_path / "shift.sqlite"
    start = round(time.time()) - 1800.0  # half an hour ago: the losses at +10 s and +25 s of it
    killed_writer(db, str(start))
    hub = LiveHub("sim://?history=0&sbl_rate=0", archive=Archive(db))  # sim://: its own replay, none here
    panel = SBLPanel()
    qtbot.addWidget(panel)
    hub.add(panel)
    try:
        model = hub.model
        assert [(a.time - start, a.acknowledged) for a in model.alarms] == [(10.0, True), (25.0, False)]
        panel.resize(1200, 700)
        panel.show()
        panel.refresh(model)
        assert panel.log.rowCount() == 2

        def cell(table: QTableWidget, row: int, column: int) -> str:
            item = table.item(row, column)
            assert item is not None
            return item.text()

        newest = [cell(panel.log, 0, c) for c in range(panel.log.columnCount())]
        assert newest[1] == "LER"
        assert newest[4] == "LER+HER"
        assert newest[-1] == "NO"  # still latched: not acknowledged before the kill
        assert cell(panel.log, 1, panel.log.columnCount() - 1) != "NO"
        assert "acknowledge to clear" in panel.banner.text()
        # the newest loss's post-mortem, turn by turn, as recorded before the kill
        x, y = panel.pm_curves["LER"][1].getData()
        assert len(x) > 10
        assert x.min() < 0 < x.max()
        assert y[x < 0].min() > 1000 > y[x > 5].max()  # mA: full before, lost after
        texts = [cell(panel.messages, r, 3) for r in range(panel.messages.rowCount())]
        assert sum("(from the archive, latched)" in t for t in texts) == 1
        assert sum("(from the archive, acknowledged)" in t for t in texts) == 1
        assert np.isclose(model.log.beam_losses[-1].wall, start + 25.0)  # logged at the loss's time
    finally:
        hub.stop()
        if hub.archive is not None:
            hub.archive.close()


def test_the_hub_archives_a_live_loss_and_a_restarted_hub_has_it_latched(qtbot, tmp_path: Path) -> None:
    from panels.monitoring.hub import LiveHub

    db = tmp_path / "shift.sqlite"
    url = "sim://?history=0&accel=10&sbl_rate=0&sbl_at=2"  # a loss 2 s (simulated) after the start
    first = LiveHub(url, archive=Archive(db))

    def archived() -> bool:
        with Archive(db) as reader:  # as another program would read it meanwhile
            return bool(reader.beam_losses())

    first.start()
    try:
        qtbot.waitUntil(archived, timeout=30000)  # once its post-mortem is in
    finally:
        first.stop()  # no goodbye: what is archived is what the once-a-second recording wrote
    (seen,) = [a for a in first.model.alarms if a.postmortem]
    assert not seen.acknowledged
    second = LiveHub(url.replace("sbl_at=2", "sbl_at=1000"), archive=Archive(db))  # the window restarted
    try:
        (restored,) = second.model.alarms
        assert (restored.time, restored.ring, restored.fraction) == (seen.time, seen.ring, seen.fraction)
        assert not restored.acknowledged
        assert second.model.sbl.latched  # still to be acknowledged, as before the restart
        assert set(restored.postmortem) == set(seen.postmortem)
        for name, (t, v) in seen.postmortem.items():
            assert np.array_equal(restored.postmortem[name][0], t)
            assert np.array_equal(restored.postmortem[name][1], v)
    finally:
        second.stop()
        for hub in (first, second):
            if hub.archive is not None:
                hub.archive.close()
