"""Imports between the project's packages go one way: index <- rag <- ui / evals <- newsdesk, and
nothing in the product imports `bench` (benchmarks, probes and training), which may import it.

Every import counts: at module level, inside functions, under `if TYPE_CHECKING:`, and by name
through `importlib.import_module("...")` or `__import__("...")`. Only `newsdesk/`, the
composition root, may import every package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Which other project packages each package may import; "tests" is project code nobody imports.
ALLOWED: dict[str, frozenset[str]] = {
    "index": frozenset(),
    "prompts": frozenset(),
    "rag": frozenset({"index", "prompts"}),
    "ui": frozenset({"rag", "index"}),
    "evals": frozenset({"rag", "index"}),
    "newsdesk": frozenset({"index", "rag", "ui", "evals", "prompts"}),
}
PROJECT = frozenset({*ALLOWED, "tests", "bench"})
DYNAMIC = frozenset({"import_module", "__import__"})


def _source_files() -> list[Path]:
    return sorted(p for package in ALLOWED for p in (ROOT / package).rglob("*.py"))


def _package_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def _resolve_relative(path: Path, module: str | None, level: int) -> str:
    """The absolute name of `from <dots><module> import ...` written in `path`."""
    # a module's package is its folder, for an __init__.py as for any other file
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join([*parts[:-level], *([module] if module else [])])


def _dynamic_name(call: ast.Call) -> str | None:
    """The module named by `importlib.import_module("x")` or `__import__("x")`, if literal."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in DYNAMIC or not call.args:
        return None
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imported_modules(path: Path, source: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in a file's syntax tree."""
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, _resolve_relative(path, node.module, node.level)
            elif node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and (name := _dynamic_name(node)):
            # a relative name ("." + ...) belongs to the importing package itself
            yield node.lineno, _package_of(path) if name.startswith(".") else name


def violations(path: Path) -> list[str]:
    """One line per import of a project package that `path`'s package may not import."""
    package = _package_of(path)
    found = []
    for line, module in imported_modules(path, path.read_text(encoding="utf-8")):
        target = module.split(".")[0]
        if target in PROJECT and target != package and target not in ALLOWED[package]:
            found.append(f"{path.relative_to(ROOT)}:{line}: {package} imports {module}")
    return found


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_package_direction(path: Path) -> None:
    assert violations(path) == []


def test_every_package_has_a_rule() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(ALLOWED), "give a new package its rule in ALLOWED"
    assert all((ROOT / name).is_dir() for name in ALLOWED)


def test_hidden_imports_are_found() -> None:
    source = """
from typing import TYPE_CHECKING
import importlib
if TYPE_CHECKING:
    from newsdesk.settings import Settings
def late():
    import ui.app
    importlib.import_module("evals.run")
    __import__("newsdesk")
from . import sibling
from ..index import store
"""
    path = ROOT / "rag" / "example.py"  # never written: only its place in the tree matters
    found = {name for _, name in imported_modules(path, source)}
    assert found >= {"newsdesk.settings", "ui.app", "evals.run", "newsdesk", "rag", "index"}


def test_the_product_never_imports_the_bench() -> None:
    reached = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _source_files()
        for line, module in imported_modules(path, path.read_text(encoding="utf-8"))
        if module.split(".")[0] == "bench"
    ]
    assert reached == []
    planted = "def late():\n    from bench.realtimeqa import run_benchmark\n"
    assert violations_in(ROOT / "rag" / "example.py", planted)  # the rule would catch one


def violations_in(path: Path, source: str) -> list[str]:
    """`violations` for source text that is not on disk."""
    package = _package_of(path)
    return [
        module
        for _, module in imported_modules(path, source)
        if module.split(".")[0] in PROJECT
        and module.split(".")[0] != package
        and module.split(".")[0] not in ALLOWED[package]
    ]
