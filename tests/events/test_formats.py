"""The table of event-file formats: every entry resolves, reads back what it writes, and builds the dialog."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from events import io
from events.generator import generate
from events.mdst import MdstSource
from events.rootio import NtupleSource
from events.source import EventSource


def test_every_entry_names_a_reader_and_writer_that_exist() -> None:
    for fmt in io.FORMATS:
        assert fmt.suffixes, fmt
        assert all(s.startswith(".") and s == s.lower() for s in fmt.suffixes), fmt
        for spec in (fmt.reader, fmt.writer):
            if spec is not None:
                assert callable(fmt._resolve(spec)), f"{fmt.name}: {spec} is not callable"


def test_formats_sharing_a_suffix_share_the_reader_that_looks_inside() -> None:
    readers: dict[str, set[str]] = {}
    for fmt in io.FORMATS:
        for suffix in fmt.suffixes:
            if fmt.reader:
                readers.setdefault(suffix, set()).add(fmt.reader)
    assert {s: r for s, r in readers.items() if len(r) > 1} == {}
    assert readers[".root"] == {"events.root_files:open_root"}  # mdst and ntuple told apart by content


@pytest.mark.parametrize("suffix", io.WRITABLE_SUFFIXES)
def test_each_writable_suffix_reads_back_through_the_table(tmp_path: Path, suffix: str) -> None:
    batch = generate(6, seed=11)
    path = tmp_path / f"events{suffix}"
    assert io.write(path, batch) == 6
    with io.open_events(path) as source:
        assert isinstance(source, EventSource)
        back = source.read()
    np.testing.assert_array_equal(back.header["event"], batch.header["event"])
    np.testing.assert_array_equal(back.tracks.counts, batch.tracks.counts)
    np.testing.assert_array_equal(back.ecl.counts, batch.ecl.counts)


def test_the_mdst_sample_is_read_as_mdst(mdst_sample: Path) -> None:
    assert io.format_for(mdst_sample) is not None
    with io.open_events(mdst_sample) as source:
        assert isinstance(source, MdstSource)
        assert len(source) == 10


def test_dialog_filter_is_built_from_the_table() -> None:
    groups = io.dialog_filter().split(";;")
    assert groups[0] == "Event files (*.h5 *.hdf5 *.root *.json)"
    assert groups[-1] == "All files (*)"
    assert groups[1:-1] == [f"{f.title} ({' '.join('*' + s for s in f.suffixes)})" for f in io.FORMATS]
    writable = io.dialog_filter(writing=True).split(";;")
    assert "Belle II mdst (*.root)" not in writable  # mdst is read only
    assert "ROOT event ntuple (*.root)" in writable


def test_a_new_format_is_one_table_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A suffix added by one entry is opened, written and offered by the dialog without another edit."""
    phoenix = next(f for f in io.FORMATS if f.name == "phoenix")
    extra = dataclasses.replace(phoenix, name="phx", title="Phoenix (short suffix)", suffixes=(".phx",))
    monkeypatch.setattr(io, "FORMATS", (*io.FORMATS, extra))
    path = tmp_path / "one.phx"
    assert io.write(path, generate(3, seed=2)) == 3
    with io.open_events(path) as source:
        assert len(source) == 3
    assert "Phoenix (short suffix) (*.phx)" in io.dialog_filter()
    assert "*.phx" in io.dialog_filter().split(";;")[0]


def test_a_format_without_a_writer_says_so(tmp_path: Path) -> None:
    mdst = next(f for f in io.FORMATS if f.name == "mdst")
    with pytest.raises(io.EventFileError, match=r"x\.root: Belle II mdst files cannot be written"):
        mdst.write(tmp_path / "x.root", [generate(1, seed=1)], ())


def _open_descriptors(path: Path) -> list[str]:
    """The process's file descriptors open on ``path`` (Linux ``/proc``)."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("no /proc/self/fd here")
    target = path.resolve()
    found = []
    for fd in fd_dir.iterdir():
        try:
            if fd.resolve() == target:
                found.append(fd.name)
        except OSError:  # a descriptor closed while listing
            continue
    return found


def test_every_reader_releases_its_file_on_close(tmp_path: Path, mdst_sample: Path) -> None:
    batch = generate(4, seed=9)
    ntuple, store, phoenix = tmp_path / "n.root", tmp_path / "s.h5", tmp_path / "p.json"
    for path in (ntuple, store, phoenix):
        io.write(path, batch)
    for path in (mdst_sample, ntuple):  # uproot keeps a ROOT file open until told
        with io.open_events(path) as source:
            assert isinstance(source, MdstSource | NtupleSource)
            source.read(0, 2)
            root_file = source.tree.file
            assert not root_file.closed
        assert root_file.closed, path
    with io.open_events(store) as source:  # the event store stays open between reads
        source.read(0, 2)
        assert _open_descriptors(store)
    assert _open_descriptors(store) == []
    with io.open_events(phoenix) as source:  # read whole when opened: nothing stays open
        assert _open_descriptors(phoenix) == []
        assert len(source) == 4
