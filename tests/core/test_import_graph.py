"""The packages of civic/ form no import cycle, counting imports inside functions too, and the leaf
module imports no domain. A cycle is how 'the workflow coordinates the domains that use it' creeps back."""

from __future__ import annotations

import ast
from pathlib import Path

import civic

ROOT = Path(civic.__file__).parent


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _modules() -> dict[str, Path]:
    return {".".join(("civic", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__"): path
            for path in ROOT.rglob("*.py")}


def module_graph() -> dict[str, set[str]]:
    """civic module -> the civic modules it imports (any import statement, at any depth; `from civic.web
    import media` counts as importing civic.web.media)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            targets.update(n for n in names if n in modules and n != module)
    return graph


def import_graph() -> dict[str, set[str]]:
    """civic.<package> -> the civic.<package>s it imports."""
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        source = _package(module)
        graph.setdefault(source, set()).update(_package(t) for t in targets if _package(t) != source)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_packages():
    assert cycles(import_graph()) == []


def test_no_import_cycle_between_modules():
    """Inside a package too (the status page's sections register with civic.web.views instead of being
    imported by it)."""
    assert cycles(module_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_leaf_module_imports_no_domain():
    allowed = {"civic.errors"}
    assert import_graph()["civic.core"] <= allowed


def test_domains_never_import_the_web_or_the_api():
    graph = import_graph()
    for package in ("accounts", "areas", "items", "workflow", "deliberation", "implementation", "supervision",
                    "media", "audit", "core"):
        delivery = {"civic.web", "civic.open311", "civic.main"}
        assert not graph.get(f"civic.{package}", set()) & delivery, package
