"""The event overlay of one view: one adapter per collection (``displays.overlays.OVERLAYS``) on a scene.

``EventVisuals(view, projection, scene=...)`` builds the adapters in ``view.scene`` of a ViewBox (the 3D
view or an r-phi / r-z projection); they follow the ``Scene`` they are given, so the application's three
views share one scene and panels change only that. Without a scene the view makes its own, and the
scene's methods can be called on the view (batch rendering, the self-contained ``EventView``, tests).
Visuals are created once, when the scene first has something for them (``build()`` makes them all
now), and fed with ``set_data``; an empty collection hides its visual.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vispy import scene as vispy_scene
from vispy.color import Colormap

from displays import event_geometry as geo
from displays.event_geometry import ColorMode, Extent, Projection
from displays.overlays import (
    KINDS,
    LAYERS,
    OVERLAYS,
    CrystalPainter,
    Overlay,
    PickTable,
    ViewOptions,
    nearest_on_screen,
)
from displays.scene import Scene, Selection
from events.model import EventBatch

__all__ = [
    "KINDS",
    "LAYERS",
    "EventVisuals",
    "PickTable",
    "add_energy_legend",
    "detector_crystal_painter",
    "energy_colormap",
    "nearest_on_screen",
]


def detector_crystal_painter(detector: Any) -> CrystalPainter:
    """Light the ECL crystals of a ``DetectorView3D`` by cellId: the previous event's crystals go back
    to the part colour and the new ones light up; only the crystals' colours are sent to the GPU."""
    n_crystals = detector.part("ECL").model.n_elements

    def paint(cells: np.ndarray, rgba: np.ndarray) -> None:
        cells = np.asarray(cells, np.int64)
        ok = (cells >= 1) & (cells <= n_crystals)
        detector.light_crystals(cells[ok], np.asarray(rgba, np.float32).reshape(-1, 4)[ok])

    return paint


def energy_colormap() -> Colormap:
    """The ECL energy scale as a VisPy colormap (the legend): the one the towers are coloured with."""
    return geo.energy_colormap()


class EventVisuals:
    """Tracks, ECL, KLM, vertices, MC truth, selection and recoil of one scene in one view.

    Each overlay's visuals are reachable by name (``.tracks``, ``.ecl``, ``.selected_line``, ...).
    ``color_mode`` is the starting colour mode of a scene the view makes for itself.
    """

    def __init__(
        self,
        view: Any,
        projection: Projection = "3d",
        crystal_painter: CrystalPainter | None = None,
        extent: Extent = geo.ECL_INNER,
        n_points: int = 64,
        color_mode: ColorMode = "charge",
        line_width: float = 2.0,
        adaptive: bool = True,
        showers: bool = False,
        scene: Scene | None = None,
    ) -> None:
        self.view = view
        self.options = ViewOptions(
            projection=projection,
            crystal_painter=crystal_painter,
            extent=extent,
            n_points=n_points,
            adaptive=adaptive,
            line_width=line_width,
            showers=showers,
        )
        self.scene = scene if scene is not None else Scene(color_mode)
        self.overlays: dict[str, Overlay] = {
            name: cls(self.scene, view, self.options) for name, cls in OVERLAYS.items()
        }
        self.redraw()  # a view added to a scene already showing something (else nothing is made yet)

    # --- the visuals ---------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        """An overlay's visual by its name (``tracks``, ``ecl``, ``vertex_lines``, ``recoil_label``...),
        made now if it was not yet."""
        overlays = self.__dict__.get("overlays", {})
        if not name.startswith("_"):
            for overlay in sorted(overlays.values(), key=lambda o: not o.built):  # the made ones first
                if name in overlay.nodes:
                    return overlay.nodes[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or visual {name!r}")

    def visuals(self) -> list[vispy_scene.visuals.VisualNode]:
        """Every overlay's visuals (made now if they were not yet)."""
        return [node for overlay in self.overlays.values() for node in overlay.visuals()]

    @property
    def built(self) -> bool:
        """Whether every overlay's visuals exist (they are made when first needed, or by ``build()``)."""
        return all(overlay.built for overlay in self.overlays.values())

    def build(self) -> None:
        """Make every overlay's visuals now, hidden (the application does it once the window has
        painted, so the first event costs no construction)."""
        for overlay in self.overlays.values():
            overlay.build()

    def redraw(self) -> None:
        for overlay in self.overlays.values():
            overlay.refresh()

    def set_scene(self, scene: Scene) -> None:
        """Show another scene (the adapters leave the old one and keep their visuals)."""
        if scene is self.scene:
            return
        self.scene = scene
        for overlay in self.overlays.values():
            overlay.bind(scene)

    def close(self) -> None:
        """Disconnect every adapter from the scene and take the visuals out of the view."""
        for overlay in self.overlays.values():
            overlay.close()

    # --- how this view draws -------------------------------------------------------------------

    @property
    def projection(self) -> Projection:
        return self.options.projection

    @property
    def crystal_painter(self) -> CrystalPainter | None:
        return self.options.crystal_painter

    @property
    def extent(self) -> Extent:
        return self.options.extent

    @property
    def n_points(self) -> int:
        return self.options.n_points

    @n_points.setter
    def n_points(self, n: int) -> None:
        self.options.n_points = int(n)

    @property
    def adaptive(self) -> bool:
        return self.options.adaptive

    @adaptive.setter
    def adaptive(self, on: bool) -> None:
        self.options.adaptive = bool(on)

    @property
    def showers(self) -> bool:
        return self.options.showers

    @showers.setter
    def showers(self, on: bool) -> None:
        self.options.showers = bool(on)

    @property
    def scale(self) -> float:
        return self.options.scale

    # --- the scene, for a view of its own ------------------------------------------------------

    @property
    def event(self) -> EventBatch | None:
        return self.scene.event

    @property
    def selection(self) -> Selection | None:
        return self.scene.selection

    @property
    def color_mode(self) -> ColorMode:
        return self.scene.color_mode

    @property
    def growth(self) -> float:
        return self.scene.growth

    @property
    def time(self) -> float | None:
        return self.scene.time

    @property
    def visibility(self) -> dict[str, bool]:
        return self.scene.visibility

    @property
    def show_mc(self) -> bool:
        return self.scene.layer_visible("mc")

    @show_mc.setter
    def show_mc(self, on: bool) -> None:
        self.scene.set_layer_visible("mc", on)

    def set_event(self, event: EventBatch) -> None:
        """Show a one-event batch; every visual gets one ``set_data`` (or is hidden if empty)."""
        if len(event) != 1:
            raise ValueError(f"EventVisuals shows one event, got a batch of {len(event)}")
        self.scene.set_event(event)

    def clear(self) -> None:
        self.scene.clear()

    def set_color_mode(self, mode: ColorMode) -> None:
        self.scene.set_color_mode(mode)

    def set_growth(self, t: float) -> None:
        self.scene.set_growth(t)

    def set_time(self, t: float | None) -> None:
        """The event as it was ``t`` ns after the collision (docs/time_playback.md); None: whole."""
        self.scene.set_time(t)

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        self.scene.set_layer_visible(layer, visible)

    def layer_visible(self, layer: str) -> bool:
        return self.scene.layer_visible(layer)

    def highlight(self, kind: str | None, index: int = -1) -> None:
        self.scene.select(kind, index)

    def set_highlight_color(self, rgba: tuple[float, ...]) -> None:
        """The colour of the selection in this view (white on the dark theme, black on the light one)."""
        self.options.highlight_color = tuple(rgba)
        self.overlays["selection"].refresh()

    def set_recoil(self, direction: np.ndarray, momentum: float, label: str) -> None:
        self.scene.set_recoil(direction, momentum, label)

    def clear_recoil(self) -> None:
        self.scene.clear_recoil()

    # --- picking -------------------------------------------------------------------------------

    @property
    def picks(self) -> PickTable:
        return PickTable.of(list(self.overlays.values()))

    def scene_to_canvas(self, points: np.ndarray) -> np.ndarray:
        """Map scene points of this view to canvas pixels (x right, y down)."""
        tr = self.view.scene.node_transform(self.view.canvas.scene)
        mapped = np.asarray(tr.map(np.asarray(points, dtype=np.float32)))
        with np.errstate(divide="ignore", invalid="ignore"):
            return mapped[:, :2] / mapped[:, 3:4]

    def pick(self, canvas_pos: tuple[float, float], radius: float = 10.0) -> tuple[str, int] | None:
        """The object drawn nearest to a canvas position (pixels), within ``radius``."""
        picks = self.picks
        if len(picks.points) == 0:
            return None
        row = nearest_on_screen(self.scene_to_canvas(picks.points), canvas_pos, radius)
        if row is None:
            return None
        return picks.kinds[int(picks.kind[row])], int(picks.index[row])


def add_energy_legend(
    canvas: vispy_scene.SceneCanvas,
    pos: tuple[float, float] = (60, 200),
    size: tuple[float, float] = (260, 14),
    color: Any = "white",
) -> vispy_scene.visuals.ColorBar:
    """A vertical colour bar of the ECL energy scale, fixed in canvas pixels."""
    lo, hi = geo.ENERGY_RANGE
    bar = vispy_scene.visuals.ColorBar(
        cmap=energy_colormap(),
        orientation="right",
        size=size,
        pos=pos,
        label="",
        label_color=color,
        clim=(lo, hi),
        border_color=color,
        parent=canvas.scene,
    )
    vispy_scene.visuals.Text(
        "ECL energy [GeV]",
        color=color,
        font_size=9,
        pos=(pos[0] - 8, pos[1] - size[0] / 2 - 14),
        anchor_x="left",
        parent=canvas.scene,
    )
    return bar
