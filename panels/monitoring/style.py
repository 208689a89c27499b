"""EPICS alarm colours, value labels that wear them, and number formatting for the live panels."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

from monitoring.channels import Severity
from monitoring.model import ChannelState

# PyDM's default stylesheet (docs/monitoring.md §2.2)
ALARM_COLORS = {Severity.MINOR: "#EBEB00", Severity.MAJOR: "#FF0000", Severity.INVALID: "#EB00EB"}
DISCONNECTED_COLOR = "#FFFFFF"
HER_COLOR = "#3c8cff"  # electrons
LER_COLOR = "#ff5a3c"  # positrons
LUM_COLOR = "#f0d040"
RUN_COLOR = "#40c060"
FILL_COLOR = "#ff9a20"
GAP_COLOR = "#eb00eb"
SUSPECT_COLOR = ALARM_COLORS[Severity.MINOR]

CM2_PER_PB = 1e36  # 1 pb^-1 = 1e36 cm^-2


def alarm_style(state: ChannelState | None) -> str:
    """Stylesheet of a value label for a channel state, PyDM-style borders."""
    base = "QLabel { padding: 2px 6px; font-family: monospace; font-size: 13px; "
    if state is None or not state.connected:
        return base + f"border: 2px dashed {DISCONNECTED_COLOR}; color: #909090; background: #303030; }}"
    color = ALARM_COLORS.get(Severity(min(int(state.severity), 3)))
    if color:
        border = f"border: 2px solid {color}; "
    elif state.suspect:  # timestamps not to be taken at face value: a dotted warning border
        border = f"border: 2px dotted {SUSPECT_COLOR}; "
    else:
        border = "border: 2px solid transparent; "
    text = "color: #808080; font-style: italic; " if state.stale else "color: #f0f0f0; "
    return base + border + text + "background: #202020; }"


def set_style(widget: QWidget, sheet: str) -> None:
    """Set a stylesheet only when it changes (each set re-polishes the widget)."""
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)


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
            self.setText("disconnected")
        else:
            text = self.fmt(state.value)
            text += " [STALE]" if state.stale else ""
            self.setText(text + (" [SUSPECT]" if state.suspect else ""))
        set_style(self, alarm_style(state))
        tip = f"{self.channel}: " + (state.message if state and state.message else "ok")
        if state is not None and state.severity:
            tip += f" (severity {Severity(min(int(state.severity), 3)).name})"
        if state is not None and state.suspect:
            tip += f"\nsuspect: {state.suspect}"
        self.setToolTip(tip)
