"""EPICS alarm colours and glyphs, value labels that wear them, and number formatting for the live panels.

The colours and glyphs come from the colour table (``alarm`` and ``monitoring`` sections); label
backgrounds and text use the theme's palette, so the labels follow a theme switch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

from displays.palette import State, palette
from monitoring.channels import Severity
from monitoring.model import ChannelState

_P = palette()
# PyDM's default stylesheet (docs/monitoring.md §2.2), each severity with a glyph and a word as well
ALARM_STATES: dict[Severity, State] = {
    Severity.MINOR: _P.state("alarm", "minor"),
    Severity.MAJOR: _P.state("alarm", "major"),
    Severity.INVALID: _P.state("alarm", "invalid"),
}
ALARM_COLORS = {severity: state.color for severity, state in ALARM_STATES.items()}
DISCONNECTED = _P.state("alarm", "disconnected")
DISCONNECTED_COLOR = DISCONNECTED.color
HER_COLOR = _P.hex("beam.her")  # electrons
LER_COLOR = _P.hex("beam.ler")  # positrons
LUM_COLOR = _P.hex("monitoring.luminosity")
RUN_COLOR = _P.hex("monitoring.run_start")
FILL_COLOR = _P.hex("monitoring.fill_start")
GAP_COLOR = _P.hex("monitoring.gap")
SUSPECT_COLOR = ALARM_COLORS[Severity.MINOR]

CM2_PER_PB = 1e36  # 1 pb^-1 = 1e36 cm^-2


def severity_of(state: ChannelState) -> Severity:
    return Severity(min(max(int(state.severity), 0), 3))


def alarm_style(state: ChannelState | None) -> str:
    """Stylesheet of a value label for a channel state, PyDM-style borders on the theme's base."""
    base = "QLabel { padding: 2px 6px; font-family: monospace; font-size: 13px; background: palette(base); "
    if state is None or not state.connected:
        return base + f"border: 2px dashed {DISCONNECTED_COLOR}; color: palette(mid); }}"
    color = ALARM_COLORS.get(severity_of(state))
    if color:
        border = f"border: 2px solid {color}; "
    elif state.suspect:  # timestamps not to be taken at face value: a dotted warning border
        border = f"border: 2px dotted {SUSPECT_COLOR}; "
    else:
        border = "border: 2px solid transparent; "
    text = "color: palette(mid); font-style: italic; " if state.stale else "color: palette(text); "
    return base + border + text + "}"


def alarm_text(value: str, state: ChannelState) -> str:
    """A value as shown with its severity: "■ 1.2 mA MAJOR" (the glyph and word besides the colour)."""
    alarm = ALARM_STATES.get(severity_of(state))
    return f"{alarm.glyph} {value} {alarm.text}" if alarm is not None else value


def set_style(widget: QWidget, sheet: str) -> None:
    """Set a stylesheet only when it changes (each set re-polishes the widget)."""
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)


def reserve_width(label: QLabel, widest: str) -> None:
    """Keep room for ``widest`` (the longest text a value takes, e.g. "beam background 9.99 kHz"),
    measured in the label's own style sheet font: a rate that gains a digit is neither cut off at
    the box's edge nor pushes its neighbours along the row."""
    label.ensurePolished()
    margins = label.contentsMargins()
    width = label.fontMetrics().horizontalAdvance(widest) + margins.left() + margins.right()
    label.setMinimumWidth(width + 8)


def si(value: float, unit: str = "", digits: int = 3) -> str:
    if not math.isfinite(value):
        return "—"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}".rstrip()


def integrated(cm2: float) -> str:
    """Integrated luminosity in pb^-1 or fb^-1."""
    pb = cm2 / CM2_PER_PB
    return f"{pb / 1000:.3f} fb⁻¹" if abs(pb) >= 1000 else f"{pb:.2f} pb⁻¹"


def clock(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if math.isfinite(t) else "—"


class ValueLabel(QLabel):
    """A channel's value with its alarm border, "[STALE]" when silent, "[SUSPECT]" when its
    timestamps are out of order or shifted, and why in the tooltip."""

    def __init__(self, channel: str, fmt: Callable[[float], str] = si, parent: QWidget | None = None) -> None:
        super().__init__("—", parent)
        self.channel = channel
        self.fmt = fmt
        self._shown: tuple = ()
        self.setStyleSheet(alarm_style(None))

    def show_state(self, state: ChannelState | None) -> None:
        if state is None:
            key: tuple = (None,)
        else:
            key = (state.value, state.severity, state.connected, state.stale, state.message, state.suspect)
        if key == self._shown:
            return
        self._shown = key
        if state is None or not state.connected:
            self.setText(f"{DISCONNECTED.glyph} disconnected")
        else:
            text = alarm_text(self.fmt(state.value), state)
            text += " [STALE]" if state.stale else ""
            self.setText(text + (" [SUSPECT]" if state.suspect else ""))
        set_style(self, alarm_style(state))
        tip = f"{self.channel}: " + (state.message if state and state.message else "ok")
        if state is not None and state.severity:
            tip += f" (severity {severity_of(state).name})"
        if state is not None and state.suspect:
            tip += f"\nsuspect: {state.suspect}"
        self.setToolTip(tip)
