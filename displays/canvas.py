"""The SceneCanvas every detector view draws on."""

from __future__ import annotations

from typing import Any

from vispy import scene


class DetectorCanvas(scene.SceneCanvas):
    """A SceneCanvas that turns depth writes back on before clearing.

    Translucent visuals draw with depth writes off, and GL clears only the depth it may write: without
    this, the depth of the previous frame would survive the clear and hide the whole next frame.
    """

    def _draw_scene(self, bgcolor: Any = None) -> None:
        self.context.set_depth_mask(True)
        super()._draw_scene(bgcolor)
