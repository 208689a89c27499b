"""A model of SuperKEKB and Belle II data taking, evaluable at any instant.

Each ring's stored current is a chain of analytic segments (docs/physics.md §7.1; docs/monitoring.md §2.3):

* ``topup``: continuous injection holds the current near its setpoint; the beam decays with its
  lifetime and injection restores it, a sawtooth of small amplitude;
* ``collapse``: a sudden beam loss, a fraction of the beam lost within 10-50 µs (mostly LER),
  followed by the beam abort of both rings one abort latency later;
* ``zero``: no beam, until the machine has recovered (minutes);
* ``refill``: injection at a fixed rate against the lifetime, up to the setpoint, then top-up.

Luminosity follows the product of the currents, scaled to the peak at the setpoints. Runs start
when the beams are stable, last at most ``run_length_s`` and end at each abort; a fill starts at
each refill. Injection-background bursts are intervals with a dirtier injection. Times are
seconds of the simulated clock; random draws come from one seeded generator, so a seed and a
start time fix the whole history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

TURN_S = 10e-6  # revolution period (docs/physics.md §1)


@dataclass(frozen=True)
class MachineConfig:
    her_setpoint_a: float = 1.05  # docs/physics.md §1: HER ~1.0-1.1 A, LER ~1.3-1.4 A (2022-24)
    ler_setpoint_a: float = 1.35
    her_lifetime_s: float = 1200.0  # model parameters (Touschek-dominated LER is shorter)
    ler_lifetime_s: float = 600.0
    topup_ripple: float = 0.003  # fractional sawtooth amplitude of top-up injection
    topup_injecting: float = 0.3  # fraction of the sawtooth spent injecting
    refill_factor: float = 3.0  # refill asymptote / setpoint: a few minutes to refill
    recovery_s: tuple[float, float] = (60.0, 240.0)  # abort -> refill start (unverified)
    peak_luminosity: float = 5.1e34  # at the setpoints; record of Dec 2024 (docs/physics.md §1)
    luminosity_noise: float = 0.01  # online luminosity error ~1 % (docs/physics.md §7.1)
    sbl_per_hour: float = 0.5
    sbl_ler_share: float = 0.8  # mostly LER (arXiv:2510.04415)
    sbl_duration_s: tuple[float, float] = (10e-6, 50e-6)
    sbl_loss_fraction: tuple[float, float] = (0.3, 0.9)
    abort_latency_s: float = 2.5e-6 + TURN_S  # to the abort request, then one turn to dump
    run_length_s: float = 3600.0
    run_elapsed_s: float = 0.0  # how long the first run has been going at the start
    run_start_delay_s: float = 120.0  # stable beams -> run start (detector HV ramp)
    run_gap_s: float = 30.0
    bursts_per_hour: float = 2.0  # injection-background bursts
    burst_duration_s: tuple[float, float] = (20.0, 120.0)
    burst_factor: float = 6.0
    experiment: int = 35

    @classmethod
    def design(cls, **overrides: float) -> MachineConfig:
        """Design currents and luminosity (docs/physics.md §1): an L1 request of about 25 kHz (§7.2)."""
        values: dict = dict(her_setpoint_a=2.6, ler_setpoint_a=3.6, peak_luminosity=6.3e35)
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class Loss:
    """A sudden beam loss: ``fraction`` of ``ring`` lost in ``duration`` from ``time``, then abort."""

    time: float
    ring: str
    fraction: float
    duration: float
    abort_time: float


@dataclass
class Ring:
    name: str
    setpoint: float
    lifetime: float
    starts: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    params: list[tuple[float, ...]] = field(default_factory=list)

    def add(self, t: float, kind: str, *params: float) -> None:
        self.starts.append(t)
        self.kinds.append(kind)
        self.params.append(params)

    def kind_at(self, t: float) -> str:
        k = max(0, int(np.searchsorted(self.starts, t, side="right")) - 1)
        return self.kinds[k]

    def forget_before(self, t: float) -> None:
        """Drop segments that ended before ``t`` (bounded memory over long runs)."""
        k = max(0, int(np.searchsorted(self.starts, t, side="right")) - 2)
        del self.starts[:k], self.kinds[:k], self.params[:k]

    def evaluate(self, t: np.ndarray, cfg: MachineConfig) -> tuple[np.ndarray, np.ndarray]:
        """Current [A] and injection duty (0..1) at times ``t``."""
        t = np.asarray(t, dtype=float)
        current = np.zeros_like(t)
        duty = np.zeros_like(t)
        seg = np.searchsorted(self.starts, t, side="right") - 1
        for k in np.unique(seg):
            if k < 0:
                continue
            m = seg == k
            t0, kind, p = self.starts[k], self.kinds[k], self.params[k]
            dt = t[m] - t0
            if kind == "topup":
                a, q = cfg.topup_ripple, cfg.topup_injecting
                period = a * self.lifetime / (1.0 - q)
                phase = np.mod(dt / period, 1.0)
                falling = phase < 1.0 - q
                drop = np.where(falling, phase / (1.0 - q), (1.0 - phase) / q)
                current[m] = self.setpoint * (1.0 - a * drop)
                duty[m] = q  # mean duty: the background model wants the average, not the phase
            elif kind == "refill":
                current[m] = cfg.refill_factor * self.setpoint * -np.expm1(-dt / self.lifetime)
                duty[m] = 1.0
            elif kind == "collapse":
                start_current, fraction, duration = p
                current[m] = start_current * (1.0 - fraction * np.clip(dt / duration, 0.0, 1.0))
        return current, duty

    def injecting(self, t: np.ndarray, cfg: MachineConfig) -> np.ndarray:
        """Instantaneous injection flag (the rising edges of the top-up sawtooth, all of a refill)."""
        t = np.asarray(t, dtype=float)
        out = np.zeros(t.shape, dtype=bool)
        seg = np.searchsorted(self.starts, t, side="right") - 1
        for k in np.unique(seg):
            if k < 0:
                continue
            m = seg == k
            if self.kinds[k] == "refill":
                out[m] = True
            elif self.kinds[k] == "topup":
                a, q = cfg.topup_ripple, cfg.topup_injecting
                period = a * self.lifetime / (1.0 - q)
                out[m] = np.mod((t[m] - self.starts[k]) / period, 1.0) >= 1.0 - q
        return out

    def refill_done(self, t0: float, cfg: MachineConfig) -> float:
        """When a refill that began at ``t0`` reaches the setpoint."""
        return t0 - self.lifetime * math.log(1.0 - 1.0 / cfg.refill_factor)


class Machine:
    """SuperKEKB + Belle II run control, advanced in simulated time by :meth:`advance`."""

    def __init__(self, cfg: MachineConfig, start: float, seed: int = 0) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.rings = {
            "HER": Ring("HER", cfg.her_setpoint_a, cfg.her_lifetime_s),
            "LER": Ring("LER", cfg.ler_setpoint_a, cfg.ler_lifetime_s),
        }
        for ring in self.rings.values():
            ring.add(start, "topup")
        self.now = start
        self.losses: list[Loss] = []
        self.bursts: list[tuple[float, float]] = []
        # run control: run k spans [run_starts[k], run_ends[k]) (end inf while open)
        self.run_numbers: list[int] = [1]
        self.run_starts: list[float] = [start - cfg.run_elapsed_s]
        self.run_ends: list[float] = [math.inf]
        self.fill_numbers: list[int] = [1]
        self.fill_starts: list[float] = [start]
        self._stable_since: float | None = start
        self._refill_start: float | None = None
        self._recovery_end = math.inf
        self._next_loss = self._draw(start, cfg.sbl_per_hour)
        self._scheduled_loss = math.inf
        self._next_burst = self._draw(start, cfg.bursts_per_hour)

    def _draw(self, t: float, per_hour: float) -> float:
        return t + self.rng.exponential(3600.0 / per_hour) if per_hour > 0 else math.inf

    # --- evolution -----------------------------------------------------------------------
    @property
    def stable(self) -> bool:
        return self._stable_since is not None

    def _running(self) -> bool:
        return math.isinf(self.run_ends[-1])

    def _next_event(self) -> tuple[float, str]:
        cfg = self.cfg
        candidates = [(self._next_burst, "burst")]
        if self.stable:
            assert self._stable_since is not None
            candidates.append((self._next_loss, "loss"))
            if self._running():
                candidates.append((self.run_starts[-1] + cfg.run_length_s, "run_end"))
            else:
                earliest = max(self._stable_since + cfg.run_start_delay_s, self.run_ends[-1] + cfg.run_gap_s)
                candidates.append((earliest, "run_start"))
        elif self._refill_start is not None:
            done = max(ring.refill_done(self._refill_start, cfg) for ring in self.rings.values())
            candidates.append((max(done, self._refill_start), "stable"))
        else:
            candidates.append((self._recovery_end, "refill"))
        return min(candidates)

    def advance(self, t_end: float) -> None:
        """Generate every machine event up to ``t_end``."""
        while True:
            t, what = self._next_event()
            if t > t_end:
                break
            getattr(self, f"_on_{what}")(t)
        self.now = t_end
        horizon = t_end - 3600.0
        for ring in self.rings.values():
            ring.forget_before(horizon)
        self.losses = self.losses[-1000:]
        self.bursts = [b for b in self.bursts if b[1] > horizon]
        keep = max(1, len(self.run_numbers) - 1000)
        del self.run_numbers[: keep - 1], self.run_starts[: keep - 1], self.run_ends[: keep - 1]
        keep = max(1, len(self.fill_numbers) - 1000)
        del self.fill_numbers[: keep - 1], self.fill_starts[: keep - 1]

    def schedule_loss(self, t: float) -> None:
        """Make the next sudden beam loss happen at ``t`` (for fault drills and tests); it
        happens then if the beams are stable, otherwise at the next stable beams after it."""
        self._scheduled_loss = t
        if self.stable:
            self._next_loss = max(t, self.now)

    def _on_burst(self, t: float) -> None:
        lo, hi = self.cfg.burst_duration_s
        self.bursts.append((t, t + self.rng.uniform(lo, hi)))
        self._next_burst = self._draw(t, self.cfg.bursts_per_hour)

    def _on_loss(self, t: float) -> None:
        cfg = self.cfg
        name = "LER" if self.rng.random() < cfg.sbl_ler_share else "HER"
        ring = self.rings[name]
        duration = self.rng.uniform(*cfg.sbl_duration_s)
        fraction = self.rng.uniform(*cfg.sbl_loss_fraction)
        start_current = float(ring.evaluate(np.array([t]), cfg)[0][0])
        ring.add(t, "collapse", start_current, fraction, duration)
        abort = t + duration + cfg.abort_latency_s
        for other in self.rings.values():
            other.add(abort, "zero")
        self.losses.append(Loss(t, name, fraction, duration, abort))
        if self._running():
            self.run_ends[-1] = abort
        self._stable_since = None
        lo, hi = cfg.recovery_s
        self._recovery_end = abort + self.rng.uniform(lo, hi)
        self._refill_start = None
        self._next_loss = math.inf
        if self._scheduled_loss <= t:
            self._scheduled_loss = math.inf

    def _on_refill(self, t: float) -> None:
        for ring in self.rings.values():
            ring.add(t, "refill")
            ring.add(ring.refill_done(t, self.cfg), "topup")
        self._refill_start = t
        self.fill_numbers.append(self.fill_numbers[-1] + 1)
        self.fill_starts.append(t)

    def _on_stable(self, t: float) -> None:
        self._stable_since = t
        self._refill_start = None
        self._next_loss = min(self._draw(t, self.cfg.sbl_per_hour), max(t, self._scheduled_loss))

    def _on_run_start(self, t: float) -> None:
        self.run_numbers.append(self.run_numbers[-1] + 1)
        self.run_starts.append(t)
        self.run_ends.append(math.inf)

    def _on_run_end(self, t: float) -> None:
        self.run_ends[-1] = t

    # --- observation ---------------------------------------------------------------------
    def currents(self, t: np.ndarray) -> dict[str, np.ndarray]:
        return {name: ring.evaluate(t, self.cfg)[0] for name, ring in self.rings.items()}

    def luminosity(self, t: np.ndarray, currents: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Noise-free luminosity [cm^-2 s^-1]: the product of the currents, peak at the setpoints."""
        cfg = self.cfg
        c = currents if currents is not None else self.currents(t)
        k = cfg.peak_luminosity / (cfg.her_setpoint_a * cfg.ler_setpoint_a)
        return k * c["HER"] * c["LER"]

    def injection_duty(self, t: np.ndarray) -> np.ndarray:
        """Mean injection duty of both rings (drives the injection background)."""
        return sum((ring.evaluate(t, self.cfg)[1] for ring in self.rings.values()), np.zeros_like(t))

    def background_scale(self, t: np.ndarray) -> np.ndarray:
        """Multiplier of the beam background: ``burst_factor`` inside injection-background bursts."""
        scale = np.ones_like(np.asarray(t, dtype=float))
        for t0, t1 in self.bursts:
            scale[(t >= t0) & (t < t1)] = self.cfg.burst_factor
        return scale

    def run_state(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(run number, running flag) at times ``t``; the number is that of the last run begun."""
        k = np.clip(np.searchsorted(self.run_starts, t, side="right") - 1, 0, None)
        numbers = np.asarray(self.run_numbers)[k]
        running = (t >= np.asarray(self.run_starts)[k]) & (t < np.asarray(self.run_ends)[k])
        return numbers, running

    def fill_number(self, t: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self.fill_starts, t, side="right") - 1, 0, None)
        return np.asarray(self.fill_numbers)[k]

    def losses_between(self, t0: float, t1: float) -> list[Loss]:
        return [loss for loss in self.losses if t0 < loss.time <= t1]
