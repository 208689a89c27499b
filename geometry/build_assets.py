"""Maintainer command: rebuild the detector tables of assets/geometry/ from the original basf2 files.

    python -m geometry.build_assets --from DIR [--out assets/geometry]

DIR holds the original files (basf2 XML, the ECL barrel placement table, the CDC sense-layer and
ECL ring tables; their origins are in assets/geometry/SOURCES.md). Figures from basf2 files that
are not in DIR are transcribed once, below (``TRANSCRIBED``), each with its file. The output is
deterministic (fixed float formatting), so a rebuild from the same files is byte-identical.

Writes ``figures.json`` (every figure, keyed by subdetector, with unit and origin),
``ecl_crystals.csv`` (the 8736 crystals) and ``cdc_sense_layers.csv`` (the 56 sense layers).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from geometry import ecl
from geometry.reference import DEFAULT_DATA_DIR, FIGURES_FILE
from geometry.shapes import directions

CRYSTALS_FILE = "ecl_crystals.csv"
CDC_FILE = "cdc_sense_layers.csv"
PLACEMENT_FILE = "crystal_placement_barrel.dat"
RINGS_FILE = "ecl_theta_rings.csv"
CDC_SOURCE_FILE = "cdc_sense_layers.csv"
LICENCE = "LGPL-3.0"
TO_CM = {"mm": 0.1, "cm": 1.0, "m": 100.0, "um": 1e-4, "nm": 1e-7}

#: every origin: name -> (path in belle2/basf2, commit, how it is used)
SOURCES: dict[str, tuple[str, str, str]] = {
    "SuperKEKB.xml": ("geometry/data/SuperKEKB.xml", "cc694553", "read"),
    "MagneticFieldConstant.xml": ("geometry/data/MagneticFieldConstant.xml", "bb5014a2", "read"),
    "COIL.xml": ("structure/data/COIL.xml", "1472458f", "read"),
    "PXD.xml": ("pxd/data/PXD.xml", "8e468792", "read"),
    "SVD.xml": ("svd/data/SVD.xml", "15c39726", "read"),
    "TOP-Bars.xml": ("top/data/TOP-Bars.xml", "0e44f977", "read"),
    "ARICH.xml": ("arich/data/ARICH.xml", "d1af44d4", "read"),
    "ARICH-Detectors.xml": ("arich/data/ARICH-Detectors.xml", "8e468792", "read"),
    PLACEMENT_FILE: ("ecl/data/crystal_placement_barrel.dat", "3e83b8fc", "read"),
    CDC_SOURCE_FILE: ("cdc/data/CDC.xml", "4719119c", "read (a table derived from CDC.xml)"),
    RINGS_FILE: (
        "ecl/calibration/examples/muonPairAlignment/e1ProfilePlots.C",
        "ef87a61f",
        "read (a table derived from m_crystalsPerRing, thetaIDCenter[] and ECLCluster.cc region limits)",
    ),
    "BeamPipe.xml": ("ir/data/BeamPipe.xml", "723f82d4", "transcribed"),
    "PXD-Components.xml": ("pxd/data/PXD-Components.xml", "8e468792", "transcribed"),
    "SVD-Components.xml": ("svd/data/SVD-Components.xml", "fc4f4fe8", "transcribed"),
    "CDC.xml": ("cdc/data/CDC.xml", "4719119c", "transcribed"),
    "ARICH-Aerogel.xml": ("arich/data/ARICH-Aerogel.xml", "60beb625", "transcribed"),
    "ARICH-SupportStructure.xml": ("arich/data/ARICH-SupportStructure.xml", "c71ba558", "transcribed"),
    "ECL.xml": ("ecl/data/ECL.xml", "57d56ab3", "transcribed"),
    "e1ProfilePlots.C": (
        "ecl/calibration/examples/muonPairAlignment/e1ProfilePlots.C",
        "ef87a61f",
        "transcribed",
    ),
    "BKLM.xml": ("bklm/data/BKLM.xml", "6cc088c5", "transcribed"),
    "EKLM.xml": ("eklm/data/EKLM.xml", "d84a578b", "transcribed"),
    "TransformData.cc": ("klm/eklm/geometry/src/TransformData.cc", "04e0800b", "transcribed (a formula)"),
}
ORIGINAL_FILES = tuple(name for name, (_, _, use) in SOURCES.items() if use.startswith("read"))


class BuildError(RuntimeError):
    """An original file is missing or not what the build expects (the message names it)."""


def _clean(x: float) -> float:
    """A float with 12 significant digits, so unit conversions print as the figure (82.868, not …01)."""
    return float(f"{x:.12g}")


def figure(
    value: float | list[float], unit: str, source: str, item: str, note: str | None = None
) -> dict[str, Any]:
    """One entry of figures.json."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source}")
    tidy: Callable[[float], float | int] = (lambda v: round(v)) if unit == "count" else _clean
    clean = [tidy(v) for v in value] if isinstance(value, list) else tidy(value)
    out: dict[str, Any] = {"value": clean, "unit": unit, "source": source, "item": item}
    if note:
        out["note"] = note
    return out


# ---------------------------------------------------------------- figures of basf2 files outside DIR

TRANSCRIBED: dict[str, dict[str, dict[str, Any]]] = {
    "beampipe": {
        "inner_be_r": figure([1.0, 1.06], "cm", "BeamPipe.xml", "Lv2InBe R1, R2"),
        "inner_be_z": figure(
            [-3.7, 5.9],
            "cm",
            "BeamPipe.xml",
            "Lv2InBe L1, L2",
            "L1 read as the backward, L2 the forward extent",
        ),
        "outer_be_r": figure([1.16, 1.20], "cm", "BeamPipe.xml", "Lv2OutBe R1, R2"),
        "outer_be_z": figure([-2.9, 5.1], "cm", "BeamPipe.xml", "Lv2OutBe L1, L2"),
        "ta_forward_z": figure(
            13.65, "cm", "BeamPipe.xml", "Lv1TaFwd D1", "read as the start distance from the IP"
        ),
        "ta_backward_z": figure(-9.15, "cm", "BeamPipe.xml", "Lv1TaBwd D1"),
        "vacuum_r": figure(1.0, "cm", "BeamPipe.xml", "Lv2Vacuum R1"),
    },
    "pxd": {
        "radius_layer1": figure(1.421, "cm", "PXD-Components.xml", "layer 1 sensor centre radius"),
        "radius_layer2": figure(2.179, "cm", "PXD-Components.xml", "layer 2 sensor centre radius"),
        "shift_layer1": figure(0.35, "cm", "PXD-Components.xml", "windmill shift in r-phi"),
        "shift_layer2": figure(0.35, "cm", "PXD-Components.xml", "windmill shift in r-phi"),
        "sensor_z_layer1": figure([4.8013, -2.0013], "cm", "PXD-Components.xml", "sensor centres along z"),
        "sensor_z_layer2": figure([6.1513, -2.3513], "cm", "PXD-Components.xml", "sensor centres along z"),
        "sensor_width_layer1": figure(1.54, "cm", "PXD-Components.xml", "sensor width (r-phi)"),
        "sensor_width_layer2": figure(1.54, "cm", "PXD-Components.xml", "sensor width (r-phi)"),
        "sensor_length_layer1": figure(6.7975, "cm", "PXD-Components.xml", "sensor length (z)"),
        "sensor_length_layer2": figure(8.4975, "cm", "PXD-Components.xml", "sensor length (z)"),
        "sensor_thickness_layer1": figure(0.0525, "cm", "PXD-Components.xml", "sensor thickness"),
        "sensor_thickness_layer2": figure(0.0525, "cm", "PXD-Components.xml", "sensor thickness"),
    },
    "svd": {
        **{
            f"radius_layer{k}": figure(r, "cm", "SVD-Components.xml", f"layer {k} sensor centre radius")
            for k, r in ((3, 3.899), (4, 8.0), (5, 10.4), (6, 13.515))
        },
        **{
            f"shift_layer{k}": figure(s, "cm", "SVD-Components.xml", "windmill shift in r-phi")
            for k, s in ((3, -0.468), (4, -1.078), (5, -1.1036), (6, -1.9076))
        },
        **{
            f"sensor_z_layer{k}": figure(
                z, "cm", "SVD-Components.xml", "sensor centres along z, forward first"
            )
            for k, z in (
                (3, [9.235, -3.265]),
                (4, [14.904, 2.476, -10.024]),
                (5, [23.375, 11.056, -1.444, -13.944]),
                (6, [30.347, 18.206, 5.706, -6.794, -19.294]),
            )
        },
        **{
            f"sensor_width_layer{k}": figure(w, "cm", "SVD-Components.xml", "sensor width (r-phi)")
            for k, w in ((3, 4.043), (4, 5.96), (5, 5.96), (6, 5.96))
        },
        **{
            f"sensor_length_layer{k}": figure(12.488, "cm", "SVD-Components.xml", "sensor length (z)")
            for k in (3, 4, 5, 6)
        },
        **{
            f"sensor_thickness_layer{k}": figure(0.032, "cm", "SVD-Components.xml", "sensor thickness")
            for k in (3, 4, 5, 6)
        },
        **{
            f"slant_deg_layer{k}": figure(a, "deg", "SVD-Components.xml", "tilt of the forward sensor")
            for k, a in ((4, 11.9), (5, 16.0), (6, 21.1))
        },
        **{
            f"slant_radius_layer{k}": figure(
                r, "cm", "SVD-Components.xml", "radius of the slanted sensor centre"
            )
            for k, r in ((4, 6.689), (5, 8.65), (6, 11.21))
        },
        "slant_widths": figure(
            [6.063, 4.102], "cm", "SVD-Components.xml", "trapezoid width, backward and forward edge"
        ),
        "slant_length": figure(12.558, "cm", "SVD-Components.xml", "trapezoid length"),
        "slant_thickness": figure(0.030, "cm", "SVD-Components.xml", "trapezoid thickness"),
    },
    "cdc": {
        "inner_wall_r": figure(
            [16.25, 16.311], "cm", "CDC.xml", "InnerWalls: CFRP from 162.5 mm, Al shield to 163.11 mm"
        ),
        "outer_wall_r": figure([112.05, 112.76], "cm", "CDC.xml", "OuterWalls"),
        "volume_z": figure([-100.0, 165.5], "cm", "CDC.xml", "MomVol z range"),
        "global_phi_rotation": figure(
            0.0,
            "rad",
            "CDC.xml",
            "GlobalPhiRotation",
            "nominal value unverified; 0 expected for the standard detector",
        ),
    },
    "arich": {
        "aerogel_offset_z": figure(0.1, "cm", "ARICH-Aerogel.xml", "aerogel start, from the envelope start"),
        "aerogel_thickness": figure(
            [1.96, 1.97], "cm", "ARICH-Aerogel.xml", "the two layers (n = 1.045, 1.055)"
        ),
        "aerogel_ring_walls": figure(
            [44.0, 61.35, 78.6, 95.95, 111.0], "cm", "ARICH-Aerogel.xml", "radii of the tile ring walls"
        ),
        "aerogel_slots": figure([22, 28, 34, 40], "count", "ARICH-Aerogel.xml", "tiles per ring"),
        "support_tube_r_inner": figure(
            [42.0, 42.7, 113.9, 42.8, 111.45, 111.75, 43.5],
            "cm",
            "ARICH-SupportStructure.xml",
            "Tubes 1-7 innerR",
            "InnerCylinder1, InnerCylinder2, OutterCover, AerogelSupportRing1-3, NeutronShield1",
        ),
        "support_tube_r_outer": figure(
            [42.7, 43.5, 114.0, 43.5, 111.75, 113.9, 52.0],
            "cm",
            "ARICH-SupportStructure.xml",
            "Tubes 1-7 outerR",
        ),
        "support_tube_length": figure(
            [27.8, 26.7, 24.5, 1.0, 5.05, 2.2, 16.5], "cm", "ARICH-SupportStructure.xml", "Tubes 1-7 length"
        ),
        "support_tube_z": figure(
            [0.1, 1.2, 2.95, 0.1, 0.1, 2.95, 7.1],
            "cm",
            "ARICH-SupportStructure.xml",
            "Tubes 1-7 zPosition",
            "start of each tube, from the envelope start",
        ),
    },
    "ecl": {
        "crystal_length": figure(30.0, "cm", "ECL.xml", "2 x k_Crystall_HalfLength"),
        "barrel_inner_r": figure(
            125.16, "cm", "crystal_placement_barrel.dat", "R=1251.6+4: nominal barrel inner radius"
        ),
        "forward_front_z": figure(196.0, "cm", "ECL.xml", "k_ForwZnear: forward endcap front face"),
        "backward_front_z": figure(-102.02, "cm", "ECL.xml", "-k_backZnear: backward endcap front face"),
        "barrel_sectors": figure(72, "count", "ECL.xml", "k_barrel_Nblock: 5 degree sectors of 2 crystals"),
        "forward_centre_z": figure(
            208.0, "cm", "e1ProfilePlots.C", "reference plane of forward crystal centres"
        ),
        "backward_centre_z": figure(
            -114.0, "cm", "e1ProfilePlots.C", "reference plane of backward crystal centres"
        ),
    },
    "bklm": {
        "offset_z": figure(47.0, "cm", "BKLM.xml", "OffsetZ"),
        "half_length": figure(230.0, "cm", "BKLM.xml", "HalfLength"),
        "first_vertex_phi": figure(-22.5, "deg", "BKLM.xml", "Phi: first vertex of the octagon"),
        "sides": figure(8, "count", "BKLM.xml", "sectors"),
        "layers": figure(15, "count", "BKLM.xml", "layers 1-2 scintillator, 3-15 RPC"),
        "inner_r": figure(201.9, "cm", "BKLM.xml", "Layers/InnerRadius: first gap"),
        "outer_r": figure(353.5, "cm", "BKLM.xml", "outer radius (apothem)"),
        "gap": figure(4.4, "cm", "BKLM.xml", "gap of layers 2-15"),
        "gap_layer1": figure(4.1, "cm", "BKLM.xml", "gap of layer 1"),
        "iron": figure(4.7, "cm", "BKLM.xml", "iron between gaps"),
    },
    "eklm": {
        "solenoid_z": figure(47.0, "cm", "EKLM.xml", "SolenoidZ"),
        "layer_slots": figure(14, "count", "EKLM.xml", "NLayers: layer slots in each endcap"),
        "layers_forward": figure(14, "count", "EKLM.xml", "NDetectorLayersForward"),
        "layers_backward": figure(12, "count", "EKLM.xml", "NDetectorLayersBackward"),
        "sectors": figure(4, "count", "EKLM.xml", "NSectors"),
        "endcap_r": figure([128.0, 353.5], "cm", "EKLM.xml", "Endcap InnerR, OuterR (octagon apothem)"),
        "endcap_length": figure(132.1, "cm", "EKLM.xml", "Endcap Length"),
        "endcap_z": figure(296.05, "cm", "EKLM.xml", "Endcap Z: centre, from the solenoid centre"),
        "endcap_first_vertex_phi": figure(-22.5, "deg", "EKLM.xml", "EndcapStructure Phi"),
        "endcap_sides": figure(8, "count", "EKLM.xml", "EndcapStructure NSides"),
        "layer_r": figure([130.5, 332.0], "cm", "EKLM.xml", "Layer InnerR, OuterR"),
        "layer_length": figure(4.4, "cm", "EKLM.xml", "Layer Length"),
        "layer_shift_z": figure(
            9.1,
            "cm",
            "EKLM.xml",
            "Layer ShiftZ: pitch",
            "layer n centre at Endcap Z - Length / 2 + n ShiftZ - Layer Length / 2 from the solenoid centre"
            " (TransformData.cc)",
        ),
    },
}


# ---------------------------------------------------------------- reading the original files


class Xml:
    """One original XML file, with lengths converted to cm."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.path = folder / name
        try:
            self.root = ET.parse(self.path).getroot()
        except FileNotFoundError:
            raise BuildError(f"original file missing: {self.path}") from None
        except (OSError, ET.ParseError) as err:
            raise BuildError(f"{self.path}: not readable XML ({err})") from err

    def node(self, path: str, at: ET.Element | None = None) -> ET.Element:
        found = (self.root if at is None else at).find(path)
        if found is None or found.text is None:
            raise BuildError(f"{self.path}: no <{path}>")
        return found

    def number(self, path: str, at: ET.Element | None = None) -> float:
        node = self.node(path, at)
        try:
            return float(str(node.text).strip())
        except ValueError:
            raise BuildError(f"{self.path}: <{path}> is not a number: {node.text!r}") from None

    def length(self, path: str, at: ET.Element | None = None) -> float:
        """A length in cm (the file's unit attribute converted)."""
        unit = self.node(path, at).get("unit", "")
        if unit not in TO_CM:
            raise BuildError(f"{self.path}: <{path}> has unit {unit!r}, not a length")
        return self.number(path, at) * TO_CM[unit]

    def angle(self, path: str, unit: str, at: ET.Element | None = None) -> float:
        got = self.node(path, at).get("unit", "")
        if got != unit:
            raise BuildError(f"{self.path}: <{path}> in {got!r}, expected {unit!r}")
        return self.number(path, at)

    def fig(
        self, value: float | list[float], unit: str, item: str, note: str | None = None
    ) -> dict[str, Any]:
        return figure(value, unit, self.name, item, note)


def _ladder_phi(xml: Xml) -> dict[int, list[float]]:
    """Ladder φ [deg] per layer from all half shells, in ladder-id order."""
    ladders: dict[int, list[tuple[int, float]]] = {}
    for layer in xml.root.iter("Layer"):
        layer_id = int(layer.get("id", "0"))
        for ladder in layer.iter("Ladder"):
            ladders.setdefault(layer_id, []).append(
                (int(ladder.get("id", "0")), xml.angle("phi", "deg", ladder))
            )
    return {k: [phi for _, phi in sorted(v)] for k, v in sorted(ladders.items())}


def _read_figures(folder: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The sections of figures.json read from the original XML files."""
    kekb = Xml(folder, "SuperKEKB.xml")
    superkekb: dict[str, dict[str, Any]] = {
        "circumference": kekb.fig(kekb.length("circumference"), "cm", "circumference"),
        "bunches": kekb.fig(kekb.number("numofBunches"), "count", "numofBunches"),
        "luminosity": kekb.fig(kekb.number("luminosity"), "cm^-2 s^-1", "luminosity", "design luminosity"),
    }
    for ring in ("HER", "LER"):
        key = ring.lower()
        superkekb |= {
            f"{key}_energy": kekb.fig(kekb.number(f"{ring}/energy"), "GeV", f"{ring}/energy"),
            f"{key}_energy_spread": kekb.fig(
                kekb.number(f"{ring}/energyError"), "GeV", f"{ring}/energyError"
            ),
            f"{key}_angle": kekb.fig(
                kekb.angle(f"{ring}/angle", "rad"),
                "rad",
                f"{ring}/angle",
                "beam direction to +z in the x-z plane",
            ),
            **{
                f"{key}_{s}": kekb.fig(kekb.length(f"{ring}/{tag}"), "cm", f"{ring}/{tag}")
                for s, tag in (("sigma_x", "sigmaX"), ("sigma_y", "sigmaY"), ("sigma_z", "sigmaZ"))
            },
        }

    mag = Xml(folder, "MagneticFieldConstant.xml")
    comp = "Content/Components/Component"
    field = {
        f"b{axis.lower()}": mag.fig(mag.number(f"{comp}/{axis}"), "T", f"Component Constant/{axis}")
        for axis in "XYZ"
    } | {
        "z_range": mag.fig([mag.length(f"{comp}/MinZ"), mag.length(f"{comp}/MaxZ")], "cm", "MinZ, MaxZ"),
    }

    coil = Xml(folder, "COIL.xml")
    solenoid = {
        "offset_z": coil.fig(coil.length("Content/OffsetZ"), "cm", "OffsetZ", "centre of coil and cryostat"),
        **{
            f"{key}_r": coil.fig(
                [coil.length(f"Content/{tag}/Rmin"), coil.length(f"Content/{tag}/Rmax")],
                "cm",
                f"{tag} Rmin, Rmax",
            )
            for key, tag in (("cryostat", "Cryostat"), ("coil", "Coil"))
        },
        **{
            f"{key}_half_length": coil.fig(
                coil.length(f"Content/{tag}/HalfLength"), "cm", f"{tag} HalfLength"
            )
            for key, tag in (("cryostat", "Cryostat"), ("coil", "Coil"))
        },
    }

    pxd_xml, svd_xml = Xml(folder, "PXD.xml"), Xml(folder, "SVD.xml")
    pxd = {
        f"ladder_phi_layer{k}": pxd_xml.fig(phi, "deg", f"HalfShell/Layer {k}/Ladder phi, by ladder id")
        for k, phi in _ladder_phi(pxd_xml).items()
    }
    svd = {
        f"ladder_phi_layer{k}": svd_xml.fig(phi, "deg", f"HalfShell/Layer {k}/Ladder phi, by ladder id")
        for k, phi in _ladder_phi(svd_xml).items()
    }
    if sorted(len(v["value"]) for v in pxd.values()) != [8, 12]:
        raise BuildError(f"{pxd_xml.path}: expected 8 + 12 ladders")
    if [len(v["value"]) for v in svd.values()] != [7, 10, 12, 16]:
        raise BuildError(f"{svd_xml.path}: expected 7/10/12/16 ladders (the built detector)")

    bars = Xml(folder, "TOP-Bars.xml")
    top = {
        "bars": bars.fig(bars.number("Nbar"), "count", "Nbar"),
        "inner_r": bars.fig(bars.length("Radius"), "cm", "Radius", "bar inner surface"),
        "phi0": bars.fig(
            bars.angle("Phi0", "deg"), "deg", "Phi0", "slot 1; slot k at Phi0 + (k - 1) 360/Nbar"
        ),
        **{
            key: bars.fig(bars.length(tag), "cm", tag)
            for key, tag in (
                ("bar_width", "QWidth"),
                ("bar_thickness", "QThickness"),
                ("z_backward", "QZBackward"),
                ("bar1_length", "QBar1Length"),
                ("bar2_length", "QBar2Length"),
                ("mirror_length", "QBarMirror"),
                ("prism_length", "QWedgeLength"),
                ("prism_width", "QWedgeWidth"),
                ("prism_down", "QWedgeDown"),
                ("prism_flat", "QWedgeFlat"),
            )
        },
    }

    env, det = Xml(folder, "ARICH.xml"), Xml(folder, "ARICH-Detectors.xml")
    rings = det.root.findall("Plane/Rings/Ring")
    if len(rings) != 7:
        raise BuildError(f"{det.path}: expected 7 HAPD rings, found {len(rings)}")
    arich = {
        "envelope_z0": env.fig(env.length("Content/Envelope/zPosition"), "cm", "Envelope zPosition"),
        "envelope_length": env.fig(env.length("Content/Envelope/length"), "cm", "Envelope length"),
        "envelope_r": env.fig(
            [env.length("Content/Envelope/innerRadius"), env.length("Content/Envelope/outerRadius")],
            "cm",
            "Envelope innerRadius, outerRadius",
        ),
        "hapd_plane_z": det.fig(
            det.length("Plane/zPosition"), "cm", "Plane zPosition", "HAPD window, from the envelope start"
        ),
        "hapd_ring_r": det.fig([det.length("r", r) for r in rings], "cm", "Rings r (HAPD centres)"),
        "hapd_ring_modules": det.fig([det.number("nModules", r) for r in rings], "count", "Rings nModules"),
        "support_plate_r": det.fig(
            [det.length("supportPlate/innerRadius"), det.length("supportPlate/outerRadius")],
            "cm",
            "supportPlate innerRadius, outerRadius",
        ),
        "support_plate_thickness": det.fig(
            det.length("supportPlate/thickness"), "cm", "supportPlate thickness"
        ),
        "support_plate_z": det.fig(
            det.length("supportPlate/zPosition"),
            "cm",
            "supportPlate zPosition",
            "start, from the envelope start",
        ),
        "module_hole_size": det.fig(
            det.length("supportPlate/moduleHoleSize"), "cm", "supportPlate moduleHoleSize"
        ),
    }
    return {
        "superkekb": superkekb,
        "field": field,
        "solenoid": solenoid,
        "pxd": pxd,
        "svd": svd,
        "top": top,
        "arich": arich,
    }


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise BuildError(f"original file missing: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise BuildError(f"{path}: unreadable ({err})") from err


def _columns(
    path: Path, rows: list[dict[str, str]], names: dict[str, Callable[[str], Any]]
) -> dict[str, np.ndarray]:
    try:
        return {name: np.array([kind(row[name]) for row in rows]) for name, kind in names.items()}
    except (KeyError, ValueError, TypeError) as err:
        raise BuildError(f"{path}: unexpected table ({err})") from err


def read_rings(folder: Path) -> dict[str, np.ndarray]:
    """The 69 ECL θ rings (thetaID order): crystals per ring, θ centre [deg], region, region limits [deg]."""
    path = folder / RINGS_FILE
    rows = _read_csv(path)
    cols = _columns(
        path,
        rows,
        {
            "thetaID": int,
            "region": str,
            "nPhi": int,
            "firstCellId": int,
            "theta_center_deg": float,
            "theta_low_deg_approx": float,
            "theta_high_deg_approx": float,
        },
    )
    if len(rows) != ecl.N_RINGS or not np.array_equal(cols["thetaID"], np.arange(ecl.N_RINGS)):
        raise BuildError(f"{path}: expected thetaID 0…{ecl.N_RINGS - 1}")
    if not np.array_equal(cols["nPhi"], ecl.N_PHI) or not np.array_equal(cols["firstCellId"], ecl.FIRST_CELL):
        raise BuildError(f"{path}: crystals per ring differ from the cellId numbering")
    region = np.array([{"FWD": 0, "BRL": 1, "BWD": 2}.get(r, -1) for r in cols["region"]])
    if not np.array_equal(region, ecl.RING_REGION):
        raise BuildError(f"{path}: regions differ from the cellId numbering")
    limits = [
        [cols["theta_low_deg_approx"][region == k].min(), cols["theta_high_deg_approx"][region == k].max()]
        for k in range(3)
    ]
    return {
        "n_phi": cols["nPhi"],
        "theta_center_deg": cols["theta_center_deg"],
        "region_theta_deg": np.array(limits),
    }


def _rotate(v: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``v`` turned by ``angle`` about the unit ``axis`` (right-handed; Rodrigues), row by row."""
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    along = np.sum(axis * v, axis=-1, keepdims=True) * axis
    return v * cos + np.cross(axis, v) * sin + along * (1.0 - cos)


def _barrel(rows: np.ndarray, sectors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(R [cm], θ, φ) of the 46 × 144 barrel crystal centres (rings forward to backward, φ ascending)
    and their (46, 144, 3) long axes, from the 92 rows of the placement table.

    basf2 ``get_transform`` turns each crystal (long axis along its local z) by the angle ``Rphi1``
    (column 2) about the axis of polar angle ``Rtheta`` and azimuth ``Rphi2`` (columns 3, 4).
    """
    turn, turn_theta, turn_phi = rows[:, 1], rows[:, 2], rows[:, 3]
    radius, theta, phi = rows[:, 4] / 10.0, rows[:, 5], rows[:, 6]
    local_z = np.broadcast_to([0.0, 0.0, 1.0], (92, 3))
    table_axes = _rotate(local_z, directions(turn_theta, turn_phi), turn)
    order = np.argsort(theta.reshape(46, 2).mean(axis=1), kind="stable")
    pairs = np.arange(92).reshape(46, 2)[order]  # (ring, 2 crystals of the 5° sector at φ ≈ 90°)
    sector = 2.0 * np.pi / sectors
    # the table's sector spans 87.5°–92.5°; sector k is the same turned by k·5° − 90°
    turns = (-np.pi / 2 + sector * np.arange(sectors))[None, :, None]
    phis = np.mod((phi[pairs][:, None, :] + turns).reshape(46, 2 * sectors), 2 * np.pi)
    turns = np.broadcast_to(turns, (46, sectors, 2)).reshape(46, 2 * sectors)
    idx = np.broadcast_to(pairs[:, None, :], (46, sectors, 2)).reshape(46, 2 * sectors)
    sort = np.argsort(phis, axis=1)
    phis = np.take_along_axis(phis, sort, axis=1)
    idx = np.take_along_axis(idx, sort, axis=1)
    turns = np.take_along_axis(turns, sort, axis=1)
    axes = _rotate(table_axes[idx], np.broadcast_to([0.0, 0.0, 1.0], (46, 2 * sectors, 3)), turns)
    return radius[idx], theta[idx], phis, axes


def ecl_crystals(folder: Path) -> dict[str, np.ndarray]:
    """All 8736 crystals from the original files: centre [cm], axis, length and the half-widths of
    their angular cell at the front and back faces [cm], by cellId − 1.

    Barrel centres and axes come from the placement table (one 5° sector repeated 72 times);
    endcap centres lie on the reference planes at the ring θ centre and φ = (phiID + 0.5) · pitch,
    their axes pointing from the IP.
    """
    rings = read_rings(folder)
    fig = TRANSCRIBED["ecl"]
    path = folder / PLACEMENT_FILE
    if not path.is_file():
        raise BuildError(f"original file missing: {path}")
    try:
        rows = np.loadtxt(path, comments=("#", "//"))
    except ValueError as err:
        raise BuildError(f"{path}: unreadable placement table ({err})") from err
    if rows.shape != (92, 7):
        raise BuildError(f"{path}: expected 92 rows of 7 columns, got {rows.shape}")
    theta_id = ecl.RING_OF_CELL
    phi_id = np.arange(1, ecl.N_CRYSTALS + 1) - ecl.FIRST_CELL[theta_id]
    theta = np.radians(rings["theta_center_deg"])[theta_id]
    phi = (phi_id + 0.5) * (2 * np.pi / ecl.N_PHI[theta_id])
    z_plane = np.where(
        ecl.RING_REGION[theta_id] == ecl.FORWARD,
        fig["forward_centre_z"]["value"],
        fig["backward_centre_z"]["value"],
    )
    dist = z_plane / np.cos(theta)
    b_r, b_theta, b_phi, b_axes = _barrel(rows, int(fig["barrel_sectors"]["value"]))
    barrel = slice(ecl.FIRST_CELL[13] - 1, ecl.FIRST_CELL[59] - 1)
    dist[barrel], theta[barrel], phi[barrel] = b_r.ravel(), b_theta.ravel(), b_phi.ravel()
    axes = directions(theta, phi)
    axes[barrel] = b_axes.reshape(-1, 3)
    centres = dist[:, None] * directions(theta, phi)
    length = float(fig["crystal_length"]["value"])
    edges = ecl.ring_edges(theta, rings["region_theta_deg"])[theta_id]
    d_theta = edges[:, 1] - edges[:, 0]
    d_phi = 2 * np.pi / ecl.N_PHI[theta_id]
    ends = np.array([-0.5, 0.5]) * length
    face = centres[:, None, :] + ends[None, :, None] * axes[:, None, :]  # (N, 2, 3): front, back
    half_phi = 0.5 * d_phi[:, None] * np.hypot(face[..., 0], face[..., 1])
    half_theta = 0.5 * d_theta[:, None] * np.linalg.norm(face, axis=2)
    return {
        "theta_id": theta_id,
        "phi_id": phi_id,
        "centre": centres,
        "axis": axes,
        "length": np.full(ecl.N_CRYSTALS, length),
        "half_phi": half_phi,
        "half_theta": half_theta,
        "theta": theta,
        "phi": phi,
    }


def _ecl_figures(folder: Path) -> dict[str, dict[str, Any]]:
    rings = read_rings(folder)
    limits = rings["region_theta_deg"]
    return {
        "crystals_per_ring": figure(
            [int(n) for n in rings["n_phi"]], "count", RINGS_FILE, "nPhi (basf2 m_crystalsPerRing)"
        ),
        "theta_center_deg": figure(
            [float(t) for t in rings["theta_center_deg"]],
            "deg",
            RINGS_FILE,
            "theta_center_deg (basf2 thetaIDCenter[])",
        ),
        "region_theta_deg": figure(
            [float(t) for t in limits.ravel()],
            "deg",
            RINGS_FILE,
            "region limits: forward, barrel, backward (low, high)",
            "ECLCluster.cc getDetectorRegion",
        ),
        **TRANSCRIBED["ecl"],
    }


# ---------------------------------------------------------------- writing the tables


def figures_document(folder: Path) -> dict[str, Any]:
    """The whole figures.json content."""
    read = _read_figures(folder)
    sections: dict[str, dict[str, Any]] = {
        "superkekb": read["superkekb"],
        "field": read["field"],
        "beampipe": TRANSCRIBED["beampipe"],
        "pxd": read["pxd"] | TRANSCRIBED["pxd"],
        "svd": read["svd"] | TRANSCRIBED["svd"],
        "cdc": TRANSCRIBED["cdc"],
        "top": read["top"],
        "arich": read["arich"] | TRANSCRIBED["arich"],
        "ecl": _ecl_figures(folder),
        "solenoid": read["solenoid"],
        "bklm": TRANSCRIBED["bklm"],
        "eklm": TRANSCRIBED["eklm"],
    }
    return {
        "about": (
            "Belle II detector figures for the event display. Lengths in cm. Rebuilt by "
            "`python -m geometry.build_assets --from DIR`; origins in SOURCES.md."
        ),
        "sources": {
            name: {"basf2_path": path, "commit": commit, "licence": LICENCE, "use": use}
            for name, (path, commit, use) in SOURCES.items()
        },
        **sections,
    }


def figures_text(folder: Path) -> str:
    """figures.json: one line per figure (or source), sections in a fixed order."""
    doc = figures_document(folder)
    blocks = []
    for key, value in doc.items():
        if isinstance(value, dict):
            lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()]
            blocks.append(f" {json.dumps(key)}: {{\n" + ",\n".join(lines) + "\n }")
        else:
            blocks.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def _write_csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def crystals_text(folder: Path) -> str:
    c = ecl_crystals(folder)
    header = [
        "cellId",
        "thetaID",
        "phiID",
        "x_cm",
        "y_cm",
        "z_cm",
        "axis_x",
        "axis_y",
        "axis_z",
        "length_cm",
        "front_half_phi_cm",
        "front_half_theta_cm",
        "back_half_phi_cm",
        "back_half_theta_cm",
    ]
    rows = []
    for i in range(ecl.N_CRYSTALS):
        rows.append(
            [str(i + 1), str(int(c["theta_id"][i])), str(int(c["phi_id"][i]))]
            + [f"{v:.10f}" for v in c["centre"][i]]
            + [f"{v:.13f}" for v in c["axis"][i]]
            + [f"{c['length'][i]:.4f}"]
            + [
                f"{v:.10f}"
                for v in (
                    c["half_phi"][i, 0],
                    c["half_theta"][i, 0],
                    c["half_phi"][i, 1],
                    c["half_theta"][i, 1],
                )
            ]
        )
    return _write_csv(header, rows)


def cdc_layers(folder: Path) -> dict[str, np.ndarray]:
    """The 56 sense layers from the original table, in cm, with the stereo angle recomputed."""
    path = folder / CDC_SOURCE_FILE
    rows = _read_csv(path)
    cols = _columns(
        path,
        rows,
        {
            "layer": int,
            "superlayer": int,
            "type": str,
            "radius_mm": float,
            "bwd_z_mm": float,
            "fwd_z_mm": float,
            "n_holes": int,
            "n_wires": int,
            "n_shift": int,
            "phi_offset_cells": float,
            "stereo_angle_mrad": float,
        },
    )
    if len(rows) != 56 or not np.array_equal(cols["layer"], np.arange(56)):
        raise BuildError(f"{path}: expected sense layers 0…55")
    if not np.array_equal(cols["n_holes"], 2 * cols["n_wires"]):
        raise BuildError(f"{path}: n_holes is not 2 × n_wires")
    r, z0, z1 = cols["radius_mm"] / 10.0, cols["bwd_z_mm"] / 10.0, cols["fwd_z_mm"] / 10.0
    dphi = 2 * np.pi / cols["n_wires"] * 0.5 * cols["n_shift"]
    stereo = 1e3 * np.arctan(2 * r * np.sin(dphi / 2) / (z1 - z0))
    if np.abs(stereo - cols["stereo_angle_mrad"]).max() > 0.006:
        raise BuildError(f"{path}: stereo_angle_mrad disagrees with the wire end points")
    return {**cols, "radius": r, "z_bwd": z0, "z_fwd": z1, "stereo": stereo}


def cdc_text(folder: Path) -> str:
    c = cdc_layers(folder)
    header = [
        "layer",
        "superlayer",
        "type",
        "radius_cm",
        "z_bwd_cm",
        "z_fwd_cm",
        "n_wires",
        "n_shift",
        "phi_offset_cells",
        "stereo_angle_mrad",
    ]
    rows = [
        [
            str(c["layer"][i]),
            str(c["superlayer"][i]),
            str(c["type"][i]),
            f"{c['radius'][i]:.5f}",
            f"{c['z_bwd'][i]:.5f}",
            f"{c['z_fwd'][i]:.5f}",
            str(c["n_wires"][i]),
            str(c["n_shift"][i]),
            f"{c['phi_offset_cells'][i]:.2f}",
            f"{c['stereo'][i]:.6f}",
        ]
        for i in range(56)
    ]
    return _write_csv(header, rows)


def build(folder: Path) -> dict[str, str]:
    """File name -> text of every table, built from the original files in ``folder``."""
    return {
        FIGURES_FILE: figures_text(folder),
        CRYSTALS_FILE: crystals_text(folder),
        CDC_FILE: cdc_text(folder),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m geometry.build_assets", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--from", dest="source", type=Path, required=True, help="folder of the original files"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_DATA_DIR, help="where the tables go (assets/geometry)"
    )
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        print(f"build_assets: {args.source}: no such folder", file=sys.stderr)
        return 2
    try:
        tables = build(args.source)
    except BuildError as err:
        print(f"build_assets: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (args.out / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
