"""The channels of live machine monitoring: names, units, alarm limits and EPICS severities.

A channel is what a panel asks for ("LER:I"); a source maps it to whatever its control system
calls it (a PV name for ``ca://``, a model quantity for ``sim://``). Alarm limits follow the
EPICS HIHI/HIGH/LOW/LOLO fields and caproto's rule (docs/monitoring.md §2.1): a value at
or beyond HIHI/LOLO is MAJOR, at or beyond HIGH/LOW is MINOR, and a limit pair with equal values
is disabled. ``valid`` is the physically possible range: a value outside it is garbage (INVALID),
not an alarm of the machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from events.trigger import L1_BITS, PRESCALES

L1_LIMIT_HZ = 30_000.0  # DAQ design L1 rate (docs/physics.md §1)


class Severity(IntEnum):
    """EPICS alarm severity (caproto AlarmSeverity values)."""

    NO_ALARM = 0
    MINOR = 1
    MAJOR = 2
    INVALID = 3


@dataclass(frozen=True)
class Limits:
    """EPICS alarm limits; a pair with equal values is disabled, as in caproto."""

    lolo: float = 0.0
    low: float = 0.0
    high: float = 0.0
    hihi: float = 0.0


@dataclass(frozen=True)
class Channel:
    name: str
    units: str
    description: str
    limits: Limits = Limits()
    valid: tuple[float, float] = (-math.inf, math.inf)
    continuous: bool = True  # expected to update all the time; a silent one goes stale
    pv: str = ""  # PV suffix in Belle II style, appended to the IOC prefix


def severity_from_limits(value: float, limits: Limits) -> Severity:
    """caproto's ``verify_value`` rule: HIHI/LOLO give MAJOR, HIGH/LOW give MINOR."""
    if limits.lolo != limits.hihi and (value <= limits.lolo or value >= limits.hihi):
        return Severity.MAJOR
    if limits.low != limits.high and (value <= limits.low or value >= limits.high):
        return Severity.MINOR
    return Severity.NO_ALARM


def severity_array(values: np.ndarray, limits: Limits) -> np.ndarray:
    """:func:`severity_from_limits` over a whole array."""
    v = np.asarray(values, dtype=float)
    sev = np.zeros(v.shape, dtype=int)
    if limits.low != limits.high:
        sev[(v <= limits.low) | (v >= limits.high)] = Severity.MINOR
    if limits.lolo != limits.hihi:
        sev[(v <= limits.lolo) | (v >= limits.hihi)] = Severity.MAJOR
    return sev


def _beam(ring: str, pv_ring: str, setpoint: str) -> Channel:
    return Channel(
        f"{ring}:I",
        "A",
        f"{ring} stored beam current (top-up near {setpoint} A)",
        # refilling (below 0.5 A) is MINOR, no beam (below 10 mA) MAJOR, above 2.0 A MINOR, 2.4 A MAJOR
        Limits(lolo=0.01, low=0.5, high=2.0, hihi=2.4),
        valid=(-0.05, 10.0),
        pv=f"BM{pv_ring}DCCT:CURRENT",
    )


def _l1_bit(bit: str) -> Channel:
    return Channel(
        f"L1:{bit}",
        "Hz",
        f"L1 rate of bit {bit} after its prescale of {PRESCALES.get(bit, 1)}",
        valid=(0.0, 1e7),
        pv=f"TRG:GDL:psnm_{bit}:rate",
    )


CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (
        _beam("HER", "H", "1.05"),
        _beam("LER", "L", "1.35"),
        Channel(
            "HER:INJ", "", "HER injecting (1) or not (0)", valid=(0, 1), continuous=False, pv="CGHINJ:STATE"
        ),
        Channel(
            "LER:INJ", "", "LER injecting (1) or not (0)", valid=(0, 1), continuous=False, pv="CGLINJ:STATE"
        ),
        Channel(
            "LUM",
            "cm^-2 s^-1",
            "instantaneous luminosity (ECL Bhabha/gamma-gamma counting)",
            # below 1e33 while beams are stored is MINOR, nothing at all MAJOR
            Limits(lolo=1e31, low=1e33, high=8e35, hihi=1e36),
            valid=(-1e33, 1e37),
            pv="B2_nsm:get:ECL_LUM_MON:lum_inst",
        ),
        Channel("EXP", "", "experiment number", valid=(0, 1e4), continuous=False, pv="B2_nsm:get:RC:exp_no"),
        Channel("RUN", "", "run number", valid=(0, 1e6), continuous=False, pv="B2_nsm:get:RC:run_no"),
        Channel(
            "RUNNING",
            "",
            "data taking (1) or not (0)",
            valid=(0, 1),
            continuous=False,
            pv="B2_nsm:get:RC:running",
        ),
        Channel("FILL", "", "fill number", valid=(0, 1e7), continuous=False, pv="SKB:FILL:NUMBER"),
        Channel(
            "L1:TOTAL",
            "Hz",
            "accepted L1 rate (union of prescaled bits, after dead time and the 30 kHz limit)",
            Limits(lolo=-1.0, low=0.0, high=0.9 * L1_LIMIT_HZ, hihi=L1_LIMIT_HZ),
            valid=(0.0, 1e7),
            pv="TRG:GDL:L1_total:rate",
        ),
        Channel(
            "L1:RAW",
            "Hz",
            "L1 request rate before dead time and the 30 kHz limit",
            valid=(0.0, 1e8),
            pv="TRG:GDL:L1_request:rate",
        ),
        Channel(
            "L1:PHYS",
            "Hz",
            "L1 request from collisions (emulated physics, after prescales)",
            valid=(0.0, 1e8),
            pv="TRG:GDL:L1_physics:rate",
        ),
        Channel(
            "L1:BKG",
            "Hz",
            "L1 request from beam background (after prescales)",
            valid=(0.0, 1e8),
            pv="TRG:GDL:L1_background:rate",
        ),
        Channel(
            "L1:DEAD",
            "",
            "DAQ dead-time fraction",
            Limits(lolo=-1.0, low=-0.5, high=0.05, hihi=0.1),
            valid=(0.0, 1.0),
            pv="TRG:GDL:deadtime_fraction",
        ),
        *(_l1_bit(bit) for bit in L1_BITS),
    )
}

BIT_CHANNELS: tuple[str, ...] = tuple(f"L1:{bit}" for bit in L1_BITS)
RINGS = ("HER", "LER")


def channel(name: str) -> Channel:
    """The channel of that name, or a generic one for channels a source adds on its own."""
    return CHANNELS.get(name) or Channel(name, "", name)
