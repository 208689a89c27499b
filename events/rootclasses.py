"""Keep one damaged ROOT file from breaking the ones read after it.

uproot builds classes from the streamers a file carries and keeps them process-wide (in
``uproot.classes`` and each class's ``known_versions``). A damaged file's streamers can register a
broken class (a ``TBranch`` version that cannot read baskets), and every later file, however
good, fails with it. :func:`forget` puts uproot's class registry back as it was when this program
started; the ROOT readers call it whenever a file fails, and uproot rebuilds what a good file needs.
:func:`close` releases a file the readers opened.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import uproot
import uproot.model

_lock = threading.Lock()
_CLASSES: dict[str, Any] = dict(uproot.classes)
_VERSIONS: dict[Any, dict[int, Any]] = {
    cls: dict(getattr(cls, "known_versions", {}))
    for cls in _CLASSES.values()
    if isinstance(cls, type) and issubclass(cls, uproot.model.DispatchByVersion)
}
_UNKNOWN: dict[str, Any] = dict(uproot.unknown_classes)


def forget() -> None:
    """Drop every class uproot made from files' streamers since start (after a file failed)."""
    with _lock:
        for registry, pristine in ((uproot.classes, _CLASSES), (uproot.unknown_classes, _UNKNOWN)):
            for name in [n for n in registry if pristine.get(n) is not registry[n]]:
                del registry[name]
            registry.update(pristine)
        for cls, versions in _VERSIONS.items():
            if cls.known_versions != versions:
                cls.known_versions.clear()
                cls.known_versions.update(versions)


def close(file: Any) -> None:
    """Close an uproot file or directory; ``None`` and already closed ones are fine.

    The ROOT readers call it when a source is closed and when a file they opened is refused."""
    if file is None:
        return
    with contextlib.suppress(Exception):  # a damaged file may fail to close; nothing is left to free
        file.close()
