"""What the command-line passes over many events show on stderr: a progress bar, and the readers'
warnings held back while it is drawn (the commands print them after it)."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from typing import TextIO


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int, unit: str) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        fraction = done / total if total else 1.0
        filled = int(self.width * fraction)
        self.drawn = True
        rate = done / max(now - self.start, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {100 * fraction:5.1f}% "
            f"{done}/{total} {unit} {rate:,.1f} {unit}/s"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


@contextlib.contextmanager
def quiet_readers() -> Iterator[None]:
    """Keep the readers' log warnings off stderr while the progress bar is drawn."""
    logger = logging.getLogger("events")
    previous = logger.propagate
    logger.propagate = False
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous
