"""The live stream under hostile peers, ours against plain libzmq, printed as JSON.

* ``recovery``: a publisher sends a frame header far over the receive limit, then good batches
  on the next connection. Seconds from the bad header to the next decoded batch, for our
  subscriber (``ZmqEventSource``) and for a plain libzmq SUB socket with ZMQ_MAXMSGSIZE (which
  drops the connection and never dials again: it is given ``--wait`` seconds).
* ``publisher_rss``: the resident memory of a publisher process, idle and while hostile raw
  subscribers each send a 1 MB subscription again and again: our ``EventPublisher`` and a plain
  XPUB socket. The plain one runs under an address-space limit (``RLIMIT_AS``) and with fewer
  hostile peers in ``--quick`` mode, so it cannot take the machine down.
* ``sigterm``: ``main.py serve`` under the same flood: seconds from SIGTERM to exit, and the code.

``ratios``: the fraction of faults our subscriber recovered from (plain libzmq's outcome beside it),
and the publisher's growth under the flood against the 50 MB goal (50 MB / measured growth).

The machine is shared: figures are noisy, compare them only within one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitoring.serve import fake_batch  # noqa: E402
from monitoring.zmq_source import ZmqEventSource  # noqa: E402
from tests.monitoring.hostile_peers import Conn, RawPublisher, batch_message, frame_header  # noqa: E402

BATCH = fake_batch(np.random.default_rng(1), 10)
FLOOD = "from tests.monitoring.hostile_peers import flood_main; flood_main()"


def _bad_then_good(marks: list[float], stop: threading.Event) -> RawPublisher:
    """Connection 0: one good batch, then a 1 TB frame header. Later connections: good batches."""

    def script(index: int, conn: Conn) -> None:
        conn.handshake()
        if index == 0:
            conn.send(batch_message(BATCH, 0))
            time.sleep(0.2)
            marks.append(time.monotonic())
            conn.send(frame_header(2**40))
            conn.sock.settimeout(None)
            conn.sock.recv(1)  # ours hangs up at once; libzmq's SUB too, and for good
            return
        sequence = 10
        while not stop.is_set():
            conn.send(batch_message(BATCH, sequence))
            sequence += 10
            time.sleep(0.002)

    return RawPublisher(script)


def recovery_ours(trials: int) -> dict:
    times = []
    for _ in range(trials):
        marks: list[float] = []
        stop = threading.Event()
        with _bad_then_good(marks, stop) as pub, ZmqEventSource(pub.url) as source:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                stats = source.stats()
                if stats.protocol_errors_total and stats.events > 10:
                    times.append(time.monotonic() - marks[0])
                    break
                time.sleep(0.001)
            stop.set()
    return {
        "subscriber": "ZmqEventSource",
        "trials": trials,
        "recovered": len(times),
        "median_s": round(statistics.median(times), 4) if times else None,
        "max_s": round(max(times), 4) if times else None,
    }


def recovery_plain(wait_s: float) -> dict:
    marks: list[float] = []
    stop = threading.Event()
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.MAXMSGSIZE, 256 * 2**20)
    sub.setsockopt(zmq.RECONNECT_IVL, 100)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    received_after = None
    with _bad_then_good(marks, stop) as pub:
        sub.connect(f"tcp://127.0.0.1:{pub.port}")
        sub.recv_multipart()  # the good batch before the fault
        while not marks:
            time.sleep(0.01)
        if sub.poll(int(wait_s * 1000)):
            received_after = time.monotonic() - marks[0]
        stop.set()
        connections = pub.connections
    sub.close()
    context.term()
    return {
        "subscriber": "libzmq SUB, ZMQ_MAXMSGSIZE 256 MiB",
        "recovered": received_after is not None,
        "recovery_s": None if received_after is None else round(received_after, 4),
        "waited_s": wait_s,
        "connections_made": connections,
    }


OURS = """
import itertools, sys, time
import numpy as np
from monitoring.serve import EventPublisher, fake_batch
pub = EventPublisher("tcp://127.0.0.1:*")
print(pub.endpoint, flush=True)
batch = fake_batch(np.random.default_rng(1), 10)
while True:
    pub.poll_subscriptions()
    pub.publish(batch)
    time.sleep(0.01)
"""

PLAIN = """
import resource, sys, time, zmq
import numpy as np
from events.wire import encode
from monitoring.serve import fake_batch
vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize:"))
limit = vm + int(sys.argv[1])  # what it has mapped so far, and this much more
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
context = zmq.Context()
pub = context.socket(zmq.XPUB)
pub.setsockopt(zmq.XPUB_VERBOSER, 1)
port = pub.bind_to_random_port("tcp://127.0.0.1")
print(f"tcp://127.0.0.1:{port}", flush=True)
frames = encode(fake_batch(np.random.default_rng(1), 10), 0, "plain", epoch=1)
while True:
    while pub.poll(0):
        pub.recv()
    pub.send_multipart(frames, copy=False)
    time.sleep(0.01)
"""


def _peak_rss(pid: int, seconds: float) -> tuple[int, bool]:
    """The highest RSS over ``seconds``, and whether the process was still alive at the end."""
    peak = 0
    deadline = time.monotonic() + seconds
    try:
        process = psutil.Process(pid)
        while time.monotonic() < deadline:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)
        return peak, process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return peak, False


def publisher_rss(kind: str, hostile: int, size: int, flood_s: float, limit: int) -> dict:
    code = OURS if kind == "ours" else PLAIN
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    publisher = subprocess.Popen(
        [sys.executable, "-c", code, str(limit)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    flood = None
    try:
        assert publisher.stdout is not None
        port = publisher.stdout.readline().strip().rsplit(":", 1)[1]
        idle, _ = _peak_rss(publisher.pid, 1.0)
        flood = subprocess.Popen(
            [sys.executable, "-c", FLOOD, port, str(hostile), str(size)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        peak, alive = _peak_rss(publisher.pid, flood_s)
    finally:
        if flood is not None:
            flood.kill()
            flood.wait()
        publisher.kill()
        publisher.wait()
    return {
        "publisher": "EventPublisher" if kind == "ours" else "plain XPUB (no receive limit)",
        "hostile_subscribers": hostile,
        "subscription_bytes": size,
        "flood_s": flood_s,
        "idle_mb": round(idle / 2**20, 1),
        "peak_mb": round(peak / 2**20, 1),
        "growth_mb": round((peak - idle) / 2**20, 1),
        "survived": alive,
        **({} if kind == "ours" else {"address_space_headroom_mb": limit // 2**20}),
    }


def sigterm_under_flood(hostile: int, flood_s: float) -> dict:
    serve = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--from", "fake", "--bind", "tcp://127.0.0.1:*"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert serve.stdout is not None
    port = serve.stdout.readline().split()[1].rsplit(":", 1)[1]
    flood = subprocess.Popen(
        [sys.executable, "-c", FLOOD, port, str(hostile), str(2**20)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(flood_s)
        t0 = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(30)
            took: float | None = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            code, took = None, None
            serve.kill()
        _, err = serve.communicate()
    finally:
        flood.kill()
        flood.wait()
    return {
        "hostile_subscribers": hostile,
        "exit_code": code,
        "exit_s": None if took is None else round(took, 3),
        "last_line": err.strip().splitlines()[-1] if err.strip() else "",
        "traceback": "Traceback" in err,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials, shorter floods (< 30 s)")
    args = parser.parse_args()
    logging.getLogger("monitoring").setLevel(logging.ERROR)  # the faults are the point: no warnings
    quick = args.quick
    flood_s = 3.0 if quick else 10.0
    plain_hostile = 10 if quick else 100  # ~48 MB per 1 MB subscription kept
    plain_limit = (1 if quick else 3) * 2**30
    ours = publisher_rss("ours", 100, 2**20, flood_s, 0)
    recovery = [recovery_ours(3 if quick else 10), recovery_plain(2.0 if quick else 10.0)]
    publisher_rss_plain = publisher_rss("plain", plain_hostile, 2**20, flood_s, plain_limit)
    report: dict[str, object] = {
        "machine": "figures from one run on this machine; compare within a run only",
        "recovery": recovery,
        "publisher_rss": [ours, publisher_rss_plain],
        "sigterm": sigterm_under_flood(100, 2.0 if quick else 5.0),
    }
    report["publisher_goal_met"] = ours["growth_mb"] < 50 and ours["survived"]
    recovered, plain = recovery
    plain_rss = publisher_rss_plain
    report["ratios"] = {
        "subscriber_recovered_fraction": {
            "value": recovered["recovered"] / recovered["trials"],
            "goal": 1.0,
            "against": "every oversized header followed by a decoded batch "
            f"(plain libzmq SUB recovered: {'yes' if plain['recovered'] else 'no'})",
        },
        "publisher_growth_vs_50MB": {
            "value": 50.0 / max(ours["growth_mb"], 0.1) if ours["survived"] else 0.0,
            "goal": 1.0,
            "against": "absolute goal: under 50 MB growth with 100 hostile 1 MB subscribers "
            "(50 MB / measured; "
            f"plain XPUB grew {plain_rss['growth_mb']} MB with {plain_rss['hostile_subscribers']})",
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
