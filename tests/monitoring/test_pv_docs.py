"""docs/monitoring.md lists exactly the PVs the simulation IOC serves, with their units and limits."""

from __future__ import annotations

import re
from pathlib import Path

from events.trigger import L1_BITS, PRESCALES
from monitoring.ioc import pv_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        if line.startswith("| `SIM:"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    return rows


def _is_line(channel: str) -> bool:
    return channel.startswith("L1:") and channel[3:] in L1_BITS


def _limits(spec, scale: float) -> str:
    lim = spec.limits
    if lim.lolo == lim.hihi and lim.low == lim.high:
        return "—"
    return " / ".join(f"{v * scale:g}" for v in (lim.hihi, lim.high, lim.low, lim.lolo))


def test_the_pv_table_is_what_the_ioc_serves() -> None:
    rows = _rows()
    served = {name: (spec, scale) for name, spec, scale in pv_table() if not _is_line(spec.name)}
    assert set(rows) == set(served)
    for name, (spec, scale) in served.items():
        _, channel, units, limits, meaning = rows[name]
        assert channel == f"`{spec.name}`"
        assert units == ("mA" if scale == 1000.0 else spec.units or "—")
        assert limits == _limits(spec, scale), name
        assert meaning == spec.description


def test_every_trigger_line_has_the_documented_pv() -> None:
    text = DOC.read_text()
    assert "`SIM:TRG:GDL:psnm_<bit>:rate`, channel `L1:<bit>`" in text
    assert f"each of the {len(L1_BITS)}" in text
    for prescale in set(PRESCALES.values()):
        listed = re.search(rf"[:;] {prescale} for (.*?)[;)]", text)
        assert listed is not None, prescale
        assert set(re.findall(r"`(\w+)`", listed.group(1))) == {
            b for b, p in PRESCALES.items() if p == prescale
        }
    bits = {spec.name[3:]: name for name, spec, _ in pv_table() if _is_line(spec.name)}
    assert set(bits) == set(L1_BITS)
    for bit, name in bits.items():
        assert name == f"SIM:TRG:GDL:psnm_{bit}:rate"
