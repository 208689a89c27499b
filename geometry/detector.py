"""The whole Belle II detector as drawable parts, and a summary of what is drawn."""

from __future__ import annotations

import functools

import numpy as np

from geometry import beampipe, cdc, ecl, klm, pid, solenoid, vxd
from geometry.mesh import Part

PART_NAMES = ("BEAMPIPE", "PXD", "SVD", "CDC", "TOP", "ARICH", "ECL", "COIL", "BKLM", "EKLM")

#: default RGBA per part, chosen to stay distinct on a dark background
COLORS: dict[str, tuple[float, float, float, float]] = {
    "BEAMPIPE": (0.78, 0.80, 0.85, 1.0),  # silver
    "PXD": (1.00, 0.55, 0.20, 1.0),  # orange
    "SVD": (1.00, 0.84, 0.30, 1.0),  # gold
    "CDC": (0.35, 0.72, 1.00, 0.25),  # sky blue, translucent
    "TOP": (0.62, 0.50, 1.00, 0.55),  # violet (quartz)
    "ARICH": (0.25, 0.90, 0.80, 0.55),  # teal
    "ECL": (0.40, 0.90, 0.40, 0.45),  # green (CsI)
    "COIL": (0.80, 0.66, 0.45, 0.25),  # bronze
    "BKLM": (0.95, 0.35, 0.35, 0.25),  # red
    "EKLM": (0.95, 0.45, 0.75, 0.25),  # pink
}


@functools.cache
def _parts(cdc_wires: bool) -> tuple[Part, ...]:
    meshes = {
        "BEAMPIPE": beampipe.beampipe_mesh(),
        "PXD": vxd.pxd_mesh(),
        "SVD": vxd.svd_mesh(),
        "CDC": cdc.cdc_mesh(),
        "TOP": pid.top_mesh(),
        "ARICH": pid.arich_mesh(),
        "ECL": ecl.crystal_mesh("all"),
        "COIL": solenoid.coil_mesh(),
        "BKLM": klm.bklm_mesh(),
        "EKLM": klm.eklm_mesh(),
    }
    counts = {
        "BEAMPIPE": meshes["BEAMPIPE"].n_elements,
        "PXD": vxd.n_ladders(vxd.pxd_layers()),
        "SVD": vxd.n_ladders(vxd.svd_layers()),
        "CDC": cdc.N_LAYERS,
        "TOP": pid.top().n_bars,
        "ARICH": sum(pid.arich_counts().values()),
        "ECL": ecl.N_CRYSTALS,
        "COIL": meshes["COIL"].n_elements,
        "BKLM": klm.bklm().layers,
        "EKLM": sum(klm.eklm().layers.values()),
    }
    return tuple(
        Part(
            name,
            meshes[name],
            COLORS[name],
            counts[name],
            cdc.wires() if (name == "CDC" and cdc_wires) else None,
        )
        for name in PART_NAMES
    )


def build_detector(cdc_wires: bool = False) -> list[Part]:
    """The ten parts BEAMPIPE … EKLM, one mesh each (built once, then cached; arrays read-only).

    Raises GeometryDataError (naming the file) when a geometry table is missing or malformed.
    ``cdc_wires`` adds the 14336 CDC sense wires as ``lines`` of the CDC part.
    """
    return list(_parts(bool(cdc_wires)))


def summary(parts: list[Part]) -> dict[str, dict[str, float | int]]:
    """Per part: count and the r (from the z axis) and z extent [cm] of its drawn vertices."""
    out: dict[str, dict[str, float | int]] = {}
    for part in parts:
        v = part.mesh.vertices.astype(np.float64)
        if part.lines is not None:
            v = np.concatenate([v, part.lines.reshape(-1, 3)])
        r = np.hypot(v[:, 0], v[:, 1])
        out[part.name] = {
            "count": int(part.count),
            "r_min": round(float(r.min()), 3),
            "r_max": round(float(r.max()), 3),
            "z_min": round(float(v[:, 2].min()), 3),
            "z_max": round(float(v[:, 2].max()), 3),
        }
    return out
