"""Event filters written as expressions, parsed with ``ast`` and evaluated over whole batches.

Example: ``ntracks >= 2 and necl < 5 and l1('ffb') and max_ecl_energy > 1.0``.
``QUANTITIES`` are the per-event variables (also the columns of ``events.summary``): counts,
energies, and the recoil mass against the best mu+ mu- pair and the CM energy of the hardest
photon, both from ``events.kinematics`` as the candidate tool computes them (NaN where the event
has no such pair or photon, so every comparison with them is false).
Only the names in ``QUANTITIES``, the functions in ``FUNCTIONS``, numbers, comparisons,
arithmetic and ``and``/``or``/``not`` are allowed; nothing is ever passed to ``eval``.
Numbers are evaluated as float64 arrays, so ``9**9**9`` is ``inf``, not a hung process.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from events import field, helix, kinematics, trigger
from events.model import Collection, EventBatch
from events.pid import MUON_PROBABILITY_MIN, muon_probability

MAX_LENGTH = 500
MAX_NODES = 200


class FilterError(ValueError):
    """An expression that is not a valid event filter; the message says why and where."""


def _segment_reduce(values: np.ndarray, col: Collection, ufunc: np.ufunc, fill: float) -> np.ndarray:
    out = np.full(len(col), fill, dtype=np.float64)
    ufunc.at(out, col.event_index(), values.astype(np.float64))
    return out


def _photon_mask(b: EventBatch) -> np.ndarray:
    return (b.ecl["hypotheses"] & 16) != 0


def _per_event_count(col: Collection, mask: np.ndarray) -> np.ndarray:
    return np.bincount(col.event_index()[mask], minlength=len(col)).astype(np.float64)


def _track_p(b: EventBatch) -> np.ndarray:
    t = b.tracks
    bz = field.track_bz(b.header["bz"][t.event_index()], t["z0"])
    return np.linalg.norm(helix.momentum(t["phi0"], t["omega"], t["tan_lambda"], bz), axis=-1)


def _track_pt(b: EventBatch) -> np.ndarray:
    t = b.tracks
    return helix.transverse_momentum(t["omega"], field.track_bz(b.header["bz"][t.event_index()], t["z0"]))


def _ecl_energy(b: EventBatch) -> np.ndarray:
    return np.where(_photon_mask(b), b.ecl["energy"], 0.0)


def _best_rows(values: np.ndarray, col: Collection, mask: np.ndarray) -> np.ndarray:
    """Per event, the flat row of the largest ``values`` among the rows in ``mask`` (-1 if none).

    Ties go to the first such row of the event."""
    score = np.where(mask, values.astype(np.float64), -np.inf)
    order = np.lexsort((-score, col.event_index()))  # by event, then by descending score (stable)
    best = np.full(len(col), -1, dtype=np.int64)
    filled = col.counts > 0
    best[filled] = order[col.offsets[:-1][filled]]
    best[best >= 0] = np.where(mask[best[best >= 0]], best[best >= 0], -1)
    return best


def muon_pair(b: EventBatch) -> tuple[np.ndarray, np.ndarray]:
    """The best mu+ mu- pair of every event: the most muon-like positive and negative tracks whose
    muon probability (``events.pid``) is at least ``MUON_PROBABILITY_MIN``; the flat track rows of
    the mu+ and the mu- (-1 where the event has none)."""
    t = b.tracks
    probability = muon_probability(t["pid_logl"])
    muon = probability >= MUON_PROBABILITY_MIN  # False where PID is missing (NaN)
    positive, negative = muon & (t["charge"] > 0), muon & (t["charge"] < 0)
    return _best_rows(probability, t, positive), _best_rows(probability, t, negative)


def _muon_four_vectors(b: EventBatch, rows: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Four-vectors of the flat track ``rows`` (of the batch's ``events``) as muons."""
    t = b.tracks
    bz = field.track_bz(b.header["bz"][events], t["z0"][rows])
    p3 = helix.momentum(t["phi0"][rows], t["omega"][rows], t["tan_lambda"][rows], bz)
    return kinematics.four_vector(p3, kinematics.MASS[13])


def recoil_of_pair(b: EventBatch, plus: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """Per event, M_recoil against the tracks ``plus`` and ``minus`` (flat rows, -1: none) as muons;
    NaN where either is missing. Reads ``header.bz`` and the tracks' z0, phi0, omega, tan_lambda."""
    ok = (plus >= 0) & (minus >= 0)
    out = np.full(len(plus), np.nan)
    if ok.any():
        events = np.flatnonzero(ok)
        p4 = _muon_four_vectors(b, plus[ok], events) + _muon_four_vectors(b, minus[ok], events)
        out[ok] = kinematics.mass(kinematics.recoil(p4))
    return out


def _recoil_mass(b: EventBatch) -> np.ndarray:
    """M_recoil = sign(M^2) sqrt(|M^2|) of P_beam - p(mu+) - p(mu-), as ``events.candidate.evaluate``."""
    plus, minus = muon_pair(b)
    return recoil_of_pair(b, plus, minus)


def _neutral_photon_mask(b: EventBatch) -> np.ndarray:
    """A photon candidate: the nPhotons hypothesis and no track matched to the cluster."""
    return _photon_mask(b) & ~b.ecl["is_track"]


def hardest_photon(b: EventBatch) -> np.ndarray:
    """Per event, the flat ECL row of the most energetic photon candidate (-1 if none)."""
    return _best_rows(b.ecl["energy"], b.ecl, _neutral_photon_mask(b))


def _photon_cms_energy(b: EventBatch) -> np.ndarray:
    """E*_gamma = (P_beam . p_gamma) / sqrt(s) of the hardest photon, massless, as the candidate tool."""
    return photon_cms_energy_of(b, hardest_photon(b))


def photon_cms_energy_of(b: EventBatch, rows: np.ndarray) -> np.ndarray:
    """Per event, E* of the ECL cluster ``rows`` (flat rows, -1: none, NaN there) as a massless photon.
    Reads the clusters' energy, theta and phi."""
    ok = rows >= 0
    out = np.full(len(rows), np.nan)
    if ok.any():
        c, k = b.ecl, rows[ok]
        energy, theta, phi = (c[name][k].astype(np.float64) for name in ("energy", "theta", "phi"))
        direction = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1)
        p3 = np.sqrt(np.maximum(energy**2, 0.0))[:, None] * direction
        out[ok] = kinematics.cms_energy(kinematics.four_vector(p3, 0.0))
    return out


def _l1_count(b: EventBatch) -> np.ndarray:
    return trigger.unpack(b.header["l1_bits"]).sum(axis=1).astype(np.float64)


Quantity = Callable[[EventBatch], np.ndarray]

QUANTITIES: dict[str, tuple[Quantity, str]] = {
    "ntracks": (lambda b: b.tracks.counts.astype(np.float64), "number of tracks"),
    "necl": (
        lambda b: _per_event_count(b.ecl, _photon_mask(b)),
        "number of ECL clusters (photon hypothesis)",
    ),
    "nklm": (lambda b: b.klm.counts.astype(np.float64), "number of KLM clusters"),
    "nvertices": (lambda b: b.vertices.counts.astype(np.float64), "number of vertices"),
    "nmc": (lambda b: b.mc.counts.astype(np.float64), "number of MC particles"),
    "npositive": (lambda b: _per_event_count(b.tracks, b.tracks["charge"] > 0), "positive tracks"),
    "nnegative": (lambda b: _per_event_count(b.tracks, b.tracks["charge"] < 0), "negative tracks"),
    "total_charge": (
        lambda b: _segment_reduce(b.tracks["charge"], b.tracks, np.add, 0.0),
        "sum of track charges",
    ),
    "max_ecl_energy": (
        lambda b: _segment_reduce(_ecl_energy(b), b.ecl, np.maximum, 0.0),
        "highest ECL cluster energy [GeV]",
    ),
    "total_ecl_energy": (
        lambda b: _segment_reduce(_ecl_energy(b), b.ecl, np.add, 0.0),
        "sum of ECL cluster energies [GeV]",
    ),
    "max_p": (lambda b: _segment_reduce(_track_p(b), b.tracks, np.fmax, 0.0), "highest track momentum [GeV]"),
    "max_pt": (
        lambda b: _segment_reduce(_track_pt(b), b.tracks, np.fmax, 0.0),
        "highest track transverse momentum [GeV]",
    ),
    "recoil_mass": (_recoil_mass, "recoil mass against the best mu+ mu- pair [GeV] (NaN: no pair)"),
    "photon_cms_energy": (_photon_cms_energy, "E*_gamma of the hardest photon [GeV] (NaN: no photon)"),
    "nl1": (_l1_count, "number of L1 lines fired"),
    "experiment": (lambda b: b.header["experiment"].astype(np.float64), "experiment number"),
    "run": (lambda b: b.header["run"].astype(np.float64), "run number"),
    "event": (lambda b: b.header["event"].astype(np.float64), "event number"),
    "process": (lambda b: b.header["process"].astype(np.float64), "generated process code (-1 data)"),
    "signal": (lambda b: b.header["signal"].astype(np.float64), "injected signal code (-1 none)"),
    "signal_mass": (lambda b: b.header["signal_mass"].astype(np.float64), "injected dark mass [GeV]"),
}

CONSTANTS = {"true": True, "false": False, "True": True, "False": False, "pi": np.pi}

def _extreme(ufunc: np.ufunc) -> Callable[..., np.ndarray]:
    """Element-wise max/min of any number of arrays and numbers (never numpy's ``out`` slot)."""

    def reduce(*args: np.ndarray) -> np.ndarray:
        return np.asarray(ufunc.reduce(np.broadcast_arrays(*args), axis=0))

    return reduce


NUMERIC_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "log": np.log,
    "min": _extreme(np.minimum),
    "max": _extreme(np.maximum),
}
# (fewest, most) arguments each function takes; None: no upper bound
ARITY: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "sqrt": (1, 1),
    "log": (1, 1),
    "min": (2, None),
    "max": (2, None),
}
FUNCTIONS = (*NUMERIC_FUNCTIONS, "l1")

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ALLOWED_OPS = (*_BINARY, *_COMPARE, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd)


def _fail(text: str, node: ast.AST | None, why: str) -> FilterError:
    col = getattr(node, "col_offset", None)
    where = f" at column {col + 1}" if col is not None else ""
    return FilterError(f"bad filter {text!r}{where}: {why}")


@dataclass(frozen=True)
class EventFilter:
    """A parsed, validated filter; call it on a batch to get a boolean mask per event."""

    text: str
    tree: ast.Expression
    names: frozenset[str]

    def __call__(self, batch: EventBatch) -> np.ndarray:
        values = {name: QUANTITIES[name][0](batch) for name in self.names}
        return self._evaluate(values, batch.header["l1_bits"], len(batch))

    def on_kernels(self, values: Callable[[str], np.ndarray], batch: EventBatch) -> np.ndarray:
        """The mask over ``batch`` (partial or whole) with each variable from ``values(name)``
        (``events.columnar.Kernels`` of the batch: the same numbers as the functions of QUANTITIES)."""
        chosen = {name: values(name) for name in self.names}
        return self._evaluate(chosen, batch.header["l1_bits"], len(batch))

    def on_columns(self, columns: Mapping[str, np.ndarray], l1_bits: np.ndarray) -> np.ndarray:
        """The mask over a table of per-event values already computed (``events.summary``'s
        columns): ``columns`` holds every variable the filter names (``missing`` says which it
        lacks), ``l1_bits`` the events' L1 words for ``l1(...)``."""
        absent = self.missing(columns)
        if absent:
            raise KeyError(f"{self.text!r} needs {', '.join(sorted(absent))}, which the table lacks")
        values = {name: np.asarray(columns[name], dtype=np.float64) for name in self.names}
        return self._evaluate(values, l1_bits, len(l1_bits))

    def missing(self, columns: Iterable[str]) -> set[str]:
        """The variables this filter names that are not among ``columns``."""
        return set(self.names) - set(columns)

    def _evaluate(self, values: dict[str, np.ndarray], l1_bits: np.ndarray, n: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            result = _Evaluator(self.text, l1_bits, values).visit(self.tree.body)
        mask = np.broadcast_to(np.asarray(result), (n,))
        if mask.dtype != bool:
            mask = mask != 0
        return np.array(mask, dtype=bool)


@lru_cache(maxsize=64)
def parse(text: str) -> EventFilter:
    """Parse and validate ``text``; raises FilterError with the reason and column of the problem."""
    text = text.strip()
    if not text:
        raise FilterError("empty filter: write e.g. 'ntracks >= 2 and max_ecl_energy > 1.0'")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter too long ({len(text)} characters, at most {MAX_LENGTH})")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise FilterError(f"bad filter {text!r}: syntax error at column {exc.offset}: {exc.msg}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise FilterError(f"filter too complex ({len(nodes)} nodes, at most {MAX_NODES})")
    names: set[str] = set()
    for node in nodes:
        _check(text, node, names)
    return EventFilter(text, tree, frozenset(names))


def _check(text: str, node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.Expression | ast.Load) or type(node) in _ALLOWED_OPS:
        return
    if isinstance(node, ast.BoolOp | ast.UnaryOp | ast.BinOp | ast.Compare):
        ops = [getattr(node, "op", None), *list(getattr(node, "ops", []))]
        for op in ops:
            if op is not None and type(op) not in _ALLOWED_OPS:
                raise _fail(text, node, f"operator {type(op).__name__} is not allowed")
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float) or (
            isinstance(node.value, str) and len(node.value) < 40
        ):
            return
        raise _fail(text, node, f"constant {node.value!r} is not allowed")
    if isinstance(node, ast.Name):
        if node.id in QUANTITIES:
            names.add(node.id)
            return
        if node.id in CONSTANTS or node.id in FUNCTIONS:
            return
        known = ", ".join(sorted(QUANTITIES))
        raise _fail(text, node, f"unknown name {node.id!r}; known quantities: {known}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise _fail(text, node, f"only the functions {', '.join(FUNCTIONS)} may be called")
        if node.keywords:
            raise _fail(text, node, "keyword arguments are not allowed")
        if node.func.id == "l1":
            arg = node.args[0] if len(node.args) == 1 else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise _fail(text, node, "l1 takes one quoted trigger bit name, e.g. l1('ffb')")
            if arg.value not in trigger.BIT:
                raise _fail(text, arg, f"unknown L1 bit {arg.value!r}; known: {', '.join(trigger.L1_BITS)}")
        elif any(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args):
            raise _fail(text, node, f"{node.func.id} takes numbers, not text")
        else:
            fewest, most = ARITY[node.func.id]
            if not fewest <= len(node.args) <= (most if most is not None else len(node.args)):
                wanted = (
                    f"{fewest} argument" if fewest == most else f"at least {fewest} arguments"
                )
                raise _fail(text, node, f"{node.func.id} takes {wanted}, not {len(node.args)}")
        return
    raise _fail(text, node, f"{type(node).__name__} is not allowed in a filter")


class _Evaluator(ast.NodeVisitor):
    def __init__(self, text: str, l1_bits: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.text = text
        self.l1_bits = l1_bits
        self.values = values

    def generic_visit(self, node: ast.AST) -> np.ndarray:
        raise _fail(self.text, node, f"{type(node).__name__} is not allowed in a filter")

    def visit_Constant(self, node: ast.Constant) -> np.ndarray:
        if isinstance(node.value, str):
            raise _fail(self.text, node, f"text {node.value!r} is only allowed inside l1(...)")
        return np.asarray(node.value, dtype=bool if isinstance(node.value, bool) else np.float64)

    def visit_Name(self, node: ast.Name) -> np.ndarray:
        if node.id in self.values:
            return self.values[node.id]
        if node.id in CONSTANTS:
            return np.asarray(CONSTANTS[node.id])
        raise _fail(self.text, node, f"{node.id!r} is a function; call it, e.g. {node.id}(...)")

    def visit_BoolOp(self, node: ast.BoolOp) -> np.ndarray:
        parts = [np.asarray(self.visit(v)) != 0 for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = parts[0]
        for p in parts[1:]:
            out = combine(out, p)
        return out

    def visit_UnaryOp(self, node: ast.UnaryOp) -> np.ndarray:
        v = np.asarray(self.visit(node.operand))
        if isinstance(node.op, ast.Not):
            return np.logical_not(v != 0)
        return -v.astype(np.float64) if isinstance(node.op, ast.USub) else v

    def visit_BinOp(self, node: ast.BinOp) -> np.ndarray:
        left = np.asarray(self.visit(node.left), dtype=np.float64)
        right = np.asarray(self.visit(node.right), dtype=np.float64)
        return _BINARY[type(node.op)](left, right)

    def visit_Compare(self, node: ast.Compare) -> np.ndarray:
        left = np.asarray(self.visit(node.left), dtype=np.float64)
        out = np.asarray(True)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = np.asarray(self.visit(comp), dtype=np.float64)
            out = np.logical_and(out, _COMPARE[type(op)](left, right))
            left = right
        return out

    def visit_Call(self, node: ast.Call) -> np.ndarray:
        name = node.func.id  # type: ignore[attr-defined]
        if name == "l1":
            bit = node.args[0].value  # type: ignore[attr-defined]
            return trigger.fired(self.l1_bits, bit)
        args = [np.asarray(self.visit(a), dtype=np.float64) for a in node.args]
        try:
            return NUMERIC_FUNCTIONS[name](*args)
        except (TypeError, ValueError) as exc:  # parse() checks the arity; anything else is ours too
            raise _fail(self.text, node, f"cannot evaluate {name}(...): {exc}") from None


def select(batch: EventBatch, text: str) -> np.ndarray:
    """Indices of the events of ``batch`` that pass the filter ``text``."""
    return np.flatnonzero(parse(text)(batch))


def help_text() -> str:
    """One line per quantity and function, for the filter box tooltip."""
    lines = [f"{name}: {doc}" for name, (_, doc) in QUANTITIES.items()]
    lines.append(
        "l1('name'): the L1 bit fired; abs, sqrt, log; min(a, b, ...), max(a, b, ...) element-wise; "
        "and, or, not; < <= == != >= >"
    )
    return "\n".join(lines)
