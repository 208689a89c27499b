"""The SceneCanvas every detector view draws on, tuned for Mesa's llvmpipe under Qt, and the way every
canvas is closed."""

from __future__ import annotations

import ctypes
import functools
import gc
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from vispy import scene

from displays import glyph_cache
from displays.vispy_compat import check_once, install_caches

P = ParamSpec("P")
R = TypeVar("R")

GL_RGB8 = 0x8051
M_TRIM_THRESHOLD, M_TOP_PAD = -1, -2  # glibc mallopt parameters


@functools.cache
def keep_freed_heap(trim_threshold: int = 256 << 20, top_pad: int = 64 << 20) -> bool:
    """Let glibc keep freed heap memory instead of returning it to the kernel at once.

    llvmpipe bins every frame's triangles into tens of MB of 64 kB blocks and frees them after the
    frame; with glibc's defaults the heap shrinks and grows again each frame, and every page comes
    back zero-filled through a page fault (about 5 ms of a 50 ms frame). Memory stays bounded by the
    largest frame. Returns whether the setting took (glibc only).
    """
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_TRIM_THRESHOLD, trim_threshold) and libc.mallopt(M_TOP_PAD, top_pad))
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector off for a draw.

    Freeing a canvas that was dropped without ``close_canvas`` tears down its GL widget, which switches
    the current GL context: in the middle of another canvas's draw or read-back that draw would go to
    the wrong context (shader errors, a black picture). Garbage waits until the frame is done.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def built_without_cyclic_gc(build: Callable[P, R]) -> Callable[P, R]:
    """Run a constructor with the cyclic garbage collector held off.

    Building a view makes hundreds of thousands of VisPy objects (visuals, transforms, shader
    functions), none of them garbage; the collector ran about 150 times while the main window was
    built, re-examining the survivors each time: a tenth of the CPU from process start to the first
    frame. Afterwards it runs as before.
    """

    @functools.wraps(build)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with no_cyclic_gc():
            return build(*args, **kwargs)

    return run


def _paint_gl(widget: Any) -> None:
    """VisPy's ``paintGL`` without its alpha-channel fix, needless on a texture with no alpha."""
    if widget._vispy_canvas is None:
        return
    widget._vispy_canvas.set_current()
    widget._vispy_canvas.events.draw(region=None)


class DetectorCanvas(scene.SceneCanvas):
    """A SceneCanvas that turns depth writes back on before clearing, and runs ``before_draw`` hooks.

    Translucent visuals draw with depth writes off, and GL clears only the depth it may write: without
    this, the depth of the previous frame would survive the clear and hide the whole next frame.
    The hooks run before every paint and every ``render()``: views rebuild stale buffers there, once
    per frame however many controls changed since the last one. ``close()`` frees the widget at once
    (``close_canvas``).

    In a Qt window the canvas renders into an RGB texture (no alpha channel): Qt composes it as it
    is, window grabs never see through it, and the extra full-screen pass VisPy makes after each
    paint to reset the alpha channel is skipped.
    """

    def __init__(self, *args: Any, show: bool = False, **kwargs: Any) -> None:
        self.before_draw: list[Callable[[], None]] = []
        keep_freed_heap()
        check_once()
        install_caches()
        super().__init__(*args, show=False, **kwargs)
        native = self.native
        if hasattr(native, "setTextureFormat") and hasattr(native, "paintGL"):  # a QOpenGLWidget
            native.setTextureFormat(GL_RGB8)
            native.paintGL = types.MethodType(_paint_gl, native)
        if show:
            self.show()
            self.set_current()  # as VisPy does after showing: the shown widget now has its context

    def _draw_scene(self, bgcolor: Any = None) -> None:
        with no_cyclic_gc():
            for hook in self.before_draw:
                hook()
            self.context.set_depth_mask(True)
            super()._draw_scene(bgcolor)
        glyph_cache.flush()  # glyphs rendered for this paint, kept for the next start

    def render(self, *args: Any, **kwargs: Any) -> Any:
        with no_cyclic_gc():
            return super().render(*args, **kwargs)

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
