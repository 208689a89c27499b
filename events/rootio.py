"""This project's event ntuple in ROOT: a TTree ``events`` written with uproot ``mktree``.

Branch naming (what ``uproot.dask`` and any ROOT user see):

* header columns by their name: ``event``, ``run``, ``l1_bits``, ``bz``, ...
* collection columns ``{collection}_{column}`` (``tracks_d0``, ``ecl_energy``), jagged, with one
  int32 counter per collection ``n{collection}`` (``ntracks``, ``necl``) shared by its columns;
* a column with a trailing shape (``tracks_cov`` 15 values, ``tracks_pid_logl`` 6 values,
  ``vertices_cov`` 6 values) is stored as one jagged scalar branch per component,
  ``{collection}_{column}_{k}`` (``tracks_cov_0`` ... ``tracks_cov_14``), because uproot 5.7
  writes ``float[n][15]`` branches it cannot read back. :func:`branch_names` lists them.

The tree title carries the format name and ``SCHEMA_VERSION`` ("belle2-display-events schema 1").
:func:`open_root` tells this ntuple from a Belle II mdst file by what the file contains.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from events import remote, rootclasses
from events.model import COLLECTIONS, HEADER, SCHEMA_VERSION, Collection, EventBatch
from events.outputs import AtomicOutput, OutputError
from events.source import EventFileError, EventSource, Location, is_url, location

TREE = "events"
FORMAT = "belle2-display-events"
TITLE = f"{FORMAT} schema {SCHEMA_VERSION}"


def branch_name(collection: str, column: str) -> str:
    """Branch of a header column (``collection="header"``) or of a scalar collection column."""
    if collection == "header":
        if column not in HEADER:
            raise KeyError(f"no header column {column!r}")
        return column
    shape = COLLECTIONS[collection][column][1]
    if shape:
        raise KeyError(f"{collection}.{column} has {shape[0]} components; use branch_names()")
    return f"{collection}_{column}"


def branch_names(collection: str, column: str) -> list[str]:
    """All branches holding one column: one name, or one per component of a multi-valued column."""
    if collection == "header":
        return [branch_name(collection, column)]
    shape = COLLECTIONS[collection][column][1]
    if not shape:
        return [f"{collection}_{column}"]
    return [f"{collection}_{column}_{k}" for k in range(int(np.prod(shape)))]


def counter_name(collection: str) -> str:
    return f"n{collection}"


def _tree_data(batch: EventBatch) -> dict[str, Any]:
    data: dict[str, Any] = {name: np.asarray(batch.header[name]) for name in HEADER}
    for coll, c in batch.collections().items():
        counts = c.counts
        fields: dict[str, Any] = {}
        for column, values in c.columns.items():
            flat = values.reshape(len(values), int(np.prod(values.shape[1:])))
            for k, name in enumerate(branch_names(coll, column)):
                fields[name[len(coll) + 1 :]] = ak.unflatten(np.ascontiguousarray(flat[:, k]), counts)
        data[coll] = ak.zip(fields, depth_limit=2)
    return data


def write(path: str | Path, batches: Iterable[EventBatch], inputs: Iterable[str | Path] = ()) -> int:
    """Write batches into a new ROOT file, the first with ``mktree``, the rest with ``extend``.

    Written atomically (``events.outputs``): a failed write leaves any previous file unchanged;
    ``inputs`` (the files the batches come from) are never overwritten.
    """
    path = Path(path)
    n = 0
    try:
        with AtomicOutput(path, "root", inputs) as tmp, uproot.recreate(tmp, compression=COMPRESSION) as f:
            tree = None
            for batch in batches:
                data = _tree_data(batch)
                if tree is None:
                    tree = f.mktree(TREE, data, title=TITLE)
                else:
                    tree.extend(data)
                n += len(batch)
            if tree is None:
                f.mktree(TREE, _tree_data(EventBatch.empty()), title=TITLE)
    except OutputError:
        raise
    except OSError as exc:
        raise EventFileError(path, f"cannot write: {exc}") from exc
    return n


def _check_complete(path: Location, file: Any) -> None:
    """A file shorter than the end its header records was cut off (a copy or download that stopped):
    said when it is opened, not at the first basket past the cut."""
    end = getattr(getattr(file, "file", None), "fEND", None)
    size = remote.file_size(file) if is_url(path) else Path(path).stat().st_size
    if isinstance(end, int) and size is not None and size < end:
        raise EventFileError(path, f"truncated: {size} bytes of the {end} its ROOT header records")


def open_root(path: str | Path) -> EventSource:
    """Open a ``.root`` file (or URL) as our ntuple or as a Belle II mdst file, by its content."""
    path = location(path)
    from events import mdst

    file = None
    try:
        file = remote.open_uproot(path)
        _check_complete(path, file)
        names = set(file.keys(cycle=False))
        for name in (TREE, mdst.TREE):
            if name in names and not mdst.is_ttree(file[name]):
                raise EventFileError(
                    path,
                    f"{name!r} is {mdst.describe(file[name])}, not a TTree: mdst files and this program's "
                    "ntuples are TTrees (uproot writes an RNTuple for file[name] = {...}; write with mktree)",
                )
        if TREE in names and str(getattr(file[TREE], "title", "")).startswith(FORMAT):
            return NtupleSource(path, file[TREE])
        if mdst.TREE in names and mdst.is_mdst(file[mdst.TREE]):
            return mdst.MdstSource(path, tree=file[mdst.TREE])
        found = ", ".join(f"{name} ({mdst.describe(file[name])})" for name in sorted(names)[:20])
    except EventFileError:
        rootclasses.close(file)
        rootclasses.forget()
        raise
    except Exception as exc:  # uproot raises many types for damaged files
        rootclasses.close(file)
        rootclasses.forget()  # what the damaged file's streamers defined must not break the next file
        if is_url(path):  # the network rather than the file, most likely
            raise remote.read_error(path, exc, "cannot open") from exc
        raise EventFileError(path, f"not a readable ROOT file (truncated or corrupted?): {exc}") from exc
    rootclasses.close(file)
    found = found or "nothing"
    raise EventFileError(
        path,
        f"neither a Belle II mdst file (tree {mdst.TREE!r}) nor an event ntuple ({TREE!r}); it holds {found}",
    )


# LZ4 decompresses ~8x faster than ZLIB for a few % more bytes: a single event's read is mostly
# the decompression of its baskets. ROOT reads LZ4 since 6.12 (uproot through cramjam).
COMPRESSION = uproot.LZ4(1)
BLOCK_EVENTS = 4096  # the most events one cached block holds
KEEP_BLOCKS = 3  # blocks kept: the one shown, and the ones before and after a basket boundary


def _counts_and_content(jagged: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per-entry counts and the flat values of a jagged branch.

    uproot hands a jagged branch over as a list-offset layout: its offsets and content are read as
    numpy arrays directly (a few µs), where ``ak.num`` + ``ak.flatten`` dispatch through awkward's
    generic machinery (~0.3 ms a branch, most of a single-event read). Other layouts take that way.
    """
    layout = jagged.layout
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(layout.content, ak.contents.NumpyArray):
        offsets = np.asarray(layout.offsets)
        return np.diff(offsets), np.asarray(layout.content.data)[offsets[0] : offsets[-1]]
    return ak.to_numpy(ak.num(jagged, axis=1)), ak.to_numpy(ak.flatten(jagged, axis=1))


class NtupleSource(EventSource):
    """Reads the ``events`` TTree written by :func:`write`."""

    def __init__(self, path: str | Path, tree: Any) -> None:
        super().__init__(path)
        self.tree = tree
        title = str(tree.title)
        try:
            version = int(title.rsplit(" ", 1)[-1])
        except ValueError:
            raise EventFileError(
                self.path, f"tree {TREE!r} has no schema version in its title {title!r}"
            ) from None
        if version > SCHEMA_VERSION:
            raise EventFileError(
                self.path,
                f"written with event schema version {version}, newer than this program's {SCHEMA_VERSION}; "
                "update the program to read it",
            )
        if version != SCHEMA_VERSION:
            raise EventFileError(self.path, f"unknown event schema version {version}")
        available = set(tree.keys())
        wanted = [name for name in HEADER] + [
            name for coll, spec in COLLECTIONS.items() for col in spec for name in branch_names(coll, col)
        ]
        missing = [name for name in wanted if name not in available]
        if missing:
            shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
            raise EventFileError(self.path, f"tree {TREE!r} lacks branches {shown}")
        self.branches = wanted
        self._basket_starts: np.ndarray | None = None  # entry where each basket starts, then the end
        self._blocks: dict[int, EventBatch] = {}  # first entry -> block, least recently used first

    def __len__(self) -> int:
        return int(self.tree.num_entries)

    def _failed(self) -> None:
        rootclasses.forget()

    def close(self) -> None:
        """Release the ROOT file (uproot keeps it open until told) and the cached blocks."""
        self._blocks.clear()
        rootclasses.close(self.tree.file)

    def _read(self, start: int, stop: int) -> EventBatch:
        """Small reads come from a cached block of whole baskets: uproot keeps no decompressed
        basket, so each read of one event would otherwise decompress its baskets again (~100 ms
        for baskets of 5000 events), and stepping to the next event would repeat it all."""
        if stop - start > BLOCK_EVENTS // 4:
            return self._read_entries(start, stop)
        first, last = self._block_of(start)
        if stop > last:
            return self._read_entries(start, stop)
        block = self._blocks.pop(first, None)
        if block is None:
            block = self._read_entries(first, last)
        self._blocks[first] = block  # newest last
        while len(self._blocks) > KEEP_BLOCKS:
            self._blocks.pop(next(iter(self._blocks)))
        return block.slice(start - first, stop - first)

    def _block_of(self, entry: int) -> tuple[int, int]:
        """The entries [first, last) of the baskets holding ``entry``, at most BLOCK_EVENTS of them."""
        if self._basket_starts is None:
            offsets = np.asarray(self.tree[self.branches[0]].entry_offsets, dtype=np.int64)
            self._basket_starts = offsets if len(offsets) >= 2 else np.array([0, len(self)], np.int64)
        starts = self._basket_starts
        k = int(np.searchsorted(starts, entry, side="right")) - 1
        lo, hi = int(starts[max(k, 0)]), int(starts[min(k + 1, len(starts) - 1)])
        if hi - lo > BLOCK_EVENTS:  # one huge basket: an aligned window of it
            lo += (entry - lo) // BLOCK_EVENTS * BLOCK_EVENTS
            hi = min(hi, lo + BLOCK_EVENTS)
        return lo, max(hi, entry + 1)

    def _read_entries(self, start: int, stop: int) -> EventBatch:
        try:
            arrays = self.tree.arrays(
                self.branches, entry_start=start, entry_stop=stop, library="ak", how=dict
            )
        except Exception as exc:
            raise remote.read_error(self.path, exc, f"cannot read entries {start}:{stop}") from exc
        header = {name: ak.to_numpy(arrays[name]) for name in HEADER}
        colls = {}
        for coll, spec in COLLECTIONS.items():
            counts = None
            cols = {}
            for column, (_, shape, _) in spec.items():
                parts = []
                for name in branch_names(coll, column):
                    branch_counts, flat = _counts_and_content(arrays[name])
                    if counts is None:
                        counts = branch_counts
                    parts.append(flat)
                cols[column] = np.stack(parts, axis=-1).reshape(-1, *shape) if shape else parts[0]
            colls[coll] = Collection.from_columns(
                coll, counts if counts is not None else np.zeros(stop - start), cols
            )
        return EventBatch.build(stop - start, header, source=str(self.path), **colls)
