"""Overlay adapters: one class per event collection, each drawing its visual of one view from a ``Scene``.

An adapter subscribes to the scene's emitters in its constructor and disconnects in ``close()``, as
napari's ``_vispy/layers`` do. It makes its VisPy visuals once (parented to the view's scene node), when
the scene first holds something it may draw (an event, a selection, a recoil, its layer switched on) or
when they are asked for: a view waiting for its first event has none, so the window's first frame
builds and compiles nothing for them. The adapters of one view make theirs in the table's order (one
that builds first builds those before it), so the drawing order is the same whenever each began. It
redraws only on what it shows: the tracks on a new event, colour mode, growth, time or their layer
switch; the KLM hits on a new event, their switch or a time at which another hit has appeared; and
so on. Every redraw is one ``set_data`` per visual,
or hiding it when there is nothing to draw. ``OVERLAYS`` lists them in drawing order: a view builds
one of each (``displays.event_visuals.EventVisuals``), so a new collection is one class and one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from vispy import scene as vispy_scene
from vispy.visuals import MeshVisual

from displays import event_geometry as geo
from displays import timeline as timing
from displays.event_geometry import Extent, Projection
from displays.palette import palette, parse
from displays.scene import Emitter, Recoil, Scene
from events.field import track_bz
from events.model import Collection, EventBatch

CrystalPainter = Callable[[np.ndarray, np.ndarray], None]  # (1-based cellIds, RGBA (n, 4))
VisualNode = Any  # a vispy.scene visual node

KINDS = ("track", "ecl", "klm", "vertex", "mc")  # what a click can select, in pick-table codes
_P = palette()
HIGHLIGHT = parse(_P.theme("dark")["highlight"])  # the selection; a theme may change it per view
RECOIL_COLOR = _P.rgba("event.recoil")
KLM_COLOR = _P.rgba("event.klm_hit")
KLM_EDGE = _P.rgba("event.klm_hit_edge")
NO_POINTS = np.zeros((0, 3), np.float32)
NO_INDEX = np.zeros(0, np.int32)


@dataclass
class ViewOptions:
    """How one view draws the scene: its projection and sizes; the same scene looks different per view."""

    projection: Projection = "3d"
    crystal_painter: CrystalPainter | None = None  # lights ECL crystals by cellId (3D on the detector)
    extent: Extent = geo.ECL_INNER  # where tracks stop
    n_points: int = 64  # per track; with ``adaptive``, the most a track gets
    adaptive: bool = True  # points per track by how much it turns (geo.points_per_track)
    line_width: float = 2.0
    showers: bool = False  # light the crystals around each cluster's seed too (outreach)
    highlight_daughters: bool = True  # tracks from a displaced vertex in their own colour
    highlight_color: tuple[float, ...] = HIGHLIGHT  # the selection (white on the dark theme, black on light)
    _shape: tuple[Any, ...] = field(default=(), repr=False)
    # the adapters drawing with these options (one view), in the order made: the order they build in
    _overlays: list[Overlay] = field(default_factory=list, repr=False, compare=False)

    @property
    def flat(self) -> bool:
        return self.projection != "3d"

    @property
    def scale(self) -> float:
        """Markers grow with the lines (pictures for 4K screens)."""
        return float(self.line_width) / 2.0

    def timeline(self, event: EventBatch) -> timing.Timeline:
        """When everything of ``event`` is reached (``displays.timeline``), once per event and extent."""
        cached = self._timeline
        if not cached or cached[0] is not event or cached[1] != self.extent:
            self._timeline = (event, self.extent, timing.timeline(event, self.extent))
        return self._timeline[2]

    _timeline: tuple[Any, ...] = ()

    def track_shape(self, tracks: Collection) -> tuple[np.ndarray, np.ndarray | None]:
        """(arc length where each track leaves the extent, points per track or None), once per event."""
        settings = (self.extent, self.n_points, self.adaptive)
        if not self._shape or self._shape[0] is not tracks or self._shape[1] != settings:
            s_end = geo.track_end_arc_lengths(tracks, self.extent)
            counts = geo.points_per_track(tracks["omega"], s_end, self.n_points) if self.adaptive else None
            self._shape = (tracks, settings, s_end, counts)
        return self._shape[2], self._shape[3]


class TowerMeshVisual(MeshVisual):
    """A MeshVisual that keeps its shader functions across ``set_data``.

    VisPy's mesh builds new position and colour functions on every data update, and a new function
    recompiles and relinks the view's shader program (about 10 ms per view and event on llvmpipe).
    Both only depend on the vertex dimension and on face colours against colour values, so one of each
    is kept; the drawn pixels are the same.
    """

    _kept_functions: dict[Any, Any] | None = None

    def _kept(self, key: Any, make: Callable[[], Any]) -> Any:
        if self._kept_functions is None:
            self._kept_functions = {}
        if key not in self._kept_functions:
            self._kept_functions[key] = make()
        return self._kept_functions[key]

    def _ensure_vec4_func(self, dims: int) -> Any:
        return self._kept(("vec4", dims), lambda: MeshVisual._ensure_vec4_func(dims))

    def _build_color_transform(self, colors: np.ndarray) -> Any:
        if colors.ndim == 2 and colors.shape[1] == 1:  # values through a colormap: its limits may change
            return super()._build_color_transform(colors)
        return self._kept("pass", lambda: super(TowerMeshVisual, self)._build_color_transform(colors))


TowerMesh = vispy_scene.visuals.create_visual_node(TowerMeshVisual)


class Overlay:
    """Base of the adapters: visuals made once, scene subscriptions, picking anchors.

    Subclasses set ``layer`` (the switch in ``Scene.visibility``; None: always drawn), make their
    visuals in ``make_visuals`` and draw the current scene state in ``draw``. ``listens`` names the
    scene emitters that trigger ``draw`` besides the event and their own layer switch.
    """

    layer: ClassVar[str | None] = None
    visible_by_default: ClassVar[bool] = True
    pick_kind: ClassVar[str | None] = None
    listens: ClassVar[tuple[str, ...]] = ()
    follows_time: ClassVar[bool] = False  # redraw when ``time_key`` changes with the scene's time

    def __init__(self, scene: Scene, view: Any, options: ViewOptions) -> None:
        self.view = view
        self.options = options
        self.scene = scene
        self.pick_points = NO_POINTS
        self.pick_index = NO_INDEX
        self._nodes: dict[str, VisualNode] | None = None  # made by ``build()``
        self._closed = False
        options._overlays.append(self)
        self._links: list[tuple[Emitter, Callable[..., Any]]] = []
        self._subscribe()

    # --- the visuals, made when first needed ------------------------------------------------

    @property
    def nodes(self) -> dict[str, VisualNode]:
        """The overlay's visuals by name (made now if they were not yet)."""
        if self._nodes is None:
            self.build()
        assert self._nodes is not None
        return self._nodes

    @property
    def built(self) -> bool:
        """Whether the visuals exist."""
        return self._nodes is not None

    def build(self) -> None:
        """Make the visuals now, hidden, after those of the view's adapters made before this one (so
        each view draws them in the table's order). A closed adapter's visuals join no view."""
        if self._nodes is not None:
            return
        overlays = self.options._overlays
        for earlier in overlays[: overlays.index(self)] if self in overlays else ():
            earlier.build()
        nodes = self.make_visuals(None if self._closed else self.view.scene)
        for node in nodes.values():
            node.visible = False
            if self.options.flat:  # overlays sit above the detector outline of the projections
                node.order = 10
        self._nodes = nodes

    def wanted(self) -> bool:
        """Whether the scene holds something this overlay may draw: until then its visuals wait."""
        return self.event is not None and self.shown

    def refresh(self) -> None:
        """Draw what the scene shows, making the visuals first if there is something for them."""
        if self._nodes is None and not self.wanted():
            return
        self.draw()

    # --- what subclasses provide ------------------------------------------------------------

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        raise NotImplementedError

    def draw(self) -> None:
        raise NotImplementedError

    # --- scene wiring -----------------------------------------------------------------------

    def _subscribe(self) -> None:
        if self.layer is not None:
            self.scene.declare_layer(self.layer, self.visible_by_default)
        events = self.scene.events
        self._listen(events.event, self._event_changed)
        if self.layer is not None:
            self._listen(events.visibility, self._visibility_changed)
        for name in self.listens:
            self._listen(getattr(events, name), self._changed)
        if self.follows_time:
            self._listen(events.time, self._time_changed)

    def _listen(self, emitter: Emitter, callback: Callable[..., Any]) -> None:
        emitter.connect(callback)
        self._links.append((emitter, callback))

    def _event_changed(self, event: EventBatch | None) -> None:
        self.refresh()

    def _visibility_changed(self, layer: str, visible: bool) -> None:
        if layer == self.layer:
            self.refresh()

    def _changed(self, *_: Any) -> None:
        self.refresh()

    def _time_changed(self, t: float | None) -> None:
        """Redraw only when what is there at the new time differs (a cluster lit, a hit appeared)."""
        key = self.time_key()
        old, self._time_drawn = self._time_drawn, key
        if old is None or key is None or old[0] is not key[0] or old[1:] != key[1:]:
            self.refresh()

    _time_drawn: tuple[Any, ...] | None = None

    def time_key(self) -> tuple[Any, ...] | None:
        """(event, what is shown at the scene's time...); None: nothing to compare."""
        return None

    def appeared(self, times: np.ndarray) -> np.ndarray:
        """Mask of the objects there at the scene's time (all, without a time axis)."""
        t = self.scene.time
        return np.ones(len(times), bool) if t is None else np.asarray(times) <= t

    @property
    def timeline(self) -> timing.Timeline | None:
        """The event's timeline when the scene has a time axis, else None."""
        ev = self.event
        return None if ev is None or self.scene.time is None else self.options.timeline(ev)

    def bind(self, scene: Scene) -> None:
        """Follow another scene: leave the old one, subscribe to the new one, draw what it shows."""
        self._unsubscribe()
        self.scene = scene
        self._subscribe()
        self.refresh()

    def _unsubscribe(self) -> None:
        for emitter, callback in self._links:
            emitter.disconnect(callback)
        self._links.clear()

    def close(self) -> None:
        """Disconnect from the scene and take the visuals out of the view."""
        self._unsubscribe()
        self._closed = True
        for node in (self._nodes or {}).values():
            node.parent = None
        self.pick_points, self.pick_index = NO_POINTS, NO_INDEX

    # --- helpers ----------------------------------------------------------------------------

    @property
    def event(self) -> EventBatch | None:
        return self.scene.event

    @property
    def shown(self) -> bool:
        """The layer switch is on (always, for overlays without one)."""
        return self.layer is None or self.scene.layer_visible(self.layer)

    def visuals(self) -> list[VisualNode]:
        return list(self.nodes.values())

    def hide(self) -> None:
        for node in (self._nodes or {}).values():
            show(node, False)
        self.set_picks(NO_POINTS, NO_INDEX)

    def set_picks(self, points: np.ndarray, index: np.ndarray) -> None:
        self.pick_points = np.asarray(points, np.float32).reshape(-1, 3)
        self.pick_index = np.asarray(index, np.int32)


def show(visual: VisualNode, visible: bool) -> None:
    """Show or hide a visual; unchanged visibility asks for no repaint."""
    if visual.visible != bool(visible):
        visual.visible = bool(visible)


# --- the collections -----------------------------------------------------------------------------


class TrackOverlay(Overlay):
    """All tracks in one Line with a connect array, coloured by the scene's colour mode."""

    layer = "tracks"
    pick_kind = "track"
    listens = ("color_mode", "growth", "time")

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        lw = float(self.options.line_width)
        return {"tracks": vispy_scene.visuals.Line(parent=parent, width=lw, method="gl", antialias=False)}

    def colors(self, event: EventBatch) -> np.ndarray:
        t = event.tracks
        colors = geo.track_colors(t, self.scene.color_mode, track_bz(event.header["bz"][0], t["z0"]))
        if self.options.highlight_daughters and event.vertices.size:
            colors[geo.daughter_tracks(t, event.vertices)] = geo.DAUGHTER_COLOR
        return colors

    def draw(self) -> None:
        ev, line = self.event, self.nodes["tracks"]
        if ev is None or ev.tracks.size == 0 or not self.shown:
            self.hide()
            return
        o, t = self.options, ev.tracks
        s_end, counts = o.track_shape(t)
        colors = self.colors(ev)
        growth, timeline = self.scene.growth, self.timeline
        s_start, s_now = (
            (None, s_end) if timeline is None else timeline.track_arcs(self.scene.time or 0.0, s_end)
        )
        lines = geo.track_polylines(
            t, o.projection, colors, o.extent, growth, o.n_points, s_now, counts, s_start
        )
        line.set_data(pos=lines.pos, color=lines.color, connect=lines.connect)
        show(line, True)
        if self._picked is not ev or len(self.pick_points) == 0:  # anchors along the whole track
            full = (
                lines
                if growth >= 1.0 and timeline is None
                else geo.track_polylines(t, o.projection, colors, o.extent, 1.0, o.n_points, s_end, counts)
            )
            self.set_picks(full.pos, full.strip_of_point())
            self._picked = ev

    _picked: EventBatch | None = None


class EclOverlay(Overlay):
    """Every ECL cluster once: photon clusters light their crystals by energy (with a crystal
    painter), else stand as energy towers; clusters with the neutral-hadron hypothesis alone are
    hollow diamonds in a colour off the energy scale. All of them can be picked."""

    layer = "ecl"
    pick_kind = "ecl"
    follows_time = True

    def time_key(self) -> tuple[Any, ...] | None:
        timeline = self.timeline
        return None if timeline is None else (self.event, self.appeared(timeline.ecl).tobytes())

    def __init__(self, scene: Scene, view: Any, options: ViewOptions) -> None:
        self._lit_cells = np.zeros(0, np.int64)
        super().__init__(scene, view, options)

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        mesh = TowerMesh(parent=parent, shading=None)
        if not self.options.flat:  # closed, outward-wound, flat-coloured towers: only near faces cost pixels
            mesh.set_gl_state("opaque", cull_face="back")
        return {"ecl": mesh, "ecl_hadrons": vispy_scene.visuals.Markers(parent=parent)}

    def draw(self) -> None:
        ev, mesh = self.event, self.nodes["ecl"]
        if ev is None:
            self.hide()
            self._paint(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
            return
        o, ecl = self.options, ev.ecl
        hadron = geo.neutral_hadron_only(ecl)
        timeline = self.timeline
        there = np.ones(ecl.size, bool) if timeline is None else self.appeared(timeline.ecl)
        photons = np.flatnonzero(~hadron & there) if self.shown else np.zeros(0, int)
        hadrons = np.flatnonzero(hadron & there) if self.shown else np.zeros(0, int)
        sub = rows(ecl, photons)
        cells = sub["cell_id"].astype(np.int64)
        on_crystals = (cells > 0) if o.crystal_painter is not None else np.zeros(len(cells), bool)
        lit, lit_energy = cells[on_crystals], sub["energy"][on_crystals]
        if o.showers:
            lit, lit_energy = geo.shower_cells(lit, lit_energy)
        self._paint(lit, geo.energy_colors(lit_energy))
        towers = rows(sub, np.flatnonzero(~on_crystals))
        if towers.size == 0:
            show(mesh, False)
        else:
            verts, faces, colors = geo.tower_mesh(towers, o.projection)
            mesh.set_data(vertices=verts, faces=faces, face_colors=colors)
            show(mesh, True)
        shown = np.concatenate([photons, hadrons])
        both = rows(ecl, shown)
        pos = geo.project(geo.ecl_positions(both), o.projection, sign_of_phi(both["phi"]))
        self._draw_hadrons(pos[len(photons) :])
        if len(shown):
            self.set_picks(pos, shown)
        else:
            self.set_picks(NO_POINTS, NO_INDEX)

    def _draw_hadrons(self, pos: np.ndarray) -> None:
        """Neutral-hadron-only clusters (the hadron reading of a region whose photons are drawn) as
        hollow diamonds: they share crystals with those photons, so they never repaint them."""
        markers = self.nodes["ecl_hadrons"]
        if len(pos) == 0:
            show(markers, False)
            return
        scale = self.options.scale
        markers.set_data(
            pos, size=14 * scale, face_color=(0, 0, 0, 0), edge_color=geo.NEUTRAL_HADRON,
            edge_width=2.0 * scale, symbol="diamond",
        )  # fmt: skip
        show(markers, True)

    def _paint(self, cells: np.ndarray, rgba: np.ndarray) -> None:
        painter = self.options.crystal_painter
        if painter is None or (len(cells) == 0 and len(self._lit_cells) == 0):
            return
        painter(cells, rgba)
        self._lit_cells = cells

    def close(self) -> None:
        self._paint(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))  # the crystals go dark
        super().close()


class KlmOverlay(Overlay):
    """KLM hits as squares."""

    layer = "klm"
    pick_kind = "klm"
    follows_time = True

    def time_key(self) -> tuple[Any, ...] | None:
        timeline = self.timeline
        return None if timeline is None else (self.event, self.appeared(timeline.klm).tobytes())

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        return {"klm": vispy_scene.visuals.Markers(parent=parent)}

    def draw(self) -> None:
        ev, markers = self.event, self.nodes["klm"]
        if ev is None or ev.klm.size == 0 or not self.shown:
            self.hide()
            return
        k = ev.klm
        timeline = self.timeline
        if timeline is not None:
            there = np.flatnonzero(self.appeared(timeline.klm))
            if len(there) == 0:
                self.hide()
                return
            k = rows(k, there)
        pos = geo.project(np.stack([k["x"], k["y"], k["z"]], axis=-1), self.options.projection)
        markers.set_data(
            pos,
            size=12 * self.options.scale,
            face_color=KLM_COLOR,
            edge_color=KLM_EDGE,
            symbol="square",
        )
        show(markers, True)
        self.set_picks(pos, np.arange(k.size) if timeline is None else there)


class VertexOverlay(Overlay):
    """Vertices as discs, with their error ellipses and flight lines."""

    layer = "vertices"
    pick_kind = "vertex"
    follows_time = True

    def time_key(self) -> tuple[Any, ...] | None:
        timeline = self.timeline
        return None if timeline is None else (self.event, self._reach(timeline).tobytes())

    def _reach(self, timeline: timing.Timeline) -> np.ndarray:
        """Share of its flight each vertex's mother has flown (1: the vertex is there)."""
        t = float(self.scene.time or 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            reach = np.where(timeline.vertices > 0, t / timeline.vertices, 1.0)
        return np.round(np.clip(reach, 0.0, 1.0), 3)

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        lw = float(self.options.line_width)
        return {
            "vertices": vispy_scene.visuals.Markers(parent=parent),
            "vertex_lines": vispy_scene.visuals.Line(parent=parent, width=0.75 * lw, method="gl"),
        }

    def draw(self) -> None:
        ev = self.event
        markers, lines = self.nodes["vertices"], self.nodes["vertex_lines"]
        if ev is None or ev.vertices.size == 0 or not self.shown:
            self.hide()
            return
        v, projection = ev.vertices, self.options.projection
        timeline = self.timeline
        reach = None if timeline is None else self._reach(timeline)
        index = np.arange(v.size) if reach is None else np.flatnonzero(reach >= 1.0)
        flights, flight_connect = geo.flight_lines(v, projection, reach=reach)
        v = rows(v, index) if reach is not None else v
        pos = geo.project(geo.vertex_positions(v), projection)
        colors = np.array([geo.VERTEX_COLORS.get(int(k), (1, 1, 1, 1)) for k in v["kind"]], np.float32)
        if v.size:
            markers.set_data(
                pos, size=9 * self.options.scale, face_color=colors, edge_color="black", symbol="disc"
            )
        show(markers, v.size > 0)
        self.set_picks(pos, index)
        rings, ring_connect, owner = geo.error_ellipses(v, projection)
        all_pos = np.concatenate([rings, flights])
        if len(all_pos) == 0:
            show(lines, False)
            return
        grey = np.tile(np.array([0.8, 0.8, 0.8, 0.8], np.float32), (len(flights), 1))
        lines.set_data(
            pos=all_pos,
            color=np.concatenate([colors[owner], grey]),
            connect=np.concatenate([ring_connect, flight_connect]),
        )
        show(lines, True)


class McOverlay(Overlay):
    """The generator's final-state particles (MC truth), off until switched on."""

    layer = "mc"
    visible_by_default = False

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        lw = float(self.options.line_width)
        return {"mc": vispy_scene.visuals.Line(parent=parent, width=0.75 * lw, method="gl")}

    def draw(self) -> None:
        ev, line = self.event, self.nodes["mc"]
        if ev is None or ev.mc.size == 0 or not self.shown:
            self.hide()
            return
        lines, _ = geo.mc_polylines(ev.mc, self.options.projection, float(ev.header["bz"][0]))
        if lines.n == 0:
            self.hide()
            return
        line.set_data(pos=lines.pos, color=lines.color, connect=lines.connect)
        show(line, True)


class SelectionOverlay(Overlay):
    """The selected object emphasised: its tracks in the highlight colour, a ring around clusters, hits
    and vertices."""

    listens = ("selection", "growth", "time")

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        lw = float(self.options.line_width)
        nodes = {
            "selected_line": vispy_scene.visuals.Line(parent=parent, width=2.5 * lw, method="gl"),
            "selected_marker": vispy_scene.visuals.Markers(parent=parent),
        }
        return nodes

    def build(self) -> None:
        if self._nodes is None:
            super().build()
            for node in self.nodes.values():
                node.order = 11  # above every other overlay

    def wanted(self) -> bool:
        return self.event is not None and self.scene.selection is not None

    def draw(self) -> None:
        line, marker = self.nodes["selected_line"], self.nodes["selected_marker"]
        show(line, False)
        show(marker, False)
        ev, selection = self.event, self.scene.selection
        if selection is None or ev is None:
            return
        kind, index = selection
        o = self.options
        tracks: list[int] = []
        points = np.zeros((0, 3), np.float32)
        if kind == "track":
            tracks = [index]
        elif kind == "vertex" and 0 <= index < ev.vertices.size:
            tracks = [int(ev.vertices[c][index]) for c in ("track_pos", "track_neg")]
            points = geo.project(geo.vertex_positions(rows(ev.vertices, np.array([index]))), o.projection)
        elif kind == "ecl" and 0 <= index < ev.ecl.size:
            sub = rows(ev.ecl, np.array([index]))
            points = geo.project(geo.ecl_positions(sub), o.projection, sign_of_phi(sub["phi"]))
            tracks = list(np.flatnonzero(ev.tracks["ecl_index"] == index))
        elif kind == "klm" and 0 <= index < ev.klm.size:
            k = ev.klm
            points = geo.project(np.array([[k["x"][index], k["y"][index], k["z"][index]]]), o.projection)
            tracks = list(np.flatnonzero(ev.tracks["klm_index"] == index))
        tracks = [i for i in tracks if 0 <= i < ev.tracks.size]
        if tracks:
            s_end, counts = o.track_shape(ev.tracks)
            timeline, s_start = self.timeline, None
            if timeline is not None:
                s_start, s_end = timeline.track_arcs(self.scene.time or 0.0, s_end)
            lines = geo.track_polylines(
                rows(ev.tracks, np.array(tracks)),
                o.projection,
                np.tile(np.array(o.highlight_color, np.float32), (len(tracks), 1)),
                o.extent,
                self.scene.growth,
                o.n_points,
                s_end[tracks],
                None if counts is None else counts[tracks],
                None if s_start is None else s_start[tracks],
            )
            line.set_data(pos=lines.pos, color=lines.color, connect=lines.connect)
            show(line, True)
        if len(points):
            marker.set_data(
                points,
                size=22 * o.scale,
                face_color=(0, 0, 0, 0),
                edge_color=o.highlight_color,
                edge_width=2.5,
                symbol="ring",
            )
            show(marker, True)


class RecoilOverlay(Overlay):
    """The candidate's recoil: a dashed arrow from the IP, 40 cm per GeV (20 to 150 cm), and its label."""

    layer = "recoil"
    listens = ("recoil",)
    COLOR = RECOIL_COLOR

    def wanted(self) -> bool:
        return self.scene.recoil is not None and self.shown

    def make_visuals(self, parent: Any) -> dict[str, VisualNode]:
        lw = float(self.options.line_width)
        return {
            "recoil": vispy_scene.visuals.Line(parent=parent, width=1.5 * lw, method="gl"),
            "recoil_label": vispy_scene.visuals.Text(
                "", color=self.COLOR, font_size=11, anchor_x="left", anchor_y="bottom", parent=parent
            ),
        }

    def draw(self) -> None:
        recoil: Recoil | None = self.scene.recoil
        if recoil is None or not self.shown:
            self.hide()
            return
        arrow, label = self.nodes["recoil"], self.nodes["recoil_label"]
        length = float(np.clip(40.0 * recoil.momentum, 20.0, 150.0))
        pos, connect, tip = geo.recoil_arrow(recoil.direction, length, self.options.projection)
        arrow.set_data(pos=pos, color=self.COLOR, connect=connect)
        label.text = recoil.label
        label.pos = tip
        show(arrow, True)
        show(label, True)


# The overlays of every event view, in drawing order (later ones draw over earlier ones).
OVERLAYS: dict[str, type[Overlay]] = {
    "tracks": TrackOverlay,
    "ecl": EclOverlay,
    "klm": KlmOverlay,
    "vertices": VertexOverlay,
    "mc": McOverlay,
    "selection": SelectionOverlay,
    "recoil": RecoilOverlay,
}
LAYERS: tuple[str, ...] = tuple(cls.layer for cls in OVERLAYS.values() if cls.layer is not None)


# --- picking --------------------------------------------------------------------------------------


@dataclass
class PickTable:
    """Anchor points (in scene coordinates) of every pickable object, with their (kind, index)."""

    points: np.ndarray = field(default_factory=lambda: NO_POINTS)
    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    index: np.ndarray = field(default_factory=lambda: NO_INDEX)
    kinds: tuple[str, ...] = KINDS

    @classmethod
    def of(cls, overlays: list[Overlay]) -> PickTable:
        """The anchors of every overlay that has some, in the overlays' order."""
        pickable = [o for o in overlays if o.pick_kind is not None and len(o.pick_index)]
        kinds = KINDS + tuple(dict.fromkeys(str(o.pick_kind) for o in pickable if o.pick_kind not in KINDS))
        if not pickable:
            return cls(kinds=kinds)
        return cls(
            points=np.concatenate([o.pick_points for o in pickable]),
            kind=np.concatenate(
                [np.full(len(o.pick_index), kinds.index(str(o.pick_kind)), np.int8) for o in pickable]
            ),
            index=np.concatenate([o.pick_index for o in pickable]),
            kinds=kinds,
        )


def nearest_on_screen(screen: np.ndarray, click: tuple[float, float], radius: float) -> int | None:
    """Row of the screen point nearest to ``click`` within ``radius`` pixels, or None."""
    if len(screen) == 0:
        return None
    d2 = (screen[:, 0] - click[0]) ** 2 + (screen[:, 1] - click[1]) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    i = int(np.argmin(d2))
    return i if d2[i] <= radius * radius else None


# --- helpers --------------------------------------------------------------------------------------


def rows(col: Collection, index: np.ndarray) -> Collection:
    """A one-event collection restricted to some of its rows (keeps the event structure)."""
    index = np.asarray(index, dtype=np.int64)
    return Collection.from_columns(col.name, [len(index)], {k: v[index] for k, v in col.columns.items()})


def sign_of_phi(phi: np.ndarray) -> np.ndarray:
    return np.where(np.sin(np.asarray(phi, dtype=np.float64)) >= 0, 1.0, -1.0)
