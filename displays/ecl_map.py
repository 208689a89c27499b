"""The θ-φ map: the ECL unrolled, every crystal one cell of one mesh, coloured by its energy.

φ runs across (0°–360°), θ down (the forward endcap at the top, the barrel, the backward endcap at the
bottom), each crystal in its real cell (``geometry.ecl_map``), so the gaps between the regions show.
The crystals of every ECL cluster light in the energy colours of the other views (its seed crystal,
``cell_id``; with ``showers`` the 3×3 spread of ``event_geometry.shower_cells``); the rest stay dark.

The view follows a ``Scene`` like the other views: a new event recolours the one mesh (one
``set_data``), a selection ("ecl", index) frames that cluster's crystals, and a click on a crystal
selects the cluster that lit it (``on_select``, by default ``scene.select``; the application passes the
event browser's, so the table and the inspector follow too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from vispy import scene as vispy_scene

from displays import event_geometry as geo
from displays.canvas import DetectorCanvas, close_canvas
from displays.overlays import HIGHLIGHT, TowerMesh
from displays.scene import Scene, Selection
from displays.style import AXIS_COLOR, BACKGROUND, LABEL_COLOR, CanvasColors, paint_axes
from displays.vispy_compat import sync_axes
from events.model import Collection, EventBatch
from geometry import ecl as ecl_geometry
from geometry.ecl_map import cell_in_map, cell_rectangles

N_CELLS = ecl_geometry.N_CRYSTALS
# a crystal with nothing in it: a shade off the canvas of each theme, so the region gaps show
EMPTY = (0.11, 0.14, 0.21, 1.0)  # dark theme: a slate a little lighter than the navy canvas
EMPTY_LIGHT = (0.80, 0.83, 0.88, 1.0)  # light theme: a grey a little darker than the canvas
REGION_LABELS = ("forward endcap", "barrel", "backward endcap")
PHI_RANGE = (0.0, 360.0)
SelectCallback = Callable[[str | None, int], None]


# --- pure: which crystals an event lights ---------------------------------------------------------


def cluster_cells(ecl: Collection) -> np.ndarray:
    """1-based seed cellId of every cluster: its ``cell_id``, or the crystal its direction points at."""
    cells = np.asarray(ecl["cell_id"], np.int64)
    unknown = cells <= 0
    if unknown.any():
        cells = cells.copy()
        cells[unknown] = np.asarray(ecl_geometry.cell_at(ecl["theta"][unknown], ecl["phi"][unknown]))
    return cells


def footprint(cell: int, energy: float, showers: bool) -> tuple[np.ndarray, np.ndarray]:
    """(cellIds, energies) one cluster lights: its seed, or with ``showers`` the 3×3 around it."""
    if cell < 1:
        return np.zeros(0, np.int64), np.zeros(0)
    if showers:
        return geo.shower_cells(np.array([cell]), np.array([energy]))
    return np.array([cell], np.int64), np.array([float(energy)])


def cell_energies(ecl: Collection, showers: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(8736,) energy [GeV] lit in every crystal (0: dark) and the cluster that lit it (−1: none).

    Where clusters share a crystal the higher energy wins (a neutral-hadron reading of a photon's
    crystals, overlapping 3×3 spreads).
    """
    energy = np.zeros(N_CELLS)
    owner = np.full(N_CELLS, -1, np.int64)
    cells = cluster_cells(ecl)
    e = np.asarray(ecl["energy"], np.float64)
    for i in np.argsort(e, kind="stable"):  # the more energetic clusters paint last
        lit, lit_e = footprint(int(cells[i]), float(e[i]), showers)
        better = lit_e >= energy[lit - 1]
        energy[lit[better] - 1] = lit_e[better]
        owner[lit[better] - 1] = i
    return energy, owner


def cell_mesh() -> tuple[np.ndarray, np.ndarray]:
    """Vertices (4·8736, 2) [deg] (φ, θ) and faces (2·8736, 3): two triangles per crystal, in cellId order."""
    c = cell_rectangles()
    phi_lo, phi_hi = np.degrees(c.phi_lo), np.degrees(c.phi_hi)
    th_lo, th_hi = np.degrees(c.theta_lo), np.degrees(c.theta_hi)
    corners = np.stack(
        [np.stack([phi_lo, th_lo], -1), np.stack([phi_hi, th_lo], -1),
         np.stack([phi_hi, th_hi], -1), np.stack([phi_lo, th_hi], -1)],
        axis=1,
    )  # fmt: skip
    base = 4 * np.arange(N_CELLS, dtype=np.uint32)[:, None, None]
    faces = (np.array([[0, 1, 2], [0, 2, 3]], np.uint32)[None] + base).reshape(-1, 3)
    return corners.reshape(-1, 2).astype(np.float32), faces


def frame_segments(cells: np.ndarray, pad_deg: float = 1.5) -> np.ndarray:
    """(K, 2, 2) segments [deg] of a box around these cells, ``pad_deg`` outside them; a box across
    φ = 0° is drawn at both edges of the map."""
    cells = np.asarray(cells, np.int64)
    if len(cells) == 0:
        return np.zeros((0, 2, 2), np.float32)
    c = cell_rectangles()
    rows = cells - 1
    centre = np.degrees(c.phi_mid[rows[0]])
    lo = centre + (np.degrees(c.phi_lo[rows]) - centre + 180.0) % 360.0 - 180.0
    hi = lo + np.degrees(c.phi_hi[rows] - c.phi_lo[rows])
    x0, x1 = lo.min() - pad_deg, hi.max() + pad_deg
    y0, y1 = np.degrees(c.theta_lo[rows]).min() - pad_deg, np.degrees(c.theta_hi[rows]).max() + pad_deg
    shifts = [0.0] + ([360.0] if x0 < 0 else []) + ([-360.0] if x1 > 360 else [])
    out = []
    for s in shifts:
        a, b = x0 + s, x1 + s
        out += [[[a, y0], [b, y0]], [[b, y0], [b, y1]], [[b, y1], [a, y1]], [[a, y1], [a, y0]]]
    return np.asarray(out, np.float32)


# --- the view -------------------------------------------------------------------------------------


class EclMapView:
    """The θ-φ map on its own canvas: ``.view`` the ViewBox (scene coordinates φ, θ in degrees),
    ``.cells`` the one mesh of all crystals, ``.frame`` the selection box."""

    def __init__(
        self,
        scene: Scene | None = None,
        *,
        showers: bool = False,
        on_select: SelectCallback | None = None,
        size: tuple[int, int] = (900, 420),
        app: Any = None,
        show: bool = False,
    ) -> None:
        self.scene = scene if scene is not None else Scene()
        self.showers = showers
        self.on_select = on_select
        self.highlight_color = HIGHLIGHT
        self.empty_color = EMPTY
        self.energy = np.zeros(N_CELLS)
        self.owner = np.full(N_CELLS, -1, np.int64)
        self._cluster_cells = np.zeros(0, np.int64)
        self._press: tuple[float, float] | None = None

        self.canvas = DetectorCanvas(keys=None, size=size, bgcolor=BACKGROUND, app=app, show=show)
        grid = self.canvas.central_widget.add_grid(margin=4)
        style = {
            "axis_color": AXIS_COLOR, "tick_color": AXIS_COLOR, "text_color": LABEL_COLOR,
            "axis_font_size": 10, "tick_font_size": 9, "tick_label_margin": 6, "axis_label_margin": 34,
        }  # fmt: skip
        self.y_axis = vispy_scene.AxisWidget(orientation="left", axis_label="θ [°]", **style)
        self.y_axis.width_max = 64
        self.x_axis = vispy_scene.AxisWidget(orientation="bottom", axis_label="φ [°]", **style)
        self.x_axis.height_max = 50
        grid.add_widget(self.y_axis, row=0, col=0)
        self.view = grid.add_view(row=0, col=1)
        grid.add_widget(self.x_axis, row=1, col=1)
        spacer = grid.add_widget(row=1, col=0)
        spacer.width_max, spacer.height_max = 64, 50
        # right of the map: the region names (following the map's θ) and the energy scale
        self.label_view = grid.add_view(row=0, col=2)
        self.label_view.width_max = 118
        self.label_view.camera = vispy_scene.PanZoomCamera(aspect=None, flip=(False, True), interactive=False)
        legend_space = grid.add_widget(row=0, col=3)
        legend_space.width_max = 78
        lo, hi = geo.ENERGY_RANGE
        self.legend = vispy_scene.visuals.ColorBar(
            cmap=geo.energy_colormap(), orientation="right", size=(200, 12), pos=(0, 0), label="",
            label_color=LABEL_COLOR, clim=(lo, hi), border_color=AXIS_COLOR, parent=self.canvas.scene,
        )  # fmt: skip
        self.legend_title = vispy_scene.visuals.Text(
            "E [GeV]", color=LABEL_COLOR, font_size=9, anchor_x="center", parent=self.canvas.scene
        )
        for tick in self.legend.ticks:
            tick.font_size = 9  # as the axes' tick labels
        self.canvas.events.resize.connect(self._place_legend)
        self._place_legend()
        self._grid = grid
        self.view.camera = vispy_scene.PanZoomCamera(aspect=None, flip=(False, True))
        self.label_view.camera.link(self.view.camera, axis="y")
        self.x_axis.link_view(self.view)
        self.y_axis.link_view(self.view)
        self.canvas.events.draw.connect(self._sync_axes, position="first")

        vertices, faces = cell_mesh()
        self._vertices, self._faces = vertices, faces
        self.colors = np.tile(np.asarray(EMPTY, np.float32), (N_CELLS, 1))
        self.cells = TowerMesh(parent=self.view.scene, shading=None)
        self.cells.set_gl_state("opaque", depth_test=False, cull_face=False)  # flat: drawn in order
        self.cells.set_data(vertices=vertices, faces=faces, face_colors=self._face_colors())
        self.frame = vispy_scene.visuals.Line(
            connect="segments", width=2.5, method="gl", antialias=False, parent=self.view.scene
        )
        self.frame.order = 5
        self.frame.set_gl_state("translucent", depth_test=False)
        self.frame.visible = False
        limits = ecl_geometry.region_theta_deg()
        self.region_labels = [
            vispy_scene.visuals.Text(
                name.replace(" ", "\n"), pos=(0.08, float(limits[k].mean())), color=LABEL_COLOR,
                font_size=9, anchor_x="left", anchor_y="center", parent=self.label_view.scene,
            )
            for k, name in enumerate(REGION_LABELS)
        ]  # fmt: skip
        self.reset_camera()
        self.canvas.events.mouse_press.connect(self._mouse_press)
        self.canvas.events.mouse_release.connect(self._mouse_release)
        self._links: list[tuple[Any, Callable[..., Any]]] = []
        self._subscribe()
        self.draw()

    # --- scene wiring ---------------------------------------------------------------------------

    def _subscribe(self) -> None:
        ev = self.scene.events
        for emitter, callback in (
            (ev.event, self._event_changed),
            (ev.selection, self._selection_changed),
            (ev.visibility, self._visibility_changed),
        ):
            emitter.connect(callback)
            self._links.append((emitter, callback))

    def bind(self, scene: Scene) -> None:
        """Follow another scene."""
        for emitter, callback in self._links:
            emitter.disconnect(callback)
        self._links.clear()
        self.scene = scene
        self._subscribe()
        self.draw()

    def _event_changed(self, event: EventBatch | None) -> None:
        self.draw()

    def _selection_changed(self, selection: Selection | None) -> None:
        self.draw_selection()

    def _visibility_changed(self, layer: str, visible: bool) -> None:
        if layer == "ecl":
            self.draw()

    @property
    def shown(self) -> bool:
        """The scene's ECL layer is on (or not declared: no event view switches it)."""
        return "ecl" not in self.scene.layers or self.scene.layer_visible("ecl")

    # --- drawing --------------------------------------------------------------------------------

    def set_showers(self, on: bool) -> None:
        """Light each cluster's 3×3 spread (on) or its seed crystal only (off)."""
        if bool(on) != self.showers:
            self.showers = bool(on)
            self.draw()

    def draw(self) -> None:
        """Recolour every crystal for the scene's event; one upload of the face colours."""
        ev = self.scene.event
        if ev is None or ev.ecl.size == 0 or not self.shown:
            self.energy = np.zeros(N_CELLS)
            self.owner = np.full(N_CELLS, -1, np.int64)
            self._cluster_cells = np.zeros(0, np.int64)
        else:
            self.energy, self.owner = cell_energies(ev.ecl, self.showers)
            self._cluster_cells = cluster_cells(ev.ecl)
        lit = self.energy > 0
        colors = np.tile(np.asarray(self.empty_color, np.float32), (N_CELLS, 1))
        colors[lit] = geo.energy_colors(self.energy[lit])
        self.colors = colors
        self.cells.set_data(vertices=self._vertices, faces=self._faces, face_colors=self._face_colors())
        self.draw_selection()

    def _face_colors(self) -> np.ndarray:
        return np.repeat(self.colors, 2, axis=0)

    def selected_cells(self) -> np.ndarray:
        """The crystals of the selected cluster (its footprint), empty when no cluster is selected."""
        sel, ev = self.scene.selection, self.scene.event
        if sel is None or sel[0] != "ecl" or ev is None or not self.shown:
            return np.zeros(0, np.int64)
        index = sel[1]
        if not 0 <= index < len(self._cluster_cells):
            return np.zeros(0, np.int64)
        energy = float(ev.ecl["energy"][index])
        return footprint(int(self._cluster_cells[index]), energy, self.showers)[0]

    def draw_selection(self) -> None:
        segments = frame_segments(self.selected_cells())
        if len(segments) == 0:
            self.frame.visible = False
            return
        self.frame.set_data(pos=segments.reshape(-1, 2), color=self.highlight_color, connect="segments")
        self.frame.visible = True

    def set_canvas_colors(self, colors: CanvasColors) -> None:
        """Follow a theme: background, axes, labels, the empty crystals' shade, the selection colour."""
        self.canvas.bgcolor = colors.background
        paint_axes((self.x_axis, self.y_axis), colors)
        for label in [*self.region_labels, self.legend_title, *self.legend.ticks]:
            label.color = colors.label
        self.legend.border_color = colors.axis
        self.empty_color = EMPTY_LIGHT if sum(colors.background[:3]) > 1.5 else EMPTY
        self.highlight_color = colors.highlight
        self.draw()
        self.canvas.update()

    def reset_camera(self) -> None:
        limits = ecl_geometry.region_theta_deg()
        self.label_view.camera.set_range(x=(0.0, 1.0), y=(0.0, 1.0), margin=0.0)
        self.view.camera.set_range(x=PHI_RANGE, y=(limits[0, 0] - 2.0, limits[2, 1] + 2.0), margin=0.0)

    def _place_legend(self, event: Any = None) -> None:
        """The energy scale at the right edge, two thirds of the canvas high (log scale, GeV)."""
        w, h = self.canvas.size
        length = max(2.0 * h / 3.0, 40.0)
        self.legend.pos = (w - 58.0, h / 2.0 - 10.0)
        self.legend.size = (length, 12)
        self.legend_title.pos = (w - 50.0, h / 2.0 - 10.0 - length / 2.0 - 14.0)

    def _sync_axes(self, event: Any = None) -> None:
        """Lay the grid out and let the axes read their range (``vispy_compat.sync_axes``)."""
        sync_axes(self._grid, (self.x_axis, self.y_axis))

    # --- picking --------------------------------------------------------------------------------

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Canvas pixel (column, row) of (N, 2) map points (φ, θ) [deg]."""
        self._sync_axes()
        tr = self.view.scene.node_transform(self.canvas.scene)
        mapped = np.atleast_2d(tr.map(np.asarray(points, float)))
        return mapped[:, :2] / mapped[:, 3:4]

    def cell_at_pixel(self, pos: tuple[float, float]) -> int:
        """1-based cellId under canvas pixel ``pos`` (column, row); 0 off the crystals."""
        self._sync_axes()
        tr = self.canvas.scene.node_transform(self.view.scene)
        phi, theta = np.asarray(tr.map([float(pos[0]), float(pos[1])]))[:2]
        if not PHI_RANGE[0] <= phi < PHI_RANGE[1]:
            return 0
        return int(cell_in_map(np.radians(phi), np.radians(theta)))

    def describe(self, cell: int) -> str:
        """One line about a crystal: cellId, ring and place, its region, what the event left in it."""
        if not 1 <= cell <= N_CELLS:
            return ""
        theta_id, phi_id = ecl_geometry.cell_to_theta_phi_id(cell)
        c = cell_rectangles()
        region = REGION_LABELS[int(ecl_geometry.region(cell))]
        where = f"θ {np.degrees(c.theta_mid[cell - 1]):.1f}°, φ {np.degrees(c.phi_mid[cell - 1]):.1f}°"
        text = f"crystal {cell} (thetaID {theta_id}, phiID {phi_id}) · {where} · {region}"
        if self.energy[cell - 1] > 0:
            text += f" · {self.energy[cell - 1]:.3f} GeV from cluster {int(self.owner[cell - 1])}"
        return text

    def pick(self, pos: tuple[float, float]) -> Selection | None:
        """("ecl", cluster index) of the cluster that lit the crystal under ``pos``; None elsewhere."""
        cell = self.cell_at_pixel(pos)
        if cell == 0 or self.owner[cell - 1] < 0:
            return None
        return ("ecl", int(self.owner[cell - 1]))

    def click(self, pos: tuple[float, float]) -> Selection | None:
        """Select what ``pick`` finds at ``pos`` (nothing there clears the selection)."""
        hit = self.pick(pos)
        select = self.on_select or self.scene.select
        select(*(hit if hit else (None, -1)))
        return hit

    def _mouse_press(self, event: Any) -> None:
        self._press = (float(event.pos[0]), float(event.pos[1]))

    def _mouse_release(self, event: Any) -> None:
        start, self._press = self._press, None
        if start is None or np.hypot(event.pos[0] - start[0], event.pos[1] - start[1]) > 4:
            return  # a drag pans the map
        self.click((float(event.pos[0]), float(event.pos[1])))

    # --- pictures -------------------------------------------------------------------------------

    def render(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """RGBA image (h, w, 4) of the map."""
        self._sync_axes()
        return np.asarray(self.canvas.render(size=size, alpha=False))

    def close(self) -> None:
        for emitter, callback in self._links:
            emitter.disconnect(callback)
        self._links.clear()
        close_canvas(self.canvas)
