"""One entry point for event files, chosen by suffix (and, for ``.root``, by content).

* ``.h5`` / ``.hdf5``: this project's event store (``events.hdf5``).
* ``.root``: a Belle II mdst file (tree ``tree``, read by ``events.mdst``) or this project's
  ntuple (TTree ``events``, ``events.rootio``); which one is decided by looking inside.
* ``.json``: Phoenix event JSON (``events.phoenix``).

Every failure on a user's file raises :class:`EventFileError` naming the file and the problem.
The source base class, the error and the batch check live in ``events.source`` (re-exported
here for callers), so the readers never import this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from events.model import EventBatch
from events.source import EventFileError, EventSource, sanitize, unexpected

__all__ = ["EventFileError", "EventSource", "load", "open_events", "sanitize", "write"]

HDF5_SUFFIXES = (".h5", ".hdf5")
ROOT_SUFFIXES = (".root",)
JSON_SUFFIXES = (".json",)
SUFFIXES = HDF5_SUFFIXES + ROOT_SUFFIXES + JSON_SUFFIXES

def _check_readable(path: Path) -> None:
    if not path.exists():
        raise EventFileError(path, "no such file")
    if path.is_dir():
        raise EventFileError(path, "is a directory, not an event file")
    if path.suffix.lower() not in SUFFIXES:
        raise EventFileError(
            path, f"unknown file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise EventFileError(path, "the file is empty (0 bytes)")


def open_events(path: str | Path) -> EventSource:
    """Open an event file for reading by its suffix; ``.root`` files are told apart by content."""
    path = Path(path)
    try:
        _check_readable(path)
        suffix = path.suffix.lower()
        if suffix in HDF5_SUFFIXES:
            from events import hdf5

            return hdf5.HDF5Source(path)
        if suffix in JSON_SUFFIXES:
            from events import phoenix

            return phoenix.PhoenixSource(path)
        from events import rootio

        return rootio.open_root(path)
    except EventFileError:
        raise
    except OSError as exc:  # unreadable: permissions, a vanished file, an I/O error
        raise EventFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise unexpected(path, exc, "cannot open") from exc


def load(path: str | Path) -> EventBatch:
    """All events of a file as one batch."""
    with open_events(path) as source:
        return source.read()


def write(
    path: str | Path, batches: EventBatch | Iterable[EventBatch], inputs: Iterable[str | Path] = ()
) -> int:
    """Write one batch or an iterable of batches (written incrementally); returns the event count.

    The file is written atomically and checked before the first batch is asked for
    (``events.outputs``): never over one of ``inputs``, never over a file of another kind; a
    failure raises ``OutputError`` (an ``OSError``) or ``EventFileError`` and leaves any previous
    file unchanged.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    parts: Iterable[EventBatch] = [batches] if isinstance(batches, EventBatch) else batches
    if suffix in HDF5_SUFFIXES:
        from events import hdf5

        return hdf5.write(path, parts, inputs=inputs)
    if suffix in ROOT_SUFFIXES:
        from events import rootio

        return rootio.write(path, parts, inputs=inputs)
    if suffix in JSON_SUFFIXES:
        from events import phoenix

        return phoenix.write(path, parts, inputs=inputs)
    raise EventFileError(path, f"cannot write {suffix!r} files; expected one of {', '.join(SUFFIXES)}")
