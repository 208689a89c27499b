"""What every event reader shares: the source base class, the one-line file error, the batch check.

A pure leaf of ``events``: readers (``events.hdf5``, ``events.mdst``, ``events.rootio``,
``events.phoenix``) build on it, and ``events.io`` chooses among them by format, so no reader
needs ``events.io``.

Every failure on a user's file raises :class:`EventFileError` naming the file and the problem.
Readers check what they hand out (:func:`sanitize`): tracks with a non-finite helix are dropped
and counted in ``EventSource.issues`` instead of being drawn, and implausible multiplicities
are reported there too, so a display can say what it did with the file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np

from events.model import Collection, EventBatch

log = logging.getLogger(__name__)

# A Belle II event has at most a few dozen tracks; more than this is flagged as suspicious.
PLAUSIBLE_TRACKS = 1000
HELIX = ("d0", "phi0", "omega", "z0", "tan_lambda")


MAX_MESSAGE = 400  # characters of a library's message kept in one error line

# Where events come from: a local file (a Path) or a remote file named by its URL (a str, kept as
# given: Path("root://host//data/f.root") would fold the double slash the URL depends on).
Location = Path | str
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(spec: object) -> bool:
    """Whether ``spec`` is a URL (``root://``, ``https://``, ...) rather than a local path."""
    return isinstance(spec, str) and bool(_URL.match(spec))


def location(spec: str | Path) -> Location:
    """A URL as the string it is, anything else as a Path."""
    return spec if isinstance(spec, str) and is_url(spec) else Path(spec)


def location_name(where: Location) -> str:
    """The file name of a path or URL (``f.root`` of ``root://host//data/f.root?x=1``)."""
    if isinstance(where, str) and is_url(where):
        return PurePosixPath(urlsplit(where).path).name
    return Path(where).name


def location_suffix(where: Location) -> str:
    """The suffix of a path or URL, lower case (a URL's query and fragment are not part of it)."""
    return PurePosixPath(location_name(where)).suffix.lower()


class EventFileError(Exception):
    """A file that cannot be read or written as events; ``str()`` names the file and the problem."""

    def __init__(self, path: str | Path, message: str) -> None:
        message = " ".join(message.split())  # one line, whatever the underlying library said
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 1] + "…"
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message


class Events(Protocol):
    """What a browser or a job needs of events: a length and bounded reads.

    Every :class:`EventSource` is one, and so is an in-memory live buffer
    (``monitoring.live_events.LiveBuffer``).
    """

    def __len__(self) -> int: ...

    def read(self, start: int, stop: int) -> EventBatch: ...


class EventSource:
    """Random access to the events of one file in bounded batches.

    Subclasses implement ``__len__`` and ``_read``; ``read`` checks bounds, sanitizes the batch
    and records what it dropped in ``issues`` (one human-readable line per problem).
    """

    def __init__(self, path: str | Path) -> None:
        self.path: Location = location(path)
        self.issues: list[str] = []
        self.dropped_tracks = 0
        self.missing: set[str] = set()  # collections the file cannot provide (e.g. no track leaves)

    def note(self, line: str) -> None:
        """Record a problem with the file (shown by the GUI, ``dump`` and ``histogram``) and log it."""
        log.warning("%s: %s", self.path, line)
        self.issues.append(line)

    def __len__(self) -> int:
        raise NotImplementedError

    def _read(self, start: int, stop: int) -> EventBatch:
        raise NotImplementedError

    def read(self, start: int = 0, stop: int | None = None) -> EventBatch:
        """Events ``start:stop`` (clipped to the file) as one batch."""
        return self.read_with(start, stop, self._read, sanitize)

    def read_with(
        self,
        start: int,
        stop: int | None,
        read: Callable[[int, int], EventBatch],
        clean: Callable[[EventBatch, int], tuple[EventBatch, list[str], int]],
    ) -> EventBatch:
        """Events ``start:stop`` (clipped) read by ``read`` and screened by ``clean`` (``sanitize`` or
        a partial batch's version of it): its lines noted, a failure one ``EventFileError`` naming
        the file."""
        n = len(self)
        stop = n if stop is None else min(stop, n)
        if start < 0 or start > stop:
            raise EventFileError(self.path, f"event range {start}:{stop} is outside the file's {n} events")
        try:
            clean_batch, issues, dropped = clean(read(start, stop), start)
        except EventFileError:
            self._failed()
            raise
        except Exception as exc:  # whatever a damaged file makes a library raise: one line
            self._failed()
            raise unexpected(self.path, exc, f"cannot read events {start}:{stop}") from exc
        self.dropped_tracks += dropped
        for line in issues:
            self.note(line)
        return clean_batch

    def _failed(self) -> None:
        """Called when a read failed (the ROOT sources undo what the damaged file left in uproot)."""

    def event(self, i: int) -> EventBatch:
        n = len(self)
        if not -n <= i < n:
            raise EventFileError(self.path, f"event index {i} out of range: the file holds {n} events")
        i %= n
        return self.read(i, i + 1)

    def close(self) -> None:
        """Release the file (sources that keep it open between reads override this)."""

    def trim(self) -> None:
        """Drop what the source keeps of events read before (decoded chunks, baskets), keeping the
        file open: a data set trims the files it has not read lately (sources that cache override this)."""

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self, size: int = 1000) -> Iterator[EventBatch]:
        if size < 1:
            raise ValueError("chunk size must be positive")
        for start in range(0, len(self), size):
            yield self.read(start, start + size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, {len(self)} events)"


def good_tracks(tracks: Collection) -> np.ndarray:
    """Per flat track row: whether its helix is finite (the tracks :func:`sanitize` keeps)."""
    good = np.ones(tracks.size, dtype=bool)
    for name in HELIX:
        good &= np.isfinite(tracks[name])
    return good


def track_issues(counts: np.ndarray, bad_event_of: np.ndarray | None, first_event: int) -> list[str]:
    """The lines :func:`sanitize` records: events with implausibly many tracks (``counts`` per event,
    before any is dropped), then the dropped tracks (``bad_event_of``: the event of each, or None)."""
    big = np.flatnonzero(counts > PLAUSIBLE_TRACKS)
    issues = [
        f"event {first_event + int(i)} has {int(counts[i])} tracks, more than the {PLAUSIBLE_TRACKS} "
        "a Belle II event plausibly holds"
        for i in big
    ]
    if bad_event_of is not None and len(bad_event_of):
        bad_events = np.unique(bad_event_of)
        shown = ", ".join(str(first_event + int(e)) for e in bad_events[:10])
        more = "" if len(bad_events) <= 10 else f" and {len(bad_events) - 10} more"
        issues.append(
            f"dropped {len(bad_event_of)} track(s) with a NaN or infinite helix (events {shown}{more})"
        )
    return issues


def screen_tracks(tracks: Collection, first_event: int) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """The tracks :func:`sanitize` keeps (a mask over the flat rows), the event of every row where
    some are dropped (None where all are kept), and the lines it records (:func:`track_issues`)."""
    good = good_tracks(tracks)
    if good.all():
        return good, None, track_issues(tracks.counts, None, first_event)
    event_of = tracks.event_index()
    return good, event_of, track_issues(tracks.counts, event_of[~good], first_event)


def sanitize(batch: EventBatch, first_event: int = 0) -> tuple[EventBatch, list[str], int]:
    """Drop tracks whose helix is not finite; report them and implausible multiplicities.

    Vertex daughter indices are remapped to the surviving tracks (-1 where a daughter was dropped).
    Returns (clean batch, issue lines, number of dropped tracks).
    """
    tracks = batch.tracks
    counts = tracks.counts
    good, event_of, issues = screen_tracks(tracks, first_event)
    if event_of is None:
        return batch, issues, 0
    n_bad = int(tracks.size - good.sum())
    # position of every old track among the surviving tracks of its event, -1 if dropped
    kept = np.concatenate(([0], np.cumsum(good)))  # surviving tracks before each row, over the batch
    new_local = np.where(good, kept[:-1] - kept[tracks.offsets[:-1]][event_of], -1)
    new_counts = np.bincount(event_of[good], minlength=len(tracks))
    clean_tracks = Collection.from_columns(
        "tracks", new_counts, {k: v[good] for k, v in tracks.columns.items()}
    )
    vertices = batch.vertices
    v_event = vertices.event_index()
    remapped = {}
    for key in ("track_pos", "track_neg"):
        old = vertices[key].astype(np.int64)
        valid = (old >= 0) & (old < counts[v_event])
        flat = np.where(valid, tracks.offsets[:-1][v_event] + old, 0)
        remapped[key] = np.where(valid, new_local[flat] if tracks.size else -1, -1)
    new_vertices = Collection.from_columns("vertices", vertices.counts, {**vertices.columns, **remapped})
    clean = EventBatch(
        batch.header,
        source=batch.source,
        tracks=clean_tracks,
        ecl=batch.ecl,
        klm=batch.klm,
        vertices=new_vertices,
        mc=batch.mc,
    )
    return clean, issues, n_bad


def unexpected(path: str | Path, exc: BaseException, doing: str = "cannot read") -> EventFileError:
    """An exception a reader did not foresee, as one line naming the file."""
    if isinstance(exc, RecursionError):
        return EventFileError(path, f"{doing}: nested too deeply to read")
    if isinstance(exc, MemoryError):
        return EventFileError(path, f"{doing}: too large to hold in memory")
    return EventFileError(path, f"{doing} (damaged file?): {type(exc).__name__}: {exc}")
