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
