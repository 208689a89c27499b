"""Where the basf2 reference data files live, and how to read them with a clear error."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_VAR = "BELLE2_GEOMETRY_DATA"
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "reference" / "geometry"


class GeometryDataError(RuntimeError):
    """A reference data file is missing or unreadable."""


def data_dir() -> Path:
    """The folder of basf2 geometry files: ``$BELLE2_GEOMETRY_DATA`` or the shared reference folder."""
    return Path(os.environ.get(ENV_VAR, DEFAULT_DATA_DIR))


def data_file(name: str) -> Path:
    """Path of one reference file; raises GeometryDataError naming the file if it is absent."""
    path = data_dir() / name
    if not path.is_file():
        raise GeometryDataError(f"geometry data file missing: {path} (set {ENV_VAR} to its folder)")
    return path
