"""Columnar passes: read only the columns a pass needs, compute every variable with whole-array kernels.

The summary (``events.summary``) and the filter (``events.filtering``, ``main.py filter``) need a
handful of the ~70 columns of an event: the header's ID, field and L1 word, the tracks' helix,
charge and PID, the ECL clusters' energy, direction, hypotheses and track match, the MC offsets.
:func:`read` reads just those of events ``start:stop`` of a file into a *partial* ``EventBatch``
(the collections carry their offsets and the columns asked for, nothing else), and
:func:`quantities` computes the filter's variables (``events.filtering.QUANTITIES``) of such a batch:

* this project's HDF5 store: each needed dataset's rows (``HDF5Source.rows``: its chunks read as
  stored with ``os.pread`` where the store's layout, learnt once per file and kept, says they lie,
  inflated by libdeflate and un-shuffled by numba, the decoded chunks kept up to 24 MB a store);
* this project's ntuple: only the needed branches' baskets, read with ``os.pread`` and decoded a
  branch at a time (``_decode_branch``), where they lie learnt once per file from its tree and kept
  (``_Layout``), so a later pass reads no TTree again; a URL or a tree of another layout through
  uproot's ``tree.arrays`` of those branches;
* anything else (Belle II mdst, whose objects need the mdst reader's conversion; Phoenix JSON):
  the whole events, read as always.

The result is the same, bit for bit, as the per-batch functions of ``QUANTITIES`` give on fully
read events (``tests/events/test_columnar.py``): tracks with a non-finite helix are dropped as
``events.source.sanitize`` drops them (with its lines in the file's ``issues``), the
element-wise arithmetic is the same numpy functions on the same values, and only the per-event
choices and reductions (the best muon of each charge, the hardest photon, sums and maxima over an
event's rows, counts) are numba loops written to give exactly what the numpy forms give (ties to
the first row, NaN ordered as ``np.lexsort`` orders it, sums in row order from 0.0), fused so that a
chunk goes through its tracks once (``_muon_pair``) and its clusters once (``_ecl_pass``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numba
import numpy as np

from events import filtering, trigger
from events.file_memo import FileKey, FileMemo, file_key
from events.hdf5 import HDF5Source
from events.model import COLLECTIONS, HEADER, Collection, EventBatch
from events.pid import MUON_HYPOTHESIS, MUON_PROBABILITY_MIN, muon_probability
from events.source import (
    HELIX,
    EventFileError,
    EventSource,
    sanitize,
    screen_tracks,
    unexpected,
)

# Needs: "header" or a collection name -> the columns of it a variable reads. A collection named
# with no columns is read for its offsets (its counts) only; tracks always bring the helix (HELIX)
# too, since a track with a non-finite helix is dropped before anything is counted.
Needs = Mapping[str, frozenset[str]]

_ID = frozenset({"experiment", "run", "event"})


def _n(*names: str) -> frozenset[str]:
    return frozenset(names)


# what each variable of events.filtering.QUANTITIES reads
NEEDS: dict[str, dict[str, frozenset[str]]] = {
    "ntracks": {"tracks": _n()},
    "necl": {"ecl": _n("hypotheses")},
    "nklm": {"klm": _n()},
    "nvertices": {"vertices": _n()},
    "nmc": {"mc": _n()},
    "npositive": {"tracks": _n("charge")},
    "nnegative": {"tracks": _n("charge")},
    "total_charge": {"tracks": _n("charge")},
    "max_ecl_energy": {"ecl": _n("energy", "hypotheses")},
    "total_ecl_energy": {"ecl": _n("energy", "hypotheses")},
    "max_p": {"header": _n("bz"), "tracks": _n("z0", "phi0", "omega", "tan_lambda")},
    "max_pt": {"header": _n("bz"), "tracks": _n("z0", "omega")},
    "recoil_mass": {
        "header": _n("bz"),
        "tracks": _n("charge", "pid_logl", "z0", "phi0", "omega", "tan_lambda"),
    },
    "photon_cms_energy": {"ecl": _n("energy", "theta", "phi", "hypotheses", "is_track")},
    "nl1": {"header": _n("l1_bits")},
    "experiment": {"header": _n("experiment")},
    "run": {"header": _n("run")},
    "event": {"header": _n("event")},
    "process": {"header": _n("process")},
    "signal": {"header": _n("signal")},
    "signal_mass": {"header": _n("signal_mass")},
}


def needs_of(names: Iterable[str], header: Iterable[str] = ()) -> dict[str, frozenset[str]]:
    """The columns the variables ``names`` read, plus the header columns ``header``; always the
    event number (a batch's length) and, with the tracks, their helix."""
    out: dict[str, set[str]] = {"header": {"event", *header}}
    for name in names:
        for group, columns in NEEDS[name].items():
            out.setdefault(group, set()).update(columns)
    if "tracks" in out:
        out["tracks"].update(HELIX)
    return {group: frozenset(columns) for group, columns in out.items()}


# --- reading ----------------------------------------------------------------------------------


def filter_needs(chosen: filtering.EventFilter) -> dict[str, frozenset[str]]:
    """The columns evaluating the filter ``chosen`` reads, with the L1 word and the event ID."""
    return needs_of(sorted(chosen.names), header=("experiment", "run", "event", "l1_bits"))


def _partial(n: int, header: dict[str, np.ndarray], colls: dict[str, Collection], source: str) -> EventBatch:
    """A batch of ``n`` events holding only the columns read (collections not read: no rows)."""
    empty = np.zeros(n + 1, dtype=np.int64)
    full = {name: colls.get(name) or Collection(name, empty, {}) for name in COLLECTIONS}
    return EventBatch(header, source=source, **full)


def read(source: EventSource, start: int, stop: int, needs: Needs) -> EventBatch:
    """Events ``start:stop`` of ``source`` (clipped): a partial batch with the columns of ``needs``
    for the HDF5 store and the ntuple, the whole events for every other reader. As
    ``EventSource.read``: tracks with a non-finite helix dropped and noted in ``source.issues``,
    a failure one ``EventFileError`` naming the file."""
    reader = _reader(source)
    if reader is None:
        return source.read(start, stop)
    return source.read_with(start, stop, lambda a, b: reader(source, a, b, needs), _drop_bad_tracks)


ALL: dict[str, frozenset[str]] = {
    "header": frozenset(HEADER),
    **{name: frozenset(columns) for name, columns in COLLECTIONS.items()},
}


def read_whole(source: EventSource, start: int, stop: int) -> EventBatch:
    """Events ``start:stop`` of ``source``, whole, as ``source.read`` gives them (sanitized, issues
    noted). A local ntuple is read through the pass's memory map without uproot's array cache: the
    source's own file would keep up to 100 MB of what a pass reads once."""
    if _reader(source) is not _read_ntuple or not isinstance(source.path, Path):
        return source.read(start, stop)
    n = len(source)
    stop = min(stop, n)
    if start < 0 or start > stop:
        raise EventFileError(source.path, f"event range {start}:{stop} is outside the file's {n} events")
    try:
        part = _read_ntuple(source, start, stop, ALL)
        colls = {
            name: Collection.from_columns(name, c.counts, c.columns) for name, c in part.collections().items()
        }
        whole = EventBatch.build(stop - start, dict(part.header), source=part.source, **colls)
        clean, issues, dropped = sanitize(whole, first_event=start)
    except EventFileError:
        source._failed()
        raise
    except Exception as exc:
        source._failed()
        raise unexpected(source.path, exc, f"cannot read events {start}:{stop}") from exc
    source.dropped_tracks += dropped
    for line in issues:
        source.note(line)
    return clean


def _reader(source: EventSource) -> Callable[[Any, int, int, Needs], EventBatch] | None:
    if isinstance(source, HDF5Source):
        return _read_hdf5
    rootio = sys.modules.get("events.rootio")  # loaded whenever an ntuple is open
    if rootio is not None and isinstance(source, rootio.NtupleSource):
        return _read_ntuple
    return None


def _drop_bad_tracks(batch: EventBatch, first_event: int) -> tuple[EventBatch, list[str], int]:
    """``events.source.sanitize`` on a partial batch: the tracks' rows with a non-finite helix out."""
    tracks = batch.tracks
    if not tracks.columns:  # tracks not read
        return batch, [], 0
    counts = tracks.counts
    good, event_of, issues = screen_tracks(tracks, first_event)
    if event_of is None:
        return batch, issues, 0
    n_bad = int(tracks.size - good.sum())
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(event_of[good], minlength=len(counts)), out=offsets[1:])
    clean = Collection("tracks", offsets, {k: v[good] for k, v in tracks.columns.items()})
    parts = {name: batch.collections()[name] for name in COLLECTIONS}
    parts["tracks"] = clean
    return EventBatch(batch.header, source=batch.source, **parts), issues, n_bad


def _coerce(values: np.ndarray, spec: tuple[str, tuple[int, ...], Any]) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=spec[0]).reshape(-1, *spec[1])


# HDF5: chunks read as stored and decoded by the source (HDF5Source.rows) ------------------------


def _read_hdf5(source: HDF5Source, start: int, stop: int, needs: Needs) -> EventBatch:
    try:
        header = {
            name: _coerce(source.rows("header", name, start, stop, copy=False), HEADER[name])
            for name in needs.get("header", ())
        }
        colls = {}
        for coll, wanted in needs.items():
            if coll == "header":
                continue
            offsets = source.rows(coll, "offsets", start, stop + 1, copy=False).astype(np.int64)
            spec = COLLECTIONS[coll]
            lo, hi = int(offsets[0]), int(offsets[-1])
            length = source.length(coll, next(iter(spec)))
            if np.any(np.diff(offsets) < 0) or hi > length or len(offsets) != stop - start + 1:
                raise EventFileError(source.path, f"{coll}/offsets are inconsistent (corrupted file?)")
            cols = {name: _coerce(source.rows(coll, name, lo, hi, copy=False), spec[name]) for name in wanted}
            colls[coll] = Collection(coll, offsets - lo, cols)
    except EventFileError:
        raise
    except Exception as exc:  # h5py's errors on damaged data, a chunk that does not inflate
        raise EventFileError(
            source.path, f"cannot read events {start}:{stop} (corrupted file?): {exc}"
        ) from exc
    return _partial(stop - start, header, colls, str(source.path))


# the ntuple: only the branches needed --------------------------------------------------------------


# local ntuples are read for a pass through a memory map of their own (uproot's MemmapSource): about
# a third less CPU a pass than the file's own handle, whose reads go through fsspec and its thread.
# Only the most recently used MAPPED of them stay open, the others are closed (their pages unmapped,
# which count in the resident memory while mapped), so a pass's memory stays bounded by the file it is
# reading, whatever the number of files.
MAPPED = 1
_TREES: OrderedDict[FileKey, Any] = OrderedDict()


def _mapped_tree(path: Path, entries: int) -> Any | None:
    """The ntuple ``path``'s tree through a memory map (the most recent MAPPED kept), None where the
    file cannot be mapped or no longer holds ``entries`` entries (not the file the data set counted)."""
    import uproot

    from events import rootio

    key = file_key(path)
    if key is None:
        return None
    tree = _TREES.pop(key, None)
    if tree is None:
        try:
            file = uproot.open(path, handler=uproot.MemmapSource, array_cache=None)
            tree = file[rootio.TREE]
        except Exception:  # the source's own handle says what is wrong
            return None
        if tree.num_entries != entries:
            file.close()
            return None
    _TREES[key] = tree
    while len(_TREES) > MAPPED:
        _, old = _TREES.popitem(last=False)
        old.file.close()
    return tree


def _pass_tree(source: Any) -> Any:
    """The ntuple's tree for a pass: memory-mapped for a local file, the source's own for a URL."""
    if not isinstance(source.path, Path):
        return source.tree
    tree = _mapped_tree(source.path, int(source.tree.num_entries))
    return source.tree if tree is None else tree


def read_ntuple_file(
    path: Path, entries: int, start: int, stop: int, needs: Needs
) -> tuple[EventBatch, list[str], int] | None:
    """Columns of entries ``start:stop`` of a local ntuple the data set has opened and checked before,
    read without opening its ``NtupleSource`` again: from the baskets where its layout is known
    (``_layout``: from an earlier pass, or learnt now from its memory-mapped tree), else through the
    map. The partial batch, the lines its reader would note, the tracks dropped. None where the file
    cannot be mapped (the caller opens it as usual); a failure is one ``EventFileError`` naming it."""
    from events import rootclasses

    mapped: list[Any] = []

    def tree() -> Any | None:
        if not mapped:
            mapped.append(_mapped_tree(path, entries))
        return mapped[0]

    try:
        batch = _read_columns(path, entries, tree, start, min(stop, entries), needs)
        if batch is None:
            return None
        return _drop_bad_tracks(batch, start)
    except EventFileError:
        rootclasses.forget()
        raise
    except Exception as exc:
        rootclasses.forget()
        raise unexpected(path, exc, f"cannot read events {start}:{stop}") from exc


def _read_ntuple(source: Any, start: int, stop: int, needs: Needs) -> EventBatch:
    if not isinstance(source.path, Path):  # a URL: through uproot, the source's own tree
        return _read_tree(source.tree, source.path, start, stop, needs)
    # the layout learnt from the source's own tree (read already); uproot's reads through the map
    own, mapped = (lambda: source.tree), (lambda: _pass_tree(source))
    batch = _read_columns(source.path, len(source), own, start, stop, needs, mapped)
    assert batch is not None  # (the source's tree is always there)
    return batch


def _branches(needs: Needs) -> list[str]:
    """The ntuple branches holding the columns of ``needs`` (a collection's counter first)."""
    from events import rootio

    branches: list[str] = list(needs.get("header", ()))
    for coll, wanted in needs.items():
        if coll != "header":
            branches.append(rootio.counter_name(coll))
            branches += [b for column in sorted(wanted) for b in rootio.branch_names(coll, column)]
    return branches


def _read_columns(
    path: Path,
    entries: int,
    tree: Callable[[], Any | None],
    start: int,
    stop: int,
    needs: Needs,
    fallback: Callable[[], Any | None] | None = None,
) -> EventBatch | None:
    """Entries ``start:stop`` of a local ntuple: straight from the baskets of its known layout, or
    through uproot where the layout does not apply; ``tree()`` gives its tree, asked for only when
    the layout of some branch is not known yet (None: the file cannot be read that way now), and
    ``fallback()`` (default ``tree``) the tree uproot reads through."""
    from events import remote

    branches = _branches(needs)
    if stop > start:
        try:
            layout = _layout(path, entries, branches, tree)
            arrays = None if layout is None else layout.arrays(path, branches, start, stop)
        except Exception as exc:
            raise remote.read_error(path, exc, f"cannot read entries {start}:{stop}") from exc
        if arrays is not None:
            return _assemble(arrays, path, start, stop, needs)
    got = (fallback or tree)()
    return None if got is None else _read_tree(got, path, start, stop, needs)


def _read_tree(tree: Any, path: Any, start: int, stop: int, needs: Needs) -> EventBatch:
    """Entries ``start:stop`` through uproot's ``tree.arrays`` (a URL, a tree ``_layout`` cannot read)."""
    from events import remote, rootio

    try:
        read = tree.arrays(
            _branches(needs), entry_start=start, entry_stop=stop, library="ak", how=dict, array_cache=None
        )
        arrays: dict[str, tuple[np.ndarray | None, np.ndarray]] = {
            name: rootio._counts_and_content(values) if values.ndim > 1 else (None, np.asarray(values))
            for name, values in read.items()
        }
    except Exception as exc:
        raise remote.read_error(path, exc, f"cannot read entries {start}:{stop}") from exc
    return _assemble(arrays, path, start, stop, needs)


def _assemble(
    arrays: dict[str, tuple[np.ndarray | None, np.ndarray]], path: Any, start: int, stop: int, needs: Needs
) -> EventBatch:
    """The partial batch of the branches' (counts or None, flat values)."""
    from events import rootio

    header = {name: _coerce(arrays[name][1], HEADER[name]) for name in needs.get("header", ())}
    colls = {}
    for coll, wanted in needs.items():
        if coll == "header":
            continue
        spec = COLLECTIONS[coll]
        counts = np.asarray(arrays[rootio.counter_name(coll)][1], dtype=np.int64)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        cols = {}
        for column in wanted:
            parts = []
            for name in rootio.branch_names(coll, column):
                branch_counts, flat = arrays[name]
                if branch_counts is None or not np.array_equal(branch_counts, counts):
                    counter = rootio.counter_name(coll)
                    raise EventFileError(path, f"branch {name} does not match {counter}")
                parts.append(flat)
            values = np.stack(parts, axis=-1) if spec[column][1] else parts[0]
            cols[column] = _coerce(values, spec[column])
        colls[coll] = Collection(coll, offsets, cols)
    return _partial(stop - start, header, colls, str(path))


class _Layout:
    """Where the baskets of a local ntuple's branches lie and how they decode: what
    ``rootio.BasketReader`` learns from the tree (its checks included), kept after the tree is gone,
    so a later pass reads the file's baskets with ``os.pread`` alone: no uproot file opened again,
    no TTree read again (~20 ms a file, a fifth of a pass over 50 000 events)."""

    def __init__(self, starts: np.ndarray) -> None:
        self.starts = starts  # the entry each basket starts at, then the number of entries
        # branch -> (seek of each basket, its bytes, the values' dtype, jagged)
        self.branches: dict[str, tuple[np.ndarray, np.ndarray, np.dtype, bool]] = {}

    @property
    def nbytes(self) -> int:
        return self.starts.nbytes + sum(
            seeks.nbytes + sizes.nbytes for seeks, sizes, _, _ in self.branches.values()
        )

    def learn(self, tree: Any, names: list[str], path: Path) -> bool:
        """Add the branches ``names`` of ``tree`` (False: not plain baskets, read through uproot)."""
        from events import rootio

        try:
            reader = rootio.BasketReader(tree, names, path)
        except rootio.NotDirect:
            return False
        reader.close()
        starts = np.asarray(tree[names[0]].entry_offsets, dtype=np.int64)
        if len(starts) != reader.n_baskets + 1 or not np.array_equal(starts, self.starts):
            return False
        for i, name in enumerate(names):
            self.branches[name] = (reader.seeks[i], reader.sizes[i], reader.dtypes[i], reader.jagged[i])
        return True

    def arrays(
        self, path: Path, names: list[str], start: int, stop: int
    ) -> dict[str, tuple[np.ndarray | None, np.ndarray]] | None:
        """Entries ``start:stop`` of the branches ``names``: (per-entry counts or None, flat values)
        each, their baskets read as ``rootio.BasketReader.read`` reads them (one ``pread`` for the
        baskets of one entry range where they lie side by side); None where the range is not the
        layout's."""
        starts = self.starts
        first = int(np.searchsorted(starts, start, side="right")) - 1
        last = int(np.searchsorted(starts, stop, side="left"))
        if first < 0 or last >= len(starts):
            return None
        plans = [self.branches[name] for name in names]
        seeks = np.stack([plan[0][first:last] for plan in plans])
        sizes = np.stack([plan[1][first:last] for plan in plans])
        ends = seeks + sizes
        keys: list[list[memoryview]] = [[] for _ in names]
        entries = np.diff(starts[first : last + 1]).tolist()
        fd = os.open(path, os.O_RDONLY)
        try:
            file_size = os.fstat(fd).st_size
            if int(ends.max()) > file_size:
                end = int(ends.max())
                raise ValueError(f"baskets at bytes up to {end}, past the end of the file ({file_size})")
            for j in range(last - first):
                for i, key in _keys(fd, seeks[:, j], sizes[:, j]):
                    keys[i].append(key)
        finally:
            os.close(fd)
        lo, hi = start - int(starts[first]), stop - int(starts[first])
        out: dict[str, tuple[np.ndarray | None, np.ndarray]] = {}
        for i, name in enumerate(names):
            _, _, dtype, jagged = plans[i]
            per_entry, flat = _decode_branch(name, keys[i], entries, dtype, jagged)
            if per_entry is None:
                out[name] = (None, flat[lo:hi])
                continue
            total = np.cumsum(per_entry)
            begin = int(total[lo - 1]) if lo else 0
            out[name] = (per_entry[lo:hi], flat[begin : int(total[hi - 1])])
        return out


GAP = 8192  # baskets closer than this are read in one pread (the bytes between read and passed over)


def _keys(fd: int, seeks: np.ndarray, sizes: np.ndarray) -> list[tuple[int, memoryview]]:
    """The baskets at ``seeks`` (``sizes`` bytes each) of the file ``fd``, (position in ``seeks``,
    its bytes) each, in file order: neighbours closer than GAP in one ``pread``, so a pass over a few
    of a file's branches reads their baskets, not the others' lying between them."""
    order = np.argsort(seeks, kind="stable").tolist()
    at, size = seeks.tolist(), sizes.tolist()
    out: list[tuple[int, memoryview]] = []
    run: list[int] = []
    for i in [*order, -1]:
        if run and (i < 0 or at[i] - (at[run[-1]] + size[run[-1]]) > GAP):
            lo = at[run[0]]
            hi = max(at[k] + size[k] for k in run)
            data = memoryview(os.pread(fd, hi - lo, lo))
            if data.nbytes != hi - lo:
                raise ValueError(f"bytes {lo}:{hi} lie past the end of the file")
            out += [(k, data[at[k] - lo : at[k] - lo + size[k]]) for k in run]
            run = []
        if i >= 0:
            run.append(i)
    return out


_SCRATCH = threading.local()  # per thread (passes may run on several): the payloads' buffer


def _scratch(size: int) -> np.ndarray:
    """``size`` bytes of this thread's buffer for basket payloads, reused from branch to branch (its
    pages touched once, not a new buffer's at every branch of every chunk); what is decoded into it
    is copied out before the next use."""
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _SCRATCH.buffer = np.empty(max(size, 2**20), dtype=np.uint8)
    return buffer[:size]


def _decode_branch(
    name: str, keys: list[memoryview], entries: list[int], dtype: np.dtype, jagged: bool
) -> tuple[np.ndarray | None, np.ndarray]:
    """One branch's baskets ``keys`` (``entries`` each), in order, as one (per-entry counts or None,
    values in native byte order): what ``rootio._basket_arrays`` gives basket by basket, with its
    checks, but the payloads decompressed into one buffer, their entry offsets checked and made
    counts by one numba pass over all of them (``_entry_counts``), their values joined and put in
    native byte order by one ``np.concatenate``."""
    from events import rootio

    # per basket: its payload's start in the buffer, the bytes of its values, its entries, its keylen
    heads = np.empty((len(keys), 4), dtype=np.int64)
    payloads: list[tuple[int, int]] = []
    total = 0
    for b, (key, n) in enumerate(zip(keys, entries, strict=True)):
        nbytes, _, objlen, _, keylen, _ = rootio._KEY.unpack_from(key)
        if nbytes != key.nbytes or not rootio._BASKET.size < keylen <= nbytes:
            recorded = key.nbytes
            raise ValueError(f"basket of {name}: a key of {nbytes} bytes where the branch records {recorded}")
        _, _, _, n_entries, last = rootio._BASKET.unpack_from(key, keylen - rootio._BASKET.size - 1)
        if n_entries != n or not keylen <= last <= keylen + objlen:
            raise ValueError(f"basket of {name}: {n_entries} entries, the branch records {n}")
        border = last - keylen
        if jagged and objlen < border + 4 * (n + 1):
            raise ValueError(f"basket of {name}: no room for the offsets of {n} entries")
        if not jagged and border != n * dtype.itemsize:
            raise ValueError(f"basket of {name}: {border} bytes for {n} entries of {dtype}")
        heads[b] = (total, border, n, keylen)
        payloads.append((keylen, objlen))
        total += objlen
    buffer = _scratch(total)
    view = memoryview(buffer)  # type: ignore[arg-type]  # (numpy arrays are buffers)
    for key, (keylen, objlen), at in zip(keys, payloads, heads[:, 0].tolist(), strict=True):
        rootio._decompress(name, key[keylen:], objlen, into=view[at : at + objlen])
    counts = None
    if jagged:
        counts, bad = _entry_counts(buffer, heads, dtype.itemsize)
        if bad >= 0:
            raise ValueError(f"basket of {name}: entry offsets out of order")
    size = dtype.itemsize
    parts = [buffer[at : at + border // size * size].view(dtype) for at, border in heads[:, :2].tolist()]
    return counts, np.concatenate(parts, dtype=dtype.newbyteorder("="))  # joined and byte-swapped at once


@numba.njit(cache=True)
def _entry_counts(
    buffer: np.ndarray, heads: np.ndarray, itemsize: int
) -> tuple[np.ndarray, int]:  # pragma: no cover
    """Each entry's count of a jagged branch from the big-endian int32 entry offsets after the values
    of every basket's payload in ``buffer`` (``heads``: start, value bytes, entries, keylen; each
    offset the entry's start from the key's start, the last entry ending where the values end), and
    -1, or the first basket whose offsets are out of order (the first entry not at the values'
    start, an entry ending before it starts, a size not whole items)."""
    n_entries = 0
    for b in range(heads.shape[0]):
        n_entries += heads[b, 2]
    counts = np.empty(n_entries, dtype=np.int64)
    c = 0
    for b in range(heads.shape[0]):
        start, border, entries, keylen = heads[b, 0], heads[b, 1], heads[b, 2], heads[b, 3]
        at = start + border + 4
        previous = np.int64(0)
        for i in range(entries + 1):
            if i < entries:
                p = at + 4 * i
                end = (
                    (np.int64(buffer[p]) << 24)
                    | (np.int64(buffer[p + 1]) << 16)
                    | (np.int64(buffer[p + 2]) << 8)
                    | np.int64(buffer[p + 3])
                )
                if end >= 2**31:
                    end -= 2**32
                if i == 0 and end != keylen:
                    return counts, b
            else:
                end = keylen + border
            if i > 0:
                width = end - previous
                if width < 0 or width % itemsize != 0:
                    return counts, b
                counts[c] = width // itemsize
                c += 1
            previous = end
    return counts, -1


# local ntuples -> their layouts, the most recently used kept while they hold at most LAYOUT_BYTES
# (16 bytes a basket of a branch: ~25 kB for the summary's branches of a 50 000-event file)
LAYOUT_BYTES = 16 * 2**20
_LAYOUTS: FileMemo[_Layout] = FileMemo(LAYOUT_BYTES)


def _layout(path: Path, entries: int, names: list[str], tree: Callable[[], Any | None]) -> _Layout | None:
    """The layout of the ntuple ``path`` holding the branches ``names``, learnt from ``tree()``
    where some are not known yet; None where the file is not read from its baskets (not plain
    baskets, not the file of ``entries`` entries, no tree to learn from now)."""
    key = file_key(path)  # (a file replaced since: learnt again)
    if key is None:
        return None
    layout = _LAYOUTS.get(key)
    missing = [name for name in names if layout is None or name not in layout.branches]
    if missing:
        got = tree()
        if got is None or int(got.num_entries) != entries:
            return None
        starts = np.asarray(got[missing[0]].entry_offsets, dtype=np.int64)
        if layout is None:
            layout = _Layout(starts)
        if not layout.learn(got, missing, path):
            return None
    assert layout is not None
    if int(layout.starts[-1]) != entries:
        return None
    _LAYOUTS.keep(key, layout)
    return layout


def concat(parts: list[EventBatch]) -> EventBatch:
    """Partial batches as one, with the columns all of them hold (whole batches, of the formats read
    whole, hold every column)."""
    if len(parts) == 1:
        return parts[0]
    keys = [k for k in parts[0].header if all(k in p.header for p in parts)]
    header = {k: np.concatenate([p.header[k] for p in parts]) for k in keys}
    colls = {}
    for name in COLLECTIONS:
        held = [getattr(p, name) for p in parts]
        counts = np.concatenate([c.counts for c in held])
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        columns = [k for k in held[0].columns if all(k in c.columns for c in held)]
        cols = {k: np.concatenate([c.columns[k] for c in held]) for k in columns}
        colls[name] = Collection(name, offsets, cols)
    return EventBatch(header, source=parts[0].source, **colls)


# --- the kernels ------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _sum(offsets: np.ndarray, values: np.ndarray) -> np.ndarray:  # pragma: no cover
    """np.add.at from 0.0: each event's rows summed in row order."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.float64)
    for e in range(n):
        total = 0.0
        for r in range(offsets[e], offsets[e + 1]):
            total = total + values[r]
        out[e] = total
    return out


@numba.njit(cache=True)
def _maximum(offsets: np.ndarray, values: np.ndarray, ignore_nan: bool) -> np.ndarray:  # pragma: no cover
    """np.maximum.at (NaN wins) or, with ``ignore_nan``, np.fmax.at, from 0.0 in row order."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.float64)
    for e in range(n):
        best = 0.0
        for r in range(offsets[e], offsets[e + 1]):
            v = values[r]
            if ignore_nan:
                if not (best >= v or np.isnan(v)):
                    best = v
            elif not (best >= v or np.isnan(best)):
                best = v
        out[e] = best
    return out


@numba.njit(cache=True)
def _count(offsets: np.ndarray, mask: np.ndarray) -> np.ndarray:  # pragma: no cover
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.float64)
    for e in range(n):
        k = 0
        for r in range(offsets[e], offsets[e + 1]):
            if mask[r]:
                k += 1
        out[e] = k
    return out


@numba.njit(cache=True)
def _muon_pair(
    offsets: np.ndarray, charge: np.ndarray, probability: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """The best mu+ and mu- of every event in one pass over the tracks. Per charge, the row
    ``np.lexsort((-score, event))`` puts first (``filtering._best_rows``: the largest score, ties to
    the first row) of the score ``probability`` where the track is a muon of that charge (probability
    at least MUON_PROBABILITY_MIN, never NaN) and -inf elsewhere; -1 where that row is no such muon or
    the event has no tracks."""
    n = len(offsets) - 1
    plus = np.full(n, -1, dtype=np.int64)
    minus = np.full(n, -1, dtype=np.int64)
    threshold = MUON_PROBABILITY_MIN
    for e in range(n):
        lo, hi = offsets[e], offsets[e + 1]
        if hi == lo:
            continue
        best_p, best_m = lo, lo
        key_p, key_m = np.inf, np.inf  # -score of the chosen rows (scores are never NaN)
        for r in range(lo, hi):
            p = probability[r]
            muon = p >= threshold  # False for NaN
            q = charge[r]
            k_p = -p if muon and q > 0 else np.inf
            k_m = -p if muon and q < 0 else np.inf
            if r == lo:
                key_p, key_m = k_p, k_m
            else:
                if k_p < key_p:
                    best_p, key_p = r, k_p
                if k_m < key_m:
                    best_m, key_m = r, k_m
        p = probability[best_p]
        if p >= threshold and charge[best_p] > 0:
            plus[e] = best_p
        p = probability[best_m]
        if p >= threshold and charge[best_m] < 0:
            minus[e] = best_m
    return plus, minus


# A track whose log L_mu lies d < 0 below the largest of its six log L has a muon probability
# L_mu / sum_h L_h = e^d / (1 + e^d + ...) < 1/2 (the largest term is 1); with d < _MUON_SCREEN it is
# under 0.49975, further from MUON_PROBABILITY_MIN (1/2) than any rounding: not a muon, whatever its
# exact probability. Only the others (about a third of the tracks) need the six exp of it.
_MUON_SCREEN = -1e-3


@numba.njit(cache=True)
def _muon_candidates(pid_logl: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The tracks that may be muons: log L_mu within _MUON_SCREEN of the largest log L (the same
    float64 subtraction ``pid.probability`` makes); False where a log-likelihood is NaN."""
    n = pid_logl.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    mu = MUON_HYPOTHESIS
    for r in range(n):
        top = np.float64(pid_logl[r, 0])
        for h in range(1, pid_logl.shape[1]):
            v = np.float64(pid_logl[r, h])
            if not top >= v and not np.isnan(top):  # v is larger or NaN; a NaN stays (np.maximum)
                top = v
        out[r] = np.float64(pid_logl[r, mu]) - top >= _MUON_SCREEN
    return out


@numba.njit(cache=True)
def _ecl_pass(
    offsets: np.ndarray, energy: np.ndarray, hypotheses: np.ndarray, is_track: np.ndarray, hardest: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """Every per-event figure of the ECL clusters in one pass: the number of photon-hypothesis
    clusters (``_count``), the sum and the largest of their energies (as float64, 0.0 for the others:
    ``_sum`` and ``_maximum`` of ``Kernels._ecl_energy``) and, with ``hardest``, the row of the most
    energetic neutral photon candidate: the row ``np.lexsort`` puts first for the score energy where
    the cluster is a photon without a track, -inf elsewhere (the largest, ties to the first row, NaN
    last), -1 where that row is no such photon or the event has no clusters."""
    n = len(offsets) - 1
    count = np.zeros(n, dtype=np.float64)
    total = np.zeros(n, dtype=np.float64)
    largest = np.zeros(n, dtype=np.float64)
    rows = np.full(n, -1, dtype=np.int64)
    for e in range(n):
        lo, hi = offsets[e], offsets[e + 1]
        k = 0
        s = 0.0
        top = 0.0
        best = lo
        key = np.inf
        for r in range(lo, hi):
            photon = (hypotheses[r] & 16) != 0
            v = np.float64(energy[r]) if photon else 0.0
            if photon:
                k += 1
            s = s + v
            if not (top >= v or np.isnan(top)):
                top = v
            if hardest:
                neutral = photon and not is_track[r]
                kr = -v if neutral else np.inf
                if r == lo:
                    key = kr
                elif not np.isnan(kr) and (np.isnan(key) or kr < key):
                    best, key = r, kr
        count[e] = k
        total[e] = s
        largest[e] = top
        if hardest and hi > lo and (hypotheses[best] & 16) != 0 and not is_track[best]:
            rows[e] = best
    return count, total, largest, rows


_L1_MASK = np.uint64((1 << len(trigger.L1_BITS)) - 1)
# the ECL figures _ecl_pass gives together
_ECL_PASS = ("necl", "total_ecl_energy", "max_ecl_energy")


class Kernels:
    """The variables of one (partial or full) batch, each computed once when first asked for.

    The per-event choices and reductions of the summary's variables are fused: one numba pass over
    the tracks picks both muons of the best pair (``_muon_pair``), one over the ECL clusters gives
    ``necl``, both energies and the hardest photon (``_ecl_pass``), so a chunk goes through each
    collection once whatever the order the variables are asked in."""

    def __init__(self, batch: EventBatch) -> None:
        self.batch = batch
        self._memo: dict[str, np.ndarray] = {}

    def __call__(self, name: str) -> np.ndarray:
        value = self._memo.get(name)
        if value is None:
            value = self._memo[name] = self._compute(name)
        return value

    def _photon(self) -> np.ndarray:
        if "_photon" not in self._memo:
            self._memo["_photon"] = (self.batch.ecl["hypotheses"] & 16) != 0
        return self._memo["_photon"]

    def _ecl_energy(self) -> np.ndarray:
        if "_ecl_energy" not in self._memo:
            energy = np.where(self._photon(), self.batch.ecl["energy"], 0.0)
            self._memo["_ecl_energy"] = energy.astype(np.float64)
        return self._memo["_ecl_energy"]

    def _muon_probability(self) -> np.ndarray:
        """``pid.muon_probability`` of the tracks that may be muons (``_muon_candidates``), NaN for the
        others: the probability decides only which tracks are muons and which muon is best, and the
        others' is under MUON_PROBABILITY_MIN. Computed row by row, so the same numbers as over all."""
        pid_logl = self.batch.tracks["pid_logl"]
        candidates = np.flatnonzero(_muon_candidates(pid_logl))
        probability = np.full(len(pid_logl), np.nan)
        if len(candidates):
            probability[candidates] = muon_probability(pid_logl[candidates])
        return probability

    def _ecl(self, name: str) -> np.ndarray:
        """``name`` of the fused ECL pass (the others it gives kept for later)."""
        if name not in self._memo:
            c = self.batch.ecl
            hardest = name == "_hardest" or "is_track" in c.columns  # (read: the photon is wanted)
            is_track = c["is_track"] if hardest else np.zeros(0, dtype=np.bool_)
            energy, hypotheses = c["energy"], c["hypotheses"]
            count, total, largest, rows = _ecl_pass(c.offsets, energy, hypotheses, is_track, hardest)
            self._memo.update(zip(_ECL_PASS, (count, total, largest), strict=True))
            if hardest:
                self._memo["_hardest"] = rows
        return self._memo[name]

    def _compute(self, name: str) -> np.ndarray:
        b = self.batch
        t, c = b.tracks, b.ecl
        header = {"experiment", "run", "event", "process", "signal", "signal_mass"}
        if name in header:
            return b.header[name].astype(np.float64)
        if name in ("ntracks", "nklm", "nvertices", "nmc"):
            coll = {"ntracks": t, "nklm": b.klm, "nvertices": b.vertices, "nmc": b.mc}[name]
            return coll.counts.astype(np.float64)
        if name in _ECL_PASS:
            if "energy" not in c.columns:  # (necl alone reads the hypotheses only)
                return _count(c.offsets, self._photon())
            return self._ecl(name)
        if name == "npositive":
            return _count(t.offsets, t["charge"] > 0)
        if name == "nnegative":
            return _count(t.offsets, t["charge"] < 0)
        if name == "total_charge":
            return _sum(t.offsets, t["charge"].astype(np.float64))
        if name == "max_p":
            return _maximum(t.offsets, filtering._track_p(b).astype(np.float64), True)
        if name == "max_pt":
            return _maximum(t.offsets, filtering._track_pt(b).astype(np.float64), True)
        if name == "nl1":
            return np.bitwise_count(b.header["l1_bits"].astype(np.uint64) & _L1_MASK).astype(np.float64)
        if name == "recoil_mass":
            plus, minus = _muon_pair(t.offsets, t["charge"], self._muon_probability())
            return filtering.recoil_of_pair(b, plus, minus)
        if name == "photon_cms_energy":
            return filtering.photon_cms_energy_of(b, self._ecl("_hardest"))
        raise KeyError(f"no columnar kernel for {name!r}")


def quantities(batch: EventBatch, names: Iterable[str]) -> dict[str, np.ndarray]:
    """The variables ``names`` of ``batch`` (read with at least ``needs_of(names)``), float64 each."""
    kernels = Kernels(batch)
    return {name: kernels(name) for name in names}
