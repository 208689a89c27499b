"""``python -m panels.monitoring [URL] [--panel NAME]``: the live panels without the main window."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow

from monitoring.source import SourceError
from panels.monitoring import PANELS, monitoring_docks, standalone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m panels.monitoring", description=__doc__)
    parser.add_argument("url", nargs="?", default="sim://?accel=60", help="source URL (default %(default)s)")
    parser.add_argument("--panel", choices=[*PANELS, "all"], default="all")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        if args.panel == "all":
            window = QMainWindow()
            window.setWindowTitle(f"Belle II live monitoring — {args.url}")
            for k, dock in enumerate(monitoring_docks(args.url, window)):
                side = (
                    Qt.DockWidgetArea.LeftDockWidgetArea if k < 2 else Qt.DockWidgetArea.RightDockWidgetArea
                )
                window.addDockWidget(side, dock)
            window.resize(1600, 1000)
            window.show()
        else:
            panel = standalone(args.url, args.panel)
            panel.resize(900, 600)
            panel.show()
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
