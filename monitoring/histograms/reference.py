"""Reference histograms from a file the shifter chooses: our own export or any ROOT file with TH1/TH2s.

A file written by ``monitoring.histograms.export.write_running`` (or ``main.py histogram``) holds each
histogram under its name (``zprime_recoil_mass``, ...): the run it saved is the reference. Any other
ROOT file is searched for a TH1/TH2 of that name at any depth, as basf2's reference files keep theirs
under ``ref/<detector>/<run type or "default">/``. A histogram is taken only when its binning is the
definition's (same number of bins and the same edges); its contents must be finite and not negative.

``load_references`` never raises for a bad file: a file that cannot be read at all is one
:class:`ReferenceFileError` line naming it; a histogram that is missing or does not match is one note
naming the file and the histogram, and the others are still used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from monitoring.histograms.definitions import HistogramDefinition


class ReferenceFileError(ValueError):
    """A reference file that cannot be used at all; the text names the file and the problem."""


@dataclass
class References:
    """What one file gave: counts per histogram name, and a note per histogram it could not give."""

    path: Path
    counts: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"file {self.path.name}"


def _candidates(keys: Iterable[str], name: str) -> list[str]:
    """Keys of the file holding ``name``: the top-level one first, then any directory's."""
    plain = sorted({k.split(";")[0] for k in keys})
    return [k for k in plain if k == name] + [k for k in plain if k.endswith("/" + name)]


def _check(path: Path, definition: HistogramDefinition, obj: object) -> NDArray[np.float64] | str:
    """The object's bin contents if it fits ``definition``, else why not."""
    axes = definition.axes
    try:
        values = np.asarray(obj.values(flow=False), dtype=np.float64)  # type: ignore[attr-defined]
        edges = [np.asarray(obj.axis(i).edges(flow=False)) for i in range(len(axes))]  # type: ignore[attr-defined]
    except Exception as exc:  # not a histogram, or not of this dimension
        return f"{type(obj).__name__} is not a {len(axes)}D histogram ({exc})"
    if values.shape != tuple(a.bins for a in axes):
        return f"has {values.shape} bins, expected {tuple(a.bins for a in axes)}"
    for axis, got in zip(axes, edges, strict=True):
        if not np.allclose(got, axis.edges, rtol=0, atol=1e-9 * max(1.0, abs(axis.hi - axis.lo))):
            return f"axis {axis.name}: edges {got[0]:g} .. {got[-1]:g}, expected {axis.lo:g} .. {axis.hi:g}"
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        return "has negative or non-finite bin contents"
    if values.sum() <= 0:
        return "is empty"
    return values


def load_references(path: str | Path, definitions: Iterable[HistogramDefinition]) -> References:
    """The references in ``path`` for each of ``definitions`` (see the module's docstring)."""
    import uproot

    path = Path(path)
    if not path.is_file():
        raise ReferenceFileError(f"{path}: no such reference file")
    try:
        file = uproot.open(path)
    except Exception as exc:  # not ROOT, truncated, unreadable: one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReferenceFileError(f"{path}: not a readable ROOT file ({first})") from None
    found = References(path)
    with file:
        try:
            keys = list(file.keys(recursive=True))
        except Exception as exc:
            raise ReferenceFileError(f"{path}: its directory cannot be read ({type(exc).__name__})") from None
        for definition in definitions:
            name = definition.name
            keys_for = _candidates(keys, name)
            if not keys_for:
                found.notes.append(f"{path}: no histogram {name!r}")
                continue
            try:
                result = _check(path, definition, file[keys_for[0]])
            except Exception as exc:  # a damaged object inside a readable file
                result = f"cannot be read ({type(exc).__name__})"
            if isinstance(result, str):
                found.notes.append(f"{path}: {keys_for[0]} {result}")
            else:
                found.counts[name] = result
    if not found.counts:
        why = "; ".join(n.removeprefix(f"{path}: ") for n in found.notes)
        raise ReferenceFileError(f"{path}: no usable reference ({why})")
    return found
