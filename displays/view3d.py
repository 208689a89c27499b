"""The 3D detector view: every subdetector in two lit meshes (opaque, translucent) in a turntable camera.

Overlays (tracks, clusters, vertices) parent their visuals to ``view.scene``; ``light_crystals`` and
``set_crystal_colors`` light ECL crystals by cellId, sending only the calorimeter's colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from vispy import scene

from displays.canvas import DetectorCanvas, built_without_cyclic_gc
from displays.parts import CUTAWAYS, Cutaway
from displays.style import BACKGROUND, HER_COLOR, LER_COLOR, CanvasColors
from displays.visuals import N_ECL_CRYSTALS, DetectorMeshes, PartVisual
from events.kinematics import HALF_CROSSING
from geometry.mesh import Part


@dataclass(frozen=True)
class CameraPreset:
    """A turntable pose; the scene's +y is up, so z (the beam) runs across the screen."""

    azimuth: float
    elevation: float
    extent: float  # cm seen across the view
    fov: float = 30.0


CAMERA_PRESETS: dict[str, CameraPreset] = {
    "3d": CameraPreset(azimuth=-40.0, elevation=22.0, extent=820.0),  # from -x, above: the wedge cut faces us
    "side": CameraPreset(azimuth=0.0, elevation=0.0, extent=1000.0),  # z to the right, y up
    "end": CameraPreset(azimuth=90.0, elevation=0.0, extent=900.0),  # from +z: x to the right, y up
}
CAMERA_CENTER = (0.0, 0.0, 40.0)  # cm; the detector is longer forward (the boost side)


def beam_lines(length: float = 420.0) -> tuple[np.ndarray, np.ndarray]:
    """HER (e-) and LER (e+) orbits through the IP, 41.5 mrad each side of z in the x-z plane, in cm."""
    t = np.array([-length, length])
    her = np.stack([t * np.sin(HALF_CROSSING), 0 * t, t * np.cos(HALF_CROSSING)], axis=1)
    ler = np.stack([-t * np.sin(HALF_CROSSING), 0 * t, t * np.cos(HALF_CROSSING)], axis=1)
    return her.astype(np.float32), ler.astype(np.float32)


class DetectorView3D:
    """A SceneCanvas holding the detector; ``.view`` is the ViewBox, ``.parts`` the subdetector adapters."""

    @built_without_cyclic_gc
    def __init__(
        self,
        parts: Sequence[Part],
        *,
        size: tuple[int, int] = (1280, 800),
        app: Any = None,
        show: bool = False,
        preset: str = "3d",
        cutaway: str | Cutaway = "none",
    ) -> None:
        self.canvas = DetectorCanvas(keys=None, size=size, bgcolor=BACKGROUND, app=app, show=show)
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(up="+y", fov=30.0, center=CAMERA_CENTER)
        self.parts: dict[str, PartVisual] = {}
        for part in parts:
            self.parts[part.name] = PartVisual(part, parent=self.view.scene)
        self.meshes = DetectorMeshes([v.mesh for v in self.parts.values()], parent=self.view.scene)
        by_radius = sorted(self.parts.values(), key=lambda p: -max(p.model.outer_radius, p.model.max_abs_z))
        for rank, visual in enumerate(by_radius):
            visual.draw_rank = rank * 2
            visual.on_change = self.meshes.mark_stale
            visual.on_recolor = self.meshes.recolor
            visual.refresh()
        self.canvas.before_draw.append(self.meshes.rebuild)
        her, ler = beam_lines()
        self.beams = scene.visuals.Line(
            np.concatenate([her, ler]),
            color=np.array([HER_COLOR] * 2 + [LER_COLOR] * 2, np.float32),
            connect="segments",
            width=2,
            method="gl",
            parent=self.view.scene,
        )
        self.beams.order = 50
        # on each beam as it comes in: the electrons travel towards +z (the boost), the positrons to -z
        self.beam_labels = [
            scene.visuals.Text(
                text,
                pos=0.7 * end,
                color=color,
                font_size=10,
                anchor_y="bottom",
                bold=True,
                parent=self.view.scene,
            )
            for text, end, color in (("e- 7 GeV", her[0], HER_COLOR), ("e+ 4 GeV", ler[1], LER_COLOR))
        ]
        for label in self.beam_labels:
            label.order = 51
        self.cutaway = Cutaway()
        self.set_cutaway(cutaway)
        self.set_camera_preset(preset)

    def set_canvas_colors(self, colors: CanvasColors) -> None:
        """Follow a theme: the background behind the detector."""
        self.canvas.bgcolor = colors.background
        self.canvas.update()

    # -- subdetectors -------------------------------------------------------------------------
    def part(self, name: str) -> PartVisual:
        try:
            return self.parts[name]
        except KeyError:
            raise KeyError(f"no subdetector {name!r}; known: {', '.join(self.parts)}") from None

    def set_part_visible(self, name: str, visible: bool) -> None:
        self.part(name).set_visible(visible)

    def set_part_opacity(self, name: str, opacity: float) -> None:
        self.part(name).set_opacity(opacity)

    def set_cutaway(self, cutaway: str | Cutaway) -> None:
        """Remove a phi wedge from every subdetector: "none", "wedge", "half" or a ``Cutaway``."""
        if isinstance(cutaway, str):
            if cutaway not in CUTAWAYS:
                raise ValueError(f"unknown cutaway {cutaway!r}; choose one of {', '.join(CUTAWAYS)}")
            cutaway = CUTAWAYS[cutaway]
        self.cutaway = cutaway
        for visual in self.parts.values():
            visual.set_cutaway(cutaway)

    def set_wires_visible(self, visible: bool) -> None:
        for visual in self.parts.values():
            if visual.wires is not None:
                visual.set_wires_visible(visible)

    @property
    def has_wires(self) -> bool:
        return any(v.wires is not None for v in self.parts.values())

    # -- ECL ----------------------------------------------------------------------------------
    def set_crystal_colors(self, cell_ids: np.ndarray, rgba: np.ndarray) -> None:
        """Colour ECL crystals by cellId (1..8736); ``rgba`` is one colour or one per cell, drawn as given."""
        cell_ids = np.asarray(cell_ids, np.int64).ravel()
        bad = (cell_ids < 1) | (cell_ids > N_ECL_CRYSTALS)
        if bad.any():
            raise ValueError(f"ECL cellId {cell_ids[bad][0]} outside 1..{N_ECL_CRYSTALS}")
        self.part("ECL").set_element_colors(cell_ids - 1, rgba)

    def reset_crystal_colors(self) -> None:
        self.part("ECL").reset_element_colors()

    def light_crystals(self, cell_ids: np.ndarray, rgba: np.ndarray) -> None:
        """Only these crystals lit (cellId 1..8736, one colour or one per cell), every other one back to
        the ECL colour; only the calorimeter's colours are sent to the GPU, not the detector mesh."""
        ecl = self.part("ECL")
        cell_ids = np.asarray(cell_ids, np.int64).ravel()
        bad = (cell_ids < 1) | (cell_ids > ecl.model.n_elements)
        if bad.any():
            raise ValueError(f"ECL cellId {cell_ids[bad][0]} outside 1..{ecl.model.n_elements}")
        ecl.light_elements(cell_ids - 1, rgba)

    # -- camera and pictures ------------------------------------------------------------------
    def set_camera_preset(self, name: str) -> None:
        if name not in CAMERA_PRESETS:
            raise ValueError(f"unknown camera preset {name!r}; choose one of {', '.join(CAMERA_PRESETS)}")
        p = CAMERA_PRESETS[name]
        cam = self.view.camera
        cam.fov = p.fov
        cam.azimuth = p.azimuth
        cam.elevation = p.elevation
        cam.center = CAMERA_CENTER if name != "end" else (0.0, 0.0, 0.0)
        cam.distance = None  # derived from the zoom, so the mouse wheel keeps working
        cam.scale_factor = p.extent
        for label in self.beam_labels:  # along the beams both names would sit on the IP
            label.visible = name != "end"
        self.canvas.update()

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Canvas pixel (column, row) of (N, 3) scene points in cm, through the current camera."""
        tr = self.view.scene.node_transform(self.canvas.scene)
        mapped = np.atleast_2d(tr.map(np.asarray(points, float)))
        return mapped[:, :2] / mapped[:, 3:4]

    def render(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The view as an (H, W, 4) uint8 image."""
        return np.asarray(self.canvas.render(size=size, alpha=False))

    def close(self) -> None:
        self.canvas.close()
