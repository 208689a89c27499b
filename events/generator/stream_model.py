"""The physics stream's shares from the one L1 rate model (docs/physics.md §3 and §6).

The stream is drawn at each process's share *after* L1: σ_p · ε_p over the sum, where ε_p is the
acceptance of ``events.trigger.RateModel`` (the fraction of emulated events of the process that fire a
line after the prescales, event by event). ε_p comes from ``N_EVENTS`` generated events per process with
seed ``SEED``, the same events as the monitoring panels' model (``monitoring.rates.load_menu`` defaults:
2000 per process, seed 1), so the stream's shares, the stream's rate, ``main.py generate``'s summary and the
rates panel follow one model. The processes made only on request (``processes.ON_REQUEST``) get their ε the
same way.

Computing it costs about two CPU-seconds; it is done once per process (memoised) and cached on disk,
keyed by the sources of the generator and the L1 emulation (their thresholds and prescales) and by the
number of events and the seed, so any change of either recomputes it. A cache file that cannot be read,
or does not hold one finite ε in [0, 1] for every process, is recomputed and rewritten; one that cannot
be written is skipped (the numbers are used from memory).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from events.generator import processes

N_EVENTS = 2000  # generated events per process behind the stream's acceptances
SEED = 1  # the monitoring model's seed (monitoring.rates.load_menu)
LUMINOSITY = 5.1e34  # the luminosity record (docs/physics.md §1): the stream's time spacing is its L1 rate


def fingerprint() -> str:
    """Hash of the generator, the L1 emulation and the track/field code it uses."""
    events = Path(__file__).resolve().parents[1]
    sources = [*sorted((events / "generator").glob("*.py"))]
    sources += [events / name for name in ("trigger.py", "helix.py", "field.py", "kinematics.py")]
    digest = hashlib.sha1()
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_path(n_per_process: int = N_EVENTS, seed: int = SEED) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "belle2-display" / f"stream-acceptance-{fingerprint()}-{n_per_process}-{seed}.json"


def _names() -> list[str]:
    return [p.name for p in processes.PROCESSES + processes.ON_REQUEST]


def _read(path: Path) -> dict[str, float] | None:
    try:
        data = json.loads(path.read_text())
        values = {str(k): float(v) for k, v in data["acceptance"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if sorted(values) != sorted(_names()):
        return None
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values.values()):
        return None
    return values


def _write(path: Path, values: dict[str, float], n_per_process: int, seed: int) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({"events_per_process": n_per_process, "seed": seed, "acceptance": values}, f, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


@functools.cache
def acceptances(n_per_process: int = N_EVENTS, seed: int = SEED) -> dict[str, float]:
    """ε_p of every process (by name): the rate model's acceptance of its emulated events."""
    path = cache_path(n_per_process, seed)
    cached = _read(path)
    if cached is not None:
        return cached
    # the engine by name: its default stream is drawn at the shares made of these values, so this
    # module lies below it and reaches up to it only to emulate events when the cache has none
    engine = importlib.import_module("events.generator.engine")
    values = engine.acceptances(n_per_process, seed)
    _write(path, values, n_per_process, seed)
    return values


def stream_rate_hz(luminosity: float = LUMINOSITY) -> float:
    """The L1 rate of the full physics stream [Hz]: L · Σ_p σ_p ε_p (the rate model's physics total)."""
    eps = acceptances()
    return luminosity * 1e-33 * sum(p.cross_section_nb * eps[p.name] for p in processes.PROCESSES)


def stream_shares(codes: list[int] | None = None, collisions: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(process codes, shares summing to 1) for the given processes (all by default): the stream's shares
    after L1 (σ · ε of the rate model), or with ``collisions`` the shares of the collisions themselves
    (cross sections alone). One process has share 1 (its ε is not needed)."""
    chosen = [processes.BY_CODE[c] for c in codes] if codes is not None else list(processes.PROCESSES)
    if len(chosen) == 1:
        return np.array([chosen[0].code], dtype=np.int16), np.ones(1)
    eps = {} if collisions else acceptances()
    rates = np.array([p.cross_section_nb * (1.0 if collisions else eps[p.name]) for p in chosen])
    return np.array([p.code for p in chosen], dtype=np.int16), rates / rates.sum()
