"""The shipped geometry tables: a rebuild from the original basf2 files gives them byte for byte, and
they hold the same detector as the original files (crystal by crystal, layer by layer)."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from geometry import build_assets, cdc, ecl
from geometry.reference import DEFAULT_DATA_DIR, ENV_VAR, FIGURES_FILE
from tests.conftest import SHARED

ORIGINALS = SHARED / "reference" / "geometry"


@pytest.fixture(scope="module")
def originals() -> Path:
    if not ORIGINALS.is_dir():
        pytest.skip(f"the original basf2 files are not beside this checkout ({ORIGINALS})")
    return ORIGINALS


@pytest.fixture(scope="module")
def rebuilt(originals: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rebuilt")
    assert build_assets.main(["--from", str(originals), "--out", str(out)]) == 0
    return out


def test_shipped_tables_equal_a_fresh_rebuild(rebuilt: Path) -> None:
    shipped = sorted(p.name for p in DEFAULT_DATA_DIR.iterdir() if p.suffix in (".json", ".csv"))
    assert shipped == sorted(p.name for p in rebuilt.iterdir())
    for name in shipped:
        assert (DEFAULT_DATA_DIR / name).read_bytes() == (rebuilt / name).read_bytes(), name


def test_rebuild_is_deterministic(originals: Path, rebuilt: Path, tmp_path: Path) -> None:
    assert build_assets.main(["--from", str(originals), "--out", str(tmp_path)]) == 0
    for p in rebuilt.iterdir():
        assert (tmp_path / p.name).read_bytes() == p.read_bytes()


def test_crystals_are_those_of_the_original_files(originals: Path) -> None:
    built = build_assets.ecl_crystals(originals)
    np.testing.assert_allclose(ecl.crystal_centres(), built["centre"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ecl.crystal_axes(), built["axis"], rtol=0, atol=1e-11)
    theta, phi = ecl.crystal_theta_phi()
    np.testing.assert_allclose(theta, built["theta"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.angle(np.exp(1j * (phi - built["phi"]))), 0.0, atol=1e-10)
    # the corners from the built half-widths, drawn at FILL, as the geometry builds them
    centre, axis = built["centre"], built["axis"]
    e_phi = np.stack([-np.sin(built["phi"]), np.cos(built["phi"]), np.zeros(ecl.N_CRYSTALS)], axis=1)
    u = e_phi - np.sum(e_phi * axis, axis=1, keepdims=True) * axis
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axis, u)
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float)
    corners = np.empty((ecl.N_CRYSTALS, 8, 3))
    for end, s in enumerate((-0.5, 0.5)):
        face = centre + s * built["length"][:, None] * axis
        hu, hv = ecl.FILL * built["half_phi"][:, end], ecl.FILL * built["half_theta"][:, end]
        corners[:, 4 * end : 4 * end + 4] = (
            face[:, None]
            + signs[None, :, :1] * (hu[:, None, None] * u[:, None])
            + signs[None, :, 1:] * (hv[:, None, None] * v[:, None])
        )
    np.testing.assert_allclose(ecl.crystal_vertices(), corners, rtol=0, atol=1e-9)


#: cellId: centre, axis, front corner 0 and back corner 2 (index 6) [cm], as the geometry gave them
#: when it still read basf2's placement table itself
BEFORE = {
    1: (
        [48.6050754024172, 3.185744952270182, 208.0],
        [0.22752282397656406, 0.01491263375292592, 0.973658553048388],
        [
            [47.895957866486974, 0.25785148523356916, 192.8047378350128],
            [48.90583132459464, 6.522072400323745, 223.28443178294177],
        ],
    ),
    1153: (
        [136.15734636353562, 3.1850492850589713, 210.1798307141318],
        [0.5545056432803479, 0.024121617050828898, 0.8318302946882259],
        [
            [130.24858451669863, 0.17298147326429042, 196.1734855025657],
            [141.75901099659407, 6.542304820994298, 224.38087988516867],
        ],
    ),
    5329: (
        [140.56190565652798, 3.373926644607778, -2.87903778815646],
        [0.9990745212449413, 0.0430127997879843, -7.32053196043133e-06],
        [
            [125.69010099398666, 0.07311734011373949, -5.361511655101662],
            [155.40641239917105, 7.308895878945287, 0.19599446179298674],
        ],
    ),
    7777: (
        [129.4133815856768, 2.823810031544317, -114.0],
        [0.7502786403758497, 0.01637113817124181, -0.6609190174527774],
        [
            [116.66344207198354, 0.043915956437587465, -105.846984964127],
            [142.44825109838976, 6.086472622145922, -121.81760274407205],
        ],
    ),
    8736: (
        [57.117643210134034, -2.8060098771702906, -114.0],
        [0.4478431188693858, -0.022001121620986018, -0.893841424151264],
        [
            [47.67540158995211, -4.7477179619280445, -101.90157121024797],
            [67.28618907794768, -0.2587205777606556, -125.74943300020385],
        ],
    ),
}


@pytest.mark.parametrize("cell", sorted(BEFORE))
def test_crystals_are_unchanged(cell: int) -> None:
    centre, axis, corners = BEFORE[cell]
    np.testing.assert_allclose(ecl.crystal_centres()[cell - 1], centre, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ecl.crystal_axes()[cell - 1], axis, rtol=0, atol=1e-11)
    np.testing.assert_allclose(ecl.crystal_vertices()[cell - 1][[0, 6]], corners, rtol=0, atol=1e-9)


def test_cdc_layers_are_those_of_the_original_table(originals: Path) -> None:
    with (originals / "cdc_sense_layers.csv").open() as f:
        rows = list(csv.DictReader(f))
    lay = cdc.sense_layers()
    assert len(rows) == len(lay.layer) == 56
    for i, row in enumerate(rows):
        assert lay.layer[i] == int(row["layer"])
        assert lay.superlayer[i] == int(row["superlayer"])
        assert lay.kind[i] == row["type"]
        assert lay.radius[i] == pytest.approx(float(row["radius_mm"]) / 10.0, abs=1e-9)
        assert lay.z_bwd[i] == pytest.approx(float(row["bwd_z_mm"]) / 10.0, abs=1e-9)
        assert lay.z_fwd[i] == pytest.approx(float(row["fwd_z_mm"]) / 10.0, abs=1e-9)
        assert lay.n_wires[i] == int(row["n_wires"]) == int(row["n_holes"]) // 2
        assert lay.n_shift[i] == int(row["n_shift"])
        assert lay.phi_offset[i] == float(row["phi_offset_cells"])
        assert lay.stereo_mrad[i] == pytest.approx(float(row["stereo_angle_mrad"]), abs=0.006)


def test_xml_figures_are_read_from_the_files(originals: Path) -> None:
    """A figure changed in an original XML file changes in the rebuilt table (the XML is the origin)."""
    doc = build_assets.figures_document(originals)
    assert doc["top"]["inner_r"]["value"] == 119.0
    assert doc["arich"]["hapd_ring_r"]["value"][3] == 82.868
    assert doc["svd"]["ladder_phi_layer3"]["value"][0] == 342.195
    assert doc["solenoid"]["coil_r"]["value"] == [178.31, 184.19]
    assert doc["superkekb"]["her_angle"]["value"] == 0.0415
    assert doc["field"]["bz"] == {
        "value": 1.5,
        "unit": "T",
        "source": "MagneticFieldConstant.xml",
        "item": "Component Constant/Z",
    }
    for section in doc.values():
        if isinstance(section, dict) and "sources" not in section:
            for entry in section.values():
                if "source" in entry:
                    assert entry["source"] in doc["sources"]


def test_a_changed_xml_file_changes_the_table(originals: Path, tmp_path: Path) -> None:
    folder = tmp_path / "orig"
    shutil.copytree(originals, folder)
    path = folder / "TOP-Bars.xml"
    path.write_text(path.read_text().replace(">119.0</Radius>", ">120.5</Radius>"))
    assert build_assets.figures_document(folder)["top"]["inner_r"]["value"] == 120.5


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "COIL.xml").unlink(), "original file missing: .*COIL.xml"),
        (lambda d: (d / "ARICH.xml").write_text("<DetectorComponent"), "ARICH.xml: not readable XML"),
        (
            lambda d: (d / "crystal_placement_barrel.dat").write_text("1 2 3\n"),
            "expected 92 rows of 7 columns",
        ),
    ],
)
def test_build_from_damaged_originals_is_one_clear_line(
    originals: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], object],
    message: str,
) -> None:
    folder = tmp_path / "orig"
    shutil.copytree(originals, folder)
    damage(folder)
    out = tmp_path / "out"
    assert build_assets.main(["--from", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err), err
    assert not out.exists()  # nothing half-written


def test_tables_in_another_folder_by_environment(rebuilt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(rebuilt))
    assert ecl.crystals.__wrapped__().centre.shape == (8736, 3)
    assert (rebuilt / FIGURES_FILE).is_file()
