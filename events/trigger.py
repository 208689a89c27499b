"""Belle II L1 (GDL) output bits as this project names and packs them.

Names and meanings from shared/reference/monitoring.md §2 (basf2 ftd_0036.oup). Bit k of the
header column ``l1_bits`` is ``L1_BITS[k]``. ``PRESCALES`` lists the lines that are prescaled.
"""

from __future__ import annotations

import numpy as np

L1_BITS: tuple[str, ...] = (
    # CDC track lines
    "ff", "ffo", "ffb", "fyo", "fff", "ffy", "fyy", "yyy", "fffo", "ffoc",
    # ECL energy and cluster-count lines
    "hie", "lowe", "lume", "c4", "eclmumu",
    # Bhabha lines
    "bha3d", "bhabha", "bhapur",
    # neutral lines
    "g_high", "g_c1", "gg",
    # ECL low-multiplicity lines
    "lml0", "lml1", "lml2", "lml3", "lml4", "lml5", "lml6", "lml7", "lml8", "lml9", "lml10", "lml12", "lml13",
    # KLM muon lines
    "mu_pair", "mu_b2b", "klmhit", "eklmhit", "cdcklm1", "cdcklm2", "seklm1",
    # technical
    "random", "poisson",
)  # fmt: skip

BIT = {name: k for k, name in enumerate(L1_BITS)}

# The docs cite a prescale of 100 on the 3D Bhabha line; the pure-Bhabha and gamma-gamma lines
# are kept at 1 % like the physics stream of shared/reference/physics.md §5.
PRESCALES: dict[str, int] = {"bha3d": 100, "bhabha": 100, "bhapur": 100, "gg": 100}


def pack(fired: dict[str, np.ndarray]) -> np.ndarray:
    """Pack boolean arrays per bit name into the uint64 ``l1_bits`` column."""
    n = len(next(iter(fired.values()))) if fired else 0
    bits = np.zeros(n, dtype=np.uint64)
    for name, mask in fired.items():
        bits |= np.asarray(mask, dtype=np.uint64) << np.uint64(BIT[name])
    return bits


def unpack(bits: np.ndarray) -> np.ndarray:
    """(N, len(L1_BITS)) boolean matrix of fired bits."""
    shifts = np.arange(len(L1_BITS), dtype=np.uint64)
    return ((np.asarray(bits, dtype=np.uint64)[:, None] >> shifts) & np.uint64(1)).astype(bool)


def fired(bits: np.ndarray, name: str) -> np.ndarray:
    return ((np.asarray(bits, dtype=np.uint64) >> np.uint64(BIT[name])) & np.uint64(1)).astype(bool)
