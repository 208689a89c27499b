"""A VisPy application that renders without any display attached.

First choice: EGL surfaceless (Mesa llvmpipe, no X at all). If EGL cannot give a context, start a
private Xvfb for this process and render through Qt on it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from typing import Any

from vispy import app as vispy_app


class HeadlessError(RuntimeError):
    """No way to render offscreen on this machine."""


def offscreen_app() -> Any:
    """An ``Application`` whose canvases can ``render()`` with no display: EGL, else Qt on our own Xvfb."""
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    try:
        application = vispy_app.Application("egl")
        _probe(application)
        return application
    except Exception as egl_error:  # any failure of EGL (missing library, no device) means: try Xvfb
        try:
            os.environ["DISPLAY"] = start_xvfb()
            application = vispy_app.Application("pyside6")
            _probe(application)
            return application
        except Exception as x_error:
            raise HeadlessError(
                f"cannot render offscreen: EGL failed ({egl_error}); Xvfb failed ({x_error})"
            ) from x_error


def is_qt(application: Any) -> bool:
    return "qt" in application.backend_name.lower() or "pyside" in application.backend_name.lower()


def _probe(application: Any) -> None:
    from vispy import scene

    from displays.canvas import close_canvas

    canvas = scene.SceneCanvas(size=(8, 8), app=application, show=is_qt(application))
    try:
        canvas.render()
    finally:
        close_canvas(canvas)


def start_xvfb(screen: str = "1920x1080x24") -> str:
    """Start Xvfb on a free display number, stop it when this process exits, return ``":N"``."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise HeadlessError("Xvfb is not installed (Debian package xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [binary, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    atexit.register(proc.terminate)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.terminate()
        raise HeadlessError("Xvfb did not report a display number")
    return f":{number}"
