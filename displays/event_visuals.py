"""The event overlay of one view: one VisPy visual per collection, fed with ``set_data`` only.

``EventVisuals(view, projection)`` parents its visuals to ``view.scene`` of a ViewBox (the 3D
view or an r-phi / r-z projection). ``set_event`` rebuilds every visual from a one-event batch;
visuals are created once and reused, so switching events for hours allocates nothing new on
the GPU side. An empty collection hides its visual instead of sending empty arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from vispy import scene
from vispy.color import Colormap

from displays import event_geometry as geo
from displays.event_geometry import ColorMode, Extent, Projection
from displays.palette import palette, parse
from events.model import Collection, EventBatch

CrystalPainter = Callable[[np.ndarray, np.ndarray], None]  # (1-based cellIds, RGBA (n, 4))

LAYERS = ("tracks", "ecl", "klm", "vertices", "mc", "recoil")
KINDS = ("track", "ecl", "klm", "vertex", "mc")
_P = palette()
HIGHLIGHT = parse(_P.theme("dark")["highlight"])  # the selection; a theme may change it (set_highlight_color)
RECOIL_COLOR = _P.rgba("event.recoil")
KLM_COLOR = _P.rgba("event.klm_hit")
KLM_EDGE = _P.rgba("event.klm_hit_edge")


def detector_crystal_painter(detector: Any) -> CrystalPainter:
    """Light the ECL crystals of a ``DetectorView3D`` by cellId: the previous event's crystals go
    back to the part colour and the new ones light up, in one rebuild of the crystal mesh."""
    ecl = detector.part("ECL")

    def paint(cells: np.ndarray, rgba: np.ndarray) -> None:
        cells = np.asarray(cells, np.int64)
        cells_ok = (cells >= 1) & (cells <= ecl.model.n_elements)
        ecl.model.reset_element_colors()
        if cells_ok.any():
            ecl.model.set_element_colors(cells[cells_ok] - 1, np.asarray(rgba, np.float32)[cells_ok])
        ecl.refresh()

    return paint


def energy_colormap() -> Colormap:
    """The ECL energy scale as a VisPy colormap (the legend), same anchors as the towers."""
    return Colormap(geo.ENERGY_ANCHOR_COLORS, controls=geo.ENERGY_ANCHORS)


@dataclass
class PickTable:
    """Anchor points (in scene coordinates) of every pickable object, with their (kind, index)."""

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    def extend(self, kind: str, points: np.ndarray, index: np.ndarray) -> None:
        self.points = np.concatenate([self.points, np.asarray(points, np.float32).reshape(-1, 3)])
        self.kind = np.concatenate([self.kind, np.full(len(index), KINDS.index(kind), np.int8)])
        self.index = np.concatenate([self.index, np.asarray(index, np.int32)])


def nearest_on_screen(screen: np.ndarray, click: tuple[float, float], radius: float) -> int | None:
    """Row of the screen point nearest to ``click`` within ``radius`` pixels, or None."""
    if len(screen) == 0:
        return None
    d2 = (screen[:, 0] - click[0]) ** 2 + (screen[:, 1] - click[1]) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    i = int(np.argmin(d2))
    return i if d2[i] <= radius * radius else None


class EventVisuals:
    """Tracks, ECL, KLM, vertices, MC truth and the recoil arrow of one event in one view."""

    def __init__(
        self,
        view: scene.ViewBox,
        projection: Projection = "3d",
        crystal_painter: CrystalPainter | None = None,
        extent: Extent = geo.ECL_INNER,
        n_points: int = 64,
        color_mode: ColorMode = "charge",
        line_width: float = 2.0,
        adaptive: bool = True,
    ) -> None:
        self.view = view
        self.projection: Projection = projection
        self.crystal_painter = crystal_painter
        self.extent = extent
        self.n_points = n_points  # per track; with ``adaptive``, the most a track gets
        self.adaptive = adaptive  # points per track by how much it turns (geo.points_per_track)
        self.color_mode: ColorMode = color_mode
        self.growth = 1.0
        self.show_mc = False
        self.highlight_daughters = True
        self.showers = False  # light the crystals around each cluster's seed too (outreach)
        self.event: EventBatch | None = None
        self.selection: tuple[str, int] | None = None
        self.highlight_color: tuple[float, ...] = HIGHLIGHT
        self.picks = PickTable()
        self._layer_visible = dict.fromkeys(LAYERS, True)
        self._s_end = np.zeros(0)
        self._counts: np.ndarray | None = None
        self._track_colors = np.zeros((0, 4), np.float32)
        self._lit_cells = np.zeros(0, np.int64)
        parent = view.scene
        flat = projection != "3d"
        lw = float(line_width)
        self.scale = lw / 2.0  # markers grow with the lines (pictures for 4K screens)
        self.tracks = scene.visuals.Line(parent=parent, width=lw, method="gl", antialias=False)
        self.ecl = scene.visuals.Mesh(parent=parent, shading=None)
        self.klm = scene.visuals.Markers(parent=parent)
        self.vertices = scene.visuals.Markers(parent=parent)
        self.vertex_lines = scene.visuals.Line(parent=parent, width=0.75 * lw, method="gl")
        self.mc = scene.visuals.Line(parent=parent, width=0.75 * lw, method="gl")
        self.selected_line = scene.visuals.Line(parent=parent, width=2.5 * lw, method="gl")
        self.selected_marker = scene.visuals.Markers(parent=parent)
        self.recoil = scene.visuals.Line(parent=parent, width=1.5 * lw, method="gl")
        self.recoil_label = scene.visuals.Text(
            "", color=RECOIL_COLOR, font_size=11, anchor_x="left", anchor_y="bottom", parent=parent
        )
        for v in self.visuals():
            v.visible = False
            if flat:  # overlays sit above the detector outline of the projections
                v.order = 10
        self.selected_line.order = self.selected_marker.order = 11
        if not flat:  # closed, outward-wound, flat-coloured towers: only their near faces cost pixels
            self.ecl.set_gl_state("opaque", cull_face="back")

    def visuals(self) -> list[scene.visuals.VisualNode]:
        return [
            self.tracks,
            self.ecl,
            self.klm,
            self.vertices,
            self.vertex_lines,
            self.mc,
            self.selected_line,
            self.selected_marker,
            self.recoil,
            self.recoil_label,
        ]

    # --- whole event ---------------------------------------------------------------------

    def set_event(self, event: EventBatch) -> None:
        """Show a one-event batch; every visual gets one ``set_data`` (or is hidden if empty)."""
        if len(event) != 1:
            raise ValueError(f"EventVisuals shows one event, got a batch of {len(event)}")
        self.event = event
        self.selection = None
        self.picks = PickTable()
        t = event.tracks
        self._s_end = geo.track_end_arc_lengths(t, self.extent)
        self._counts = geo.points_per_track(t["omega"], self._s_end, self.n_points) if self.adaptive else None
        self._update_track_colors()
        self._draw_tracks()
        self._draw_ecl()
        self._draw_klm()
        self._draw_vertices()
        self._draw_mc()
        self._draw_selection()
        self.clear_recoil()

    def clear(self) -> None:
        self.event = None
        self.picks = PickTable()
        for v in self.visuals():
            v.visible = False
        self._paint_crystals(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))

    def set_color_mode(self, mode: ColorMode) -> None:
        self.color_mode = mode
        if self.event is not None:
            self._update_track_colors()
            self._draw_tracks(update_picks=False)

    def set_growth(self, t: float) -> None:
        """Trim every track to the fraction ``t`` in [0, 1] of its drawn length (collision animation)."""
        self.growth = float(np.clip(t, 0.0, 1.0))
        if self.event is not None:
            self._draw_tracks(update_picks=False)

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
        self._layer_visible[layer] = visible
        if layer == "mc":
            self.show_mc = visible
        if self.event is not None:
            {
                "tracks": lambda: self._draw_tracks(update_picks=False),
                "ecl": self._draw_ecl,
                "klm": self._draw_klm,
                "vertices": self._draw_vertices,
                "mc": self._draw_mc,
                "recoil": lambda: self._show(self.recoil, visible and self.recoil.visible),
            }[layer]()

    def layer_visible(self, layer: str) -> bool:
        return self._layer_visible[layer] and (layer != "mc" or self.show_mc)

    @property
    def visibility(self) -> dict[str, bool]:
        return {name: self.layer_visible(name) for name in LAYERS}

    # --- collections ---------------------------------------------------------------------

    @staticmethod
    def _show(visual: scene.visuals.VisualNode, visible: bool) -> None:
        visual.visible = bool(visible)

    def _update_track_colors(self) -> None:
        assert self.event is not None
        t = self.event.tracks
        colors = geo.track_colors(t, self.color_mode, float(self.event.header["bz"][0]))
        if self.highlight_daughters and self.event.vertices.size:
            colors[geo.daughter_tracks(t, self.event.vertices)] = geo.DAUGHTER_COLOR
        self._track_colors = colors

    def _draw_tracks(self, update_picks: bool = True) -> None:
        assert self.event is not None
        t = self.event.tracks
        if t.size == 0 or not self._layer_visible["tracks"]:
            self._show(self.tracks, False)
            return
        lines = geo.track_polylines(
            t,
            self.projection,
            self._track_colors,
            self.extent,
            self.growth,
            self.n_points,
            self._s_end,
            self._counts,
        )
        self.tracks.set_data(pos=lines.pos, color=lines.color, connect=lines.connect)
        self._show(self.tracks, True)
        if update_picks:
            full = (
                lines
                if self.growth >= 1.0
                else geo.track_polylines(
                    t,
                    self.projection,
                    self._track_colors,
                    self.extent,
                    1.0,
                    self.n_points,
                    self._s_end,
                    self._counts,
                )
            )
            self.picks.extend("track", full.pos, full.strip_of_point())

    def _draw_ecl(self) -> None:
        assert self.event is not None
        ecl = self.event.ecl
        shown = np.flatnonzero(geo.photon_clusters(ecl)) if self._layer_visible["ecl"] else np.zeros(0, int)
        sub = _rows(ecl, shown)
        cells = sub["cell_id"].astype(np.int64)
        on_crystals = (cells > 0) if self.crystal_painter is not None else np.zeros(len(cells), bool)
        lit, lit_energy = cells[on_crystals], sub["energy"][on_crystals]
        if self.showers:
            lit, lit_energy = geo.shower_cells(lit, lit_energy)
        self._paint_crystals(lit, geo.energy_colors(lit_energy))
        towers = _rows(sub, np.flatnonzero(~on_crystals))
        if towers.size == 0:
            self._show(self.ecl, False)
        else:
            verts, faces, colors = geo.tower_mesh(towers, self.projection)
            self.ecl.set_data(vertices=verts, faces=faces, face_colors=colors)
            self._show(self.ecl, True)
        if len(shown):
            anchor = geo.project(geo.ecl_positions(sub), self.projection, _sign_of_phi(sub["phi"]))
            self.picks.extend("ecl", anchor, shown)

    def _paint_crystals(self, cells: np.ndarray, rgba: np.ndarray) -> None:
        if self.crystal_painter is None or (len(cells) == 0 and len(self._lit_cells) == 0):
            return
        self.crystal_painter(cells, rgba)
        self._lit_cells = cells

    def _draw_klm(self) -> None:
        assert self.event is not None
        k = self.event.klm
        if k.size == 0 or not self._layer_visible["klm"]:
            self._show(self.klm, False)
            return
        pos = geo.project(np.stack([k["x"], k["y"], k["z"]], axis=-1), self.projection)
        self.klm.set_data(
            pos,
            size=12 * self.scale,
            face_color=KLM_COLOR,
            edge_color=KLM_EDGE,
            symbol="square",
        )
        self._show(self.klm, True)
        self.picks.extend("klm", pos, np.arange(k.size))

    def _draw_vertices(self) -> None:
        assert self.event is not None
        v = self.event.vertices
        if v.size == 0 or not self._layer_visible["vertices"]:
            self._show(self.vertices, False)
            self._show(self.vertex_lines, False)
            return
        pos = geo.project(geo.vertex_positions(v), self.projection)
        colors = np.array([geo.VERTEX_COLORS.get(int(k), (1, 1, 1, 1)) for k in v["kind"]], np.float32)
        self.vertices.set_data(pos, size=9 * self.scale, face_color=colors, edge_color="black", symbol="disc")
        self._show(self.vertices, True)
        self.picks.extend("vertex", pos, np.arange(v.size))
        rings, ring_connect, owner = geo.error_ellipses(v, self.projection)
        flights, flight_connect = geo.flight_lines(v, self.projection)
        all_pos = np.concatenate([rings, flights])
        if len(all_pos) == 0:
            self._show(self.vertex_lines, False)
            return
        grey = np.tile(np.array([0.8, 0.8, 0.8, 0.8], np.float32), (len(flights), 1))
        self.vertex_lines.set_data(
            pos=all_pos,
            color=np.concatenate([colors[owner], grey]),
            connect=np.concatenate([ring_connect, flight_connect]),
        )
        self._show(self.vertex_lines, True)

    def _draw_mc(self) -> None:
        assert self.event is not None
        if not (self.show_mc and self._layer_visible["mc"]) or self.event.mc.size == 0:
            self._show(self.mc, False)
            return
        lines, _ = geo.mc_polylines(self.event.mc, self.projection, float(self.event.header["bz"][0]))
        if lines.n == 0:
            self._show(self.mc, False)
            return
        self.mc.set_data(pos=lines.pos, color=lines.color, connect=lines.connect)
        self._show(self.mc, True)

    # --- selection and picking -------------------------------------------------------------

    def highlight(self, kind: str | None, index: int = -1) -> None:
        """Emphasise one object (a track, cluster, vertex with its daughters); None clears."""
        self.selection = None if kind is None else (kind, int(index))
        if self.event is not None:
            self._draw_selection()

    def set_highlight_color(self, rgba: tuple[float, ...]) -> None:
        """The colour of the selection (white on the dark theme, black on the light one)."""
        self.highlight_color = tuple(rgba)
        if self.event is not None:
            self._draw_selection()

    def _draw_selection(self) -> None:
        self._show(self.selected_line, False)
        self._show(self.selected_marker, False)
        if self.selection is None or self.event is None:
            return
        kind, index = self.selection
        ev = self.event
        tracks: list[int] = []
        points = np.zeros((0, 3), np.float32)
        if kind == "track":
            tracks = [index]
        elif kind == "vertex" and 0 <= index < ev.vertices.size:
            tracks = [int(ev.vertices[c][index]) for c in ("track_pos", "track_neg")]
            points = geo.project(geo.vertex_positions(_rows(ev.vertices, np.array([index]))), self.projection)
        elif kind == "ecl" and 0 <= index < ev.ecl.size:
            sub = _rows(ev.ecl, np.array([index]))
            points = geo.project(geo.ecl_positions(sub), self.projection, _sign_of_phi(sub["phi"]))
            tracks = list(np.flatnonzero(ev.tracks["ecl_index"] == index))
        elif kind == "klm" and 0 <= index < ev.klm.size:
            k = ev.klm
            points = geo.project(np.array([[k["x"][index], k["y"][index], k["z"][index]]]), self.projection)
            tracks = list(np.flatnonzero(ev.tracks["klm_index"] == index))
        tracks = [i for i in tracks if 0 <= i < ev.tracks.size]
        if tracks:
            sub = _rows(ev.tracks, np.array(tracks))
            lines = geo.track_polylines(
                sub,
                self.projection,
                np.tile(np.array(self.highlight_color, np.float32), (len(tracks), 1)),
                self.extent,
                self.growth,
                self.n_points,
                self._s_end[tracks],
                None if self._counts is None else self._counts[tracks],
            )
            self.selected_line.set_data(pos=lines.pos, color=lines.color, connect=lines.connect)
            self._show(self.selected_line, True)
        if len(points):
            self.selected_marker.set_data(
                points,
                size=22 * self.scale,
                face_color=(0, 0, 0, 0),
                edge_color=self.highlight_color,
                edge_width=2.5,
                symbol="ring",
            )
            self._show(self.selected_marker, True)

    def scene_to_canvas(self, points: np.ndarray) -> np.ndarray:
        """Map scene points of this view to canvas pixels (x right, y down)."""
        tr = self.view.scene.node_transform(self.view.canvas.scene)
        mapped = np.asarray(tr.map(np.asarray(points, dtype=np.float32)))
        with np.errstate(divide="ignore", invalid="ignore"):
            return mapped[:, :2] / mapped[:, 3:4]

    def pick(self, canvas_pos: tuple[float, float], radius: float = 10.0) -> tuple[str, int] | None:
        """The object drawn nearest to a canvas position (pixels), within ``radius``."""
        if len(self.picks.points) == 0:
            return None
        row = nearest_on_screen(self.scene_to_canvas(self.picks.points), canvas_pos, radius)
        if row is None:
            return None
        return KINDS[int(self.picks.kind[row])], int(self.picks.index[row])

    # --- recoil ---------------------------------------------------------------------------

    def set_recoil(self, direction: np.ndarray, momentum: float, label: str) -> None:
        """Dashed arrow from the IP along the recoil, 40 cm per GeV (20 to 150 cm), with a label."""
        length = float(np.clip(40.0 * momentum, 20.0, 150.0))
        pos, connect, tip = geo.recoil_arrow(direction, length, self.projection)
        self.recoil.set_data(pos=pos, color=RECOIL_COLOR, connect=connect)
        self.recoil_label.text = label
        self.recoil_label.pos = tip
        self._show(self.recoil, self._layer_visible["recoil"])
        self._show(self.recoil_label, self._layer_visible["recoil"])

    def clear_recoil(self) -> None:
        self._show(self.recoil, False)
        self._show(self.recoil_label, False)


def _rows(col: Collection, rows: np.ndarray) -> Collection:
    """A one-event collection restricted to some of its rows (keeps the event structure)."""
    rows = np.asarray(rows, dtype=np.int64)
    return Collection.from_columns(col.name, [len(rows)], {k: v[rows] for k, v in col.columns.items()})


def _sign_of_phi(phi: np.ndarray) -> np.ndarray:
    return np.where(np.sin(np.asarray(phi, dtype=np.float64)) >= 0, 1.0, -1.0)


def add_energy_legend(
    canvas: scene.SceneCanvas,
    pos: tuple[float, float] = (60, 200),
    size: tuple[float, float] = (260, 14),
    color: Any = "white",
) -> scene.visuals.ColorBar:
    """A vertical colour bar of the ECL energy scale, fixed in canvas pixels."""
    lo, hi = geo.ENERGY_RANGE
    bar = scene.visuals.ColorBar(
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
    scene.visuals.Text(
        "ECL energy [GeV]",
        color=color,
        font_size=9,
        pos=(pos[0] - 8, pos[1] - size[0] / 2 - 14),
        anchor_x="left",
        parent=canvas.scene,
    )
    return bar
