"""benchmarks/mdst_random.py runs end to end (a small run) and reports both kinds of random events."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import MDST_SAMPLE, ROOT

pytestmark = pytest.mark.skipif(not MDST_SAMPLE.exists(), reason="needs the shared mdst sample")


def test_a_small_run_reports_open_and_not_yet_open_events() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "mdst_random.py"), "--rounds", "1"]
    command += ["--files", "2", "--open", "2", "--picks", "5", "--mdst", str(MDST_SAMPLE)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["ours"]["not_yet_open"]["median_ms"] > 0
    assert report["ours"]["open"]["cpu_median_ms"] > 0
    for ratio in ("open_file_event_under_50ms", "not_yet_open_event_under_50ms"):
        assert report["ratios"][ratio]["value"] > 0
