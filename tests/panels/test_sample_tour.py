"""The README's tour on the shipped sample: open it, filter for Z' candidates, read the recoil."""

from __future__ import annotations

import pytest

from events import filtering, io
from events.generator import samples

pytestmark = pytest.mark.gl


def _settle(qtbot, browser) -> None:
    for _ in range(3):  # a result may queue a follow-up read (filter -> show)
        browser.wait_idle()
        qtbot.wait(20)


def test_the_readme_tour_finds_a_zprime_and_its_recoil(qtbot, tmp_path, screenshot_dir) -> None:
    from panels.app import AppConfig, Application

    config = AppConfig(
        file=samples.SAMPLE, stream="none", machine="sim://?history=0", settings=tmp_path / "settings.ini"
    )
    app = Application(config)
    window = app.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        browser = app.browser
        qtbot.waitUntil(lambda: browser.current_event is not None, timeout=20_000)
        assert browser.position_label.text().startswith(f"1 of {samples.N_EVENTS}")
        # type the filter of the tour and press Enter: the browser moves to the first Z' candidate
        browser.filter_edit.setText(samples.TOUR_FILTER)
        browser.apply_filter(browser.filter_edit.text())
        _settle(qtbot, browser)
        assert browser.filter_status.text().endswith(f"of {samples.N_EVENTS} pass")
        event = browser.current_event
        assert event is not None
        assert int(event.header["signal"][0]) == 1
        first = int(filtering.select(io.load(samples.SAMPLE), samples.TOUR_FILTER)[0])
        assert browser.position_label.text().startswith(f"{first + 1} of")  # the tour's first candidate
        # both tracks, one after the other, into the candidate tool as muons
        for row in (0, 1):
            browser.table.selectRow(row)
            assert app.candidate.add_button.isEnabled()
            app.candidate.add_button.click()
            app.candidate.set_hypothesis(row, 13)
        result = app.candidate.result
        assert result is not None
        assert result.recoil_mass == pytest.approx(3.0, abs=0.1)
        assert f"M_recoil = {result.recoil_mass:.4f} GeV" in app.candidate.result_label.text()
        window.docks["Candidate"].raise_()
        qtbot.wait(300)
        window.grab().save(str(screenshot_dir / "sample-tour.png"))
    finally:
        app.close()
