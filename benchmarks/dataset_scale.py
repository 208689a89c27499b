"""Data at scale: a data set of many files, side by side with a plain per-event loop; prints JSON.

Two data sets are measured in one run:

* **generated**: events of ``events.generator.generate`` written into several files, alternately
  this project's HDF5 store and ROOT ntuple (``events.io.write``). Full: 10^6 events in 20 files;
  ``--quick``: 20 000 events in 8 files. To keep the set-up short, ``--distinct`` events are
  generated and repeated (tiled) to the total; the files are real files of real events either way.
* **mdst**: the shared Belle II mdst sample (``../shared/data/mdst-v06-00-00.root``) copied
  ``--copies`` times into a folder, opened as one data set. Skipped, with a note, where the sample
  is absent.

Per data set: the time to the first event (``open_dataset(folder)`` + ``read(0, 1)``: the lazy
index, against every file opened to count its events as before, alternately), one event at random
(``event(i)``, a new index each time; ours with the data set's defaults, before with at most 3
files open so that misses reopen files, alternately), the summary pass
(``events.summary.summarize``) and the filter pass (``main.py filter``'s own ``Selection``,
``WHERE``) in events/s, the histogram fill of the data set per backend
(``monitoring.histograms.files.fill_dataset``: numpy, numba; dask over the ntuples with
``fill_files``, full mode only unless ``--dask``), and the skim write rate (``events.io.write`` of
the selected events, HDF5 and ntuple, and the HDF5 store appended batch by batch through h5py as
it was written before, alternately).

Per core: events per CPU second of this process (user + system), robust when other work shares
the machine; wall rates are given too. **The plain loop** (the baseline of the ``*_vs_plain_loop``
ratios) reads the same files with h5py / uproot directly, the needed columns in one bulk read per
file (its best case; reading each event on its own is far slower), then goes over the events one
at a time in Python: the event's tracks and clusters sliced out, the number of tracks and clusters,
the best mu+ mu- pair by ``events.pid.muon_probability``, its recoil mass and the hardest photon's
E* by ``events.helix`` / ``events.kinematics``, the L1 count by ``events.trigger``; its figures
are checked equal to the summary's. It runs on ``--plain-events`` events (half from an HDF5 file,
half from an ntuple), not the whole set. **Memory**: the filter pass with a skim written, in a
fresh process per data-set size (the first files vs all of them), peak RSS (VmHWM) minus
RSS before the pass; ``memory_flat`` = small growth / large growth (1: flat).

    python benchmarks/dataset_scale.py [--quick] [--events N] [--files K] [--copies N] [--[no-]dask]
"""

from __future__ import annotations

import argparse
import io as text_io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from events import filtering, helix, io, kinematics, pid, rootio, trigger  # noqa: E402
from events.dataset import DataSet, expand, open_dataset  # noqa: E402
from events.filter_cli import Selection  # noqa: E402
from events.model import EventBatch  # noqa: E402
from events.progress import ProgressBar, quiet_readers  # noqa: E402
from events.summary import QUANTITY_COLUMNS, summarize  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "mdst-v06-00-00.root"
WHERE = "recoil_mass > 3 and ntracks == 2"  # docs/datasets.md §4's example of main.py filter
CHUNK = 10_000  # main.py filter / summary's default chunk size
GOAL_PER_CORE = 1e6  # events/s per core
MUON_MASS = kinematics.MASS[13]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall s, CPU s of this process) of one call."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = work()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def rates(events: int, wall: float, cpu: float) -> dict[str, float]:
    return {
        "events": events,
        "seconds": round(wall, 3),
        "events_per_s": round(events / wall),
        "events_per_cpu_s": round(events / max(cpu, 1e-9)),
    }


# --- the data sets --------------------------------------------------------------------------------


def write_generated(folder: Path, total: int, n_files: int, distinct: int, seed: int) -> dict[str, Any]:
    """``n_files`` files of ``total`` events (``distinct`` generated ones, tiled), HDF5 and ntuple
    alternately; the set-up's own figures."""
    from events.generator import generate

    base, gen_wall, _ = timed(lambda: generate(distinct, seed=seed))
    per_file = total // n_files
    paths: list[Path] = []
    start = time.perf_counter()
    for k in range(n_files):
        path = folder / f"run{k:03d}{'.h5' if k % 2 == 0 else '.root'}"
        rows = (np.arange(per_file) + k * per_file) % distinct

        def batches(rows: np.ndarray = rows) -> Iterator[EventBatch]:
            for lo in range(0, len(rows), CHUNK):
                yield base.take(rows[lo : lo + CHUNK])

        io.write(path, batches())
        paths.append(path)
    return {
        "files": [p.name for p in paths],
        "events": per_file * n_files,
        "distinct_events_generated": distinct,
        "generate_events_per_s": round(distinct / gen_wall),
        "write_events_per_s": round(per_file * n_files / (time.perf_counter() - start)),
        "MB": round(sum(p.stat().st_size for p in paths) / 1e6, 1),
    }


def copy_mdst(folder: Path, sample: Path, copies: int) -> dict[str, Any]:
    for k in range(copies):
        shutil.copyfile(sample, folder / f"mdst{k:04d}.root")
    return {"file": str(sample), "copies": copies, "MB": round(copies * sample.stat().st_size / 1e6, 1)}


# --- our passes -----------------------------------------------------------------------------------


def first_event_ms(folder: Path, repeats: int = 3) -> dict[str, float]:
    """Median ms from nothing open to the first event of the data set in hand: ours (the lazy index:
    the first file opened, the others counted from their metadata on a thread of their own) and
    before, alternately (every file opened to count its events, the first kept open, then its event)."""
    ours, before = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        with open_dataset(folder) as data:
            data.read(0, 1)
        ours.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        files = expand(folder)
        first = io.open_events(files[0])
        lengths = [len(first)]
        for path in files[1:]:
            with io.open_events(path) as source:
                lengths.append(len(source))
        first.read(0, 1)
        first.close()
        before.append((time.perf_counter() - start) * 1e3)
    return {
        "ours_ms": round(statistics.median(ours), 1),
        "before_ms": round(statistics.median(before), 1),
        "files": len(expand(folder)),
    }


def random_event_ms(folder: Path, picks: int) -> dict[str, Any]:
    """One event at random, a new index each time, ours (``open_dataset``'s defaults: up to
    ``MAX_OPEN`` files kept open, the 3 most recent with their caches) and before (3 files open:
    a miss beyond them reopens a file), the two data sets read alternately, event by event."""
    with open_dataset(folder) as ours, DataSet(expand(folder), max_open=3) as before:
        order = np.random.default_rng(0).permutation(len(ours))[:picks]
        times: dict[str, list[float]] = {"ours": [], "before": []}
        for i in order.tolist():
            for name, data in (("ours", ours), ("before", before)):
                start = time.perf_counter()
                data.event(i)
                times[name].append((time.perf_counter() - start) * 1e3)
        opened = ours.open_files

    def figures(t: list[float]) -> dict[str, float]:
        return {
            "median_ms": round(statistics.median(t), 2),
            "mean_ms": round(statistics.fmean(t), 2),
            "max_ms": round(max(t), 2),
        }

    return {
        "picks": len(times["ours"]),
        **figures(times["ours"]),
        "before": {"max_open": 3, **figures(times["before"])},
        "files_open_after": opened,
        "note": "before: the former bound of 3 open files (the readers of today)",
    }


def filter_pass(data: DataSet, where: str) -> tuple[int, int]:
    """``main.py filter --json``'s pass (the selection): events passed, events read."""
    selection = Selection(data, filtering.parse(where), CHUNK, ProgressBar(text_io.StringIO()))
    selection.run()
    return selection.passed, selection.total


def filter_events_pass(data: DataSet, where: str) -> tuple[list[EventBatch], int]:
    """``main.py filter -o``'s pass: the selection, and the whole selected events read again."""
    selection = Selection(data, filtering.parse(where), CHUNK, ProgressBar(text_io.StringIO()))
    picked = list(selection.batches())
    return picked, selection.total


def our_passes(folder: Path, where: str, backends: list[str]) -> tuple[dict[str, Any], list[EventBatch], Any]:
    """Summary, filter and histogram passes over the data set of ``folder``; the selected batches
    and the summary table (for the plain loop's check)."""
    from monitoring.histograms.backends import BackendUnavailable, get_backend
    from monitoring.histograms.definitions import STANDARD
    from monitoring.histograms.files import fill_dataset

    out: dict[str, Any] = {}
    with open_dataset(folder) as data:
        n = len(data)
        with open_dataset(data.files[0]) as first:  # the kernels' compiled code loaded outside the timing
            summarize(first, CHUNK)
        table, wall, cpu = timed(lambda: summarize(data, CHUNK))
        out["summary"] = rates(n, wall, cpu)
        _, wall, cpu = timed(lambda: summarize(data, CHUNK))
        out["summary_again"] = {
            **rates(n, wall, cpu),
            "note": "a second pass: each ntuple's basket layout known from the first (no TTree read again)",
        }
        (passed, total), wall, cpu = timed(lambda: filter_pass(data, where))
        out["filter"] = {**rates(total, wall, cpu), "where": where, "passed": passed}
        (picked, total), wall, cpu = timed(lambda: filter_events_pass(data, where))
        out["filter_with_events"] = {
            **rates(total, wall, cpu),
            "passed": sum(map(len, picked)),
            "note": "the selection and its whole events read again (main.py filter -o, before the write)",
        }
        histograms: dict[str, Any] = {}
        for name in backends:
            try:
                backend = get_backend(name)
            except BackendUnavailable as exc:
                histograms[name] = f"not run: {exc}"
                continue
            if name == "numba":  # compile (or load the cache) outside the timing
                with open_dataset(data.files[0]) as first:
                    fill_dataset(backend, first, STANDARD, chunk_size=CHUNK)
            counts, wall, cpu = timed(partial(fill_dataset, backend, data, STANDARD, chunk_size=CHUNK))
            histograms[name] = {
                **rates(n, wall, cpu),
                "entries": {k: int(v.sum()) for k, v in counts.counts.items()},
            }
            backend.close()
        out["histogram_fill"] = histograms
    return out, picked, table


def before_h5_write(path: Path, batches: list[EventBatch]) -> int:
    """The HDF5 skim as it was written before: each batch appended to every dataset through h5py
    (resize, write, flush), so the last chunk of a dataset was read back, inflated, merged and
    deflated again at every batch. The same layout and compression as ``events.hdf5``."""
    import h5py

    from events import hdf5
    from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION

    def create(group: Any, name: str, spec: Any, chunk: int) -> None:
        dtype, shape, _ = spec
        group.create_dataset(
            name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(chunk, *shape),
            **hdf5.COMPRESSION,
        )  # fmt: skip

    def append(ds: Any, values: np.ndarray, at: int) -> None:
        ds.resize(at + len(values), axis=0)
        if len(values):
            ds[at:] = values

    with h5py.File(path, "w") as f:
        f.attrs.update(format=hdf5.FORMAT, SCHEMA_VERSION=SCHEMA_VERSION, n_events=0)
        head = f.create_group("header")
        for name, spec in HEADER.items():
            create(head, name, spec, hdf5.HEADER_CHUNK)
        for coll, columns in COLLECTIONS.items():
            g = f.create_group(coll)
            g.create_dataset(
                "offsets", data=np.zeros(1, np.int64), maxshape=(None,), chunks=(hdf5.HEADER_CHUNK,),
                **hdf5.COMPRESSION,
            )  # fmt: skip
            for name, spec in columns.items():
                create(g, name, spec, hdf5.ROW_CHUNK)
        n = 0
        for batch in batches:
            for name in HEADER:
                append(f["header"][name], batch.header[name], n)
            for coll, c in batch.collections().items():
                g = f[coll]
                total = int(g["offsets"][n])
                append(g["offsets"], c.offsets[1:] + total, n + 1)
                for name in COLLECTIONS[coll]:
                    append(g[name], c.columns[name], total)
            n += len(batch)
            f.attrs["n_events"] = n
            f.flush()
    return n


def same_bits(a: EventBatch, b: EventBatch) -> bool:
    """Whether two batches hold the same events bit for bit (every column's dtype and bytes)."""

    def same(x: np.ndarray, y: np.ndarray) -> bool:
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()

    if len(a) != len(b) or set(a.header) != set(b.header):
        return False
    if not all(same(a.header[k], b.header[k]) for k in a.header):
        return False
    for name, ca in a.collections().items():
        cb = getattr(b, name)
        if not same(ca.offsets, cb.offsets) or set(ca.columns) != set(cb.columns):
            return False
        if not all(same(ca[k], cb[k]) for k in ca.columns):
            return False
    return True


def skim_writes(folder: Path, picked: list[EventBatch]) -> dict[str, Any]:
    """``events.io.write`` of the selected events, each format, and the HDF5 store as it was written
    before (per-batch h5py appends); the three alternately, best of 3. The written store is checked
    to read back the selected events."""
    n = sum(map(len, picked))
    out: dict[str, Any] = {"events": n, "batches": len(picked)}
    writers = {
        "h5": (folder / "skim.h5", partial(io.write, folder / "skim.h5", picked)),
        "root": (folder / "skim.root", partial(io.write, folder / "skim.root", picked)),
        "h5_before": (folder / "before.h5", partial(before_h5_write, folder / "before.h5", picked)),
    }
    best = dict.fromkeys(writers, float("inf"))
    for _ in range(3):
        for name, (_, write) in writers.items():
            best[name] = min(best[name], timed(write)[1])
    if picked:
        out["h5_reads_back_the_same_events"] = same_bits(
            io.load(folder / "skim.h5"), EventBatch.concat(picked)
        )
    for name, (path, _) in writers.items():
        out[name] = {"events_per_s": round(n / best[name]), "seconds": round(best[name], 4)}
        path.unlink()
    return out


def dask_fill(paths: list[Path]) -> dict[str, Any]:
    """The dask backend (2 local workers) over the ntuples: start-up apart, a warm fill, a timed one."""
    from monitoring.histograms.backends import BackendUnavailable, get_backend
    from monitoring.histograms.definitions import STANDARD
    from monitoring.histograms.files import count_events, fill_files

    try:
        backend = get_backend("dask", n_workers=2)
    except BackendUnavailable as exc:
        return {"not_run": str(exc)}
    from monitoring.histograms.dask_backend import DaskBackend

    assert isinstance(backend, DaskBackend)
    try:
        _, startup, _ = timed(lambda: backend.client)  # the local cluster starts on first use
        fill_files(backend, paths, STANDARD)  # warm: imports, open files
        _, wall, _ = timed(lambda: fill_files(backend, paths, STANDARD))
    finally:
        backend.close()
    n = count_events(paths)
    return {
        "files": len(paths),
        "events": n,
        "cluster_start_s": round(startup, 2),
        "events_per_s": round(n / wall),
        "events_per_s_per_worker": round(n / wall / 2),
    }


# --- the plain loop -------------------------------------------------------------------------------

TRACK_COLUMNS = ("phi0", "omega", "tan_lambda", "charge", "pid_logl")
ECL_COLUMNS = ("energy", "theta", "phi", "hypotheses", "is_track")


def plain_read_h5(path: Path, n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The first ``n`` events' columns with h5py: header arrays, and per collection offsets + rows."""
    import h5py

    with h5py.File(path, "r") as f:
        header = {k: f["header"][k][:n] for k in ("bz", "l1_bits")}
        flat: dict[str, np.ndarray] = {}
        for group, columns in (("tracks", TRACK_COLUMNS), ("ecl", ECL_COLUMNS)):
            offsets = f[group]["offsets"][: n + 1]
            flat[f"{group}/offsets"] = offsets
            for c in columns:
                flat[f"{group}/{c}"] = f[group][c][: offsets[-1]]
    return header, flat


def plain_read_root(path: Path, n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The same with uproot: ``tree.arrays(library="np")`` (per event an array), made flat."""
    import uproot

    tree = uproot.open(path)[rootio.TREE]
    names = {
        f"{g}/{c}": rootio.branch_names(g, c)
        for g, cs in (("tracks", TRACK_COLUMNS), ("ecl", ECL_COLUMNS))
        for c in cs
    }
    wanted = ["bz", "l1_bits", *(b for bs in names.values() for b in bs)]
    arrays = tree.arrays(wanted, entry_stop=n, library="np")
    header = {k: arrays[k] for k in ("bz", "l1_bits")}
    flat: dict[str, np.ndarray] = {}
    for key, branches in names.items():
        per_event = [arrays[b] for b in branches]
        if key.endswith("/phi0") or key.endswith("/energy"):
            counts = np.array([len(e) for e in per_event[0]], dtype=np.int64)
            flat[f"{key.split('/')[0]}/offsets"] = np.concatenate(([0], np.cumsum(counts)))
        joined = [np.concatenate(list(a)) if len(a) else np.zeros(0) for a in per_event]
        flat[key] = joined[0] if len(joined) == 1 else np.stack(joined, axis=-1)
    return header, flat


def plain_event(
    header: dict[str, np.ndarray], flat: dict[str, np.ndarray], i: int, full: bool
) -> list[float]:
    """One event's summary figures (ntracks, recoil_mass; with ``full`` also necl, the ECL energies,
    photon E* and the L1 count), computed from that event's rows alone."""
    bz = float(header["bz"][i])
    lo, hi = flat["tracks/offsets"][i : i + 2]
    charge = flat["tracks/charge"][lo:hi]
    probability = pid.muon_probability(flat["tracks/pid_logl"][lo:hi])
    muon = probability >= pid.MUON_PROBABILITY_MIN
    recoil = np.nan
    plus, minus = muon & (charge > 0), muon & (charge < 0)
    if plus.any() and minus.any():
        picks = [int(np.argmax(np.where(m, probability, -np.inf))) for m in (plus, minus)]
        p3 = helix.momentum(
            flat["tracks/phi0"][lo:hi][picks],
            flat["tracks/omega"][lo:hi][picks],
            flat["tracks/tan_lambda"][lo:hi][picks],
            bz,
        )
        p4 = kinematics.four_vector(p3, MUON_MASS).sum(axis=0)
        recoil = float(kinematics.mass(kinematics.recoil(p4)))
    figures = [float(hi - lo), recoil]
    if not full:
        return figures
    a, b = flat["ecl/offsets"][i : i + 2]
    energy = flat["ecl/energy"][a:b].astype(np.float64)
    photon = (flat["ecl/hypotheses"][a:b] & 16) != 0
    e = energy[photon]
    neutral = photon & ~flat["ecl/is_track"][a:b].astype(bool)
    e_star = np.nan
    if neutral.any():
        k = int(np.argmax(np.where(neutral, energy, -np.inf)))
        theta, phi = float(flat["ecl/theta"][a:b][k]), float(flat["ecl/phi"][a:b][k])
        p3 = energy[k] * np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
        e_star = float(kinematics.cms_energy(kinematics.four_vector(p3, 0.0)))
    nl1 = float(trigger.unpack(header["l1_bits"][i : i + 1]).sum())
    return [
        *figures,
        float(photon.sum()),
        float(e.sum()),
        float(max(e.max(), 0.0)) if len(e) else 0.0,
        e_star,
        nl1,
    ]


PLAIN_ORDER = (
    "ntracks",
    "recoil_mass",
    "necl",
    "total_ecl_energy",
    "max_ecl_energy",
    "photon_cms_energy",
    "nl1",
)


def plain_loop(
    data_files: list[Path], offsets: np.ndarray, n_events: int, table: Any, where: str
) -> dict[str, Any]:
    """The plain loop's summary and filter rates on the first ``n_events // 2`` events of the first
    HDF5 store and of the first ntuple, checked against our summary table."""
    flt = filtering.parse(where)
    out: dict[str, Any] = {}
    for full in (True, False):
        events = 0
        wall = cpu = 0.0
        agree = True
        selected = 0
        for reader, suffix in ((plain_read_h5, ".h5"), (plain_read_root, ".root")):
            k = next(j for j, p in enumerate(data_files) if p.suffix == suffix)
            n = min(n_events // 2, int(offsets[k + 1] - offsets[k]))

            def work(
                reader: Any = reader, path: Path = data_files[k], n: int = n, full: bool = full
            ) -> list[list[float]]:
                header, flat = reader(path, n)
                rows = [plain_event(header, flat, i, full) for i in range(n)]
                if not full:  # the filter: WHERE on the figures of each event
                    rows = [r for r in rows if r[0] == 2 and r[1] > 3]
                return rows

            rows, w, c = timed(work)
            events, wall, cpu = events + n, wall + w, cpu + c
            index = np.arange(int(offsets[k]), int(offsets[k]) + n)
            if full:
                got = np.asarray(rows, dtype=np.float64)
                ours = np.stack([table.columns[name][index] for name in PLAIN_ORDER], axis=1)
                agree &= bool(np.allclose(got, ours, rtol=1e-9, atol=1e-9, equal_nan=True))
            else:
                ours_mask = flt.on_columns(table.columns, table.columns["l1_bits"])[index]
                agree &= len(rows) == int(ours_mask.sum())
                selected += len(rows)
        key = "summary" if full else "filter"
        out[key] = {**rates(events, wall, cpu), "same_as_ours": agree}
        if not full:
            out[key]["passed"] = selected
    out["columns"] = list(PLAIN_ORDER)
    assert set(PLAIN_ORDER) == set(QUANTITY_COLUMNS)
    return out


# --- memory, in a fresh process per data-set size -------------------------------------------------


def peak_rss() -> int:
    """Peak resident bytes of this process: VmHWM (reset by exec, unlike ``ru_maxrss``, which a child
    inherits from the process that started it), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def memory_child(files: list[str], where: str) -> None:
    """The filter pass with a skim written, over ``files``: RSS before, peak, growth (MB)."""
    import psutil

    with quiet_readers(), open_dataset(files) as data:
        before = psutil.Process().memory_info().rss
        flt = filtering.parse(where)
        with tempfile.TemporaryDirectory() as tmp:
            selection = Selection(data, flt, CHUNK, ProgressBar(text_io.StringIO()))
            io.write(Path(tmp) / "skim.h5", selection.batches())
        peak = peak_rss()
        n = len(data)
    mb = 1024 * 1024
    print(
        json.dumps(
            {
                "events": n,
                "rss_before_MB": round(before / mb, 1),
                "peak_MB": round(peak / mb, 1),
                "growth_MB": round((peak - before) / mb, 1),
            }
        )
    )


def memory(files: list[Path], small_files: int) -> dict[str, Any]:
    """The two processes run side by side (each measures its own peak)."""
    out: dict[str, Any] = {}
    children = {}
    for label, chosen in (("small", files[:small_files]), ("large", files)):
        command = [sys.executable, __file__, "--memory-child", *map(str, chosen)]
        children[label] = (len(chosen), subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        ))  # fmt: skip
    for label, (n_files, child) in children.items():
        stdout, stderr = child.communicate(timeout=900)
        if child.returncode != 0:
            raise RuntimeError(f"memory pass over {n_files} files failed: {stderr.strip()[-300:]}")
        out[label] = {"files": n_files, **json.loads(stdout)}
    return out


# --- main -----------------------------------------------------------------------------------------


def stage(text: str) -> None:
    """What the benchmark is doing now, on stderr (stdout is the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')} cpu {cpu_seconds():.1f} s] {text}", file=sys.stderr, flush=True)


def generated(args: argparse.Namespace, tmp: Path, backends: list[str]) -> dict[str, Any]:
    folder = tmp / "generated"
    folder.mkdir()
    stage(f"generating {args.distinct} events, writing {args.events} in {args.files} files")
    out: dict[str, Any] = {"set_up": write_generated(folder, args.events, args.files, args.distinct, seed=1)}
    files = sorted(p for p in folder.iterdir())
    with quiet_readers():
        stage("first event, random access")
        out["first_event"] = first_event_ms(folder, args.repeats)
        out["random_event"] = random_event_ms(folder, args.picks)
        stage("summary, filter, histogram passes")
        passes, picked, table = our_passes(folder, WHERE, backends)
        out.update(passes)
        stage("skim writes")
        out["skim_write"] = skim_writes(tmp, picked)
        stage("plain loop")
        with open_dataset(folder) as data:
            out["plain_loop"] = plain_loop(
                [Path(f) for f in data.files], data.offsets, args.plain_events, table, WHERE
            )
        if args.dask:
            stage("dask fill")
            out["histogram_fill"]["dask_ntuples"] = dask_fill([f for f in files if f.suffix == ".root"])
        else:
            out["histogram_fill"]["dask_ntuples"] = "not run (--quick; --dask to run it)"
    stage("memory, a process per data-set size")
    out["memory"] = memory(files, args.small_files)
    return out


def mdst_part(args: argparse.Namespace, tmp: Path, backends: list[str]) -> dict[str, Any]:
    folder = tmp / "mdst"
    folder.mkdir()
    stage(f"mdst: {args.copies} copies of the sample")
    out: dict[str, Any] = {"set_up": copy_mdst(folder, args.mdst, args.copies)}
    with quiet_readers():
        stage("mdst: first event, random access")
        out["first_event"] = first_event_ms(folder, args.repeats)
        out["random_event"] = random_event_ms(folder, args.picks)
        stage("mdst: passes")
        passes, picked, _ = our_passes(folder, args.mdst_where, backends)
        out.update(passes)
        out["skim_write"] = skim_writes(tmp, picked) if picked else "nothing selected"
    out["note"] = "no plain loop here: the mdst branches need the mdst reader's conversion"
    return out


def ratios(gen: dict[str, Any], mdst: dict[str, Any] | str) -> dict[str, dict[str, object]]:
    plain = gen["plain_loop"]
    summary, filt = gen["summary"]["events_per_cpu_s"], gen["filter"]["events_per_cpu_s"]
    both = [gen, mdst] if isinstance(mdst, dict) else [gen]
    first = max(part["first_event"]["ours_ms"] for part in both)
    worst = max(part["random_event"]["max_ms"] for part in both)
    growth = gen["memory"]["small"]["growth_MB"], gen["memory"]["large"]["growth_MB"]
    small, large = gen["memory"]["small"]["events"], gen["memory"]["large"]["events"]
    loop = "a plain per-event Python loop over the same files (h5py / uproot bulk read, then per event "
    return {
        "summary_vs_plain_loop": {
            "value": round(summary / plain["summary"]["events_per_cpu_s"], 1),
            "goal": 10.0,
            "against": loop + "the summary's 7 figures by events.kinematics / helix / pid), per CPU second",
        },
        "filter_vs_plain_loop": {
            "value": round(filt / plain["filter"]["events_per_cpu_s"], 1),
            "goal": 10.0,
            "against": loop + f"ntracks and the recoil mass, then {WHERE!r}), per CPU second",
        },
        "summary_events_per_s_per_core": {
            "value": round(summary / GOAL_PER_CORE, 3),
            "goal": 1.0,
            "against": "1 M events/s per core (summarize over the generated data set, per CPU second)",
        },
        "filter_events_per_s_per_core": {
            "value": round(filt / GOAL_PER_CORE, 3),
            "goal": 1.0,
            "against": f"1 M events/s per core (main.py filter's selection {WHERE!r} over the generated "
            "data set, per CPU second)",
        },
        "first_event_under_1s": {
            "value": round(1000.0 / max(first, 1e-3), 2),
            "goal": 1.0,
            "against": "1 s, from nothing open to the first event (open_dataset(folder) + read(0, 1)), the "
            "slower data set",
        },
        "random_event_under_50ms": {
            "value": round(50.0 / max(worst, 1e-3), 2),
            "goal": 1.0,
            "against": "50 ms, the slowest of the events read at random (a new index each time), "
            "either data set",
        },
        "random_event_under_5ms": {
            "value": round(5.0 / gen["random_event"]["median_ms"], 2),
            "goal": 1.0,
            "against": "5 ms, the median of one event at random of the data set (as io_rates.py)",
        },
        "skim_h5_vs_ntuple": {
            "value": round(
                gen["skim_write"]["h5"]["events_per_s"] / gen["skim_write"]["root"]["events_per_s"], 2
            ),
            "goal": 1.0,
            "against": "the skim of the selected events written as our ROOT ntuple (events.io.write), "
            "events/s",
        },
        "skim_h5_vs_before": {
            "value": round(
                gen["skim_write"]["h5"]["events_per_s"] / gen["skim_write"]["h5_before"]["events_per_s"], 2
            ),
            "goal": 1.0,
            "against": "the same HDF5 store written as before (per-batch h5py appends, each flushed), "
            "events/s",
        },
        "memory_flat": {
            "value": round(max(growth[0], 0.1) / max(growth[1], 0.1), 2),
            "goal": 0.9,
            "against": f"peak RSS growth of the filter pass over {small} events / over {large} events "
            "(1: flat; met within 10 %)",
        },
    }


# --quick: at most these (smaller --events, --files, ... given with --quick are kept)
QUICK = {
    "events": 20_000,
    "files": 8,
    "distinct": 5000,
    "plain_events": 2000,
    "picks": 20,
    "copies": 3,
    "repeats": 1,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="at most 20 000 events in 8 files, 3 mdst copies, no dask (under 30 s)",
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events of the generated data set")
    parser.add_argument("--files", type=int, default=20, help="files of the generated data set")
    parser.add_argument("--distinct", type=int, default=200_000, help="events generated (tiled to --events)")
    parser.add_argument("--small-files", type=int, default=4, help="files of the small data set (memory)")
    parser.add_argument("--plain-events", type=int, default=20_000, help="events of the plain loop")
    parser.add_argument("--picks", type=int, default=50, help="events read at random")
    parser.add_argument("--repeats", type=int, default=3, help="times to the first event (the median)")
    parser.add_argument("--mdst", type=Path, default=SAMPLE)
    parser.add_argument("--copies", type=int, default=50, help="copies of the mdst sample (10 events each)")
    parser.add_argument(
        "--mdst-where", default=WHERE, help=f"the filter expression on mdst (default {WHERE!r})"
    )
    parser.add_argument("--dask", action=argparse.BooleanOptionalAction, default=None, help="the dask fill")
    parser.add_argument("--memory-child", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, WHERE)
        return
    if args.quick:
        for name, most in QUICK.items():
            setattr(args, name, min(getattr(args, name), most))
    if args.dask is None:
        args.dask = not args.quick
    backends = ["numpy", "numba"]
    report: dict[str, Any] = {
        "benchmark": "dataset_scale",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_before": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
            "note": "shared machine: compare within one run",
        },
    }
    with tempfile.TemporaryDirectory(prefix="dataset_scale_") as name:
        tmp = Path(name)
        report["generated"] = generated(args, tmp, backends)
        if args.mdst.is_file():
            report["mdst"] = mdst_part(args, tmp, backends)
        else:
            report["mdst"] = f"skipped: {args.mdst} is absent"
    report["machine"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    stage("done")
    report["ratios"] = ratios(report["generated"], report["mdst"])
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
