"""``main.py generate``: write generated Belle II events (with optional dark-sector signals) to a file.

    python main.py generate -n 10000 -o events.h5 --seed 1 --signal zprime:mass=3.0,fraction=0.01

Events are generated and written chunk by chunk (bounded memory); a summary of events per process and
the L1 rates at ``--luminosity`` (5.1e34 cm^-2 s^-1) is printed: per process σ · L times the fraction of its
generated events that fire any line after the prescales, the rate model the monitoring panels use
(``events.trigger.RateModel``, docs/physics.md §6). By default the stream is drawn at its process shares
after L1, σ·ε of that model (``stream_model.py``), and not filtered by it (the summary says how many events
fire a line, and the model's physics total the shares come from); ``--l1-accepted`` writes
the L1-accepted stream itself (only events that fire a line, the rejected collisions counted).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from events import trigger
from events.generator import engine, stream_model
from events.generator.physics import GeneratorConfig
from events.generator.processes import ON_REQUEST, PROCESSES, process_name, signal_name
from events.generator.signals import SignalSpecError, parse_signal
from events.io import WRITABLE_SUFFIXES as SUFFIXES  # the formats events.io can write
from events.model import EventBatch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--events", type=int, default=1000, help="number of events (default 1000)")
    parser.add_argument("-o", "--output", required=True, help="output file: .h5, .root or .json")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same events)")
    parser.add_argument(
        "--signal",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a labelled signal, e.g. zprime:mass=3.0,fraction=0.01 (repeatable); kinds: zprime, "
        "darkhiggs (ma, mh), darkphoton, alp, llp (mass, ctau [cm], channel mumu|pipi)",
    )
    parser.add_argument(
        "--process",
        action="append",
        default=None,
        choices=[p.name for p in PROCESSES + ON_REQUEST],
        help="restrict the stream to these processes (repeatable; default: the full stream)",
    )
    parser.add_argument(
        "--l1-accepted",
        action="store_true",
        help="write the L1-accepted stream: collisions at their cross sections, only those firing a line "
        "after the prescales kept, the rejected ones counted (about five collisions per event written)",
    )
    parser.add_argument("--chunk-size", type=int, default=engine.DEFAULT_CHUNK, help="events per chunk")
    parser.add_argument("--no-isr", action="store_true", help="switch off initial-state radiation")
    parser.add_argument(
        "--beam-background", action="store_true", help="add beam-background clusters and tracks"
    )
    parser.add_argument(
        "--luminosity",
        type=float,
        default=LUMINOSITY,
        help=f"luminosity of the L1 rates in the summary, cm^-2 s^-1 (default {LUMINOSITY:g})",
    )


LUMINOSITY = 5.1e34  # the luminosity record (docs/physics.md §1)


def summarise(
    counts: Counter[tuple[int, int]],
    model: trigger.RateModel,
    n: int,
    luminosity: float = LUMINOSITY,
    fired: int | None = None,
    collisions: int | None = None,
    stream_hz: float | None = None,
) -> str:
    """Events per process, how many fire L1, then the L1 rates of the processes at ``luminosity``."""
    lines = [f"{n} events"]
    for (proc, sig), k in sorted(counts.items()):
        label = process_name(proc) if sig < 0 else f"signal {signal_name(sig)}"
        lines.append(f"  {label:<16} {k:>9}  {100.0 * k / max(n, 1):6.2f} %")
    if collisions is not None:
        lines.append(
            f"  L1-accepted stream: {n} of {collisions} generated collisions fire a line after the "
            f"prescales; {collisions - n} rejected by L1 (counted in the rates below)"
        )
    elif fired is not None:
        lines.append(
            f"  {fired} of {n} events ({100.0 * fired / max(n, 1):.1f} %) fire an L1 line after the "
            "prescales; the stream is drawn at the process shares after L1 and is not filtered by it "
            "(docs/physics.md §6)"
        )
    if model.processes:
        lines.extend(model.summary(luminosity))
    if stream_hz is not None:
        lines.append(
            f"  the stream's shares are the rate model's (sigma x eps, eps from {stream_model.N_EVENTS} "
            f"emulated events per process, seed {stream_model.SEED}, the monitoring panels' model): "
            "physics total "
            f"{stream_hz:.1f} Hz at {luminosity:.3g} cm^-2 s^-1"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = Path(args.output)
    if path.suffix.lower() not in SUFFIXES:
        print(f"generate: {path}: unknown output type (use {', '.join(SUFFIXES)})", file=sys.stderr)
        return 2
    if args.events < 1:
        print(f"generate: -n must be positive, got {args.events}", file=sys.stderr)
        return 2
    if not (np.isfinite(args.luminosity) and args.luminosity > 0):
        print(f"generate: --luminosity must be a positive number, got {args.luminosity:g}", file=sys.stderr)
        return 2
    counts: Counter[tuple[int, int]] = Counter()
    codes: list[np.ndarray] = []
    raw: list[np.ndarray] = []
    fired = 0
    n_collisions = 0

    def seen_collision(batch: EventBatch) -> None:
        """Every generated collision of the L1-accepted stream, kept or not: the rate model's events."""
        nonlocal n_collisions
        n_collisions += len(batch)
        codes.append(np.asarray(batch.header["process"]))
        raw.append(trigger.pack(trigger.l1_decisions(batch)))

    try:
        specs = [parse_signal(s) for s in args.signal]
        config = GeneratorConfig(isr=not args.no_isr, beam_background=args.beam_background)
        engine.mixture(args.process, specs)  # reject a bad request before anything is written
        batches = engine.stream(
            args.seed,
            specs,
            args.process,
            args.chunk_size,
            config,
            n_events=args.events,
            l1_accepted=args.l1_accepted,
            collisions=seen_collision if args.l1_accepted else None,
        )
    except (SignalSpecError, engine.GeneratorError) as err:
        print(f"generate: {err}", file=sys.stderr)
        return 2
    try:
        io = importlib.import_module("events.io")  # the event-file entry point (HDF5, ROOT, Phoenix JSON)
    except ImportError as err:
        print(f"generate: cannot write {path}: no event-file writer ({err})", file=sys.stderr)
        return 1

    def counted() -> Iterator[EventBatch]:
        nonlocal fired
        for batch in batches:
            fired += int(np.count_nonzero(batch.header["l1_bits"]))
            counts.update(zip(batch.header["process"].tolist(), batch.header["signal"].tolist(), strict=True))
            if not args.l1_accepted:  # the written events are the rate model's; else every collision is
                codes.append(np.asarray(batch.header["process"]))
                raw.append(trigger.pack(trigger.l1_decisions(batch)))  # before prescaling
            yield batch

    try:
        written = io.write(path, counted())
    except (io.EventFileError, OSError, engine.GeneratorError) as err:
        print(f"generate: {err}", file=sys.stderr)
        return 1
    print(f"wrote {written} events to {path}")
    origin = f"the {n_collisions} collisions behind them" if args.l1_accepted else f"these {written} events"
    model = engine.model_of(np.concatenate(codes), np.concatenate(raw), origin=origin)
    behind = n_collisions if args.l1_accepted else None
    shares_of_model = not args.l1_accepted and args.process is None  # the full stream
    stream_hz = stream_model.stream_rate_hz(args.luminosity) if shares_of_model else None
    print(summarise(counts, model, args.events, args.luminosity, fired, behind, stream_hz))
    return 0
