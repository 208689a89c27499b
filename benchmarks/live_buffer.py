"""What a bin click and a follow tick cost the GUI thread with a full live buffer; prints JSON.

The application keeps the newest 10,000 live events (``LiveBuffer``) for the event browser. A click
on a histogram bin opens the newest of that bin's events still buffered, and every 4 s the browser
follows the stream to the newest event worth showing. Ours: a snapshot that copies no event
(``LiveBuffer.frozen``), the clicked event found by the (batch, row) the histogram's link stores,
and the newest events only searched for one worth showing. The plain way (the previous layout):
the whole buffer joined into one batch, the event found by comparing (experiment, run, event)
with every buffered one, and the whole buffer searched. Events are ``serve``'s generated batches
of 20, the embedded stream's size. Milliseconds of one thread; compare within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from events.model import EVENT_ID  # noqa: E402
from monitoring.live_events import LiveBuffer  # noqa: E402
from monitoring.serve import fake_batch  # noqa: E402
from panels.app import LOOK_BACK_EVENTS, newest_worth_showing  # noqa: E402


def timed(work: Callable[[], object], repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1e3)
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (under 30 s)")
    parser.add_argument("--events", type=int, default=10_000, help="buffer capacity (the application's)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30
    rng = np.random.default_rng(7)
    buffer = LiveBuffer(args.events)
    batches = [fake_batch(rng, 20, i * 20) for i in range(args.events // 20 + 10)]
    for batch in batches:
        buffer(batch)
    clicked_batch = len(batches) - 60  # an event a few seconds old, as a bin's newest usually is
    row = 7
    wanted = batches[clicked_batch].event_id(row)

    def click_ours() -> None:
        frozen = buffer.frozen()
        where = frozen.position(clicked_batch, row)
        assert where is not None
        event = frozen.read(where, where + 1)
        assert event.event_id() == wanted

    def click_plain() -> None:
        joined = buffer.snapshot()
        ids = np.stack([joined.header[k] for k in EVENT_ID], axis=1)
        hits = np.flatnonzero((ids == wanted).all(axis=1))
        joined.slice(int(hits[-1]), int(hits[-1]) + 1)

    def tick_ours() -> None:
        frozen = buffer.frozen()
        total = len(frozen)
        recent = frozen.read(total - LOOK_BACK_EVENTS, total)
        index = total - len(recent) + newest_worth_showing(recent)
        frozen.read(index, index + 1)

    def tick_plain() -> None:
        joined = buffer.snapshot()
        index = newest_worth_showing(joined)
        joined.slice(index, index + 1)

    ways = {"bin_click": (click_ours, click_plain), "follow_tick": (tick_ours, tick_plain)}
    figures = {
        name: {"ours": timed(ours, repeats), "plain_whole_buffer_joined": timed(plain, repeats)}
        for name, (ours, plain) in ways.items()
    }
    ratios = {
        f"{name}_speedup": {
            "value": round(f["plain_whole_buffer_joined"]["median_ms"] / f["ours"]["median_ms"], 1),
            "goal": 10.0,
            "against": "the whole buffer joined on the GUI thread (the previous layout)",
        }
        for name, f in figures.items()
    }
    print(json.dumps({"buffered_events": len(buffer), **figures, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
