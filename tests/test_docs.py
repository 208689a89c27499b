"""docs/ stays true: every pointer into it names a section that exists, and its tables match the code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SECTION = re.compile(r"§(\d+(?:\.\d+)?)(?:–(\d+))?")


def _sections(doc: Path) -> set[str]:
    heads = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", doc.read_text(), flags=re.MULTILINE)
    return set(heads)


def _tracked() -> list[str]:
    """The repository's files (git's list, or a walk of the tree where there is no git checkout)."""
    try:
        listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
        return listing.stdout.split()
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", ".git", "__pycache__", ".mypy_cache", ".ruff_cache"}
        return [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]


def _pointers() -> list[tuple[str, str, str]]:
    """(where, document, section) for every "docs/X.md §N" in tracked files and "[X.md](X.md) §N" in docs."""
    out: list[tuple[str, str, str]] = []
    for name in _tracked():
        path = ROOT / name
        if (path.suffix not in (".py", ".md", ".toml") and path.name != "Makefile") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        spans = [(m.group(1), m.group(2)) for m in re.finditer(r"docs/(\w+)\.md([^()\n;:]*)", text)]
        if name.startswith("docs/"):
            spans += [(m.group(1), m.group(2)) for m in re.finditer(r"\]\((\w+)\.md\)([^()\n;:]*)", text)]
        for doc, span in spans:
            span = span.split("docs/")[0].split("](")[0]
            for first, last in SECTION.findall(span):
                sections = [first] if not last else [str(k) for k in range(int(first), int(last) + 1)]
                out.extend((name, doc, s) for s in sections)
    return out


def test_every_pointer_into_docs_names_an_existing_section() -> None:
    pointers = _pointers()
    assert len(pointers) > 40  # the code cites the documents throughout
    missing = [
        f"{where}: docs/{doc}.md §{section}"
        for where, doc, section in pointers
        if not (DOCS / f"{doc}.md").exists() or section not in _sections(DOCS / f"{doc}.md")
    ]
    assert not missing, missing


def test_no_document_outside_the_repository_is_cited() -> None:
    """Docstrings, comments and the README cite docs/, not reference documents a reader cannot open."""
    outside = re.compile(r"shared/(reference/[\w.-]+\.md|design/)")
    bad = []
    for name in _tracked():
        path = ROOT / name
        if name.startswith("tests/") or not path.is_file() or path.suffix not in (".py", ".md", ".toml", ""):
            continue
        for k, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if outside.search(line):
                bad.append(f"{name}:{k}")
    assert bad == []


def _table(doc: str, header: str) -> list[list[str]]:
    """Rows of the first markdown table whose header line starts with ``header``."""
    lines = (DOCS / doc).read_text().splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_the_file_and_registry_tables_are_the_codes() -> None:
    """§5 lists the formats of ``events.io.FORMATS`` in order; §10 names every key of every table."""
    from events import io
    from monitoring import live_events, source
    from monitoring.histograms import backends

    rows = _table("architecture.md", "| Suffix | Format | Module | Read | Write |")
    assert [re.findall(r"`(\.\w+)", row[0]) for row in rows] == [list(f.suffixes) for f in io.FORMATS]
    assert [row[4] == "yes" for row in rows] == [f.writer is not None for f in io.FORMATS]
    registries = _table("architecture.md", "| Table |")
    keys = {row[0].strip("`"): re.findall(r"`(\w+)`", row[1]) for row in registries}
    assert keys == {
        "events.io.FORMATS": [],  # keyed by suffix: the §5 table
        "monitoring.live_events.STREAM_SCHEMES": list(live_events.STREAM_SCHEMES),
        "monitoring.source.SCHEMES": list(source.SCHEMES),
        "monitoring.histograms.backends.BACKEND_TABLE": list(backends.BACKEND_TABLE),
    }


def test_the_stream_table_is_the_generators() -> None:
    from events.generator import processes, stream_model

    codes, shares = stream_model.stream_shares()
    share = {int(c): 100 * s for c, s in zip(codes, shares, strict=True)}
    sigma = {p.code: p.cross_section_nb for p in processes.PROCESSES}
    eps = {p.code: 100 * stream_model.acceptances()[p.name] for p in processes.PROCESSES}
    rows = _table("physics.md", "| Code | Process | σ [nb]")
    seen = set()
    for row in rows:
        first, *rest = (int(c) for c in re.split(r"[–,]\s*", row[0]))
        row_codes = list(range(first, rest[0] + 1)) if rest else [first]
        sigmas = [float(x) for x in re.findall(r"\d+\.\d+", row[2])]
        shares_doc = [float(x) for x in re.findall(r"(\d+\.\d+)", row[5])]
        if len(sigmas) == 1:
            sigmas *= len(row_codes)
        if len(shares_doc) == 1:
            shares_doc *= len(row_codes)
        for code, s_doc, sh_doc in zip(row_codes, sigmas, shares_doc, strict=True):
            assert s_doc == pytest.approx(sigma[code], abs=0.006), code
            assert sh_doc == pytest.approx(share[code], abs=0.051), code
            eps_doc = [float(x) for x in re.findall(r"\d+\.\d+|\d+", row[4])]
            eps_row = eps_doc[row_codes.index(code) if len(eps_doc) > 1 else 0]
            assert eps_row == pytest.approx(eps[code], abs=0.051), code
            seen.add(code)
    assert seen == set(sigma)


def test_the_ecl_ring_table_is_the_geometrys() -> None:
    from geometry import ecl

    rows = _table("detector.md", "| thetaID | Region | Crystals per ring")
    covered = []
    for row in rows:
        lo, hi = (int(x) for x in row[0].split("–"))
        rings = np.arange(lo, hi + 1)
        covered.extend(rings.tolist())
        assert (ecl.N_PHI[rings] == int(row[2])).all()
        assert {ecl.REGION_NAMES[r] for r in ecl.RING_REGION[rings]} == {row[1]}
        first, last = (int(x) for x in row[4].split("–"))
        assert first == ecl.FIRST_CELL[lo]
        assert last == ecl.FIRST_CELL[hi] + ecl.N_PHI[hi] - 1
        t0, t1 = (float(x.rstrip("°")) for x in row[5].split("–"))
        centres = ecl.theta_center_deg()
        assert (t0, t1) == (centres[lo], centres[hi])
    assert covered == list(range(ecl.N_RINGS))


def test_the_cdc_table_is_the_geometrys() -> None:
    from geometry import cdc

    layers = cdc.sense_layers()
    rows = _table("detector.md", "| SL | Type | Layers")
    assert [int(r[0]) for r in rows] == list(range(cdc.N_SUPERLAYERS))
    for row in rows:
        m = layers.superlayer == int(row[0])
        assert set(layers.kind[m].tolist()) == {row[1]}
        assert int(row[3]) == int(layers.n_wires[m][0])
        r0, r1 = (float(x) for x in row[4].split("–"))
        assert (r0, r1) == (round(float(layers.radius[m].min()), 2), round(float(layers.radius[m].max()), 2))
        assert int(row[5].replace("+", "").replace("−", "-")) == int(layers.n_shift[m][0])
