"""What a pass learns about a local file (where its baskets or chunks lie), kept for the passes after
it by the file's identity: its resolved path, modification time and size, so that a file replaced
since is learnt again. The most recently used are kept while they hold at most a bound of bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Generic, Protocol, TypeVar

FileKey = tuple[str, int, int]


class Sized(Protocol):
    @property
    def nbytes(self) -> int: ...


T = TypeVar("T", bound=Sized)


def file_key(path: str | Path) -> FileKey | None:
    """(resolved path, modification time in ns, size) of a local file; None for a URL (a ``str``)
    or a file that cannot be looked at now."""
    if not isinstance(path, Path):
        return None
    try:
        stat = path.stat()
        return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return None


class FileMemo(Generic[T]):
    """Values by ``FileKey``, least recently used dropped first while they hold more than
    ``max_bytes`` (the one kept last always stays); safe to use from several threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[FileKey, T] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: FileKey | None) -> T | None:
        if key is None:
            return None
        with self._lock:
            return self._kept.get(key)

    def keep(self, key: FileKey, value: T) -> None:
        with self._lock:
            self._kept[key] = value
            self._kept.move_to_end(key)
            held = sum(kept.nbytes for kept in self._kept.values())
            while held > self.max_bytes and len(self._kept) > 1:
                held -= self._kept.popitem(last=False)[1].nbytes
