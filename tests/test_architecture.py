"""The shape of the code: no import circle in the library or the experiments' harness (an import graph
read from the sources), and no module imports back up into the container that uses it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path, package_root: Path) -> str:
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package_root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (at any depth in the file)."""
    package = package_root.name
    modules = {module_name(p, package_root): p for p in package_root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                submodules = [f"{prefix}.{alias.name}" for alias in node.names]
                # `from . import data` imports the submodule; `from .layers import Dense`, the package
                targets = [t for t in submodules if t in modules] or [prefix]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == package and target in modules and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


@pytest.mark.parametrize("package", ["minidl", "experiments/harness"])
def test_no_import_circle(package):
    cycle = find_cycle(import_graph(ROOT / package))
    assert cycle is None, " -> ".join(cycle)


def test_nothing_imports_the_container():
    """models.py uses training, data, saving, summary, inference; none of them (nor anything else in the
    library but the package's __init__) imports models."""
    graph = import_graph(ROOT / "minidl")
    importers = sorted(name for name, targets in graph.items() if "minidl.models" in targets)
    assert importers == ["minidl"], importers


def test_the_graph_reader_sees_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    graph = import_graph(ROOT / "minidl")
    assert "minidl.training" in graph["minidl.models"] and "minidl.data" in graph["minidl.training"]
