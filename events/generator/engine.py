"""The generator loop: pick a process per event, sample, boost, place vertices, simulate the detector.

Each chunk draws from its own random stream, ``default_rng([seed, chunk])``, so the same seed and chunk
size give identical batches, and memory stays bounded by the chunk size however long the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from events import trigger
from events.generator import beams, detector, physics, processes, signals, stream_model
from events.generator.particles import F8, Particles, ParticleTable
from events.generator.physics import GeneratorConfig
from events.generator.signals import SignalSpec
from events.model import EventBatch

DEFAULT_CHUNK = 5000
MAX_BARREN_CHUNKS = 20  # chunks in a row without an L1-firing event before the L1-accepted stream gives up
# The physics stream is drawn at its post-L1 process shares, σ·ε of the rate model (stream_model.py,
# docs/physics.md §3), and its events are spaced in time at the model's L1 rate at 5.1e34
# (stream_model.stream_rate_hz). It is not filtered by the L1 emulation: each event carries the bits its own
# emulation gives (docs/physics.md §6). The rate model's own events are spaced at this fixed rate (their
# times enter nothing; it keeps them as they were).
MODEL_EVENTS_RATE_HZ = 1370.0
EPOCH_NS = 1_733_011_200 * 10**9  # 2024-12-01T00:00:00Z, the month of the luminosity record

ProcessSelection = Sequence[str | int] | Mapping[str | int, float] | None


class GeneratorError(ValueError):
    """A generator request that cannot be met (unknown process, fractions above 1, ...)."""


@dataclass(frozen=True)
class Mixture:
    """What each event may be: background process codes and signals, with probabilities."""

    codes: np.ndarray  # process codes (background), then SIGNAL_PROCESS for each signal
    signals: tuple[SignalSpec | None, ...]
    probabilities: np.ndarray


def _process_code(key: str | int) -> int:
    if isinstance(key, str) and key in processes.BY_NAME:
        return processes.BY_NAME[key].code
    if isinstance(key, int | np.integer) and int(key) in processes.BY_CODE:
        return int(key)
    names = ", ".join(p.name for p in processes.PROCESSES)
    raise GeneratorError(f"unknown process {key!r} (choose from {names})")


def mixture(
    selection: ProcessSelection, signal_specs: Sequence[SignalSpec] | None, collisions: bool = False
) -> Mixture:
    """Event-type probabilities: signals take their fractions, processes share the rest by stream share
    (with ``collisions``, by cross section: the collisions before L1)."""
    specs = tuple(signal_specs or ())
    fractions = np.array([s.fraction for s in specs], dtype=np.float64)
    total_signal = float(fractions.sum())
    if total_signal > 1.0 + 1e-9:
        raise GeneratorError(f"signal fractions add up to {total_signal:g} > 1")
    if selection is None:
        codes, shares = stream_model.stream_shares(collisions=collisions)
    elif isinstance(selection, Mapping):
        codes = np.array([_process_code(k) for k in selection], dtype=np.int16)
        shares = np.array(list(selection.values()), dtype=np.float64)
        if (shares < 0).any() or (len(shares) and shares.sum() <= 0):
            raise GeneratorError("process weights must be non-negative and not all zero")
        shares = shares / shares.sum() if len(shares) else shares
    else:
        codes, shares = (
            stream_model.stream_shares([_process_code(k) for k in selection], collisions)
            if len(selection)
            else (np.zeros(0, np.int16), np.zeros(0))
        )
    if not len(codes):
        if not specs:
            raise GeneratorError("nothing to generate: no processes and no signals")
        probs = fractions / total_signal
    else:
        probs = np.concatenate([shares * max(0.0, 1.0 - total_signal), fractions])
    all_codes = np.concatenate([codes, np.full(len(specs), processes.SIGNAL_PROCESS, dtype=np.int16)])
    return Mixture(all_codes, (None,) * len(codes) + specs, probs / probs.sum())


def place_vertices(rng: np.random.Generator, parts: Particles, primary: F8) -> tuple[F8, F8]:
    """Production and decay points [cm] (lab): primaries at the event vertex, flights ~ Exp((p/m) cτ)."""
    n = len(parts)
    production = np.full((n, 3), np.nan)
    decay = np.full((n, 3), np.nan)
    has_daughters = parts.has_daughters()
    depth = np.zeros(n, dtype=np.int64)
    for _ in range(16):
        new = np.where(parts.mother >= 0, depth[np.maximum(parts.mother, 0)] + 1, 0)
        if np.array_equal(new, depth):
            break
        depth = new
    p3 = parts.p4[:, 1:]
    p = np.linalg.norm(p3, axis=1)
    m = np.sqrt(np.clip(parts.p4[:, 0] ** 2 - p**2, 1e-12, None))
    flight = np.where(parts.ctau > 0, p / m * parts.ctau * rng.exponential(1.0, n), 0.0)
    for d in range(int(depth.max(initial=0)) + 1):
        sel = np.flatnonzero(depth == d)
        production[sel] = primary[parts.event[sel]] if d == 0 else decay[parts.mother[sel]]
        dec = sel[has_daughters[sel]]
        direction = p3[dec] / np.maximum(p[dec], 1e-12)[:, None]
        decay[dec] = production[dec] + flight[dec, None] * direction
    return production, decay


def sample_particles(
    rng: np.random.Generator, kinds: np.ndarray, mix: Mixture, cfg: GeneratorConfig
) -> Particles:
    """True particles (beam frame) of events whose mixture entry is ``kinds``."""
    table = ParticleTable()
    for k in range(len(mix.codes)):
        where = np.flatnonzero(kinds == k)
        if not len(where):
            continue
        spec = mix.signals[k]
        if spec is None:
            sampler = physics.SAMPLERS[processes.BY_CODE[int(mix.codes[k])].name]
            parts = sampler(rng, len(where), cfg)
        else:
            parts = signals.sample_signal(spec, rng, len(where), cfg)
        table.extend(parts, where)
    return table.freeze().sorted_by_event()


def generate_chunk(
    rng: np.random.Generator,
    n: int,
    mix: Mixture,
    cfg: GeneratorConfig,
    first_event: int = 1,
    t0_ns: int = EPOCH_NS,
    rate_hz: float = MODEL_EVENTS_RATE_HZ,
) -> EventBatch:
    kinds = rng.choice(len(mix.codes), n, p=mix.probabilities)
    parts = sample_particles(rng, kinds, mix, cfg)
    parts.p4 = beams.to_lab(parts.p4)
    primary = beams.sample_vertex(rng, n)
    production, decay = place_vertices(rng, parts, primary)
    cols = detector.respond(rng, parts, production, decay, primary, n, cfg.bz, cfg.beam_background)
    signal_code = np.array([s.code if s else -1 for s in mix.signals], dtype=np.int16)
    signal_mass = np.array([s.mass if s else np.nan for s in mix.signals], dtype=np.float32)
    gaps = rng.exponential(1e9 / rate_hz, n)
    header = {
        "experiment": np.zeros(n, dtype=np.int32),
        "run": np.zeros(n, dtype=np.int32),
        "event": first_event + np.arange(n, dtype=np.int64),
        "time": t0_ns + np.cumsum(gaps).astype(np.uint64),
        "process": mix.codes[kinds],
        "signal": signal_code[kinds],
        "signal_mass": signal_mass[kinds],
        "bz": np.full(n, cfg.bz, dtype=np.float32),
    }
    batch = EventBatch.build(n, header, source="generator", **cols)
    batch.header["l1_bits"][:] = trigger.emulate_l1(batch)
    return batch


def collision_rate_hz(mix: Mixture, luminosity: float = 5.1e34) -> float:
    """Collisions per second of a mixture's processes at ``luminosity`` (signals add their fractions)."""
    sigma = sum(processes.BY_CODE[int(c)].cross_section_nb for c in mix.codes if int(c) in processes.BY_CODE)
    background = float(mix.probabilities[: len([s for s in mix.signals if s is None])].sum())
    if sigma <= 0 or background <= 0:
        return stream_model.stream_rate_hz()
    return luminosity * sigma * trigger.NB_TO_CM2 / background


def stream(
    seed: int = 0,
    signals: Sequence[SignalSpec] | None = None,
    processes: ProcessSelection = None,
    chunk_size: int = DEFAULT_CHUNK,
    config: GeneratorConfig | None = None,
    n_events: int | None = None,
    l1_accepted: bool = False,
    collisions: Callable[[EventBatch], None] | None = None,
    rate_hz: float | None = None,
) -> Iterator[EventBatch]:
    """Batches of ``chunk_size`` generated events, forever or until ``n_events``.

    By default the stream is drawn at the process shares after L1 and not filtered by it (each event
    carries the bits its emulation gives). With ``l1_accepted`` it is the L1-accepted stream itself:
    collisions are drawn at their cross sections (signals at their fractions of the collisions), spaced
    in time at their rate, and only those that fire a line after the prescales are kept, with their own
    event numbers (the gaps are the rejected collisions). ``collisions`` then sees every batch of
    collisions, kept or not, up to the last kept event: what the rate model needs. ``rate_hz`` sets the
    time spacing of the unfiltered stream (default: the full physics stream's L1 rate at 5.1e34)."""
    if chunk_size < 1:
        raise GeneratorError(f"chunk_size must be positive, got {chunk_size}")
    cfg = config or GeneratorConfig()
    mix = mixture(processes, signals, collisions=l1_accepted)
    if l1_accepted:
        rate = collision_rate_hz(mix)
    else:
        rate = stream_model.stream_rate_hz() if rate_hz is None else rate_hz
        if not (np.isfinite(rate) and rate > 0):
            raise GeneratorError(f"the stream's rate must be a positive number of Hz, got {rate:g}")
    chunk, done, t0, first, barren = 0, 0, EPOCH_NS, 1, 0
    while n_events is None or done < n_events:
        size = chunk_size if n_events is None else min(chunk_size, n_events - done)
        rng = np.random.default_rng([seed, chunk])
        batch = generate_chunk(rng, chunk_size if l1_accepted else size, mix, cfg, first, t0, rate)
        chunk += 1
        if l1_accepted:
            kept = np.flatnonzero(batch.header["l1_bits"] != 0)[:size]
            seen = batch if len(kept) < size else batch.slice(0, int(kept[-1]) + 1)
            first += len(seen)
            t0 = int(seen.header["time"][-1])
            if collisions is not None:
                collisions(seen)
            barren = 0 if len(kept) else barren + 1
            if barren >= MAX_BARREN_CHUNKS:
                raise GeneratorError(
                    f"no event of {barren * chunk_size} generated collisions fires an L1 line: "
                    "nothing to keep for the L1-accepted stream"
                )
            if not len(kept):
                continue
            batch = batch.take(kept)
        else:
            first += len(batch)
            t0 = int(batch.header["time"][-1])
        done += len(batch)
        yield batch


def generate(
    n: int,
    seed: int = 0,
    signals: Sequence[SignalSpec] | None = None,
    processes: ProcessSelection = None,
    chunk_size: int = DEFAULT_CHUNK,
    config: GeneratorConfig | None = None,
) -> EventBatch:
    """``n`` generated events in one batch (built chunk by chunk)."""
    if n < 0:
        raise GeneratorError(f"number of events must be non-negative, got {n}")
    if n == 0:
        return EventBatch.empty()
    return EventBatch.concat(list(stream(seed, signals, processes, chunk_size, config, n_events=n)))


def rate_model(
    n_per_process: int = 2000, seed: int = 0, config: GeneratorConfig | None = None
) -> trigger.RateModel:
    """The L1 rate model from ``n_per_process`` emulated events of every process (docs/physics.md §6)."""
    return _model(processes.PROCESSES, n_per_process, seed, config)


def _model(
    chosen: Sequence[processes.Process], n_per_process: int, seed: int, config: GeneratorConfig | None = None
) -> trigger.RateModel:
    """The rate model of ``chosen``: ``n_per_process`` events each, seed ``seed * 1000 + code``."""
    names, sigmas, raw = [], [], []
    for proc in chosen:
        batch = EventBatch.concat(list(stream(
            seed * 1000 + proc.code, processes=[proc.name], config=config, n_events=n_per_process,
            rate_hz=MODEL_EVENTS_RATE_HZ,
        )))  # fmt: skip
        raw.append(trigger.pack(trigger.l1_decisions(batch)))
        names.append(proc.name)
        sigmas.append(proc.cross_section_nb)
    origin = f"generated, {n_per_process} events per process"
    return trigger.RateModel(tuple(names), np.array(sigmas), tuple(raw), origin)


def acceptances(n_per_process: int, seed: int) -> dict[str, float]:
    """ε of every process, the default stream's and those made on request, from the rate model of
    ``n_per_process`` events each (the same events as ``rate_model(n_per_process, seed)``)."""
    model = _model(processes.PROCESSES + processes.ON_REQUEST, n_per_process, seed)
    return {name: float(e) for name, e in zip(model.processes, model.acceptance(), strict=True)}


def model_of(codes: np.ndarray, raw_bits: np.ndarray, origin: str = "") -> trigger.RateModel:
    """The rate model of generated events given their ``process`` codes and raw (unprescaled) bits.

    Signal events (``process`` 0) and codes of no process are left out."""
    codes = np.asarray(codes)
    chosen = [p for p in processes.PROCESSES if (codes == p.code).any()]
    return trigger.RateModel(
        tuple(p.name for p in chosen),
        np.array([p.cross_section_nb for p in chosen]),
        tuple(np.asarray(raw_bits, dtype=np.uint64)[codes == p.code] for p in chosen),
        origin,
    )
