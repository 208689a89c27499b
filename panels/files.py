"""Pictures and tables the window saves, all through ``events.outputs``: atomic, checked, one-line errors.

Every function raises ``OutputError`` (an ``OSError`` whose text names the file and the reason);
a failed save leaves any previous file as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtGui import QPixmap

from events.outputs import AtomicOutput, write_text


def save_pixmap(pixmap: QPixmap, path: str | Path) -> Path:
    """A widget's picture (``widget.grab()``) as PNG."""
    out = AtomicOutput(path, "png")
    with out as tmp:
        if not pixmap.save(str(tmp), "PNG"):
            raise OSError("Qt could not write the PNG")
    return out.path


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """An RGB(A) array (a rendered view) as PNG."""
    from displays.event_render import write_png_file

    return write_png_file(path, image[..., :3])


def save_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A table as CSV."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, text.getvalue(), "text")
