"""`main.py geometry`: summarise the drawn detector, the ECL crystal counts and one crystal (--cell N)."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from geometry import ecl
from geometry.detector import build_detector, summary
from geometry.reference import GeometryDataError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--cell", type=int, metavar="N", help=f"describe ECL crystal cellId N (1…{ecl.N_CRYSTALS})"
    )


def cell_info(cell_id: int) -> dict[str, float | int | str]:
    """thetaID, phiID, centre (cm) and direction (rad) of one crystal; ValueError for a bad cellId."""
    theta_id, phi_id = ecl.cell_to_theta_phi_id(cell_id)
    x, y, z = ecl.crystal_centres()[cell_id - 1]
    theta, phi = ecl.crystal_theta_phi()
    return {
        "cellId": cell_id,
        "thetaID": int(theta_id),
        "phiID": int(phi_id),
        "region": ecl.REGION_NAMES[int(ecl.region(cell_id))],
        "x": round(float(x), 4),
        "y": round(float(y), 4),
        "z": round(float(z), 4),
        "theta": round(float(theta[cell_id - 1]), 6),
        "phi": round(float(phi[cell_id - 1]), 6),
    }


def report(cell: int | None) -> dict[str, object]:
    out: dict[str, object] = {
        "units": "cm, rad",
        "subdetectors": summary(build_detector()),
        "ecl": {"crystals": ecl.crystals_per_region(), "total": ecl.N_CRYSTALS},
    }
    if cell is not None:
        out["cell"] = cell_info(cell)
    return out


def _table(data: dict[str, object]) -> str:
    subs = data["subdetectors"]
    assert isinstance(subs, dict)
    lines = [f"{'part':<9}{'count':>7}{'r_min':>10}{'r_max':>10}{'z_min':>10}{'z_max':>10}   (cm)"]
    for name, s in subs.items():
        lines.append(
            f"{name:<9}{s['count']:>7}{s['r_min']:>10.2f}{s['r_max']:>10.2f}{s['z_min']:>10.2f}{s['z_max']:>10.2f}"
        )
    crystals = ecl.crystals_per_region()
    lines.append(
        f"ECL crystals: {ecl.N_CRYSTALS} = forward {crystals['forward']} + barrel {crystals['barrel']}"
        f" + backward {crystals['backward']}"
    )
    cell = data.get("cell")
    if isinstance(cell, dict):
        lines.append(
            f"cell {cell['cellId']} ({cell['region']}): thetaID {cell['thetaID']}, phiID {cell['phiID']}, "
            f"centre ({cell['x']:.2f}, {cell['y']:.2f}, {cell['z']:.2f}) cm, "
            f"θ {np.degrees(cell['theta']):.2f}°, φ {np.degrees(cell['phi']):.2f}°"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    cell = args.cell
    if cell is not None and not 1 <= cell <= ecl.N_CRYSTALS:
        print(f"geometry: --cell {cell} is not an ECL cellId (valid: 1…{ecl.N_CRYSTALS})", file=sys.stderr)
        return 2
    try:
        data = report(cell)
    except GeometryDataError as err:
        print(f"geometry: {err}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.json else _table(data))
    return 0
