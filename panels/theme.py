"""The two themes: dark for the control room (readable at 3 m), light for offices, projectors and the e-log.

A theme is a Qt style sheet (``assets/styles/<name>.qss``) plus the ``[theme.<name>]`` colours of the
colour table: the Fusion palette the style sheet refers to, the pyqtgraph plot colours and the VisPy
canvas colours. ``apply_theme(app, name)`` switches live: the palette and style sheet, every
pyqtgraph plot already made (background, axes, legends) and the defaults of those still to come;
then ``theme_notifier().changed`` tells the views that draw with theme colours of their own (the
detector canvases, selection highlights, reference lines).

pyqtgraph (a sixth of the start-up) is not imported here: the panels that plot take it from
``panels.plots``, which gives it the applied theme's plot colours when it is first imported, and a
theme applied after that reaches it here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from displays.palette import ASSETS, THEMES, PaletteError, palette
from displays.style import CanvasColors, canvas_colors

if TYPE_CHECKING:
    import pyqtgraph as pg

STYLES = ASSETS / "styles"
DEFAULT = "dark"


@dataclass(frozen=True)
class Theme:
    """One theme: its name, menu label, colours ("#rrggbb[aa]" by role) and style sheet."""

    name: str
    label: str
    colors: dict[str, str]
    style_sheet: str

    def color(self, role: str) -> str:
        """``"#rrggbb"`` of a role: window, base, panel, text, muted, accent, alarm, plot_background…"""
        return self.colors[role][:7]

    @property
    def canvas(self) -> CanvasColors:
        return canvas_colors(self.name)

    @property
    def dark(self) -> bool:
        return QColor(self.color("window")).lightnessF() < 0.5


def load_theme(name: str) -> Theme:
    """The theme ``name`` ("dark" or "light"); ``PaletteError`` names a missing or damaged file."""
    if name not in THEMES:
        raise PaletteError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    colors = palette().theme(name)
    path = STYLES / f"{name}.qss"
    try:
        sheet = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PaletteError(f"{path}: cannot read the style sheet: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PaletteError(f"{path}: cannot read the style sheet: not UTF-8 text ({exc.reason})") from None
    return Theme(name, colors.pop("label", name), colors, sheet)


def qt_palette(theme: Theme) -> QPalette:
    """The Fusion palette of a theme (the style sheet's ``palette(...)`` colours)."""
    c = theme.color
    roles = {
        QPalette.ColorRole.Window: c("window"),
        QPalette.ColorRole.WindowText: c("text"),
        QPalette.ColorRole.Base: c("base"),
        QPalette.ColorRole.AlternateBase: c("panel"),
        QPalette.ColorRole.ToolTipBase: c("panel"),
        QPalette.ColorRole.ToolTipText: c("text"),
        QPalette.ColorRole.Text: c("text"),
        QPalette.ColorRole.Button: c("panel"),
        QPalette.ColorRole.ButtonText: c("text"),
        QPalette.ColorRole.BrightText: c("alarm"),
        QPalette.ColorRole.Highlight: c("accent"),
        QPalette.ColorRole.HighlightedText: c("base"),
        QPalette.ColorRole.PlaceholderText: c("muted"),
        QPalette.ColorRole.Mid: c("muted"),
        QPalette.ColorRole.Link: c("accent"),
    }
    qp = QPalette()
    for role, color in roles.items():
        qp.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        qp.setColor(QPalette.ColorGroup.Disabled, role, QColor(c("muted")))
    return qp


class ThemeNotifier(QObject):
    changed = Signal(object)  # the new Theme


_NOTIFIER: list[ThemeNotifier] = []
_CURRENT: list[Theme] = []


def theme_notifier() -> ThemeNotifier:
    """The application's one notifier; connect to ``changed`` to follow theme switches."""
    if not _NOTIFIER:
        _NOTIFIER.append(ThemeNotifier())
    return _NOTIFIER[0]


def current_theme() -> Theme:
    """The theme last applied (the dark one before any)."""
    return _CURRENT[-1] if _CURRENT else load_theme(DEFAULT)


def applied_theme() -> Theme | None:
    """The theme last applied with ``apply_theme``; None before any (plots keep pyqtgraph's defaults)."""
    return _CURRENT[-1] if _CURRENT else None


def style_plot(widget: pg.GraphicsView, theme: Theme) -> None:
    """Give an existing pyqtgraph widget the theme's background, axis, text and legend colours."""
    import pyqtgraph as pg

    fg = theme.color("plot_foreground")
    widget.setBackground(theme.color("plot_background"))
    for item in widget.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(fg)
            item.setTextPen(fg)
            item.update()
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(fg)
            for _, label in item.items:  # the colour shows from the next setText on
                label.setText(label.text, color=fg)


def configure_plots(theme: Theme) -> None:
    """pyqtgraph's defaults for plots still to come: the theme's plot background and foreground."""
    import pyqtgraph as pg

    pg.setConfigOptions(background=theme.color("plot_background"), foreground=theme.color("plot_foreground"))


def apply_theme(app: QApplication, name: str = DEFAULT) -> Theme:
    """Switch the whole application to a theme, live; returns it."""
    theme = load_theme(name)
    app.setStyle("Fusion")
    app.setPalette(qt_palette(theme))
    app.setStyleSheet(theme.style_sheet)
    _CURRENT[:] = [theme]
    if "pyqtgraph" in sys.modules:  # otherwise panels.plots does this when pyqtgraph is first imported
        configure_plots(theme)
        pg = sys.modules["pyqtgraph"]
        for widget in app.allWidgets():
            if isinstance(widget, pg.GraphicsView):
                style_plot(widget, theme)
    theme_notifier().changed.emit(theme)
    return theme
