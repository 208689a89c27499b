"""L1 trigger rates from luminosity, the emulated physics, beam background and the DAQ.

rate = L · Σ_p σ_p ε_p + Σ_s B_s(I) ε_s + technical, then dead time and the 30 kHz DAQ limit
(docs/physics.md §7.2). The physics part is ``events.trigger.RateModel``, the same model the
``generate`` summary prints: ε_p is the fraction of generated events of process p that fire any line
after the prescales, event by event. Its events come from ``events.generator.rate_model``, cached on
disk. Beam background B_s is not emulated event by event: each source has a hand-set efficiency per
line (a model) and scales with the square of the stored current (Touschek and beam-gas both go as I²
at fixed bunch number), rising while a ring injects. The output keeps physics and background apart.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
import zipfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from events import trigger
from events.trigger import L1_BITS, NB_TO_CM2, PhysicsRates, RateModel, prescale_vector
from monitoring.channels import L1_LIMIT_HZ

DEAD_TIME_S = 1.0e-6  # non-paralysable dead time per L1 trigger (model parameter, unverified)
DEFAULT_EVENTS = 2000  # generated events per process behind the cached model
QUICK_EVENTS = 200  # for a quick, uncached model


@dataclass(frozen=True)
class TriggerMenu:
    """The physics rate model, with the lines that are dead (a broken trigger line) and its history."""

    model: RateModel
    origin: str  # where the events come from
    dead: frozenset[str] = frozenset()  # lines that fire on nothing
    notes: tuple[str, ...] = ()  # one-line remarks on how it was obtained (a cache rebuilt, ...)
    bits: tuple[str, ...] = L1_BITS

    @property
    def processes(self) -> tuple[str, ...]:
        return self.model.processes

    @property
    def cross_sections_nb(self) -> np.ndarray:
        return self.model.cross_sections_nb

    @property
    def efficiency(self) -> np.ndarray:
        """(P, B): fraction of each process's events firing each line, before prescaling."""
        return self.model.raw_efficiency()

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

    @cached_property
    def _per_event(self) -> tuple[np.ndarray, np.ndarray]:
        """What the physics rates take from the emulated events for this menu's live lines: each
        process's acceptance (P,) and line efficiencies (P, B). Unpacking and judging every event
        was nine tenths of a simulation step; a menu's lines never change (dead lines make another
        menu), so it is done once per menu."""
        live = self.live_mask
        return self.model.acceptance(live), self.model.bit_efficiency(live)

    def physics_rates(self, luminosity: np.ndarray | float) -> PhysicsRates:
        """``model.rates(luminosity, live_mask)``, the same floats, from the menu's cached efficiencies."""
        acceptance, efficiency = self._per_event
        lum = np.atleast_1d(np.asarray(luminosity, dtype=float))
        flux = lum[:, None] * self.model.cross_sections_nb[None, :] * NB_TO_CM2  # (N, P) events per second
        return PhysicsRates(flux * acceptance[None, :], flux @ efficiency)


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


def _generator_fingerprint() -> str:
    """Hash of the generator and L1 emulation sources, so the cache follows code changes."""
    import events.generator as generator

    root = Path(getattr(generator, "__file__", "") or ".").parent
    digest = hashlib.sha1()
    for path in [*sorted(root.rglob("*.py")), Path(trigger.__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "belle2-display"


def cache_path(n_per_process: int = DEFAULT_EVENTS, seed: int = 1) -> Path:
    return cache_dir() / f"trigger-model-{_generator_fingerprint()}-{n_per_process}-{seed}.npz"


def _read_cache(path: Path) -> tuple[tuple[str, ...], np.ndarray, tuple[np.ndarray, ...]]:
    """The cached model; any damage raises (the caller names the file and rebuilds it)."""
    if not zipfile.is_zipfile(path):  # np.load would take it for a pickle and say so
        raise ValueError("not an .npz (zip) archive: truncated or overwritten")
    with np.load(path, allow_pickle=False) as data:
        processes = tuple(str(p) for p in data["processes"])
        sigma = np.asarray(data["cross_sections_nb"], dtype=float)
        counts = np.asarray(data["counts"])
        raw = np.asarray(data["raw_bits"])
    if sigma.shape != (len(processes),) or counts.shape != (len(processes),):
        raise ValueError(f"shapes {sigma.shape} and {counts.shape} do not fit {len(processes)} processes")
    if raw.dtype != np.uint64 or raw.ndim != 1 or (counts < 0).any() or int(counts.sum()) != len(raw):
        raise ValueError(f"{len(raw)} events of type {raw.dtype} do not fit the counts {counts.tolist()}")
    if not (np.isfinite(sigma).all() and (sigma >= 0).all()):
        raise ValueError("cross sections that are not finite or negative")
    if (raw >> np.uint64(len(L1_BITS))).any():
        raise ValueError(f"L1 bits beyond the {len(L1_BITS)} lines")
    edges = np.concatenate([[0], np.cumsum(counts)])
    return processes, sigma, tuple(raw[a:b] for a, b in itertools.pairwise(edges))


def _write_cache(path: Path, model: RateModel) -> None:
    """Write atomically: a temporary file in the same folder, synced, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    raw = np.concatenate([*model.raw_bits, np.zeros(0, dtype=np.uint64)]).astype(np.uint64)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f,
                processes=np.array(model.processes),
                cross_sections_nb=model.cross_sections_nb,
                counts=model.counts,
                raw_bits=raw,
            )
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def quick_menu(n_per_process: int = QUICK_EVENTS, seed: int = 1) -> TriggerMenu:
    """A menu from a few generated events per process, not cached (tests, quick looks)."""
    from events.generator import rate_model

    model = rate_model(n_per_process, seed)
    return TriggerMenu(model, origin=model.origin)


def load_menu(n_per_process: int = DEFAULT_EVENTS, seed: int = 1) -> TriggerMenu:
    """The rate model from generated events (cached on disk).

    A damaged cache file is named in the menu's ``notes`` and rebuilt; a cache that cannot be
    written is noted too, and the model is used from memory."""
    from events.generator import rate_model

    path = cache_path(n_per_process, seed)
    origin = f"generated, {n_per_process} events per process"
    notes: list[str] = []
    if path.exists():
        try:
            processes, sigma, raw = _read_cache(path)
            return TriggerMenu(RateModel(processes, sigma, raw, origin), origin)
        except Exception as exc:  # any damage: BadZipFile, truncation, wrong arrays, a folder
            reason = (str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")[:200]
            notes.append(f"trigger-rate cache {path} is damaged ({reason}); rebuilt it")
    model = rate_model(n_per_process, seed)
    try:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder")
        _write_cache(path, model)
    except OSError as exc:
        notes.append(f"trigger-rate cache {path}: cannot write it ({exc}); using it from memory")
    return TriggerMenu(model, origin, notes=tuple(notes))


@dataclass(frozen=True)
class L1Rates:
    """Rates for N samples, request and accepted rates split into physics and beam background.

    ``bits`` (N, B) per line after prescale and dead time; ``request`` the rate of events firing any
    line before dead time, = ``physics + background + technical``; ``accepted`` after dead time and
    the L1 limit; ``per_process`` (N, P) the physics request per process."""

    bits: np.ndarray
    request: np.ndarray
    accepted: np.ndarray
    dead_fraction: np.ndarray
    physics: np.ndarray
    background: np.ndarray
    technical: np.ndarray
    per_process: np.ndarray


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

    Physics from the menu's rate model (event by event); beam background per source, where the
    lines are taken as independent for want of emulated background events; technical triggers at
    fixed rates. Sources add."""
    background = background or Background()
    live = menu.live_mask
    lum = np.atleast_1d(np.asarray(luminosity, dtype=float))
    physics = menu.physics_rates(lum)
    ler0, her0 = background.reference_current_a
    bkg = np.stack(
        [
            background.rate_hz[0] * (np.asarray(i_ler) / ler0) ** 2,
            background.rate_hz[1] * (np.asarray(i_her) / her0) ** 2,
            background.rate_hz[2] * np.asarray(injecting, dtype=float),
        ],
        axis=1,
    ) * np.reshape(background_scale, (-1, 1))  # (N, 3)
    bkg_eff = background_efficiency() * live[None, :] / menu.prescales[None, :]  # (3, B)
    bkg_any = 1.0 - np.prod(1.0 - bkg_eff, axis=1)  # (3,)
    technical = _bit_vector(background.technical_hz or TECHNICAL_HZ) * live
    bit_request = physics.bits + bkg @ bkg_eff + technical[None, :]  # (N, B)
    bkg_request = bkg @ bkg_any
    tech = np.full(len(lum), technical.sum())
    request = physics.total + bkg_request + tech
    alive = 1.0 / (1.0 + request * DEAD_TIME_S)
    accepted = np.minimum(request * alive, L1_LIMIT_HZ)
    kept = np.divide(accepted, request, out=np.zeros_like(request), where=request > 0)
    return L1Rates(
        bit_request * kept[:, None],
        request,
        accepted,
        1.0 - kept,
        physics.total,
        bkg_request,
        tech,
        physics.per_process,
    )
