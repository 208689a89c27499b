"""pyqtgraph as the panels import it: ``from panels.plots import pg``.

Importing pyqtgraph costs a sixth of the window's start, so nothing on the way to the first frame
imports it; the panels that plot import it from here, which gives pyqtgraph the plot colours of the
theme already applied (``panels.theme.apply_theme``) before their first plot is made.
"""

from __future__ import annotations

import pyqtgraph as pg

from panels.theme import applied_theme, configure_plots

__all__ = ["pg"]

_theme = applied_theme()
if _theme is not None:
    configure_plots(_theme)
