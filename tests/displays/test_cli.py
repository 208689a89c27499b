"""``main.py render``: pictures without a display, and clear errors for bad requests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from displays.cli import Picture, RenderError, parse_size, picture_from_args
from tests.conftest import run_main


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return run_main("render", *args, drop_env=("DISPLAY", "QT_QPA_PLATFORM"))  # no display at all


def test_render_writes_a_picture_without_a_display(tmp_path: Path) -> None:
    out = tmp_path / "detector.png"
    result = run_render("--out", str(out), "--size", "640x400", "--view", "rphi")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (640x400, rphi view" in result.stdout
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (640, 400)
    converted = image.convertToFormat(QImage.Format.Format_RGB888)  # keep it alive while read
    rgb = np.frombuffer(converted.constBits(), np.uint8).copy()
    rgb = rgb.reshape(400, -1)[:, : 640 * 3].reshape(400, 640, 3).astype(int)
    assert (np.abs(rgb - rgb[5, 600]).sum(axis=-1) > 40).mean() > 0.02  # outlines and axes drawn


def test_render_reports_bad_requests_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.png"
    result = run_render("--out", str(missing))
    assert result.returncode == 2
    assert f"render: {missing}: directory {missing.parent} does not exist" in result.stderr
    assert "Traceback" not in result.stderr

    result = run_render("--out", str(tmp_path / "x.png"), "--size", "big")
    assert result.returncode == 2
    assert "size must look like 1920x1080" in result.stderr


def test_picture_requests() -> None:
    assert parse_size("1920x1080") == (1920, 1080)
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=r"outside 16\.\.8192"):
        parse_size("9x9")
    args = argparse.Namespace(
        out=Path("a.png"),
        size=(800, 600),
        view="3d",
        camera=None,
        cutaway="half",
        hide="bklm, EKLM",
        theme="light",
    )
    assert picture_from_args(args) == Picture(
        Path("a.png"), "3d", (800, 600), None, "half", frozenset({"BKLM", "EKLM"}), "light"
    )
    args.out = Path("a.jpg")
    with pytest.raises(RenderError, match="only PNG"):
        picture_from_args(args)


def _rgb(path: Path) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rgb = np.frombuffer(image.constBits(), np.uint8).copy()
    return rgb.reshape(h, -1)[:, : w * 3].reshape(h, w, 3).astype(int)


def test_render_events_of_the_mdst_sample_on_the_detector(
    mdst_sample: Path, tmp_path: Path, screenshot_dir: Path
) -> None:
    out = tmp_path / "pictures"
    result = run_render(str(mdst_sample), "--events", "1-2", "--out-dir", str(out), "--size", "3840x2160")
    assert result.returncode == 0, result.stderr
    assert "wrote 2 picture(s)" in result.stdout
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "mdst-v06-00-00_e0000_r00000_ev00000002.png",
        "mdst-v06-00-00_e0000_r00000_ev00000003.png",
    ]  # named by experiment, run and event (events 1 and 2 are numbers 2 and 3)
    one, two = (_rgb(out / name) for name in files)
    assert one.shape == (2160, 3840, 3)
    assert (np.abs(one - two).sum(axis=-1) > 60).mean() > 0.001  # two different events drawn
    from PySide6.QtGui import QImage

    QImage(str(out / files[0])).scaled(1920, 1080).save(str(screenshot_dir / "render_mdst_event_3d.png"))

    result = run_render(str(mdst_sample), "--events", "3", "--out-dir", str(out / "rz"), "--view", "rz")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (out / "rz").iterdir()] == ["mdst-v06-00-00_e0000_r00000_ev00000004.png"]


def test_render_events_reports_bad_requests(mdst_sample: Path, tmp_path: Path) -> None:
    cases = {
        ("--events", "7-x"): "render: bad event range '7-x': write e.g. 0-99 or 7",
        ("--events", "50-60"): "events 50-60 are outside the file, which holds 10 events (0-9)",
        ("--out", str(tmp_path / "a.png")): "give either --out",
        (): "say where the event pictures go with --out-dir DIR",
    }
    for extra, message in cases.items():
        out_dir = () if extra == () else ("--out-dir", str(tmp_path / "o"))
        result = run_render(str(mdst_sample), *extra, *out_dir)
        assert result.returncode == 2, extra
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    garbage = tmp_path / "garbage.root"
    garbage.write_bytes(b"not a ROOT file at all")
    for path, message in (
        (tmp_path / "missing.root", "missing.root: no such file"),
        (garbage, "garbage.root"),
    ):
        result = run_render(str(path), "--out-dir", str(tmp_path / "o"))
        assert result.returncode == 2
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not any((tmp_path / "o").glob("*.png"))


def test_render_clamps_a_huge_event_range_and_refuses_absurd_ones(tmp_path: Path) -> None:
    from events import io
    from tests.events.test_hdf5 import random_batch

    events = tmp_path / "ten.h5"
    io.write(events, random_batch(10))
    out_dir = tmp_path / "pictures"
    result = run_main(  # a range of 10^11 events on a 10-event file: drawn at once, not iterated
        "render", str(events), "--events", "0-100000000000", "--out-dir", str(out_dir), "--size", "64x48",
        drop_env=("DISPLAY", "QT_QPA_PLATFORM"), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "wrote 10 picture(s)" in result.stdout
    assert "99999999991 event(s) of the range lie past the file's 10" in result.stdout
    assert len(list(out_dir.glob("*.png"))) == 10
    for events_arg, message in [
        ("0-" + "9" * 5000, "numbers that long are no event positions"),
        ("0-100000000000000000", "positions stop at"),
        ("20-100000000000", "events 20-100000000000 are outside the file, which holds 10 events (0-9)"),
    ]:
        result = run_render(str(events), "--events", events_arg, "--out-dir", str(out_dir))
        assert result.returncode == 2, events_arg
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_render_never_writes_a_picture_over_another_kind_of_file(tmp_path: Path) -> None:
    from events import io
    from tests.events.test_hdf5 import random_batch

    store = tmp_path / "store.png"
    io.write(tmp_path / "store.h5", random_batch(2))
    (tmp_path / "store.h5").rename(store)
    before = store.read_bytes()
    result = run_render("--out", str(store), "--size", "64x48")
    assert result.returncode == 2
    assert f"render: {store}: already holds an HDF5 file; this writes a PNG picture" in result.stderr
    assert store.read_bytes() == before
