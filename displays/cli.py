"""``main.py render``: pictures of the detector and its events without a display (EGL surfaceless,
else a private Xvfb).

``render --out detector.png`` draws the detector alone. ``render FILE --events 0-99 --out-dir DIR``
draws each event of an event file on the real detector: tracks, vertices and KLM clusters over the
detector, the ECL crystals of the clusters lit by energy (3D), or over the outlines of the r-phi /
r-z projection; one PNG per event, named by experiment, run and event. ``render [FILE] --movie
OUT.mp4|OUT.webm`` makes a movie instead (``displays.movie``): the camera turning over the detector
and the events of ``--events``, each for an equal share of ``--seconds``.

The detector scene is built once (``DetectorPictures``) and then renders any number of ``Picture``
requests; event pictures add their overlays between renders and reuse the same scene.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from displays.palette import PaletteError
from events.outputs import OutputError, check_folder, check_output
from geometry.reference import GeometryDataError

VIEWS = ("3d", "rphi", "rz")


class RenderError(Exception):
    """A user error in the render request (bad size, unwritable path, unknown part)."""


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"size {w}x{h} outside 16..8192 pixels per side")
    return w, h


@dataclass(frozen=True)
class Picture:
    """One image to write."""

    out: Path
    view: str = "3d"
    size: tuple[int, int] = (1920, 1080)
    camera: str | None = None  # 3D preset; None: the natural one for the view
    cutaway: str = "wedge"
    hidden: frozenset[str] = field(default_factory=frozenset)
    theme: str = "dark"  # the canvas colours: dark (control room) or light (e-log, print)


class DetectorPictures:
    """Builds the detector views once for one offscreen application and renders pictures of them."""

    def __init__(self, app: Any, *, cdc_wires: bool = False) -> None:
        self.app = app
        self.cdc_wires = cdc_wires
        self._parts: list[Any] | None = None
        self._views: dict[tuple[str, tuple[int, int]], Any] = {}

    def parts(self) -> list[Any]:
        if self._parts is None:
            from geometry.detector import build_detector

            self._parts = build_detector(cdc_wires=self.cdc_wires)
        return self._parts

    def view(self, kind: str, size: tuple[int, int]) -> Any:
        """The 3D or projection view of that size, built on first use."""
        key = (kind, size)
        if key not in self._views:
            from displays.headless import is_qt

            show = is_qt(self.app)
            if kind == "3d":
                from displays.view3d import DetectorView3D

                self._views[key] = DetectorView3D(self.parts(), size=size, app=self.app, show=show)
            else:
                from displays.projections import ProjectionView
                from geometry.outlines import outlines

                self._views[key] = ProjectionView(kind, outlines(kind), size=size, app=self.app, show=show)
        return self._views[key]

    def render(self, picture: Picture) -> np.ndarray:
        view = self.view(picture.view, picture.size)
        known = set(view.parts) if picture.view == "3d" else set(view.outlines)
        unknown = sorted(picture.hidden - known)
        if unknown:
            raise RenderError(
                f"unknown subdetector(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for name in known:
            view.set_part_visible(name, name not in picture.hidden)
        from displays.style import canvas_colors

        view.set_canvas_colors(canvas_colors(picture.theme))
        if picture.view == "3d":
            view.set_cutaway(picture.cutaway)
            view.set_wires_visible(self.cdc_wires)
            view.set_camera_preset(picture.camera or "3d")
        return view.render()


def write_picture(image: np.ndarray, out: Path) -> None:
    """The picture as PNG, written atomically (``events.outputs``): a failure keeps any old file."""
    from displays.event_render import write_png_file

    try:
        write_png_file(out, image[..., :3])
    except OutputError as exc:
        raise RenderError(str(exc)) from exc


def parse_time(text: str) -> float:
    """A time since the collision in ns: a finite number, at least 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"bad time {text!r}: give nanoseconds after the collision, e.g. 3.5")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=None,
        help="event file (mdst .root, .h5, Phoenix .json): draw its events on the detector",
    )
    parser.add_argument("--out", type=Path, default=None, help="PNG file of the detector alone")
    parser.add_argument(
        "--events",
        default=None,
        help="events of FILE to draw, e.g. 0-99, 7 or :5 (the first five; default 0); an outreach movie "
        "without FILE: how many generated collisions (default one per 12 s)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=None, help="directory for the event PNGs (made if missing)"
    )
    parser.add_argument(
        "--size", type=parse_size, default=(1920, 1080), help="WxH pixels (default 1920x1080)"
    )
    parser.add_argument("--view", choices=VIEWS, default="3d", help="3d, rphi (end view) or rz (side view)")
    parser.add_argument(
        "--camera", choices=("3d", "side", "end"), default=None, help="3D camera preset (default 3d)"
    )
    parser.add_argument(
        "--cutaway", choices=("none", "wedge", "half"), default="wedge", help="3D cutaway (default wedge)"
    )
    parser.add_argument(
        "--hide", default="", help="comma-separated subdetectors to leave out, e.g. BKLM,EKLM"
    )
    parser.add_argument("--cdc-wires", action="store_true", help="draw the 14336 CDC sense wires")
    parser.add_argument(
        "--theme", choices=("dark", "light"), default="dark", help="dark (default) or light (e-log)"
    )
    parser.add_argument(
        "--time",
        type=parse_time,
        default=None,
        metavar="NS",
        help="draw each event as it was NS ns after the collision (docs/time_playback.md; default: whole)",
    )
    movie = parser.add_argument_group("movies (docs/movies.md)")
    movie.add_argument(
        "--movie", type=Path, default=None, help="write a movie: OUT.mp4 (H.264) or OUT.webm (VP9)"
    )
    movie.add_argument("--seconds", type=float, default=10.0, help="movie length (default 10 s)")
    movie.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    movie.add_argument(
        "--turn", type=float, default=6.0, help="camera turn in degrees per second (default 6)"
    )
    movie.add_argument(
        "--outreach",
        action="store_true",
        help="the outreach show's look: detector cut open, tracks growing, captions in plain words",
    )


def picture_from_args(args: argparse.Namespace, out: Path | None = None) -> Picture:
    """The picture asked for; ``out`` stands in for ``--out`` (event pictures name their own files)."""
    out = Path(args.out) if out is None else out
    if out.suffix.lower() != ".png":
        raise RenderError(f"{out}: only PNG is written; give a file name ending in .png")
    if not out.parent.exists():
        raise RenderError(f"{out}: directory {out.parent} does not exist")
    if args.out is not None and out == Path(args.out):
        try:  # before the scene is built: a bad --out fails at once
            source = getattr(args, "file", None)
            check_output(out, "png", inputs=[source] if source is not None else [])
        except OutputError as exc:
            raise RenderError(str(exc)) from exc
    hidden = frozenset(name.strip().upper() for name in args.hide.split(",") if name.strip())
    return Picture(out, args.view, tuple(args.size), args.camera, args.cutaway, hidden, args.theme)


def line_width_for(size: tuple[int, int]) -> float:
    """Track width in pixels: 2 px on a 1080-line picture, growing with the picture (5.5 px at 4K)."""
    return float(np.clip(2.0 * min(size) / 1080.0, 1.5, 8.0))


def _app() -> Any:
    from displays.headless import HeadlessError, offscreen_app

    try:
        return offscreen_app()
    except HeadlessError as exc:
        raise RenderError(str(exc)) from exc


def render_detector(args: argparse.Namespace) -> str:
    picture = picture_from_args(args)
    app = _app()
    pictures = DetectorPictures(app, cdc_wires=args.cdc_wires)
    write_picture(pictures.render(picture), picture.out)
    w, h = picture.size
    return f"wrote {picture.out} ({w}x{h}, {picture.view} view, {app.backend_name}"


def render_event_file(args: argparse.Namespace) -> str:
    """Every event of ``args.events`` in ``args.file`` drawn on the detector, one PNG each."""
    from displays import event_render
    from displays.event_geometry import Projection
    from displays.event_visuals import EventVisuals, detector_crystal_painter

    if args.out is not None:
        raise RenderError("give either --out (the detector alone) or an event FILE with --out-dir, not both")
    if args.out_dir is None:
        raise RenderError(f"{args.file}: say where the event pictures go with --out-dir DIR")
    try:
        event_range = event_render.parse_range(args.events or "0")
        source = event_render.open_event_source(args.file)
    except event_render.ExportError as exc:
        raise RenderError(str(exc)) from exc
    if not event_render.clamp_range(event_range, len(source)):  # before the scene is built
        n = len(source)
        raise RenderError(
            f"{args.file}: events {args.events} are outside the file, which holds {n} events"
            + (f" (0-{n - 1})" if n else "")
        )
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"cannot make the output directory {out_dir}: {exc.strerror or exc}") from exc
    try:
        check_folder(out_dir)
    except OutputError as exc:
        raise RenderError(str(exc)) from exc
    picture = picture_from_args(args, out=out_dir / "event.png")
    app = _app()
    pictures = DetectorPictures(app, cdc_wires=args.cdc_wires)
    pictures.render(picture)  # builds the view and applies camera, cutaway and hidden parts
    view = pictures.view(picture.view, picture.size)
    if picture.view == "3d":
        from displays.event_view import apply_event_look

        apply_event_look(view, frame=picture.camera is None)
    painter = detector_crystal_painter(view) if picture.view == "3d" and "ECL" in view.parts else None
    projection = cast(Projection, picture.view)
    visuals = EventVisuals(
        view.view, projection, crystal_painter=painter, line_width=line_width_for(picture.size)
    )
    visuals.set_time(args.time)  # None: the whole event
    stem = Path(args.file).name.split(".")[0] or "event"
    try:
        files = event_render.render_events(
            source, event_range, out_dir, visuals, view.render, stem, inputs=[args.file]
        )
    except event_render.ExportError as exc:
        text = str(exc)
        raise RenderError(text if text.startswith(str(args.file)) else f"{args.file}: {text}") from exc
    skipped = len(event_range) - len(files)
    note = f"; {skipped} event(s) of the range lie past the file's {len(source)}" if skipped else ""
    w, h = picture.size
    return (
        f"wrote {len(files)} picture(s) to {out_dir} ({w}x{h}, {picture.view} view{note}, {app.backend_name}"
    )


def movie_request(args: argparse.Namespace) -> Any:
    """The movie asked for, checked before any scene is built (suffix, size, length, output folder)."""
    from displays import movie

    out = Path(args.movie)
    for given, name in ((args.out, "--out"), (args.out_dir, "--out-dir")):
        if given is not None:
            raise RenderError(f"give either --movie or {name}, not both")
    if args.view != "3d":
        raise RenderError(f"{out}: movies show the turning 3D view; --view {args.view} makes pictures only")
    try:
        request = movie.MovieRequest(
            out=out,
            size=movie.check_size(tuple(args.size), out),
            seconds=float(args.seconds),
            fps=float(args.fps),
            outreach=bool(args.outreach),
            degrees_per_s=float(args.turn),
            camera=args.camera,
            cutaway=args.cutaway,
            hidden=frozenset(name.strip().upper() for name in args.hide.split(",") if name.strip()),
            theme=args.theme,
            cdc_wires=bool(args.cdc_wires),
            line_width=line_width_for(tuple(args.size)),
        )
        request.n_frames  # noqa: B018  (checks the length and the frame rate)
        if not math.isfinite(request.degrees_per_s):
            raise RenderError(f"camera turn {args.turn} is no number of degrees per second")
        check_output(out, "video", inputs=[args.file] if args.file is not None else [])
    except (movie.MovieError, OutputError) as exc:
        raise RenderError(str(exc)) from exc
    return request


def render_movie(args: argparse.Namespace) -> str:
    """A movie of the detector alone, or of the events ``args.events`` of ``args.file``."""
    from displays import event_render, movie

    request = movie_request(args)
    source: Any = None
    positions: range = range(0)
    note = ""
    if args.file is None and args.outreach:  # the outreach show's own collisions, as without a file
        from displays import showcase

        try:
            wanted = event_render.parse_range(args.events) if args.events else None
        except event_render.ExportError as exc:
            raise RenderError(str(exc)) from exc
        n = len(wanted) if wanted else max(1, round(request.seconds / showcase.DWELL_S))
        if n > request.n_frames:
            raise RenderError(
                f"{request.out}: {n} collisions do not fit in {request.n_frames} frames; "
                "make the movie longer, the frame rate higher or ask for fewer"
            )
        source = event_render.BatchSource(showcase.generated_collisions(n))
        positions = range(n)
    elif args.file is None and args.events is not None:
        raise RenderError(
            f"--events {args.events}: give an event FILE, or --outreach for generated collisions"
        )
    elif args.file is not None:
        try:
            event_range = event_render.parse_range(args.events or "0")
            source = event_render.open_event_source(args.file)
        except event_render.ExportError as exc:
            raise RenderError(str(exc)) from exc
        positions = event_render.clamp_range(event_range, len(source))
        if not positions:
            n = len(source)
            raise RenderError(
                f"{args.file}: events {args.events} are outside the file, which holds {n} events"
                + (f" (0-{n - 1})" if n else "")
            )
        if len(positions) > request.n_frames:
            raise RenderError(
                f"{request.out}: {len(positions)} events do not fit in {request.n_frames} frames; "
                "make the movie longer, the frame rate higher or the event range shorter"
            )
        skipped = len(event_range) - len(positions)
        note = f"; {skipped} event(s) of the range lie past the file's {len(source)}" if skipped else ""
    app = _app()
    pictures = DetectorPictures(app, cdc_wires=args.cdc_wires)
    try:
        written = movie.write_movie(
            request,
            app,
            pictures.parts(),
            source,
            positions,
            inputs=[args.file] if args.file is not None else [],
            progress=lambda line: print(f"render: {line}", file=sys.stderr, flush=True),
        )
    except movie.MovieError as exc:
        raise RenderError(str(exc)) from exc
    w, h = request.size
    shown = ", the detector alone"
    if source is not None:
        shown = f", {len(positions)} {'event' if args.file is not None else 'generated collision'}(s)"
    return (
        f"wrote {written} ({w}x{h}, {request.n_frames} frames at {request.fps:g} fps, {request.codec.name}"
        f"{shown}{note}, {app.backend_name}"
    )


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        if getattr(args, "time", None) is not None and (args.file is None or args.movie is not None):
            raise RenderError("--time draws events at one moment: give an event FILE with --out-dir DIR")
        if getattr(args, "movie", None) is not None:
            message = render_movie(args)
        elif args.file is not None:
            message = render_event_file(args)
        elif args.out is None:
            raise RenderError("give --out FILE.png for the detector, or an event FILE with --out-dir DIR")
        else:
            message = render_detector(args)
    except (RenderError, PaletteError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    except GeometryDataError as exc:  # a missing or damaged geometry table, named in the message
        print(f"render: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = "; any previous file is unchanged" if getattr(args, "movie", None) is not None else ""
        print(f"render: interrupted{kept}", file=sys.stderr)
        return 130
    print(f"{message}, {time.perf_counter() - start:.1f} s)")
    return 0
