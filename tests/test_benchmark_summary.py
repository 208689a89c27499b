"""benchmarks/summary.py: the ratios of real (fast) benchmarks; scripts that fail or print no JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "benchmarks" / "summary.py"
FAST = ["geometry_build", "live_buffer"]  # a few seconds each with --quick


def run_summary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SUMMARY), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=dict(os.environ),
    )


def test_quick_json_of_the_fastest_benchmarks() -> None:
    done = run_summary("--quick", "--json", "--only", *FAST)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["quick"] is True
    assert list(report["benchmarks"]) == FAST
    for name, result in report["benchmarks"].items():
        assert result["status"] == "ok", (name, result["error"])
        assert result["ratios"], name
        for ratio, entry in result["ratios"].items():
            assert set(entry) == {"value", "goal", "met", "against"}, (name, ratio)
            assert isinstance(entry["value"], float)
            assert isinstance(entry["goal"], float)
            assert entry["met"] == (entry["value"] >= entry["goal"])
            assert isinstance(entry["against"], str)
            assert entry["against"]


def _script(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(body)


def test_table_with_failing_and_silent_scripts(tmp_path: Path) -> None:
    ratios = {
        "ours_vs_plain": {"value": 2.5, "goal": 2.0, "against": "the plain way"},
        "under_goal": {"value": 0.5, "goal": 1.0, "against": "absolute goal: 1 s (1 s / measured)"},
        "just_under": {"value": 0.99996, "goal": 1.0, "against": "the machine's limit"},
    }
    good = f"import json\nprint('warming up')\nprint(json.dumps({{'ratios': {ratios!r}}}))\n"
    _script(tmp_path, "good", good)
    _script(tmp_path, "crashes", "raise RuntimeError('the GL context went away')\n")
    _script(tmp_path, "silent", "print('figures: 12 fps')\n")
    _script(tmp_path, "no_ratios", "print('{\"fps\": 12}')\n")
    done = run_summary("--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["benchmark", "ratio", "value", "goal", "met", "against"]
    rows = {tuple(line.split()[:5]) for line in lines if line.startswith("good ")}
    assert rows == {
        ("good", "ours_vs_plain", "2.5", "2", "yes"),
        ("good", "under_goal", "0.5", "1", "no"),
        ("good", "just_under", "0.99996", "1", "no"),
    }
    names = ("crashes", "silent", "no_ratios")
    one_line = {name: [ln for ln in lines if ln.startswith(f"{name}:")] for name in names}
    assert all(len(found) == 1 for found in one_line.values()), one_line
    assert "exit status 1: RuntimeError: the GL context went away" in one_line["crashes"][0]
    assert "printed no JSON" in one_line["silent"][0]
    assert "no ratios object" in one_line["no_ratios"][0]
    assert lines[-1] == "1 of 3 ratios meet their goal; 3 of 4 benchmarks failed"


def test_exit_status_when_every_benchmark_fails(tmp_path: Path) -> None:
    _script(tmp_path, "crashes", "import sys\nsys.exit(3)\n")
    done = run_summary("--dir", str(tmp_path), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)["benchmarks"]["crashes"]
    assert result["status"] == "failed"
    assert result["error"].startswith("exit status 3")
    unknown = run_summary("--dir", str(tmp_path), "--only", "nonesuch")
    assert unknown.returncode == 2
    assert "no benchmark named nonesuch" in unknown.stderr
