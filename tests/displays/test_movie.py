"""Movies: the frame schedule (pure), and real H.264 / VP9 files made off screen and read back."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from displays.event_render import parse_range
from displays.movie import (
    MovieError,
    MovieRequest,
    Progress,
    Schedule,
    check_size,
    codec_for,
    frame_count,
)
from events.outputs import detect_kind
from tests.conftest import ROOT, run_main
from tests.displays.test_render import BG, is_background, patch

SAMPLE = ROOT / "assets" / "samples" / "dark-sector-sample.h5"
ECL_R_MID = 140.0  # cm: inside the barrel crystals (125.16 to 155.16 cm)


# --- the pure part ---------------------------------------------------------------------------


def test_events_share_the_frames_equally_in_order() -> None:
    schedule = Schedule(n_frames=10, fps=10, n_events=3)
    assert [f.event for f in schedule] == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [f.index for f in schedule if f.first_of_event] == [0, 4, 7]
    assert [len(schedule.frames_of(e)) for e in range(3)] == [4, 3, 3]
    for n_frames, n_events in ((250, 7), (11, 11), (1000, 3), (9, 1)):
        s = Schedule(n_frames, 25, n_events)
        counts = np.bincount([f.event for f in s], minlength=n_events)
        assert counts.sum() == n_frames
        assert counts.max() - counts.min() <= 1
        assert all(s.event_at(s.first_frame(e)) == e for e in range(n_events))
    alone = Schedule(5, 10)
    assert {f.event for f in alone} == {-1}
    assert all(f.growth == 1.0 and f.crystals for f in alone)
    with pytest.raises(MovieError, match="6 events do not fit in 5 frames"):
        Schedule(5, 10, 6)
    with pytest.raises(IndexError):
        alone.frame(5)


def test_camera_turns_steadily_over_the_whole_movie() -> None:
    schedule = Schedule(n_frames=100, fps=25, n_events=4, start_azimuth=-40.0, degrees_per_s=6.0)
    azimuths = np.array([f.azimuth for f in schedule])
    np.testing.assert_allclose(np.diff(azimuths), 6.0 / 25)  # no jump when the event changes
    assert azimuths[0] == -40.0
    fast = Schedule(n_frames=40, fps=10, start_azimuth=170.0, degrees_per_s=90.0)
    assert all(-180.0 <= f.azimuth < 180.0 for f in fast)
    assert fast.frame(1).azimuth == pytest.approx(179.0)
    assert fast.frame(2).azimuth == pytest.approx(-172.0)  # wrapped, still turning the same way


def test_tracks_grow_then_the_crystals_light_up_for_each_event() -> None:
    schedule = Schedule(n_frames=200, fps=10, n_events=2, grow_s=2.5)  # 100 frames each, 25 to grow
    first = [schedule.frame(k) for k in range(100)]
    growth = [f.growth for f in first]
    assert growth[0] == 0.0
    assert growth[25] == 1.0
    assert growth[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(growth))
    assert growth[5] > 5 / 25  # eased out: fast at first
    assert [f.crystals for f in first] == [False] * 25 + [True] * 75
    second = schedule.frame(100)
    assert second.first_of_event
    assert second.growth == 0.0
    assert not second.crystals
    short = Schedule(n_frames=10, fps=10, n_events=2, grow_s=2.5)  # 0.5 s per event: grows in 2 frames
    assert [f.crystals for f in short] == [False, False, True, True, True] * 2


def test_requests_are_checked_before_any_rendering() -> None:
    assert codec_for("a.mp4").encoder == "libx264"
    assert codec_for("show.WEBM").encoder == "libvpx-vp9"
    with pytest.raises(MovieError, match=r"a\.avi: unknown movie suffix \('\.avi'\); write \.mp4"):
        codec_for("a.avi")
    with pytest.raises(MovieError, match="no suffix"):
        codec_for("movie")
    assert check_size((3840, 2160), "a.mp4") == (3840, 2160)
    assert check_size((2160, 3840), "a.mp4") == (2160, 3840)  # portrait screens
    with pytest.raises(MovieError, match=r"4096x2160 too large; at most 3840x2160"):
        check_size((4096, 2160), "a.mp4")
    with pytest.raises(MovieError, match=r"odd side; H\.264 in yuv420p needs even sizes \(e\.g\. 322x240\)"):
        check_size((321, 240), "a.mp4")
    assert frame_count(1, 10) == 10
    assert frame_count(0.01, 25) == 1
    for seconds, fps in ((0, 25), (10, 0), (10, float("nan")), (1e9, 25), (10, 1000)):
        with pytest.raises(MovieError):
            frame_count(seconds, fps)
    assert MovieRequest(Path("a.webm"), seconds=2, fps=12.5).n_frames == 25


def test_progress_says_a_line_per_tenth() -> None:
    lines: list[str] = []
    clock = iter(np.arange(0.0, 1000.0, 0.5))
    progress = Progress(100, lines.append, clock=lambda: float(next(clock)))
    for done in range(1, 101):
        progress.update(done)
    assert len(lines) == 10
    assert lines[0].startswith("movie 10/100 frames (10 %), ")
    assert lines[-1].startswith("movie 100/100 frames (100 %), 20.0 frames/s, 0 s to go")
    few: list[str] = []
    progress = Progress(3, few.append)
    for done in (1, 2, 3):
        progress.update(done)
    assert [line.split(" (")[0] for line in few] == [
        "movie 1/3 frames",
        "movie 2/3 frames",
        "movie 3/3 frames",
    ]


def test_captions_fit_the_band_on_any_screen() -> None:
    from displays.movie import CAPTION_BAND, CAPTION_STYLES, caption_layout
    from displays.showcase import PROCESS_STORY

    head, sentence = PROCESS_STORY["bbbar_mixed"]
    lines = [head, sentence, "5 charged particles curve in the 1.5 T magnetic field (orange: positive, blue: "
             "negative) · 17 flashes of light in the crystal calorimeter (7.0 GeV)."]  # fmt: skip
    for w, h in ((1920, 1080), (3840, 2160), (1080, 1920), (540, 960), (320, 240)):
        top = round(h * (1 - CAPTION_BAND))
        placed = caption_layout(lines, (w, h), top)
        assert [" ".join(text.split()) for text, _, _ in placed] == lines  # every word, none cut
        text, px, y = placed[-1]
        assert top < placed[0][2]
        assert y + px * 1.45 * (text.count("\n") + 1) <= h  # inside the band
        for text, px, _ in placed:  # no row wider than the band (at about half an em a letter)
            assert max(len(row) for row in text.splitlines()) * 0.52 * px <= w
    landscape = caption_layout(
        ["A muon pair", "Flying out back to back.", "2 charged particles."], (1920, 1080), 842
    )
    assert landscape[0][1] == pytest.approx(CAPTION_STYLES[0][0] * 1080)  # full size where it fits


def test_event_ranges_as_slices_and_movies_as_their_own_kind(tmp_path: Path) -> None:
    assert parse_range("0:5") == range(0, 5)
    assert parse_range(":5") == range(0, 5)  # a count: the first five
    assert parse_range("2-4") == range(2, 5)
    assert parse_range("7") == range(7, 8)
    mp4, webm = tmp_path / "a.mp4", tmp_path / "a.webm"
    mp4.write_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00")
    webm.write_bytes(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01")
    assert detect_kind(mp4) == detect_kind(webm) == "video"


# --- real movies -----------------------------------------------------------------------------


def decode(path: Path) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Metadata and every frame (H, W, 3) of a movie, decoded by ffmpeg."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return meta, [np.frombuffer(frame, np.uint8).reshape(h, w, 3) for frame in reader]


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".part" in p.name]


@pytest.fixture(scope="module")
def app(qapp: Any) -> Any:
    from vispy import app as vispy_app

    return vispy_app.use_app("pyside6")


@pytest.fixture(scope="module")
def parts() -> list[Any]:
    from geometry.detector import build_detector

    return build_detector()


@pytest.mark.gl
def test_movie_of_sample_events_shows_the_turning_detector(
    app: Any, parts: list[Any], tmp_path: Path, screenshot_dir: Path
) -> None:
    from vispy.io import write_png

    from displays.event_render import open_event_source
    from displays.movie import MovieScene, write_movie

    source = open_event_source(SAMPLE)
    request = MovieRequest(
        tmp_path / "events.mp4", size=(320, 240), seconds=1.0, fps=10.0, degrees_per_s=60.0
    )
    lines: list[str] = []
    out = write_movie(request, app, parts, source, range(0, 3), inputs=[SAMPLE], progress=lines.append)
    assert out == request.out
    assert no_leftovers(tmp_path)
    assert len(lines) == 10
    assert lines[-1].startswith("movie 10/10 frames (100 %)")
    meta, frames = decode(out)
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p(tv, bt709")
    assert meta["size"] == (320, 240)
    assert meta["fps"] == 10.0
    assert len(frames) == 10
    for k in (0, 5, 9):
        write_png(str(screenshot_dir / f"movie_frame{k}.png"), frames[k].copy())
    bg = np.asarray([is_background(p) for p in frames[0].reshape(-1, 3)[::7]])
    assert bg.mean() < 0.9  # not blank: detector and tracks cover the picture
    assert frames[0].std() > 10
    steps = [np.abs(a.astype(int) - b).sum(axis=-1) > 40 for a, b in itertools.pairwise(frames)]
    assert all(step.mean() > 0.05 for step in steps)  # the camera turns: every frame moves on

    # each decoded frame is the off-screen render of its scheduled frame, up to compression (and far
    # from the same event seen from another angle); the ECL barrel lies where that frame's camera puts it
    scene = MovieScene(request, parts, app, events=True)
    try:
        schedule = Schedule(10, 10.0, 3, scene.start_azimuth, 60.0)
        for k in (0, 4, 9):
            frame = schedule.frame(k)
            scene.show(frame, source.read(frame.event, frame.event + 1))
            own = np.abs(frames[k] - scene.render()[..., :3].astype(int)).mean()
            assert own < 6, f"frame {k} is not its scheduled picture"
            phi = np.radians(np.arange(100.0, 260.0, 20.0))  # the half away from the wedge cut
            ring = np.stack([ECL_R_MID * np.cos(phi), ECL_R_MID * np.sin(phi), np.full_like(phi, 60.0)], 1)
            drawn = [
                not all(is_background(p) for p in patch(frames[k], xy, 1))
                for xy in scene.detector.to_pixels(ring)
            ]
            assert all(drawn), f"frame {k}: calorimeter missing at {np.flatnonzero(~np.array(drawn))}"
            turned = replace(frame, azimuth=schedule.frame((k + 5) % 10).azimuth)
            scene.show(turned)
            assert np.abs(frames[k] - scene.render()[..., :3].astype(int)).mean() > 3 * own
    finally:
        scene.close()


@pytest.mark.gl
def test_outreach_movie_has_its_caption_and_growing_tracks(
    app: Any, parts: list[Any], tmp_path: Path, screenshot_dir: Path
) -> None:
    from vispy.io import write_png

    from displays.event_render import open_event_source
    from displays.movie import CAPTION_BAND, write_movie

    source = open_event_source(SAMPLE)
    request = MovieRequest(tmp_path / "show.mp4", size=(640, 360), seconds=2.0, fps=10.0, outreach=True)
    # events 2 and 3 of the sample: a d dbar event with nine tracks, then an e+e- mu+mu- pair
    _, frames = decode(write_movie(request, app, parts, source, range(2, 4)))
    assert len(frames) == 20
    assert frames[0].shape == (360, 640, 3)
    write_png(str(screenshot_dir / "movie_outreach.png"), frames[9].copy())
    top = round(360 * (1 - CAPTION_BAND))
    band = frames[9][top + 4 :, :, :].astype(int)
    assert (band.max(axis=-1) > 200).mean() > 0.004  # white and light-blue letters on the dark band
    median = np.median(band.reshape(-1, 3), axis=0)
    assert np.abs(median - [13, 19, 32]).max() <= 4  # the band's own colour, not the background
    assert np.abs(median - BG).max() > 4
    # tracks grow out of the collision point: fewer track pixels on the first frame than when whole
    colourful = [(np.ptp(f[:top].astype(int), axis=-1) > 90).sum() for f in frames[:10]]
    assert colourful[0] < colourful[9]


@pytest.mark.gl
def test_a_failed_movie_leaves_the_previous_file_as_it_was(
    app: Any, parts: list[Any], tmp_path: Path
) -> None:
    from displays.event_render import open_event_source
    from displays.movie import write_movie
    from events.source import EventFileError

    real = open_event_source(SAMPLE)

    class BreaksAtTheSecondEvent:
        def __len__(self) -> int:
            return 3

        def read(self, start: int, stop: int) -> Any:
            if start >= 1:
                raise EventFileError(SAMPLE, f"events {start}-{stop}: damaged basket")
            return real.read(start, stop)

    out = tmp_path / "movie.mp4"
    out.write_bytes(b"\x00\x00\x00\x20ftypisom previous movie")
    before = out.read_bytes()
    request = MovieRequest(out, size=(160, 120), seconds=1.0, fps=6.0)
    with pytest.raises(MovieError, match="damaged basket"):
        write_movie(request, app, parts, BreaksAtTheSecondEvent(), range(3))
    assert out.read_bytes() == before
    assert no_leftovers(tmp_path)


@pytest.mark.gl
def test_an_encoder_failure_never_replaces_the_previous_movie(
    app: Any, parts: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from displays import movie

    out = tmp_path / "movie.mp4"
    out.write_bytes(b"\x00\x00\x00\x20ftypisom previous movie")
    before = out.read_bytes()
    broken = movie.Codec("H.264", "libx264", ("-f", "mp4", "-crf", "not-a-number"))  # ffmpeg gives up
    monkeypatch.setitem(movie.CODECS, ".mp4", broken)
    for size, seconds in (((64, 48), 0.5), ((320, 240), 1.0)):  # within the pipe's buffer, and beyond
        request = MovieRequest(out, size=size, seconds=seconds, fps=10.0)
        with pytest.raises(MovieError, match=r"movie\.mp4: ffmpeg (could not write|wrote no readable)"):
            movie.write_movie(request, app, parts)
        assert out.read_bytes() == before
        assert no_leftovers(tmp_path)


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return run_main("render", *args, drop_env=("DISPLAY", "QT_QPA_PLATFORM"))  # no display at all


def test_webm_movie_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "events.webm"
    result = run_render(str(SAMPLE), "--events", ":2", "--movie", str(out), "--seconds", "1", "--fps", "8",
                        "--size", "320x240")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (320x240, 8 frames at 8 fps, VP9, 2 event(s)" in result.stdout
    assert result.stderr.count("render: movie ") == 8  # one progress line per tenth (each frame here)
    meta, frames = decode(out)
    assert meta["codec"] == "vp9"
    assert meta["size"] == (320, 240)
    assert len(frames) == 8
    assert frames[0].std() > 10
    assert no_leftovers(tmp_path)


def test_movie_requests_fail_in_one_line(tmp_path: Path) -> None:
    png = tmp_path / "picture.mp4"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n damaged beyond its signature")
    ok = str(tmp_path / "m.mp4")
    cases = [
        ((str(SAMPLE), "--movie", str(tmp_path / "m.avi")), "m.avi: unknown movie suffix ('.avi')"),
        ((str(SAMPLE), "--movie", ok, "--size", "641x480"), "H.264 in yuv420p needs even sizes"),
        ((str(SAMPLE), "--movie", ok, "--size", "7680x4320"), "7680x4320 too large; at most 3840x2160"),
        ((str(SAMPLE), "--movie", str(tmp_path / "no" / "m.mp4")), f"{tmp_path / 'no'} does not exist"),
        ((str(SAMPLE), "--movie", str(not_a_folder / "m.mp4")), f"{not_a_folder} is not a folder"),
        ((str(SAMPLE), "--movie", str(png)), "already holds a PNG picture; this writes a video"),
        ((str(garbage), "--movie", ok), "garbage.h5"),
        ((str(tmp_path / "missing.h5"), "--movie", ok), "missing.h5: no such file"),
        ((str(SAMPLE), "--movie", ok, "--events", ":300", "--seconds", "2"), "300 events do not fit in 50"),
        ((str(SAMPLE), "--movie", ok, "--events", "400:500"), "events 400:500 are outside the file"),
        ((str(SAMPLE), "--movie", ok, "--fps", "0"), "frame rate 0 outside"),
        ((str(SAMPLE), "--movie", ok, "--view", "rphi"), "movies show the turning 3D view"),
        ((str(SAMPLE), "--movie", ok, "--out-dir", str(tmp_path)), "give either --movie or --out-dir"),
        (("--movie", ok, "--events", ":3"), "--events :3: give an event FILE, or --outreach"),
        ((str(SAMPLE), "--movie", ok, "--hide", "ECL,FOO"), "unknown subdetector(s) FOO; known: ARICH"),
    ]  # fmt: skip
    for args, message in cases:
        result = run_render(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "m.mp4").exists()
    assert no_leftovers(tmp_path)


def test_ctrl_c_removes_the_unfinished_movie(tmp_path: Path) -> None:
    out = tmp_path / "long.mp4"
    out.write_bytes(b"\x00\x00\x00\x20ftypisom the previous movie")
    before = out.read_bytes()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "render", str(SAMPLE), "--movie", str(out),
         "--seconds", "100", "--fps", "10", "--size", "160x120"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the first tenth: frames are being encoded into the temporary
        assert "render: movie " in line, line
        assert [p for p in tmp_path.iterdir() if ".part" in p.name]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "render: interrupted; any previous file is unchanged" in err
    assert out.read_bytes() == before
    assert no_leftovers(tmp_path)


def test_outreach_collisions_come_from_the_generator_without_a_file(tmp_path: Path) -> None:
    from displays.showcase import DEFAULT_FILTER, generated_collisions
    from events import filtering

    batch = generated_collisions(6, seed=3)
    assert len(batch) == 6
    assert filtering.parse(DEFAULT_FILTER)(batch).all()  # only what a visitor should see
    again = generated_collisions(6, seed=3)
    np.testing.assert_array_equal(batch.header["event"], again.header["event"])
    assert len(generated_collisions(0)) == 0

    out = tmp_path / "show.mp4"
    result = run_render("--movie", str(out), "--outreach", "--events", ":2", "--seconds", "1", "--fps", "4",
                        "--size", "320x240")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (320x240, 4 frames at 4 fps, H.264, 2 generated collision(s)" in result.stdout
    _, frames = decode(out)
    assert len(frames) == 4
