"""Shared test fixtures: paths to the shared reference data and the GL gate."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

# Without a display, Qt widget tests run offscreen (GL tests are skipped below) instead of aborting.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MDST_SAMPLE = SHARED / "data" / "mdst-v06-00-00.root"
_PICTURES: list[Path] = []  # the screenshot folder, once a test has asked for it


@pytest.fixture(scope="session")
def mdst_sample() -> Path:
    if not MDST_SAMPLE.exists():
        pytest.skip(f"shared sample missing: {MDST_SAMPLE}")
    return MDST_SAMPLE


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where rendering tests save their pictures for people to look at: ``$BELLE2_SCREENSHOTS`` when
    set, else a folder of this test session's temporary directory; never a tracked path."""
    chosen = os.environ.get("BELLE2_SCREENSHOTS")
    folder = Path(chosen).expanduser() if chosen else tmp_path_factory.mktemp("screenshots", numbered=False)
    folder.mkdir(parents=True, exist_ok=True)
    _PICTURES.append(folder)
    return folder


@pytest.fixture(autouse=True)
def _collect_qt_garbage(request: pytest.FixtureRequest) -> Iterable[None]:
    """After a test that used Qt, run its deferred deletions and collect its garbage now, between
    tests, rather than in a garbage collection that strikes in the middle of a later test's Qt call."""
    yield
    if not {"qapp", "qtbot"} & set(request.fixturenames):
        return
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    app = QCoreApplication.instance()
    if app is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()
    gc.collect()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once, at the end, where the pictures of this run are (with pytest-xdist: each worker's)."""
    folders = _PICTURES[:1]
    factory = getattr(terminalreporter.config, "_tmp_path_factory", None)
    if not folders and factory is not None and not hasattr(terminalreporter.config, "workerinput"):
        with contextlib.suppress(OSError, ValueError):
            folders = sorted(factory.getbasetemp().glob("popen-gw*/screenshots"))
    if folders:
        terminalreporter.write_line(f"test pictures: {', '.join(map(str, folders))}")


def run_main(
    *args: str,
    drop_env: Iterable[str] = (),
    set_env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run ``python main.py ARGS...`` as a user would, to completion, capturing its output.

    ``drop_env`` removes variables (e.g. DISPLAY, to run with no display at all); ``set_env`` adds some.
    """
    env = {k: v for k, v in os.environ.items() if k not in set(drop_env)}
    env.update(set_env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DISPLAY"):
        return
    skip = pytest.mark.skip(reason="needs an X display (run under xvfb-run, as `make test` does)")
    for item in items:
        if "gl" in item.keywords:
            item.add_marker(skip)
