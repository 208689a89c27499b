"""A self-contained event view: a SceneCanvas, one ViewBox with its camera, a reference outline
and the event overlay. Used by batch rendering, the outreach screen, benchmarks and tests; the
application's detector views host the same ``EventVisuals`` in their own ViewBoxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vispy import scene

from displays import event_geometry as geo
from displays.canvas import close_canvas
from displays.event_geometry import Projection
from displays.event_visuals import EventVisuals, add_energy_legend
from displays.style import BACKGROUND
from geometry import beampipe
from geometry import cdc as cdc_geometry
from geometry import ecl as ecl_geometry

OUTLINE = (0.45, 0.48, 0.55, 0.8)
# radii [cm] from the geometry tables: beam pipe, CDC inner and outer wall, ECL barrel inner face
# and (one crystal length further out) its outer face
CDC_INNER_R = float(cdc_geometry.walls().inner[0])
ECL_OUTER_R = geo.ECL_INNER.r + ecl_geometry.inner_surface().crystal_length
OUTLINE_RADII = (
    beampipe.beampipe().vacuum_r,
    CDC_INNER_R,
    geo.CDC_OUTER_WALL.r,
    geo.ECL_INNER.r,
    ECL_OUTER_R,
)


def outline_segments(mode: Projection, n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Detector reference lines (CDC and ECL boundaries) as one (pos, connect) pair."""
    t = np.linspace(0.0, 2 * np.pi, n)
    strips: list[np.ndarray] = []
    if mode == "rphi":
        strips = [np.stack([r * np.cos(t), r * np.sin(t), 0 * t], axis=-1) for r in OUTLINE_RADII]
    elif mode == "rz":
        cdc, ecl = geo.CDC_OUTER_WALL, geo.ECL_INNER
        for s in (1.0, -1.0):
            for (z0, z1), (r0, r1) in (
                ((cdc.z_min, cdc.z_max), (CDC_INNER_R, cdc.r)),
                ((ecl.z_min, ecl.z_max), (ecl.r, ECL_OUTER_R)),
            ):
                strips.append(
                    np.array(
                        [[z0, s * r0, 0], [z1, s * r0, 0], [z1, s * r1, 0], [z0, s * r1, 0], [z0, s * r0, 0]]
                    )
                )
        strips.append(np.array([[-300.0, 0, 0], [300.0, 0, 0]]))
    else:
        for r, z0, z1 in (
            (geo.CDC_OUTER_WALL.r, geo.CDC_OUTER_WALL.z_min, geo.CDC_OUTER_WALL.z_max),
            (geo.ECL_INNER.r, geo.ECL_INNER.z_min, geo.ECL_INNER.z_max),
        ):
            for z in (z0, z1):
                strips.append(np.stack([r * np.cos(t), r * np.sin(t), np.full(n, z)], axis=-1))
            for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
                strips.append(
                    np.array([[r * np.cos(a), r * np.sin(a), z0], [r * np.cos(a), r * np.sin(a), z1]])
                )
        strips.append(np.array([[0, 0, -150.0], [0, 0, 250.0]]))
    pos = np.concatenate(strips).astype(np.float32)
    connect = np.concatenate([np.arange(len(s)) < len(s) - 1 for s in strips])
    return pos, connect


# The detector behind an event: see-through enough that tracks and lit crystals stand out
EVENT_OPACITIES = {
    "BEAMPIPE": 0.6,
    "PXD": 0.5,
    "SVD": 0.35,
    "CDC": 0.08,
    "TOP": 0.08,
    "ARICH": 0.08,
    "ECL": 0.1,
    "COIL": 0.06,
    "BKLM": 0.05,
    "EKLM": 0.05,
}
EVENT_CAMERA_EXTENT = 470.0  # cm across the view: the calorimeter fills the picture
EVENT_CAMERA_CENTER = (0.0, 0.0, 20.0)


def apply_event_look(detector: Any, frame: bool = True) -> None:
    """Make a ``DetectorView3D`` a backdrop for events: fainter shells and, with ``frame``, a camera
    that frames the calorimeter rather than the whole iron yoke."""
    for name, opacity in EVENT_OPACITIES.items():
        if name in detector.parts:
            detector.set_part_opacity(name, opacity)
    if frame:
        camera = detector.view.camera
        camera.center = EVENT_CAMERA_CENTER
        camera.scale_factor = EVENT_CAMERA_EXTENT


class EventView:
    """One canvas showing one projection of the event, with an optional ECL energy legend."""

    def __init__(
        self,
        projection: Projection = "3d",
        size: tuple[int, int] = (800, 600),
        show: bool = False,
        legend: bool = True,
        outline: bool = True,
        **visual_options: object,
    ) -> None:
        self.projection = projection
        self.canvas = scene.SceneCanvas(size=size, show=show, bgcolor=BACKGROUND, keys=None)
        self.view = self.canvas.central_widget.add_view()
        if projection == "3d":
            self.view.camera = scene.TurntableCamera(fov=40.0, elevation=20.0, azimuth=-60.0, distance=520.0)
        else:
            self.view.camera = scene.PanZoomCamera(aspect=1.0)
            rect = (-170, -170, 340, 340) if projection == "rphi" else (-150, -170, 400, 340)
            self.view.camera.rect = rect
        self.outline = None
        if outline:
            pos, connect = outline_segments(projection)
            self.outline = scene.visuals.Line(pos=pos, connect=connect, color=OUTLINE, parent=self.view.scene)
        self.visuals = EventVisuals(self.view, projection, **visual_options)  # type: ignore[arg-type]
        self.legend = add_energy_legend(self.canvas, pos=(40, size[1] / 2)) if legend else None

    def render(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """RGBA image (h, w, 4) of the view, at the canvas size or ``size``."""
        return np.asarray(self.canvas.render(size=size, alpha=False))

    def close(self) -> None:
        close_canvas(self.canvas)
