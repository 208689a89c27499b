"""The θ-φ map's cells: one per crystal, tiling each ring, covering exactly the three regions."""

from __future__ import annotations

import numpy as np

from geometry import ecl
from geometry.ecl_map import cell_in_map, cell_rectangles, region_solid_angles


def test_one_cell_per_crystal_inside_the_regions() -> None:
    c = cell_rectangles()
    assert len(c.phi_lo) == ecl.N_CRYSTALS == 8736
    assert np.all(c.phi_hi > c.phi_lo)
    assert np.all(c.theta_hi > c.theta_lo)
    assert c.phi_lo.min() == 0.0
    assert np.isclose(c.phi_hi.max(), 2 * np.pi)
    limits = np.radians(ecl.region_theta_deg())[ecl.RING_REGION[ecl.RING_OF_CELL]]
    assert np.all(c.theta_lo >= limits[:, 0] - 1e-12)
    assert np.all(c.theta_hi <= limits[:, 1] + 1e-12)
    assert not c.phi_lo.flags.writeable


def test_cells_tile_their_ring_and_rings_never_overlap() -> None:
    c = cell_rectangles()
    for ring in range(ecl.N_RINGS):
        rows = np.arange(ecl.FIRST_CELL[ring], ecl.FIRST_CELL[ring] + ecl.N_PHI[ring]) - 1
        assert len(set(c.theta_lo[rows])) == 1
        assert len(set(c.theta_hi[rows])) == 1
        np.testing.assert_allclose(c.phi_lo[rows[1:]], c.phi_hi[rows[:-1]])  # edge to edge in φ
        np.testing.assert_allclose(c.phi_hi[rows] - c.phi_lo[rows], 2 * np.pi / ecl.N_PHI[ring])
    first = ecl.FIRST_CELL - 1
    lo, hi = c.theta_lo[first], c.theta_hi[first]
    assert np.all(hi[:-1] <= lo[1:])  # ring after ring, never overlapping
    gaps = np.degrees(lo[1:] - hi[:-1])
    # only the two real gaps between the regions: 31.4°–32.2° and 128.7°–130.7°
    assert np.flatnonzero(gaps > 1e-9).tolist() == [12, 58]
    np.testing.assert_allclose(gaps[[12, 58]], [0.8, 2.0], atol=1e-9)


def test_cells_cover_exactly_the_solid_angle_of_the_three_regions() -> None:
    omega = cell_rectangles().solid_angle()
    per_region = np.bincount(ecl.RING_REGION[ecl.RING_OF_CELL], weights=omega, minlength=3)
    np.testing.assert_allclose(per_region, region_solid_angles(), rtol=1e-12)
    assert 0.9 * 4 * np.pi < omega.sum() < 4 * np.pi  # the calorimeter sees about 91 % of 4π


def test_every_crystal_centre_lies_in_its_own_cell() -> None:
    c = cell_rectangles()
    theta, phi = ecl.crystal_theta_phi()
    cells = np.arange(1, ecl.N_CRYSTALS + 1)
    np.testing.assert_array_equal(cell_in_map(phi, theta), cells)
    np.testing.assert_array_equal(cell_in_map(c.phi_mid, c.theta_mid), cells)
    np.testing.assert_array_equal(ecl.cell_at(c.theta_mid, c.phi_mid), cells)  # agrees with the detector


def test_gaps_and_outside_hold_no_cell() -> None:
    gap_fwd, gap_bwd = np.radians(31.8), np.radians(129.7)
    assert cell_in_map(1.0, gap_fwd) == 0
    assert cell_in_map(1.0, gap_bwd) == 0
    assert cell_in_map(1.0, np.radians(5.0)) == 0
    assert cell_in_map(1.0, np.radians(170.0)) == 0
    assert cell_in_map(-0.001, np.radians(90.0)) == cell_in_map(2 * np.pi - 0.001, np.radians(90.0))
    assert isinstance(cell_in_map(0.1, 1.0), int)
