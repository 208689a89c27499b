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
