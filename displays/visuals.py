"""VisPy adapters: one lit mesh visual per subdetector, fed by a ``PartModel``.

The lighting runs per vertex with per-face normals (flat shading, two-sided, so the triangle winding of
the geometry does not matter) and the fragment shader only writes the colour: the cheapest pipeline for
Mesa's llvmpipe, where the frame rate is bound by fragments. Translucent parts draw after the opaque
ones, outermost first, with the depth test on and depth writes off, so an inner detector is never
hidden behind a see-through shell; their silhouettes are a little denser (a Fresnel-like rim), which
keeps the shape of a faint shell readable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from vispy import gloo, scene
from vispy.visuals import Visual

from displays.parts import (
    Cutaway,
    DrawBuffers,
    PartModel,
    both_sides,
    concat_buffers,
    ecl_region_end_crystals,
)
from displays.style import WIRE_COLOR, part_style
from geometry.mesh import Part

N_ECL_CRYSTALS = 8736

_VERTEX = """
attribute vec3 a_position;
attribute vec3 a_normal;
attribute vec4 a_color;
uniform vec3 u_eye;       // viewing direction, from the eye into the scene
uniform vec3 u_key;       // key light direction, from the light onto the surface
uniform float u_ambient;
uniform float u_rim;      // extra opacity at grazing angles (translucent parts)
varying vec4 v_color;

void main() {
    gl_Position = $transform(vec4(a_position, 1.0));
    float head = abs(dot(a_normal, u_eye));
    float key = abs(dot(a_normal, u_key));
    float spec = pow(abs(dot(a_normal, normalize(u_eye + u_key))), 48.0);
    float light = u_ambient + 0.45 * head + 0.40 * key;
    vec3 rgb = a_color.rgb * light + vec3(0.28 * spec);
    float grazing = 1.0 - head;
    float alpha = clamp(a_color.a * (1.0 + u_rim * grazing * grazing), 0.0, 1.0);
    v_color = vec4(rgb, alpha);
}
"""

_FRAGMENT = """
varying vec4 v_color;

void main() {
    gl_FragColor = v_color;
}
"""


class LitMeshVisual(Visual):
    """Un-indexed triangles with per-vertex colour and per-face normals, lit by a camera headlight."""

    def __init__(self) -> None:
        super().__init__(vcode=_VERTEX, fcode=_FRAGMENT)
        self._draw_mode = "triangles"
        self._positions = gloo.VertexBuffer(np.zeros((0, 3), np.float32))
        self._normals = gloo.VertexBuffer(np.zeros((0, 3), np.float32))
        self._colors = gloo.VertexBuffer(np.zeros((0, 4), np.float32))
        self.shared_program["a_position"] = self._positions
        self.shared_program["a_normal"] = self._normals
        self.shared_program["a_color"] = self._colors
        self.shared_program["u_eye"] = (0.0, 0.0, -1.0)
        self.shared_program["u_key"] = (0.3, -0.5, -0.8)
        self.shared_program["u_ambient"] = 0.32
        self.shared_program["u_rim"] = 0.0
        self._n_vertices = 0
        self._bounds: np.ndarray | None = None
        self.data: DrawBuffers | None = None
        self.translucent = False
        self.lights: FrameLights | None = None  # shared by the visuals of one scene, once per frame
        self._lit = (np.zeros(3), np.zeros(3))
        self.set_translucent(False)

    def set_data(self, buffers: DrawBuffers, update: bool = True) -> None:
        """Replace the drawn triangles; the upload happens lazily at the next paint (``update``: ask for
        one; a rebuild run inside a paint does not, that paint draws it).

        When only the colours changed (an opacity slider) only they are sent.
        """
        old, self.data = self.data, buffers
        self._n_vertices = len(buffers.positions)
        self._colors.set_data(np.ascontiguousarray(buffers.colors, np.float32))
        if old is None or not np.array_equal(old.positions, buffers.positions):
            self._positions.set_data(np.ascontiguousarray(buffers.positions, np.float32))
            self._normals.set_data(np.ascontiguousarray(buffers.normals, np.float32))
            pos = buffers.positions
            self._bounds = np.stack([pos.min(axis=0), pos.max(axis=0)], axis=1) if len(pos) else None
        if update:
            self.update()

    def set_colors(self, start: int, colors: np.ndarray) -> None:
        """Recolour the vertices from ``start`` on: only those colours are sent to the GPU."""
        colors = np.ascontiguousarray(colors, np.float32)
        if self.data is None or start < 0 or start + len(colors) > self._n_vertices:
            raise ValueError(f"colours for vertices {start}..{start + len(colors)} of {self._n_vertices}")
        self.data.colors[start : start + len(colors)] = colors
        self._colors.set_subdata(colors, offset=start)
        self.update()

    def set_translucent(self, translucent: bool, cull_back: bool = True) -> None:
        """Opaque triangles write depth; translucent ones blend over them without hiding what lies behind.

        With ``cull_back`` (closed, outward-wound elements) faces turned away from the eye are skipped:
        a see-through shell then blends its near and far walls once each instead of twice. Blending
        leaves the framebuffer's alpha at 1, so the widget stays opaque where translucent parts lie.
        """
        self.translucent = translucent
        self.set_gl_state(
            blend=True,
            blend_func=("src_alpha", "one_minus_src_alpha", "zero", "one"),
            depth_test=True,
            depth_mask=not translucent,
            cull_face="back" if cull_back else False,
        )
        self.shared_program["u_rim"] = 1.2 if translucent else 0.0
        self.update()

    def set_lights(self, eye: np.ndarray, key: np.ndarray) -> None:
        """The light directions (scene coordinates); unchanged ones are not sent again."""
        if np.array_equal(eye, self._lit[0]) and np.array_equal(key, self._lit[1]):
            return
        self._lit = (eye, key)
        self.shared_program["u_eye"] = tuple(float(v) for v in eye)
        self.shared_program["u_key"] = tuple(float(v) for v in key)

    def _prepare_transforms(self, view: Any) -> None:
        view.view_program.vert["transform"] = view.get_transform()

    def _prepare_draw(self, view: Any) -> bool:
        if self._n_vertices == 0:
            return False
        eye, key = self.lights.get(view) if self.lights is not None else camera_lights(view)
        self.set_lights(eye, key)
        return True

    def _compute_bounds(self, axis: int, view: Any) -> tuple[float, float] | None:
        if self._bounds is None:
            return None
        return float(self._bounds[axis, 0]), float(self._bounds[axis, 1])


LitMesh = scene.visuals.create_visual_node(LitMeshVisual)


def camera_lights(view: Any) -> tuple[np.ndarray, np.ndarray]:
    """Viewing direction at the origin and a key light from the upper left, in scene coordinates."""
    tr = view.transforms.get_transform("visual", "document")
    p = np.asarray(tr.map([0.0, 0.0, 0.0, 1.0]), float)
    p = p / p[3]

    def back(offset: tuple[float, float, float]) -> np.ndarray:
        q = np.asarray(tr.imap(p + np.array([*offset, 0.0])), float)
        return q[:3] / q[3]

    origin = back((0.0, 0.0, 0.0))
    eye = _unit(back((0.0, 0.0, 1e-3)) - origin)
    right = _unit(back((1.0, 0.0, 0.0)) - origin)
    down = _unit(back((0.0, 1.0, 0.0)) - origin)  # document y grows downwards
    key = _unit(eye + 0.55 * down + 0.35 * right)
    return eye, key


class FrameLights:
    """``camera_lights`` once per frame for every lit visual of one scene (they share the camera and
    the scene transform): ``reset`` before each paint, ``get`` computes at the first draw after it."""

    def __init__(self) -> None:
        self._lights: tuple[np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        self._lights = None

    def get(self, view: Any) -> tuple[np.ndarray, np.ndarray]:
        if self._lights is None:
            self._lights = camera_lights(view)
        return self._lights


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 and np.isfinite(n) else np.array([0.0, 0.0, -1.0])


class PartLayer:
    """A subdetector's share of the detector meshes: its triangles, whether and when they are drawn."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.visible = True
        self.translucent = False
        self.two_sided = False  # open elements: drawn from both sides although back faces are culled
        self.order = 0  # opaque parts below 100; translucent parts from 100 up, drawn in this order
        self.data: DrawBuffers | None = None


class PartVisual:
    """One subdetector on screen: its layer of the detector meshes, its wires (if any), its display state.

    ``on_change`` (set by the owning view) is called whenever the layer changed, so the merged meshes
    are rebuilt before the next paint; ``on_recolor`` when only its colours did (lit crystals), so the
    merged meshes update just that part of their colour buffer.
    """

    def __init__(self, part: Part, parent: Any = None) -> None:
        style = part_style(part.name, part.color)
        self.label = style.label
        self.model = PartModel(
            part,
            style.color,
            style.opacity,
            shell_lod=style.shell_lod,
            envelope_lod=style.envelope_lod,
            outer_faces_lod=style.outer_faces_lod,
            whole_elements=ecl_region_end_crystals()
            if part.name == "ECL" and part.mesh.n_elements == N_ECL_CRYSTALS
            else None,
        )
        self.default_opacity = style.opacity
        self.mesh = PartLayer(part.name)
        self.on_change: Callable[[PartVisual], None] | None = None
        self.on_recolor: Callable[[PartVisual], None] | None = None  # only the layer's colours changed
        self.wires: Any = None
        self.wires_visible = False
        if self.model.lines is not None:
            self.wires = scene.visuals.Line(
                parent=parent, connect="segments", method="gl", color=WIRE_COLOR, antialias=False
            )
            self.wires.set_gl_state("translucent", depth_test=True, depth_mask=False)
            self.wires.visible = False
        self.draw_rank = 0  # outer parts get a lower rank; translucent parts draw in rank order
        self.refresh()

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def visible(self) -> bool:
        return self.model.visible

    def set_visible(self, visible: bool) -> None:
        self.model.visible = bool(visible)
        self.refresh()

    def set_opacity(self, opacity: float) -> None:
        self.model.set_opacity(opacity)
        self.refresh()

    def set_cutaway(self, cutaway: Cutaway) -> None:
        self.model.cutaway = cutaway
        self.refresh()

    def set_element_colors(self, elements: np.ndarray, rgba: np.ndarray) -> None:
        self.model.set_element_colors(elements, rgba)
        self.recolor()

    def reset_element_colors(self) -> None:
        self.model.reset_element_colors()
        self.recolor()

    def light_elements(self, elements: np.ndarray, rgba: np.ndarray) -> None:
        """Only these elements in their own colours (the others back to the part colour), in one update."""
        self.model.reset_element_colors()
        if len(elements):
            self.model.set_element_colors(elements, rgba)
        self.recolor()

    def _shown(self) -> bool:
        m = self.model
        return bool(m.visible and (m.opacity > 0.0 or m.element_custom.any()))

    def recolor(self) -> None:
        """Push new element colours: the same faces stay drawn, so only their colours are sent
        (``on_recolor``); when the colours decide whether the part is drawn at all, a full refresh."""
        layer = self.mesh
        if self._shown() != layer.visible or self.on_recolor is None:
            self.refresh()
            return
        if not layer.visible or layer.data is None:
            return
        layer.data = replace(layer.data, colors=self.model.face_colors(layer.data.faces))
        self.on_recolor(self)

    def set_wires_visible(self, visible: bool) -> None:
        self.wires_visible = bool(visible)
        self.refresh()

    def refresh(self) -> None:
        """Push the model's state to the layer and the wires (only what is shown is rebuilt)."""
        m, layer = self.model, self.mesh
        shown = self._shown()
        layer.visible = shown
        layer.translucent = m.translucent
        layer.two_sided = not m.closed
        layer.order = (100 + self.draw_rank) if m.translucent else self.draw_rank
        if shown:
            layer.data = m.buffers()
        if self.on_change is not None:
            self.on_change(self)
        if self.wires is not None:
            wires_shown = m.visible and self.wires_visible
            self.wires.visible = wires_shown
            self.wires.order = 200 + self.draw_rank
            if wires_shown:
                segments = m.kept_lines()
                if len(segments):
                    self.wires.set_data(pos=segments.reshape(-1, 3))
                else:
                    self.wires.visible = False


class DetectorMeshes:
    """Every subdetector in two draw calls: the opaque parts (writing depth), then the translucent ones,
    outermost first, each part's triangles in its rank order.

    Few large draws cost llvmpipe and VisPy's per-visual Python far less than one visual per part.
    Back faces are culled in both; open elements are drawn twice, once per winding. A changed layer
    only marks the meshes stale: ``rebuild`` (run just before a paint) concatenates the shown layers.
    """

    def __init__(self, layers: list[PartLayer], parent: Any = None) -> None:
        self.layers = layers
        self.opaque = LitMesh(parent=parent)
        self.opaque.name = "detector (opaque)"
        self.opaque.order = 0
        self.translucent = LitMesh(parent=parent)
        self.translucent.name = "detector (translucent)"
        self.translucent.set_translucent(True)
        self.translucent.order = 100
        self.stale = True
        # where each layer's vertices lie in the merged meshes: node, first vertex, drawn twice
        self.slots: dict[str, tuple[Any, int, bool]] = {}
        self.lights = FrameLights()  # both meshes see the scene through the same camera
        self.opaque.lights = self.lights
        self.translucent.lights = self.lights

    def mark_stale(self, *_: Any) -> None:
        self.stale = True
        self.opaque.update()

    def recolor(self, part: PartVisual) -> None:
        """A layer's new colours (same faces) into its slice of the merged colour buffer."""
        layer = part.mesh
        slot = self.slots.get(layer.name)
        if self.stale or slot is None or layer.data is None:
            self.mark_stale()  # the next rebuild takes the colours with everything else
            return
        node, start, doubled = slot
        colors = layer.data.colors
        node.set_colors(start, np.concatenate([colors, colors]) if doubled else colors)

    def rebuild(self) -> None:
        """Merge the shown layers, once per paint however many changed (run just before drawing)."""
        self.lights.reset()  # the camera may have moved since the last paint
        if not self.stale:
            return
        self.stale = False
        self.slots = {}
        ordered = sorted(self.layers, key=lambda layer: layer.order)
        for node in (self.opaque, self.translucent):
            shown: list[DrawBuffers] = []
            start = 0
            for layer in ordered:
                if not (layer.visible and layer.data is not None and layer.translucent == node.translucent):
                    continue
                buffers = both_sides(layer.data) if layer.two_sided else layer.data
                self.slots[layer.name] = (node, start, layer.two_sided)
                start += len(buffers.positions)
                shown.append(buffers)
            visible = any(b.n_faces for b in shown)
            if node.visible != visible:
                node.visible = visible
            if visible:
                node.set_data(concat_buffers(shown), update=False)  # drawn by the paint under way
