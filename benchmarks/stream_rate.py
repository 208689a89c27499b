"""Live event stream figures, printed as JSON.

* ``codec``: messages per CPU second through encode + decode of the wire format, beside pickle
  (the plain, unsafe way) for the same batches; ``codec_profile``: where a one-event round trip's
  time goes (cProfile, own time per message).
* ``sustained``: a publisher subprocess sends at stepped rates to a subscriber whose consumer
  fills a boost-histogram of track pT and counts L1 bits; the highest rate with zero loss, and
  the CPU per event of the publisher and of the subscriber (its two threads' shares from /proc, in
  clock ticks of 10 ms: rough at the low rates).
* ``latency``: publish to decode (ready for the display) and publish to a 60 Hz display tick.

The machine is shared: figures are noisy, compare them only within one run.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pickle
import pstats
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boost_histogram as bh
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from events.model import EventBatch  # noqa: E402
from events.trigger import unpack  # noqa: E402
from events.wire import decode, encode, encode_packed  # noqa: E402
from monitoring.serve import fake_batch  # noqa: E402
from monitoring.zmq_source import ZmqEventSource  # noqa: E402

PUBLISHER = """
import itertools, sys, time
import numpy as np
from monitoring.serve import EventPublisher, fake_batch, serve
rate, batch, count = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(1)
pool = [fake_batch(rng, batch, i * batch) for i in range(32)]  # pre-made: measure the transport
pub = EventPublisher("tcp://127.0.0.1:*")
print(pub.endpoint, flush=True)
pub.wait_for_subscribers(1, 30)
cpu = time.process_time()
serve(pub, itertools.cycle(pool), rate, count)
print("cpu", time.process_time() - cpu, flush=True)  # what sending cost, for the figures per event
pub.close(linger_ms=5000)
"""


class HistogramConsumer:
    """What a shifter's panels do with every event: a pT histogram and per-bit trigger counts."""

    def __init__(self) -> None:
        self.pt = bh.Histogram(bh.axis.Regular(100, 0.0, 5.0))
        self.bits = np.zeros(64, dtype=np.int64)
        self.events = 0
        self.first_at: float | None = None
        self.last_at = 0.0
        self.first_n = 0

    def __call__(self, batch: EventBatch) -> None:
        omega = batch.tracks["omega"]
        self.pt.fill(0.299792458e-2 * 1.5 / np.abs(omega))
        fired = unpack(batch.header["l1_bits"])
        self.bits[: fired.shape[1]] += fired.sum(axis=0)
        now = time.monotonic()
        if self.first_at is None:
            self.first_at, self.first_n = now, len(batch)
        self.last_at = now
        self.events += len(batch)

    def rate(self) -> float:
        if self.first_at is None or self.last_at <= self.first_at:
            return 0.0
        return (self.events - self.first_n) / (self.last_at - self.first_at)


def read_every_column(batch: EventBatch) -> int:
    """What a receiver that uses all of a batch does: read every column (a decoded packed batch
    cuts its views then); the number of columns."""
    n = len(list(batch.header.values()))
    for collection in batch.collections().values():
        n += 1 + len(list(collection.columns.values()))  # its offsets and its columns
    return n


CODEC_WAYS: dict[str, Callable[[EventBatch, int], object]] = {
    # bytes(): a socket hands over copies
    "packed_v3": lambda b, i: decode([bytes(f) for f in encode_packed(b, i, "bench")]),
    "packed_v3_every_column": lambda b, i: read_every_column(
        decode([bytes(f) for f in encode_packed(b, i, "bench")]).batch
    ),
    "multipart_v2": lambda b, i: decode([bytes(f) for f in encode(b, i, "bench")]),
    "pickle": lambda b, i: pickle.loads(pickle.dumps(b, protocol=5)),
}


def codec(
    batch_sizes: tuple[int, ...] = (1, 10, 100, 1000), events: int = 20_000, rounds: int = 10
) -> list[dict]:
    """Messages per CPU second through encode + decode: the packed body (v3, what ``serve`` sends;
    its columns are cut when first read, so also with every column read), the JSON-headed
    multipart (v2) and pickle, of the same batches (a pool of distinct ones, so the event sizes
    vary as in a stream), interleaved in rounds; CPU time, so other users of a shared machine
    count less than in wall time."""
    rng = np.random.default_rng(0)
    rows = []
    for n in batch_sizes:
        pool = [fake_batch(rng, n, i * n) for i in range(max(1, min(64, events // n // 4)))]
        k = max(rounds * len(pool), events // n)
        per_round = max(1, k // rounds)
        spent = dict.fromkeys(CODEC_WAYS, 0.0)
        for _ in range(rounds):
            for name, way in CODEC_WAYS.items():
                t0 = time.process_time()
                for i in range(per_round):
                    way(pool[i % len(pool)], i)
                spent[name] += time.process_time() - t0
        done = rounds * per_round
        row: dict[str, float] = {"batch": n}
        nbytes = sum(len(f) for b in pool for f in encode_packed(b, 0, "bench"))
        row["bytes_per_event"] = round(nbytes / max(n * len(pool), 1))
        for name in CODEC_WAYS:
            row[f"{name}_messages_per_s"] = round(done / max(spent[name], 1e-9))
            row[f"{name}_events_per_s"] = round(done * n / max(spent[name], 1e-9))
        rows.append(row)
    return rows


def codec_profile(messages: int = 2000, top: int = 8) -> list[dict]:
    """Where the time of a one-event v3 round trip (every column read) goes: cProfile's top
    functions by own time, in microseconds per message (the profiler's overhead included)."""
    rng = np.random.default_rng(0)
    pool = [fake_batch(rng, 1, i) for i in range(64)]
    way = CODEC_WAYS["packed_v3_every_column"]
    for i, batch in enumerate(pool):  # the record layouts of these sizes made once, as in a stream
        way(batch, i)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(messages):
        way(pool[i % len(pool)], i)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    return [
        {
            "function": f"{Path(file).name}:{line}({name})" if line else name,
            "calls_per_message": round(calls / messages, 1),
            "own_us_per_message": round(own * 1e6 / messages, 2),
        }
        for (file, line, name), (_, calls, own, _, _) in rows
    ]


def _start_publisher(rate: float, batch: int, count: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(rate), str(batch), str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().strip() if ready else ""
    if not line.startswith("tcp://"):
        proc.kill()
        raise RuntimeError(f"publisher did not start: {line!r}")
    return proc, "zmq://127.0.0.1:" + line.rsplit(":", 1)[1]


def _thread_cpu_s(thread: threading.Thread) -> float:
    """CPU seconds a thread of this process has used (Linux /proc), NaN where not known."""
    try:
        stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        utime, stime = stat.rsplit(")", 1)[1].split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def run_step(rate: float, batch: int, seconds: float) -> dict:
    count = max(batch * 20, int(rate * seconds))
    proc, url = _start_publisher(rate, batch, count)
    consumer = HistogramConsumer()
    cpu_at_start = time.process_time()
    with ZmqEventSource(url, consumers=[consumer]) as source:
        deadline = time.monotonic() + seconds * 3 + 30
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # after the publisher is gone, wait for the consumer to finish what arrived
        quiet_since = time.monotonic()
        last = -1
        while time.monotonic() - quiet_since < 1.0 and time.monotonic() < deadline:
            stats = source.stats()
            seen = stats.delivered + stats.dropped_overflow
            if seen != last:
                last, quiet_since = seen, time.monotonic()
            if seen == stats.events and stats.events + stats.dropped_gap >= count:
                break
            time.sleep(0.05)
        stats = source.stats()
        threads = {t.name.split()[0].removeprefix("zmq-"): _thread_cpu_s(t) for t in source._threads}
    subscriber_cpu = time.process_time() - cpu_at_start
    proc.kill()
    assert proc.stdout is not None
    sent_line = proc.stdout.read().split()
    proc.wait()
    publisher_cpu = float(sent_line[1]) if sent_line[:1] == ["cpu"] else float("nan")
    per_event = 1e6 / max(stats.delivered, 1)
    return {
        "requested_hz": rate,
        "achieved_hz": round(consumer.rate()),
        "events_sent": count,
        "delivered": stats.delivered,
        "lost": count - stats.delivered,
        "dropped_gap": stats.dropped_gap,
        "dropped_overflow": stats.dropped_overflow,
        "histogram_entries": int(consumer.pt.sum(flow=True)),
        # CPU per event delivered: what each side would cost on a machine of its own
        "cpu_us_per_event": {
            "publisher": round(publisher_cpu * per_event, 2),
            "subscriber": round(subscriber_cpu * per_event, 2),
            **{f"subscriber_{name}_thread": round(s * per_event, 2) for name, s in threads.items()},
        },
    }


def sustained(batch: int, seconds: float, rates: list[float]) -> dict:
    steps = []
    best = 0.0
    stopped = "highest step reached"
    for rate in rates:
        step = run_step(rate, batch, seconds)
        steps.append(step)
        if step["lost"]:
            stopped = "events lost"
            break
        best = max(best, step["achieved_hz"])
        if step["achieved_hz"] < 0.8 * rate:
            stopped = "publisher and subscriber together cannot go faster on this machine, still without loss"
            break
    return {"batch": batch, "max_zero_loss_hz": best, "stopped": stopped, "steps": steps}


def latency(rate: float, batch: int, seconds: float, display_hz: float = 60.0) -> dict:
    count = int(rate * seconds)
    proc, url = _start_publisher(rate, batch, count)
    to_decode: list[float] = []
    to_display: list[float] = []
    with ZmqEventSource(url) as source:
        shown = -1
        deadline = time.monotonic() + seconds + 30
        while time.monotonic() < deadline and (proc.poll() is None or shown < count - 1):
            latest = source.latest()
            if latest is not None and latest.sequence != shown:
                shown = latest.sequence
                to_display.append((time.time_ns() - latest.sent_ns) * 1e-6)
                to_decode.append((latest.received_ns - latest.sent_ns) * 1e-6)
            time.sleep(1.0 / display_hz)
    proc.kill()
    proc.wait()

    def summary(ms: list[float]) -> dict:
        a = np.asarray(ms)
        return {"median_ms": round(float(np.median(a)), 3), "p99_ms": round(float(np.percentile(a, 99)), 3)}

    return {
        "rate_hz": rate,
        "batch": batch,
        "display_hz": display_hz,
        "samples": len(to_display),
        "publish_to_decoded": summary(to_decode),
        "publish_to_display": summary(to_display),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each rate step")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps (under 30 s)")
    args = parser.parse_args()
    rates = [2e4, 1e5, 2e5, 4e5] if args.quick else [1e3, 5e3, 2e4, 5e4, 1e5, 1.5e5, 2e5, 3e5, 5e5]
    seconds = min(args.seconds, 1.5) if args.quick else args.seconds
    codec_rows = codec((1, 100) if args.quick else (1, 10, 100, 1000), 2000 if args.quick else 20_000)
    live = sustained(args.batch, seconds, rates)
    result: dict[str, object] = {
        "note": "shared 2-core machine: noisy figures; publisher and subscriber are separate processes;"
        " codec figures are per CPU second of the one process",
        "codec": codec_rows,
        "codec_profile": codec_profile(500 if args.quick else 3000),
        "sustained": live,
        "latency": [latency(1000.0, 10, seconds), latency(100.0, 1, seconds)],
    }
    one = codec_rows[0]
    result["ratios"] = {
        "codec_one_event_vs_pickle": {
            "value": round(one["packed_v3_messages_per_s"] / one["pickle_messages_per_s"], 2),
            "goal": 5.0,
            "against": "pickle.dumps + loads of the same one-event batches (ours: encode + decode,"
            " the columns cut when first read)",
        },
        "codec_one_event_every_column_vs_pickle": {
            "value": round(one["packed_v3_every_column_messages_per_s"] / one["pickle_messages_per_s"], 2),
            "goal": 5.0,
            "against": "pickle.dumps + loads of the same one-event batches (ours: encode + decode"
            " + every column read)",
        },
        "codec_one_event_vs_multipart_v2": {
            "value": round(one["packed_v3_messages_per_s"] / one["multipart_v2_messages_per_s"], 2),
            "goal": 1.0,
            "against": "the JSON-headed multipart message of wire version 2",
        },
        "live_stream_zero_loss_khz": {
            "value": round(live["max_zero_loss_hz"] / 1000, 1),
            "goal": 100.0,
            "against": f"kHz of events from a publisher subprocess into a pT histogram and L1 bit"
            f" counts with nothing lost ({args.batch} events per message; the highest step passed)",
        },
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
