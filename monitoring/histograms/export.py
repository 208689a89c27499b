"""Export histograms to ROOT (TH1D/TH2D through uproot) and the per-bin event lists (a TTree).

Layout of a file written by ``write_running``: for each histogram ``NAME`` the run-integrated
``NAME`` (TH1D/TH2D), the sliding window ``NAME_window``, the reference ``NAME_reference`` if
one is set, and the TTree ``NAME_events`` with one entry per linked event: its bin on every axis
(``bin_<axis>``), experiment, run, event, batch ordinal and row in the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import hist
import numpy as np
import uproot
from numpy.typing import ArrayLike, NDArray

from events.model import run_label
from events.outputs import AtomicOutput
from monitoring.histograms.axes import Axis
from monitoring.histograms.running import RunningHistogram


def to_hist(counts: ArrayLike, axes: tuple[Axis, ...], title: str = "") -> hist.Hist:
    """A hist.Hist (double storage, which ROOT's TH1D/TH2D hold exactly up to 2^53)."""
    h = hist.Hist(
        *(a.boost() for a in axes),
        storage=hist.storage.Double(),
        name=title,
    )
    h.view()[...] = np.asarray(counts, dtype=np.float64)
    return h


def write_histograms(
    path: str | Path,
    histograms: Mapping[str, tuple[ArrayLike, tuple[Axis, ...], str]],
    event_lists: Mapping[str, Mapping[str, NDArray]] | None = None,
    inputs: Iterable[str | Path] = (),
) -> None:
    """Write ``{name: (counts, axes, title)}`` as TH1D/TH2D and ``{tree: {branch: array}}`` as TTrees.

    Atomically (``events.outputs``): never over one of ``inputs`` or a file of another kind; a
    failure raises ``OutputError`` and leaves any previous file unchanged.
    """
    with AtomicOutput(path, "root", inputs) as tmp, uproot.recreate(tmp) as f:
        for name, (counts, axes, title) in histograms.items():
            f[name] = to_hist(counts, axes, title)
        for tree, branches in (event_lists or {}).items():
            f.mktree(tree, dict(branches.items()) if branches else {"bin": np.zeros(0, np.int64)})


def event_list(running: RunningHistogram) -> dict[str, NDArray]:
    """Every linked event of every bin as flat columns (bin per axis, then the link fields)."""
    links = running.links
    n_kept = np.minimum(links.filled, links.keep)
    flat = np.repeat(np.arange(len(n_kept)), n_kept)
    records = np.concatenate([links.events(int(b)) for b in np.flatnonzero(n_kept)]) if flat.size else None
    per_axis = np.unravel_index(flat, tuple(a.bins for a in running.axes))
    columns: dict[str, NDArray] = {
        f"bin_{a.name}": idx.astype(np.int32) for a, idx in zip(running.axes, per_axis, strict=True)
    }
    for field in ("experiment", "run", "event", "batch", "row"):
        columns[field] = records[field] if records is not None else np.zeros(0, np.int64)
    return columns


def write_running(path: str | Path, histograms: Iterable[RunningHistogram]) -> None:
    """Save running histograms (run, window, reference) and their per-bin event lists."""
    hists: dict[str, tuple[ArrayLike, tuple[Axis, ...], str]] = {}
    lists = {}
    for running in histograms:
        snap = running.snapshot()
        label = run_label(snap.experiment, snap.run)
        hists[snap.name] = (snap.run_counts, snap.axes, f"{snap.title} ({label})")
        hists[f"{snap.name}_window"] = (
            snap.window_counts,
            snap.axes,
            f"{snap.title} (last {snap.window_batches} batches)",
        )
        if snap.reference is not None:
            hists[f"{snap.name}_reference"] = (snap.reference, snap.axes, f"{snap.title} (reference)")
        lists[f"{snap.name}_events"] = event_list(running)
    write_histograms(path, hists, lists)


def read_counts(path: str | Path, name: str) -> NDArray[np.float64]:
    """The bin contents of histogram ``name`` (without under/overflow)."""
    with uproot.open(path) as f:
        if name not in f:
            raise KeyError(f"{path}: no histogram {name!r} (has {sorted(k.split(';')[0] for k in f)})")
        return np.asarray(f[name].values(), dtype=np.float64)
