"""Opacities, draw order and theme colours of the detector views; the colours come from the colour table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from displays.palette import RGBA, palette, parse

_P = palette()


@dataclass(frozen=True)
class CanvasColors:
    """What a theme sets on a VisPy canvas: background, axes, grid, text and the selection."""

    background: RGBA
    axis: RGBA
    grid: RGBA
    label: RGBA
    highlight: RGBA


def paint_axes(axes: Iterable[Any], colors: CanvasColors) -> None:
    """Give VisPy AxisWidgets a theme's axis line, tick and label colours."""
    for axis in axes:
        visual = axis.axis
        visual.axis_color = colors.axis
        visual.tick_color = colors.axis
        visual.text_color = colors.label
        visual.update()


def canvas_colors(theme: str = "dark") -> CanvasColors:
    """The canvas colours of a theme ("dark" or "light") from the colour table."""
    t = _P.theme(theme)
    return CanvasColors(*(parse(t[k]) for k in ("canvas", "axis", "grid", "label_text", "highlight")))


DARK = canvas_colors("dark")
BACKGROUND: RGBA = DARK.background  # deep navy, kinder than black on a big screen
AXIS_COLOR: RGBA = DARK.axis
GRID_COLOR: RGBA = DARK.grid
LABEL_COLOR: RGBA = DARK.label

# SuperKEKB beams: electrons (HER, 7 GeV) and positrons (LER, 4 GeV), drawn like the track charges
HER_COLOR: RGBA = _P.rgba("beam.her", alpha=0.9)
LER_COLOR: RGBA = _P.rgba("beam.ler", alpha=0.9)


@dataclass(frozen=True)
class PartStyle:
    """How one subdetector is drawn when the display starts."""

    color: RGBA
    opacity: float
    label: str
    shell_lod: bool = False  # draw only faces towards/away from the IP (projective crystals)
    envelope_lod: bool = False  # while faint, draw only the innermost and outermost layers
    outer_faces_lod: bool = False  # while faint, draw only faces turned away from the beam axis
    outline_alpha: float = 0.95  # of the 2D outlines; dense many-layer outlines are dimmed


# Inner to outer; the tracker opaque, the outer shells see-through so the inside stays visible.
PART_STYLES: dict[str, PartStyle] = {
    "BEAMPIPE": PartStyle(_P.rgba("subdetector.BEAMPIPE"), 1.0, "Beam pipe"),
    "PXD": PartStyle(_P.rgba("subdetector.PXD"), 1.0, "PXD (pixels)"),
    "SVD": PartStyle(_P.rgba("subdetector.SVD"), 1.0, "SVD (strips)"),
    "CDC": PartStyle(_P.rgba("subdetector.CDC"), 0.16, "CDC (drift chamber)", envelope_lod=True),
    "TOP": PartStyle(_P.rgba("subdetector.TOP"), 0.55, "TOP (quartz bars)"),
    "ARICH": PartStyle(_P.rgba("subdetector.ARICH"), 0.55, "ARICH (aerogel RICH)"),
    "ECL": PartStyle(
        _P.rgba("subdetector.ECL"), 0.35, "ECL (CsI(Tl) crystals)", shell_lod=True, outline_alpha=0.75
    ),
    "COIL": PartStyle(_P.rgba("subdetector.COIL"), 0.14, "Solenoid (1.5 T)", outer_faces_lod=True),
    "BKLM": PartStyle(
        _P.rgba("subdetector.BKLM"),
        0.07,
        "KLM barrel (15 layers)",
        envelope_lod=True,
        outer_faces_lod=True,
        outline_alpha=0.3,
    ),
    "EKLM": PartStyle(
        _P.rgba("subdetector.EKLM"),
        0.07,
        "KLM endcaps",
        envelope_lod=True,
        outer_faces_lod=True,
        outline_alpha=0.3,
    ),
}

WIRE_COLOR: RGBA = _P.rgba("subdetector.wire")  # 14336 wires overlap: each one faint


def part_style(name: str, fallback: RGBA = (0.7, 0.7, 0.7, 1.0)) -> PartStyle:
    """The style of a subdetector; unknown parts keep the colour their geometry gave them."""
    return PART_STYLES.get(name, PartStyle(fallback, fallback[3], name))
