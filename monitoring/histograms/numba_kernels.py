"""Fused numba kernels: compute the observable and fill the histogram in one pass.

Each thread fills its own block of events into ``LANES`` interleaved sub-histograms (event ``i``
goes to lane ``i % LANES``), so consecutive increments of the same bin do not wait on each
other; lanes and threads are summed at the end (environment.md §5.2). The arithmetic repeats
``observables`` operation for operation and the bin rule is ``axes.Axis.index``, so the counts
equal the numpy backend's bin by bin. Inputs may be float32 or float64; all arithmetic is float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

LANES = 4


@njit(cache=True, inline="always")
def _bin(v: float, lo: float, span: float, bins: int) -> int:
    z = (v - lo) / span
    if z >= 0.0 and z < 1.0:
        return int(z * bins)
    return -1


@njit(cache=True, inline="always")
def _signed_sqrt(m2: float) -> float:
    return math.copysign(math.sqrt(abs(m2)), m2)


@njit(parallel=True, cache=True)
def fill_pair(p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, kind, xlo, xhi, nx, ylo, yhi, ny, nt):
    """Muon-pair observables. kind 0: M^2_rec; 1: M_rec; 2: (M_mumu, M_rec); 3: (M^2_rec, theta_rec)."""
    n = p1x.shape[0]
    nbins = nx * ny
    hist = np.zeros((nt, LANES, nbins), np.int64)
    step = (n + nt - 1) // nt
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    xspan = xhi - xlo
    yspan = yhi - ylo
    for t in prange(nt):
        for i in range(t * step, min(n, (t + 1) * step)):
            ax = float(p1x[i])
            ay = float(p1y[i])
            az = float(p1z[i])
            cx = float(p2x[i])
            cy = float(p2y[i])
            cz = float(p2z[i])
            e1 = math.sqrt(ax * ax + ay * ay + az * az + m2)
            e2 = math.sqrt(cx * cx + cy * cy + cz * cz + m2)
            re = be - e1 - e2
            rx = bx - ax - cx
            ry = by - ay - cy
            rz = bz - az - cz
            rm2 = re * re - rx * rx - ry * ry - rz * rz
            if kind == 0:
                b = _bin(rm2, xlo, xspan, nx)
            elif kind == 1:
                b = _bin(_signed_sqrt(rm2), xlo, xspan, nx)
            elif kind == 2:
                se = e1 + e2
                sx = ax + cx
                sy = ay + cy
                sz = az + cz
                ix = _bin(_signed_sqrt(se * se - sx * sx - sy * sy - sz * sz), xlo, xspan, nx)
                iy = _bin(_signed_sqrt(rm2), ylo, yspan, ny)
                b = ix * ny + iy if ix >= 0 and iy >= 0 else -1
            else:
                ix = _bin(rm2, xlo, xspan, nx)
                theta = math.atan2(math.sqrt(rx * rx + ry * ry), rz) * (180.0 / math.pi)
                iy = _bin(theta, ylo, yspan, ny)
                b = ix * ny + iy if ix >= 0 and iy >= 0 else -1
            if b >= 0:
                hist[t, i % LANES, b] += 1
    return hist.sum(axis=0).sum(axis=0)


@njit(parallel=True, cache=True)
def fill_photon(energy, theta, phi, beam, sqrt_s, lo, hi, bins, nt):
    """E*_gamma of photons given by (E, theta, phi)."""
    n = energy.shape[0]
    hist = np.zeros((nt, LANES, bins), np.int64)
    step = (n + nt - 1) // nt
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    span = hi - lo
    for t in prange(nt):
        for i in range(t * step, min(n, (t + 1) * step)):
            e = float(energy[i])
            th = float(theta[i])
            ph = float(phi[i])
            st = math.sin(th)
            px = e * st * math.cos(ph)
            py = e * st * math.sin(ph)
            pz = e * math.cos(th)
            b = _bin((be * e - bx * px - by * py - bz * pz) / sqrt_s, lo, span, bins)
            if b >= 0:
                hist[t, i % LANES, b] += 1
    return hist.sum(axis=0).sum(axis=0)
