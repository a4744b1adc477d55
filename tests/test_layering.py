"""The package's layers, read from the source with ``ast``: data flows top to bottom, nothing imports upward.

Every import counts, also one inside a function (a lazy import is still a dependency); only imports under
``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "unicorn"

# (layer importing, layers it must not import): DESIGN.md's order, models -> trackers -> api -> CLI/demo/tools.
FORBIDDEN = [
    ("unicorn.models", ("unicorn.trackers", "unicorn.data", "unicorn.evaluation", "unicorn.engine")),
    ("unicorn.trackers", ("unicorn.cli", "unicorn.cli_track", "unicorn.evaluation")),
    ("unicorn.detectors", ("unicorn.trackers",)),
    ("unicorn", ("demo", "tools")),
]


def module_name(path: Path) -> str:
    """Dotted module name of a file under the repository root (``unicorn/a/__init__.py`` -> ``unicorn.a``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, source: str | None = None) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for every import that can run in ``path``
    (whose text is ``source`` when given)."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: list[tuple[str, list[str], int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                out.extend((alias.name, [], child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                out.append((base, [alias.name for alias in child.names], child.lineno))
            visit(child)

    visit(tree)
    return out


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(target: str, names: list[str], modules: dict[str, Path]) -> list[str]:
    """Package modules an import statement loads: ``from a import b`` is module ``a.b`` when that is one."""
    found = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
    if target in modules and len(found) < len(names):
        found.append(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, names, _ in imports_of(path):
            for dep in _resolve(target, names, modules):
                if dep != name:
                    graph[name].add(dep)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, first repeated at the end), or None. A package's import of its
    own submodules and the submodules' import of names from their package ``__init__`` are no cycle
    when the package only re-exports: ``__init__`` files are skipped as cycle members."""
    edges = {m: {d for d in deps if not PACKAGE.joinpath(*d.split(".")[1:], "__init__.py").exists()}
             for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := dfs(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := dfs(start)):
            return cycle
    return None


def _inside(name: str, layer: str) -> bool:
    return name == layer or name.startswith(layer + ".")


def test_no_import_cycle_inside_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize(("layer", "forbidden"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_upward_imports(layer, forbidden):
    bad = []
    for name, path in package_modules().items():
        if not _inside(name, layer):
            continue
        for target, _, line in imports_of(path):
            if any(_inside(target, f) for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_demo_and_tools_use_only_public_names():
    bad = []
    for folder in ("demo", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for target, names, line in imports_of(path):
                if not _inside(target, "unicorn"):
                    continue
                private = [p for p in target.split(".") if p.startswith("_") and p != "__main__"]
                private += [n for n in names if n.startswith("_")]
                if private:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports private {', '.join(private)} from {target}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_cycle_and_an_upward_import():
    """The rules above can fail: a hand-made two-module cycle is found, a function-level import counts,
    one under TYPE_CHECKING does not."""
    assert find_cycle({"unicorn.a": {"unicorn.b"}, "unicorn.b": {"unicorn.a"}, "unicorn.c": set()}) == [
        "unicorn.a", "unicorn.b", "unicorn.a"]
    assert find_cycle({"unicorn.a": {"unicorn.b"}, "unicorn.b": set()}) is None
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..engine import trainer\n"
              "def f():\n    from ..trackers import base\n")
    found = [target for target, _, _ in imports_of(PACKAGE / "models" / "unicorn.py", source)]
    assert found == ["typing", "unicorn.trackers"]
