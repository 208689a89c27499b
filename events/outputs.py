"""Files the program writes: checked before the work starts, written atomically, never over an input.

Every writer goes through :class:`AtomicOutput` (or :func:`write_bytes` / :func:`write_text`)::

    check_output(out, "root", inputs=files)        # before the work: fails fast, names the file
    ...                                            # the long part (fill, generate, render)
    with AtomicOutput(out, "root", inputs=files) as tmp:
        write_with_any_library(tmp)                # a temporary file in the output's own folder

On success the temporary is flushed to disk (fsync), renamed onto the output (``os.replace``,
atomic on one file system) and the folder entry is synced; on any failure the temporary is
removed and the previous file stays as it was. What is refused, with one line naming the file:

* an output that is one of the run's inputs (same inode: the same path, a hard or soft link);
* replacing an existing file of another kind (told by its first bytes: ROOT ``root``, HDF5
  ``\\x89HDF``, PNG, MP4 or WebM video, JSON, text), e.g. ROOT histograms over an HDF5 event store;
* a folder that does not exist or cannot be written (tried with a real temporary file);
* a full disk, an exhausted quota or a file size limit met while writing (``OutputError``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

KINDS = ("root", "hdf5", "png", "json", "text", "video")
DESCRIPTION = {
    "root": "a ROOT file",
    "hdf5": "an HDF5 file",
    "png": "a PNG picture",
    "json": "a JSON file",
    "text": "a text file",
    "video": "a video (MP4 or WebM)",
    "binary": "a binary file of unknown type",
}
SUFFIX_KIND = {
    ".root": "root",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".png": "png",
    ".json": "json",
    ".mp4": "video",
    ".webm": "video",
}
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # Matroska / WebM
HDF5_OFFSETS = (0, 512, 1024, 2048)  # where HDF5 looks for its signature (after a user block)
FULL = {
    errno.ENOSPC: "the disk is full (no space left on the device)",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file size limit was reached (file too large)",
}
_ERRNO_IN_TEXT = re.compile(r"errno\s*=\s*(\d+)")  # HDF5 reports the C errno only in its message


class OutputError(OSError):
    """An output that is refused or could not be written; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message

    def __str__(self) -> str:
        return str(self.args[0])


def kind_for_suffix(path: str | Path) -> str:
    """The kind a file name promises: ``.root``, ``.h5``, ``.png``, ``.json``; anything else is text."""
    return SUFFIX_KIND.get(Path(path).suffix.lower(), "text")


def detect_kind(path: str | Path) -> str | None:
    """What an existing file holds, by its first bytes; None for an empty or missing file."""
    try:
        with open(path, "rb") as f:
            head = f.read(2048 + len(HDF5_MAGIC))
    except FileNotFoundError:
        return None
    if not head:
        return None
    if head.startswith(b"root"):
        return "root"
    if any(head[o : o + len(HDF5_MAGIC)] == HDF5_MAGIC for o in HDF5_OFFSETS):
        return "hdf5"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head[4:8] == b"ftyp" or head.startswith(EBML_MAGIC):  # ISO media (MP4) or WebM
        return "video"
    if b"\x00" in head:
        return "binary"
    try:
        text = head.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "binary"
        text = head[: exc.start].decode("utf-8")
    return "json" if text.lstrip()[:1] in ("{", "[") else "text"


def _compatible(existing: str | None, kind: str) -> bool:
    return existing is None or existing == kind or {existing, kind} <= {"json", "text"}


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_output(path: str | Path, kind: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an output that cannot or must not be written; returns the path to write (links followed).

    Call it before the work starts, so a bad ``-o`` fails in a second, not after an hour's fill.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}; one of {', '.join(KINDS)}")
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # write through the link, next to its target
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name")
    folder = path.parent
    if not folder.exists():
        raise OutputError(path, f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(path, f"{folder} is not a folder")
    try:
        existing = path.stat()
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputError(path, f"cannot check the existing file: {_reason(exc)}") from None
    if existing is not None:
        if not stat.S_ISREG(existing.st_mode):
            raise OutputError(path, "exists and is not a regular file; refusing to replace it")
        for source in inputs:
            try:
                same = _same_file(existing, os.stat(source))
            except OSError:
                continue  # a missing input cannot be overwritten
            if same:
                raise OutputError(
                    path,
                    f"is also an input of this run ({source}); writing it would destroy that input: "
                    "choose another output name",
                )
        try:
            found = detect_kind(path)
        except OSError as exc:
            why = _reason(exc)
            raise OutputError(path, f"cannot read the existing file to see what it holds: {why}") from None
        if not _compatible(found, kind):
            raise OutputError(
                path,
                f"already holds {DESCRIPTION[found or 'binary']}; this writes {DESCRIPTION[kind]}: "
                "refusing to replace it (choose another name, or remove the file first)",
            )
    _probe(path)
    return path


def check_folder(folder: str | Path) -> Path:
    """Refuse a folder that does not exist or where no file can be made (before the work starts)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputError(folder, "does not exist" if not folder.exists() else "is not a folder")
    _probe(folder / "output")
    return folder


def _probe(path: Path) -> None:
    try:  # the only real test of a writable folder: make a file there
        probe = _new_temp(path)
    except OSError as exc:
        raise OutputError(path, f"cannot write in the folder {path.parent}: {_reason(exc)}") from None
    probe.unlink(missing_ok=True)


def _new_temp(path: Path) -> Path:
    """An empty new file next to ``path`` (permissions as a plain ``open`` would give, umask applied)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part{path.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def failure_reason(exc: BaseException) -> str | None:
    """A full disk, exhausted quota or file size limit anywhere in ``exc``'s chain, in words."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = current.errno if isinstance(current, OSError) else None
        if code not in FULL:  # HDF5 (a RuntimeError from h5py) has the C errno only in its text
            match = _ERRNO_IN_TEXT.search(str(current))
            code = int(match.group(1)) if match else None
        if code in FULL:
            return FULL[code]
        current = current.__cause__ or current.__context__
    return None


def _fsync(path: Path | str, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicOutput:
    """``with AtomicOutput(path, kind, inputs) as tmp:`` write ``tmp``; it replaces ``path`` on success.

    Entering checks the output (:func:`check_output`) and makes the temporary. Leaving normally
    commits (fsync, ``os.replace``, fsync of the folder); leaving with an exception removes the
    temporary and leaves ``path`` as it was. An ``OSError`` (a full disk above all) comes out as
    :class:`OutputError` naming ``path``; other exceptions pass unchanged.
    """

    def __init__(self, path: str | Path, kind: str, inputs: Iterable[str | Path] = ()) -> None:
        self.requested = Path(path)
        self.kind = kind
        self.inputs = list(inputs)
        self.path = self.requested
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.path = check_output(self.requested, self.kind, self.inputs)
        self._existed = self.path.exists()
        try:
            self.tmp = _new_temp(self.path)
        except OSError as exc:
            why = _reason(exc)
            raise OutputError(self.path, f"cannot write in the folder {self.path.parent}: {why}") from None
        return self.tmp

    def commit(self) -> None:
        tmp = self.tmp
        assert tmp is not None, "commit outside the with block"
        _fsync(tmp)
        with contextlib.suppress(FileNotFoundError):  # a replaced file keeps its mode
            os.chmod(tmp, stat.S_IMODE(self.path.stat().st_mode))
        os.replace(tmp, self.path)
        self.tmp = None
        with contextlib.suppress(OSError):  # some file systems cannot sync a folder; the rename is done
            _fsync(self.path.parent, directory=True)

    def abort(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None

    def error(self, exc: BaseException) -> OutputError | None:
        """``exc`` as one line naming the output, or None when it is no output failure."""
        if isinstance(exc, OutputError):
            return exc
        reason = failure_reason(exc)
        if reason is None and isinstance(exc, OSError):
            reason = _reason(exc)
        if reason is None:
            return None
        kept = "the previous file is unchanged" if self._existed else "nothing was written"
        return OutputError(self.path, f"not written: {reason}; {kept}")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            try:
                self.commit()
            except OSError as failure:
                self.abort()
                raise self.error(failure) or failure from failure
            return
        self.abort()
        error = self.error(exc)
        if error is not None and error is not exc:
            raise error from exc


class GuardedFile:
    """A binary file for C libraries (HDF5's file-object driver) that must never see a write fail.

    The first failed write, truncate or flush (a full disk, a size limit) is kept in ``error``
    and every later write is dropped, so the library finishes and closes cleanly; the caller
    checks ``error`` and discards the file. (HDF5 meeting a write error itself spews errors on
    every object it frees and can crash the process.)
    """

    def __init__(self, path: str | Path) -> None:
        self.file = open(path, "w+b", buffering=0)  # noqa: SIM115  (closed by close())
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = view.nbytes
        try:
            while self.error is None and view.nbytes:  # unbuffered: errors now, not at a later seek
                view = view[self.file.write(view) or 0 :]
        except OSError as exc:
            self.error = exc
        return size

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def readinto(self, buffer: Any) -> int:
        return self.file.readinto(buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return self.file.seek(offset, whence)
        except OSError as exc:
            self.error = self.error or exc
            return offset

    def tell(self) -> int:
        return self.file.tell()

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self.file.truncate(size)
            except OSError as exc:
                self.error = exc
        return self.file.tell() if size is None else size

    def flush(self) -> None:
        if self.error is None:
            try:
                self.file.flush()
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        self.flush()
        with contextlib.suppress(OSError):  # the buffer is flushed already, or the error kept
            self.file.close()


def write_bytes(path: str | Path, data: bytes, kind: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Write ``data`` atomically (see :class:`AtomicOutput`); returns the path written."""
    out = AtomicOutput(path, kind, inputs)
    with out as tmp, open(tmp, "wb") as f:
        f.write(data)
    return out.path


def write_text(path: str | Path, text: str, kind: str = "text", inputs: Iterable[str | Path] = ()) -> Path:
    """Write ``text`` as UTF-8 atomically (see :class:`AtomicOutput`); returns the path written."""
    return write_bytes(path, text.encode("utf-8"), kind, inputs)
