"""The event-switch benchmark's quick mode runs end to end and reports what a user sees."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import MDST_SAMPLE, ROOT

pytestmark = [pytest.mark.gl, pytest.mark.slow]


def test_quick_mode_reports_next_to_repaint_ours_and_the_previous_lighting() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "event_switch.py"), "--quick", "--steps", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)["next_to_repaint_main_window"]
    assert report["window"] == [1680, 1000]
    sets = ["generated", "mdst"] if MDST_SAMPLE.exists() else ["generated"]
    for name in sets:
        for way in ("ours", "previous_lighting_whole_detector_mesh_rebuilt"):
            figures = report[name][way]
            assert figures["steps"] == 3
            assert 0 < figures["cpu_ms"]["median"] <= figures["cpu_ms"]["p95"]
            assert figures["wall_ms"]["median"] > 0
        assert report[name]["reference_before_the_scene_layout"]["revision"] == "4f141e7"
    assert report["window_composed_no_view_changed_cpu_ms"] > 0
