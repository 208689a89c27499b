"""Event I/O rates, printed as JSON.

* mdst: our reader (uproot read + conversion to EventBatch, V0 vertexing included) side by side
  with one plain ``tree.arrays()`` call for the same branches (awkward and numpy), for chunks of
  1 event (the per-chunk fixed cost) and of the whole sample, giving the per-event cost from the
  difference. "cold" opens the file without uproot's array cache, so every read decompresses and
  interprets its baskets (a file read once); "warm" repeats the same read through the cache (what
  is left is per-call overhead). The conversion alone is also timed on a chunk made by
  replicating the sample (``--events``), for its per-event cost, and its V0 vertexing apart.
* HDF5 and ROOT ntuple: write and read rates of a larger batch made by replicating the sample's
  events, file sizes, the median, mean and 90th percentile of reading one event at random (a new
  event each time, ours alternating with the plain library read of another: misses of our caches
  included), and of stepping to the next event. The ntuple is written as ``rootio.write`` does it
  (baskets of ``rootio.BASKET_EVENTS`` events) and, for the figures of ntuples written before,
  also in one basket per 5000-event batch (``root_large_baskets``).
  ``ratios``: one random event (the mean) against 5 ms, and (the median) against the plain read.

Usage: ``python benchmarks/io_rates.py [--quick] [--events 20000] [--picks 50] [--mdst PATH]``.
``--quick`` (6000 events, 12 picks) only proves it runs. Figures on a shared machine are noisy:
mdst timings alternate the readers round by round and give the best and the median of the
rounds; the other figures are the best of 3.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from events import hdf5, io, mdst, rootio, vertexing  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "mdst-v06-00-00.root"


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def rounds(fns: Mapping[str, Callable[[], object]], repeats: int, loops: int) -> dict[str, list[float]]:
    """Milliseconds per call of each function, alternating them round by round (load hits all alike)."""
    ms: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            ms[name].append((time.perf_counter() - t0) / loops * 1e3)
    return ms


def spread(ms: list[float]) -> dict[str, float]:
    return {"best": round(min(ms), 2), "median": round(statistics.median(ms), 2)}


def mdst_reads(path: Path, repeats: int, array_cache: str | None) -> dict[str, Any]:
    """Ours vs one plain ``tree.arrays`` call of the same branches, for chunks of 1 and of all events."""
    tree = uproot.open(path, array_cache=array_cache)[mdst.TREE]
    source = mdst.MdstSource(path, tree=tree)
    keys, n = source.keys, len(source)
    sizes = (1, n)
    readers: dict[str, Callable[[int], object]] = {
        "ours": lambda k: source.read(0, k),
        "plain_ak": lambda k: tree.arrays(keys, entry_stop=k, library="ak", how=dict),
        "plain_np": lambda k: tree.arrays(keys, entry_stop=k, library="np", how=dict),
    }
    fns = {f"{name}/{k}": (lambda f=f, k=k: f(k)) for name, f in readers.items() for k in sizes}
    ms = rounds(fns, repeats, loops=10)
    out: dict[str, Any] = {}
    for name in readers:
        one, all_ = ms[f"{name}/1"], ms[f"{name}/{n}"]
        out[name] = {
            "chunk_1_ms": spread(one),
            f"chunk_{n}_ms": spread(all_),
            "per_event_ms": round((min(all_) - min(one)) / (n - 1), 3),
            f"events_per_s_chunk_{n}": round(n / min(all_) * 1e3),
        }
    for plain in ("plain_ak", "plain_np"):
        out[f"ours_over_{plain}"] = {
            f"chunk_{k}": round(min(ms[f"ours/{k}"]) / min(ms[f"{plain}/{k}"]), 2) for k in sizes
        }
    return out


def mdst_conversion(path: Path, n_events: int, repeats: int) -> dict[str, Any]:
    """The conversion alone (uproot arrays -> EventBatch): on the sample, per event, and its vertexing."""
    source = mdst.MdstSource(path)
    arrays = source.tree.arrays(source.keys, library="ak", how=dict)
    n = len(source)
    copies = max(1, n_events // n)
    big = {key: ak.concatenate([a] * copies) for key, a in arrays.items()}
    c = mdst.Chunk(arrays, n)
    fits = mdst.offsets_of(c.counts("tau"))[np.repeat(np.arange(n), c.counts("v0_tpos"))]
    tau = c.flat("tau")
    h1, h2 = tau[fits + c.flat("v0_fpos", np.int64)], tau[fits + c.flat("v0_fneg", np.int64)]

    def convert(a: dict[str, ak.Array], k: int) -> object:
        return mdst.build_batch(mdst.Chunk(a, k), mdst.BZ, 0, "", source.missing)

    ms = rounds(
        {"sample": lambda: convert(arrays, n), "vertexing": lambda: vertexing.closest_approach(h1, h2)},
        repeats,
        loops=10,
    )
    large = rounds({"large": lambda: convert(big, n * copies)}, min(repeats, 3), loops=1)["large"]
    return {
        f"chunk_{n}_ms": spread(ms["sample"]),
        f"of_which_v0_vertexing_{len(h1)}_v0s_ms": spread(ms["vertexing"]),
        f"chunk_{n * copies}_ms": spread(large),
        "per_event_us": round(min(large) / (n * copies) * 1e3, 1),
    }


PLAIN = {
    "hdf5": "plain h5py: every column of the event's rows read by its path in one open file",
    "root": "plain uproot: tree.arrays(entry_start=i, entry_stop=i + 1) of every branch, awkward arrays",
}


def random_event_ms(src: Any, path: Path, kind: str, picks: int) -> dict[str, float]:
    """Median ms to read one event at random, ours and the plain library way, alternating, and our
    mean and 90th percentile (cache misses included), and our mean in CPU ms (what the read costs
    whatever else the shared machine runs); every pick is a new event."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(src))[: 2 * picks]
    ours, plain, cpu = [], [], []
    if kind == "hdf5":
        import h5py

        handle = h5py.File(path, "r")

        def plain_read(i: int) -> None:
            for group in handle:
                g = handle[group]
                if "offsets" in g:
                    lo, hi = g["offsets"][i : i + 2]
                    for column in g:
                        if column != "offsets":
                            g[column][lo:hi]
                else:
                    for column in g:
                        g[column][i : i + 1]
    else:
        tree = uproot.open(path)[rootio.TREE]

        def plain_read(i: int) -> None:
            tree.arrays(entry_start=i, entry_stop=i + 1)

    for k in range(picks):
        a, b = int(order[2 * k]), int(order[2 * k + 1])
        t, c = time.perf_counter(), time.process_time()
        src.event(a)
        ours.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
        t = time.perf_counter()
        plain_read(b)
        plain.append((time.perf_counter() - t) * 1e3)
    return {
        "one_event_ms": statistics.median(ours),
        "one_event_mean_ms": statistics.fmean(ours),
        "one_event_p90_ms": float(np.percentile(ours, 90)),
        "one_event_cpu_mean_ms": statistics.fmean(cpu),
        "plain_one_event_ms": statistics.median(plain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the synthetic batch")
    parser.add_argument("--mdst", type=Path, default=SAMPLE)
    parser.add_argument("--repeats", type=int, default=7, help="rounds of the mdst timings")
    parser.add_argument("--mdst-only", action="store_true", help="skip the HDF5 and ROOT ntuple figures")
    parser.add_argument("--picks", type=int, default=50, help="events read at random from each store")
    parser.add_argument("--quick", action="store_true", help="fewer events and rounds (under 30 s)")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeats = min(args.events, 6000), min(args.repeats, 2)
        args.picks = min(args.picks, 12)

    source = mdst.MdstSource(args.mdst)
    sample = source.read()
    replicate = np.arange(args.events) % len(sample)
    big = sample.take(replicate)
    out: dict[str, object] = {
        "mdst": {
            "file": str(args.mdst),
            "events": len(source),
            "branches": len(source.keys),
            "cold": mdst_reads(args.mdst, args.repeats, array_cache=None),
            "warm": mdst_reads(args.mdst, args.repeats, array_cache="100 MB"),
            "conversion": mdst_conversion(args.mdst, args.events, args.repeats),
        },
        "synthetic": {"events": len(big), "tracks": big.tracks.size, "ecl": big.ecl.size, "mc": big.mc.size},
    }
    if args.mdst_only:
        print(json.dumps(out, indent=1))
        return
    ratios: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        kinds = (("hdf5", ".h5", None), ("root", ".root", None), ("root_large_baskets", ".root", 5000))
        for name, suffix, basket in kinds:
            path = Path(tmp) / f"{name}{suffix}"
            chunks = list(big.chunks(5000))
            if basket is None:
                w = best_of(lambda p=path, c=chunks: io.write(p, c))  # type: ignore[misc]
            else:  # one basket per 5000-event batch, as ntuples were written before
                w = best_of(lambda p=path, c=chunks, b=basket: rootio.write(p, c, basket_events=b))  # type: ignore[misc]
            r = best_of(lambda p=path: io.load(p))  # type: ignore[misc]
            src = io.open_events(path)
            picked = random_event_ms(src, path, name.split("_")[0], args.picks)
            one, plain, mean = (
                picked["one_event_ms"],
                picked["plain_one_event_ms"],
                picked["one_event_mean_ms"],
            )
            start = len(big) // 3
            stepping = best_of(lambda s=src, a=start: [s.event(a + k) for k in range(50)], repeats=1) / 50  # type: ignore[misc]
            out[name] = {
                "write_events_per_s": round(len(big) / w),
                "read_events_per_s": round(len(big) / r),
                "file_MB": round(path.stat().st_size / 1e6, 2),
                **{key: round(value, 2) for key, value in picked.items()},
                "next_event_ms": round(stepping * 1e3, 3),
            }
            if basket is not None:
                continue  # figures only: the goals are for the files this program writes now
            ratios[f"{name}_one_event_under_5ms"] = {
                "value": round(5.0 / mean, 2),
                "goal": 1.0,
                "against": "5 ms, the mean of one event at random (a new one each time, misses included)",
            }
            ratios[f"{name}_one_event_cpu_under_5ms"] = {
                "value": round(5.0 / picked["one_event_cpu_mean_ms"], 2),
                "goal": 1.0,
                "against": "5 ms, the mean CPU time of the same reads (what a shared machine's load"
                " does not add)",
            }
            ratios[f"{name}_one_event_vs_plain"] = {
                "value": round(plain / one, 2),
                "goal": 1.0,
                "against": PLAIN[name],
            }
    out["ratios"] = ratios
    out["note"] = "2 shared CPU cores; HDF5 gzip-1 + shuffle, ROOT via uproot mktree/extend, LZ4-1"
    out["formats"] = {"hdf5": hdf5.FORMAT, "root_tree_title": rootio.TITLE}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
