"""Time from a sudden beam loss to the latched alarm, with real ``main.py ioc`` processes, as JSON.

Scenarios (each with a fresh IOC on a private loopback port, read through ``ca://``):

* ``connected``: the client is connected when the loss happens;
* ``lost_while_down``: the IOC is killed, and comes back without beam (the loss happened unseen);
* ``abort_0.5s_after_restart``: the IOC is killed and restarted, the loss 0.5 s after the restart,
  while the client is still reconnecting;
* ``restart_on_another_clock``: the IOC ran at 30x real time (its clock ahead of the wall), is
  restarted at 1x, and the loss happens 3 s later on the new clock.

Each sample is fed, in the same callback, to our model (``MonitorModel`` with ``SBLDetector()``:
it compares across gaps and follows a clock that went back) and to the plain way: valid current
samples newer than the channel's last one go to a window-only detector
(``SBLDetector(across_gaps=False)``), older ones are dropped. The loss time is the IOC's own
(its ``--sbl-at`` drill line; the simulated clock is the wall clock at 1x). A detection that
never latches within the wait is ``null``. The plain way has no figure to divide by where it
misses, so ``ratios`` holds the fraction of losses ours latched (goal: all; the plain way's count
is named beside it) and, where both latch (``connected``), the plain way's median latency over
ours. The machine is a shared, loaded box.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitoring.accumulators import SBLDetector  # noqa: E402
from monitoring.ioc import free_port  # noqa: E402
from monitoring.model import MonitorModel  # noqa: E402
from monitoring.source import Update  # noqa: E402

PREFIX = "B:"
WAIT_S = 15.0  # longest wait for a latch before calling it missed


class IOC:
    """``main.py ioc`` in a subprocess; ``loss_at``: the simulated time of its drill, if any."""

    def __init__(self, accel: float, sbl_at: float | None = None) -> None:
        argv = [sys.executable, "-u", "main.py", "ioc", "--prefix", PREFIX, "--tick", "0.05",
                "--sbl-rate", "0", "--accel", str(accel)]  # fmt: skip
        if sbl_at is not None:
            argv += ["--sbl-at", str(sbl_at)]
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        self.loss_at: float | None = None
        self.started = time.time()
        for _ in range(20):
            line = self.proc.stdout.readline()
            found = re.search(r"simulated clock ([0-9.]+)", line)
            if found:
                self.loss_at = float(found.group(1))
            if not line or line.startswith("serving"):
                break
        if not line.startswith("serving"):
            raise RuntimeError(f"IOC did not start: {line!r}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # keep the pipe drained

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Plain:
    """The plain way: in-order valid currents into a window-only detector, older samples dropped."""

    def __init__(self) -> None:
        self.sbl = SBLDetector(across_gaps=False)
        self.last: dict[str, float] = {}

    def ingest(self, updates: list[Update]) -> None:
        for u in updates:
            if u.channel not in ("HER:I", "LER:I") or not u.connected:
                continue
            if not isinstance(u.value, float) or u.timestamp <= self.last.get(u.channel, -1.0):
                continue
            self.last[u.channel] = u.timestamp
            self.sbl.add(u.channel[:3], u.timestamp, u.value)


class Client:
    """A ``ca://`` source feeding our model and the plain way; records when each latched."""

    def __init__(self) -> None:
        from monitoring.source import open_machine_source

        self.source = open_machine_source(f"ca://?prefix={PREFIX}")
        self.model = MonitorModel(self.source.channels, sbl=SBLDetector())
        self.plain = Plain()
        self.latched: dict[str, float] = {}
        self.lock = threading.Lock()
        self.source.subscribe(self._feed)
        self.source.start()

    def _feed(self, updates: list[Update]) -> None:
        now = time.time()
        with self.lock:
            self.model.ingest(updates)
            self.plain.ingest(updates)
            for name, sbl in (("ours", self.model.sbl), ("plain", self.plain.sbl)):
                if name not in self.latched and sbl.latched:
                    self.latched[name] = now

    def value(self, channel: str) -> tuple[bool, float]:
        with self.lock:
            state = self.model.states[channel]
            return state.connected, state.value

    def stop(self) -> None:
        self.source.stop()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def full_beam(client: Client) -> bool:
    connected, value = client.value("LER:I")
    return connected and value > 1.0


def trial(scenario: str) -> dict[str, float | None]:
    """One run of a scenario: seconds from the loss to each latch (None: never), and the reconnect."""
    iocs: list[IOC] = []
    clients: list[Client] = []
    reconnect = None
    try:
        first = IOC(30.0 if scenario == "restart_on_another_clock" else 1.0,
                    sbl_at=2.0 if scenario == "connected" else None)  # fmt: skip
        iocs.append(first)
        client = Client()
        clients.append(client)
        assert wait_for(lambda: full_beam(client), 15), "no beam from the IOC"
        loss_ioc = first
        if scenario != "connected":
            if scenario == "restart_on_another_clock":
                time.sleep(1.0)  # its clock runs ahead
            first.kill()
            assert wait_for(lambda: not client.value("LER:I")[0], 15)
            sbl_at = {"lost_while_down": 0.0, "abort_0.5s_after_restart": 0.5}.get(scenario, 3.0)
            loss_ioc = IOC(1.0, sbl_at=sbl_at)
            iocs.append(loss_ioc)
            t0 = time.time()
            if wait_for(lambda: client.value("LER:I")[0], 15):
                reconnect = time.time() - t0
        loss_at = loss_ioc.loss_at
        assert loss_at is not None
        wait_for(lambda: "ours" in client.latched, loss_at - time.time() + WAIT_S)
        time.sleep(0.3)  # a moment more for the plain detector, should it latch late
        return {
            "ours": client.latched["ours"] - loss_at if "ours" in client.latched else None,
            "plain": client.latched["plain"] - loss_at if "plain" in client.latched else None,
            "reconnect": reconnect,
        }
    finally:
        for c in clients:
            c.stop()
        for ioc in iocs:
            ioc.stop()


def summary(values: list[float | None]) -> dict[str, object]:
    got = [v for v in values if v is not None]
    return {
        "median_s": round(statistics.median(got), 4) if got else None,
        "max_s": round(max(got), 4) if got else None,
        "missed": len(values) - len(got),
        "all_s": [None if v is None else round(v, 4) for v in values],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one trial per scenario (< 30 s)")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    trials = 1 if args.quick else args.trials
    port = free_port()
    os.environ.update(
        EPICS_CA_SERVER_PORT=str(port),
        EPICS_CA_ADDR_LIST=f"127.0.0.1:{port}",
        EPICS_CA_AUTO_ADDR_LIST="NO",
    )
    scenarios = ["connected", "lost_while_down", "abort_0.5s_after_restart", "restart_on_another_clock"]
    out: dict[str, object] = {}
    t_start = time.monotonic()
    for scenario in scenarios:
        runs = [trial(scenario) for _ in range(trials)]
        entry: dict[str, object] = {
            "ours": summary([r["ours"] for r in runs]),
            "plain": summary([r["plain"] for r in runs]),
        }
        if scenario != "connected":
            entry["reconnect_after_restart"] = summary([r["reconnect"] for r in runs])
        out[scenario] = entry

    def latched(way: str) -> int:
        return sum(len(e[way]["all_s"]) - e[way]["missed"] for e in out.values())  # type: ignore[index]

    total = trials * len(scenarios)
    connected = out["connected"]
    ours_s, plain_s = connected["ours"]["median_s"], connected["plain"]["median_s"]  # type: ignore[index]
    ratios: dict[str, dict[str, object]] = {
        "losses_latched_fraction": {
            "value": latched("ours") / total,
            "goal": 1.0,
            "against": f"every loss latched within the wait, {total} in all "
            f"(the plain way latched {latched('plain')})",
        },
        "connected_latency_vs_plain": {
            "value": plain_s / ours_s if ours_s and plain_s else 0.0,
            "goal": 1.0,
            "against": "the plain window-only detector's median latency, client connected "
            "(0 if either missed)",
        },
    }
    result = {
        "benchmark": "time from a sudden beam loss to the latched alarm (main.py ioc, ca://)",
        "machine": "shared 2-core box, loaded; figures are noisy",
        "trials_per_scenario": trials,
        "scenarios": out,
        "wall_s": round(time.monotonic() - t_start, 1),
        "ratios": ratios,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
