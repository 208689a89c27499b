"""A VisPy canvas that draws straight into a native window (``QOpenGLWindow``), for full-screen shows.

VisPy's Qt canvas is a ``QOpenGLWidget``: it renders into a framebuffer object that Qt then composes,
as a textured quad, with the rest of the window into the window's own buffer before the swap. On a
GPU that costs nothing; on Mesa's llvmpipe, at 1920x1080, that composition is two more full-screen
passes of the rasterizer every frame, about as much as the whole detector. A ``QOpenGLWindow`` draws
into the window's back buffer directly and swaps it itself: the same pixels, one pass fewer.

``window_app()`` is the PySide6 VisPy application whose canvases are such windows; a host widget
embeds one with ``QWidget.createWindowContainer(canvas.native)``. Key presses the canvas does not
want go to ``key_target`` (the show's window, whose presenter keys they are). What such a window
cannot do is carry translucent Qt widgets over it, nor be seen by a widget grab: the show draws its
labels over the picture into the picture (``panels.outreach.LabelOverlay``) and grabs the picture
with ``canvas.render()``.
"""

from __future__ import annotations

import copy
import functools
import types
from typing import Any

from PySide6 import QtCore, QtGui
from PySide6.QtOpenGL import QOpenGLWindow
from vispy import app as vispy_app
from vispy.app.backends import (  # _pyside6 first: it chooses PySide6, and _qt refuses to load alone
    _pyside6,  # noqa: F401
    _qt,
)


class WindowCanvasBackend(_qt.QtBaseCanvasBackend, QOpenGLWindow):
    """VisPy's Qt canvas backend on a ``QOpenGLWindow`` instead of a ``QOpenGLWidget``."""

    key_target: QtCore.QObject | None = None  # where key presses go (the host widget)

    def _init_specific(self, p: Any, kwargs: dict[str, Any]) -> None:
        glformat = _qt._set_config(p.context.config)
        glformat.setSwapInterval(1 if p.vsync else 0)
        p.context.shared.add_ref("qt", self)
        QOpenGLWindow.__init__(self, QOpenGLWindow.UpdateBehavior.NoPartialUpdate)
        self.setFormat(glformat)
        self._initialized = True

    # QWidget calls the base backend makes, in their QWindow form
    def setMouseTracking(self, enable: bool) -> None:  # a QWindow always gets mouse moves
        pass

    def setWindowTitle(self, title: str) -> None:
        self.setTitle(title)

    def setFixedSize(self, size: QtCore.QSize) -> None:
        self.setMinimumSize(size)
        self.setMaximumSize(size)

    def sizeHint(self) -> QtCore.QSize:
        return self.size()

    def _vispy_close(self) -> None:
        self.close()
        if self.context() is not None:
            self.doneCurrent()

    def _vispy_set_current(self) -> None:
        if self._vispy_canvas is not None and self.isValid():
            self.makeCurrent()

    def _vispy_swap_buffers(self) -> None:
        pass  # a QOpenGLWindow swaps its buffers itself after paintGL

    def _vispy_get_fb_bind_location(self) -> int:
        return int(self.defaultFramebufferObject())

    def initializeGL(self) -> None:
        if self._vispy_canvas is not None:
            self._vispy_canvas.events.initialize()

    def resizeGL(self, w: int, h: int) -> None:
        if self._vispy_canvas is None:
            return
        ratio = self.devicePixelRatio()
        pw, ph = int(w * ratio), int(h * ratio)
        self._vispy_set_physical_size(pw, ph)
        self._vispy_canvas.events.resize(size=(self.width(), self.height()), physical_size=(pw, ph))

    def paintGL(self) -> None:
        if self._vispy_canvas is None:
            return
        self._vispy_canvas.set_current()
        self._vispy_canvas.events.draw(region=None)

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:
        super().keyPressEvent(ev)
        self._forward(ev)

    def keyReleaseEvent(self, ev: QtGui.QKeyEvent) -> None:
        super().keyReleaseEvent(ev)
        self._forward(ev)

    def _forward(self, ev: QtGui.QKeyEvent) -> None:
        if self.key_target is not None:
            clone = QtGui.QKeyEvent(ev.type(), ev.key(), ev.modifiers(), ev.text(), ev.isAutoRepeat())
            QtCore.QCoreApplication.sendEvent(self.key_target, clone)


@functools.cache
def window_app() -> vispy_app.Application:
    """The PySide6 VisPy application (the same Qt application) whose canvases are native GL windows."""
    base = vispy_app.use_app("pyside6")
    app = copy.copy(base)  # the same backend application, another canvas class
    module = types.ModuleType("vispy.app.backends._pyside6_window")
    module.__dict__.update(vars(base.backend_module))
    module.CanvasBackend = WindowCanvasBackend  # type: ignore[attr-defined]
    app._backend_module = module
    return app
