"""The colour table: every view reads it, its defaults survive colour-vision deficiencies, damage is named.

The colour-vision check simulates deuteranopia, protanopia and tritanopia at full severity
(colorspacious: Machado, Oliveira and Fernandes 2009) and measures colour differences in CAM02-UCS
(Luo, Cui and Li 2006), where one unit is about one just-noticeable difference. Two colours of one
category (the charges, the PID species, the alarm severities...) must stay ``MIN_DELTA`` apart in
every simulation, and the colours drawn on a canvas must stay that far from both theme backgrounds.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from displays import event_geometry as geo
from displays import palette as pal
from displays import style

colorspacious = pytest.importorskip("colorspacious", reason="colorspacious is in the dev extra")

MIN_DELTA = 10.0  # CAM02-UCS units: about ten just-noticeable differences
VISION = ("normal", "deuteranomaly", "protanomaly", "tritanomaly")
P = pal.palette()

# subdetectors that touch in a picture; BKLM and EKLM are one subdetector (the KLM) in two near reds
NEIGHBOURS = [
    ("BEAMPIPE", "PXD"), ("PXD", "SVD"), ("SVD", "CDC"), ("CDC", "TOP"), ("CDC", "ARICH"),
    ("TOP", "ARICH"), ("TOP", "ECL"), ("ARICH", "ECL"), ("ECL", "COIL"), ("COIL", "BKLM"), ("COIL", "EKLM"),
]  # fmt: skip


def categories() -> dict[str, dict[str, str]]:
    """Every group of colours that must be told apart from one another."""
    return {
        "charge": {k: P.hex(f"charge.{k}") for k in ("positive", "negative", "neutral")},
        "pid": {k: P.hex(f"pid.{k}") for k in ("e", "mu", "pi", "K", "p", "d")},
        "beam": {k: P.hex(f"beam.{k}") for k in ("her", "ler")},
        "alarm": {k: P.state("alarm", k).color for k in ("minor", "major", "invalid", "disconnected")},
        "dqm": {k: P.state("dqm", k).color for k in ("good", "warning", "error", "too_few", "no_reference")},
        "monitoring": {k: P.hex(f"monitoring.{k}") for k in ("luminosity", "run_start", "fill_start", "gap")},
        "trigger": {str(i): pal.to_hex(c) for i, c in enumerate(P.stops("monitoring.trigger"))},
    }


def simulate(hex_colours: list[str], vision: str) -> np.ndarray:
    rgb = np.array([pal.parse(h)[:3] for h in hex_colours])
    if vision != "normal":
        cvd = {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}
        rgb = np.clip(colorspacious.cspace_convert(rgb, cvd, "sRGB1"), 0.0, 1.0)
    return colorspacious.cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def delta(a: str, b: str, vision: str) -> float:
    ja, jb = simulate([a, b], vision)
    return float(np.linalg.norm(ja - jb))


@pytest.mark.parametrize("vision", VISION)
def test_categories_stay_distinguishable_in_every_colour_vision(vision: str) -> None:
    too_close = [
        f"{group}: {a}-{b} {delta(ca, cb, vision):.1f}"
        for group, colours in categories().items()
        for (a, ca), (b, cb) in itertools.combinations(colours.items(), 2)
        if delta(ca, cb, vision) < MIN_DELTA
    ]
    too_close += [
        f"subdetector: {a}-{b} {delta(P.hex(f'subdetector.{a}'), P.hex(f'subdetector.{b}'), vision):.1f}"
        for a, b in NEIGHBOURS
        if delta(P.hex(f"subdetector.{a}"), P.hex(f"subdetector.{b}"), vision) < MIN_DELTA
    ]
    assert not too_close, f"{vision}: closer than {MIN_DELTA} CAM02-UCS units: {too_close}"


@pytest.mark.parametrize("vision", VISION)
def test_drawn_colours_stand_out_from_both_backgrounds(vision: str) -> None:
    drawn = {
        **{f"charge.{k}": P.hex(f"charge.{k}") for k in P.names("charge")},
        **{f"pid.{k}": P.hex(f"pid.{k}") for k in P.names("pid")},
        **{f"beam.{k}": P.hex(f"beam.{k}") for k in P.names("beam")},
        **{f"subdetector.{k}": P.hex(f"subdetector.{k}") for k in P.names("subdetector") if k != "wire"},
    }
    for theme in pal.THEMES:
        for key in ("canvas", "plot_background"):
            background = P.theme(theme)[key][:7]
            faint = [k for k, c in drawn.items() if delta(c, background, vision) < MIN_DELTA]
            assert not faint, f"{vision}: {faint} too close to the {theme} {key} {background}"


@pytest.mark.parametrize("vision", VISION)
def test_energy_scale_keeps_its_order_in_every_colour_vision(vision: str) -> None:
    stops = [pal.to_hex(c) for c in P.stops("energy.stops")]
    lightness = simulate(stops, vision)[:, 0]
    assert np.all(np.diff(lightness) > 0), f"{vision}: lightness along the scale {lightness.round(1)}"


def test_views_read_the_table() -> None:
    np.testing.assert_allclose(geo.CHARGE_COLORS[1], P.rgba("charge.positive"))
    np.testing.assert_allclose(geo.PID_COLORS[3], P.rgba("pid.K"))
    np.testing.assert_allclose(geo.ENERGY_ANCHOR_COLORS[-1], P.stops("energy.stops")[-1])
    np.testing.assert_allclose(style.PART_STYLES["ECL"].color, P.rgba("subdetector.ECL"))
    assert pal.parse(P.theme("dark")["canvas"]) == style.BACKGROUND
    assert pal.parse(P.theme("light")["canvas"]) == style.canvas_colors("light").background
    for severity in ("minor", "major", "invalid", "disconnected"):
        state = P.state("alarm", severity)
        assert state.glyph  # never colour alone
        assert state.text
    for status in ("good", "warning", "error", "too_few", "no_reference"):
        assert P.state("dqm", status).label.startswith(P.state("dqm", status).glyph)


def test_parse_and_hex_round_trip() -> None:
    assert pal.parse("#ff000080") == pytest.approx((1.0, 0.0, 0.0, 128 / 255))
    assert pal.to_hex(pal.parse("#D55E00")) == "#d55e00"
    with pytest.raises(ValueError, match="not a colour"):
        pal.parse("red")


def test_an_override_table_replaces_single_entries(tmp_path: Path) -> None:
    override = tmp_path / "mine.toml"
    override.write_text('[charge]\npositive = "#ff0000"\n\n[theme.light]\ncanvas = "#ffffff"\n')
    p = pal.load(pal.TABLE, override)
    assert p.hex("charge.positive") == "#ff0000"
    assert p.hex("charge.negative") == P.hex("charge.negative")  # the rest is the shipped table
    assert p.theme("light")["canvas"] == "#ffffff"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[charge]\npositive = '#12345'\n", "charge.positive: not a colour"),
        ("[charge\n", "not a valid colour table"),
        ("[chrage]\npositive = '#ff0000'\n", "unknown entry 'chrage'"),
        ("charge = '#ff0000'\n", "charge must be a section"),
    ],
)
def test_a_damaged_table_is_named_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(pal.PaletteError, match=message) as info:
        pal.load(pal.TABLE, bad)
    assert str(bad) in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(pal.PaletteError, match="cannot read"):
        pal.load(tmp_path / "missing.toml")
    with pytest.raises(pal.PaletteError, match=r"no colour 'charge\.strange'"):
        P.rgba("charge.strange")
