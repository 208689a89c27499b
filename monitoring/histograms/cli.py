"""``main.py histogram FILES... -o OUT.root``: recoil-mass histograms over event files.

Reads our HDF5 and ROOT files and Belle II mdst through ``events.io``, fills the standard
dark-sector histograms (``definitions.STANDARD``) with the chosen backend, shows a progress bar
on stderr and writes TH1D/TH2D histograms with uproot.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from events.io import EventFileError
from monitoring.histograms.backends import BACKENDS, BackendUnavailable, default_backend, get_backend
from monitoring.histograms.definitions import STANDARD
from monitoring.histograms.export import write_histograms
from monitoring.histograms.files import fill_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILES", help="event files (.h5, .root, mdst)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="ROOT file to write")
    parser.add_argument(
        "--backend", choices=BACKENDS, default="numba", help="histogram backend (default numba)"
    )
    parser.add_argument(
        "--scheduler", default=None, help="dask scheduler address (default: a local cluster of --workers)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="workers of the local dask cluster (default 2)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=100_000, help="events read per batch (default 100000)"
    )
    parser.add_argument(
        "--histograms",
        nargs="+",
        choices=[d.name for d in STANDARD],
        default=[d.name for d in STANDARD],
        help="which histograms to fill (default: all)",
    )


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int, unit: str) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        fraction = done / total if total else 1.0
        filled = int(self.width * fraction)
        self.drawn = True
        rate = done / max(now - self.start, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {100 * fraction:5.1f}% "
            f"{done}/{total} {unit} {rate:,.1f} {unit}/s"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    definitions = [d for d in STANDARD if d.name in args.histograms]
    options: dict[str, object] = {}
    if args.backend == "dask":
        options = {"scheduler": args.scheduler, "n_workers": args.workers}
    try:
        backend = default_backend() if args.backend == "auto" else get_backend(args.backend, **options)
    except BackendUnavailable as exc:
        print(f"histogram: backend {args.backend} cannot run here: {exc}", file=sys.stderr)
        return 2
    bar = ProgressBar()
    try:
        counts = fill_files(backend, args.files, definitions, args.chunk_size, bar)
    except (EventFileError, BackendUnavailable) as exc:
        print(f"{chr(10) if bar.drawn else ''}histogram: {exc}", file=sys.stderr)
        return 2
    finally:
        backend.close()
    try:
        write_histograms(args.output, {d.name: (counts[d.name], d.axes, d.title) for d in definitions})
    except OSError as exc:
        print(f"histogram: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    for d in definitions:
        print(f"{d.name}: {int(counts[d.name].sum())} entries", file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
