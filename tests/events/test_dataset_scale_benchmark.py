"""The data-at-scale benchmark's quick mode runs end to end and prints its figures and ratios (on fewer
events and files than its own --quick, to keep the test short: the figures' shape is what is checked)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import MDST_SAMPLE, ROOT

RATIOS = {
    "summary_vs_plain_loop",
    "filter_vs_plain_loop",
    "summary_events_per_s_per_core",
    "filter_events_per_s_per_core",
    "first_event_under_1s",
    "random_event_under_50ms",
    "random_event_under_5ms",
    "memory_flat",
    "skim_h5_vs_ntuple",
    "skim_h5_vs_before",
}
EVENTS = 6000
SMALL = ["--events", str(EVENTS), "--files", "4", "--small-files", "2", "--copies", "2", "--picks", "5"]
SMALL += ["--plain-events", "600"]


def test_quick_mode_measures_ours_and_the_plain_loop_side_by_side() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "dataset_scale.py"), "--quick", *SMALL]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report["ratios"]) == RATIOS
    for name, entry in report["ratios"].items():
        assert set(entry) == {"value", "goal", "against"}, name
        assert entry["value"] > 0, name
        assert entry["against"], name
    gen = report["generated"]
    assert gen["set_up"]["events"] == EVENTS
    assert {p.rsplit(".", 1)[1] for p in gen["set_up"]["files"]} == {"h5", "root"}
    assert gen["summary"]["events"] == gen["filter"]["events"] == EVENTS
    assert gen["filter_with_events"]["events"] == EVENTS
    assert 0 < gen["filter"]["passed"] == gen["filter_with_events"]["passed"] < EVENTS
    # the plain loop computes what the summary and the filter do, event by event
    assert gen["plain_loop"]["summary"]["same_as_ours"] is True
    assert gen["plain_loop"]["filter"]["same_as_ours"] is True
    fills = gen["histogram_fill"]
    assert fills["numpy"]["entries"] == fills["numba"]["entries"]
    assert gen["skim_write"]["events"] == gen["filter"]["passed"]
    assert gen["skim_write"]["h5_reads_back_the_same_events"] is True
    assert gen["first_event"]["ours_ms"] > 0
    assert gen["first_event"]["before_ms"] > 0
    assert gen["random_event"]["before"]["max_ms"] >= gen["random_event"]["before"]["median_ms"]
    assert gen["random_event"]["picks"] == 5
    assert gen["random_event"]["max_ms"] >= gen["random_event"]["median_ms"]
    memory = gen["memory"]
    assert memory["small"]["events"] < memory["large"]["events"] == EVENTS
    assert memory["large"]["peak_MB"] > memory["large"]["rss_before_MB"] > 0
    if MDST_SAMPLE.exists():
        assert report["mdst"]["summary"]["events"] == report["mdst"]["set_up"]["copies"] * 10
    else:
        assert report["mdst"].startswith("skipped")
