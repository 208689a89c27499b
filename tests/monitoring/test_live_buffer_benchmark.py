"""The live-buffer benchmark's quick mode runs end to end and compares ours with the joined buffer."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_mode_reports_bin_click_and_follow_tick_both_ways() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "live_buffer.py"), "--quick", "--events", "2000"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["buffered_events"] == 2000
    for name in ("bin_click", "follow_tick"):
        for way in ("ours", "plain_whole_buffer_joined"):
            assert 0 < report[name][way]["median_ms"] <= report[name][way]["max_ms"]
        assert report["ratios"][f"{name}_speedup"]["value"] > 0
