"""Movies of the detector and its events: ``main.py render [FILE] --movie OUT.mp4|OUT.webm``.

Each frame is rendered off screen into a framebuffer of the movie's size (up to 3840 x 2160, never a
screen grab) and piped as raw RGB to ffmpeg (``imageio_ffmpeg.write_frames``): H.264 in yuv420p for
``.mp4``, VP9 for ``.webm``. The camera turns slowly over the whole movie; several events share the
time equally. With ``outreach`` the movie looks like the outreach show (``panels.outreach``): the
detector cut open, each collision replayed in its own time (``displays.timeline``: the particles fly
out of the collision point at their speeds, slowed down, and the crystals light as they arrive), and
a caption in plain words under the picture.

The pure part, which event and which camera angle frame ``k`` shows (``Schedule``), the checks of a
request (``codec_for``, ``check_size``) and the progress lines (``Progress``) need no GL; the
rendering part (``MovieScene``, ``write_movie``) imports VisPy and imageio-ffmpeg when called.
The output is atomic (``events.outputs.AtomicOutput``): ffmpeg writes a temporary file in the same
folder, decoded again to count its frames and then renamed onto OUT; a failure or Ctrl-C removes it
and leaves any previous OUT as it was.
"""

from __future__ import annotations

import contextlib
import math
import queue
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from displays import showcase
from events.outputs import AtomicOutput, OutputError
from events.source import EventFileError, Events

MAX_LONG_SIDE, MAX_SHORT_SIDE = 3840, 2160  # 4K UHD, landscape or portrait
MAX_FPS = 120.0
MAX_SECONDS = 3600.0


class MovieError(ValueError):
    """A movie that cannot be made; the message is one line naming the file and the reason."""


# --- the request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    """How one container is encoded: ffmpeg's encoder and its options."""

    name: str  # in words, for messages
    encoder: str
    options: tuple[str, ...]


# BT.709 matrix and tags: what players assume for HD video (ffmpeg's default RGB->YUV matrix is BT.601)
COLOR_TAGS = (
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv,setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709",
)
# H.264 "veryfast" at CRF 18: near-transparent quality, and smaller and four times faster than
# "medium" on these pictures (dark flat background, thin lines), which matters when ffmpeg shares the
# cores with Mesa's software rasterizer; VP9 in realtime mode for the same reason (docs/movies.md)
CODECS: dict[str, Codec] = {
    ".mp4": Codec(
        "H.264", "libx264", ("-f", "mp4", "-crf", "18", "-preset", "veryfast", "-movflags", "+faststart")
    ),
    ".webm": Codec(
        "VP9",
        "libvpx-vp9",
        ("-f", "webm", "-crf", "24", "-b:v", "0", "-row-mt", "1", "-deadline", "realtime", "-cpu-used", "6"),
    ),
}


def codec_for(path: str | Path) -> Codec:
    """The codec a movie file name asks for by its suffix; ``MovieError`` for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in CODECS:
        given = f"'{suffix}'" if suffix else "no suffix"
        raise MovieError(f"{path}: unknown movie suffix ({given}); write .mp4 (H.264) or .webm (VP9)")
    return CODECS[suffix]


def check_size(size: tuple[int, int], path: str | Path) -> tuple[int, int]:
    """Refuse a movie size above 3840 x 2160 (either way round) or with an odd side."""
    w, h = size
    if max(w, h) > MAX_LONG_SIDE or min(w, h) > MAX_SHORT_SIDE:
        raise MovieError(
            f"{path}: movie size {w}x{h} too large; at most {MAX_LONG_SIDE}x{MAX_SHORT_SIDE} "
            f"(or {MAX_SHORT_SIDE}x{MAX_LONG_SIDE})"
        )
    if w % 2 or h % 2:
        name = codec_for(path).name
        raise MovieError(
            f"{path}: movie size {w}x{h} has an odd side; {name} in yuv420p needs even sizes "
            f"(e.g. {w + w % 2}x{h + h % 2})"
        )
    return w, h


def frame_count(seconds: float, fps: float) -> int:
    """Frames of a movie of ``seconds`` at ``fps`` (at least one); ``MovieError`` for absurd values."""
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise MovieError(f"frame rate {fps:g} outside 0..{MAX_FPS:g} frames per second")
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
        raise MovieError(f"movie length {seconds:g} s outside 0..{MAX_SECONDS:g} s")
    return max(1, round(seconds * fps))


# --- the frame schedule (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """What frame ``index`` shows."""

    index: int
    event: int  # position in the movie's list of events; -1 in a movie of the detector alone
    azimuth: float  # degrees, in [-180, 180)
    growth: float  # fraction of every track drawn (1: whole tracks)
    crystals: bool  # the calorimeter's crystals lit
    first_of_event: bool  # the event changes at this frame
    elapsed_s: float = 0.0  # movie time since the event's first frame
    replay_s: float = 0.0  # the longest replay of the event in its own time (0: shown whole at once)

    def time_ns(self, duration_ns: float, ns_per_s: float = showcase.NS_PER_S) -> float | None:
        """The event's time [ns after the collision] this frame shows; None: the whole event."""
        if self.replay_s <= 0:
            return None
        return self.elapsed_s * showcase.replay_rate(duration_ns, ns_per_s, self.replay_s)


def wrap_degrees(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class Schedule:
    """Which event and which camera angle each frame of a movie shows.

    The ``n_events`` events share the frames equally (counts differ by at most one, in order); the
    camera turns at ``degrees_per_s`` through the whole movie, from ``start_azimuth``. With
    ``grow_s`` > 0 each event's tracks grow out of the collision point (eased out, for frames made
    by hand) over ``grow_s`` or two fifths of the event's time, whichever is shorter; the
    crystals light up when the tracks are whole. The same span bounds the replay of the event in
    its own time (``Frame.time_ns``), which the movies draw.
    """

    n_frames: int
    fps: float
    n_events: int = 0
    start_azimuth: float = 0.0
    degrees_per_s: float = 6.0
    grow_s: float = 0.0

    def __post_init__(self) -> None:
        if self.n_frames < 1:
            raise MovieError(f"a movie needs at least one frame, not {self.n_frames}")
        if self.n_events > self.n_frames:
            raise MovieError(
                f"{self.n_events} events do not fit in {self.n_frames} frames: "
                "make the movie longer, the frame rate higher or the event range shorter"
            )

    def __len__(self) -> int:
        return self.n_frames

    def __iter__(self) -> Iterator[Frame]:
        return (self.frame(k) for k in range(self.n_frames))

    def event_at(self, k: int) -> int:
        return k * self.n_events // self.n_frames if self.n_events else -1

    def first_frame(self, event: int) -> int:
        """The first frame of ``event`` (the smallest k with ``event_at(k) == event``)."""
        return -(-event * self.n_frames // self.n_events)

    def frames_of(self, event: int) -> range:
        stop = self.first_frame(event + 1) if event + 1 < self.n_events else self.n_frames
        return range(self.first_frame(event), stop)

    def grow_frames(self, event: int) -> float:
        """Frames over which the tracks of ``event`` grow (0: whole at once)."""
        if self.grow_s <= 0 or event < 0:
            return 0.0
        return min(self.grow_s * self.fps, 0.4 * len(self.frames_of(event)))

    def frame(self, k: int) -> Frame:
        if not 0 <= k < self.n_frames:
            raise IndexError(f"frame {k} outside 0..{self.n_frames - 1}")
        event = self.event_at(k)
        first = self.first_frame(event) if event >= 0 else 0
        growth, crystals = 1.0, True
        grow = self.grow_frames(event)
        if grow > 0:
            t = min((k - first) / grow, 1.0)
            growth, crystals = 1.0 - (1.0 - t) ** 2, t >= 1.0
        azimuth = wrap_degrees(self.start_azimuth + self.degrees_per_s * k / self.fps)
        return Frame(k, event, azimuth, growth, crystals, k == first, (k - first) / self.fps, grow / self.fps)


class Progress:
    """One line on ``write`` each time another tenth of the frames is done (and at the end)."""

    def __init__(
        self,
        total: int,
        write: Callable[[str], None],
        label: str = "movie",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total, self.write, self.label, self.clock = total, write, label, clock
        self.start = clock()
        self.tenths = 0

    def update(self, done: int) -> None:
        tenths = done * 10 // self.total
        if tenths <= self.tenths and done < self.total:
            return
        if done == self.total and self.tenths >= 10:
            return
        self.tenths = max(tenths, 10 if done == self.total else 0)
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = done / elapsed
        left = (self.total - done) / rate if rate > 0 else 0.0
        self.write(
            f"{self.label} {done}/{self.total} frames ({100 * done // self.total} %), "
            f"{rate:.1f} frames/s, {left:.0f} s to go"
        )


# --- the request, whole -----------------------------------------------------------------------


@dataclass(frozen=True)
class MovieRequest:
    """Everything one movie needs, checked by ``displays.cli`` before the scene is built."""

    out: Path
    size: tuple[int, int] = (1920, 1080)
    seconds: float = 10.0
    fps: float = 25.0
    outreach: bool = False
    degrees_per_s: float = 6.0
    camera: str | None = None  # 3D preset; None: the natural one (framing the calorimeter for events)
    cutaway: str = "wedge"
    hidden: frozenset[str] = field(default_factory=frozenset)
    theme: str = "dark"
    cdc_wires: bool = False
    line_width: float = 2.0

    @property
    def codec(self) -> Codec:
        return codec_for(self.out)

    @property
    def n_frames(self) -> int:
        return frame_count(self.seconds, self.fps)


# --- rendering (VisPy) ------------------------------------------------------------------------

CAPTION_BAND = 0.22  # of the picture's height, under the detector (outreach)
CAPTION_BACKGROUND = "#0d1320"
CAPTION_BORDER = "#3fb6e8"
CAPTION_STYLES = (  # text height as a fraction of the picture's height, colour, bold
    (0.040, "#ffffff", True),
    (0.026, "#dfe6f2", False),
    (0.021, "#8fd3f4", False),
)


class CaptionBand:
    """The outreach caption under the picture: headline, sentence and facts, wrapped to the width."""

    def __init__(self, canvas: Any, size: tuple[int, int]) -> None:
        from vispy import scene

        w, h = size
        self.size = size
        self.top = round(h * (1.0 - CAPTION_BAND))
        band_h = h - self.top
        self.background = scene.visuals.Rectangle(
            center=(w / 2, self.top + band_h / 2),
            width=w,
            height=band_h,
            color=CAPTION_BACKGROUND,
            parent=canvas.scene,
        )
        border = max(2.0, 3.0 * h / 720)
        self.border = scene.visuals.Line(
            np.array([[0, self.top + border / 2], [w, self.top + border / 2]], np.float32),
            color=CAPTION_BORDER,
            width=border,
            method="gl",
            parent=canvas.scene,
        )
        self.px_to_pt = 72.0 / float(canvas.dpi)
        self.texts = [
            scene.visuals.Text(
                "",
                color=color,
                bold=bold,
                font_size=share * h * self.px_to_pt,
                anchor_x="left",
                anchor_y="bottom",
                parent=canvas.scene,
            )
            for share, color, bold in CAPTION_STYLES
        ]
        for order, node in enumerate((self.background, self.border, *self.texts)):
            node.order = 1000 + order
            node.set_gl_state("translucent", depth_test=False)

    def clock(self) -> Any:
        """A line of text over the picture's top left corner (the replay's time), in the facts' colour."""
        from vispy import scene

        w, h = self.size
        node = scene.visuals.Text(
            "",
            color=CAPTION_STYLES[2][1],
            font_size=CAPTION_STYLES[1][0] * h * self.px_to_pt,
            anchor_x="left",
            anchor_y="bottom",
            pos=(0.03 * w, 0.035 * h),
            parent=self.background.parent,
        )
        node.order = 1000 + len(self.texts) + 2
        node.set_gl_state("translucent", depth_test=False)
        return node

    def set_text(self, lines: Sequence[str]) -> None:
        """Headline, sentence, facts: each wrapped to the band's width, stacked from the top."""
        for node, (text, px, y) in zip(self.texts, caption_layout(lines, self.size, self.top), strict=False):
            node.text = text
            node.font_size = px * self.px_to_pt
            node.pos = (0.03 * self.size[0], y)


def caption_layout(lines: Sequence[str], size: tuple[int, int], top: int) -> list[tuple[str, float, float]]:
    """(wrapped text, text height in px, top row) of each caption line in the band from row ``top``
    down: the sizes of ``CAPTION_STYLES``, made smaller until every word fits (a portrait screen, a
    long sentence)."""
    w, h = size
    width = 0.94 * w
    scale = 1.0
    placed: list[tuple[str, float, float]] = []
    for _ in range(30):
        pad = 0.035 * h * scale
        y = top + pad
        placed = []
        for (share, _, _), text in zip(CAPTION_STYLES, lines, strict=False):
            px = share * h * scale
            wrapped = textwrap.wrap(text, max(10, int(width / (0.52 * px)))) or [""]
            placed.append(("\n".join(wrapped), px, y))
            y += px * (1.45 * len(wrapped) + 0.35)
        if y <= h - 0.5 * pad:
            break
        scale *= 0.9
    return placed


class MovieScene:
    """The detector in 3D at the movie's size, the event overlay on it and, for outreach, the caption.

    ``show(frame, event)`` sets the camera angle, the event and its time; ``render()`` returns the
    picture as an (H, W, 3) uint8 RGB array, drawn into a framebuffer of the movie's size. The
    framebuffer is made once and drawn into again for every frame (``reuse_framebuffer``; VisPy's
    ``canvas.render()`` makes and frees a new one of the movie's size each time), and the pixels are read
    back as RGB, not RGBA then cut.
    """

    def __init__(
        self,
        request: MovieRequest,
        parts: Sequence[Any],
        app: Any,
        events: bool,
        reuse_framebuffer: bool = True,
    ) -> None:
        from displays.event_view import apply_event_look
        from displays.event_visuals import EventVisuals, detector_crystal_painter
        from displays.headless import is_qt
        from displays.style import canvas_colors
        from displays.view3d import DetectorView3D

        self.request = request
        self.reuse_framebuffer = reuse_framebuffer
        self._fbo: Any = None
        size = request.size
        self.detector = DetectorView3D(parts, size=size, app=app, show=is_qt(app))
        detector = self.detector
        unknown = sorted(request.hidden - set(detector.parts))
        if unknown:
            detector.close()
            raise MovieError(
                f"unknown subdetector(s) {', '.join(unknown)}; known: {', '.join(sorted(detector.parts))}"
            )
        for name in detector.parts:
            detector.set_part_visible(name, name not in request.hidden)
        detector.set_canvas_colors(canvas_colors(request.theme))
        detector.set_wires_visible(request.cdc_wires)
        camera = detector.view.camera
        self.caption: CaptionBand | None = None
        self.clock: Any = None  # the replay's time in words, over the picture's top left (outreach)
        if request.outreach:
            detector.set_cutaway(showcase.CUTAWAY)
            detector.set_camera_preset("3d")
            apply_event_look(detector)
            camera.elevation = showcase.ELEVATION
            camera.scale_factor = showcase.CAMERA_EXTENT
            camera.center = showcase.CAMERA_CENTER
            self.caption = CaptionBand(detector.canvas, size)
            self.view_rect = (0, 0, size[0], self.caption.top)
            self.clock = self.caption.clock()
        else:
            detector.set_cutaway(request.cutaway)
            detector.set_camera_preset(request.camera or "3d")
            if events:
                apply_event_look(detector, frame=request.camera is None)
            self.view_rect = (0, 0, *size)
        scale = min(size) / (720.0 if request.outreach else 1080.0)
        if scale > 1.0:  # beams and their names as thick and as large on a 4K movie as on a screen
            detector.beams.set_data(width=2.0 * scale)
            for label in detector.beam_labels:
                label.font_size = label.font_size * scale
        self.start_azimuth = float(camera.azimuth)
        self.duration = 0.0  # of the shown event's replay [ns]
        self.visuals: Any = None
        if events:
            painter = detector_crystal_painter(detector) if "ECL" in detector.parts else None
            width = showcase.TRACK_WIDTH * min(size) / 720 if request.outreach else request.line_width
            self.visuals = EventVisuals(
                detector.view, "3d", crystal_painter=painter, line_width=width, showers=request.outreach
            )

    def show(self, frame: Frame, event: Any = None) -> None:
        """Camera, event and time of ``frame``; ``event`` (a one-event batch) on its first frame."""
        from displays.timeline import timeline

        self.detector.view.camera.azimuth = frame.azimuth
        if self.visuals is None:
            return
        scene = self.visuals.scene
        if event is not None:
            self.duration = timeline(event).duration
        time = frame.time_ns(self.duration)
        if time is None:  # the whole event (or the plain growth of a hand-made frame)
            scene.set_time(None)
            scene.set_growth(frame.growth)
            scene.set_layer_visible("ecl", frame.crystals)
        else:  # its own time: tracks fly at their speeds, the crystals light as they arrive
            scene.set_growth(1.0)
            scene.set_layer_visible("ecl", True)
            scene.set_time(time)  # before a new event: it appears at the collision point
        if self.clock is not None:
            self.clock.text = showcase.clock_text(time)
        if event is not None:
            scene.set_event(event)
            if self.caption is not None:
                self.caption.set_text([*showcase.story(event), showcase.facts(event)])

    def render(self) -> np.ndarray:
        view = self.detector.view
        if tuple(view.pos) + tuple(view.size) != self.view_rect:  # a resize lays the canvas out again
            view.pos, view.size = self.view_rect[:2], self.view_rect[2:]
        if not self.reuse_framebuffer:
            return self.detector.render()
        return self._render_into_own_framebuffer()

    def _render_into_own_framebuffer(self) -> np.ndarray:
        """What ``canvas.render()`` does, into one framebuffer kept for the whole movie."""
        from vispy import gloo

        canvas = self.detector.canvas
        canvas.set_current()
        scale = canvas.pixel_scale
        w, h = (int(x * scale) for x in canvas.size)
        if self._fbo is None or self._fbo.color_buffer.shape[:2] != (h, w):
            self._fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((h, w)), depth=gloo.RenderBuffer((h, w)))
        canvas.push_fbo(self._fbo, (0, 0), canvas.size)
        try:
            canvas._draw_scene()
            return np.asarray(gloo.read_pixels((0, 0, w, h), alpha=False))  # top row first, a view
        finally:
            canvas.pop_fbo()

    def close(self) -> None:
        if self.visuals is not None:
            self.visuals.close()
        self._fbo = None
        self.detector.close()


_CLOSE, _KILL = object(), object()  # what the feeding thread is told besides frames


class FrameWriter:
    """ffmpeg (through ``imageio_ffmpeg.write_frames``) encoding RGB(A) frames into ``path``.

    ``with FrameWriter(...) as write: write(image)``. Leaving normally lets ffmpeg finish the file;
    leaving with an exception (Ctrl-C included) kills ffmpeg: the file is the caller's to remove.

    ``threaded`` (the default): ``write`` hands the frame to a thread that feeds ffmpeg's pipe and
    returns at once, so the next frame renders while ffmpeg converts and encodes this one (writing a
    frame into the pipe blocks until ffmpeg has read it all: 6 MB at 1080p, 25 MB at 4K). At most
    ``QUEUE`` frames wait; an ffmpeg failure is raised by the next ``write`` or on leaving; on an
    exception the frames still waiting are dropped and ffmpeg is killed after the frame in flight.
    """

    QUEUE = 2

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: float,
        codec: Codec,
        name: Path | None = None,
        threaded: bool = True,
    ) -> None:
        self.path, self.size, self.fps, self.codec = path, size, fps, codec
        self.name = name or path  # the file the user asked for, in messages
        self.threaded = threaded
        self._gen: Any = None
        self._queue: queue.Queue[Any] = queue.Queue(self.QUEUE)
        self._thread: threading.Thread | None = None
        self._failure: MovieError | None = None
        self._closing_error: BaseException | None = None
        self.blocked_s = 0.0  # time ``write`` waited (the pipe, or a full queue): encoding not hidden

    def __enter__(self) -> Callable[[np.ndarray], None]:
        import imageio_ffmpeg

        self._gen = imageio_ffmpeg.write_frames(
            str(self.path),
            self.size,
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            fps=self.fps,
            codec=self.codec.encoder,
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=[*self.codec.options, *COLOR_TAGS],
        )
        self._gen.send(None)  # starts ffmpeg
        if self.threaded:
            self._thread = threading.Thread(target=self._feed, name="movie-ffmpeg-feed", daemon=True)
            self._thread.start()
        return self.write

    def write(self, image: np.ndarray) -> None:
        w, h = self.size
        if image.shape[:2] != (h, w) or image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f"frame of shape {image.shape}, expected {(h, w, 3)}")
        frame = np.ascontiguousarray(image[..., :3], np.uint8)  # a copy of a view: ours to keep
        start = time.perf_counter()
        if self._thread is None:
            self._send(frame)
        else:
            if self._failure is not None:
                raise self._failure
            self._queue.put(frame)
        self.blocked_s += time.perf_counter() - start

    def _send(self, frame: np.ndarray) -> None:
        try:
            self._gen.send(frame)
        except OSError as exc:  # ffmpeg has stopped; its own error went to stderr
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MovieError(f"{self.name}: ffmpeg could not write the movie ({first})") from exc

    def _feed(self) -> None:
        """The feeding thread: frames into ffmpeg's pipe until told to close (or kill) it."""
        while True:
            item = self._queue.get()
            if item is _CLOSE or item is _KILL:
                try:
                    self._finish(self._gen, kill=item is _KILL or self._failure is not None)
                except BaseException as exc:  # re-raised by __exit__, as it would be without the thread
                    self._closing_error = exc
                return
            if self._failure is None:
                try:
                    self._send(item)
                except MovieError as exc:
                    self._failure = exc

    @staticmethod
    def _finish(gen: Any, kill: bool) -> None:
        if not kill:
            gen.close()  # ffmpeg finishes the file; closing waits for it
            return
        with contextlib.suppress(KeyboardInterrupt):  # a BaseException in the generator: ffmpeg killed
            gen.throw(KeyboardInterrupt())

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if self._gen is None:
            return
        thread = self._thread
        if thread is None:
            gen, self._gen = self._gen, None
            self._finish(gen, kill=exc is not None)
            return
        if exc is not None:  # drop what waits: ffmpeg is killed after the frame in flight
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
        self._queue.put(_KILL if exc is not None else _CLOSE)
        thread.join()
        self._thread, self._gen = None, None
        if exc is None and self._failure is not None:
            raise self._failure
        if exc is None and self._closing_error is not None:
            raise self._closing_error


def check_written(path: Path, frames: int, name: Path) -> None:
    """ffmpeg reports no failure once its input is closed: decode the file it wrote and count the
    frames, so that a movie cut short (a full disk, an encoder that gave up) is never renamed onto OUT."""
    import imageio_ffmpeg

    try:
        found, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (RuntimeError, OSError) as exc:
        last = [line for line in str(exc).strip().splitlines() if line.strip()][-1:] or ["unreadable"]
        raise MovieError(f"{name}: ffmpeg wrote no readable movie ({last[0].strip()})") from exc
    if found != frames:
        raise MovieError(f"{name}: ffmpeg wrote {found} of the {frames} frames; nothing was replaced")


def read_event(source: Events, index: int) -> Any:
    try:
        return source.read(index, index + 1)
    except EventFileError as exc:  # names the file and the events already
        raise MovieError(str(exc)) from exc


def write_movie(
    request: MovieRequest,
    app: Any,
    parts: Sequence[Any],
    source: Events | None = None,
    positions: Sequence[int] = (),
    inputs: Sequence[str | Path] = (),
    progress: Callable[[str], None] | None = None,
    pipelined: bool = True,
) -> Path:
    """Render ``request`` (the events of ``source`` at ``positions``, or the detector alone) into
    ``request.out``, atomically; returns the path written. Errors come as one-line ``MovieError``.
    ``pipelined=False`` renders the old way (a new framebuffer each frame, ffmpeg fed in between
    frames), for the benchmark's comparison."""
    codec = request.codec
    size = check_size(request.size, request.out)
    positions = positions if source is not None else ()
    scene = MovieScene(request, parts, app, events=source is not None, reuse_framebuffer=pipelined)
    try:
        schedule = Schedule(
            request.n_frames,
            request.fps,
            len(positions),
            scene.start_azimuth,
            request.degrees_per_s,
            grow_s=showcase.GROW_S if request.outreach else 0.0,
        )
        report = Progress(len(schedule), progress or (lambda _: None))
        out = AtomicOutput(request.out, "video", inputs)
        try:
            with out as tmp:
                with FrameWriter(tmp, size, request.fps, codec, request.out, threaded=pipelined) as write:
                    for frame in schedule:
                        event = None
                        if frame.first_of_event and frame.event >= 0 and source is not None:
                            event = read_event(source, positions[frame.event])
                        scene.show(frame, event)
                        write(scene.render())
                        report.update(frame.index + 1)
                check_written(tmp, len(schedule), request.out)
        except OutputError as exc:  # the folder, a full disk, the rename
            raise MovieError(str(exc)) from exc
        return out.path
    finally:
        scene.close()
