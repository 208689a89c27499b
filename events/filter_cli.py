"""``main.py filter FILES... --where EXPR [-o OUT] [--json]``: select events of a data set.

FILES are files, globs or folders of any readable format, opened as one data set
(``events.dataset``, docs/datasets.md §1). Every event is tested with the filter expression
(``events.filtering``); with ``-o`` the events that pass are written, all their objects, with
``events.io.write`` (atomic: a failed write leaves any previous file as it was), in the format of
the suffix (``.h5``/``.hdf5``, ``.root`` ntuple, Phoenix ``.json``). A progress bar goes to stderr.

stdout: with ``--json`` exactly one JSON object ``{"selected": [{"file", "experiment", "run",
"event"}, ...], "passed": N, "total": M}``; otherwise one line per selected event (file,
experiment, run, event) and the count on stderr. Exit status: 0; 1 when some file could not be
read (its line on stderr, the other files' events still selected and written); 2 for a bad
expression, a missing input, no readable event at all, an unwritable output: one line on stderr
naming it, no traceback (and no new output file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from events import columnar, filtering, io
from events.dataset import DataSet, open_dataset
from events.model import EventBatch
from events.outputs import OutputError, check_output, kind_for_suffix
from events.progress import ProgressBar, quiet_readers
from events.source import EventFileError, Location

CHUNK = 10_000
MAX_ISSUES = 20  # lines printed; the rest are counted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILES", help="event files, globs ('runs/*.root') or folders, any format"
    )
    parser.add_argument(
        "--where",
        "-w",
        required=True,
        metavar="EXPR",
        help="filter expression, e.g. 'ntracks == 2 and recoil_mass > 3' (variables: docs/datasets.md §3)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="write the selected events here (.h5, .root or .json)"
    )
    parser.add_argument("--json", action="store_true", help="print the selection as one JSON object")
    parser.add_argument(
        "--chunk-size", type=int, default=CHUNK, help=f"events read at a time (default {CHUNK})"
    )


def _check_output(path: Path, inputs: list[Location]) -> None:
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name")
    if io.format_for(path, writing=True) is None:
        expected = ", ".join(io.WRITABLE_SUFFIXES)
        raise EventFileError(path, f"cannot write {path.suffix.lower()!r} files; expected one of {expected}")
    check_output(path, kind_for_suffix(path), inputs=inputs)


class Selection:
    """Passes over a data set, yielding the selected events of each chunk and recording their IDs.

    The filter is evaluated columnar (``events.columnar``): only the columns its variables need
    are read, and the whole events of a chunk are read again only for the events that pass, when
    :meth:`batches` is asked for them (``-o``); :meth:`run` records the selection alone."""

    def __init__(self, data: DataSet, flt: filtering.EventFilter, chunk_size: int, bar: ProgressBar) -> None:
        self.data = data
        self.filter = flt
        self.chunk_size = chunk_size
        self.bar = bar
        self._picked: list[np.ndarray] = []  # per chunk: (file, experiment, run, event) of each selected
        self.total = 0

    @property
    def passed(self) -> int:
        """How many events passed so far."""
        return sum(map(len, self._picked))

    @property
    def selected(self) -> list[dict[str, Any]]:
        """``{"file", "experiment", "run", "event"}`` of every selected event so far, in data-set order
        (kept as arrays during the pass: 32 bytes an event, not a dict)."""
        picked = np.concatenate(self._picked) if self._picked else np.zeros((0, 4), dtype=np.int64)
        names = [str(f) for f in self.data.files]
        return [
            {"file": names[k], "experiment": exp, "run": run, "event": event}
            for k, exp, run, event in picked.tolist()
        ]

    def run(self) -> None:
        """The pass without the events: ``selected`` and ``total`` only."""
        for _ in self._pass(events=False):
            pass

    def batches(self) -> Iterator[EventBatch]:
        """The pass, yielding the whole selected events of each chunk where any pass."""
        yield from self._pass(events=True)

    def _pass(self, events: bool) -> Iterator[EventBatch]:
        from events.columnar import Kernels

        n = len(self.data)
        done = 0
        for chunk in self.data.scan(self.chunk_size, needs=columnar.filter_needs(self.filter)):
            rows = np.flatnonzero(self.filter.on_kernels(Kernels(chunk.batch), chunk.batch))
            picked = None
            if events and len(rows):  # rows: those still readable (a file may fail the second read)
                picked, rows = self.data.take(chunk, rows)
            files = self.data.file_of(chunk.index[rows])
            header = [chunk.batch.header[k][rows] for k in ("experiment", "run", "event")]
            self._picked.append(np.stack([files, *header], axis=1).astype(np.int64))
            self.total += len(chunk.batch) - (self.data.lost(chunk) if picked is not None else 0)
            done = int(chunk.index[-1]) + 1 if len(chunk.index) else done
            self.bar(done, n, "events")
            if picked is not None and len(picked):
                yield picked
        if done < n or n == 0:  # files left out part-way: the bar still ends
            self.bar(n, n, "events")
        if self.total == 0 and self.data.left_out:  # raised here, a new output is not kept
            raise EventFileError(self.data.path, "no event could be read; nothing written")


def run(args: argparse.Namespace) -> int:
    if args.chunk_size < 1:
        print("filter: --chunk-size must be positive", file=sys.stderr)
        return 2
    try:
        flt = filtering.parse(args.where)
    except filtering.FilterError as exc:
        print(f"filter: {exc}", file=sys.stderr)
        return 2
    bar = ProgressBar()
    try:
        with quiet_readers():  # the readers' warnings are printed below, after the progress bar
            data = open_dataset(args.files, background=False)
            len(data)  # every file counted here, their lines held back with the readers'
    except EventFileError as exc:
        print(f"filter: {exc}", file=sys.stderr)
        return 2
    with data:
        if args.output is not None:
            try:  # before the pass: a bad -o fails now, not after it
                _check_output(args.output, data.files)
            except (OutputError, EventFileError) as exc:
                print(f"filter: {exc}", file=sys.stderr)
                return 2
        selection = Selection(data, flt, args.chunk_size, bar)
        try:
            with quiet_readers():
                if args.output is not None:
                    io.write(args.output, selection.batches(), inputs=data.files)
                else:
                    selection.run()
        except (OSError, EventFileError) as exc:  # OutputError names the file and what became of the old one
            _print_issues(data.issues)
            print(f"filter: {exc}", file=sys.stderr)
            return 2
        issues, left_out = list(data.issues), bool(data.left_out)
    selected = selection.selected
    passed = len(selected)
    if args.json:
        print(json.dumps({"selected": selected, "passed": passed, "total": selection.total}))
    else:
        for row in selected:
            print(f"{row['file']}\t{row['experiment']}\t{row['run']}\t{row['event']}")
    wrote = f"; wrote {args.output}" if args.output is not None else ""
    print(f"filter: {passed} of {selection.total} events pass {flt.text!r}{wrote}", file=sys.stderr)
    _print_issues(issues)
    return 1 if left_out else 0


def _print_issues(issues: list[str]) -> None:
    for line in issues[:MAX_ISSUES]:
        print(f"filter: {line}", file=sys.stderr)
    if len(issues) > MAX_ISSUES:
        print(f"filter: ... and {len(issues) - MAX_ISSUES} more issues", file=sys.stderr)
