"""The house rules that a reader cannot see from one file: floors, circles, demo apart.

- imports go one way: hbs → flows → tasks → hocbaso / validation;
- no import circle among the modules of hocbaso and validation;
- only ``hocbaso/demo/`` and ``hocbaso/resources.py`` know the demo parts, and the
  product's steps load none of the stand-ins' heavy libraries.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FLOORS = {"hbs": 3, "flows": 2, "tasks": 1, "hocbaso": 0, "validation": 0}
STAND_IN_LIBRARIES = ("fastapi", "uvicorn", "certomancer", "werkzeug")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every project module ``path`` imports (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in FLOORS}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for top in FLOORS for p in (REPO / top).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # `from a.b import c` may name module a.b.c or an attribute of a.b
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_imports_go_one_way_down_the_floors() -> None:
    upward = [
        f"{module} → {target}"
        for module, targets in _graph().items()
        for target in targets
        if FLOORS[target.split(".")[0]] > FLOORS[module.split(".")[0]]
    ]
    assert upward == []


def _is_package(module: str) -> bool:
    return (REPO / Path(*module.split(".")) / "__init__.py").is_file()


def test_no_import_circle_in_the_core() -> None:
    """No module of hocbaso/validation imports one that imports it back (through any path).

    A package's ``__init__`` re-exporting its own modules is not a circle: edges from
    a module to its own package's ``__init__`` are left out.
    """
    graph = {m: t for m, t in _graph().items() if m.split(".")[0] in ("hocbaso", "validation")}
    for module, targets in graph.items():
        graph[module] = {
            t for t in targets if t in graph and not (_is_package(t) and module.startswith(t + "."))
        }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_only_the_demo_package_and_resources_know_the_demo_parts() -> None:
    pattern = re.compile(r"standin|certomancer|DemoPki")
    knowing = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "hocbaso").rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    )
    outside = [p for p in knowing if not p.startswith("hocbaso/demo/")]
    assert outside in ([], ["hocbaso/resources.py"])


def test_the_product_steps_load_none_of_the_stand_ins_libraries() -> None:
    code = (
        "import sys\n"
        "import hocbaso.submission, hocbaso.lock, hocbaso.issue, hocbaso.lifecycle\n"
        "import hocbaso.resources, flows.steps, flows.plan\n"
        f"print(sorted(m for m in {STAND_IN_LIBRARIES!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
