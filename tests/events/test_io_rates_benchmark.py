"""The I/O benchmark's quick mode runs end to end and prints its random-access ratios."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import MDST_SAMPLE, ROOT

pytestmark = pytest.mark.skipif(not MDST_SAMPLE.exists(), reason="needs the shared mdst sample")


def test_quick_mode_reports_random_access_ours_and_plain() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "io_rates.py"), "--quick"]
    command += ["--mdst", str(MDST_SAMPLE)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for kind in ("hdf5", "root"):
        assert report[kind]["one_event_ms"] > 0
        assert report[kind]["plain_one_event_ms"] > 0
        assert report[kind]["next_event_ms"] > 0
        for ratio in (f"{kind}_one_event_under_5ms", f"{kind}_one_event_vs_plain"):
            assert report["ratios"][ratio]["value"] > 0
