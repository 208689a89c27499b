"""The one polar angle, against the textbook formula and at the edges, and that no copy came back."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from geometry.angles import polar_angle

ROOT = Path(__file__).resolve().parents[2]


def test_polar_angle_matches_arccos_over_random_vectors() -> None:
    v = np.random.default_rng(7).normal(size=(1000, 3))
    want = np.arccos(v[:, 2] / np.linalg.norm(v, axis=1))
    np.testing.assert_allclose(polar_angle(v), want, rtol=0, atol=1e-12)


def test_polar_angle_edges_shapes_and_scalars() -> None:
    axes = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, -3.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(polar_angle(axes), [0.0, np.pi, np.pi / 2, 0.0], atol=0)
    assert polar_angle(np.zeros((2, 5, 3))).shape == (2, 5)
    assert float(polar_angle((1.0, 1.0, np.sqrt(2.0)))) == np.pi / 4
    # near the pole arccos(z / r) has lost every digit; the angle itself is still exact
    assert float(polar_angle((1e-9, 0.0, 1.0))) == 1e-9


def test_no_other_module_computes_the_polar_angle_itself() -> None:
    copy = re.compile(r"arctan2\(\s*(np\.)?hypot\(|arctan2\(pt,")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for room in ("geometry", "events", "monitoring", "displays", "panels")
        for path in sorted((ROOT / room).rglob("*.py"))
        if path.name != "angles.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if copy.search(line)
    ]
    assert not found, f"use geometry.angles.polar_angle in {found}"
