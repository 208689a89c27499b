"""Outputs never destroy data: atomic writes, never over an input, never over a file of another kind,
a write cut short (a file size limit in a child process) leaves the previous file as it was."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from events import io, outputs
from events.outputs import AtomicOutput, OutputError
from tests.conftest import ROOT
from tests.events.test_hdf5 import random_batch


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def test_atomic_write_replaces_keeps_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "flags.json"
    outputs.write_text(out, '{"a": 1}', "json")
    assert out.read_text() == '{"a": 1}'
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as a plain open() would make it
    out.chmod(0o640)
    outputs.write_text(out, '{"a": 2}', "json")
    assert out.read_text() == '{"a": 2}'
    assert out.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failing_writer_leaves_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    out = tmp_path / "histograms.root"
    out.write_bytes(b"root" + b"\0" * 100)

    def fail(tmp: Path) -> None:
        tmp.write_bytes(b"root partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"), AtomicOutput(out, "root") as tmp:
        fail(tmp)
    assert out.read_bytes() == b"root" + b"\0" * 100
    assert _leftovers(tmp_path) == []


def test_a_full_disk_is_one_line_naming_the_output(tmp_path: Path) -> None:
    out = tmp_path / "events.json"
    out.write_text("[1]")
    with pytest.raises(OutputError) as info, AtomicOutput(out, "json"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(info.value) == (
        f"{out}: not written: the disk is full (no space left on the device); the previous file is unchanged"
    )
    assert out.read_text() == "[1]"
    assert _leftovers(tmp_path) == []
    # HDF5 reports the C errno only inside its message text
    wrapped = RuntimeError("Can't write data (file write failed: errno = 28, error message = 'No space')")
    assert outputs.failure_reason(wrapped) == outputs.FULL[errno.ENOSPC]


def test_an_output_that_is_an_input_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "nt.root"
    io.write(source, random_batch(5))
    before = source.read_bytes()
    link = tmp_path / "link.root"
    link.symlink_to(source)
    hard = tmp_path / "hard.root"
    os.link(source, hard)
    for out in (source, link, hard):
        with pytest.raises(OutputError, match="is also an input of this run"):
            io.write(out, random_batch(3), inputs=[source])
    assert source.read_bytes() == before


@pytest.mark.parametrize(
    ("existing", "kind", "refused"),
    [
        ("hdf5", "root", True),
        ("root", "hdf5", True),
        ("png", "json", True),
        ("json", "png", True),
        ("hdf5", "text", True),
        ("root", "root", False),
        ("json", "text", False),  # a CSV over a JSON export: both text
        ("empty", "root", False),
    ],
)
def test_a_file_of_another_kind_is_never_replaced(
    tmp_path: Path, existing: str, kind: str, refused: bool
) -> None:
    path = tmp_path / "out.dat"
    if existing == "hdf5":
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
    elif existing == "root":
        io.write(tmp_path / "x.root", random_batch(2))
        (tmp_path / "x.root").rename(path)
    elif existing == "png":
        path.write_bytes(outputs.PNG_MAGIC + b"\0" * 20)
    elif existing == "json":
        path.write_text('  {"bookmarks": []}')
    else:
        path.write_bytes(b"")
    assert outputs.detect_kind(path) == (None if existing == "empty" else existing)
    before = path.read_bytes()
    if refused:
        with pytest.raises(OutputError, match=f"already holds {outputs.DESCRIPTION[existing]}"):
            outputs.write_bytes(path, b"new", kind)
        assert path.read_bytes() == before
    else:
        outputs.write_bytes(path, b"new", kind)
        assert path.read_bytes() == b"new"


def test_bad_folders_are_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"the folder .*nowhere does not exist"):
        outputs.check_output(tmp_path / "nowhere" / "x.root", "root")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        outputs.check_output(tmp_path / "file" / "x.root", "root")
    with pytest.raises(OutputError, match="is a folder; give a file name"):
        outputs.check_output(tmp_path, "root")
    with pytest.raises(OutputError, match="does not exist"):
        outputs.check_folder(tmp_path / "nowhere")


def test_an_hdf5_store_is_never_replaced_by_ntuple_bytes(tmp_path: Path) -> None:
    store = tmp_path / "events.root"  # an event store under a misleading name
    io.write(tmp_path / "events.h5", random_batch(4))
    (tmp_path / "events.h5").rename(store)
    before = store.read_bytes()
    with pytest.raises(OutputError, match="already holds an HDF5 file; this writes a ROOT file"):
        io.write(store, random_batch(2))
    assert store.read_bytes() == before


CUT_SHORT = textwrap.dedent(
    """
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG
    from events import io
    from tests.events.test_hdf5 import random_batch
    batches = [random_batch(200, seed=k, max_objects=20) for k in range(2)]
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    try:
        io.write({path!r}, batches)
    except (OSError, io.EventFileError) as exc:
        print(exc)
        sys.exit(3)
    """
)


@pytest.mark.parametrize("suffix", [".h5", ".root", ".json"])
def test_a_write_cut_short_keeps_the_previous_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"events{suffix}"
    io.write(path, random_batch(20))
    before = path.read_bytes()
    limit = 32 * 1024  # the new file is several times larger
    script = CUT_SHORT.format(root=str(ROOT), limit=limit, path=str(path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == (
        f"{path}: not written: the file size limit was reached (file too large); "
        "the previous file is unchanged"
    )
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert len(io.load(path)) == 20
