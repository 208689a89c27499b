"""Belle II event display and monitoring: the composition root.

Every subcommand lives in the room it belongs to, as a module with ``add_arguments(parser)``
and ``run(args) -> int``; this file only names them, parses the command line and dispatches.
Modules are imported lazily, so ``geometry --json`` never loads Qt.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("panels.cli", "open the application (the default; runs on the embedded simulation)"),
    "render": ("displays.cli", "write pictures of the detector and events without a display"),
    "geometry": ("geometry.cli", "summarise the detector geometry"),
    "dump": ("events.dump", "print one event of a file as JSON"),
    "filter": ("events.filter_cli", "select events of files, globs or folders with a filter expression"),
    "summary": ("events.summary_cli", "print a per-event summary table of files, globs or folders"),
    "generate": ("events.generator.cli", "generate Belle II collisions with dark-sector signals"),
    "ioc": ("monitoring.ioc", "serve the SuperKEKB/Belle II simulation as EPICS PVs (caproto)"),
    "serve": ("monitoring.serve", "publish events over ZeroMQ"),
    "monitor": ("monitoring.monitor", "watch a machine source headless and print what it saw (JSON)"),
    "shift-report": ("panels.shift_report", "write the shift as one self-contained HTML file for the e-log"),
    "histogram": ("monitoring.histograms.cli", "fill recoil-mass histograms over files"),
}
LOG_LEVELS = ("debug", "info", "warning", "error")
CHATTY = {"serve", "ioc"}  # servers say what they do (connections, restarts) unless told otherwise


def add_log_level(parser: argparse.ArgumentParser, command: str) -> None:
    default = "info" if command in CHATTY else "warning"
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default=default, help=f"what goes to stderr (default {default})"
    )


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (as logging's last resort does)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def configure_logging(command: str, level: str) -> None:
    """One stderr line per record, prefixed with the command. The root logger always passes
    warnings on, so the GUI's Log dock and status bar see them whatever stderr is set to."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setLevel(level.upper())
    handler.setFormatter(logging.Formatter(f"{command}: %(message)s"))
    root.addHandler(handler)
    root.setLevel(min(logging.getLevelName(level.upper()), logging.WARNING))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(sub_parser)
        add_log_level(sub_parser, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["gui", *argv]
    if argv[0] in COMMANDS:
        # build only the parser of the chosen command, so unrelated rooms are not imported
        module = importlib.import_module(COMMANDS[argv[0]][0])
        parser = argparse.ArgumentParser(prog=f"main.py {argv[0]}", description=COMMANDS[argv[0]][1])
        module.add_arguments(parser)
        add_log_level(parser, argv[0])
        args = parser.parse_args(argv[1:])
        configure_logging(argv[0], args.log_level)
        return int(module.run(args) or 0)
    build_parser().parse_args(argv)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `main.py dump ... | head` ends quietly
    # a file size limit (ulimit -f) then fails the write with EFBIG, which the writers report and
    # clean up after, instead of killing the process mid-write
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sys.exit(main())
