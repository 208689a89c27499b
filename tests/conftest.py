"""Shared test fixtures: paths to the shared reference data and the GL gate."""

from __future__ import annotations

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
SCREENSHOTS = ROOT / "screenshots"


@pytest.fixture(scope="session")
def mdst_sample() -> Path:
    if not MDST_SAMPLE.exists():
        pytest.skip(f"shared sample missing: {MDST_SAMPLE}")
    return MDST_SAMPLE


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where rendering tests save their pictures for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


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
