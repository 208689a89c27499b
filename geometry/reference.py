"""The detector's data tables (``assets/geometry/``) and how to read them with a clear error.

The tables are numbers only: ``figures.json`` (every figure the geometry modules use, keyed by
subdetector, each with its unit and origin), ``ecl_crystals.csv`` and ``cdc_sense_layers.csv``.
``python -m geometry.build_assets --from DIR`` regenerates them from the original basf2 files;
``assets/geometry/SOURCES.md`` names the origin of each. ``$BELLE2_GEOMETRY_DATA`` points the
application at another folder of tables in the same format.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENV_VAR = "BELLE2_GEOMETRY_DATA"
DEFAULT_DATA_DIR = ROOT / "assets" / "geometry"
FIGURES_FILE = "figures.json"


class GeometryDataError(RuntimeError):
    """A geometry data table is missing, unreadable or malformed (the message names the file)."""


def data_dir() -> Path:
    """The folder of geometry tables: ``$BELLE2_GEOMETRY_DATA`` or the repository's assets/geometry/."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DATA_DIR)


def data_file(name: str) -> Path:
    """Path of one table; raises GeometryDataError naming the file if it is absent."""
    path = data_dir() / name
    if not path.is_file():
        where = (
            f"${ENV_VAR} points at {data_dir()}"
            if os.environ.get(ENV_VAR)
            else "rebuild the tables with `python -m geometry.build_assets --from DIR`"
        )
        raise GeometryDataError(f"geometry data file missing: {path} ({where})")
    return path


def read_table(name: str, columns: dict[str, type]) -> dict[str, np.ndarray]:
    """Columns of a CSV table (header row, then one row per item) as arrays of the given types.

    Raises GeometryDataError naming the file, and the line and column of the first bad value.
    """
    path = data_file(name)
    fast = _read_numeric(path, columns)
    if fast is not None:
        return fast
    try:  # the careful reader, which names the first bad value
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise GeometryDataError(f"{path}: empty table")
            missing = [c for c in columns if c not in header]
            if missing:
                raise GeometryDataError(f"{path}: missing column(s) {', '.join(missing)}")
            index = {c: header.index(c) for c in columns}
            values: dict[str, list[Any]] = {c: [] for c in columns}
            for line, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise GeometryDataError(
                        f"{path}: line {line} has {len(row)} fields, the header {len(header)}"
                    )
                for column, kind in columns.items():
                    text = row[index[column]]
                    try:
                        value = kind(text)
                    except ValueError:
                        raise GeometryDataError(
                            f"{path}: line {line}, column {column}: {text!r} is not {kind.__name__}"
                        ) from None
                    if kind is float and not math.isfinite(value):
                        raise GeometryDataError(
                            f"{path}: line {line}, column {column}: {text!r} is not finite"
                        )
                    values[column].append(value)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise GeometryDataError(f"{path}: unreadable table ({err})") from err
    return {c: np.array(v, dtype=object if columns[c] is str else columns[c]) for c, v in values.items()}


def _read_numeric(path: Path, columns: dict[str, type]) -> dict[str, np.ndarray] | None:
    """All-numeric tables in one numpy pass; None where anything is off (the careful reader says what)."""
    if any(kind is str for kind in columns.values()):
        return None
    try:
        with path.open(encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n").split(",")
            body = f.read()
        if not body.strip():
            return None
        data = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2, dtype=np.float64)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if data.shape[0] == 0 or data.shape[1] != len(header) or not np.isfinite(data).all():
        return None
    if any(c not in header for c in columns):
        return None
    out: dict[str, np.ndarray] = {}
    for column, kind in columns.items():
        values = data[:, header.index(column)]
        if kind is int:
            if np.any(values != np.round(values)):
                return None
            out[column] = values.astype(np.int64)
        else:
            out[column] = values
    return out


@functools.cache
def _figures_document(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise GeometryDataError(f"{path}: unreadable ({err})") from err
    except json.JSONDecodeError as err:
        raise GeometryDataError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from err
    if not isinstance(doc, dict):
        raise GeometryDataError(f"{path}: expected a JSON object of sections")
    return doc


class Figures:
    """One section of figures.json (e.g. "top"): figures by name, each checked for its unit."""

    def __init__(self, path: Path, section: str, entries: dict[str, Any]) -> None:
        self.path, self.section, self.entries = path, section, entries

    def _entry(self, name: str, unit: str) -> Any:
        entry = self.entries.get(name)
        where = f"{self.path}: figure {self.section}.{name}"
        if not isinstance(entry, dict) or "value" not in entry:
            raise GeometryDataError(f"{where} missing")
        if entry.get("unit") != unit:
            raise GeometryDataError(f"{where} is in {entry.get('unit')!r}, expected {unit!r}")
        return entry["value"]

    def _number(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise GeometryDataError(f"{self.path}: figure {self.section}.{name}: {value!r} is not a number")
        return float(value)

    def value(self, name: str, unit: str = "cm") -> float:
        """One number."""
        return self._number(name, self._entry(name, unit))

    def values(self, name: str, unit: str = "cm", length: int | None = None) -> np.ndarray:
        """A list of numbers as a float64 array; ``length`` checks how many."""
        raw = self._entry(name, unit)
        if not isinstance(raw, list):
            raise GeometryDataError(f"{self.path}: figure {self.section}.{name}: expected a list")
        out = np.array([self._number(name, v) for v in raw], dtype=np.float64)
        if length is not None and len(out) != length:
            raise GeometryDataError(
                f"{self.path}: figure {self.section}.{name}: expected {length} values, found {len(out)}"
            )
        return out

    def count(self, name: str) -> int:
        """A whole number (unit "count")."""
        value = self.value(name, "count")
        if value != int(value) or value < 0:
            raise GeometryDataError(f"{self.path}: figure {self.section}.{name}: {value} is not a count")
        return int(value)

    def counts(self, name: str, length: int | None = None) -> np.ndarray:
        values = self.values(name, "count", length)
        if np.any(values != np.round(values)) or np.any(values < 0):
            raise GeometryDataError(f"{self.path}: figure {self.section}.{name}: not all counts")
        return values.astype(np.int64)


def figures(section: str) -> Figures:
    """The figures of one subdetector section of figures.json (file read once per folder)."""
    path = data_file(FIGURES_FILE)
    entries = _figures_document(path.resolve()).get(section)
    if not isinstance(entries, dict):
        raise GeometryDataError(f"{path}: no section {section!r}")
    return Figures(path, section, entries)
