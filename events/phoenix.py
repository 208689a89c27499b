"""Phoenix event JSON (HSF Phoenix format; docs/architecture.md §5.3): export and import.

Export writes ``{"Experiment E/Run R/Event N": event, ...}`` in Phoenix units (mm, MeV):

* ``Tracks: {"Tracks": [...]}``: ``pos`` points along the helix up to r = 130 cm or z outside
  [-100, 210] cm (so Phoenix draws our 1.5 T helix instead of extrapolating with its 2 T),
  ``dparams`` [d0, z0, φ0, θ, q/p] (Belle II d0 sign), ``d0``, ``z0``, ``phi``, ``eta``, ``pT``,
  ``charge``, and the Belle II fit itself: ``omega`` [1/cm], ``tanLambda``, ``cov``, ``pdg``,
  ``pValue``, ``pidLogL``, relation indices.
* ``CaloClusters: {"ECLClusters": [...]}``: ``energy``, ``phi``, ``theta``, ``eta``, transverse
  ``radius`` and ``z`` of the centroid, plus cellId, time, hypotheses.
* ``Hits: {"KLMClusters": [{"type": "Point", "pos": [...]}, ...]}`` with layers and momentum.
* ``Vertices: {"V0s": [...]}``: ``x, y, z``, ``vertexType``, ``linkedTracks`` (indices into
  ``Tracks``), ``dca``, ``pdg``.

Phoenix keeps the extra keys as decoration. MC truth is not exported (Phoenix has no type for
it). Import reads these collections back (any Tracks / CaloClusters / Vertices collection of a
foreign Phoenix file, KLM clusters from ``Hits.KLMClusters``); values missing from a foreign
file get the schema's fill value, and tracks with neither ``omega`` nor ``dparams`` have no helix
and are dropped (and counted) by the reader. NaN is written as ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from events import field, helix
from events.model import HEADER, Collection, EventBatch, VertexKind
from events.outputs import AtomicOutput
from events.source import EventFileError, EventSource

MM = 10.0  # mm per cm
MEV = 1000.0  # MeV per GeV
DRAW_R_MAX, DRAW_Z_MIN, DRAW_Z_MAX = 130.0, -100.0, 210.0  # cm, as belle2/display
TRACK_POINTS = 24
TRACK_COLOR = "336FD1"
VERTEX_TYPES = {VertexKind.PRIMARY: "Primary", VertexKind.V0: "V0", VertexKind.DISPLACED: "Displaced"}


def _clean(values: np.ndarray, scale: float = 1.0) -> list[Any]:
    """Column as JSON-ready list (NaN/inf -> None)."""
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        return arr.tolist()
    arr = arr.astype(np.float64) * scale
    out = arr.tolist()
    if np.isfinite(arr).all():
        return out
    bad = ~np.isfinite(arr)
    obj = np.array(out, dtype=object)
    obj[bad] = None
    return obj.tolist()


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _tracks_json(t: Collection, bz: np.ndarray) -> list[dict[str, Any]]:
    d0, phi0, omega, z0, tl = (t[k] for k in ("d0", "phi0", "omega", "z0", "tan_lambda"))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # non-finite helices -> null
        s_end = helix.draw_arc_lengths(d0, omega, z0, tl, DRAW_R_MAX, DRAW_Z_MIN, DRAW_Z_MAX)
        pos = helix.polylines(d0, phi0, omega, z0, tl, s_end, TRACK_POINTS) * MM
        pt = helix.transverse_momentum(omega, field.track_bz(bz, z0))  # basf2's field at the perigee
        theta = np.arctan2(1.0, tl)
        q_over_p = t["charge"] / (pt / np.sin(theta) * MEV)
        eta = -np.log(np.tan(theta / 2))
    cols = {
        "pos": _clean(np.round(pos, 3)),
        "dparams": _clean(np.stack([d0 * MM, z0 * MM, phi0, theta, q_over_p], axis=-1)),
        "d0": _clean(d0, MM),
        "z0": _clean(z0, MM),
        "phi": _clean(phi0),
        "eta": _clean(eta),
        "pT": _clean(pt, MEV),
        "charge": _clean(t["charge"]),
        "omega": _clean(omega),
        "tanLambda": _clean(tl),
        "cov": _clean(t["cov"]),
        "pdg": _clean(t["pdg"]),
        "pValue": _clean(t["p_value"]),
        "pidLogL": _clean(t["pid_logl"]),
        "eclIndex": _clean(t["ecl_index"]),
        "klmIndex": _clean(t["klm_index"]),
        "mcIndex": _clean(t["mc_index"]),
    }
    rows = _rows(cols)
    for row in rows:
        row["color"] = TRACK_COLOR
    return rows


def _ecl_json(e: Collection) -> list[dict[str, Any]]:
    theta, r = e["theta"].astype(np.float64), e["r"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = -np.log(np.tan(theta / 2))
    return _rows(
        {
            "energy": _clean(e["energy"], MEV),
            "phi": _clean(e["phi"]),
            "theta": _clean(e["theta"]),
            "eta": _clean(eta),
            "radius": _clean(r * np.sin(theta), MM),
            "z": _clean(r * np.cos(theta), MM),
            "r": _clean(e["r"]),  # cm, the stored centroid distance
            "time": _clean(e["time"]),
            "cellId": _clean(e["cell_id"]),
            "nCrystals": _clean(e["n_crystals"]),
            "hypotheses": _clean(e["hypotheses"]),
            "isTrack": _clean(e["is_track"]),
            "mcIndex": _clean(e["mc_index"]),
        }
    )


def _klm_json(k: Collection) -> list[dict[str, Any]]:
    pos = np.stack([k["x"], k["y"], k["z"]], axis=-1).astype(np.float64)
    rows = _rows(
        {
            "pos": _clean(pos, MM),
            "layers": _clean(k["layers"]),
            "innermostLayer": _clean(k["innermost_layer"]),
            "p": _clean(k["p"], MEV),
            "time": _clean(k["time"]),
            "mcIndex": _clean(k["mc_index"]),
        }
    )
    for row in rows:
        row["type"] = "Point"
    return rows


def _vertices_json(v: Collection) -> list[dict[str, Any]]:
    rows = _rows(
        {
            "x": _clean(v["x"], MM),
            "y": _clean(v["y"], MM),
            "z": _clean(v["z"], MM),
            "linkedTracks": np.stack([v["track_pos"], v["track_neg"]], axis=-1).tolist(),
            "kind": _clean(v["kind"]),
            "dca": _clean(v["dca"], MM),
            "cov": _clean(v["cov"], MM * MM),
            "pdg": _clean(v["pdg"]),
        }
    )
    for row in rows:
        row["vertexType"] = VERTEX_TYPES.get(row["kind"], "Unknown")
        row["linkedTrackCollection"] = "Tracks"
    return rows


def event_key(experiment: int, run: int, event: int) -> str:
    return f"Experiment {experiment}/Run {run}/Event {event}"


def to_json(batch: EventBatch) -> dict[str, Any]:
    """The Phoenix object for all events of a batch."""
    h = {k: v.tolist() for k, v in batch.header.items()}
    out: dict[str, Any] = {}
    for i in range(len(batch)):
        ev = batch.event(i)
        key = event_key(h["experiment"][i], h["run"][i], h["event"][i])
        while key in out:
            key += "+"
        mass = h["signal_mass"][i]
        out[key] = {
            "event number": h["event"][i],
            "run number": h["run"][i],
            "experimentNumber": h["experiment"][i],
            "time": h["time"][i],
            "l1Bits": h["l1_bits"][i],
            "bz": h["bz"][i],
            "process": h["process"][i],
            "signal": h["signal"][i],
            "signalMass": mass if math.isfinite(mass) else None,
            "Tracks": {"Tracks": _tracks_json(ev.tracks, ev.header["bz"][0])},
            "CaloClusters": {"ECLClusters": _ecl_json(ev.ecl)},
            "Hits": {"KLMClusters": _klm_json(ev.klm)},
            "Vertices": {"V0s": _vertices_json(ev.vertices)},
        }
    return out


def write(path: str | Path, batches: Iterable[EventBatch], inputs: Iterable[str | Path] = ()) -> int:
    """Write batches as one Phoenix JSON object, atomically (``events.outputs``)."""
    path = Path(path)
    events: dict[str, Any] = {}
    n = 0
    with AtomicOutput(path, "json", inputs) as tmp:  # checks the output before the work
        for batch in batches:
            for key, value in to_json(batch).items():
                while key in events:
                    key += "+"
                events[key] = value
            n += len(batch)
        tmp.write_text(json.dumps(events, allow_nan=False, separators=(",", ":")))
    return n


# ---------------------------------------------------------------- import


def _num(value: Any, default: float = math.nan) -> float:
    return default if value is None else float(value)


def _get(objs: list[dict[str, Any]], key: str, default: Any = math.nan, scale: float = 1.0) -> np.ndarray:
    return np.array([_num(o.get(key), default) for o in objs], dtype=np.float64) / scale


def _vec(objs: list[dict[str, Any]], key: str, width: int, scale: float = 1.0) -> np.ndarray:
    rows = [o.get(key) or [None] * width for o in objs]
    rows = [[_num(x) for x in r] if len(r) == width else [math.nan] * width for r in rows]
    return np.array(rows, dtype=np.float64).reshape(len(objs), width) / scale


def _collection(event: dict[str, Any], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    block = event.get(kind) or {}
    if not isinstance(block, dict):
        return []
    groups = [block.get(name, [])] if name else list(block.values())
    return [o for g in groups if isinstance(g, list) for o in g if isinstance(o, dict)]


def _tracks_from(objs: list[dict[str, Any]], bz: np.ndarray) -> dict[str, Any]:
    dp = _vec(objs, "dparams", 5)
    d0 = np.where(np.isfinite(_get(objs, "d0")), _get(objs, "d0", scale=MM), dp[:, 0] / MM)
    z0 = np.where(np.isfinite(_get(objs, "z0")), _get(objs, "z0", scale=MM), dp[:, 1] / MM)
    phi0 = np.where(np.isfinite(_get(objs, "phi")), _get(objs, "phi"), dp[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        tl = np.where(np.isfinite(_get(objs, "tanLambda")), _get(objs, "tanLambda"), 1.0 / np.tan(dp[:, 3]))
        p = np.abs(1.0 / dp[:, 4]) / MEV
        pt = p * np.sin(dp[:, 3])
        omega_dp = np.sign(dp[:, 4]) * helix.PT_PER_CURVATURE * field.track_bz(bz, z0) / pt
    omega = np.where(np.isfinite(_get(objs, "omega")), _get(objs, "omega"), omega_dp)
    charge = np.where(np.isfinite(_get(objs, "charge")), _get(objs, "charge"), np.sign(np.nan_to_num(omega)))
    return {
        "d0": d0,
        "phi0": phi0,
        "omega": omega,
        "z0": z0,
        "tan_lambda": tl,
        "charge": charge,
        "cov": _vec(objs, "cov", 15),
        "pdg": _get(objs, "pdg", 211),
        "p_value": _get(objs, "pValue"),
        "pid_logl": _vec(objs, "pidLogL", 6),
        "ecl_index": _get(objs, "eclIndex", -1),
        "klm_index": _get(objs, "klmIndex", -1),
        "mc_index": _get(objs, "mcIndex", -1),
    }


def _ecl_from(objs: list[dict[str, Any]]) -> dict[str, Any]:
    theta = _get(objs, "theta")
    eta = _get(objs, "eta")
    theta = np.where(np.isfinite(theta), theta, 2 * np.arctan(np.exp(-eta)))
    r = _get(objs, "r")
    r = np.where(np.isfinite(r), r, np.hypot(_get(objs, "radius"), _get(objs, "z")) / MM)
    return {
        "energy": _get(objs, "energy", scale=MEV),
        "theta": theta,
        "phi": _get(objs, "phi"),
        "r": r,
        "time": _get(objs, "time"),
        "cell_id": _get(objs, "cellId", 0),
        "n_crystals": _get(objs, "nCrystals"),
        "hypotheses": _get(objs, "hypotheses", 16),
        "is_track": _get(objs, "isTrack", 0).astype(bool),
        "mc_index": _get(objs, "mcIndex", -1),
    }


def _klm_from(objs: list[dict[str, Any]]) -> dict[str, Any]:
    pos = _vec(objs, "pos", 3, MM)
    return {
        "x": pos[:, 0],
        "y": pos[:, 1],
        "z": pos[:, 2],
        "layers": _get(objs, "layers", 0),
        "innermost_layer": _get(objs, "innermostLayer", 0),
        "p": _get(objs, "p", scale=MEV),
        "time": _get(objs, "time"),
        "mc_index": _get(objs, "mcIndex", -1),
    }


def _vertices_from(objs: list[dict[str, Any]]) -> dict[str, Any]:
    pos = _vec(objs, "pos", 3, MM)
    linked = [o.get("linkedTracks") or [] for o in objs]
    pair = np.array([[int(x) for x in [*lt, -1, -1][:2]] for lt in linked], dtype=np.int64).reshape(-1, 2)
    return {
        "x": np.where(np.isfinite(_get(objs, "x")), _get(objs, "x", scale=MM), pos[:, 0]),
        "y": np.where(np.isfinite(_get(objs, "y")), _get(objs, "y", scale=MM), pos[:, 1]),
        "z": np.where(np.isfinite(_get(objs, "z")), _get(objs, "z", scale=MM), pos[:, 2]),
        "kind": _get(objs, "kind", VertexKind.V0),
        "track_pos": pair[:, 0],
        "track_neg": pair[:, 1],
        "dca": _get(objs, "dca", scale=MM),
        "cov": _vec(objs, "cov", 6, MM * MM),
        "pdg": _get(objs, "pdg", 0),
    }


MAX_BYTES = 1 << 30  # a Phoenix file is parsed whole; 1 GiB of JSON is ~10 GiB of Python objects
MAX_DIGITS = 30  # longer integers are read as floats (and refused where a whole number is needed)
HEADER_KEYS = {  # column: (the Phoenix keys it is read from, default)
    "event": (("event number", "eventNumber"), 0),
    "run": (("run number", "runNumber"), 0),
    "experiment": (("experimentNumber",), 0),
    "time": (("time",), 0),
    "l1_bits": (("l1Bits",), 0),
    "bz": (("bz",), helix.BZ_DEFAULT),
    "process": (("process",), -1),
    "signal": (("signal",), -1),
    "signal_mass": (("signalMass",), math.nan),
}


class HugeInteger(float):
    """An integer literal of more than ``MAX_DIGITS`` digits, kept as a float (it says how long it was)."""

    digits = 0


def _parse_int(text: str) -> int | float:
    if len(text.lstrip("-")) <= MAX_DIGITS:
        return int(text)
    huge = HugeInteger(text)  # float() has no digit limit; int() refuses past 4300 digits
    huge.digits = len(text.lstrip("-"))
    return huge


def _header_column(
    path: str | Path, column: str, events: list[dict[str, Any]], start: int
) -> np.ndarray:
    """One header column from the events' keys, checked against the schema's type and range."""
    keys, default = HEADER_KEYS[column]
    dtype = np.dtype(HEADER[column][0])
    values = []
    for k, ev in enumerate(events):
        value = next((ev[key] for key in keys if ev.get(key) is not None), default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EventFileError(path, f"event {start + k}: {keys[0]!r} is {_shown(value)}, not a number")
        values.append(value)
    if dtype.kind == "f":
        return np.asarray(values, dtype=np.float64).astype(dtype)
    info = np.iinfo(dtype)
    for k, value in enumerate(values):
        if not (isinstance(value, int | HugeInteger) or (math.isfinite(value) and value == int(value))):
            raise EventFileError(
                path, f"event {start + k}: {keys[0]!r} is {_shown(value)}, not a whole number"
            )
        if isinstance(value, HugeInteger) or not info.min <= value <= info.max:
            raise EventFileError(
                path,
                f"event {start + k}: {keys[0]!r} is {_shown(value)}, outside {info.min}..{info.max}",
            )
    return np.asarray([int(v) for v in values], dtype=dtype)


def _shown(value: Any) -> str:
    if isinstance(value, HugeInteger):
        return f"a {value.digits}-digit integer"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


class PhoenixSource(EventSource):
    """The events of a Phoenix JSON file (parsed once when opened, at most ``MAX_BYTES``)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        local = Path(self.path)  # a local file: events.io opens only the ROOT formats over the network
        try:
            size = local.stat().st_size
            if size > MAX_BYTES:
                raise EventFileError(
                    self.path, f"{size / 2**30:.1f} GiB of JSON, more than the {MAX_BYTES >> 30} GiB read"
                )
            data = json.loads(local.read_bytes(), parse_int=_parse_int)
        except (OSError, UnicodeDecodeError) as exc:
            raise EventFileError(self.path, f"cannot read: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise EventFileError(
                self.path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
        except RecursionError:
            raise EventFileError(
                self.path, "JSON nested too deeply (a Phoenix event file nests a few levels)"
            ) from None
        except ValueError as exc:
            raise EventFileError(self.path, f"not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise EventFileError(self.path, "not a Phoenix event file: expected an object of events")
        self.keys = list(data)
        self.events = list(data.values())

    def __len__(self) -> int:
        return len(self.events)

    def _read(self, start: int, stop: int) -> EventBatch:
        evs = self.events[start:stop]
        n = len(evs)

        header = {column: _header_column(self.path, column, evs, start) for column in HEADER_KEYS}
        try:
            bz = np.asarray(header["bz"], dtype=np.float64)
            parts: dict[str, tuple[list[int], list[dict[str, Any]]]] = {}
            for coll, kind, name in (
                ("tracks", "Tracks", None),
                ("ecl", "CaloClusters", None),
                ("klm", "Hits", "KLMClusters"),
                ("vertices", "Vertices", None),
            ):
                per_event = [_collection(ev, kind, name) for ev in evs]
                parts[coll] = ([len(p) for p in per_event], [o for p in per_event for o in p])
            counts, objs = parts["tracks"]
            track_bz = np.repeat(bz, counts)
            colls = {
                "tracks": Collection.from_columns("tracks", counts, _tracks_from(objs, track_bz)),
                "ecl": Collection.from_columns("ecl", parts["ecl"][0], _ecl_from(parts["ecl"][1])),
                "klm": Collection.from_columns("klm", parts["klm"][0], _klm_from(parts["klm"][1])),
                "vertices": Collection.from_columns(
                    "vertices", parts["vertices"][0], _vertices_from(parts["vertices"][1])
                ),
            }
            return EventBatch.build(n, header, source=str(self.path), **colls)
        except (TypeError, ValueError, OverflowError) as exc:
            raise EventFileError(
                self.path, f"events {start}:{stop} do not fit the Phoenix format: {exc}"
            ) from exc
