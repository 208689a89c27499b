"""The columnar event model: building, slicing, taking and concatenating batches."""

from __future__ import annotations

import numpy as np
import pytest

from events.model import Collection, EventBatch, SchemaError


def _batch() -> EventBatch:
    tracks = Collection.from_columns("tracks", [2, 0, 3], {"d0": np.arange(5.0), "charge": [1, -1, 1, 1, -1]})
    return EventBatch.build(3, {"event": [10, 11, 12]}, tracks=tracks)


def test_build_fills_missing_columns_with_defaults() -> None:
    b = _batch()
    assert len(b) == 3
    assert b.ecl.size == 0
    assert len(b.ecl) == 3
    assert np.isnan(b.tracks["omega"]).all()
    assert b.tracks["cov"].shape == (5, 15)
    assert (b.header["process"] == -1).all()


def test_event_slice_and_take_keep_objects_with_their_events() -> None:
    b = _batch()
    e2 = b.event(2)
    assert e2.header["event"].tolist() == [12]
    assert e2.tracks["d0"].tolist() == [2.0, 3.0, 4.0]
    t = b.take(np.array([2, 0]))
    assert t.tracks.counts.tolist() == [3, 2]
    assert t.tracks["d0"].tolist() == [2.0, 3.0, 4.0, 0.0, 1.0]
    assert EventBatch.concat([b, b]).tracks.size == 10


def test_schema_errors_are_clear() -> None:
    with pytest.raises(SchemaError, match="unknown columns"):
        Collection.from_columns("tracks", [1], {"bogus": [1.0]})
    with pytest.raises(SchemaError, match="shape"):
        Collection.from_columns("tracks", [2], {"d0": [1.0]})
    with pytest.raises(IndexError):
        _batch().event(3)


def test_one_event_id_format_for_text_and_for_file_names() -> None:
    from events.model import event_file_stem, event_label, run_label

    header = {"experiment": [26, 26, 7], "run": [1234, 99, 5], "event": [42, 7, 123456789]}
    batch = EventBatch.build(3, header=header)
    assert batch.event_id(0) == (26, 1234, 42)
    assert batch.event_label(0) == event_label(26, 1234, 42) == "exp 26 run 1234 event 42"
    assert run_label(26, 1234) == "exp 26 run 1234"
    assert batch.event_file_stem(2) == event_file_stem(7, 5, 123456789) == "e0007_r00005_ev123456789"
    stems = [batch.event_file_stem(i) for i in range(len(batch))]
    ids = [batch.event_id(i) for i in range(len(batch))]
    assert [ids[i] for i in sorted(range(3), key=stems.__getitem__)] == sorted(ids)  # names sort as IDs do
    assert event_label(np.int64(0), np.int32(0), np.int64(1)) == "exp 0 run 0 event 1"
