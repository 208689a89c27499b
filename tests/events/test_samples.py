"""The shipped sample events file: it opens, it holds every labelled signal, a rebuild is identical."""

from __future__ import annotations

import numpy as np
import pytest

from events import candidate, filtering
from events.candidate import Pick
from events.generator import samples
from events.generator.processes import SIGNAL_BY_NAME
from events.io import open_events
from events.model import VertexKind

README = samples.ROOT / "README.md"


@pytest.fixture(scope="module")
def sample():
    assert samples.SAMPLE.exists(), f"{samples.SAMPLE} missing: run `make samples`"
    source = open_events(samples.SAMPLE)
    batch = source.read()
    source.close()
    return batch


def test_the_sample_is_small_and_opens_with_events_io(sample) -> None:
    assert samples.SAMPLE.stat().st_size < 1_000_000
    assert len(sample) == samples.N_EVENTS
    assert sample.header["event"].tolist() == list(range(1, samples.N_EVENTS + 1))
    assert (sample.header["process"] > 0).sum() >= 0.6 * len(sample)  # mostly ordinary physics


@pytest.mark.parametrize("kind", ["zprime", "darkhiggs", "darkphoton", "alp", "llp"])
def test_every_signal_kind_is_found_by_the_browser_filter(sample, kind: str) -> None:
    code = SIGNAL_BY_NAME[kind].code
    found = filtering.select(sample, f"signal == {code}")
    assert len(found) >= 4
    assert (sample.header["process"][found] == 0).all()  # labelled as injected signal
    assert np.isfinite(sample.header["signal_mass"][found]).all()


def test_zprime_candidates_recoil_against_the_injected_mass(sample) -> None:
    found = filtering.select(sample, "signal == 1 and ntracks == 2 and total_charge == 0")
    assert len(found) >= 8
    masses = []
    for i in found:
        event = sample.event(int(i))
        c = candidate.evaluate(event, [Pick("track", 0, 13), Pick("track", 1, 13)])
        masses.append(c.recoil_mass)
    assert np.median(masses) == pytest.approx(3.0, abs=0.05)


def test_single_photon_candidates_have_one_photon_and_nothing_else(sample) -> None:
    found = filtering.select(sample, "signal == 3 and ntracks == 0 and necl == 1")
    assert len(found) >= 8
    e_star = []
    for i in found:
        event = sample.event(int(i))
        c = candidate.evaluate(event, [Pick("ecl", 0, 22)])
        e_star.append(c.e_star)
    # E* = (s - M^2) / (2 sqrt s) = 4.534 GeV for M(A') = 4 GeV, smeared by the ECL resolution
    assert np.median(e_star) == pytest.approx(4.534, abs=0.08)


def test_long_lived_candidates_carry_a_displaced_vertex(sample) -> None:
    found = filtering.select(sample, "signal == 5 and nvertices >= 2")
    assert len(found) >= 4
    v = sample.vertices
    event_of = v.event_index()
    displaced = v["kind"] == VertexKind.DISPLACED
    assert set(event_of[displaced]) <= set(found.tolist())
    radius = np.hypot(v["x"][displaced], v["y"][displaced])
    assert (radius > 0.5).sum() >= 4  # well away from the beam spot (σ 6 µm)


def test_a_rebuild_gives_the_same_events(tmp_path) -> None:
    fresh = tmp_path / samples.SAMPLE.name
    summary = samples.build(fresh, quiet=True)
    assert f"wrote {samples.N_EVENTS} events" in summary
    assert samples.differences(samples.SAMPLE, fresh) == []
    assert samples.main(["--check", "--output", str(samples.SAMPLE)]) == 0


def test_the_check_names_what_differs(tmp_path) -> None:
    import h5py

    changed = tmp_path / "changed.h5"
    changed.write_bytes(samples.SAMPLE.read_bytes())
    with h5py.File(changed, "a") as f:
        f["tracks/d0"][0] += 1.0
    assert samples.differences(samples.SAMPLE, changed) == ["tracks.d0"]
    assert samples.main(["--check", "--output", str(changed)]) == 1


def test_the_readme_tour_quotes_the_sample(sample) -> None:
    """The tour's figures (how many pass, which event, the recoil) are those of the shipped file."""
    text = " ".join(README.read_text().split())
    found = filtering.select(sample, samples.TOUR_FILTER)
    first = sample.event(int(found[0]))
    c = candidate.evaluate(first, [Pick("track", 0, 13), Pick("track", 1, 13)])
    assert "main.py gui assets/samples/dark-sector-sample.h5" in text
    assert f'"{len(found)} of {len(sample)} pass"' in text
    assert f"first Z′ candidate, event {int(first.header['event'][0])}:" in text
    assert f"M_recoil = {c.recoil_mass:.3f} GeV" in text
