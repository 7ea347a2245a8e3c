"""The package's layering: no import cycles between modules, and export never imports
training (DESIGN.md: mechanisms below the families, orchestration above them)."""

import ast
import subprocess
import sys
from pathlib import Path

import tfdeeprec

PACKAGE = Path(tfdeeprec.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict:
    """Module -> the tfdeeprec modules it imports anywhere in its text (functions too)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}"
                           if f"{node.module}.{alias.name}" in modules else node.module
                           for alias in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def _cycles(graph: dict) -> list:
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules():
    graph = _import_graph()
    # A package __init__ re-exports its own submodules: those edges are the package's
    # public list, not a dependency of the package on itself.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    assert _cycles(graph) == []


def test_cli_and_demo_and_the_two_exporters_do_not_import_each_other():
    graph = _import_graph()
    assert "tfdeeprec.cli" not in graph["tfdeeprec.demo"]
    assert "tfdeeprec.export.retrieval_exporter" not in graph["tfdeeprec.export.exporter"]


def test_export_never_imports_training():
    graph = _import_graph()
    reach, todo = set(), [m for m in graph if m.startswith("tfdeeprec.export")]
    while todo:
        module = todo.pop()
        for nxt in graph[module] - reach:
            reach.add(nxt)
            todo.append(nxt)
    assert not {m for m in reach if m.startswith("tfdeeprec.training")}
    code = ("import sys, tfdeeprec.export; "
            "print(sorted(m for m in sys.modules if m.startswith('tfdeeprec.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.strip()
    assert out == "[]"
