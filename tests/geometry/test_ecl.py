"""ECL crystals: cellId numbering, positions, axes and meshes, against the basf2 ring table where present."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from geometry import ecl
from tests.conftest import SHARED

GEOMETRY_DIR = SHARED / "reference" / "geometry"
CELLS = np.arange(1, ecl.N_CRYSTALS + 1)


@pytest.fixture(scope="module")
def ring_table() -> list[dict[str, str]]:
    path = GEOMETRY_DIR / "ecl_theta_rings.csv"
    if not path.exists():
        pytest.skip(f"original ring table missing (a clone without ../shared): {path}")
    with path.open() as f:
        return list(csv.DictReader(f))


def test_counts_per_region() -> None:
    assert ecl.N_CRYSTALS == 8736 == int(ecl.N_PHI.sum())
    assert ecl.crystals_per_region() == {"forward": 1152, "barrel": 6624, "backward": 960}
    assert np.bincount(ecl.region(CELLS)).tolist() == [1152, 6624, 960]


def test_ring_constants_match_the_shared_table(ring_table: list[dict[str, str]]) -> None:
    assert len(ring_table) == ecl.N_RINGS
    for row in ring_table:
        t = int(row["thetaID"])
        assert ecl.N_PHI[t] == int(row["nPhi"])
        assert ecl.FIRST_CELL[t] == int(row["firstCellId"])
        assert ecl.FIRST_CELL[t] + ecl.N_PHI[t] - 1 == int(row["lastCellId"])
        assert ecl.theta_center_deg()[t] == pytest.approx(float(row["theta_center_deg"]))
        assert ecl.RING_REGION[t] == {"FWD": 0, "BRL": 1, "BWD": 2}[row["region"]]


def test_cell_mapping_against_ring_table(ring_table: list[dict[str, str]]) -> None:
    for row in ring_table:
        t, first, last = int(row["thetaID"]), int(row["firstCellId"]), int(row["lastCellId"])
        assert ecl.cell_to_theta_phi_id(first) == (t, 0)
        assert ecl.cell_to_theta_phi_id(last) == (t, int(row["nPhi"]) - 1)
        assert ecl.theta_phi_id_to_cell(t, 0) == first
    # documented spot values (§7.1)
    assert ecl.theta_phi_id_to_cell(13, 0) == 1153
    assert ecl.theta_phi_id_to_cell(59, 0) == 7777
    assert ecl.cell_to_theta_phi_id(8736) == (68, 63)


def test_cell_mapping_round_trips_and_matches_old_basf2_numbering() -> None:
    theta_id, phi_id = ecl.cell_to_theta_phi_id(CELLS)
    assert np.array_equal(ecl.theta_phi_id_to_cell(theta_id, phi_id), CELLS)
    # ECLGeometryPar::GetCellID (0-based), reference §7.1
    forw_ring = np.array([0, 3, 6, 10, 14, 18, 24, 30, 36, 42, 48, 54, 63])
    back_ring = np.array([0, 9, 18, 24, 30, 36, 42, 48, 52, 56])
    t, p = np.asarray(theta_id), np.asarray(phi_id)
    old = np.where(
        t < 13,
        16 * forw_ring[np.minimum(t, 12)] + p,
        np.where(t < 59, 1152 + 144 * (t - 13) + p, 7776 + 16 * back_ring[np.clip(t - 59, 0, 9)] + p),
    )
    assert np.array_equal(old + 1, CELLS)


@pytest.mark.parametrize("bad", [0, -3, 8737])
def test_bad_cells_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="cellId"):
        ecl.cell_to_theta_phi_id(bad)
    with pytest.raises(ValueError, match="phiID"):
        ecl.theta_phi_id_to_cell(0, 48)


def test_crystal_positions_against_reference_figures() -> None:
    c = ecl.crystal_centres()
    assert c.shape == (8736, 3)
    assert c.dtype == np.float64
    reg = ecl.region(CELLS)
    rho = np.hypot(c[:, 0], c[:, 1])
    # barrel centres at r⊥ ≈ 1362–1406 mm (placement table), endcaps on z = +208 / −114 cm
    assert rho[reg == 1].min() == pytest.approx(136.2, abs=0.1)
    assert rho[reg == 1].max() == pytest.approx(140.6, abs=0.3)
    assert np.allclose(c[reg == 0, 2], 208.0)
    assert np.allclose(c[reg == 2, 2], -114.0)
    theta, phi = ecl.crystal_theta_phi()
    # spot checks of §7.1: cell 1 at 3.77°, cell 97 at 2.83°, cell 1153 at 1.34° in φ
    assert np.degrees(phi[[0, 96, 1152]]) == pytest.approx([3.77, 2.83, 1.34], abs=0.05)
    # every crystal's θ lies inside its ring, φ increases with phiID inside each ring
    t, _ = ecl.cell_to_theta_phi_id(CELLS)
    assert np.all(np.abs(np.degrees(theta) - ecl.theta_center_deg()[t]) < 0.1)
    for ring in (0, 13, 40, 68):
        sl = slice(ecl.FIRST_CELL[ring] - 1, ecl.FIRST_CELL[ring] - 1 + ecl.N_PHI[ring])
        assert np.all(np.diff(phi[sl]) > 0)
    axes = ecl.crystal_axes()
    assert np.allclose(np.linalg.norm(axes, axis=1), 1.0)
    assert np.all(np.sum(axes * c, axis=1) > 0)  # pointing outward


def test_cell_at_every_centre_and_outside_acceptance() -> None:
    theta, phi = ecl.crystal_theta_phi()
    assert np.array_equal(ecl.cell_at(theta, phi), CELLS)
    assert ecl.cell_at(np.radians(10.0), 0.3) == 0
    assert ecl.cell_at(np.radians(160.0), 0.3) == 0
    assert ecl.cell_at(np.radians(90.2), np.radians(1.3)) == 5329  # thetaID 42, phiID 0
    # φ wraps: −0.01 rad is the last crystal of its ring
    assert ecl.cell_at(np.radians(13.18), -0.01) == 48


def test_mesh_is_closed_positive_and_crystals_do_not_overlap() -> None:
    mesh = ecl.crystal_mesh()
    assert np.isfinite(mesh.vertices).all()
    assert mesh.faces.max() < len(mesh.vertices)
    assert mesh.n_elements == 8736
    assert len(mesh.faces) == 12 * 8736
    tri = mesh.vertices.astype(np.float64)[mesh.faces]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    volume = np.bincount(mesh.element, signed, minlength=8736)
    # CsI(Tl) crystals of 30 cm, faces about 5–8 cm wide: 0.8–1.3 litre each
    assert volume.min() > 700.0
    assert volume.max() < 1400.0
    # no two centres coincide: nearest neighbours are several cm apart
    c = ecl.crystal_centres()
    order = np.lexsort((c[:, 1], c[:, 0]))
    assert np.all(np.linalg.norm(np.diff(c[order], axis=0), axis=1) > 1.0)
    # each crystal stays inside its own angular cell: points well inside its corners map back to it
    # (the barrel crystals are tilted ~1-2° off the IP, so their outermost corners lean into the
    # next projective cell by a few mm)
    corners = ecl.crystal_vertices()
    inner = 0.7 * corners + 0.3 * c[:, None, :]
    rho = np.hypot(inner[..., 0], inner[..., 1])
    th = np.arctan2(rho, inner[..., 2])
    ph = np.arctan2(inner[..., 1], inner[..., 0])
    assert np.array_equal(ecl.cell_at(th, ph), np.repeat(CELLS[:, None], 8, axis=1))


def test_shell_mesh_keeps_front_and_back_faces() -> None:
    shell = ecl.crystal_mesh("shell")
    assert len(shell.faces) == 4 * 8736
    assert np.array_equal(np.unique(shell.element), np.arange(8736))
    with pytest.raises(ValueError, match="shell"):
        ecl.crystal_mesh("wire")


def test_barrel_crystals_follow_the_placement_table_tilted_off_the_ip() -> None:
    centres, axes = ecl.crystal_centres(), ecl.crystal_axes()
    barrel = slice(ecl.FIRST_CELL[13] - 1, ecl.FIRST_CELL[59] - 1)
    theta, phi = ecl.crystal_theta_phi()
    axis_phi = np.arctan2(axes[barrel, 1], axes[barrel, 0])
    tilt_phi = np.degrees(np.angle(np.exp(1j * (axis_phi - phi[barrel]))))
    tilt_theta = np.degrees(np.arccos(axes[barrel, 2]) - theta[barrel])
    assert tilt_phi == pytest.approx(1.1, abs=0.1)  # ECL.xml K_phi_TILTED, every crystal alike
    assert np.abs(tilt_theta).max() < 2.5
    assert np.abs(tilt_theta).max() > 1.0  # not projective in θ either
    radial = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    assert np.allclose(axes[: ecl.FIRST_CELL[13] - 1], radial[: ecl.FIRST_CELL[13] - 1])  # endcaps
    # every 5° sector repeats the table's two crystals: each ring has period 2 in phiID
    rho = np.hypot(centres[barrel, 0], centres[barrel, 1]).reshape(46, 144)
    np.testing.assert_allclose(rho[:, 2:], rho[:, :-2], rtol=1e-12)
    assert not np.allclose(rho[:, 1::2], rho[:, ::2])  # the two crystals of a sector differ
