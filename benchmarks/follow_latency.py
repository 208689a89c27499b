"""How far a following screen lags its presenter, as JSON (``displays/show_link.py``).

A presenter and a follower talk over a real ZeroMQ link on the loopback interface, as two screens
of an exhibition would over a local network. Measured, in one run:

* ``state_ms``: from ``Presenter.publish`` of a new camera state to the follower's ``poll`` returning
  it (the follower polls in a tight loop here; the show polls once a frame);
* ``event_ms``: the same for a state that carries a new event (one event of the sample in the wire
  format), decoded and checked on arrival;
* the plain way beside it: the same event pickled and unpickled over the same kind of socket.

A following window mirrors a state at its next frame, so the lag a visitor sees is the link's plus
at most one frame (33 ms). ``ratios``: the goal of 100 ms over that worst case (higher is better,
>= 1 meets it), and pickle's event time over ours.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAME_MS = 33.0  # the outreach show's frame (panels/outreach.py)
GOAL_MS = 100.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a few seconds)")
    args = parser.parse_args()
    import zmq

    from displays import show_link
    from displays.show_link import Follower, Presenter, ShowState
    from events import io
    from events.generator import samples

    rounds = 60 if args.quick else 400
    events = io.load(samples.SAMPLE)
    presenter = Presenter("tcp://127.0.0.1:*")
    follower = Follower("zmq://" + presenter.endpoint.removeprefix("tcp://"))
    time.sleep(0.3)  # the subscription reaches the publisher

    def once(k: int, with_event: bool) -> float:
        event = events.event(k % len(events))
        state = ShowState(event.event_label() if with_event else "", float(k), 30.0, 480.0, (0, 0, 0), None)
        presenter._sent_at = -1e9  # publish now, whatever the 20 Hz pacing
        if not with_event:
            presenter._event_id = state.event
        start = time.perf_counter()
        presenter.publish(state, event if with_event else None)
        while True:
            got = follower.poll()
            if got is not None and got.azimuth == float(k):
                if with_event and follower.event(state.event) is None:
                    continue
                return (time.perf_counter() - start) * 1e3
            if time.perf_counter() - start > 5.0:
                return float("nan")

    state_ms = [once(k, False) for k in range(rounds)]
    event_ms = [once(10_000 + k, True) for k in range(rounds)]

    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    pub, sub = context.socket(zmq.PUB), context.socket(zmq.SUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{port}")
    time.sleep(0.3)
    pickle_ms = []
    for k in range(rounds):
        event = events.event(k % len(events))
        start = time.perf_counter()
        pub.send(pickle.dumps(event))
        pickle.loads(sub.recv())
        pickle_ms.append((time.perf_counter() - start) * 1e3)
    follower.close()
    presenter.close()
    pub.close()
    sub.close()

    worst = _percentile(event_ms, 0.95) + FRAME_MS
    result = {
        "benchmark": "follow_latency",
        "machine": "shared 2-core box, loopback ZeroMQ; figures are noisy",
        "quick": args.quick,
        "rounds": rounds,
        "state_ms": {"median": statistics.median(state_ms), "p95": _percentile(state_ms, 0.95)},
        "event_ms": {"median": statistics.median(event_ms), "p95": _percentile(event_ms, 0.95)},
        "pickle_event_ms": {"median": statistics.median(pickle_ms), "p95": _percentile(pickle_ms, 0.95)},
        "mirrored_frame_worst_ms": worst,
        "lost_after_s": show_link.LOST_AFTER_S,
        "ratios": {
            "follow_within_100ms": {
                "value": GOAL_MS / worst,
                "goal": 1.0,
                "against": "100 ms over (p95 event link + one 33 ms frame)",
            },
            "event_vs_pickle": {
                "value": statistics.median(pickle_ms) / statistics.median(event_ms),
                "goal": 1.0,
                "against": "the same event pickled over a plain PUB/SUB socket",
            },
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
