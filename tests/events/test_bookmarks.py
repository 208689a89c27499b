"""Bookmarks: flag events and round-trip the list through JSON and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.bookmarks import Bookmark, BookmarkError, Bookmarks


def _marks() -> Bookmarks:
    return Bookmarks(
        [
            Bookmark(26, 1183, 4242, "mu mu + recoil, M_rec 3.1 GeV", "/data/r01183.mdst.root"),
            Bookmark(26, 1183, 17, "displaced vertex, L/sigma 12"),
            Bookmark(0, 0, 1, 'note with "quotes", commas\nand a newline'),
        ]
    )


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    marks = _marks()
    path = tmp_path / f"flags{suffix}"
    marks.save(path)
    again = Bookmarks.load(path)
    assert again == marks
    assert again.keys() == [(26, 1183, 4242), (26, 1183, 17), (0, 0, 1)]


def test_toggle_and_contains() -> None:
    marks = Bookmarks()
    b = Bookmark(26, 5, 7)
    assert marks.toggle(b) is True
    assert (26, 5, 7) in marks
    assert b in marks
    marks.add(Bookmark(26, 5, 7, "now with a note"))
    assert len(marks) == 1
    assert next(iter(marks)).note == "now with a note"
    assert marks.toggle(b) is False
    assert len(marks) == 0


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BookmarkError, match=r"bad\.json: not JSON"):
        Bookmarks.load(bad)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    with pytest.raises(BookmarkError, match="not a bookmark file"):
        Bookmarks.load(other)
    broken = tmp_path / "broken.csv"
    broken.write_text("experiment,run,event\n26,x,3\n")
    with pytest.raises(BookmarkError, match="bookmark 1 is malformed"):
        Bookmarks.load(broken)
    with pytest.raises(BookmarkError, match="cannot read"):
        Bookmarks.load(tmp_path / "missing.csv")
