"""The walls of the house (docs/architecture.md): who may import what.

Every import is counted, at the top of a module or inside a function (an import inside a
function is still a dependency); only imports under `if TYPE_CHECKING:` are not.
"""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "crosscheck"
#: Third-party libraries each allowed in exactly these modules (paths relative to the repo).
ONLY_IN = {
    "prefect": {"flows"},
    "great_expectations": {"crosscheck/connectors/validation.py"},
    "pyspark": {"crosscheck/engines/spark.py", "crosscheck/__init__.py"},
    "apprise": {"crosscheck/reports/alerts.py"},
    "fastapi": {"crosscheck/workbench"},
    "starlette": {"crosscheck/workbench"},
    "uvicorn": {"crosscheck/workbench"},
    "argon2": {"crosscheck/casework/accounts.py"},
}


def _imports(path: Path) -> list[str]:
    """Absolute module names `path` imports (relative imports resolved), TYPE_CHECKING excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(REPO).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.append(base)
            out += [f"{base}.{a.name}" for a in node.names]  # `from pkg import module`
    return out


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        mods[".".join(parts)] = path
    return mods


def test_no_import_cycle_inside_crosscheck():
    mods = _modules()
    graph = {m: sorted({i for i in _imports(p) if i in mods and i != m}) for m, p in mods.items()}
    # a package's __init__ re-exporting its modules is not a dependency of those modules on it
    for m in graph:
        graph[m] = [d for d in graph[m] if not (m.startswith(d + ".") and mods[d].name == "__init__.py")]
    cycles, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = "open"
        stack.append(m)
        for d in graph[m]:
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_each_library_is_imported_only_behind_its_wall():
    files = sorted(PACKAGE.rglob("*.py")) + sorted((REPO / "flows").rglob("*.py"))
    leaks = []
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = ONLY_IN.get(top)
            if allowed is not None and not any(rel == a or rel.startswith(a + "/") for a in allowed):
                leaks.append(f"{rel} imports {name}")
    assert not leaks, "\n".join(sorted(set(leaks)))


def test_connectors_never_import_rules_and_reports_never_read_extracts():
    for path in sorted((PACKAGE / "connectors").rglob("*.py")):
        assert not [i for i in _imports(path) if i.startswith("crosscheck.rules")], path
    for path in sorted((PACKAGE / "reports").rglob("*.py")):
        bad = [i for i in _imports(path) if i.startswith(("crosscheck.connectors", "crosscheck.cache.canonical"))]
        assert not bad, (path, bad)


def test_no_module_in_crosscheck_is_over_500_lines():
    big = {p.relative_to(REPO).as_posix(): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not big, big


def test_the_end_to_end_list_names_test_files_that_exist():
    from conftest import END_TO_END

    present = {p.name for p in (REPO / "tests").rglob("test_*.py")}
    assert END_TO_END <= present, sorted(END_TO_END - present)


def _package_of(module: str) -> str:
    """`crosscheck.rules.runner` -> `crosscheck.rules`; a top-level contract module is its own."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _package_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for m, path in mods.items():
        here = _package_of(m)
        graph.setdefault(here, set())
        graph[here] |= {_package_of(i) for i in _imports(path) if i in mods and _package_of(i) != here}
    return graph


def test_no_import_cycle_between_packages():
    """The packages (and the top-level contract modules) form layers: no package imports,
    however indirectly, a package that imports it."""
    graph = _package_graph()
    cycles = []
    for start in sorted(graph):
        seen, todo = set(), [(start, [start])]
        while todo:
            node, path = todo.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    cycles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    todo.append((nxt, path + [nxt]))
    assert not cycles, cycles[:5]


ENGINE_NAMES = {"spark", "duckdb"}


def test_only_engines_asks_which_engine_it_is():
    """Outside crosscheck/engines no code compares anything with an engine's name."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "engines":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                named = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in ENGINE_NAMES]
                if named:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, found


def test_the_runtime_never_imports_the_developers_tools():
    """devtools/ (the sample city, the linkage and names harnesses) is reached only through the
    `crosscheck sample` / `eval-*` commands (crosscheck/cli/dev.py)."""
    leaks = [f"{p.relative_to(REPO)} imports {i}" for p in PACKAGE.rglob("*.py")
             if p.relative_to(REPO).as_posix() != "crosscheck/cli/dev.py"
             for i in _imports(p) if i == "devtools" or i.startswith("devtools.")]
    assert not leaks, leaks
