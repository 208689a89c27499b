"""``main.py summary FILES... [--json | --csv]``: a per-event summary table of a data set.

FILES are files, globs or folders of any readable format, opened as one data set
(``events.dataset``); the table is ``events.summary``'s (docs/datasets.md §3): one row per event,
in data-set order, with the filter's variables as columns. Default output: an aligned text table;
``--json``: one object ``{"events": [row, ...]}`` (NaN as null); ``--csv``: a header line, then one
line per event. Progress on stderr. Exit status (docs/datasets.md §4): 0; 1 when some file could
not be read (its line on stderr, the table holds the other files' events); 2 for a missing input,
an empty glob, or no readable event at all.
"""

from __future__ import annotations

import argparse
import json
import sys

from events.dataset import open_dataset
from events.progress import ProgressBar, quiet_readers
from events.source import EventFileError
from events.summary import CHUNK, csv_text, summarize, text_table

MAX_ISSUES = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILES", help="event files, globs ('runs/*.root') or folders, any format"
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help='print {"events": [one object per event]}')
    form.add_argument("--csv", action="store_true", help="print CSV, one line per event")
    parser.add_argument(
        "--chunk-size", type=int, default=CHUNK, help=f"events read at a time (default {CHUNK})"
    )


def run(args: argparse.Namespace) -> int:
    if args.chunk_size < 1:
        print("summary: --chunk-size must be positive", file=sys.stderr)
        return 2
    bar = ProgressBar()
    try:
        with quiet_readers():
            data = open_dataset(args.files)
    except EventFileError as exc:
        print(f"summary: {exc}", file=sys.stderr)
        return 2
    with data, quiet_readers():
        table = summarize(data, args.chunk_size, progress=lambda done, total: bar(done, total, "events"))
    if not table.total:
        bar(0, 0, "events")
    if not len(table) and data.left_out:  # every file failed: nothing to show
        _print_issues(table.issues)
        print(f"summary: {data.path}: no event could be read", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"events": list(table.rows())}, allow_nan=False))
    elif args.csv:
        sys.stdout.write(csv_text(table))
    else:
        print(text_table(table))
    print(f"summary: {len(table)} events from {len(table.files)} files", file=sys.stderr)
    _print_issues(table.issues)
    return 1 if data.left_out else 0


def _print_issues(issues: list[str]) -> None:
    for line in issues[:MAX_ISSUES]:
        print(f"summary: {line}", file=sys.stderr)
    if len(issues) > MAX_ISSUES:
        print(f"summary: ... and {len(issues) - MAX_ISSUES} more issues", file=sys.stderr)
