"""Event I/O rates, printed as JSON.

* mdst: our reader (uproot read + conversion to EventBatch, V0 vertexing included) side by side
  with a plain ``uproot tree.arrays()`` of the same branches (the raw read alone).
* HDF5 and ROOT ntuple: write and read rates of a larger batch made by replicating the sample's
  events, file sizes, and the latency of reading one event at random.

Usage: ``python benchmarks/io_rates.py [--events 20000] [--mdst PATH]``. Figures on a shared
machine are noisy; each is the best of a few repeats.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import uproot

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from events import hdf5, io, mdst, rootio  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "mdst-v06-00-00.root"


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the synthetic batch")
    parser.add_argument("--mdst", type=Path, default=SAMPLE)
    args = parser.parse_args()

    source = mdst.MdstSource(args.mdst)
    n_mdst = len(source)
    loops = 20
    ours = best_of(lambda: [source.read() for _ in range(loops)])
    tree = uproot.open(args.mdst)[mdst.TREE]
    plain = best_of(lambda: [tree.arrays(source.keys, library="ak", how=dict) for _ in range(loops)])
    sample = source.read()

    replicate = np.arange(args.events) % len(sample)
    big = sample.take(replicate)
    out: dict[str, object] = {
        "mdst": {
            "file": str(args.mdst),
            "events": n_mdst,
            "branches": len(source.keys),
            "reader_events_per_s": round(loops * n_mdst / ours),
            "plain_uproot_arrays_events_per_s": round(loops * n_mdst / plain),
            "conversion_overhead": round(ours / plain, 2),
        },
        "synthetic": {"events": len(big), "tracks": big.tracks.size, "ecl": big.ecl.size, "mc": big.mc.size},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, suffix in (("hdf5", ".h5"), ("root", ".root")):
            path = Path(tmp) / f"events{suffix}"
            chunks = list(big.chunks(5000))
            w = best_of(lambda p=path, c=chunks: io.write(p, c))  # type: ignore[misc]
            r = best_of(lambda p=path: io.load(p))  # type: ignore[misc]
            src = io.open_events(path)
            rng = np.random.default_rng(0)
            picks = rng.integers(0, len(big), 50)
            one = best_of(lambda s=src, k=picks: [s.event(int(i)) for i in k], repeats=2) / len(picks)  # type: ignore[misc]
            out[name] = {
                "write_events_per_s": round(len(big) / w),
                "read_events_per_s": round(len(big) / r),
                "file_MB": round(path.stat().st_size / 1e6, 2),
                "one_event_ms": round(one * 1e3, 2),
            }
    out["note"] = "2 shared CPU cores; best of 3; HDF5 gzip-1 + shuffle, ROOT via uproot mktree/extend"
    out["formats"] = {"hdf5": hdf5.FORMAT, "root_tree_title": rootio.TITLE}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
