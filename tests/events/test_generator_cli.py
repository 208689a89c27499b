"""``main.py generate`` writes real event files that read back with their labels and trigger bits."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import main
from events import io, trigger
from events.generator import processes as proc


@pytest.mark.parametrize("suffix", [".h5", ".root"])
def test_generate_writes_a_file_with_labels(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / f"gen{suffix}"
    rc = main.main(["generate", "-n", "400", "-o", str(out), "--seed", "3", "--chunk-size", "150",
                    "--signal", "zprime:mass=3.0,fraction=0.2"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "wrote 400 events" in text
    assert "signal zprime" in text
    assert "L1 rates" in text
    batch = io.load(out)
    assert len(batch) == 400
    is_signal = batch.header["signal"] == proc.SIGNAL_BY_NAME["zprime"].code
    assert 40 < is_signal.sum() < 130
    np.testing.assert_allclose(batch.header["signal_mass"][is_signal], 3.0)
    assert (batch.header["process"][~is_signal] > 0).all()
    # trigger bits survive the round trip and are those of the emulation
    np.testing.assert_array_equal(batch.header["l1_bits"], trigger.emulate_l1(batch))
    assert batch.tracks.size > 400
    # the summary says how many of the written events fire L1, and that the stream is not filtered by it
    fired = int(np.count_nonzero(batch.header["l1_bits"]))
    assert f"{fired} of 400 events ({100 * fired / 400:.1f} %) fire an L1 line after the prescales" in text
    assert "not filtered" in text
    assert 0 < fired < 400


def test_generate_reports_a_bad_signal_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "bad.h5"
    rc = main.main(["generate", "-n", "10", "-o", str(out), "--signal", "zprime:mass=twelve"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "zprime:mass=twelve" in err
    assert "not a number" in err
    assert not out.exists()
    assert main.main(["generate", "-n", "10", "-o", str(tmp_path / "x.txt")]) == 2
    assert "unknown output type" in capsys.readouterr().err
    assert main.main(["generate", "-n", "10", "-o", str(out), "--luminosity", "-1"]) == 2
    assert "--luminosity must be a positive number" in capsys.readouterr().err
    assert not out.exists()


def test_the_l1_accepted_stream_keeps_only_triggered_events_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "accepted.h5"
    rc = main.main(["generate", "-n", "200", "-o", str(out), "--seed", "5", "--chunk-size", "400",
                    "--l1-accepted"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    found = re.search(r"L1-accepted stream: 200 of (\d+) generated collisions fire a line after the "
                      r"prescales; (\d+) rejected by L1", text)  # fmt: skip
    assert found is not None, text
    collisions, rejected = int(found[1]), int(found[2])
    assert collisions == 200 + rejected
    batch = io.load(out)
    bits = batch.header["l1_bits"]
    assert len(batch) == 200
    assert (bits != 0).all()  # "after L1" means it: every event fired a line
    np.testing.assert_array_equal(bits, trigger.emulate_l1(batch))  # with its own prescale draws
    # event numbers count the collisions: the gaps are the rejected ones
    assert int(batch.header["event"][-1]) == collisions
    assert np.all(np.diff(batch.header["event"]) >= 1)
    # the kept fraction is the rate model's acceptance over all collisions (≈ 11 %: two-photon and
    # Bhabha events mostly fail), and the events are spaced at the L1 rate that model prints
    total = re.search(r"^  physics total +([\d.]+) Hz$", text, re.M)
    assert total is not None
    sigma_nb = sum(p.cross_section_nb for p in proc.PROCESSES)
    expected = float(total[1]) / (5.1e34 * sigma_nb * 1e-33)
    assert abs(200 / collisions - expected) < 4 * np.sqrt(expected * (1 - expected) / collisions)
    t = batch.header["time"].astype(np.float64) * 1e-9
    assert 199 / (t[-1] - t[0]) == pytest.approx(float(total[1]), rel=0.25)
    # two-photon events are the bulk (62 % in the model: 12 % of the 80 nb fire a line), Bhabhas rare
    shares = {p.name: np.mean(batch.header["process"] == p.code) for p in proc.PROCESSES}
    assert shares["eeee"] + shares["eemumu"] > 0.45
    assert shares["bhabha"] < 0.05


def test_an_l1_accepted_stream_that_never_fires_stops_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trigger, "emulate_l1", lambda batch, rng=None: np.zeros(len(batch), np.uint64))
    out = tmp_path / "never.h5"
    rc = main.main(["generate", "-n", "5", "-o", str(out), "--process", "mumu", "--chunk-size", "10",
                    "--l1-accepted"])  # fmt: skip
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no event of 200 generated collisions fires an L1 line" in err[0]
    assert not out.exists()
