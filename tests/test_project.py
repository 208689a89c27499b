"""Project-wide guards: the toolchain pin, the import rules, lint and types."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"


def test_pyside_none_refcount_guard(qapp) -> None:
    """PySide6 6.12.0 drops a reference to None on every void call (environment.md §1)."""
    before = sys.getrefcount(None)
    for _ in range(2000):
        qapp.processEvents()
    assert sys.getrefcount(None) >= before - 50


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} not installed in .venv")
    return str(path)


def test_import_contracts() -> None:
    """The pure core never imports Qt, VisPy or pyqtgraph; rooms import downward only."""
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_clean() -> None:
    targets = ["geometry", "events", "monitoring", "displays", "panels", "main.py", "tests", "benchmarks"]
    result = subprocess.run([_tool("mypy"), *targets], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pure_core_imports_without_qt() -> None:
    """Importing every pure room must not load PySide6, VisPy or pyqtgraph."""
    code = (
        "import pkgutil, importlib, sys\n"
        "for pkg in ('geometry', 'events', 'monitoring'):\n"
        "    m = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(m.__path__, pkg + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = [n for n in ('PySide6', 'vispy', 'pyqtgraph') if n in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_log_level_sets_what_reaches_stderr() -> None:
    """``--log-level`` on any command: the server's progress notes at its default, none at warning."""
    serve = [sys.executable, "main.py", "serve", "--from", "fake", "--count", "40", "--batch", "20"]
    serve += ["--bind", "tcp://127.0.0.1:*"]
    chatty = subprocess.run(serve, cwd=ROOT, capture_output=True, text=True, timeout=60)
    quiet = subprocess.run(
        [*serve, "--log-level", "warning"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert chatty.returncode == quiet.returncode == 0
    assert chatty.stderr.splitlines() == ["serve: 40 events sent from fake"]
    assert quiet.stderr == ""
    bad = subprocess.run([*serve, "--log-level", "loud"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "invalid choice: 'loud'" in bad.stderr
