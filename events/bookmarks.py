"""Flagged events: a list of (experiment, run, event) with a note, saved as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from events.model import event_label
from events.outputs import write_text

FORMAT = "belle2-display bookmarks"
VERSION = 1
FIELDS = ("experiment", "run", "event", "note", "source")


class BookmarkError(ValueError):
    """A bookmark file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Bookmark:
    experiment: int
    run: int
    event: int
    note: str = ""
    source: str = ""  # file the event came from

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.experiment, self.run, self.event)

    def label(self) -> str:
        text = event_label(self.experiment, self.run, self.event)
        return f"{text}: {self.note}" if self.note else text


class Bookmarks:
    """An ordered set of bookmarks keyed by (experiment, run, event)."""

    def __init__(self, items: list[Bookmark] | None = None) -> None:
        self._items: dict[tuple[int, int, int], Bookmark] = {}
        for b in items or []:
            self.add(b)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Bookmark]:
        return iter(list(self._items.values()))

    def __contains__(self, key: object) -> bool:
        if isinstance(key, Bookmark):
            key = key.key
        return key in self._items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bookmarks) and list(self) == list(other)

    def add(self, bookmark: Bookmark) -> None:
        self._items[bookmark.key] = bookmark

    def remove(self, key: tuple[int, int, int]) -> None:
        self._items.pop(key, None)

    def toggle(self, bookmark: Bookmark) -> bool:
        """Flag the event, or unflag it if already flagged; returns whether it is now flagged."""
        if bookmark.key in self._items:
            self.remove(bookmark.key)
            return False
        self.add(bookmark)
        return True

    def keys(self) -> list[tuple[int, int, int]]:
        return list(self._items)

    # --- files -------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write JSON (``.json``) or CSV (any other suffix), atomically (``events.outputs``).

        Raises ``OutputError`` (an ``OSError`` naming the file) if it cannot be written; an
        existing file of another kind (an event file, a picture) is never replaced.
        """
        path = Path(path)
        if path.suffix.lower() == ".json":
            doc = {"format": FORMAT, "version": VERSION, "bookmarks": [asdict(b) for b in self]}
            write_text(path, json.dumps(doc, indent=1), "json")
        else:
            text = io.StringIO(newline="")
            writer = csv.DictWriter(text, fieldnames=FIELDS)
            writer.writeheader()
            for b in self:
                writer.writerow(asdict(b))
            write_text(path, text.getvalue(), "text")

    @classmethod
    def load(cls, path: str | Path) -> Bookmarks:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise BookmarkError(f"{path}: cannot read bookmarks: {exc.strerror}") from None
        if path.suffix.lower() == ".json":
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BookmarkError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise BookmarkError(f"{path}: not a bookmark file (no 'format': {FORMAT!r})")
            rows = doc.get("bookmarks", [])
        else:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        out = cls()
        for n, row in enumerate(rows, start=1):
            try:
                out.add(
                    Bookmark(
                        int(row["experiment"]),
                        int(row["run"]),
                        int(row["event"]),
                        str(row.get("note") or ""),
                        str(row.get("source") or ""),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise BookmarkError(f"{path}: bookmark {n} is malformed ({exc!r})") from None
        return out
