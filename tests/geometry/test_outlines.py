"""r-phi and r-z outlines: every subdetector drawn, at the radii of the reference figures."""

from __future__ import annotations

import numpy as np
import pytest

from geometry.detector import PART_NAMES
from geometry.outlines import outlines


@pytest.mark.parametrize("view", ["rphi", "rz"])
def test_every_subdetector_has_finite_segments(view: str) -> None:
    out = outlines(view)
    assert list(out) == list(PART_NAMES)
    for name, segments in out.items():
        assert segments.ndim == 3, name
        assert segments.shape[1:] == (2, 2), name
        assert len(segments) > 0, name
        assert np.isfinite(segments).all(), name
        # no degenerate segments
        assert np.all(np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1) > 0), name


def _radii(segments: np.ndarray) -> np.ndarray:
    return np.hypot(segments[..., 0], segments[..., 1])


def _closest_approach(segments: np.ndarray) -> float:
    """Smallest distance of any segment from the origin (the beam axis in r-phi)."""
    a, d = segments[:, 0], segments[:, 1] - segments[:, 0]
    t = np.clip(-np.sum(a * d, axis=1) / np.sum(d * d, axis=1), 0.0, 1.0)
    return float(np.hypot(*(a + t[:, None] * d).T).min())


def test_rphi_radii() -> None:
    out = outlines("rphi")
    assert _radii(out["CDC"]).min() == pytest.approx(16.25, abs=0.01)
    assert _radii(out["CDC"]).max() == pytest.approx(112.76, abs=0.01)
    assert _closest_approach(out["TOP"]) == pytest.approx(119.0, abs=0.01)  # flat bars at 119 cm
    assert _closest_approach(out["BKLM"]) == pytest.approx(201.9, abs=0.01)  # octagon apothem
    # ECL barrel cross-section: crystal front faces at ≈ 125.6 cm (1251.6 + 4 mm), 144 crystals
    assert _radii(out["ECL"]).min() == pytest.approx(125.6, abs=0.3)
    assert len(out["ECL"]) == 4 * 144
    # KLM octagons: 15 layers × inner and outer + the yoke outline, 16 segments each
    assert len(out["BKLM"]) == (2 * 15 + 1) * 16
    assert _radii(out["BKLM"]).max() == pytest.approx(353.5 / np.cos(np.pi / 8), rel=1e-6)
    assert len(out["PXD"]) == 4 * 20
    assert len(out["SVD"]) == 4 * 45


def test_rz_is_mirrored_and_in_place() -> None:
    out = outlines("rz")
    for name, segments in out.items():
        r = segments[..., 1]
        assert (r > 0).any(), name
        assert (r < 0).any(), name
    ecl = out["ECL"]
    assert ecl[..., 0].max() < 230.0
    assert ecl[..., 0].min() > -135.0
    coil = out["COIL"]
    assert coil[..., 0].min() == pytest.approx(47.0 - 220.5)
    assert np.abs(coil[..., 1]).max() == pytest.approx(200.0)


def test_unknown_view_is_refused() -> None:
    with pytest.raises(ValueError, match="projection"):
        outlines("xz")
