"""Geometry build times: the whole detector cold, and whole-array ECL kernels vs per-crystal loops.

Prints JSON (milliseconds). Run: .venv/bin/python benchmarks/geometry_build.py [--quick]
(``--quick``: one timing of each, the per-crystal cell_at loop on 1000 crystals only).
``ratios``: the whole-array ECL kernels against the per-crystal Python loops (per crystal for
cell_at, so the quick run's shorter loop compares the same way).
"""

from __future__ import annotations

import argparse
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
    c = ecl.crystals()
    out = np.empty((ecl.N_CRYSTALS, 8, 3))
    for i in range(ecl.N_CRYSTALS):
        a = c.axis[i]
        e = np.array([-np.sin(c.phi[i]), np.cos(c.phi[i]), 0.0])
        u = e - (e @ a) * a
        u /= np.linalg.norm(u)
        v = np.cross(a, u)
        k = 0
        for end, s in enumerate((-0.5, 0.5)):
            f = c.centre[i] + s * c.length[i] * a
            hu, hv = ecl.FILL * c.half_phi[i, end], ecl.FILL * c.half_theta[i, end]
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                out[i, k] = f + su * hu * u + sv * hv * v
                k += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timing each, a shorter cell_at loop")
    quick = parser.parse_args().quick
    repeat = 1 if quick else 5
    cold = _ms(build_detector)
    theta, phi = ecl.crystal_theta_phi()
    n_loop = 1000 if quick else ecl.N_CRYSTALS
    figures = {
        "build_detector_cold_ms": cold,
        "build_detector_cached_ms": _ms(build_detector, repeat),
        "build_detector_with_cdc_wires_ms": _ms(lambda: build_detector(cdc_wires=True)),
        "ecl_corners_vectorized_ms": _ms(lambda: ecl.crystal_vertices.__wrapped__(), repeat),
        "ecl_corners_loop_ms": _ms(_crystal_corners_loop),
        "cell_at_8736_vectorized_ms": _ms(lambda: ecl.cell_at(theta, phi), repeat),
        "cell_at_loop_crystals": n_loop,
        "cell_at_loop_ms": _ms(
            lambda: [ecl.cell_at(t, p) for t, p in zip(theta[:n_loop], phi[:n_loop], strict=True)]
        ),
    }
    per_crystal_loop = figures["cell_at_loop_ms"] / n_loop
    per_crystal_vectorized = figures["cell_at_8736_vectorized_ms"] / ecl.N_CRYSTALS
    ratios = {
        "ecl_corners_vectorized_vs_loop": {
            "value": figures["ecl_corners_loop_ms"] / max(figures["ecl_corners_vectorized_ms"], 1e-3),
            "goal": 10.0,
            "against": "the ECL crystal corners built crystal by crystal in a Python loop",
        },
        "cell_at_vectorized_vs_loop": {
            "value": per_crystal_loop / max(per_crystal_vectorized, 1e-6),
            "goal": 10.0,
            "against": "ecl.cell_at called once per crystal in a Python loop (time per crystal)",
        },
    }
    assert np.allclose(_crystal_corners_loop(), ecl.crystal_vertices())
    print(json.dumps({**figures, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
