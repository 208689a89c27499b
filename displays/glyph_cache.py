"""The rendered glyphs of VisPy's texts kept on disk between starts, as a font cache keeps them.

Rendering a glyph from freetype at 256 pt and computing its signed-distance field takes 3-5 ms on the
CPU; the views' axes and labels show about 40 distinct glyphs, a tenth of a second of every start to
the window's first frame. ``displays.vispy_compat`` renders each glyph once per process and keeps the
result here: entries are keyed by the font (its file, size in bytes and modification time, with the
freetype and VisPy versions) and by what VisPy renders a glyph with (face, bold, italic, size,
spread, ratio, character), so a cached glyph is the same bytes the renderer makes, and a font, a
freetype or a VisPy that changed renders its glyphs again.

The file is ``$BELLE2_DISPLAY_CACHE/glyphs.npz``, else ``$XDG_CACHE_HOME/belle2-display/glyphs.npz``
(``~/.cache`` without it); ``BELLE2_DISPLAY_CACHE=""`` keeps nothing on disk. A missing, unreadable or
damaged file is rendered again and written anew (atomically); nothing here ever stops a text from
drawing.
"""

from __future__ import annotations

import atexit
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FILE = "glyphs.npz"
VERSION = 1  # of the file's layout
MAX_ENTRIES = 4096  # a bound on the file: beyond it, new glyphs stay in the process only

Key = tuple[Any, ...]  # (face, bold, italic, size, spread, ratio, char)
Entry = tuple[Any, float, np.ndarray, np.ndarray]  # (offset, advance, bitmap, SDF block)


def cache_path() -> Path | None:
    """Where the glyphs are kept; None: nowhere (``BELLE2_DISPLAY_CACHE`` set empty)."""
    env = os.environ.get("BELLE2_DISPLAY_CACHE")
    if env is not None:
        return Path(env) / FILE if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "belle2-display" / FILE


class GlyphStore:
    """The glyphs on disk: read once when first asked, written back when new ones were rendered."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, tuple[Key, Entry]] | None = None  # stamp+key -> (key, entry)
        self._unread: dict[str, tuple[int, Any, Any]] = {}  # in the file, arrays not read yet
        self._file: Any = None  # the file's arrays (np.load of its bytes), read a glyph at a time
        self._dirty = False

    @staticmethod
    def _name(stamp: str, key: Key) -> str:
        return json.dumps([stamp, *key], ensure_ascii=True)

    def _load(self) -> dict[str, tuple[Key, Entry]]:
        """The glyphs read so far; the file's index on the first call (each glyph's arrays are read
        when it is first asked for: a start reads the few dozen it draws of the file's hundreds)."""
        if self._entries is not None:
            return self._entries
        self._entries = {}
        if self.path is None or not self.path.is_file():
            return self._entries
        try:
            data = np.load(io.BytesIO(self.path.read_bytes()), allow_pickle=False)
            index = json.loads(str(data["index"]))
            if index.get("version") == VERSION:
                self._unread = {
                    name: (i, offset, advance) for i, (name, offset, advance) in enumerate(index["glyphs"])
                }
                self._file = data
        except Exception as exc:  # damaged in any way (not a zip, truncated, other arrays): rendered again
            log.debug("%s: glyph cache not read (%s)", self.path, exc)
        return self._entries

    def _read(self, name: str) -> tuple[Key, Entry] | None:
        """The glyph ``name`` of the file, read now (None, and forgotten, if its arrays are damaged)."""
        where = self._unread.pop(name, None)
        if where is None or self._file is None or self._entries is None:
            return None
        i, offset, advance = where
        try:
            _, *key = json.loads(name)
            entry = (
                (int(offset[0]), int(offset[1])),
                float(advance),
                self._file[f"b{i}"],
                self._file[f"s{i}"],
            )
        except Exception as exc:  # a damaged member: this glyph is rendered again
            log.debug("%s: glyph %d not read (%s)", self.path, i, exc)
            return None
        self._entries[name] = (tuple(key), entry)
        return self._entries[name]

    def get(self, stamp: str, key: Key) -> Entry | None:
        """The cached glyph of ``key`` rendered with the font ``stamp`` names, or None."""
        name = self._name(stamp, key)
        found = self._load().get(name) or self._read(name)
        return None if found is None else found[1]

    def put(self, stamp: str, key: Key, entry: Entry) -> None:
        entries = self._load()
        if self.path is None or len(entries) + len(self._unread) >= MAX_ENTRIES:
            return
        entries[self._name(stamp, key)] = (key, entry)
        self._dirty = True

    def flush(self) -> bool:
        """Write the glyphs if new ones came since the last write (atomically); whether it wrote."""
        if not self._dirty or self.path is None or self._entries is None:
            return False
        self._dirty = False
        for name in list(self._unread):  # the glyphs of the file not drawn in this process stay in it
            self._read(name)
        arrays: dict[str, Any] = {}
        glyphs = []
        for i, (name, (_, (offset, advance, bitmap, block))) in enumerate(self._entries.items()):
            glyphs.append([name, [int(offset[0]), int(offset[1])], float(advance)])
            arrays[f"b{i}"], arrays[f"s{i}"] = np.asarray(bitmap), np.asarray(block)
        index = json.dumps({"version": VERSION, "glyphs": glyphs})
        import tempfile

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".glyphs-", suffix=".npz", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez_compressed(f, index=np.array(index), **arrays)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a read-only home: the glyphs are rendered at each start
            log.debug("%s: glyph cache not written (%s)", self.path, exc)
            return False
        return True


def font_stamp(filename: str) -> str:
    """What names a font file's glyphs: its path, size and modification time, and the freetype and
    VisPy that render them."""
    import freetype
    import vispy

    st = os.stat(filename)
    versions = f"ft{freetype.version()}|vispy{vispy.__version__}"
    return f"{os.path.realpath(filename)}|{st.st_size}|{st.st_mtime_ns}|{versions}"


_STORE: GlyphStore | None = None


def store() -> GlyphStore:
    """The process's glyph store, at :func:`cache_path` when first asked for."""
    global _STORE
    if _STORE is None:
        _STORE = GlyphStore(cache_path())
        atexit.register(flush)  # glyphs of canvases that are not DetectorCanvas (headless pictures)
    return _STORE


def reset(path: Path | None) -> GlyphStore:
    """A fresh store at ``path`` (tests)."""
    global _STORE
    _STORE = GlyphStore(path)
    return _STORE


def flush() -> bool:
    """Write the process's new glyphs, if any (canvases call it after each paint)."""
    return _STORE.flush() if _STORE is not None else False
