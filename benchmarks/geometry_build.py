"""Geometry build times: the whole detector cold, and whole-array ECL kernels vs per-crystal loops.

Prints JSON (milliseconds). Run: .venv/bin/python benchmarks/geometry_build.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geometry import ecl
from geometry.detector import build_detector


def _ms(fn: Callable[[], object], repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return round(1e3 * best, 2)


def _crystal_corners_loop() -> np.ndarray:
    """The plain way: one crystal at a time."""
    centres, axes = ecl.crystal_centres(), ecl.crystal_axes()
    _, phi = ecl.crystal_theta_phi()
    edges = ecl.ring_theta_edges()
    out = np.empty((ecl.N_CRYSTALS, 8, 3))
    for i in range(ecl.N_CRYSTALS):
        ring = ecl.RING_OF_CELL[i]
        a = axes[i]
        e = np.array([-np.sin(phi[i]), np.cos(phi[i]), 0.0])
        u = e - (e @ a) * a
        u /= np.linalg.norm(u)
        v = np.cross(a, u)
        k = 0
        for s in (-0.5, 0.5):
            f = centres[i] + s * ecl.CRYSTAL_LENGTH * a
            hu = 0.5 * ecl.FILL * 2 * np.pi / ecl.N_PHI[ring] * np.hypot(f[0], f[1])
            hv = 0.5 * ecl.FILL * (edges[ring, 1] - edges[ring, 0]) * np.linalg.norm(f)
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                out[i, k] = f + su * hu * u + sv * hv * v
                k += 1
    return out


def main() -> None:
    cold = _ms(build_detector)
    theta, phi = ecl.crystal_theta_phi()
    figures = {
        "build_detector_cold_ms": cold,
        "build_detector_cached_ms": _ms(build_detector, 5),
        "build_detector_with_cdc_wires_ms": _ms(lambda: build_detector(cdc_wires=True)),
        "ecl_corners_vectorized_ms": _ms(lambda: ecl.crystal_vertices.__wrapped__(), 5),
        "ecl_corners_loop_ms": _ms(_crystal_corners_loop),
        "cell_at_8736_vectorized_ms": _ms(lambda: ecl.cell_at(theta, phi), 5),
        "cell_at_8736_loop_ms": _ms(lambda: [ecl.cell_at(t, p) for t, p in zip(theta, phi, strict=True)]),
    }
    assert np.allclose(_crystal_corners_loop(), ecl.crystal_vertices())
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
