"""Imports run one way: the package's import graph has no cycle.

Every ``import`` and ``from ... import`` in every module of ``sk_unlearn`` is
read from the source -- at module level, under ``TYPE_CHECKING`` and inside
functions alike -- so a cycle cannot hide behind a function-local import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sk_unlearn"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["sk_unlearn", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def imports_of(name: str, modules: dict[str, Path] = MODULES) -> set[str]:
    """The modules of the package that module ``name`` imports, anywhere in its source."""
    path = modules[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                # "from pkg import sub" imports the submodule pkg.sub; any
                # other name is read from base itself.
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
    return {t for t in targets if t in modules and t != name}


def _cycles(modules: dict[str, Path] = MODULES) -> list[list[str]]:
    graph = {name: imports_of(name, modules) for name in modules}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_the_import_graph_has_no_cycle():
    assert _cycles() == []


def test_the_checker_sees_local_and_type_checking_imports(tmp_path):
    """The test above would catch the kinds of cycle the package used to have."""
    fake = {
        "sk_unlearn": tmp_path / "__init__.py",
        "sk_unlearn._a": tmp_path / "_a.py",
        "sk_unlearn._b": tmp_path / "_b.py",
        "sk_unlearn._c": tmp_path / "_c.py",
    }
    fake["sk_unlearn"].write_text("")
    fake["sk_unlearn._a"].write_text("from . import _b\n")
    fake["sk_unlearn._b"].write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._a import A\n"
    )
    fake["sk_unlearn._c"].write_text("def f():\n    from ._a import x\n")
    assert imports_of("sk_unlearn._b", fake) == {"sk_unlearn._a"}
    assert imports_of("sk_unlearn._c", fake) == {"sk_unlearn._a"}
    assert _cycles(fake) == [["sk_unlearn._a", "sk_unlearn._b", "sk_unlearn._a"]]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nothing_below_the_classifier_imports_it(name):
    if name in ("sk_unlearn", "sk_unlearn._classifier"):
        return
    assert "sk_unlearn._classifier" not in imports_of(name)
