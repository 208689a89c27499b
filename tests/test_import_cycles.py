"""No import cycle between the modules of the program's packages (grimp's import graph).

Every import counts, at module level or inside a function (a lazy import is still a dependency),
including those under ``TYPE_CHECKING``. Where one module must find another it cannot import
without a cycle, it looks it up by name in a table (``events.io.FORMATS``,
``monitoring.histograms.backends.BACKEND_TABLE``, ``monitoring.source.SCHEMES``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import grimp

PACKAGES = ("geometry", "events", "monitoring", "displays", "panels")

# Cycles known and not yet broken, each as the set of its modules, with the reason it is left.
# Empty: a new cycle fails the test; one fixed must be taken out of here.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Groups of two or more modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    """The group's modules and one cycle through them, each import with its line."""
    first = group[0]
    inside = set(group)
    back = next(
        m for m in sorted(graph.find_modules_that_directly_import(first)) if m in inside
    )  # some member imports the first one
    chain = graph.find_shortest_chain(importer=first, imported=back) or (first, back)
    steps = [*chain, first]
    lines = []
    for importer, imported in itertools.pairwise(steps):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = f" (line {details[0]['line_number']}: {details[0]['line_contents']})" if details else ""
        lines.append(f"    {importer} -> {imported}{where}")
    return f"  {', '.join(group)}\n" + "\n".join(lines)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    return strongly_connected(edges)


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    found = cycles(graph)
    new = [group for group in found if frozenset(group) not in KNOWN_CYCLES]
    assert not new, "import cycles (break them with a leaf module or a table by name):\n" + "\n".join(
        describe(graph, group) for group in new
    )
    gone = KNOWN_CYCLES - {frozenset(group) for group in found}
    assert not gone, f"broken now, take them out of KNOWN_CYCLES: {sorted(map(sorted, gone))}"


def test_the_check_finds_a_cycle_and_names_its_modules() -> None:
    """The detector itself, on a graph with one three-module cycle, a self-contained tail and a leaf."""
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("pkg.backends", "pkg.dask"),
        ("pkg.dask", "pkg.definitions"),
        ("pkg.definitions", "pkg.backends"),
        ("pkg.cli", "pkg.backends"),
        ("pkg.definitions", "pkg.leaf"),
    ]:
        graph.add_import(
            importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}"
        )
    assert cycles(graph) == [["pkg.backends", "pkg.dask", "pkg.definitions"]]
    text = describe(graph, ["pkg.backends", "pkg.dask", "pkg.definitions"])
    assert "pkg.backends -> pkg.dask (line 1: import pkg.dask)" in text
    assert "pkg.definitions -> pkg.backends" in text
