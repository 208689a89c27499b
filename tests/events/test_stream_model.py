"""The stream's acceptances: from the rate model's events, cached on disk, a damaged cache rebuilt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from events.generator import engine, processes, rate_model, stream_model

N, SEED = 60, 3  # a few events per process: the cache's behaviour, not the physics


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stream_model.acceptances.cache_clear()
    yield tmp_path
    stream_model.acceptances.cache_clear()


def test_the_acceptances_are_the_rate_models_and_are_cached(cache_home: Path) -> None:
    eps = stream_model.acceptances(N, SEED)
    model = rate_model(N, SEED)
    np.testing.assert_allclose([eps[p] for p in model.processes], model.acceptance(), rtol=1e-12)
    assert set(eps) == {p.name for p in processes.PROCESSES + processes.ON_REQUEST}
    path = stream_model.cache_path(N, SEED)
    assert path.parent.parent == cache_home
    assert stream_model.fingerprint() in path.name
    assert json.loads(path.read_text())["acceptance"] == eps
    stream_model.acceptances.cache_clear()
    assert stream_model.acceptances(N, SEED) == eps
    # a second call reads the file (what it holds is what comes back), a third the memo
    path.write_text(json.dumps({"acceptance": {name: 0.5 for name in eps}}))
    stream_model.acceptances.cache_clear()
    assert set(stream_model.acceptances(N, SEED).values()) == {0.5}
    path.unlink()
    assert set(stream_model.acceptances(N, SEED).values()) == {0.5}


@pytest.mark.parametrize(
    "damage",
    ["not json {", '{"acceptance": {"eeee": 0.5}}', '{"acceptance": {"eeee": "NaN"}}', "[]", "1.5"],
)
def test_a_damaged_cache_is_rebuilt(cache_home: Path, damage: str) -> None:
    path = stream_model.cache_path(N, SEED)
    path.parent.mkdir(parents=True)
    path.write_text(damage)
    eps = stream_model.acceptances(N, SEED)
    assert eps == engine.acceptances(N, SEED)
    assert json.loads(path.read_text())["acceptance"] == eps


def test_a_cache_that_cannot_be_written_is_skipped(cache_home: Path) -> None:
    (cache_home / "belle2-display").write_text("a file where the cache folder should be")
    eps = stream_model.acceptances(N, SEED)
    assert eps == engine.acceptances(N, SEED)
    assert all(0.0 <= v <= 1.0 for v in eps.values())
