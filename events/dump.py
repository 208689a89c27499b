"""``main.py dump FILE --event N``: print one event of any event file as JSON (Belle II units).

Output keys: ``header``; ``tracks`` (helix, charge, momentum at the perigee and ``bz``, the field
it was converted with: basf2's map at the perigee for mdst files, else the file's constant field; fit
hypothesis, PID log-likelihoods, relations); ``ecl_clusters`` (each drawn cluster
once: energy, theta, phi, r and the centroid x, y, z); ``klm_clusters``; ``vertices`` (x, y, z,
daughters, DCA); ``mc_particles`` (count); ``issues`` (what the reader dropped). cm, GeV, ns,
rad. ``--details`` adds ``details`` (``events.mdst_details``): per-track PID per detector with its
probabilities, every fit hypothesis, the MC truth tree, the MC relation weights (clones marked), the
HLT results, the event-level objects and every member of each ECL/KLM cluster, track and V0; a
section the source cannot give is ``null`` with its reason in ``details.notes``. A user error prints
one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from events import field, helix
from events import mdst_details as md
from events.io import open_events
from events.model import EventBatch
from events.source import EventFileError

PID_NAMES = ("e", "mu", "pi", "K", "p", "d")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="event file: mdst or ntuple .root, .h5/.hdf5, Phoenix .json")
    parser.add_argument(
        "--event", "-e", type=int, default=0, metavar="N", help="position of the event in the file, 0-based"
    )
    parser.add_argument("--indent", type=int, default=1, help="JSON indentation (0: one line)")
    parser.add_argument(
        "--details",
        action="store_true",
        help="add what the mdst holds beyond the display's model: PID per detector and probabilities, "
        "fit hypotheses, MC tree and weights, HLT results, event-level objects, cluster shapes",
    )


def _json_column(values: np.ndarray) -> list[Any]:
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        obj = arr.astype(np.float64).astype(object)
        obj[~np.isfinite(arr.astype(np.float64))] = None
        return obj.tolist()
    return arr.tolist()


def _records(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    lists = {k: _json_column(v) for k, v in columns.items()}
    return [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]


def event_json(event: EventBatch) -> dict[str, Any]:
    """A batch of one event as a JSON-ready dict."""
    header = _records(dict(event.header.items()))[0]
    t, e, k, v = event.tracks, event.ecl, event.klm, event.vertices
    bz = field.track_bz(event.header["bz"][0], t["z0"])  # basf2's field at each perigee (mdst), or constant
    p = helix.momentum(t["phi0"], t["omega"], t["tan_lambda"], bz)
    tracks = {name: t[name] for name in ("d0", "phi0", "omega", "z0", "tan_lambda", "charge")}
    tracks |= {"bz": bz}
    tracks |= {"px": p[:, 0], "py": p[:, 1], "pz": p[:, 2], "pt": np.hypot(p[:, 0], p[:, 1])}
    tracks |= {"p": np.linalg.norm(p, axis=-1), "pdg": t["pdg"], "p_value": t["p_value"]}
    tracks |= {f"logl_{n}": t["pid_logl"][:, i] for i, n in enumerate(PID_NAMES)}
    tracks |= {name: t[name] for name in ("ecl_index", "klm_index", "mc_index")}
    theta, phi, r = (e[name].astype(np.float64) for name in ("theta", "phi", "r"))
    ecl = {name: e[name] for name in ("energy", "theta", "phi", "r")}
    ecl |= {
        "x": r * np.sin(theta) * np.cos(phi),
        "y": r * np.sin(theta) * np.sin(phi),
        "z": r * np.cos(theta),
    }
    ecl |= {name: e[name] for name in ("time", "cell_id", "n_crystals", "hypotheses", "is_track", "mc_index")}
    klm = {name: k[name] for name in ("x", "y", "z", "layers", "innermost_layer", "p", "time", "mc_index")}
    vertices = _records({name: v[name] for name in ("x", "y", "z", "dca", "pdg", "kind")})
    for row, pos, neg in zip(vertices, v["track_pos"].tolist(), v["track_neg"].tolist(), strict=True):
        row["daughters"] = [pos, neg]
    return {
        "header": header,
        "tracks": _records(tracks),
        "ecl_clusters": _records(ecl),
        "klm_clusters": _records(klm),
        "vertices": vertices,
        "mc_particles": event.mc.size,
    }


def _clean(value: Any) -> Any:
    """Plain JSON: NaN/inf as null, numpy values as Python ones, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def details_json(d: md.EventDetails) -> dict[str, Any]:
    """The ``details`` section of the dump."""
    pid = None
    if d.pid is not None:
        pid = [
            {
                "track": p.track,
                "detectors": list(p.detectors),
                "logl": {
                    det: dict(zip(md.HYPOTHESES, row, strict=True))
                    for det, row in zip(md.PID_DETECTORS, p.logl.tolist(), strict=True)
                },
                "logl_sum": dict(zip(md.HYPOTHESES, p.summed.tolist(), strict=True)),
                "probability": dict(zip(md.HYPOTHESES, p.probabilities.tolist(), strict=True)),
                "binary_vs_pi": dict(zip(md.HYPOTHESES, p.binary_vs_pion.tolist(), strict=True)),
            }
            for _, p in sorted(d.pid.items())
        ]
    fits = None if d.fits is None else {str(t): [vars(f) for f in hyps] for t, hyps in sorted(d.fits.items())}
    mc = None
    if d.mc is not None:
        mc = [vars(p) | {"status_names": p.status_names, "seen_in": p.seen_in} for p in d.mc]
    links = None if d.mc_links is None else [vars(x) | {"clone": x.clone} for x in d.mc_links]
    hlt = None if d.hlt is None else [vars(h) | {"result": h.words()} for h in d.hlt]
    return _clean({
        "source": d.source, "entry": d.entry, "available": d.available, "reason": d.reason,
        "pid": pid, "fits": fits, "mc_origin": d.mc_origin, "mc_tree": mc, "mc_links": links, "hlt": hlt,
        "event_info": {obj: dict(rows) for obj, rows in d.event_info.items()},
        "ecl_members": [d.ecl_members(i) for i in range(len(d.ecl_rows))] if d.members else None,
        "members": {k: v for k, v in d.members.items() if k != "ECLClusters"},
        "notes": d.notes, "issues": d.issues,
    })  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        with open_events(args.file) as source:
            event = source.event(args.event)
            unnamed = getattr(source, "unnamed_l1_bits", None)  # readers of files with raw GDL bits (mdst)
            unnamed_bits = unnamed(args.event) if unnamed is not None else None
            details = md.details_for(source, args.event % len(source), event) if args.details else None
    except EventFileError as exc:
        print(f"dump: {exc}", file=sys.stderr)
        return 2
    out = event_json(event)
    if unnamed_bits is not None:
        out["header"]["l1_unnamed_bits"] = unnamed_bits
    if details is not None:
        out["details"] = details_json(details)
    out["issues"] = source.issues
    print(json.dumps(out, indent=args.indent or None, allow_nan=False))
    return 0
