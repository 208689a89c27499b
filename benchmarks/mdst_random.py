"""One mdst event at random: from a file already open, and from one not yet open.

Each round runs, in a fresh process per code tree (this checkout, and ``--against`` another
checkout of the project, e.g. a worktree of main), alternately, over ``--files`` copies of the mdst
sample in a temporary folder:

* *not yet open*: ``io.open_events(copy)`` + ``read(i, i + 1)`` of a random event, file after file
  (the first ``--open`` of them stay open);
* *open*: ``--picks`` random (file, event) pairs among the open files, a new pair each time;

wall and CPU milliseconds per event, and the time the collector took (``gc.callbacks``).

Usage: ``python benchmarks/mdst_random.py [--quick] [--against /work/main] [--rounds 3]``.
Prints JSON with a top-level ``ratios`` object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "data" / "mdst-v06-00-00.root"  # the basf2 test file beside the project

CHILD = r"""
import gc, json, random, sys, time
from pathlib import Path
from events import io
files = [Path(p) for p in sys.argv[1].split(",")]
n_open, picks, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
collecting = [0.0]
mark = [0.0]
def on_gc(phase, info):
    if phase == "start":
        mark[0] = time.perf_counter()
    else:
        collecting[0] += time.perf_counter() - mark[0]
gc.callbacks.append(on_gc)
rng = random.Random(seed)
def timed(f):
    w, c = time.perf_counter(), time.process_time()
    f()
    return (time.perf_counter() - w) * 1e3, (time.process_time() - c) * 1e3
sources, cold = [], []
for path in files:
    holder = {}
    def first():
        holder["s"] = io.open_events(path)
        holder["s"].read(i := rng.randrange(10), i + 1)
    cold.append(timed(first))
    if len(sources) < n_open:
        sources.append(holder["s"])
    else:
        holder["s"].close()
collecting[0] = 0.0
warm = []
for _ in range(picks):
    s = rng.choice(sources)
    i = rng.randrange(len(s))
    warm.append(timed(lambda: s.read(i, i + 1)))
print(json.dumps({"cold": cold, "warm": warm, "gc_ms": collecting[0] * 1e3}))
"""


def run_child(tree: Path, files: list[Path], n_open: int, picks: int, seed: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    args = [",".join(map(str, files)), str(n_open), str(picks), str(seed)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, cwd=tree, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def figures(rows: list[list[float]]) -> dict[str, float]:
    wall, cpu = [r[0] for r in rows], [r[1] for r in rows]
    return {
        "median_ms": round(statistics.median(wall), 2),
        "max_ms": round(max(wall), 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
        "cpu_max_ms": round(max(cpu), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 10 files, 40 picks (under 30 s)")
    parser.add_argument("--against", type=Path, help="another checkout of the project, run alternately")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=40, help="copies of the sample")
    parser.add_argument("--open", type=int, default=30, help="of them kept open for the open-file picks")
    parser.add_argument("--picks", type=int, default=200)
    parser.add_argument("--mdst", type=Path, default=SAMPLE)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.files, args.open, args.picks = 1, 10, 8, 40
    trees = {"ours": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    collected: dict[str, dict[str, list[Any]]] = {
        name: {"cold": [], "warm": [], "gc_ms": []} for name in trees
    }
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k in range(args.files):
            files.append(Path(tmp) / f"mdst_{k:03d}.root")
            shutil.copyfile(args.mdst, files[-1])
        for r in range(args.rounds):
            for name, tree in trees.items():
                got = run_child(tree, files, args.open, args.picks, seed=r)
                for key in ("cold", "warm"):
                    collected[name][key].extend(got[key])
                collected[name]["gc_ms"].append(round(got["gc_ms"], 1))
            loads.append(os.getloadavg()[0])
    out: dict[str, Any] = {
        "machine": "2-core shared development box",
        "load_average": [round(x, 2) for x in loads],
        "files": args.files,
        "open": args.open,
        "rounds": args.rounds,
    }
    for name, tree in trees.items():
        c = collected[name]
        out[name] = {
            "tree": str(tree),
            "not_yet_open": figures(c["cold"]),
            "open": figures(c["warm"]),
            "gc_ms_during_open_picks": c["gc_ms"],
            "open_picks_per_round": args.picks,
        }
    ours = out["ours"]["open"]
    ratios: dict[str, dict[str, object]] = {
        "open_file_event_under_50ms": {
            "value": round(50.0 / max(ours["max_ms"], 1e-9), 2),
            "goal": 1.0,
            "against": "50 ms, the slowest event read at random from an open mdst file",
        },
        "not_yet_open_event_under_50ms": {
            "value": round(50.0 / max(out["ours"]["not_yet_open"]["median_ms"], 1e-9), 2),
            "goal": 1.0,
            "against": "50 ms, the median of a random event of an mdst file not yet open (open + first read)",
        },
    }
    if "against" in out:
        ratios["open_file_median_vs_against"] = {
            "value": round(out["against"]["open"]["median_ms"] / max(ours["median_ms"], 1e-9), 2),
            "goal": 1.0,
            "against": f"the median of the same picks with {out['against']['tree']}, alternately",
        }
    out["ratios"] = ratios
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
