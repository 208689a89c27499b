"""The VisPy private hooks the display relies on, checked once against the installed VisPy.

The views reach into a few of VisPy's private methods (the draw that clears the frame, the grid's
layout, the axes' tick update). They are written for ``TESTED``; with any other VisPy the program
says so in one line naming the hooks that are gone, and each view falls back to VisPy's own
behaviour for a missing hook (pictures may then differ) instead of failing. The Qt widget's paint
and the grid's colour are looked up on the object itself where they are used.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

import vispy
from vispy import scene
from vispy.scene.widgets import AxisWidget, Grid

log = logging.getLogger(__name__)

TESTED = "0.17"  # major.minor of the VisPy release the hooks below were written and tested for
HOOKS: dict[str, tuple[type, str]] = {  # name -> (class, method); what each is for is said where used
    "SceneCanvas._draw_scene": (scene.SceneCanvas, "_draw_scene"),
    "Grid._update_child_widget_dim": (Grid, "_update_child_widget_dim"),
    "AxisWidget._view_changed": (AxisWidget, "_view_changed"),
}


@functools.cache
def missing_hooks() -> frozenset[str]:
    """The hooks of ``HOOKS`` the installed VisPy lacks."""
    return frozenset(name for name, (owner, method) in HOOKS.items() if not hasattr(owner, method))


def has_hook(name: str) -> bool:
    """Whether the private hook ``name`` of ``HOOKS`` can be used."""
    return name not in missing_hooks()


def sync_axes(grid: Grid, axes: Iterable[AxisWidget]) -> None:
    """Lay a grid out, then let its axes read their range: VisPy updates the ticks only when the
    camera moves, so without this they keep the place the axis had before the first layout."""
    if has_hook("Grid._update_child_widget_dim"):
        grid._update_child_widget_dim()
    if has_hook("AxisWidget._view_changed"):
        for axis in axes:
            axis._view_changed()


def problem(version: str | None = None, missing: frozenset[str] | None = None) -> str | None:
    """One line saying how the installed VisPy differs from the tested one, or None."""
    version = version or vispy.__version__
    missing = missing_hooks() if missing is None else missing
    if version.split(".")[:2] == TESTED.split(".") and not missing:
        return None
    gone = f"; missing: {', '.join(sorted(missing))} (VisPy's own behaviour used instead)" if missing else ""
    where = "displays/vispy_compat.py"
    return f"VisPy {version} is not the {TESTED} this display was tested with ({where}){gone}"


@functools.cache
def check_once() -> str | None:
    """Log :func:`problem` once per process; every canvas calls this."""
    text = problem()
    if text:
        log.warning("%s", text)
    return text
