"""The fused per-chunk passes of ``events.columnar`` (the best mu+ mu- pair in one pass over the tracks,
the ECL figures and the hardest photon in one over the clusters, the muon screen) give exactly the
per-event values, on generated events made hard: events without tracks, without clusters, with one
charge only (no pair), with tied muon probabilities and tied photon energies, a NaN photon energy,
missing PID, log-likelihoods at the screen's edge and tracks with a NaN helix that the readers drop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from events import columnar, filtering, io, pid
from events.dataset import open_dataset
from events.file_memo import FileMemo
from events.generator import generate
from events.model import Collection, EventBatch
from events.source import sanitize
from events.summary import QUANTITY_COLUMNS, summarize

N = 700
# the reference's np.maximum.at meets the NaN energy
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _hard_events() -> EventBatch:
    base = generate(N, seed=11)
    t, c = base.tracks, base.ecl
    t_event, c_event = t.event_index(), c.event_index()
    kind = np.arange(N) % 9
    # tracks: none in kind 0; in kind 1 every track positive (no pair possible)
    keep = kind[t_event] != 0
    tracks = {k: v.copy() for k, v in t.columns.items()}
    tracks["charge"][kind[t_event] == 1] = 1
    logl = tracks["pid_logl"]
    first = t.offsets[:-1][t_event]  # each track's event's first track
    tie = kind[t_event] == 2  # every track of the event as muon-like as the first: ties
    logl[tie] = logl[first[tie]]
    tracks["charge"][tie & (np.arange(t.size) % 2 == 0)] = -1
    logl[::23, 3] = np.nan  # missing PID: never a muon
    edge = np.flatnonzero(kind[t_event] == 3)
    logl[edge[0::3]] = [0.0, 0.0, -np.inf, -np.inf, -np.inf, -np.inf]  # L_mu / sum = 0.5 exactly: a muon
    logl[edge[1::3]] = [0.0, -0.0009, -40.0, -40.0, -40.0, -40.0]  # within the screen, no muon
    logl[edge[2::3]] = [0.0, -0.0011, -40.0, -40.0, -40.0, -40.0]  # screened out
    tracks["omega"][5::31] = np.nan  # dropped by the readers (and the best muon may be among them)
    new_tracks = Collection.from_columns(
        "tracks", np.bincount(t_event[keep], minlength=N), {k: v[keep] for k, v in tracks.items()}
    )
    # clusters: none in kind 4; all matched to a track in kind 5; tied and NaN energies in kind 6
    keep_c = kind[c_event] != 4
    ecl = {k: v.copy() for k, v in c.columns.items()}
    ecl["is_track"][kind[c_event] == 5] = True
    six = np.flatnonzero(kind[c_event] == 6)
    ecl["energy"][six] = 1.5
    ecl["hypotheses"][six] = 16
    ecl["is_track"][six] = False
    ecl["energy"][six[::4]] = np.nan
    new_ecl = Collection.from_columns(
        "ecl", np.bincount(c_event[keep_c], minlength=N), {k: v[keep_c] for k, v in ecl.items()}
    )
    vertices = Collection.empty("vertices", N)  # (the vertices' track indices would point at dropped ones)
    return EventBatch(
        base.header, tracks=new_tracks, ecl=new_ecl, klm=base.klm, vertices=vertices, mc=base.mc
    )


@pytest.fixture(scope="module")
def events() -> EventBatch:
    return _hard_events()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _per_event_rows(offsets: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Per event, a plain loop: the first row of the largest score, NaN never chosen over a number;
    -1 where the event has no rows or its best score is -inf."""
    out = np.full(len(offsets) - 1, -1)
    for e in range(len(offsets) - 1):
        rows = range(offsets[e], offsets[e + 1])
        numbers = [r for r in rows if not np.isnan(score[r])]
        if numbers:
            best = max(numbers, key=lambda r: (score[r], -r))
            out[e] = best if score[best] > -np.inf else -1
        elif len(rows):
            out[e] = offsets[e]  # only NaN scores: the first row (NaN sorts last, ties to the first)
    return out


def test_the_muon_pair_and_hardest_photon_are_the_per_event_choices(events: EventBatch) -> None:
    t, c = events.tracks, events.ecl
    kernels = columnar.Kernels(events)
    probability = kernels._muon_probability()
    exact = pid.muon_probability(t["pid_logl"])
    muon = exact >= pid.MUON_PROBABILITY_MIN
    assert _same(probability[muon], exact[muon])  # the screen keeps every muon's own number
    assert not (probability >= pid.MUON_PROBABILITY_MIN)[~muon].any()
    assert muon[np.flatnonzero((t["pid_logl"][:, 1] == 0) & (t["pid_logl"][:, 0] == 0))].all()
    plus, minus = columnar._muon_pair(t.offsets, t["charge"], probability)
    for sign, got in ((1, plus), (-1, minus)):
        score = np.where(muon & (np.sign(t["charge"]) == sign), exact, -np.inf)
        assert np.array_equal(got, _per_event_rows(t.offsets, score))
    assert ((plus >= 0) & (minus >= 0)).sum() > 20  # pairs exist
    neutral = ((c["hypotheses"] & 16) != 0) & ~c["is_track"]
    hardest = kernels._ecl("_hardest")
    reference = _per_event_rows(c.offsets, np.where(neutral, c["energy"].astype(np.float64), -np.inf))
    reference[reference >= 0] = np.where(neutral[reference[reference >= 0]], reference[reference >= 0], -1)
    assert np.array_equal(hardest, reference)
    assert np.array_equal(hardest, filtering.hardest_photon(events))


def test_the_fused_kernels_give_the_per_batch_values_bit_for_bit(events: EventBatch) -> None:
    clean, _, dropped = sanitize(events)
    assert dropped > 5
    names = sorted(filtering.QUANTITIES)
    kernels = columnar.Kernels(clean)
    for name in (*reversed(names), *names):  # any order: the fused passes fill what they share
        assert _same(kernels(name), filtering.QUANTITIES[name][0](clean)), name
    counts = clean.tracks.counts
    values = columnar.quantities(clean, QUANTITY_COLUMNS)
    assert (values["ntracks"][counts == 0] == 0).all()
    assert np.isnan(values["recoil_mass"][(np.arange(N) % 9) <= 1]).all()  # no tracks, one charge
    assert np.isnan(values["photon_cms_energy"][(np.arange(N) % 9) >= 4][:3]).any()


@pytest.mark.parametrize("suffix", [".h5", ".root"])
def test_the_summary_of_the_hard_events_is_the_per_batch_one(
    events: EventBatch, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"hard{suffix}"
    io.write(path, events.chunks(250))
    with open_dataset(path) as data:
        ours = summarize(data, chunk_size=333)
        again = summarize(data, chunk_size=700)  # a second pass: the ntuple's layout already known
    with open_dataset(path) as data:
        reference = summarize(data, chunk_size=333, columnar=False)
    assert any("NaN or infinite helix" in line for line in ours.issues)
    assert ours.issues == reference.issues
    for name, column in reference.columns.items():
        assert _same(ours.columns[name], column), name
        assert _same(again.columns[name], column), name
    assert np.isfinite(ours.columns["recoil_mass"]).sum() > 20
    assert (ours.columns["ntracks"] == 0).sum() >= N // 9


def test_the_layouts_kept_are_bounded(
    events: EventBatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [tmp_path / "a.root", tmp_path / "b.root"]
    for path in paths:
        io.write(path, events.chunks(300))
    with open_dataset(paths) as data:
        reference = summarize(data, columnar=False)
    monkeypatch.setattr(columnar, "_LAYOUTS", FileMemo(max_bytes=1))  # only the file read last is kept
    with open_dataset(paths) as data:
        for _ in range(2):  # the second pass learns the first file's layout again
            ours = summarize(data, chunk_size=500)
            assert len(columnar._LAYOUTS) == 1
            for name, column in reference.columns.items():
                assert _same(ours.columns[name], column), name
