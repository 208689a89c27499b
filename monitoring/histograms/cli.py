"""``main.py histogram FILES... -o OUT.root``: recoil-mass histograms over event files.

Reads our HDF5 and ROOT files and Belle II mdst through ``events.io`` (FILES may be globs or
folders, expanded as a data set's, docs/datasets.md §1; a damaged file stops the fill), fills the
standard dark-sector histograms (``definitions.STANDARD``) with the chosen backend, shows a progress bar
on stderr and writes TH1D/TH2D histograms with uproot.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from events.dataset import expand
from events.outputs import OutputError, check_output
from events.progress import ProgressBar, quiet_readers
from events.source import EventFileError, EventSource
from monitoring.histograms.backends import BACKENDS, BackendUnavailable, default_backend, get_backend
from monitoring.histograms.definitions import STANDARD
from monitoring.histograms.export import write_histograms
from monitoring.histograms.files import fill_files, unfillable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILES", help="event files (.h5, .root, mdst), globs or folders of them"
    )
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


MAX_ISSUES = 10  # per file; the rest are counted


def run(args: argparse.Namespace) -> int:
    definitions = [d for d in STANDARD if d.name in args.histograms]
    if args.output.suffix.lower() != ".root":
        print(
            f"histogram: {args.output}: histograms are written as ROOT; give a name ending in .root",
            file=sys.stderr,
        )
        return 2
    try:  # globs and folders name their files (events.dataset); a bad -o fails now, not after the fill
        files = expand(args.files)
        check_output(args.output, "root", inputs=files)
    except (OutputError, EventFileError) as exc:
        print(f"histogram: {exc}", file=sys.stderr)
        return 2
    options: dict[str, object] = {}
    if args.backend == "dask":
        options = {"scheduler": args.scheduler, "n_workers": args.workers}
    try:
        backend = default_backend() if args.backend == "auto" else get_backend(args.backend, **options)
    except BackendUnavailable as exc:
        print(f"histogram: backend {args.backend} cannot run here: {exc}", file=sys.stderr)
        return 2
    bar = ProgressBar()
    read: list[tuple[str, list[str], set[str]]] = []  # per file: path, issues, missing collections

    def file_done(source: EventSource) -> None:
        read.append((str(source.path), list(source.issues), set(source.missing)))

    try:
        with quiet_readers():  # their warnings are printed below, after the progress bar
            counts = fill_files(backend, files, definitions, args.chunk_size, bar, file_done)
    except (EventFileError, BackendUnavailable) as exc:
        print(f"{chr(10) if bar.drawn else ''}histogram: {exc}", file=sys.stderr)
        return 2
    finally:
        backend.close()
    for path, issues, _ in read:
        for line in issues[:MAX_ISSUES]:
            print(f"histogram: {path}: {line}", file=sys.stderr)
        if len(issues) > MAX_ISSUES:
            print(f"histogram: {path}: ... and {len(issues) - MAX_ISSUES} more issues", file=sys.stderr)
    missing = [m for _, _, m in read]
    blocked = {d.name: unfillable(d, missing) for d in definitions}
    if all(blocked.values()):
        lacking = ", ".join(sorted(set().union(*blocked.values())))
        print(
            f"histogram: nothing could be filled: no file holds {lacking}; {args.output} not written",
            file=sys.stderr,
        )
        return 1
    try:
        write_histograms(
            args.output, {d.name: (counts[d.name], d.axes, d.title) for d in definitions}, inputs=files
        )
    except OSError as exc:  # OutputError names the file and says what became of the old one
        print(f"histogram: {exc}", file=sys.stderr)
        return 2
    for d in definitions:
        lacking = ", ".join(sorted(blocked[d.name]))
        why = f" (could not be filled: no {lacking} in any file)" if lacking else ""
        print(f"{d.name}: {int(counts[d.name].sum())} entries{why}", file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
