"""The colour table of every view (``assets/colors.toml``), as plain strings and RGBA tuples.

Pure: no Qt, no VisPy (an import-linter contract keeps it so), so the event geometry, the detector
views and the panels all read the same table. ``$BELLE2_COLORS`` names a TOML file that overrides
the shipped table key by key. A damaged table raises ``PaletteError`` naming the file and the key.

    >>> palette().hex("charge.positive")
    '#d55e00'
    >>> palette().state("alarm", "major").glyph
    '■'
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TABLE = ASSETS / "colors.toml"
ENV = "BELLE2_COLORS"
THEMES = ("dark", "light")

RGBA = tuple[float, float, float, float]
_HEX = re.compile(r"#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?")


class PaletteError(ValueError):
    """The colour table cannot be read or has a bad entry; the message names the file and the key."""


def parse(text: str) -> RGBA:
    """``"#rrggbb"`` or ``"#rrggbbaa"`` as RGBA floats in [0, 1]."""
    match = _HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a colour: {text!r} (use #rrggbb or #rrggbbaa)")
    digits = match.group(1) + (match.group(2) or "ff")
    r, g, b, a = (int(digits[i : i + 2], 16) / 255.0 for i in range(0, 8, 2))
    return (r, g, b, a)


def to_hex(rgba: tuple[float, ...], alpha: bool = False) -> str:
    """RGBA floats as ``"#rrggbb"`` (``"#rrggbbaa"`` with ``alpha``)."""
    channels = rgba[:4] if alpha else rgba[:3]
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in channels)


@dataclass(frozen=True)
class State:
    """How a state (an alarm severity, a DQM status) is shown: a colour, a glyph and a word."""

    color: str  # "#rrggbb"
    glyph: str
    text: str

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.text}"


class Palette:
    """The colour table: ``hex``/``rgba`` of "section.name" keys, ``states``, ``stops``, ``theme``."""

    def __init__(self, table: Mapping[str, Any], source: str) -> None:
        self.source = source
        self._table = table
        for section, entries in table.items():  # every colour checked now, not when first drawn
            self._check(section, entries)

    def _check(self, key: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for name, inner in value.items():
                self._check(f"{key}.{name}", inner)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                self._check(f"{key}[{i}]", inner)
        elif isinstance(value, str) and value.startswith("#"):
            try:
                parse(value)
            except ValueError as exc:
                raise PaletteError(f"{self.source}: {key}: {exc}") from None

    def _get(self, key: str) -> Any:
        node: Any = self._table
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise PaletteError(f"{self.source}: no colour {key!r}")
            node = node[part]
        return node

    def _colour(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.startswith("#"):
            raise PaletteError(f"{self.source}: {key} is not a colour: {value!r}")
        return value

    def rgba(self, key: str, alpha: float | None = None) -> RGBA:
        """RGBA floats of ``key`` ("charge.positive"); ``alpha`` replaces the table's."""
        r, g, b, a = parse(self._colour(key))
        return (r, g, b, a if alpha is None else float(alpha))

    def hex(self, key: str) -> str:
        """``"#rrggbb"`` of ``key`` (the table's alpha dropped), lower case."""
        return to_hex(self.rgba(key))

    def names(self, section: str) -> list[str]:
        """The keys of a section, in table order."""
        value = self._get(section)
        if not isinstance(value, Mapping):
            raise PaletteError(f"{self.source}: {section} is not a section")
        return list(value)

    def section(self, section: str) -> dict[str, RGBA]:
        """Every colour of a flat section as RGBA, in table order."""
        return {name: self.rgba(f"{section}.{name}") for name in self.names(section)}

    def stops(self, key: str) -> list[RGBA]:
        """A list of colours (a scale's evenly spaced stops, a series of curve colours)."""
        value = self._get(key)
        if not isinstance(value, list) or len(value) < 2:
            raise PaletteError(f"{self.source}: {key} must be a list of at least two colours")
        return [parse(v) for v in value]

    def state(self, group: str, name: str) -> State:
        """Colour, glyph and word of one state: ``state("alarm", "major")``, ``state("dqm", "good")``."""
        key = f"{group}.{name}"
        entry = self._get(key)
        try:
            return State(to_hex(parse(entry["color"])), str(entry["glyph"]), str(entry["text"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise PaletteError(f"{self.source}: {key} needs color, glyph and text ({exc})") from None

    def theme(self, name: str) -> dict[str, str]:
        """Every entry of a theme: colours as "#rrggbb[aa]" strings, and its ``label``."""
        if name not in THEMES:
            raise PaletteError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
        entries = self._get(f"theme.{name}")
        return {k: str(v) for k, v in entries.items()}


def _merge(base: dict[str, Any], override: Mapping[str, Any], source: str, path: str = "") -> None:
    for key, value in override.items():
        where = f"{path}{key}"
        if key not in base:
            raise PaletteError(f"{source}: unknown entry {where!r}")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise PaletteError(f"{source}: {where} must be a section")
            _merge(base[key], value, source, where + ".")
        else:
            base[key] = value


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise PaletteError(f"{path}: cannot read the colour table: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PaletteError(f"{path}: not a valid colour table: {exc}") from None


def load(path: Path = TABLE, override: Path | None = None) -> Palette:
    """The table at ``path``, with the entries of ``override`` (another TOML file) put over it."""
    table = _read(path)
    source = str(path)
    if override is not None:
        _merge(table, _read(override), str(override))
        source = f"{path} + {override}"
    return Palette(table, source)


@functools.cache
def palette() -> Palette:
    """The application's table: the shipped one, overridden by ``$BELLE2_COLORS`` when set."""
    chosen = os.environ.get(ENV)
    return load(TABLE, Path(chosen).expanduser() if chosen else None)
