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
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from events import filtering, trigger
from events.dataset import DataSet

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

    files: list[Path]
    columns: dict[str, np.ndarray]
    total: int  # events in the data set
    cancelled: bool = False
    issues: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["index"])

    def l1_names(self, i: int) -> list[str]:
        """Names of the L1 lines event row ``i`` fired."""
        bits = int(self.columns["l1_bits"][i])
        return [name for k, name in enumerate(trigger.L1_BITS) if bits >> k & 1]

    def flag_names(self, i: int) -> list[str]:
        bits = int(self.columns["flags"][i])
        return [name for k, name in enumerate(FLAGS) if bits >> k & 1]

    def rows(self) -> Iterator[dict[str, Any]]:
        """JSON-ready rows: numbers (None for NaN), the file path, L1 and flag name lists."""
        lists = {name: self.columns[name].tolist() for name in (*ID_COLUMNS, *QUANTITY_COLUMNS)}
        index, local, file = (self.columns[k].tolist() for k in ("index", "local", "file"))
        for i in range(len(self)):
            row: dict[str, Any] = {"index": index[i], "file": str(self.files[file[i]]), "local": local[i]}
            for name, values in lists.items():
                value = values[i]
                if name in COUNT_COLUMNS:
                    row[name] = int(value)
                else:
                    row[name] = None if not math.isfinite(value) else value
            row["l1"] = self.l1_names(i)
            row["flags"] = self.flag_names(i)
            yield row


def summarize(
    data: DataSet,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> EventSummary:
    """The summary table of every event of ``data`` (damaged files skipped, see ``DataSet.scan``)."""
    flags = [filtering.parse(text) for text in FLAGS.values()]
    parts: dict[str, list[np.ndarray]] = {
        name: [] for name in ("index", "file", "local", *ID_COLUMNS, *QUANTITY_COLUMNS, "l1_bits", "flags")
    }
    total = len(data)
    done = 0
    cancelled = False
    for chunk in data.scan(chunk_size):
        batch = chunk.batch
        file = data.file_of(chunk.index).astype(np.int32)
        parts["index"].append(chunk.index)
        parts["file"].append(file)
        parts["local"].append(chunk.index - data.offsets[file])
        for name in ID_COLUMNS:
            parts[name].append(batch.header[name].astype(np.int64))
        for name in QUANTITY_COLUMNS:
            parts[name].append(filtering.QUANTITIES[name][0](batch))
        parts["l1_bits"].append(batch.header["l1_bits"].astype(np.uint64))
        bits = np.zeros(len(batch), dtype=np.uint8)
        for k, flag in enumerate(flags):
            bits |= flag(batch).astype(np.uint8) << np.uint8(k)
        parts["flags"].append(bits)
        done += len(batch)
        if progress:
            progress(done, total)
        if cancel and cancel():
            cancelled = done < total
            break
    empty = {"index": np.int64, "file": np.int32, "local": np.int64, "l1_bits": np.uint64, "flags": np.uint8}
    columns = {
        name: np.concatenate(arrays) if arrays else np.zeros(0, empty.get(name, np.float64))
        for name, arrays in parts.items()
    }
    for name in ID_COLUMNS:
        columns[name] = columns[name].astype(np.int64)
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


def _cell(name: str, value: Any) -> str:
    if name == "file":
        return Path(value).name
    if isinstance(value, list):
        return ",".join(value) or "-"
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def text_table(summary: EventSummary) -> str:
    """An aligned text table, one line per event (numbers right-aligned, text left-aligned)."""
    names = list(TABLE_HEADINGS)
    cells = [[_cell(n, row[n]) for n in names] for row in summary.rows()]
    widths = [max([len(TABLE_HEADINGS[n]), *(len(r[k]) for r in cells)]) for k, n in enumerate(names)]
    left = {"file", "l1", "flags"}

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if n in left else v.rjust(w) for n, v, w in zip(names, values, widths, strict=True)
        ).rstrip()

    return "\n".join([line([TABLE_HEADINGS[n] for n in names]), *(line(r) for r in cells)])


def csv_text(summary: EventSummary) -> str:
    """CSV with a header line; L1 lines and flags joined with ``+``, empty for NaN."""
    out = text_io.StringIO()
    writer: Any = None
    for row in summary.rows():
        flat = {k: "+".join(v) if isinstance(v, list) else ("" if v is None else v) for k, v in row.items()}
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(flat), lineterminator="\n")
            writer.writeheader()
        writer.writerow(flat)
    if writer is None:  # no events: the header alone
        fields = ["index", "file", "local", *ID_COLUMNS, *QUANTITY_COLUMNS, "l1", "flags"]
        csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()
