"""The SceneCanvas every detector view draws on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vispy import scene


class DetectorCanvas(scene.SceneCanvas):
    """A SceneCanvas that turns depth writes back on before clearing, and runs ``before_draw`` hooks.

    Translucent visuals draw with depth writes off, and GL clears only the depth it may write: without
    this, the depth of the previous frame would survive the clear and hide the whole next frame.
    The hooks run before every paint and every ``render()``: views rebuild stale buffers there, once
    per frame however many controls changed since the last one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.before_draw: list[Callable[[], None]] = []
        super().__init__(*args, **kwargs)

    def _draw_scene(self, bgcolor: Any = None) -> None:
        for hook in self.before_draw:
            hook()
        self.context.set_depth_mask(True)
        super()._draw_scene(bgcolor)
