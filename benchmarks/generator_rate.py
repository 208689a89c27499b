"""Generator throughput: events/s on one core per process and for the mixed stream, as JSON.

Side by side: the vectorized chunks the generator uses (5000 events) against tiny chunks (10 events),
which approximate an event-at-a-time generator paying Python overhead per event. The machine is shared,
so figures are noisy; the process pins numpy to one thread to measure per-core rates.

``ratios``: the vectorized chunks against the 10-event chunks, and the mixed stream on one core
against the 30 kHz L1 design rate (an absolute goal: 30 kHz / 1 is the reference).
``--quick`` (under 30 s): 4000 events instead of 20000 (``GENERATOR_BENCH_EVENTS``), the same keys.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from events.generator import generate, parse_signal  # noqa: E402
from events.generator.processes import PROCESSES  # noqa: E402


def rate(n: int, repeats: int = 2, **kwargs: object) -> float:
    """Best events/s over ``repeats`` runs of ``generate(n, **kwargs)``."""
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        generate(n, seed=r, **kwargs)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4000 events (< 30 s)")
    args = parser.parse_args()
    n = int(os.environ.get("GENERATOR_BENCH_EVENTS", "4000" if args.quick else "20000"))
    generate(200, seed=99)  # warm caches (ECL geometry, imports)
    out: dict[str, object] = {"events": n, "threads": 1, "unit": "events/s per core"}
    out["mixed_stream"] = round(rate(n, chunk_size=5000), 1)
    out["mixed_stream_chunk10"] = round(rate(max(n // 20, 500), chunk_size=10), 1)
    out["per_process"] = {p.name: round(rate(n // 4, processes=[p.name]), 1) for p in PROCESSES}
    signals = [
        "zprime:mass=3",
        "darkhiggs:ma=6,mh=2",
        "darkphoton:mass=4",
        "alp:mass=1.5",
        "llp:mass=1,ctau=5",
    ]
    out["per_signal"] = {
        s.split(":")[0]: round(rate(n // 4, signals=[parse_signal(s + ",fraction=1")], processes=[]), 1)
        for s in signals
    }
    mixed, chunk10 = float(out["mixed_stream"]), float(out["mixed_stream_chunk10"])  # type: ignore[arg-type]
    out["ratios"] = {
        "vectorized_vs_chunk10": {
            "value": mixed / chunk10,
            "goal": 10.0,
            "against": "the same generator in 10-event chunks (Python overhead per event), one core",
        },
        "mixed_stream_vs_30kHz": {
            "value": mixed / 30_000.0,
            "goal": 1.0,
            "against": "absolute goal: the 30 kHz L1 design rate on one core (events/s / 30k)",
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
