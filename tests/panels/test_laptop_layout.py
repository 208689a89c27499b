"""The application on a 1366x768 laptop: the window fits the screen with every dock built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.gl

LAPTOP = (1366, 768)
DECORATIONS = 60  # px of a 768-px screen taken by a desktop's top bar and the window's title bar


@pytest.fixture
def application(qtbot: Any, tmp_path: Path) -> Any:
    from panels.app import AppConfig, Application

    app = Application(AppConfig(stream="sim", machine="sim://", settings=tmp_path / "settings.ini"))
    qtbot.addWidget(app.window)
    yield app
    app.close()


def test_the_main_window_fits_a_laptop_screen(qtbot: Any, application: Any) -> None:
    window = application.window
    window.resize(LAPTOP[0], LAPTOP[1] - DECORATIONS)
    window.show()
    qtbot.waitExposed(window)
    application.build_all_docks()  # the docks built after the first frame count too
    qtbot.wait(50)
    hint = window.minimumSizeHint()
    assert hint.width() <= LAPTOP[0]
    assert hint.height() <= LAPTOP[1] - DECORATIONS, {
        title: dock.minimumSizeHint().height() for title, dock in window.docks.items()
    }
    assert window.height() == LAPTOP[1] - DECORATIONS  # not pushed past the screen's bottom
    events = window.docks["Events"].widget()
    assert events.table.isVisible()
