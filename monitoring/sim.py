"""``sim://``: the SuperKEKB/Belle II simulation as a live source, in its own thread.

URL options (all optional): ``accel`` time-acceleration factor (1), ``seed`` (1), ``tick`` wall
seconds (0.1) in which at least one sample and at most ``max_samples`` (10) are taken,
``sample_dt`` simulated seconds between samples otherwise (1.0), ``sbl_rate`` sudden beam losses
per hour (0.5), ``burst_rate`` injection-background bursts per hour (2), ``run_length`` seconds (3600),
``run_elapsed`` seconds the first run has been going where the replayed history begins (half a run),
``preset=design`` (design currents and luminosity: the L1 rate sits at the 30 kHz limit),
``peak_lumi`` (5.1e34), ``dead_bits`` comma-separated L1 bits that stop firing, ``start`` epoch
seconds of the simulated clock where the live data begins (now), ``history`` seconds of the
machine's past replayed first (3600: the shifter's charts open on the last hour, as the archiver
would give them; 0 for none) sampled every ``history_dt`` seconds (10), ``sbl_at`` seconds after
``start`` when a sudden beam loss happens (a drill; it comes at the next stable beams if there
are none then).

Options are bounded so that no URL can make the source outrun its consumer: ``history`` at most
the 12 h the strip charts hold and at most ``MAX_HISTORY_SAMPLES`` samples, ``accel`` at most
``MAX_ACCEL``, ``max_samples`` at most 1000; a value beyond is clamped, and the source says so
in :attr:`~monitoring.source.Source.notices`.

Samples lie on a regular grid of simulated time (``SimSource.sample_spacing``) and are published as
soon as they are due, at most ``PUBLISH_HZ`` times a second (the panels' frame rate): at 60x real
time a batch of two samples 30 times a second rather than six, ten times a second, so the charts
move at their frame rate; at real time a sample every 0.1 s, as it comes.

Each batch carries, per sample, the beam currents, luminosity (with 1 % noise), L1 rates per bit
(Poisson counts over the sample interval), the accepted and requested L1 rate, the request split
into physics and beam background, and the dead-time fraction; run, fill and injection states when
they change. Around a sudden beam loss it adds turn-by-turn samples of the currents and luminosity,
as a post-mortem recorder would.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from events.trigger import L1_BITS
from monitoring.channels import BIT_CHANNELS, CHANNELS, Severity, severity_array
from monitoring.machine import TURN_S, Machine, MachineConfig
from monitoring.rates import TriggerMenu, l1_rates, load_menu
from monitoring.source import Source, SourceError, Update, option, parse_url

MAX_HISTORY_S = 12 * 3600.0  # what the strip charts hold (StripBuffer: 8640 bins of 5 s)
MAX_HISTORY_SAMPLES = 5000  # history / history_dt: about 300k updates to replay at most
MAX_ACCEL = 3600.0  # an hour of machine time per second
MAX_SAMPLES = 1000
PUBLISH_HZ = 30.0  # batches per second at most: LiveHub's frame rate

CONTINUOUS = ("HER:I", "LER:I", "LUM", "L1:TOTAL", "L1:RAW", "L1:DEAD", "L1:PHYS", "L1:BKG", *BIT_CHANNELS)
DISCRETE = ("EXP", "RUN", "RUNNING", "FILL", "HER:INJ", "LER:INJ")


class Simulation:
    """The machine plus the trigger-rate model, sampled into :class:`Update` lists (no thread)."""

    def __init__(
        self,
        cfg: MachineConfig,
        start: float,
        seed: int = 1,
        menu: TriggerMenu | None = None,
    ) -> None:
        self.machine = Machine(cfg, start, seed)
        self.rng = np.random.default_rng(seed + 7919)
        self.menu = menu
        self.now = start
        self._last_discrete: dict[str, float] = {}

    def kill_bits(self, bits: set[str]) -> None:
        """Make L1 lines stop firing from now on (a broken trigger line)."""
        assert self.menu is not None
        self.menu = self.menu.without_bits(bits)

    def step(self, t_end: float, n_samples: int) -> list[Update]:
        """Advance to ``t_end`` and sample ``n_samples`` equally spaced instants up to it."""
        if self.menu is None:
            self.menu = load_menu()
        t_start = self.now
        self.machine.advance(t_end)
        dt = (t_end - t_start) / n_samples
        times = t_start + dt * np.arange(1, n_samples + 1)
        # turn-by-turn samples around each sudden loss, for the post-mortem recorder
        fine = [
            loss.time + TURN_S * np.arange(-5, math.ceil((loss.abort_time - loss.time) / TURN_S) + 6)
            for loss in self.machine.losses_between(t_start, t_end)
        ]
        beam_times = np.unique(np.concatenate([times, *fine])) if fine else times
        beam_times = beam_times[(beam_times > t_start) & (beam_times <= t_end)]
        currents = self.machine.currents(beam_times)
        lum = self.machine.luminosity(beam_times, currents)
        lum = lum * (1.0 + self.machine.cfg.luminosity_noise * self.rng.standard_normal(lum.shape))

        updates: list[Update] = []
        for name, values in (("HER:I", currents["HER"]), ("LER:I", currents["LER"]), ("LUM", lum)):
            updates += self._series(name, beam_times, values)

        # rates: mean over each sample interval, Poisson counts
        mid = times - 0.5 * dt
        c = self.machine.currents(mid)
        rates = l1_rates(
            self.menu,
            self.machine.luminosity(mid, c),
            c["LER"],
            c["HER"],
            self.machine.injection_duty(mid),
            background_scale=self.machine.background_scale(mid),
        )
        counts = self.rng.poisson(np.maximum(rates.bits, 0.0) * dt)
        for k, name in enumerate(BIT_CHANNELS):
            updates += self._series(name, times, counts[:, k] / dt)
        accepted = np.minimum(self.rng.poisson(rates.accepted * dt) / dt, rates.accepted.max() * 1.05 + 1)
        updates += self._series("L1:TOTAL", times, accepted)
        updates += self._series("L1:RAW", times, rates.request)
        updates += self._series("L1:DEAD", times, rates.dead_fraction)
        updates += self._series("L1:PHYS", times, rates.physics)
        updates += self._series("L1:BKG", times, rates.background)

        run, running = self.machine.run_state(times)
        discrete = {
            "EXP": np.full(times.shape, float(self.machine.cfg.experiment)),
            "RUN": run.astype(float),
            "RUNNING": running.astype(float),
            "FILL": self.machine.fill_number(times).astype(float),
            "HER:INJ": self.machine.rings["HER"].injecting(times, self.machine.cfg).astype(float),
            "LER:INJ": self.machine.rings["LER"].injecting(times, self.machine.cfg).astype(float),
        }
        for name, values in discrete.items():
            updates += self._changes(name, times, values)
        self.now = t_end
        return updates

    def _series(self, name: str, times: np.ndarray, values: np.ndarray) -> list[Update]:
        sev = severity_array(values, CHANNELS[name].limits)
        return [
            Update(name, t, v, s)
            for t, v, s in zip(times.tolist(), values.tolist(), sev.tolist(), strict=True)
        ]

    def _changes(self, name: str, times: np.ndarray, values: np.ndarray) -> list[Update]:
        """EPICS-monitor semantics: only values that differ from the last one sent."""
        out = []
        last = self._last_discrete.get(name)
        for t, v in zip(times, values, strict=True):
            if v != last:
                out.append(Update(name, float(t), float(v)))
                last = float(v)
        if last is not None:
            self._last_discrete[name] = last
        return out


def config_from_options(options: dict[str, str], url: str) -> MachineConfig:
    preset = options.get("preset", "default")
    if preset not in ("default", "design"):
        raise SourceError(f"{url!r}: unknown preset {preset!r} (default or design)")
    base = MachineConfig.design() if preset == "design" else MachineConfig()
    return MachineConfig(
        **{
            **base.__dict__,
            "sbl_per_hour": option(options, "sbl_rate", base.sbl_per_hour, url),
            "bursts_per_hour": option(options, "burst_rate", base.bursts_per_hour, url),
            "run_length_s": (run_length := option(options, "run_length", base.run_length_s, url)),
            # the replayed past opens mid-run, as a shifter's does, not on a run start
            "run_elapsed_s": option(options, "run_elapsed", 0.5 * run_length, url),
            "peak_luminosity": option(options, "peak_lumi", base.peak_luminosity, url),
        }
    )


class SimSource(Source):
    """The simulation running in a daemon thread at ``accel`` times real time."""

    scheme = "sim"

    def __init__(self, url: str = "sim://") -> None:
        super().__init__(url, CONTINUOUS + DISCRETE)
        _, _, options = parse_url(url)
        self.accel = option(options, "accel", 1.0, url)
        self.tick = option(options, "tick", 0.1, url)
        self.sample_dt = option(options, "sample_dt", 1.0, url)
        self.max_samples = int(min(option(options, "max_samples", 10, url), 1e9))
        if not (self.accel > 0 and self.tick > 0 and self.sample_dt > 0 and self.max_samples >= 1):
            raise SourceError(f"{url!r}: accel, tick, sample_dt and max_samples must be positive")
        if not (math.isfinite(self.accel) and math.isfinite(self.tick) and math.isfinite(self.sample_dt)):
            raise SourceError(f"{url!r}: accel, tick and sample_dt must be finite")
        self.accel = self._clamp("accel", self.accel, MAX_ACCEL, "x real time")
        self.max_samples = int(self._clamp("max_samples", self.max_samples, MAX_SAMPLES, "per tick"))
        self.seed = int(min(max(option(options, "seed", 1, url), 0), 2**63 - 1))
        self.start_time = option(options, "start", time.time(), url)
        if not 0 < self.start_time < 1e11:
            raise SourceError(f"{url!r}: start={self.start_time:g} is not a time (epoch seconds)")
        self.live_from = self.start_time
        self.history = option(options, "history", 3600.0, url)
        self.history_dt = option(options, "history_dt", 10.0, url)
        if not (self.history >= 0 and self.history_dt > 0 and math.isfinite(self.history_dt)):
            raise SourceError(f"{url!r}: history must be >= 0 and history_dt positive")
        self.history = self._clamp("history", self.history, MAX_HISTORY_S, "s (what the strip charts hold)")
        most = self.history_dt * MAX_HISTORY_SAMPLES
        self.history = self._clamp("history", self.history, most, f"s at history_dt={self.history_dt:g} s")
        self.sbl_at = option(options, "sbl_at", math.nan, url)
        self.config = config_from_options(options, url)
        self.dead_bits = {b for b in options.get("dead_bits", "").split(",") if b}
        unknown = self.dead_bits - set(L1_BITS)
        if unknown:
            raise SourceError(f"{url!r}: unknown L1 bits {sorted(unknown)}")
        self.simulation: Simulation | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str = ""

    def sample_spacing(self) -> float:
        """Simulated seconds between live samples: ``sample_dt``, but at least one sample per
        ``tick`` of wall time and at most ``max_samples`` per tick, whatever the acceleration."""
        per_tick = self.tick * self.accel
        return min(max(self.sample_dt, per_tick / self.max_samples), per_tick)

    def _clamp(self, key: str, value: float, most: float, unit: str) -> float:
        if value <= most:
            return value
        self.notices.append(f"{self.url}: {key}={value:g} is more than {most:g} {unit}; using {most:g}")
        return most

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"source {self.url}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def kill_bits(self, bits: set[str]) -> None:
        """Fault injection: these L1 lines stop firing from the next batch on."""
        if self.simulation is not None:
            self.simulation.kill_bits(bits)
        self.dead_bits |= set(bits)

    def _replay_history(self, sim: Simulation, batch_s: float = 600.0) -> None:
        """Publish the simulated past up to ``start_time`` in batches of ``batch_s`` seconds."""
        while sim.now < self.start_time and not self._stop.is_set():
            t_end = min(self.start_time, sim.now + batch_s)
            self._publish(sim.step(t_end, max(1, math.ceil((t_end - sim.now) / self.history_dt))))

    def _run(self) -> None:
        try:
            menu = load_menu()  # off the GUI thread; cached on disk after the first time
            self.notices.extend(f"{self.url}: {note}" for note in menu.notes)
            if self.dead_bits:
                menu = menu.without_bits(self.dead_bits)
            begin = self.start_time - self.history
            self.simulation = sim = Simulation(self.config, begin, self.seed, menu)
            if math.isfinite(self.sbl_at):
                sim.machine.schedule_loss(self.start_time + self.sbl_at)
            self._replay_history(sim)
            wake = min(self.tick, 1.0 / PUBLISH_HZ)
            spacing = self.sample_spacing()
            most = max(1, math.ceil(self.max_samples * wake / self.tick))  # per wake-up
            wall0 = time.monotonic()
            while not self._stop.wait(wake):
                target = self.start_time + self.accel * (time.monotonic() - wall0)
                due = math.floor((target - sim.now) / spacing + 1e-9)
                if due < 1:
                    continue
                if due > most:  # behind (a busy machine): catch up to now, the samples spread out
                    self._publish(sim.step(target, most))
                else:
                    self._publish(sim.step(sim.now + due * spacing, due))
        except Exception as exc:  # the GUI must learn why the source died, not crash
            self.error = f"{self.url}: simulation stopped: {type(exc).__name__}: {exc}"
            self._publish(
                [Update(c, time.time(), math.nan, Severity.INVALID, False, self.error) for c in self.channels]
            )
