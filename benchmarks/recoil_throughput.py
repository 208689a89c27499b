"""Recoil-mass histogram throughput, every method side by side on the same events (JSON on stdout).

Workload (README, Performance): muon pairs as 6 float32 columns (24 B/event), full lab-frame
recoil M^2 with the crossing-angle beam, filled into a 200-bin histogram. Compared: the plain
numpy expression + np.histogram, vector + awkward, and our backends (numpy chunked: screened
float32 with float64 near the bin edges, and float64 alone; numba fused on 1 and 2 threads;
dask over ROOT ntuples on 1 and 2 local workers, several interleaved rounds with the spread,
since the 2 cores are shared with other work). Figures are events/s
in total, per core (threads or workers used) and per CPU-second of this process (a per-core figure
that holds up when other work shares the machine). Best of ``--repeat`` runs.

The reference for the fused kernel is the core's own streaming read limit: a plain numba sum over
the same six columns on one thread (``read_limit_plain_numba_sum``: float32, fastmath so it
vectorizes with several accumulators, 16 lanes a vector here), timed in rounds alternating with the
fused kernel's so both see the same load (``--limit-rounds``, one pass each, best of each; also by
CPU time). ``fused_profile``: where the fused kernel's time goes,
stage by stage, in cache. ``ratios``: the fused kernel
against that limit, numpy chunked against numpy + np.histogram. ``--quick`` (under 30 s): 2M
events, one dask round on 100k events; the same keys.

    python benchmarks/recoil_throughput.py [--quick] [--events 10000000] [--repeat 3] [--dask-rounds 5]
        [--no-dask] [--limit-rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.histograms import samples
from monitoring.histograms.axes import Axis
from monitoring.histograms.backends import NumbaBackend, NumpyBackend
from monitoring.histograms.observables import BEAM, MUON_MASS

AXIS = Axis("recoil_mass2", 200, -10.0, 110.0)


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object, float]:
    """Best wall time, the result, and the best CPU time of this process (all its threads)."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, result, best_cpu


def make_events(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    base = min(n, 1_000_000)
    p1, p2 = samples.muon_pair_momenta(rng.uniform(0.2, 10.0, base), base, rng)
    p = np.concatenate([p1, p2], axis=1) * rng.normal(1.0, 0.01, (base, 6))
    reps = -(-n // base)
    return [np.ascontiguousarray(np.tile(c, reps)[:n], dtype=np.float32) for c in p.T]


def numpy_plain(p: list[np.ndarray]) -> np.ndarray:
    """The plain numpy expression over whole arrays, then np.histogram."""
    p1x, p1y, p1z, p2x, p2y, p2z = p
    m2 = MUON_MASS**2
    e1 = np.sqrt(p1x * p1x + p1y * p1y + p1z * p1z + m2)
    e2 = np.sqrt(p2x * p2x + p2y * p2y + p2z * p2z + m2)
    re, rx, ry, rz = BEAM.energy - e1 - e2, BEAM.px - p1x - p2x, BEAM.py - p1y - p2y, BEAM.pz - p1z - p2z
    return np.histogram(re * re - rx * rx - ry * ry - rz * rz, bins=AXIS.edges)[0]


def plain_sum_kernel() -> Callable[..., float]:
    """A plain numba sum over the six float32 columns on one thread: the core's streaming read limit."""
    import numba

    @numba.njit(nogil=True, fastmath=True, cache=False)
    def column_sum(
        a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, e: np.ndarray, f: np.ndarray
    ) -> float:
        total = np.float32(0.0)
        for i in range(a.size):
            total += a[i] + b[i] + c[i] + d[i] + e[i] + f[i]
        return float(total)

    return column_sum


def fused_profile(
    p: list[np.ndarray], events: int = 16_384, rounds: int = 4, samples: int = 60
) -> dict[str, float]:
    """Where the fused kernel's time goes: ns per event of each stage on ``events`` events that
    stay in cache (CPU time of this thread, so other load on the machine counts less), beside the
    streaming read of the same bytes. Stages run cumulatively: the float32 screen alone (one loop
    over each block), then the fill of its cells in a second loop (screen and fill one after the
    other), then the screened kernel itself (the two interleaved, float64 again near the edges),
    and the float64 kernel alone. Best of ``samples`` samples of ``rounds`` passes each, the
    stages taking turns."""
    import numba

    from monitoring.histograms import numba_kernels as nk
    from monitoring.histograms import screened

    def screen_only_py(p1x, p1y, p1z, p2x, p2y, p2z, c, rounds):
        cells = np.empty(nk.BLOCK, np.int32)
        total = 0
        for _ in range(rounds):
            for s in range(0, p1x.shape[0], nk.BLOCK):
                e = min(p1x.shape[0], s + nk.BLOCK)
                nk._screen_slice(p1x[s:e], p1y[s:e], p1z[s:e], p2x[s:e], p2y[s:e], p2z[s:e], c, 0, cells)
                total += cells[0]
        return total

    def screen_fill_py(p1x, p1y, p1z, p2x, p2y, p2z, c, rounds, hist):
        cells = np.empty(nk.BLOCK, np.int32)
        for _ in range(rounds):
            for s in range(0, p1x.shape[0], nk.BLOCK):
                e = min(p1x.shape[0], s + nk.BLOCK)
                nk._screen_slice(p1x[s:e], p1y[s:e], p1z[s:e], p2x[s:e], p2y[s:e], p2z[s:e], c, 0, cells)
                for j in range(e - s):
                    hist[np.uint64(cells[j] + (j & (nk.LANES - 1)))] += 1  # cells are cell * LANES

    screen_only: Any = numba.njit(cache=False)(screen_only_py)
    screen_fill: Any = numba.njit(cache=False)(screen_fill_py)
    small = [np.ascontiguousarray(c[:events]) for c in p]
    c = screened.constants(AXIS, BEAM)
    b = np.array([BEAM.energy, BEAM.px, BEAM.py, BEAM.pz])
    m2 = MUON_MASS**2
    hist = np.zeros((AXIS.bins + 3) * nk.LANES, np.int64)  # bin-major, as the screened kernel's
    flat = np.zeros((nk.LANES, AXIS.bins), np.int64)
    span = AXIS.hi - AXIS.lo
    column_sum = plain_sum_kernel()
    block_screened: Any = nk._block_screened
    block_pair: Any = nk._block_pair
    stages: dict[str, Callable[[], object]] = {
        "read_same_bytes": lambda: [column_sum(*small) for _ in range(rounds)],
        "float32_screen": lambda: screen_only(*small, c, rounds),
        "screen_and_fill": lambda: screen_fill(*small, c, rounds, hist),
        "screened_kernel": lambda: [
            block_screened(*small, c, b, m2, 0, AXIS.lo, span, AXIS.bins, 0, events, hist)
            for _ in range(rounds)
        ],
        "float64_kernel": lambda: [
            block_pair(*small, b, m2, 0, AXIS.lo, span, AXIS.bins, 0.0, 1.0, 1, 0, events, flat)
            for _ in range(rounds)
        ],
    }
    best = dict.fromkeys(stages, float("inf"))
    for fn in stages.values():
        fn()  # compile
    for _ in range(samples):  # many short samples, the stages in turn: the best are the clean ones
        for name, fn in stages.items():
            start = time.thread_time()
            fn()
            best[name] = min(best[name], time.thread_time() - start)
    return {f"{name}_ns_per_event_in_cache": t / (events * rounds) * 1e9 for name, t in best.items()}


def vector_awkward(p: list[np.ndarray]) -> np.ndarray:
    import awkward as ak
    import vector

    vector.register_awkward()
    mass = np.full(len(p[0]), MUON_MASS, dtype=np.float32)
    mu1 = ak.zip({"px": p[0], "py": p[1], "pz": p[2], "mass": mass}, with_name="Momentum4D")
    mu2 = ak.zip({"px": p[3], "py": p[4], "pz": p[5], "mass": mass}, with_name="Momentum4D")
    beam = vector.obj(px=BEAM.px, py=BEAM.py, pz=BEAM.pz, E=BEAM.energy)
    return np.histogram(ak.to_numpy((beam - mu1 - mu2).mass2), bins=AXIS.edges)[0]


def dask_files(n: int, rounds: int, step: int = 25_000) -> dict[str, object]:
    """Dask over ROOT ntuples: 1 worker vs 2 local workers on the same files, with baskets of
    ``step`` events that the backend groups into tasks of its own size (~100k events).

    Both clusters run side by side, warmed on every file (imports, open files, page cache);
    then each round times one fill on 1 worker and one on 2, so a round's two runs share the
    machine's load. Besides wall rates, the CPU seconds of the workers: CPU per event equal for
    1 and 2 workers means no overhead grows with the workers, whatever the load left them."""
    import psutil

    from events import rootio
    from monitoring.histograms.dask_backend import DaskBackend
    from monitoring.histograms.definitions import by_name

    definition = by_name("recoil_mass2_theta")
    rng = np.random.default_rng(2)
    n_files, per_file = 4, max(step, n // 4)
    events = n_files * per_file
    out: dict[str, object] = {"files": n_files, "events": events, "basket_events": step, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k in range(n_files):
            path = Path(tmp) / f"pairs_{k}.root"
            batches = (
                samples.muon_pair_events(rng.uniform(0.5, 9.5, c), c, rng, first_event=i)
                for i in range(0, per_file, step)
                for c in [min(step, per_file - i)]
            )
            rootio.write(path, batches)  # one basket per branch and batch
            paths.append(path)
        backends = {w: DaskBackend(n_workers=w) for w in (1, 2)}
        workers = {}
        try:
            for w, backend in backends.items():
                backend.fill_files(paths, [definition])  # warm: imports, open files, page cache
                pids = backend.client.run(os.getpid).values()
                workers[w] = [psutil.Process(pid) for pid in pids]
            runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
            reference = None
            for _ in range(rounds):
                for w, backend in backends.items():
                    cpu0 = sum(sum(p.cpu_times()[:2]) for p in workers[w])
                    start = time.perf_counter()
                    counts = backend.fill_files(paths, [definition])[definition.name]
                    wall = time.perf_counter() - start
                    cpu = sum(sum(p.cpu_times()[:2]) for p in workers[w]) - cpu0
                    runs[w].append((wall, cpu))
                    reference = counts if reference is None else reference
                    assert np.array_equal(counts, reference)
        finally:
            for backend in backends.values():
                backend.close()
    for w, timings in runs.items():
        rates = sorted(events / wall for wall, _ in timings)
        out[f"{w}_workers"] = {
            "events_per_s_best": rates[-1],
            "events_per_s_median": float(np.median(rates)),
            "events_per_s_worst": rates[0],
            "worker_cpu_us_per_event_median": float(np.median([cpu for _, cpu in timings])) / events * 1e6,
        }
    speedups = sorted(w1 / w2 for (w1, _), (w2, _) in zip(runs[1], runs[2], strict=True))
    out["speedup_2_vs_1"] = {
        "per_round": [round(x, 2) for x in speedups],
        "median": float(np.median(speedups)),
        "best_vs_best": out["2_workers"]["events_per_s_best"] / out["1_workers"]["events_per_s_best"],  # type: ignore[index]
    }
    out["load_avg_after"] = os.getloadavg()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dask-events", type=int, default=1_000_000)
    parser.add_argument("--dask-rounds", type=int, default=5)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--limit-rounds",
        type=int,
        default=15,
        help="alternating rounds of the read limit and the fused kernel, one pass each (best of each)",
    )
    parser.add_argument("--quick", action="store_true", help="2M events, one small dask round (< 30 s)")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeat, args.dask_events, args.dask_rounds = 2_000_000, 2, 100_000, 1

    n = args.events
    p = make_events(n)
    results: dict[str, dict[str, float]] = {}
    reference = None

    def record(name: str, fn: Callable[[], object], cores: int, events: int = n, repeat: int = 0) -> None:
        nonlocal reference
        seconds, counts, cpu = best_time(fn, repeat or args.repeat)
        if name in results:  # another round: keep the best
            seconds = min(seconds, results[name]["seconds"])
            cpu = min(cpu, events / results[name]["per_cpu_second"])
        results[name] = {
            "seconds": seconds,
            "events_per_s": events / seconds,
            "per_core": events / seconds / cores,
            # events per CPU-second of this process: a per-core speed even when other work shares the cores
            "per_cpu_second": events / cpu,
        }
        if events == n:
            c = np.asarray(counts)
            if reference is None:
                reference = c
            results[name]["same_counts_as_first"] = float(np.array_equal(c, reference))

    column_sum = plain_sum_kernel()
    column_sum(*[c[:1000] for c in p])  # JIT
    numba1, numba2 = NumbaBackend(threads=1), NumbaBackend(threads=2)
    numba2.histogram("recoil_mass2", [c[:1000] for c in p], (AXIS,))  # JIT or cache load
    # the read limit and the fused kernel in alternating rounds, best of each: both see the same load
    read_best, read_cpu = float("inf"), float("inf")
    # many short rounds: on a shared machine the best of each is more likely to be a pass that
    # nothing else interrupted (each pass is 3 ms at 2M events, 15 ms at 10M)
    for _ in range(max(3, args.limit_rounds)):
        seconds, _, cpu = best_time(lambda: column_sum(*p), 1)
        read_best, read_cpu = min(read_best, seconds), min(read_cpu, cpu)
        record("numba_fused_1_thread", lambda: numba1.histogram("recoil_mass2", p, (AXIS,)), 1, repeat=1)
    read_limit = {
        "seconds": read_best,
        "events_per_s": n / read_best,
        "per_core": n / read_best,
        "per_cpu_second": n / read_cpu,
    }
    read_limit["bytes_per_s"] = read_limit["events_per_s"] * 24
    record("numba_fused_2_threads", lambda: numba2.histogram("recoil_mass2", p, (AXIS,)), 2)
    float64_fused = NumbaBackend(threads=1, screen=False)
    record(
        "numba_fused_1_thread_float64_only", lambda: float64_fused.histogram("recoil_mass2", p, (AXIS,)), 1
    )
    for chunk in (4_096, 16_384, 65_536, 262_144):
        backend = NumpyBackend(chunk_size=chunk)

        def run(b: NumpyBackend = backend) -> object:
            return b.histogram("recoil_mass2", p, (AXIS,))

        record(f"numpy_chunked_{chunk}", run, 1)
    float64_only = NumpyBackend(screen=False)
    record("numpy_chunked_65536_float64_only", lambda: float64_only.histogram("recoil_mass2", p, (AXIS,)), 1)
    record("numpy_plain_np_histogram", lambda: numpy_plain(p), 1)
    n_vec = min(n // 2, 2_000_000)  # a subset, as in the full run: the same keys in --quick
    record("vector_awkward", lambda: vector_awkward([c[:n_vec] for c in p]), 1, events=n_vec)
    report: dict[str, object] = {
        "benchmark": "recoil_throughput",
        "events": n,
        "bins": AXIS.bins,
        "bytes_per_event": 24,
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()},
        "methods": results,
        "read_limit_plain_numba_sum": read_limit,
        "fused_profile": fused_profile(p),
    }
    if not args.no_dask:
        report["dask_root_files"] = dask_files(args.dask_events, args.dask_rounds)
    plain = results["numpy_plain_np_histogram"]["events_per_s"]
    best_chunked = max(v["events_per_s"] for k, v in results.items() if k.startswith("numpy_chunked_"))
    report["ratios"] = {
        "read_limit_fraction": {
            "value": results["numba_fused_1_thread"]["events_per_s"] / read_limit["events_per_s"],
            "goal": 0.8,
            "against": "a plain numba sum over the same 24 B/event on one thread (the core's read limit)",
        },
        "read_limit_fraction_cpu_time": {
            "value": results["numba_fused_1_thread"]["per_cpu_second"] / read_limit["per_cpu_second"],
            "goal": 0.8,
            "against": "the same, by the best CPU time of each (steadier when other work shares the core)",
        },
        "numpy_chunked_vs_np_histogram": {
            "value": best_chunked / plain,
            "goal": 4.0,
            "against": "the plain numpy expression + np.histogram, best chunk size",
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
