"""``main.py generate`` writes real event files that read back with their labels and trigger bits."""

from __future__ import annotations

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
