"""Fused numba kernels: compute the observable and fill the histogram in one pass.

The events are split into one block per thread; each block fills its own ``LANES`` interleaved
sub-histograms (event ``i`` goes to lane ``i % LANES``), so consecutive increments of the same
bin do not wait on each other; lanes and threads are summed at the end (environment.md §5.2).
The arithmetic repeats ``observables`` operation for operation (no fastmath) and the bin rule is
``axes.Axis.index``, so the counts equal the numpy backend's bin by bin. Inputs may be float32
or float64; all arithmetic is float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

LANES = 4
RAD_TO_DEG = 180.0 / math.pi


@njit(cache=True, inline="always")
def _bin(v: float, lo: float, span: float, bins: int) -> int:
    z = (v - lo) / span
    if z >= 0.0 and z < 1.0:
        return int(z * bins)
    return -1


@njit(cache=True, inline="always")
def _signed_sqrt(m2: float) -> float:
    return math.copysign(math.sqrt(abs(m2)), m2)


@njit(cache=True, inline="always")
def _mass2(e: float, x: float, y: float, z: float) -> float:
    return e * e - x * x - y * y - z * z


@njit(cache=True)
def _block_recoil(p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, signed, lo, span, bins, start, stop, hist):
    """M^2_rec (or the signed M_rec) of events start..stop into hist[lane, bin]."""
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    for i in range(start, stop):
        ax, ay, az = float(p1x[i]), float(p1y[i]), float(p1z[i])
        cx, cy, cz = float(p2x[i]), float(p2y[i]), float(p2z[i])
        e1 = math.sqrt(ax * ax + ay * ay + az * az + m2)
        e2 = math.sqrt(cx * cx + cy * cy + cz * cz + m2)
        v = _mass2(be - e1 - e2, bx - ax - cx, by - ay - cy, bz - az - cz)
        b = _bin(_signed_sqrt(v) if signed else v, lo, span, bins)
        if b >= 0:
            hist[i % LANES, b] += 1


@njit(cache=True)
def _block_pair_recoil(
    p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, xlo, xspan, nx, ylo, yspan, ny, start, stop, hist
):
    """(M_mumu, M_rec) of events start..stop into hist[lane, ix * ny + iy]."""
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    for i in range(start, stop):
        ax, ay, az = float(p1x[i]), float(p1y[i]), float(p1z[i])
        cx, cy, cz = float(p2x[i]), float(p2y[i]), float(p2z[i])
        e1 = math.sqrt(ax * ax + ay * ay + az * az + m2)
        e2 = math.sqrt(cx * cx + cy * cy + cz * cz + m2)
        ix = _bin(_signed_sqrt(_mass2(e1 + e2, ax + cx, ay + cy, az + cz)), xlo, xspan, nx)
        iy = _bin(
            _signed_sqrt(_mass2(be - e1 - e2, bx - ax - cx, by - ay - cy, bz - az - cz)), ylo, yspan, ny
        )
        if ix >= 0 and iy >= 0:
            hist[i % LANES, ix * ny + iy] += 1


@njit(cache=True)
def _block_recoil_theta(
    p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, xlo, xspan, nx, ylo, yspan, ny, start, stop, hist
):
    """(M^2_rec, lab polar angle of the recoil [deg]) of events start..stop."""
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    for i in range(start, stop):
        ax, ay, az = float(p1x[i]), float(p1y[i]), float(p1z[i])
        cx, cy, cz = float(p2x[i]), float(p2y[i]), float(p2z[i])
        e1 = math.sqrt(ax * ax + ay * ay + az * az + m2)
        e2 = math.sqrt(cx * cx + cy * cy + cz * cz + m2)
        re, rx, ry, rz = be - e1 - e2, bx - ax - cx, by - ay - cy, bz - az - cz
        ix = _bin(_mass2(re, rx, ry, rz), xlo, xspan, nx)
        iy = _bin(math.atan2(math.sqrt(rx * rx + ry * ry), rz) * RAD_TO_DEG, ylo, yspan, ny)
        if ix >= 0 and iy >= 0:
            hist[i % LANES, ix * ny + iy] += 1


@njit(cache=True)
def _block_photon(energy, theta, phi, beam, sqrt_s, lo, span, bins, start, stop, hist):
    """E*_gamma = (P_beam . p_gamma) / sqrt(s) of photons (E, theta, phi) start..stop."""
    be, bx, by, bz = beam[0], beam[1], beam[2], beam[3]
    for i in range(start, stop):
        e, th, ph = float(energy[i]), float(theta[i]), float(phi[i])
        st = math.sin(th)
        px = e * st * math.cos(ph)
        py = e * st * math.sin(ph)
        pz = e * math.cos(th)
        b = _bin((be * e - bx * px - by * py - bz * pz) / sqrt_s, lo, span, bins)
        if b >= 0:
            hist[i % LANES, b] += 1


@njit(parallel=True, cache=True)
def fill_pair(p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, kind, xlo, xhi, nx, ylo, yhi, ny, nt):
    """Muon-pair observables on ``nt`` threads.
    kind 0: M^2_rec; 1: M_rec; 2: (M_mumu, M_rec); 3: (M^2_rec, theta_rec)."""
    n = p1x.shape[0]
    hist = np.zeros((nt, LANES, nx * ny), np.int64)
    step = (n + nt - 1) // nt
    for t in prange(nt):
        start, stop = t * step, min(n, (t + 1) * step)
        if kind <= 1:
            _block_recoil(
                p1x, p1y, p1z, p2x, p2y, p2z, beam, m2, kind == 1, xlo, xhi - xlo, nx, start, stop, hist[t]
            )
        elif kind == 2:
            _block_pair_recoil(
                p1x,
                p1y,
                p1z,
                p2x,
                p2y,
                p2z,
                beam,
                m2,
                xlo,
                xhi - xlo,
                nx,
                ylo,
                yhi - ylo,
                ny,
                start,
                stop,
                hist[t],
            )
        else:
            _block_recoil_theta(
                p1x,
                p1y,
                p1z,
                p2x,
                p2y,
                p2z,
                beam,
                m2,
                xlo,
                xhi - xlo,
                nx,
                ylo,
                yhi - ylo,
                ny,
                start,
                stop,
                hist[t],
            )
    return hist.sum(axis=0).sum(axis=0)


@njit(parallel=True, cache=True)
def fill_photon(energy, theta, phi, beam, sqrt_s, lo, hi, bins, nt):
    """E*_gamma of photons given by (E, theta, phi), on ``nt`` threads."""
    n = energy.shape[0]
    hist = np.zeros((nt, LANES, bins), np.int64)
    step = (n + nt - 1) // nt
    for t in prange(nt):
        _block_photon(
            energy, theta, phi, beam, sqrt_s, lo, hi - lo, bins, t * step, min(n, (t + 1) * step), hist[t]
        )
    return hist.sum(axis=0).sum(axis=0)
