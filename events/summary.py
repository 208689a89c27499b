"""A per-event summary table of a data set, computed chunk by chunk with whole-array kernels.

Every numeric column is a variable of the expression filter (``events.filtering.QUANTITIES``,
computed by the very same functions), so what the table shows is what ``--where`` selects on:
``ntracks``, ``necl``, ``total_ecl_energy``, ``max_ecl_energy``, ``recoil_mass`` (against the
best mu+ mu- pair), ``photon_cms_energy`` (E*_gamma of the hardest photon), ``nl1``. Besides them
each row has the event's place (``file``, ``index`` in the data set, ``local`` index in its file),
its ID (experiment, run, event), the L1 lines fired (``events.trigger`` names) and ``flags``:
short names of the :data:`FLAGS` filter expressions the event passes.

:func:`summarize` reads the data set in chunks of ``chunk_size`` events (memory bounded by the
chunk, plus one row per event for the table), reports ``progress(done, total)`` after each chunk
and stops early, marking the table ``cancelled``, when ``cancel()`` returns true: what a GUI's
background pass needs.
"""

from __future__ import annotations

import csv
import io as text_io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from events import filtering, trigger
from events.dataset import DataSet
from events.source import Location, location_name

# the filter's variables the table shows, in column order
QUANTITY_COLUMNS: tuple[str, ...] = (
    "ntracks",
    "necl",
    "total_ecl_energy",
    "max_ecl_energy",
    "recoil_mass",
    "photon_cms_energy",
    "nl1",
)
ID_COLUMNS: tuple[str, ...] = ("experiment", "run", "event")
COUNT_COLUMNS = frozenset({"ntracks", "necl", "nl1", *ID_COLUMNS})
# flag name -> filter expression; an event carries the flag when it passes the expression
FLAGS: dict[str, str] = {
    "mumu": "abs(recoil_mass) >= 0",  # a mu+ mu- pair was found (recoil_mass is not NaN)
    "photon": "photon_cms_energy > 0",  # a photon candidate was found
    "signal": "signal >= 0",  # an injected dark-sector signal (generated events)
    "mc": "nmc > 0",  # the file holds MC truth for the event
}
CHUNK = 10_000

Progress = Callable[[int, int], None]  # events done, events in the data set
Cancel = Callable[[], bool]


@dataclass
class EventSummary:
    """One row per event read, in data-set order; ``columns`` are equal-length arrays."""

    files: list[Location]
    columns: dict[str, np.ndarray]
    total: int  # events in the data set
    cancelled: bool = False
    issues: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["index"])

    def l1_names(self, i: int) -> list[str]:
        """Names of the L1 lines event row ``i`` fired."""
        return _names(int(self.columns["l1_bits"][i]), trigger.L1_BITS)

    def flag_names(self, i: int) -> list[str]:
        return _names(int(self.columns["flags"][i]), tuple(FLAGS))

    def values(self) -> dict[str, list[Any]]:
        """Every column as a list, JSON-ready: ints, floats (None for NaN), the file path, and the
        L1 lines and flags as lists of names."""
        out: dict[str, list[Any]] = {
            "index": self.columns["index"].tolist(),
            "file": [str(f) for f in self.files],
            "local": self.columns["local"].tolist(),
        }
        out["file"] = [out["file"][k] for k in self.columns["file"].tolist()]
        for name in (*ID_COLUMNS, *QUANTITY_COLUMNS):
            column = self.columns[name]
            if name in COUNT_COLUMNS:
                out[name] = column.astype(np.int64).tolist()
            else:
                shown = column.astype(object)
                shown[~np.isfinite(column)] = None
                out[name] = shown.tolist()
        for name, labels in (("l1", trigger.L1_BITS), ("flags", tuple(FLAGS))):
            bits = self.columns["l1_bits" if name == "l1" else "flags"]
            unique, inverse = np.unique(bits, return_inverse=True)  # few distinct patterns: named once each
            named = [_names(int(b), labels) for b in unique.tolist()]
            out[name] = [named[k] for k in inverse.ravel().tolist()]
        return out

    def rows(self) -> Iterator[dict[str, Any]]:
        """One JSON-ready dict per event (see :meth:`values`)."""
        values = self.values()
        names = list(values)
        for row in zip(*values.values(), strict=True):
            yield dict(zip(names, row, strict=True))


def _names(bits: int, labels: tuple[str, ...]) -> list[str]:
    return [name for k, name in enumerate(labels) if bits >> k & 1]


def summary_needs() -> dict[str, frozenset[str]]:
    """The columns the summary reads (``events.columnar.needs_of`` of its columns and flags)."""
    from events import columnar

    flags = [filtering.parse(text) for text in FLAGS.values()]
    names = {*QUANTITY_COLUMNS, *(name for flag in flags for name in flag.names)}
    return columnar.needs_of(sorted(names), header=(*ID_COLUMNS, "l1_bits"))


def summarize(
    data: DataSet,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    columnar: bool = True,
) -> EventSummary:
    """The summary table of every event of ``data`` (damaged files skipped, see ``DataSet.scan``).

    ``columnar`` (the default): only the columns the table needs are read and every column is
    computed by ``events.columnar``'s kernels; False: whole events are read and the columns computed
    by ``events.filtering.QUANTITIES``' functions. The tables are the same, bit for bit."""
    flags = [filtering.parse(text) for text in FLAGS.values()]
    total = len(data)
    # the table's columns, filled chunk by chunk in place (no per-chunk parts joined at the end)
    dtypes = {"index": np.int64, "file": np.int32, "local": np.int64, "l1_bits": np.uint64, "flags": np.uint8}
    names = ("index", "file", "local", *ID_COLUMNS, *QUANTITY_COLUMNS, "l1_bits", "flags")
    columns = {name: np.empty(total, dtypes.get(name, np.int64 if name in ID_COLUMNS else np.float64))
               for name in names}  # fmt: skip
    done = 0
    cancelled = False
    if columnar:
        from events import columnar as kernels

        chunks = data.scan(chunk_size, needs=summary_needs())
    else:
        chunks = data.scan(chunk_size)
    for chunk in chunks:
        batch = chunk.batch
        n = len(batch)
        row = slice(done, done + n)  # the chunk's rows of the table
        file = data.file_of(chunk.index)
        columns["index"][row] = chunk.index
        columns["file"][row] = file
        np.subtract(chunk.index, data.offsets[file], out=columns["local"][row])
        for name in ID_COLUMNS:
            columns[name][row] = batch.header[name]
        columns["l1_bits"][row] = batch.header["l1_bits"]
        bits = columns["flags"][row]
        bits[:] = 0
        if columnar:
            values = kernels.Kernels(batch)
            for name in QUANTITY_COLUMNS:
                columns[name][row] = values(name)
            for k, flag in enumerate(flags):
                bits |= flag.on_kernels(values, batch).astype(np.uint8) << np.uint8(k)
        else:
            for name in QUANTITY_COLUMNS:
                columns[name][row] = filtering.QUANTITIES[name][0](batch)
            for k, flag in enumerate(flags):
                bits |= flag(batch).astype(np.uint8) << np.uint8(k)
        done += n
        if progress:
            progress(done, total)
        if cancel and cancel():
            cancelled = done < total
            break
    if done < total:  # files left out, or cancelled: the rows read
        columns = {name: column[:done].copy() for name, column in columns.items()}
    return EventSummary(list(data.files), columns, total, cancelled, list(data.issues))


# --- text forms -------------------------------------------------------------------------------

TABLE_HEADINGS: dict[str, str] = {
    "file": "file",
    "local": "#",
    "experiment": "exp",
    "run": "run",
    "event": "event",
    "ntracks": "ntrk",
    "necl": "necl",
    "total_ecl_energy": "E_ecl",
    "max_ecl_energy": "E_max",
    "recoil_mass": "M_recoil",
    "photon_cms_energy": "E*_gamma",
    "nl1": "nL1",
    "flags": "flags",
    "l1": "L1",
}


def _text_column(summary: EventSummary, values: dict[str, list[Any]], name: str) -> list[str]:
    """The cells of one column of the text table, formatted a whole column at a time."""
    if name == "file":
        shown = [location_name(f) for f in summary.files]
        return [shown[k] for k in summary.columns["file"].tolist()]
    if name in ("l1", "flags"):
        return [",".join(v) or "-" for v in values[name]]
    column = summary.columns[name]
    if name in COUNT_COLUMNS or name == "local":
        return [str(v) for v in column.astype(np.int64).tolist()]
    return ["-" if v != v else f"{v:.4f}" for v in column.tolist()]  # v != v: NaN


def text_table(summary: EventSummary) -> str:
    """An aligned text table, one line per event (numbers right-aligned, text left-aligned)."""
    values = {name: summary.values()[name] for name in ("l1", "flags")} if len(summary) else {}
    names = list(TABLE_HEADINGS)
    left = {"file", "l1", "flags"}
    padded = []
    for name in names:
        column = [TABLE_HEADINGS[name], *(_text_column(summary, values, name) if len(summary) else [])]
        width = max(map(len, column))
        padded.append([v.ljust(width) for v in column] if name in left else [v.rjust(width) for v in column])
    return "\n".join("  ".join(line).rstrip() for line in zip(*padded, strict=True))


def csv_text(summary: EventSummary) -> str:
    """CSV with a header line; L1 lines and flags joined with ``+``, empty for NaN."""
    values = summary.values()
    for name in ("l1", "flags"):
        values[name] = ["+".join(v) for v in values[name]]
    for name in values:
        values[name] = ["" if v is None else v for v in values[name]]
    out = text_io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(values))
    writer.writerows(zip(*values.values(), strict=True))
    return out.getvalue()
