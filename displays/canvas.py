"""The SceneCanvas every detector view draws on, and the way every canvas is closed."""

from __future__ import annotations

from typing import Any

from vispy import scene


class DetectorCanvas(scene.SceneCanvas):
    """A SceneCanvas that turns depth writes back on before clearing, and frees its widget on close.

    Translucent visuals draw with depth writes off, and GL clears only the depth it may write: without
    this, the depth of the previous frame would survive the clear and hide the whole next frame.
    """

    def _draw_scene(self, bgcolor: Any = None) -> None:
        self.context.set_depth_mask(True)
        super()._draw_scene(bgcolor)

    def close(self) -> None:
        close_canvas(self)


def close_canvas(canvas: scene.SceneCanvas) -> None:
    """Close ``canvas`` and destroy its Qt widget and GL contexts right now.

    A closed VisPy canvas lives on in reference cycles, so its Qt objects would otherwise be destroyed
    whenever the garbage collector happens to run, possibly in the middle of another canvas's draw.
    Qt's destructor makes the dying widget's context current to free its buffers and then releases it,
    which leaves no GL context current at all: the drawing canvas's next GL calls go nowhere (a new
    shader gets handle 0 and "fails to compile" with an empty log). The widget is gone afterwards, as
    VisPy documents for a closed top-level canvas; later updates of the closed canvas are ignored.
    """
    open_widget = canvas._backend is not None and not canvas._closed
    native: Any = canvas.native if open_widget else None
    scene.SceneCanvas.close(canvas)
    if native is None or not hasattr(native, "deleteLater"):
        return  # closed already, or not a Qt canvas
    from PySide6.QtCore import QCoreApplication, QEvent

    native._vispy_canvas = None  # the backend then ignores calls from the closed canvas (an update)
    # VisPy's Qt backend also holds a context on an offscreen surface, for drawing before it is shown
    helpers = (getattr(native, "_secondary_context", None), getattr(native, "_surface", None))
    for qt_object in (native, *helpers):
        if qt_object is not None:
            qt_object.deleteLater()
            QCoreApplication.sendPostedEvents(qt_object, QEvent.Type.DeferredDelete)
