"""``main.py generate``: write generated Belle II events (with optional dark-sector signals) to a file.

    python main.py generate -n 10000 -o events.h5 --seed 1 --signal zprime:mass=3.0,fraction=0.01

Events are generated and written chunk by chunk (bounded memory); a summary of events per process and
the L1 rates at ``--luminosity`` (5.1e34 cm^-2 s^-1) is printed: per process σ · L times the fraction of its
generated events that fire any line after the prescales, the rate model the monitoring panels use
(``events.trigger.RateModel``, docs/physics.md §6).
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
from events.generator import engine
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
    counts: Counter[tuple[int, int]], model: trigger.RateModel, n: int, luminosity: float = LUMINOSITY
) -> str:
    """Events per process, then the L1 rates of the generated processes at ``luminosity``."""
    lines = [f"{n} events"]
    for (proc, sig), k in sorted(counts.items()):
        label = process_name(proc) if sig < 0 else f"signal {signal_name(sig)}"
        lines.append(f"  {label:<16} {k:>9}  {100.0 * k / max(n, 1):6.2f} %")
    if model.processes:
        lines.extend(model.summary(luminosity))
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
    try:
        specs = [parse_signal(s) for s in args.signal]
        config = GeneratorConfig(isr=not args.no_isr, beam_background=args.beam_background)
        engine.mixture(args.process, specs)  # reject a bad request before anything is written
        batches = engine.stream(args.seed, specs, args.process, args.chunk_size, config, n_events=args.events)
    except (SignalSpecError, engine.GeneratorError) as err:
        print(f"generate: {err}", file=sys.stderr)
        return 2
    try:
        io = importlib.import_module("events.io")  # the event-file entry point (HDF5, ROOT, Phoenix JSON)
    except ImportError as err:
        print(f"generate: cannot write {path}: no event-file writer ({err})", file=sys.stderr)
        return 1
    counts: Counter[tuple[int, int]] = Counter()
    codes: list[np.ndarray] = []
    raw: list[np.ndarray] = []

    def counted() -> Iterator[EventBatch]:
        for batch in batches:
            counts.update(zip(batch.header["process"].tolist(), batch.header["signal"].tolist(), strict=True))
            codes.append(np.asarray(batch.header["process"]))
            raw.append(trigger.pack(trigger.l1_decisions(batch)))  # before prescaling, for the rate model
            yield batch

    try:
        written = io.write(path, counted())
    except (io.EventFileError, OSError) as err:
        print(f"generate: {err}", file=sys.stderr)
        return 1
    print(f"wrote {written} events to {path}")
    model = engine.model_of(np.concatenate(codes), np.concatenate(raw), origin=f"these {written} events")
    print(summarise(counts, model, args.events, args.luminosity))
    return 0
