"""2D projections of the detector: r-phi (x, y) and r-z (z, signed r), outlines in cm on equal axes.

Every subdetector's outline is a run of segments in one Line visual of the view, each run in its
part's colour, in the order of the parts (a visual per part cost its construction and its draw
call twenty times over); overlays parent to ``view.scene`` and use the same coordinates (cm: x, y
for r-phi; z, r with the sign of y for r-z).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from vispy import scene

from displays.canvas import DetectorCanvas, built_without_cyclic_gc
from displays.style import (
    AXIS_COLOR,
    BACKGROUND,
    GRID_COLOR,
    LABEL_COLOR,
    CanvasColors,
    paint_axes,
    part_style,
)
from displays.vispy_compat import sync_axes


class Outline:
    """One subdetector's run of segments in the view's outline visual; ``visible`` switches it."""

    def __init__(
        self, name: str, segments: np.ndarray, color: tuple[float, ...], owner: OutlineLines
    ) -> None:
        self.name = name
        self.points = segments.reshape(-1, 2)
        self.color = np.asarray(color, np.float32)
        self._visible = True
        self._owner = owner

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, visible: bool) -> None:
        if bool(visible) != self._visible:
            self._visible = bool(visible)
            self._owner.rebuild()


class OutlineLines:
    """The outlines of every part as one Line visual of segments, the shown parts in order."""

    def __init__(self, parent: Any) -> None:
        self.outlines: dict[str, Outline] = {}
        self.line = scene.visuals.Line(connect="segments", width=1.5, method="gl", parent=parent)
        self.line.name = "outlines"

    def add(self, name: str, segments: np.ndarray, color: tuple[float, ...]) -> Outline:
        outline = Outline(name, segments, color, self)
        self.outlines[name] = outline
        return outline

    def rebuild(self) -> None:
        shown = [o for o in self.outlines.values() if o.visible]
        if not shown:
            self.line.visible = False
            return
        pos = np.concatenate([o.points for o in shown])
        color = np.concatenate([np.broadcast_to(o.color, (len(o.points), 4)) for o in shown])
        self.line.set_data(pos=pos, color=color)
        self.line.visible = True


@dataclass(frozen=True)
class Projection:
    title: str
    x_label: str
    y_label: str
    x_range: tuple[float, float]  # cm shown when the view is reset
    y_range: tuple[float, float]


PROJECTIONS: dict[str, Projection] = {
    "rphi": Projection("r-φ (end view)", "x [cm]", "y [cm]", (-370.0, 370.0), (-370.0, 370.0)),
    "rz": Projection("r-z (side view)", "z [cm]", "r [cm], signed by y", (-430.0, 430.0), (-370.0, 370.0)),
}


#: below this many pixels in either direction the axes drop their titles (``ProjectionView.compact``)
COMPACT_BELOW = 260
#: (y axis width, x axis height) in pixels: with titles, and compact (tick labels only)
AXIS_ROOM = {False: (72, 56), True: (40, 24)}


class ProjectionView:
    """A PanZoom view of detector outlines; ``.view`` is the ViewBox, ``.outlines`` the parts' outlines
    (``.outlines[name].visible``), drawn as one Line, ``.outline_lines.line``."""

    @built_without_cyclic_gc
    def __init__(
        self,
        kind: str,
        outlines: Mapping[str, np.ndarray],
        *,
        size: tuple[int, int] = (640, 640),
        app: Any = None,
        show: bool = False,
    ) -> None:
        if kind not in PROJECTIONS:
            raise ValueError(f"unknown projection {kind!r}; choose one of {', '.join(PROJECTIONS)}")
        self.kind = kind
        self.projection = PROJECTIONS[kind]
        self.canvas = DetectorCanvas(keys=None, size=size, bgcolor=BACKGROUND, app=app, show=show)
        grid = self.canvas.central_widget.add_grid(margin=4)
        axis_style = {
            "axis_color": AXIS_COLOR,
            "tick_color": AXIS_COLOR,
            "text_color": LABEL_COLOR,
            "axis_font_size": 9,
            "tick_label_margin": 6,
            "axis_label_margin": 36,
        }
        self.y_axis = scene.AxisWidget(orientation="left", axis_label=self.projection.y_label, **axis_style)
        self.x_axis = scene.AxisWidget(orientation="bottom", axis_label=self.projection.x_label, **axis_style)
        grid.add_widget(self.y_axis, row=0, col=0)
        self.view = grid.add_view(row=0, col=1)
        grid.add_widget(self.x_axis, row=1, col=1)
        self._spacer = grid.add_widget(row=1, col=0)
        self.compact: bool | None = None
        self._fit_axes(size)
        self.canvas.events.resize.connect(self._on_resize)
        self.view.camera = scene.PanZoomCamera(aspect=1.0)
        self.x_axis.link_view(self.view)
        self.y_axis.link_view(self.view)
        self._grid = grid
        self.canvas.events.draw.connect(self._sync_axes, position="first")
        self.grid_lines = scene.visuals.GridLines(color=GRID_COLOR, parent=self.view.scene)
        self.grid_lines.order = -10
        self.outline_lines = OutlineLines(self.view.scene)
        for name, segments in outlines.items():
            segs = np.asarray(segments, np.float32)
            if segs.ndim != 3 or segs.shape[1:] != (2, 2):
                raise ValueError(f"{kind} outline of {name}: expected (K, 2, 2) segments, got {segs.shape}")
            if len(segs) == 0:
                continue
            style = part_style(name)
            self.outline_lines.add(name, segs, (*style.color[:3], style.outline_alpha))
        self.outlines: dict[str, Outline] = self.outline_lines.outlines
        self.outline_lines.rebuild()
        self.reset_camera()

    def _on_resize(self, event: Any) -> None:
        self._fit_axes(tuple(event.size))

    def _fit_axes(self, size: tuple[int, ...]) -> None:
        """Give the axes the room their size allows: in a small view (a dock of a 1366×768 screen) the
        axis titles go (the units are in the view's tooltip) and the tick labels keep a narrow strip,
        so the detector, framed by the camera, fills most of the canvas."""
        compact = min(size[0], size[1]) < COMPACT_BELOW
        if compact == self.compact:
            return
        self.compact = compact
        width, height = AXIS_ROOM[compact]
        self.y_axis.axis.axis_label = "" if compact else self.projection.y_label
        self.x_axis.axis.axis_label = "" if compact else self.projection.x_label
        self.y_axis.width_max = self._spacer.width_max = width
        self.x_axis.height_max = self._spacer.height_max = height

    @property
    def units(self) -> str:
        """What the axes show, for a tooltip when the titles have no room."""
        return f"{self.projection.x_label} across, {self.projection.y_label} up"

    def set_part_visible(self, name: str, visible: bool) -> None:
        if name in self.outlines:
            self.outlines[name].visible = bool(visible)

    def set_canvas_colors(self, colors: CanvasColors) -> None:
        """Follow a theme: background, axes, tick labels and grid."""
        self.canvas.bgcolor = colors.background
        paint_axes((self.x_axis, self.y_axis), colors)
        # VisPy adds the grid onto the background: right on dark, invisible on light, which blends it
        light = sum(colors.background[:3]) > 1.5
        blending = "translucent" if light else "additive"
        self.grid_lines.set_gl_state(blending, depth_test=False, cull_face=False)
        if hasattr(self.grid_lines, "_grid_color_fn"):  # VisPy 0.17's grid colour, private
            self.grid_lines._grid_color_fn["color"] = colors.grid
        self.grid_lines.update()
        self.canvas.update()

    def reset_camera(self) -> None:
        self.view.camera.set_range(x=self.projection.x_range, y=self.projection.y_range, margin=0.0)

    def _sync_axes(self, event: Any = None) -> None:
        """Lay the grid out and let the axes read their range (``vispy_compat.sync_axes``)."""
        sync_axes(self._grid, (self.x_axis, self.y_axis))

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Canvas pixel (column, row) of (N, 2) points in the projection's cm coordinates."""
        tr = self.view.scene.node_transform(self.canvas.scene)
        mapped = np.atleast_2d(tr.map(np.asarray(points, float)))
        return mapped[:, :2] / mapped[:, 3:4]

    def render(self, size: tuple[int, int] | None = None) -> np.ndarray:
        self._sync_axes()
        return np.asarray(self.canvas.render(size=size, alpha=False))

    def close(self) -> None:
        self.canvas.close()
