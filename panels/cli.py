"""``main.py gui``: open the application window."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

# the masterclass exercises (events.masterclass.EXERCISES, not imported here: `main.py --help` builds
# every parser); tests/panels/test_masterclass_cli.py checks that the two agree
EXERCISE_NAMES = ("zprime", "jpsi", "pi0")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILES",
        help="events to browse (mdst, .h5, .root, .json): a file, or several files, globs or folders as "
        "one data set (quote a glob: 'runs/*.h5')",
    )
    parser.add_argument(
        "--stream",
        default="sim",
        help="live events: 'sim' (the embedded simulation, default), zmq://HOST:PORT, or 'none'",
    )
    parser.add_argument(
        "--machine",
        default="sim://?accel=1",
        help="machine data: sim://[?accel=N&sbl_rate=R&history=S] (default; options in monitoring/sim.py) or ca://[?map=PVMAP.toml]",
    )
    parser.add_argument(
        "--signal",
        action="append",
        default=None,
        metavar="SPEC",
        help="signal injected into the embedded simulation, e.g. zprime:mass=3.0,fraction=0.02 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the embedded simulation")
    parser.add_argument(
        "--outreach",
        action="store_true",
        help="full-screen self-running show of collisions (generated, or the events of FILE)",
    )
    parser.add_argument(
        "--present",
        metavar="ADDRESS",
        default=None,
        help="outreach: publish this screen for others to follow, e.g. tcp://*:5580",
    )
    parser.add_argument(
        "--follow",
        metavar="URL",
        default=None,
        help="outreach: mirror a presenting screen, e.g. zmq://presenter-host:5580 (alone while it is away)",
    )
    parser.add_argument(
        "--masterclass",
        action="store_true",
        help="the recoil-mass masterclass for students, on FILE (default: the shipped dark-sector sample)",
    )
    parser.add_argument(
        "--exercise",
        metavar="{" + ",".join(EXERCISE_NAMES) + "}",
        default=None,
        help="masterclass: zprime (recoil mass of two muons), jpsi (mass of two muons) or pi0 (mass of two "
        "photons); jpsi and pi0 run on simulated events of their own unless FILE is given",
    )
    parser.add_argument(
        "--theme",
        choices=("dark", "light"),
        default=None,
        help="dark (control room) or light (office, projector, e-log); default: the one chosen last",
    )
    parser.add_argument("--cdc-wires", action="store_true", help="start with the CDC sense wires shown")
    parser.add_argument(
        "--cutaway", choices=("none", "wedge", "half"), default="wedge", help="3D cutaway (default wedge)"
    )
    parser.add_argument("--rotate", action="store_true", help="turn the detector slowly (outreach screens)")
    parser.add_argument(
        "--screenshot", type=Path, default=None, help="save a picture of the window once drawn, then quit"
    )
    parser.add_argument(
        "--screenshot-after-ms", type=int, default=1500, help="when --screenshot is taken (default 1500 ms)"
    )
    parser.add_argument(
        "--alarms", type=Path, default=None, help="alarm definitions (TOML; default assets/alarms.toml)"
    )
    parser.add_argument(
        "--alarm-archive",
        type=Path,
        default=None,
        help="SQLite file keeping the alarm log, acknowledgements and shelves across restarts",
    )


def check_exercise(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--exercise``, in one line (None: nothing). Checked here rather than by
    argparse's choices, whose complaint comes after the whole usage text."""
    exercise = args.exercise
    if exercise is None:
        return None
    if exercise not in EXERCISE_NAMES:
        return f"gui: --exercise {exercise!r}: no such exercise; choose one of {', '.join(EXERCISE_NAMES)}"
    if not args.masterclass:
        return f"gui: --exercise {exercise} is a masterclass exercise: add --masterclass"
    return None


def run(args: argparse.Namespace) -> int:
    problem = check_exercise(args)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    if not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        print(
            "gui: no display found (DISPLAY is not set). Run `make run`, which starts Xvfb, or use "
            "`main.py render --out detector.png` for pictures without a display.",
            file=sys.stderr,
        )
        return 2
    if args.screenshot is not None and not args.screenshot.parent.exists():
        print(f"gui: {args.screenshot}: directory {args.screenshot.parent} does not exist", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from displays.palette import PaletteError
    from geometry.reference import GeometryDataError

    try:
        from panels.app import AppConfig, Application
        from panels.icons import app_icon
        from panels.theme import apply_theme

        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        app.setApplicationName("Belle II display")
        app.setDesktopFileName("belle2-display")  # the desktop entry (make install-desktop)
        app.setWindowIcon(app_icon())
        apply_theme(app, args.theme or "dark")
    except PaletteError as exc:  # a damaged colour table or style sheet
        print(f"gui: {exc}", file=sys.stderr)
        return 2
    if args.outreach:
        return run_outreach(app, args)
    if args.masterclass:
        return run_masterclass(app, args)
    defaults = AppConfig()
    from monitoring.alarms import AlarmConfigError, load_definitions

    try:
        load_definitions(args.alarms or defaults.alarms)  # a damaged file: one line, before any window
    except AlarmConfigError as exc:
        print(f"gui: {exc}", file=sys.stderr)
        return 2
    config = AppConfig(
        files=tuple(args.files),
        stream=args.stream,
        machine=args.machine,
        signals=tuple(args.signal) if args.signal is not None else defaults.signals,
        seed=args.seed,
        cutaway=args.cutaway,
        alarms=args.alarms or defaults.alarms,
        alarm_archive=args.alarm_archive,
    )
    try:
        application = Application(config)
    except GeometryDataError as exc:  # a missing or damaged geometry table, named in the message
        print(f"gui: {exc}", file=sys.stderr)
        return 1
    window = application.window
    app.aboutToQuit.connect(application.close)
    window.controls.wires.setChecked(args.cdc_wires)
    if args.theme is not None:
        window.set_theme(args.theme)
    window.show()
    if args.rotate:
        window.rotate_action.setChecked(True)
    return _exec(app, window, args)


def run_masterclass(app: Any, args: argparse.Namespace) -> int:
    """The masterclass: students weigh the invisible Z′ from the recoil of two muons, the J/ψ or the π⁰."""
    from events.dataset import open_dataset
    from events.generator.samples import SAMPLE
    from events.io import open_events
    from events.masterclass import EXERCISES
    from events.source import EventFileError
    from panels.masterclass import MasterclassWindow

    exercise = EXERCISES[args.exercise or "zprime"]
    if not args.files and exercise.generate:  # the J/ψ and π⁰ exercises: simulated events of their own
        window = MasterclassWindow.generated(exercise)
        window.resize(1900, 1050)
        window.show() if args.screenshot is not None else window.showMaximized()
        return _exec(app, window, args)
    files = [str(f) for f in args.files] or [str(SAMPLE)]
    one_file = len(files) == 1 and not Path(files[0]).is_dir() and not set("*?[") & set(files[0])
    try:  # one file (its problem in one line), or several files, globs or folders as one class
        source = open_events(files[0]) if one_file else open_dataset(files)
        window = MasterclassWindow.from_source(source, exercise=exercise)
    except EventFileError as exc:
        print(f"gui: {exc}", file=sys.stderr)
        return 2
    window.resize(1900, 1050)
    window.show() if args.screenshot is not None else window.showMaximized()
    return _exec(app, window, args)


def run_outreach(app: Any, args: argparse.Namespace) -> int:
    """The outreach show: generated collisions with dark-sector signals, or a file's events, looping."""
    from panels.outreach import OutreachWindow

    if not args.files:
        try:
            show = OutreachWindow.from_generator(
                args.seed, **({"signals": args.signal} if args.signal else {})
            )
        except ValueError as exc:  # a bad --signal spec, named in the message
            print(f"gui: {exc}", file=sys.stderr)
            return 2
    else:
        from events.dataset import open_dataset
        from events.source import EventFileError

        try:  # several files, globs or folders: the show plays them one after another
            show = OutreachWindow.from_source(open_dataset(args.files))
        except EventFileError as exc:
            print(f"gui: {exc}", file=sys.stderr)
            return 2
    from displays.show_link import Follower, Presenter, ShowLinkError

    try:
        show.presenter = Presenter(args.present) if args.present else None
        show.follower = Follower(args.follow) if args.follow else None
    except ShowLinkError as exc:
        print(f"gui: {exc}", file=sys.stderr)
        return 2
    show.start(full_screen=args.screenshot is None)
    return _exec(app, show, args)


def _exec(app: Any, window: Any, args: argparse.Namespace) -> int:
    """Run the event loop; with ``--screenshot`` save a picture of ``window`` once drawn, then quit."""
    if args.screenshot is not None:
        from PySide6.QtCore import QTimer

        def save_and_quit() -> None:
            from panels.files import save_pixmap

            try:
                save_pixmap(window.grab(), args.screenshot)
            except OSError as exc:  # names the file and the reason
                print(f"gui: {exc}", file=sys.stderr)
            app.quit()

        QTimer.singleShot(args.screenshot_after_ms, save_and_quit)
    return int(app.exec())
