"""The mdst details of one event (``events.mdst_details``) against the raw branches of the sample file
and against physics: probabilities, the MC tree's links and conservation laws, basf2's clone marks."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from events import dump, pid
from events import mdst_details as md
from events.generator import generate
from events.mdst import MdstSource
from events.model import EventBatch
from events.source import EventFileError

N = 10  # events in the sample


@pytest.fixture(scope="module")
def source(mdst_sample: Path) -> MdstSource:
    return MdstSource(mdst_sample)


@pytest.fixture(scope="module")
def batch(source: MdstSource) -> EventBatch:
    return source.read(0, N)


@pytest.fixture(scope="module")
def details(source: MdstSource) -> list[md.EventDetails]:
    return [md.details_for(source, i) for i in range(N)]


@pytest.fixture(scope="module")
def raw(mdst_sample: Path) -> dict[str, ak.Array]:
    leaves = [
        "PIDLikelihoods/PIDLikelihoods.m_logl[6][6]",
        "PIDLikelihoods/PIDLikelihoods.m_detectors.m_bits",
        "TracksToPIDLikelihoods/m_elements/m_elements.m_from",
        "TracksToPIDLikelihoods/m_elements/m_elements.m_to",
        "TracksToMCParticles/m_elements/m_elements.m_from",
        "TracksToMCParticles/m_elements/m_elements.m_weights",
        "Tracks/Tracks.m_trackFitIndices[6]",
        "MCParticles/MCParticles.m_mother",
        "MCParticles/MCParticles.m_seenIn.m_bits",
        "SoftwareTriggerResult/m_results/m_results.first",
        "SoftwareTriggerResult/m_results/m_results.second.first",
        "SoftwareTriggerResult/m_results/m_results.second.second",
        "EventLevelTrackingInfo/m_nCDCHitsNotAssigned",
        "EventLevelTrackingInfo/m_hitPatternCDCInitializer",
        "EventLevelTriggerTimeInfo/m_timeSinceLastInjection",
        "ECLClusters/ECLClusters.m_E9oE21",
        "ECLClusters/ECLClusters.m_secondMoment",
        "ECLClusters/ECLClusters.m_logEnergy",
    ]
    with uproot.open(mdst_sample) as f:
        return f["tree"].arrays(leaves, library="ak", how=dict)


def test_pid_per_detector_is_the_file_matrix_and_sums_to_the_model(
    details: list[md.EventDetails], batch: EventBatch, raw: dict[str, ak.Array]
) -> None:
    n_tracks, seen = 0, set()
    for i, d in enumerate(details):
        assert d.pid is not None
        ev = batch.event(i)
        logl = ak.to_numpy(raw["PIDLikelihoods/PIDLikelihoods.m_logl[6][6]"][i]).reshape(-1, 6, 6)
        bits = ak.to_numpy(raw["PIDLikelihoods/PIDLikelihoods.m_detectors.m_bits"][i])
        frm = ak.to_list(raw["TracksToPIDLikelihoods/m_elements/m_elements.m_from"][i])
        to = ak.to_list(raw["TracksToPIDLikelihoods/m_elements/m_elements.m_to"][i])
        for track, (j,) in zip(frm, to, strict=True):
            p = d.pid[track]
            np.testing.assert_array_equal(p.logl, logl[j])
            assert p.detector_bits == bits[j]
            # rows are detectors (SVD CDC TOP ARICH ECL KLM): only contributing ones are non-zero
            nonzero = {det for det, row in zip(md.PID_DETECTORS, p.logl, strict=True) if row.any()}
            assert nonzero <= set(p.detectors)
            seen |= nonzero
            np.testing.assert_allclose(p.summed, ev.tracks["pid_logl"][track], rtol=1e-6, atol=1e-4)
            assert p.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
            assert p.probabilities[2] == pytest.approx(float(pid.probability(p.summed[None], 2)[0]), rel=1e-9)
            assert p.binary_vs_pion[2] == 0.5
            n_tracks += 1
    assert n_tracks == 105
    assert seen == set(md.PID_DETECTORS)  # every row is some detector's


def test_every_fit_hypothesis_and_the_drawn_one(
    details: list[md.EventDetails], batch: EventBatch, raw: dict[str, ak.Array]
) -> None:
    counts = {h: 0 for h in md.HYPOTHESES}
    pdg_of = dict(zip(md.HYPOTHESES, (11, 13, 211, 321, 2212, 1000010020), strict=True))
    for i, d in enumerate(details):
        assert d.fits is not None
        indices = ak.to_numpy(raw["Tracks/Tracks.m_trackFitIndices[6]"][i])
        ev = batch.event(i)
        for t, fits in d.fits.items():
            assert [f.fit_index for f in fits] == [int(j) for j in indices[t] if j >= 0]
            for f in fits:
                counts[f.hypothesis] += 1
                assert f.pdg == pdg_of[f.hypothesis]
                assert f.ndf is not None
                assert f.ndf > 0
                assert 0 <= (f.p_value or 0) <= 1
            drawn = next(f for f in fits if f.hypothesis == "pi")  # the display draws the pion fit
            assert drawn.helix[2] == pytest.approx(float(ev.tracks["omega"][t]), rel=1e-7)
    assert counts == {"e": 0, "mu": 0, "pi": 105, "K": 96, "p": 85, "d": 0}  # the reference table


def test_the_mc_tree_is_consistent_and_conserves_four_momentum(
    details: list[md.EventDetails], batch: EventBatch, raw: dict[str, ak.Array]
) -> None:
    decays = balanced = 0
    for i, d in enumerate(details):
        assert d.mc is not None
        mothers = ak.to_numpy(raw["MCParticles/MCParticles.m_mother"][i]) - 1
        assert [p.mother for p in d.mc] == mothers.tolist() == batch.event(i).mc["mother"].tolist()
        seen = ak.to_numpy(raw["MCParticles/MCParticles.m_seenIn.m_bits"][i])
        assert [p.seen_in_bits for p in d.mc] == seen.tolist()
        for p in d.mc:
            for j in p.daughters:
                assert d.mc[j].mother == p.index  # a daughter's mother is the particle listing it
            if p.mother >= 0:
                assert p.index in d.mc[p.mother].daughters
            kids = [d.mc[j] for j in p.daughters]
            # generator decays (every daughter primary): the daughters start where the mother decays
            if (
                kids
                and all(k.status is not None and k.status & 1 for k in kids)
                and p.status
                and p.status & 1
            ):
                for k in kids:
                    assert k.production_vertex is not None
                    assert p.decay_vertex is not None
                    np.testing.assert_allclose(k.production_vertex, p.decay_vertex, atol=1e-4)
                energy = sum(k.energy or 0 for k in kids)
                balanced += abs(energy - (p.energy or 0)) < 1e-4 * (p.energy or 1)
                decays += 1
    assert decays == 178
    assert balanced == 131  # the others: see docs/detector.md §11.1 (EvtGen's bookkeeping, as stored)
    first = details[0].mc
    assert first is not None
    assert first[0].pdg == 300553
    assert first[0].mother == -1
    assert first[0].daughters == [1, 2]
    assert {md.particle_name(first[j].pdg) for j in first[0].daughters} == {"B+", "B-"}
    assert first[0].status_names == ("primary",)
    assert md.detector_names(0x2 | 0x4 | 0x20) == ("SVD", "CDC", "ECL")


def test_negative_track_weights_are_the_clones(
    details: list[md.EventDetails], batch: EventBatch, raw: dict[str, ak.Array]
) -> None:
    weights = raw["TracksToMCParticles/m_elements/m_elements.m_weights"]
    negative = int(ak.sum(ak.flatten(weights, axis=None) < 0))
    assert negative == 4  # in the sample file
    clones = [x for d in details for x in d.mc_links or () if x.clone]
    assert len(clones) == negative
    assert all(x.kind == "track" and x.weight < 0 for x in clones)
    for i, d in enumerate(details):
        ev = batch.event(i)
        links = d.mc_links or []
        assert sum(x.kind == "track" for x in links) == len(ak.flatten(weights[i]))
        for kind, col in (("ecl", ev.ecl), ("klm", ev.klm)):
            for index in range(col.size):  # the model's best match is the link with the highest weight
                mine = [x for x in links if x.kind == kind and x.index == index]
                best = max(mine, key=lambda x: x.weight).mc if mine else -1
                assert int(col["mc_index"][index]) == best


def test_hlt_results_and_event_level_objects_are_the_files(
    details: list[md.EventDetails], raw: dict[str, ak.Array]
) -> None:
    for i, d in enumerate(details):
        assert d.hlt is not None
        names = ak.to_list(raw["SoftwareTriggerResult/m_results/m_results.first"][i])
        assert [h.identifier for h in d.hlt] == names
        assert len(names) == 99
        assert [h.prescaled for h in d.hlt] == ak.to_list(
            raw["SoftwareTriggerResult/m_results/m_results.second.first"][i]
        )
        assert [h.non_prescaled for h in d.hlt] == ak.to_list(
            raw["SoftwareTriggerResult/m_results/m_results.second.second"][i]
        )
        tracking = dict(d.event_info["EventLevelTrackingInfo"])
        assert tracking["m_nCDCHitsNotAssigned"] == raw["EventLevelTrackingInfo/m_nCDCHitsNotAssigned"][i]
        pattern = int(raw["EventLevelTrackingInfo/m_hitPatternCDCInitializer"][i])
        assert tracking["CDC segments not in tracks"] == pattern >> 56
        assert tracking["tracking flags"] == "none"
        timing = dict(d.event_info["EventLevelTriggerTimeInfo"])
        assert timing["m_timeSinceLastInjection"] == md.NO_INJECTION  # simulation: no injection
        assert timing["trigger timing"].startswith("not valid")
        assert dict(d.event_info["TRGSummary"])["L1 timing source"] == "none"  # m_timType 15
    h = md.HltResult("software_trigger_cut&skim&accept_hadron", 1, 0)
    assert h.accepted
    assert h.words() == "accept (before prescale: no result)"


def test_cluster_shapes_are_the_files_at_the_models_cluster(
    details: list[md.EventDetails], batch: EventBatch, raw: dict[str, ak.Array]
) -> None:
    for i, d in enumerate(details):
        ev = batch.event(i)
        assert len(d.ecl_rows) == ev.ecl.size
        e921 = ak.to_numpy(raw["ECLClusters/ECLClusters.m_E9oE21"][i])
        second = ak.to_numpy(raw["ECLClusters/ECLClusters.m_secondMoment"][i])
        for index in range(ev.ecl.size):
            m = d.ecl_members(index)
            row = int(d.ecl_rows[index])
            assert m["m_E9oE21"] == e921[row]
            assert m["m_secondMoment"] == second[row]
            assert np.exp(m["m_logEnergy"]) == pytest.approx(float(ev.ecl["energy"][index]), rel=1e-6)
            assert 0 <= m["m_E1oE9"] <= 1 + 1e-6
            assert 0 <= m["m_E9oE21"] <= 1 + 1e-6
        assert d.member_rows("Tracks", 0)["m_trackFitIndices"][2] >= 0  # every member, also unused ones
        assert "m_trackFitResultIndexPositive" in d.member_rows("V0s", 0) or not d.members.get("V0s")


def _trimmed_copy(source: MdstSource, out: Path, rename: dict[str, str], drop: tuple[str, ...]) -> Path:
    """Two entries of the sample's detail leaves written with uproot, some branches dropped and some
    leaves renamed: what an mdst of another class version looks like to the reader."""
    tree = source.tree
    keys = [k for k in md.reader_for(tree, str(source.path))._wanted() if not k.startswith(drop)]
    keys = [k for k in keys if not k.endswith(("m_flagBlock", "m_parentLfn"))]
    arrays = tree.arrays(keys, entry_stop=2, library="ak", how=dict)
    with uproot.recreate(out) as f:  # dimensions out of the names: uproot reads "[6]" as a pattern
        f["tree"] = {re.sub(r"(\[\d+\])+$", "", rename.get(k, k)): v for k, v in arrays.items()}
    return out


def test_a_missing_branch_is_not_in_this_file_and_a_renamed_leaf_one_line(
    source: MdstSource, details: list[md.EventDetails], tmp_path: Path
) -> None:
    path = _trimmed_copy(
        source,
        tmp_path / "other-version.root",
        rename={"MCParticles/MCParticles.m_mother": "MCParticles/MCParticles.m_motherIndex",
                "TrackFitResults/TrackFitResults.m_pdg": "TrackFitResults/TrackFitResults.m_pdgCode"},
        drop=("SoftwareTriggerResult", "EventLevel"),
    )  # fmt: skip
    with uproot.open(path) as f:
        reader = md.MdstDetails(f["tree"], str(path))
        d = reader.read(1)
        with pytest.raises(EventFileError, match="out of range"):
            reader.read(5)
    assert d.hlt is None
    assert d.note("hlt") == "not in this file (no SoftwareTriggerResult branch)"
    assert "EventLevelTrackingInfo" not in d.event_info
    assert "TRGSummary" in d.event_info
    assert d.mc is None
    assert d.fits is None
    assert len(d.issues) == 2
    for line, leaf in zip(sorted(d.issues), ("MCParticles.m_mother", "TrackFitResults.m_pdg"), strict=True):
        assert line.startswith(f"{path}: ")
        assert f"no leaf {leaf} " in line
        assert "\n" not in line
    assert d.note("mc") == next(line for line in d.issues if "MCParticles" in line)
    assert d.pid is not None
    assert d.mc_links is not None
    full = details[1]
    assert full.pid is not None
    assert d.pid.keys() == full.pid.keys()
    assert all(np.array_equal(d.pid[t].logl, full.pid[t].logl) for t in d.pid)
    assert d.ecl_members(0) == full.ecl_members(0)


def test_non_mdst_sources_say_not_available_and_keep_the_generators_truth() -> None:
    event = generate(3, seed=4).event(1)
    d = md.details_for(object(), 0, event)
    assert not d.available
    assert d.note("pid").startswith("not available: ")
    assert d.note("hlt") == d.note("pid")
    assert d.mc_origin == "generator truth"
    assert d.mc is not None
    assert len(d.mc) == event.mc.size
    for p in d.mc:
        assert all(d.mc[j].mother == p.index for j in p.daughters)


def test_dump_details_prints_the_sections(mdst_sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    dump.add_arguments(parser)
    assert dump.run(parser.parse_args([str(mdst_sample), "--event", "1", "--details", "--indent", "0"])) == 0
    d = json.loads(capsys.readouterr().out)["details"]
    assert d["available"]
    assert d["notes"] == {}
    assert d["issues"] == []
    assert len(d["pid"]) == 13
    assert all(sum(p["probability"].values()) == pytest.approx(1) for p in d["pid"])
    assert set(d["pid"][0]["logl"]) == set(md.PID_DETECTORS)
    assert len(d["hlt"]) == 99
    assert {h["result"].split()[0] for h in d["hlt"]} <= {"accept", "reject", "no"}
    assert len(d["mc_tree"]) == 79
    assert d["mc_tree"][0]["status_names"] == ["primary"]
    assert sum(x["clone"] for x in d["mc_links"]) == sum(
        x["weight"] < 0 for x in d["mc_links"] if x["kind"] == "track"
    )
    assert len(d["ecl_members"]) == 28
    assert "m_zernikeMVA" in d["ecl_members"][0]
    assert "time since injection [us]" not in d["event_info"]["EventLevelTriggerTimeInfo"]  # invalid in MC


def test_the_reader_names_a_required_leaf_a_class_version_renamed(source: MdstSource) -> None:
    from events.mdst import REQUIRED, renamed_leaves

    keys = set(source.tree.keys())
    renamed = (keys - {"Tracks/Tracks.m_trackFitIndices[6]"}) | {"Tracks/Tracks.m_fitIndices[6]"}
    assert renamed_leaves(renamed, {"tracks"}) == [
        "Tracks has no leaf Tracks.m_trackFitIndices[6] (renamed or dropped in this class version)"
    ]
    no_branch = {k for k in keys if not k.startswith("ECLClusters/")}  # a whole branch away: no such line
    assert renamed_leaves(no_branch, {"ecl"}) == []
    assert set(REQUIRED) == {"tracks", "ecl", "klm", "vertices", "mc"}
