"""The small-read path of the mdst reader (whole decoded baskets, plain leaves read straight from the
file) against uproot's ``tree.arrays``: the same leaves and the same events, value for value."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from events import mdst
from events.model import EventBatch
from events.source import EventFileError

KEY_OF = {leaf: key for key, leaf in mdst.B.items()}


def _columns(batch: EventBatch) -> dict[str, np.ndarray]:
    out = {f"header.{k}": np.asarray(v) for k, v in batch.header.items()}
    for name, coll in batch.collections().items():
        out[f"{name}.offsets"] = np.asarray(coll.offsets)
        out.update({f"{name}.{k}": np.asarray(v) for k, v in coll.columns.items()})
    return out


def _same_leaves(fast: mdst.Chunk, slow: mdst.Chunk, leaves: list[str]) -> None:
    for leaf in leaves:
        fast_levels, fast_values = fast.leaf(KEY_OF[leaf])
        slow_levels, slow_values = slow.leaf(KEY_OF[leaf])
        assert len(fast_levels) == len(slow_levels), leaf
        for a, b in zip(fast_levels, slow_levels, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=leaf)
        assert (fast_values.dtype, fast_values.shape) == (slow_values.dtype, slow_values.shape), leaf
        np.testing.assert_array_equal(fast_values, slow_values, err_msg=leaf)


def _same_events(fast: EventBatch, slow: EventBatch) -> None:
    a, b = _columns(fast), _columns(slow)
    assert a.keys() == b.keys()
    for key, values in b.items():
        assert a[key].dtype == values.dtype, key
        np.testing.assert_array_equal(a[key], values, err_msg=key)


def test_the_direct_reader_takes_every_leaf_of_the_sample(mdst_sample: Path) -> None:
    source = mdst.MdstSource(mdst_sample)
    baskets = source._baskets()
    assert set(baskets.direct) == set(source.keys)
    assert baskets.direct[mdst.B["TracksToECLClusters.m_to"]].vectors  # a vector per element
    assert mdst.B["ecl_theta"] in baskets.direct  # Double32
    assert mdst.B["tau"] in baskets.direct  # float[5] per object, read as float64
    assert mdst.B["psnm"] in baskets.direct  # flat fixed-size array
    source.close()


@pytest.mark.parametrize("entries", [(i, i + 1) for i in range(10)] + [(0, 10), (3, 7), (9, 10)])
def test_the_fast_path_equals_uproot_on_every_event(mdst_sample: Path, entries: tuple[int, int]) -> None:
    start, stop = entries  # (9, 10): the file's last entry
    source = mdst.MdstSource(mdst_sample)
    fast, slow = source._baskets().chunk(start, stop), source._read_entries(start, stop)
    _same_leaves(fast, slow, source.keys)
    build = (source.bz, start, str(source.path), source.missing)
    _same_events(mdst.build_batch(fast, *build), mdst.build_batch(slow, *build))
    source.close()


def test_reads_through_either_path_give_the_same_batches(
    mdst_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = mdst.MdstSource(mdst_sample)
    fast = [source.read(i, i + 1) for i in (9, 0, 5, 4, 9)]  # out of order, from the cached baskets
    monkeypatch.setattr(mdst, "SMALL_READ", 0)
    slow_source = mdst.MdstSource(mdst_sample)
    for i, batch in zip((9, 0, 5, 4, 9), fast, strict=True):
        _same_events(batch, slow_source.read(i, i + 1))
    assert source.issues == slow_source.issues
    source.trim()  # a data set drops the baskets of files it has not read lately
    assert source._baskets()._cache == {}
    _same_events(source.read(9, 10), fast[0])
    source.close()
    slow_source.close()


def test_leaves_the_direct_reader_does_not_know_come_through_uproot(mdst_sample: Path) -> None:
    source = mdst.MdstSource(mdst_sample)
    baskets = source._baskets()
    for leaf in [leaf for leaf in source.keys if "m_elements" in leaf]:
        del baskets.direct[leaf]  # as for a layout it does not know: one tree.arrays a basket range
    fast, slow = baskets.chunk(2, 5), source._read_entries(2, 5)
    _same_leaves(fast, slow, source.keys)
    source.close()


def test_a_read_across_a_basket_boundary(mdst_sample: Path) -> None:
    # the sample's leaves are one basket each: lay a boundary at entry 4 into the decoded baskets
    # (entries 0:4 basket 0, 4:10 basket 1) and read 2:7 and 3:5 across it
    source = mdst.MdstSource(mdst_sample)
    baskets = source._baskets()
    for leaf in source.keys:
        whole = baskets.basket(leaf, 0)
        baskets.starts[leaf] = np.array([0, 4, 10])
        baskets._cache[(leaf, 0)] = (mdst._slice(whole, 0, 4), 0)
        baskets._cache[(leaf, 1)] = (mdst._slice(whole, 4, 10), 0)
    for start, stop in ((2, 7), (3, 5), (4, 5), (0, 10)):
        fast, slow = baskets.chunk(start, stop), source._read_entries(start, stop)
        _same_leaves(fast, slow, source.keys)
        build = (source.bz, start, str(source.path), source.missing)
        _same_events(mdst.build_batch(fast, *build), mdst.build_batch(slow, *build))
    source.close()


def test_a_damaged_basket_is_one_line_naming_the_file_and_the_leaf(mdst_sample: Path, tmp_path: Path) -> None:
    copy = tmp_path / "damaged.root"
    shutil.copyfile(mdst_sample, copy)
    source = mdst.MdstSource(copy)
    leaf = mdst.B["mc_pdg"]
    seek, size = source._baskets().positions[leaf][0][0], source._baskets().positions[leaf][1][0]
    source.close()
    data = bytearray(copy.read_bytes())
    data[seek + size - 40 : seek + size - 8] = bytes(32)  # inside its compressed payload
    copy.write_bytes(bytes(data))
    source = mdst.MdstSource(copy)
    with pytest.raises(EventFileError) as err:
        source.read(3, 4)
    line = str(err.value)
    assert "damaged.root" in line
    assert "MCParticles.m_pdg" in line
    assert "\n" not in line
    source.close()
    assert len(mdst.MdstSource(mdst_sample).read(3, 4)) == 1  # the intact file still reads


def test_a_relation_basket_with_a_wrong_count_is_refused(mdst_sample: Path) -> None:
    # the real bytes of a relation leaf's basket, inflated, with one element's count made too large
    source = mdst.MdstSource(mdst_sample)
    baskets = source._baskets()
    leaf = mdst.B["TracksToECLClusters.m_to"]
    seek, size = baskets.positions[leaf][0][0], baskets.positions[leaf][1][0]
    key = memoryview(mdst_sample.read_bytes()[seek : seek + size])
    sizes, raw = mdst.rootio._basket_arrays(leaf, key, np.dtype("u1"), True, 10)
    assert sizes is not None
    offsets = mdst.offsets_of(sizes)
    good = mdst._vectors(leaf, raw, offsets, np.dtype(">u4"))
    assert [len(v) for v in np.split(good[1], good[0][1][1:-1])][:5] == [1, 1, 1, 1, 1]
    bad = raw.copy()
    bad[offsets[0] + 6 : offsets[0] + 10] = [0, 0, 1, 0]  # the first element: 256 values
    with pytest.raises(ValueError, match="run past its entry"):
        mdst._vectors(leaf, bad, offsets, np.dtype(">u4"))
    bad = raw.copy()
    bad[offsets[0]] = 0  # no byte-count flag: a layout uproot reads, not this decoder
    with pytest.raises(mdst.rootio.NotDirect):
        mdst._vectors(leaf, bad, offsets, np.dtype(">u4"))
    source.close()
