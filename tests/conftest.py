"""Shared test fixtures: paths to the shared reference data and the GL gate."""

from __future__ import annotations

import os
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DISPLAY"):
        return
    skip = pytest.mark.skip(reason="needs an X display (run under xvfb-run, as `make test` does)")
    for item in items:
        if "gl" in item.keywords:
            item.add_marker(skip)
