"""L1 trigger rates per bit from luminosity, cross sections, trigger efficiencies and beam background.

rate(bit) = L · Σ_p σ_p ε[p, bit] + Σ_s B_s(I) ε_s[bit], prescaled, then dead time and the 30 kHz
DAQ limit (docs/physics.md §7.2). The efficiency matrix ε[process, bit] is an input: it comes from
``events.generator.trigger_efficiencies`` (generated collisions run through the L1 emulation)
when that is available, cached on disk, and otherwise from a coarse hand-set stand-in below.
Beam background B_s scales with the square of the stored current (Touschek and beam-gas both go
as I² at fixed bunch number) and rises while a ring is injecting.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from events.trigger import L1_BITS, prescale_vector
from monitoring.channels import L1_LIMIT_HZ

NB_TO_CM2 = 1e-33
DEAD_TIME_S = 1.0e-6  # non-paralysable dead time per L1 trigger (model parameter, unverified)


@dataclass(frozen=True)
class TriggerMenu:
    """Processes with cross sections and the probability ε[p, bit] that an event fires each bit."""

    processes: tuple[str, ...]
    cross_sections_nb: np.ndarray  # (P,)
    efficiency: np.ndarray  # (P, B) in [0, 1]
    origin: str  # where the efficiencies come from
    bits: tuple[str, ...] = L1_BITS
    dead: frozenset[str] = frozenset()  # lines that fire on nothing (a broken trigger line)
    notes: tuple[str, ...] = ()  # one-line remarks on how it was obtained (a cache rebuilt, ...)

    @property
    def prescales(self) -> np.ndarray:
        return prescale_vector(self.bits)

    def without_bits(self, dead: set[str] | frozenset[str]) -> TriggerMenu:
        """The menu with some bits never firing (a broken trigger line)."""
        unknown = set(dead) - set(self.bits)
        if unknown:
            raise ValueError(f"unknown L1 bits {sorted(unknown)}")
        return replace(self, dead=self.dead | frozenset(dead))

    @property
    def live_mask(self) -> np.ndarray:
        return np.array([b not in self.dead for b in self.bits])


@dataclass(frozen=True)
class Background:
    """Beam-background sources: rate at the reference currents and bit efficiencies."""

    names: tuple[str, ...] = ("LER beam", "HER beam", "injection")
    rate_hz: tuple[float, float, float] = (6000.0, 2000.0, 2500.0)  # order of magnitude, unverified
    reference_current_a: tuple[float, float] = (1.35, 1.05)  # LER, HER
    technical_hz: dict[str, float] | None = None


def _bit_vector(values: dict[str, float]) -> np.ndarray:
    return np.array([values.get(b, 0.0) for b in L1_BITS])


# beam background: mostly low-energy ECL deposits, KLM hits (neutrons) and fake short tracks
_BKG_EFF = {
    "ff": 0.05, "ffo": 0.02, "ffb": 0.005, "fyo": 0.01, "fff": 0.01, "ffy": 0.005, "hie": 0.03,
    "lowe": 0.25, "c4": 0.03, "g_c1": 0.05, "gg": 0.01, "lml0": 0.01, "lml6": 0.01, "lml7": 0.02,
    "lml12": 0.01, "klmhit": 0.30, "eklmhit": 0.45, "cdcklm1": 0.002, "seklm1": 0.01,
}  # fmt: skip
_INJ_EFF = {**_BKG_EFF, "lowe": 0.45, "hie": 0.08, "c4": 0.10, "g_c1": 0.12, "lml0": 0.04}
TECHNICAL_HZ = {"random": 1.0, "poisson": 10.0}  # technical triggers at fixed rates (unverified)


def background_efficiency() -> np.ndarray:
    """(3, B): LER beam, HER beam, injection background."""
    beam = _bit_vector(_BKG_EFF)
    return np.stack([beam, beam, _bit_vector(_INJ_EFF)])


# --- stand-in menu until the generated matrix is available ---------------------------------
_SIGMA_NB = {  # docs/physics.md §3 (Physics Book values)
    "BB": 1.11, "qq": 3.69, "mumu": 1.148, "tautau": 0.919,
    "ee": 74.4, "gg": 3.30, "eeee": 39.7, "eemumu": 18.9,
}  # fmt: skip
_TRACKS2 = {"BB": 0.95, "qq": 0.95, "mumu": 0.95, "tautau": 0.85, "ee": 0.05, "eeee": 0.10, "eemumu": 0.25}
_TRACKS3 = {"BB": 0.93, "qq": 0.90, "tautau": 0.25, "eeee": 0.02, "eemumu": 0.02}
_STANDIN = {
    "ff": _TRACKS2,
    "ffo": {**_TRACKS2, "BB": 0.90, "qq": 0.90, "tautau": 0.80, "eeee": 0.06, "eemumu": 0.18},
    "ffb": {"BB": 0.30, "qq": 0.55, "mumu": 0.90, "tautau": 0.45, "ee": 0.04, "eeee": 0.04, "eemumu": 0.12},
    "fyo": {"BB": 0.88, "qq": 0.88, "mumu": 0.92, "tautau": 0.75, "ee": 0.04, "eeee": 0.05, "eemumu": 0.15},
    "fff": _TRACKS3,
    "ffy": _TRACKS3,
    "fyy": {k: 0.95 * v for k, v in _TRACKS3.items()},
    "yyy": {k: 0.90 * v for k, v in _TRACKS3.items()},
    "fffo": {k: 0.95 * v for k, v in _TRACKS3.items()},
    "ffoc": {"BB": 0.88, "qq": 0.86, "mumu": 0.60, "tautau": 0.70, "ee": 0.04, "eemumu": 0.10},
    "hie": {"BB": 0.97, "qq": 0.90, "mumu": 0.05, "tautau": 0.55, "ee": 0.05, "gg": 0.05, "eeee": 0.02},
    "lowe": {"BB": 0.99, "qq": 0.96, "mumu": 0.40, "tautau": 0.80, "ee": 0.02, "gg": 0.02, "eeee": 0.10},
    "lume": {"BB": 0.60, "qq": 0.70, "tautau": 0.10, "ee": 0.95, "gg": 0.95},
    "c4": {"BB": 0.95, "qq": 0.85, "tautau": 0.20, "ee": 0.01, "gg": 0.01},
    "eclmumu": {"mumu": 0.60, "tautau": 0.05, "ee": 0.01, "eemumu": 0.02},
    "bha3d": {"ee": 0.95, "gg": 0.05},
    "bhabha": {"ee": 0.90, "gg": 0.10},
    "bhapur": {"ee": 0.85},
    "g_high": {"gg": 0.10, "ee": 0.005},
    "g_c1": {"gg": 0.05, "ee": 0.003, "eeee": 0.01},
    "gg": {"gg": 0.90, "ee": 0.02},
    "lml0": {"BB": 0.80, "qq": 0.60, "tautau": 0.30, "ee": 0.01, "gg": 0.05},
    "lml1": {"gg": 0.04, "ee": 0.002},
    "lml2": {"gg": 0.02, "ee": 0.001},
    "lml3": {"gg": 0.02, "ee": 0.001},
    "lml4": {"gg": 0.01, "ee": 0.01},
    "lml5": {"gg": 0.01, "ee": 0.02},
    "lml6": {"gg": 0.08, "tautau": 0.05, "eeee": 0.01},
    "lml7": {"gg": 0.05, "tautau": 0.02, "eeee": 0.01},
    "lml8": {"gg": 0.10, "mumu": 0.02, "eemumu": 0.01},
    "lml9": {"gg": 0.05, "mumu": 0.01},
    "lml10": {"gg": 0.20, "mumu": 0.30, "eemumu": 0.01},
    "lml12": {"BB": 0.70, "qq": 0.55, "tautau": 0.25, "ee": 0.01},
    "lml13": {"gg": 0.01, "tautau": 0.02},
    "mu_pair": {"mumu": 0.85, "tautau": 0.10, "eemumu": 0.15, "BB": 0.03, "qq": 0.02},
    "mu_b2b": {"mumu": 0.80, "tautau": 0.04, "eemumu": 0.03},
    "klmhit": {"mumu": 0.95, "BB": 0.50, "qq": 0.40, "tautau": 0.35, "eemumu": 0.40},
    "eklmhit": {"mumu": 0.25, "BB": 0.20, "qq": 0.20, "tautau": 0.10, "eemumu": 0.30},
    "cdcklm1": {"mumu": 0.80, "tautau": 0.20, "eemumu": 0.20, "BB": 0.05, "qq": 0.04},
    "cdcklm2": {"mumu": 0.60, "tautau": 0.02, "eemumu": 0.05},
    "seklm1": {"mumu": 0.10, "tautau": 0.03, "eemumu": 0.08},
}  # fmt: skip


def standin_menu() -> TriggerMenu:
    """Coarse hand-set efficiencies, used only until the generated matrix is available."""
    processes = tuple(_SIGMA_NB)
    eff = np.array([[_STANDIN.get(b, {}).get(p, 0.0) for b in L1_BITS] for p in processes])
    sigma = np.array([_SIGMA_NB[p] for p in processes])
    return TriggerMenu(processes, sigma, eff, origin="hand-set stand-in efficiencies")


def _generator_fingerprint(module: object) -> str:
    """Hash of the generator package sources, so the cache follows code changes."""
    root = Path(getattr(module, "__file__", "") or ".").parent
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "belle2-display"


def _read_cache(path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The cached matrix; any damage raises (the caller names the file and rebuilds it)."""
    if not zipfile.is_zipfile(path):  # np.load would take it for a pickle and say so
        raise ValueError("not an .npz (zip) archive: truncated or overwritten")
    with np.load(path, allow_pickle=False) as data:
        processes = tuple(str(p) for p in data["processes"])
        sigma = np.asarray(data["cross_sections_nb"], dtype=float)
        eff = np.asarray(data["efficiency"], dtype=float)
    if sigma.shape != (len(processes),) or eff.shape != (len(processes), len(L1_BITS)):
        raise ValueError(f"shapes {sigma.shape} and {eff.shape} do not fit {len(processes)} processes")
    if not (np.isfinite(sigma).all() and np.isfinite(eff).all() and ((eff >= 0) & (eff <= 1)).all()):
        raise ValueError("values that are not finite or not efficiencies")
    return processes, sigma, eff


def _write_cache(path: Path, processes: tuple[str, ...], sigma: np.ndarray, eff: np.ndarray) -> None:
    """Write atomically: a temporary file in the same folder, synced, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, processes=np.array(processes), cross_sections_nb=sigma, efficiency=eff)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_menu(n_per_process: int = 2000, seed: int = 1) -> TriggerMenu:
    """The generated efficiency matrix (cached on disk), or the stand-in when no generator exists.

    A damaged cache file is named in the menu's ``notes`` and rebuilt; a cache that cannot be
    written is noted too, and the matrix is used from memory."""
    try:
        generator = importlib.import_module("events.generator")
        compute = generator.trigger_efficiencies
    except (ImportError, AttributeError):
        return standin_menu()
    path = cache_dir() / f"trigger-eff-{_generator_fingerprint(generator)}-{n_per_process}-{seed}.npz"
    notes: list[str] = []
    cached = None
    if path.exists():
        try:
            cached = _read_cache(path)
        except Exception as exc:  # any damage: BadZipFile, truncation, wrong arrays, a folder
            reason = (str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")[:200]
            notes.append(f"trigger-efficiency cache {path} is damaged ({reason}); rebuilt it")
    if cached is not None:
        processes, sigma, eff = cached
    else:
        names, sigma, eff = compute(n_per_process, seed)
        processes = tuple(str(p) for p in names)
        sigma, eff = np.asarray(sigma, dtype=float), np.asarray(eff, dtype=float)
        if eff.shape != (len(processes), len(L1_BITS)):
            raise ValueError(
                f"events.generator.trigger_efficiencies: shape {eff.shape}, expected (P, {len(L1_BITS)})"
            )
        try:
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a folder")
            _write_cache(path, processes, sigma, eff)
        except OSError as exc:
            notes.append(f"trigger-efficiency cache {path}: cannot write it ({exc}); using it from memory")
    # the generator's matrix includes the prescales; the menu keeps them apart (raw decisions)
    raw = eff * prescale_vector()[None, :]
    origin = f"generated, {n_per_process} events per process"
    return TriggerMenu(processes, sigma, raw, origin=origin, notes=tuple(notes))


@dataclass(frozen=True)
class L1Rates:
    """Rates for N samples: per bit after prescale, total request, accepted and dead-time fraction."""

    bits: np.ndarray  # (N, B) Hz, after prescale and dead time
    request: np.ndarray  # (N,) Hz, union of prescaled bits before dead time
    accepted: np.ndarray  # (N,) Hz, after dead time and the L1 limit
    dead_fraction: np.ndarray  # (N,)


def l1_rates(
    menu: TriggerMenu,
    luminosity: np.ndarray,
    i_ler: np.ndarray,
    i_her: np.ndarray,
    injecting: np.ndarray,
    background: Background | None = None,
    background_scale: np.ndarray | float = 1.0,
) -> L1Rates:
    """Expected L1 rates for N samples of luminosity [cm^-2 s^-1], currents [A] and injection flags.

    Within one source of events (a process or a background) the bits are taken as independent when
    forming the union of prescaled bits; across sources the rates add.
    """
    background = background or Background()
    lum = np.atleast_1d(np.asarray(luminosity, dtype=float))
    ler0, her0 = background.reference_current_a
    physics = lum[:, None] * menu.cross_sections_nb[None, :] * NB_TO_CM2  # (N, P)
    bkg = np.stack(
        [
            background.rate_hz[0] * (np.asarray(i_ler) / ler0) ** 2,
            background.rate_hz[1] * (np.asarray(i_her) / her0) ** 2,
            background.rate_hz[2] * np.asarray(injecting, dtype=float),
        ],
        axis=1,
    ) * np.reshape(background_scale, (-1, 1))  # (N, 3)
    sources = np.concatenate([physics, bkg], axis=1)  # (N, P + 3)
    eff = np.concatenate([menu.efficiency, background_efficiency()], axis=0)  # (P + 3, B)
    eff = eff * menu.live_mask[None, :]
    prescaled = eff / menu.prescales[None, :]
    technical = _bit_vector(background.technical_hz or TECHNICAL_HZ) * menu.live_mask
    bit_request = sources @ prescaled + technical[None, :]  # (N, B)
    union = 1.0 - np.prod(1.0 - prescaled, axis=1)  # (P + 3,)
    request = sources @ union + technical.sum()
    live = 1.0 / (1.0 + request * DEAD_TIME_S)
    accepted = np.minimum(request * live, L1_LIMIT_HZ)
    kept = np.divide(accepted, request, out=np.zeros_like(request), where=request > 0)
    return L1Rates(bit_request * kept[:, None], request, accepted, 1.0 - kept)
