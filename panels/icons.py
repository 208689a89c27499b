"""The SVG icons of ``assets/icons/``, drawn in a theme's text colour, and the application icon.

Toolbar icons are line drawings in ``currentColor``; ``icon(name, color)`` renders them in the colour
given (the theme's text), so they stay legible on the dark and the light theme alike.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from displays.palette import ASSETS

ICONS = ASSETS / "icons"
APP_ICON = ICONS / "belle2-display.svg"
SIZES = (16, 24, 32, 48, 64)


def icon_path(name: str) -> str:
    return str(ICONS / f"{name}.svg")


@functools.cache
def _svg(name: str) -> str:
    path = ICONS / f"{name}.svg"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""  # a missing icon leaves the action with its text


def icon(name: str, color: str | None = None) -> QIcon:
    """The icon ``name`` (file stem in assets/icons), its strokes in ``color``; empty when missing."""
    text = _svg(name)
    if not text:
        return QIcon()
    if color is not None:
        text = text.replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(text.encode("utf-8")))
    if not renderer.isValid():
        return QIcon()
    result = QIcon()
    for size in SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result


def app_icon() -> QIcon:
    """The application icon (the detector's end view with an event)."""
    return icon("belle2-display")
