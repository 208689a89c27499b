"""One entry point for event files: a table of formats, chosen by suffix (and, for ``.root``, by content).

:data:`FORMATS` names every format once: its suffixes, the reader that opens it and the writer
that writes it (``"module:attribute"``, imported only when used, so ``import events.io`` stays
cheap). :func:`open_events`, :func:`write`, the error for an unknown suffix and the GUI's
file-dialog filters (:func:`dialog_filter`) are all made from it.

* ``.h5`` / ``.hdf5``: this project's event store (``events.hdf5``).
* ``.root``: a Belle II mdst file (tree ``tree``, read by ``events.mdst``) or this project's
  ntuple (TTree ``events``, ``events.rootio``); both share one opener, ``events.root_files.open_root``,
  which tells them apart by looking inside.
* ``.json``: Phoenix event JSON (``events.phoenix``).

Adding a format is a reader (an :class:`EventSource` subclass, or a function of the path that
returns one) and optionally a writer in its own module, plus one :class:`FileFormat` entry here.

Every failure on a user's file raises :class:`EventFileError` naming the file and the problem.
The source base class, the error and the batch check live in ``events.source`` (re-exported
here for callers), so the readers never import this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.model import EventBatch
from events.source import (
    EventFileError,
    EventSource,
    Location,
    location,
    location_suffix,
    sanitize,
    unexpected,
)

__all__ = [
    "FORMATS",
    "EventFileError",
    "EventSource",
    "FileFormat",
    "count_events",
    "dialog_filter",
    "load",
    "open_events",
    "sanitize",
    "write",
]

Reader = Callable[[Location], EventSource]
Writer = Callable[..., int]  # (path, batches, inputs=...) -> number of events written


@dataclass(frozen=True)
class FileFormat:
    """One event-file format: what it is called, its suffixes, and where its reader and writer are.

    ``reader`` and ``writer`` are ``"module:attribute"``; the reader is called with the path and
    returns an :class:`EventSource`, the writer as ``writer(path, batches, inputs=inputs)``
    returns the number of events written. Formats that share a suffix share one reader, which
    tells them apart by content. ``remote``: the reader also takes a URL (``events.remote``).
    """

    name: str
    title: str  # what the file dialog calls it
    suffixes: tuple[str, ...]
    reader: str | None
    writer: str | None = None
    remote: bool = False

    def _resolve(self, spec: str) -> Any:
        module, attribute = spec.split(":")
        return getattr(importlib.import_module(module), attribute)

    def open(self, path: Location) -> EventSource:
        if self.reader is None:
            raise EventFileError(path, f"{self.title} files cannot be read")
        source: EventSource = self._resolve(self.reader)(path)
        return source

    def write(self, path: Path, batches: Iterable[EventBatch], inputs: Iterable[str | Path]) -> int:
        if self.writer is None:
            raise EventFileError(path, f"{self.title} files cannot be written")
        count: int = self._resolve(self.writer)(path, batches, inputs=inputs)
        return count


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        "hdf5",
        "HDF5 event store",
        (".h5", ".hdf5"),
        "events.hdf5:HDF5Source",
        "events.hdf5:write",
        remote=True,
    ),
    # the two ROOT formats share the opener that looks inside; .root files are written as ntuples
    FileFormat("mdst", "Belle II mdst", (".root",), "events.root_files:open_root", remote=True),
    FileFormat(
        "ntuple",
        "ROOT event ntuple",
        (".root",),
        "events.root_files:open_root",
        "events.rootio:write",
        remote=True,
    ),
    FileFormat("phoenix", "Phoenix JSON", (".json",), "events.phoenix:PhoenixSource", "events.phoenix:write"),
)


def _suffixes(formats: Iterable[FileFormat]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for f in formats for s in f.suffixes))


SUFFIXES = _suffixes(f for f in FORMATS if f.reader)  # every suffix a file can be read from
WRITABLE_SUFFIXES = _suffixes(f for f in FORMATS if f.writer)


def format_for(path: str | Path, writing: bool = False) -> FileFormat | None:
    """The first format that reads (or, with ``writing``, writes) files with this path's suffix."""
    suffix = location_suffix(location(path))
    for fmt in FORMATS:
        if suffix in fmt.suffixes and (fmt.writer if writing else fmt.reader):
            return fmt
    return None


def _globs(suffixes: Iterable[str]) -> str:
    return " ".join(f"*{s}" for s in suffixes)


def dialog_filter(writing: bool = False) -> str:
    """Qt file-dialog filters from :data:`FORMATS`: every event file, then each format, then all files."""
    formats = [f for f in FORMATS if (f.writer if writing else f.reader)]
    parts = [f"Event files ({_globs(_suffixes(formats))})"]
    parts += [f"{f.title} ({_globs(f.suffixes)})" for f in formats]
    return ";;".join([*parts, "All files (*)"])


def _check_readable(path: Path) -> FileFormat:
    if not path.exists():
        raise EventFileError(path, "no such file")
    if path.is_dir():
        raise EventFileError(path, "is a directory, not an event file")
    fmt = format_for(path)
    if fmt is None:
        raise EventFileError(
            path, f"unknown file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise EventFileError(path, "the file is empty (0 bytes)")
    return fmt


def _check_remote(url: str) -> FileFormat:
    fmt = format_for(url)
    if fmt is None:
        raise EventFileError(
            url, f"unknown file type {location_suffix(url)!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if not fmt.remote:
        readable = ", ".join(_suffixes(f for f in FORMATS if f.remote))
        raise EventFileError(
            url,
            f"{fmt.title} files are read from a local disk only ({readable} over the network); "
            "copy the file here first (xrdcp or curl)",
        )
    return fmt


def open_events(path: str | Path) -> EventSource:
    """Open an event file for reading by its suffix; ``.root`` files are told apart by content.

    A ``root://``, ``https://`` or ``davs://`` URL of a ``.root`` or HDF5 file is read over the network
    (``events.remote``)."""
    where = location(path)
    if isinstance(where, str):
        try:
            return _check_remote(where).open(where)
        except EventFileError:
            raise
        except Exception as exc:
            raise unexpected(where, exc, "cannot open") from exc
    path = where
    try:
        return _check_readable(path).open(path)
    except EventFileError:
        raise
    except OSError as exc:  # unreadable: permissions, a vanished file, an I/O error
        raise EventFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise unexpected(path, exc, "cannot open") from exc


# what a reader's class says of its file's format (count_events' second value)
_KINDS = {"HDF5Source": "hdf5", "NtupleSource": "ntuple", "MdstSource": "mdst", "PhoenixSource": "phoenix"}


def count_events(path: str | Path) -> tuple[int, str]:
    """The number of events of a file and its format (``"hdf5"``, ``"ntuple"``, ``"mdst"``, ...),
    reading as little of it as possible: a local HDF5 store's attributes, a local ROOT file's
    header and its TTree's own record (``fEntries``, without the branches uproot would deserialise
    to open it: ~1 ms, against 30-300 ms). Any other file, a URL, and a file the cheap way cannot
    read are opened whole (``open_events``), so a damaged file raises the ``EventFileError`` that
    opening it gives. What the cheap way does not check (an mdst file's branches, a store's datasets)
    is checked when the file is opened to be read."""
    where = location(path)
    if isinstance(where, Path):
        try:
            fmt = _check_readable(where)
            if fmt.name == "hdf5":
                from events import hdf5

                return hdf5.count_events(where), "hdf5"
            if where.suffix.lower() == ".root":
                counted = _root_entries(where)
                if counted is not None:
                    return counted
        except EventFileError:
            raise
        except Exception:  # h5py's, uproot's or the OS's error: opened whole below, which says it in one line
            pass
    with open_events(where) as source:
        return len(source), _KINDS.get(type(source).__name__, type(source).__name__)


def _root_entries(path: Path) -> tuple[int, str] | None:
    """(entries, "ntuple" or "mdst") of a local ROOT file from the header of its tree, or None where
    that is not plain (no such tree, another class, a title of another schema): opened whole then."""
    import uproot

    from events import mdst, rootio

    file = uproot.open(path)
    try:
        rootio._check_complete(path, file)  # a cut file: the same line as opening it
        keys = set(file.keys(cycle=False))
        for name, kind in ((rootio.TREE, "ntuple"), (mdst.TREE, "mdst")):
            if name not in keys:
                continue
            key = file.key(name)
            if key.fClassName != "TTree":
                return None
            title, entries = _ttree_header(key)
            if kind == "ntuple" and title != rootio.TITLE:
                return None  # another schema, or another program's tree named "events"
            return entries, kind
        return None
    finally:
        file.close()


def _ttree_header(key: Any) -> tuple[str, int]:
    """(fTitle, fEntries) from the first bytes of a TTree's record: its TNamed, three TAtt* bases
    skipped by their byte counts, then ``fEntries`` (TTree class versions 16 and later, ROOT 5.x on)."""
    import struct

    from uproot.deserialization import numbytes_version

    chunk, cursor = key.get_uncompressed_chunk_cursor()
    context: dict[str, Any] = {"breadcrumbs": (), "TKey": key}
    _, version, _ = numbytes_version(chunk, cursor, context)
    if version < 16:
        raise ValueError(f"TTree class version {version}")
    start = cursor.index
    named_bytes, _, _ = numbytes_version(chunk, cursor, context)  # TNamed: TObject, fName, fTitle
    object_version = cursor.field(chunk, struct.Struct(">h"), context)
    if object_version & 0x4000:  # kByteCountVMask
        cursor.skip(4)
    _, bits = cursor.fields(chunk, struct.Struct(">II"), context)
    if bits & (1 << 4):  # kIsReferenced
        cursor.skip(2)
    cursor.string(chunk, context)  # fName
    title = cursor.string(chunk, context)
    if named_bytes is None:
        raise ValueError("TNamed without a byte count")
    cursor.move_to(start + named_bytes)
    for _ in range(3):  # TAttLine, TAttFill, TAttMarker
        start = cursor.index
        nbytes, _, _ = numbytes_version(chunk, cursor, context)
        if nbytes is None:
            raise ValueError("a TTree base without a byte count")
        cursor.move_to(start + nbytes)
    entries = int(cursor.field(chunk, struct.Struct(">q"), context))
    if entries < 0:
        raise ValueError(f"fEntries {entries}")
    return str(title), entries


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
    parts: Iterable[EventBatch] = [batches] if isinstance(batches, EventBatch) else batches
    fmt = format_for(path, writing=True)
    if fmt is None:
        expected = ", ".join(WRITABLE_SUFFIXES)
        raise EventFileError(path, f"cannot write {path.suffix.lower()!r} files; expected one of {expected}")
    return fmt.write(path, parts, inputs)
