"""``main.py monitor``: the headless monitor against a real caproto IOC, the simulation, and no peer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.monitoring.conftest import ROOT, IOCProcess


def monitor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "main.py", "monitor", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_monitor_reads_a_real_ioc_and_reports_every_channel_as_json(
    ioc_process: Callable[[list[str]], IOCProcess],
) -> None:
    ioc_process(["main.py", "ioc", "--prefix", "MON:", "--sbl-rate", "0", "--accel", "20"])
    result = monitor("--machine", "ca://?prefix=MON:", "--seconds", "4", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"] == "ca://?prefix=MON:"
    channels = report["channels"]
    assert {"LUM", "HER:I", "LER:I", "L1:TOTAL", "RUN"} <= set(channels)
    assert report["connected_channels"] == len(channels)
    lum = channels["LUM"]
    assert lum["connected"]
    assert not lum["stale"]
    assert lum["units"] == "cm^-2 s^-1"
    assert 1e33 < lum["value"] < 1e36
    assert lum["severity"] in ("NO_ALARM", "MINOR", "MAJOR")
    assert 0.1 < channels["HER:I"]["value"] < 3.0  # amperes
    assert report["l1_total_hz"] == channels["L1:TOTAL"]["value"]
    assert report["l1_total_hz"] > 1000
    assert report["alarms"] == []  # no beam loss in this drill
    lumi = report["integrated_luminosity_inv_nb"]
    assert lumi["total"] > 0  # integrated while the beams collided
    assert sum(lumi["per_day"].values()) == lumi["total"]


def test_monitor_sees_a_beam_loss_drill_as_a_latched_alarm() -> None:
    result = monitor("--machine", "sim://?accel=30&sbl_at=2", "--seconds", "4", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["connected_channels"] == len(report["channels"])
    assert any(alarm["state"] == "latched" for alarm in report["alarms"]), report["log"]
    # the alarm model saw it too, from the shipped definitions
    sbl = next(a for a in report["raised_alarms"] if a["name"] == "sudden_beam_loss")
    assert (sbl["severity"], sbl["state"], sbl["panel"]) == ("MAJOR", "ACTIVE", "sbl")
    assert report["alarm_rollup"].startswith("■ MAJOR (")


def test_a_damaged_alarm_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "alarms.toml"
    bad.write_text('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = 1\ncolour = "red"\n')
    result = monitor("--alarms", str(bad), "--seconds", "0")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"monitor: {bad}: alarm 'x': unknown key 'colour'")


def test_an_unreachable_or_unknown_source_is_one_line_and_exit_1(ca_env: dict[str, str]) -> None:
    nobody = monitor("--machine", "ca://?prefix=NOBODY:", "--seconds", "1.5")
    assert nobody.returncode == 1
    line = "monitor: ca://?prefix=NOBODY:: no channel connected in 1.5 s"
    assert nobody.stderr.strip().splitlines() == [line]
    bogus = monitor("--machine", "bogus://x", "--seconds", "1")
    assert bogus.returncode == 1
    assert len(bogus.stderr.strip().splitlines()) == 1
    assert "bogus://x" in bogus.stderr
    assert "unknown scheme 'bogus'" in bogus.stderr
    bad = monitor("--seconds", "nan")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr + nobody.stderr + bogus.stderr
