"""Many event files as one: a data set with a global event index over files of any readable format.

:func:`open_dataset` takes one file, several files, a glob (``data/*.root``, ``runs/**/*.h5``) or a
folder (every event file directly inside it, sorted by name), in any mix of the formats
``events.io.open_events`` reads, and returns a :class:`DataSet`: one ``EventSource`` whose events
are those of its files one after another. ``read(start, stop)`` may span file boundaries;
``locate(i)`` says which file and which event of it global event ``i`` is.

The global index is lazy: making a data set opens its first file only (its first event is at hand
at once, whatever the number of files); the others are counted in file order from cheap metadata
(``events.io.count_events``: a ROOT file's TTree header, a store's attributes, ~1 ms a file) by a
thread of its own, and on demand when an event past the files counted so far is asked for (the files
up to it are counted then). ``len(data)``, ``offsets`` and ``files`` count whatever is left first, so
they are always the whole data set's; ``counted`` and ``counted_events`` say how far the index has
grown. At most ``max_open`` files are kept open (least recently used closed first; an open file
costs little and opening it again much), and only the ``max_cached`` most recently read keep their
decoded chunks or baskets, so memory is bounded by the chunk size and those bounds, never by the
data set.

A file that cannot be counted (damaged, truncated, not an event file) is left out and recorded
as one line in ``issues`` that starts with the file and says why, when the index reaches it (on the
caller's thread, never the counting thread's); the data set goes on with the others. A file
that opens but fails while reading raises ``EventFileError`` from ``read`` (random access cannot
skip events silently), while :meth:`DataSet.scan`, the whole-data-set pass, records it once and
goes on with the next file. A glob that matches nothing, a folder without event files and a
named file that does not exist raise ``EventFileError`` naming the pattern, folder or file.

A file may be a URL (``root://``, ``https://``, ``davs://``: ``events.remote``), taken as it is
(no glob or folder expansion over the network); a remote file that cannot be reached is left out
like a damaged one, and one whose server goes away during a scan ends that file's part of the pass.
"""

from __future__ import annotations

import bisect
import glob
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from events.io import SUFFIXES, count_events, open_events
from events.model import EventBatch
from events.source import EventFileError, EventSource, Location, is_url, location

if TYPE_CHECKING:  # events.columnar (numba, h5py) is imported by the passes that use it
    from events.columnar import Needs

# Files kept open between reads, least recently used closed first: an open file's handle is small
# (~0.4 MB a store, ~1.3 MB an ntuple, ~3.5 MB an mdst file) and opening one again costs 10-100 ms
# (300 ms for mdst), most of a random event's time; only the MAX_CACHED most recently read keep
# their decoded chunks or baskets (up to 24 MB a store, 64 MB an ntuple), the others are trimmed.
MAX_OPEN = 32
MAX_CACHED = 3
GLOB_CHARACTERS = frozenset("*?[")

Spec = str | Path | Sequence[str | Path]


def is_pattern(spec: str | Path) -> bool:
    """Whether ``spec`` is a glob pattern (holds ``*``, ``?`` or ``[``) rather than a path."""
    return bool(GLOB_CHARACTERS & set(str(spec)))


def is_event_file(path: Path) -> bool:
    """A regular file with a suffix ``events.io`` reads."""
    return path.suffix.lower() in SUFFIXES and path.is_file()


def _folder_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if is_event_file(p))
    if not files:
        raise EventFileError(folder, f"the folder holds no event files ({', '.join(SUFFIXES)})")
    return files


def expand(spec: Spec) -> list[Location]:
    """The event files ``spec`` names, in data-set order, each once.

    A glob expands to its matches sorted by name (``**`` recurses); a folder to the event files
    directly inside it, sorted; a sequence to the expansion of each element in turn. A plain
    path is kept as it is (``open_events`` says what is wrong with it) unless it does not exist;
    a URL is kept as it is (its ``?`` is a query, not a glob).
    """
    specs: Sequence[str | Path] = [spec] if isinstance(spec, str | Path) else spec
    if not specs:
        raise EventFileError("<no files>", "no event files given")
    files: list[Location] = []
    for item in specs:
        if is_url(item):
            files.append(str(item))
            continue
        path = Path(item)
        if is_pattern(item) and not path.exists():
            matches = [Path(m) for m in sorted(glob.glob(str(item), recursive=True))]
            if not matches:
                raise EventFileError(item, "no files match this pattern")
            inside = [p for m in matches for p in (_folder_files(m) if m.is_dir() else [m])]
            found = [p for p in inside if is_event_file(p)]
            if not found:
                raise EventFileError(
                    item, f"{len(matches)} path(s) match, none an event file ({', '.join(SUFFIXES)})"
                )
            files += found
        elif path.is_dir():
            files += _folder_files(path)
        elif not path.exists():
            raise EventFileError(path, "no such file")
        else:
            files.append(path)
    unique: dict[Location, Location] = {}
    for f in files:
        unique.setdefault(f if isinstance(f, str) else f.resolve(), f)
    return list(unique.values())


def _label(spec: Spec) -> str:
    if isinstance(spec, str | Path):
        return str(spec)
    return str(spec[0]) if len(spec) == 1 else f"{spec[0]} (+{len(spec) - 1} more)"


@dataclass(frozen=True)
class Chunk:
    """Events of one pass of :meth:`DataSet.scan`: the batch and the global index of each of its events.

    A scan with ``needs`` gives partial batches (``events.columnar``: only the columns asked for);
    ``pieces`` says where the chunk's events are, (file, local start, local stop) per file, for
    reading the whole of some of them again (:meth:`DataSet.take`)."""

    batch: EventBatch
    index: np.ndarray  # int64, global event index per event of ``batch``
    pieces: tuple[tuple[int, int, int], ...] = ()

    @property
    def start(self) -> int:
        return int(self.index[0]) if len(self.index) else 0


class DataSet(EventSource):
    """The events of several files as one source with a global event index (see the module doc)."""

    def __init__(
        self,
        files: Sequence[str | Path],
        label: str = "",
        max_open: int = MAX_OPEN,
        background: bool = True,
        max_cached: int = MAX_CACHED,
    ) -> None:
        super().__init__(label or (str(files[0]) if len(files) == 1 else f"{len(files)} files"))
        if not files:
            raise EventFileError(self.path, "no event files given")
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.max_open = max_open
        self.max_cached = max(1, min(max_cached, max_open))
        self._open: OrderedDict[int, EventSource] = OrderedDict()  # file number -> source, LRU first
        self._passing: set[int] = set()  # open files last read by a pass (scan, take), not at random
        self._issues_seen: dict[int, int] = {}  # file number -> issue lines of its source forwarded
        self._unreadable: set[int] = set()  # files a read failed in (recorded once)
        self._failed_take: set[int] = set()  # files that failed when whole events were read again
        self._ntuples: set[int] = set()  # local ntuples: a columnar pass reads them without a source
        self.left_out: list[Location] = []  # files (or the rest of files) whose events are not in a pass
        # The index: the files still in the data set, the first len(self._lengths) of them counted.
        # A file is counted (io.count_events) when an event at or past it is asked for, when the
        # length is, or by the counting thread ahead of both; counting goes in file order, so a file
        # found unreadable is always the first uncounted one and leaves the list there.
        self._files: list[Location] = [location(f) for f in files]
        self._lengths: list[int] = []
        self._ends: list[int] = []  # global index past each counted file's last event
        self._errors: list[EventFileError] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._arrays: tuple[int, np.ndarray, np.ndarray] | None = None  # (counted, lengths, offsets)
        self._thread: threading.Thread | None = None
        self._count_first()
        if background and not self._complete:
            self._thread = threading.Thread(target=self._count_ahead, name="dataset-count", daemon=True)
            self._thread.start()

    # --- the index, counted lazily --------------------------------------------------------------

    def _count_first(self) -> None:
        """Open the first readable file (its first event is the first one shown); the files before
        it that cannot be opened are left out. None readable: ``EventFileError``."""
        while self._files:
            path = self._files[0]
            try:
                source = open_events(path)
            except EventFileError as exc:
                self._leave_out_uncounted(exc)
                continue
            self._add_count(len(source), type(source).__name__ == "NtupleSource")
            self._keep(0, source)
            return
        self._raise_none_readable()

    def _raise_none_readable(self) -> None:
        if len(self._errors) == 1:
            raise self._errors[0]
        raise EventFileError(
            self.path, f"none of the {len(self._errors)} files could be read; first: {self._errors[0]}"
        )

    def _add_count(self, n: int, ntuple: bool) -> None:
        k = len(self._lengths)
        if ntuple and isinstance(self._files[k], Path):
            self._ntuples.add(k)
        self._ends.append((self._ends[-1] if self._ends else 0) + n)  # first: _lengths says "counted"
        self._lengths.append(n)

    def _leave_out_uncounted(self, exc: EventFileError) -> None:
        """The first uncounted file cannot be read: out of the data set, with one line naming it."""
        path = self._files.pop(len(self._lengths))
        self._errors.append(exc)
        self.left_out.append(path)
        self.note(f"{exc}; the file is left out")

    def _count_next(self, quiet: bool = False) -> bool:
        """Count the first uncounted file (under the lock); False when all are counted. ``quiet``
        (the counting thread): a file that cannot be counted is left for a caller's thread to find,
        so its line is noted (and logged) there, once."""
        with self._lock:
            k = len(self._lengths)
            if k >= len(self._files):
                return False
            try:
                n, kind = count_events(self._files[k])
            except EventFileError as exc:
                if quiet:
                    return False
                self._leave_out_uncounted(exc)
                return True
            self._add_count(n, kind == "ntuple")
            return True

    def _count_ahead(self) -> None:
        """The counting thread: the files after the first, in order, until all are counted, one is
        unreadable (left to the caller's thread) or the data set is closed."""
        while not self._stop.is_set():
            try:
                if not self._count_next(quiet=True):
                    return
            except Exception:  # never let a thread die noisily: the caller's thread counts it again
                return

    def _cover(self, i: int) -> None:
        """Count files until global event ``i`` is in a counted file or every file is counted."""
        if self._ends and i < self._ends[-1]:
            return
        with self._lock:
            while not (self._ends and i < self._ends[-1]) and self._count_next():
                pass

    def _count_all(self) -> None:
        if not self._complete:
            with self._lock:
                while self._count_next():
                    pass

    @property
    def _complete(self) -> bool:
        return len(self._lengths) == len(self._files)

    @property
    def counted(self) -> int:
        """How many files are counted so far (the index grows in file order)."""
        return len(self._lengths)

    @property
    def fully_counted(self) -> bool:
        """Whether every file is counted: ``len`` and ``offsets`` are then at hand without opening any."""
        return self._complete

    @property
    def counted_events(self) -> int:
        """The events of the files counted so far (``len(data)`` once all are)."""
        return self._ends[-1] if self._ends else 0

    @property
    def files(self) -> list[Location]:
        """The data set's files, in order (those left out are not among them; all are counted)."""
        self._count_all()
        return self._files

    def _index_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(lengths, offsets) of the files counted so far."""
        arrays = self._arrays
        counted = len(self._lengths)
        if arrays is None or arrays[0] != counted:
            lengths = np.asarray(self._lengths[:counted], dtype=np.int64)
            offsets = np.zeros(counted + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            arrays = self._arrays = (counted, lengths, offsets)
        return arrays[1], arrays[2]

    @property
    def lengths(self) -> np.ndarray:
        """Events per file (every file counted)."""
        self._count_all()
        return self._index_arrays()[0]

    @property
    def offsets(self) -> np.ndarray:
        """Cumulative event counts: ``offsets[k]`` is the global index of the first event of file ``k``
        (every file counted)."""
        self._count_all()
        return self._index_arrays()[1]

    def _start_of(self, k: int) -> int:
        return self._ends[k - 1] if k else 0

    # --- the files ------------------------------------------------------------------------------

    def _keep(self, k: int, source: EventSource, passing: bool = False) -> None:
        self._open[k] = source
        self._open.move_to_end(k)
        if passing:
            self._passing.add(k)
        else:
            self._passing.discard(k)
        self._forward(k, source)
        self.missing |= source.missing
        while len(self._open) > self.max_open:
            j, old = self._open.popitem(last=False)
            self._passing.discard(j)
            old.close()
        if len(self._open) > self.max_cached:  # the file that has just left the cached few
            j = list(self._open)[-self.max_cached - 1]
            if j in self._passing:  # a pass is done with it: closed (a pass of many files would
                self._passing.discard(j)  # keep them all open, with what their readers hold)
                self._open.pop(j).close()
            else:  # last read at random: kept open, without its caches
                self._open[j].trim()

    def _forward(self, k: int, source: EventSource) -> None:
        """Record what the file's reader noted since last time, naming the file."""
        seen = self._issues_seen.get(k, 0)
        for line in source.issues[seen:]:
            self.note(f"{source.path}: {line}")
        self._issues_seen[k] = len(source.issues)

    def source(self, k: int, passing: bool = False) -> EventSource:
        """The reader of file ``k`` (opened again if it was closed); ``passing``: for a pass over
        the data set, which closes it once it leaves the ``max_cached`` files read last."""
        source = self._open.get(k)
        if source is None:
            source = open_events(self._files[k])
            self._issues_seen[k] = 0
        self._keep(k, source, passing)
        return source

    @property
    def open_files(self) -> int:
        """How many files are open now (at most ``max_open``; the ``max_cached`` most recently read
        of them keep their decoded chunks or baskets)."""
        return len(self._open)

    def __enter__(self) -> DataSet:
        return self

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        while self._open:
            _, source = self._open.popitem(last=False)
            source.close()

    # --- the global index ---------------------------------------------------------------------

    def __len__(self) -> int:
        self._count_all()
        return self.counted_events

    def file_of(self, i: int | np.ndarray) -> np.ndarray:
        """The file number of global event(s) ``i`` (no bounds check; counts files up to the largest)."""
        top = int(np.max(i)) if np.size(i) else 0
        self._cover(top)
        return np.searchsorted(self._index_arrays()[1], i, side="right") - 1

    def locate(self, i: int) -> tuple[Location, int]:
        """(file, index of the event in that file) of global event ``i`` (negative counts from the end).

        Only the files up to event ``i`` are counted (a negative ``i`` counts them all)."""
        if i < 0:
            i += len(self)
        if i >= 0:
            self._cover(i)
        n = self.counted_events
        if not 0 <= i < n:
            n = len(self)
            raise EventFileError(self.path, f"event index {i} out of range: the data set holds {n} events")
        k = bisect.bisect_right(self._ends, i)
        return self._files[k], i - self._start_of(k)

    def event(self, i: int) -> EventBatch:
        """Global event ``i`` as a batch of one (negative counts from the end)."""
        self.locate(i)  # the range check, worded for a data set; counts the files up to it
        if i < 0:
            i += len(self)
        return self.read(i, i + 1)

    def _pieces(self, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
        """(file, local start, local stop) of the files global events ``start:stop`` lie in (counted)."""
        if start >= stop:
            return
        first, last = bisect.bisect_right(self._ends, start), bisect.bisect_right(self._ends, stop - 1)
        for k in range(first, last + 1):
            base = self._start_of(k)
            lo = max(start, base) - base
            hi = min(stop, self._ends[k]) - base
            if hi > lo:
                yield k, lo, hi

    def _read_piece(
        self, k: int, lo: int, hi: int, needs: Needs | None = None, passing: bool = False
    ) -> EventBatch:
        if needs is not None and k in self._ntuples and k not in self._open:
            from events import columnar

            path = Path(self._files[k])
            read = columnar.read_ntuple_file(path, self._lengths[k], lo, hi, needs)
            if read is not None:  # (None: not mappable now; opened as usual below)
                batch, issues, dropped = read
                for line in issues:
                    self.note(f"{path}: {line}")
                self.dropped_tracks += dropped
                return batch
        try:
            source = self.source(k, passing)
            dropped = source.dropped_tracks
            if needs is None:
                batch = source.read(lo, hi)
            else:
                from events import columnar

                batch = columnar.read(source, lo, hi, needs)
        except EventFileError:
            self._drop(k)
            raise
        self.dropped_tracks += source.dropped_tracks - dropped
        self._forward(k, source)
        return batch

    def _drop(self, k: int) -> None:
        self._passing.discard(k)
        source = self._open.pop(k, None)
        if source is not None:
            source.close()

    def read(self, start: int = 0, stop: int | None = None) -> EventBatch:
        """Global events ``start:stop`` (clipped), concatenated across file boundaries.

        Each file's reader has already checked its events (``sanitize``); what it noted is in
        ``issues``, prefixed with the file. A file failing here raises ``EventFileError`` naming it.
        """
        if stop is None:
            stop = len(self)
        elif stop > 0:
            self._cover(stop - 1)  # the files up to the range's end, no further
        stop = min(stop, self.counted_events)
        if start < 0 or start > stop:
            raise EventFileError(
                self.path, f"event range {start}:{stop} is outside the data set's {len(self)} events"
            )
        parts = [self._read_piece(k, lo, hi) for k, lo, hi in self._pieces(start, stop)]
        if len(parts) == 1:
            return parts[0]
        return EventBatch.concat(parts) if parts else EventBatch.empty()

    def scan(self, size: int = 10_000, needs: Needs | None = None) -> Iterator[Chunk]:
        """Every event once, in chunks of at most ``size`` events (which may span files).

        A file whose events cannot be read is recorded in ``issues`` once and the rest of it is
        skipped; the chunk's ``index`` says which global events it holds. With ``needs`` (header /
        collection -> columns, ``events.columnar.needs_of``) the batches are partial: only those
        columns are read where the format allows (``events.columnar.read``).
        """
        if size < 1:
            raise ValueError("chunk size must be positive")
        parts: list[EventBatch] = []
        indices: list[np.ndarray] = []
        pieces: list[tuple[int, int, int]] = []
        held = 0
        k = -1
        while True:  # the files in order, each counted when the pass reaches it
            k += 1
            with self._lock:
                while k >= len(self._lengths) and self._count_next():
                    pass
                if k >= len(self._lengths):
                    break
                length, base, lo = self._lengths[k], self._start_of(k), 0
            while lo < length and k not in self._unreadable:  # (a file may fail a take() meanwhile)
                hi = min(lo + size - held, length)
                try:
                    parts.append(self._read_piece(k, lo, hi, needs, passing=True))
                except EventFileError as exc:
                    self._leave_out(k, exc)
                    break  # on with the next file
                indices.append(np.arange(base + lo, base + hi, dtype=np.int64))
                pieces.append((k, lo, hi))
                held += hi - lo
                lo = hi
                if held == size:
                    yield self._chunk(parts, indices, pieces, needs is not None)
                    parts, indices, pieces, held = [], [], [], 0
        if parts:
            yield self._chunk(parts, indices, pieces, needs is not None)

    def _leave_out(self, k: int, exc: EventFileError) -> None:
        """Record once that the rest of file ``k`` is left out of a pass, and why."""
        if k not in self._unreadable:
            self._unreadable.add(k)
            self.left_out.append(self._files[k])
            self.note(f"{exc}; the rest of the file is left out")

    @staticmethod
    def _chunk(
        parts: list[EventBatch], indices: list[np.ndarray], pieces: list[tuple[int, int, int]], partial: bool
    ) -> Chunk:
        if len(parts) == 1:
            batch = parts[0]
        elif partial:
            from events import columnar

            batch = columnar.concat(parts)
        else:
            batch = EventBatch.concat(parts)
        return Chunk(batch, np.concatenate(indices), tuple(pieces))

    def take(self, chunk: Chunk, rows: np.ndarray) -> tuple[EventBatch, np.ndarray]:
        """The whole events ``rows`` (positions in ``chunk``) of a chunk of :meth:`scan`, read again
        (per file, the span from the first to the last of them), and the rows they are: a file that
        fails now is left out as in ``scan`` (recorded once; the scan reads no more of it) and its
        rows are not among them. :meth:`lost` counts the chunk's events of such files."""
        rows = np.asarray(rows, dtype=np.int64)
        parts: list[EventBatch] = []
        kept: list[np.ndarray] = []
        first = 0
        for k, lo, hi in chunk.pieces:
            mine = rows[(rows >= first) & (rows < first + hi - lo)] - first
            if len(mine):
                a, b = lo + int(mine[0]), lo + int(mine[-1]) + 1
                try:
                    batch = self._reread(k, a, b)
                except EventFileError as exc:
                    self._leave_out(k, exc)
                    self._failed_take.add(k)
                else:
                    parts.append(batch.take(mine - int(mine[0])))
                    kept.append(mine + first)
            first += hi - lo
        picked = parts[0] if len(parts) == 1 else EventBatch.concat(parts) if parts else EventBatch.empty()
        return picked, np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)

    def lost(self, chunk: Chunk) -> int:
        """The events of ``chunk`` whose files failed a :meth:`take` (not read, as far as a pass is
        concerned: they are left out like the rest of their files)."""
        return sum(hi - lo for k, lo, hi in chunk.pieces if k in self._failed_take)

    def _reread(self, k: int, lo: int, hi: int) -> EventBatch:
        """Events of file ``k`` a pass has read already: what the reader notes again (dropped tracks)
        was recorded the first time, so it is not recorded twice."""
        from events import columnar

        try:
            source = self.source(k, passing=True)
            seen, dropped = len(source.issues), source.dropped_tracks
            batch = columnar.read_whole(source, lo, hi)
        except EventFileError:
            self._drop(k)
            raise
        del source.issues[seen:]
        source.dropped_tracks = dropped
        return batch

    def chunks(self, size: int = 1000) -> Iterator[EventBatch]:
        """The batches of :meth:`scan` (damaged files skipped and recorded)."""
        for chunk in self.scan(size):
            yield chunk.batch

    def __repr__(self) -> str:
        return f"DataSet({str(self.path)!r}, {len(self.files)} files, {len(self)} events)"


def open_dataset(
    spec: Spec, max_open: int = MAX_OPEN, background: bool = True, max_cached: int = MAX_CACHED
) -> DataSet:
    """Open one file, several files, a glob or a folder as one :class:`DataSet` (see the module doc);
    ``background``: count the files after the first on a thread of its own while the first is read."""
    return DataSet(
        expand(spec), label=_label(spec), max_open=max_open, background=background, max_cached=max_cached
    )
