"""The layout keeps its promises: no import circle, and the machinery knows no family."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    ROOT / "kode_core",
    *(path for path in sorted((ROOT / "plugins").glob("kode-*/kode_*")) if path.is_dir()),
]
#: Modules of kode_core that are shared machinery (everything at the top but the
#: users' facade ``__init__``, ``_moved``, the CLI and the kit), plus the memory engine.
FAMILY_NAMES = (
    "sessions",
    "agents",
    "threads",
    "runs",
    "workflows",
    "channels",
    "deployments",
    "secrets",
)
FAMILIES = tuple(f"kode_core.{name}" for name in FAMILY_NAMES)
PLUGIN_FAMILIES = tuple(f"._{name}" for name in FAMILY_NAMES)


def _module_name(path: Path) -> str:
    base = next(p for p in PACKAGES if path.is_relative_to(p))
    parts = [base.name, *path.relative_to(base).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it is imported (top level, not under TYPE_CHECKING)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = [n for n in tree.body if not (isinstance(n, ast.If) and _is_type_checking(n))]
    for node in body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if node.module:  # `from . import x` imports the submodule x, not the package
                found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    files = [f for package in PACKAGES for f in package.rglob("*.py")]
    modules = {_module_name(f): f for f in files}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_no_module_imports_in_a_circle() -> None:
    graph = _graph()
    edges = {name: targets - {name} for name, targets in graph.items()}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str], on_path: set[str], done: set[str]) -> None:
        for target in sorted(edges[node]):
            if target in on_path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                on_path.add(target)
                visit(target, [*path, target], on_path, done)
                on_path.discard(target)
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start], {start}, done)
    assert cycles == []


@pytest.mark.parametrize(
    "module",
    sorted(
        name
        for name in _graph()
        if (
            name.startswith(("kode_core._", "kode_core.backend", "kode_core.memory"))
            and not name.startswith(("kode_core._cli", "kode_core._moved"))
        )
        or name.endswith(("._backend", "._schema", "._options"))
    ),
)
def test_the_machinery_imports_no_family(module: str) -> None:
    imported = _graph()[module]
    own = [family for family in FAMILIES if module.startswith(f"{family}.")]  # its own modules
    families = sorted(
        t
        for t in imported
        if (t.startswith(FAMILIES) or any(part in t for part in PLUGIN_FAMILIES))
        and not (own and t.startswith(f"{own[0]}."))
    )
    assert families == [], f"{module} imports {families}"
