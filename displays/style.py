"""Colours, default opacities and draw order of the detector views: one place to tune the look."""

from __future__ import annotations

from dataclasses import dataclass

RGBA = tuple[float, float, float, float]

BACKGROUND: RGBA = (0.027, 0.039, 0.071, 1.0)  # deep navy, kinder than black on a big screen
AXIS_COLOR: RGBA = (0.62, 0.68, 0.78, 1.0)
GRID_COLOR: RGBA = (0.35, 0.42, 0.55, 0.35)
LABEL_COLOR: RGBA = (0.85, 0.89, 0.95, 1.0)

# SuperKEKB beams: electrons (HER, 7 GeV) blue, positrons (LER, 4 GeV) red, as in Belle II outreach pictures
HER_COLOR: RGBA = (0.35, 0.62, 1.0, 0.9)
LER_COLOR: RGBA = (1.0, 0.36, 0.32, 0.9)


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
    "BEAMPIPE": PartStyle((0.78, 0.80, 0.85, 1.0), 1.0, "Beam pipe"),
    "PXD": PartStyle((1.00, 0.80, 0.30, 1.0), 1.0, "PXD (pixels)"),
    "SVD": PartStyle((1.00, 0.52, 0.22, 1.0), 1.0, "SVD (strips)"),
    "CDC": PartStyle((0.25, 0.80, 0.95, 1.0), 0.16, "CDC (drift chamber)", envelope_lod=True),
    "TOP": PartStyle((0.66, 0.52, 1.00, 1.0), 0.55, "TOP (quartz bars)"),
    "ARICH": PartStyle((0.95, 0.42, 0.80, 1.0), 0.55, "ARICH (aerogel RICH)"),
    "ECL": PartStyle(
        (0.36, 0.90, 0.58, 1.0), 0.35, "ECL (CsI(Tl) crystals)", shell_lod=True, outline_alpha=0.75
    ),
    "COIL": PartStyle((0.62, 0.68, 0.80, 1.0), 0.14, "Solenoid (1.5 T)", outer_faces_lod=True),
    "BKLM": PartStyle(
        (0.92, 0.40, 0.30, 1.0),
        0.07,
        "KLM barrel (15 layers)",
        envelope_lod=True,
        outer_faces_lod=True,
        outline_alpha=0.3,
    ),
    "EKLM": PartStyle(
        (0.85, 0.34, 0.30, 1.0),
        0.07,
        "KLM endcaps",
        envelope_lod=True,
        outer_faces_lod=True,
        outline_alpha=0.3,
    ),
}

WIRE_COLOR: RGBA = (0.45, 0.88, 1.0, 0.05)  # 14336 wires overlap: each one faint


def part_style(name: str, fallback: RGBA = (0.7, 0.7, 0.7, 1.0)) -> PartStyle:
    """The style of a subdetector; unknown parts keep the colour their geometry gave them."""
    return PART_STYLES.get(name, PartStyle(fallback, fallback[3], name))
