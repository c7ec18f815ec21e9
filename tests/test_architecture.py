"""The layout of docs/architecture.md holds: few loose modules, no import circles, and no
package importing a layer above it. Imports are read from the source (AST), including
lazy ones inside functions and ``TYPE_CHECKING`` blocks, so a hidden back-import counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simulator", "predictors", "reports")

#: package prefix -> prefixes it must never import (docs/architecture.md, "may import").
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "simulator.pools": ("simulator.comparison", "simulator.traffic", "simulator.allocation", "simulator.policies",
                        "simulator.scenario", "simulator.experiments", "simulator.des",
                        "simulator.serving", "simulator.sweep", "simulator.cli", "predictors",
                        "reports"),
    "simulator.traffic": ("simulator.comparison", "simulator.allocation", "simulator.policies", "simulator.scenario",
                          "simulator.experiments", "simulator.des", "simulator.serving",
                          "simulator.sweep", "simulator.cli", "predictors", "reports"),
    "simulator.allocation": ("simulator.comparison", "simulator.pools", "simulator.traffic", "simulator.policies",
                             "simulator.scenario", "simulator.experiments", "simulator.des",
                             "simulator.serving", "simulator.sweep", "simulator.cli",
                             "predictors", "reports"),
    "simulator.policies": ("simulator.comparison", "simulator.pools", "simulator.traffic", "simulator.scenario",
                           "simulator.experiments", "simulator.des", "simulator.serving",
                           "simulator.sweep", "simulator.cli", "predictors", "reports",
                           "simpy"),
    "predictors": ("simulator.comparison", "simulator.scenario", "simulator.experiments", "simulator.des",
                   "simulator.serving", "simulator.sweep", "simulator.cli", "reports"),
    "simulator.serving": ("simulator.comparison", "simulator.pools", "simulator.traffic",
                          "simulator.allocation", "simulator.policies", "simulator.scenario",
                          "simulator.experiments", "simulator.des", "simulator.sweep",
                          "simulator.cli", "predictors", "reports", "simpy"),
    "simulator.scenario": ("simulator.comparison", "simulator.experiments", "simulator.des",
                           "simulator.sweep", "simulator.cli", "reports"),
    "simulator.experiments": ("simulator.comparison", "simulator.des", "simulator.serving",
                              "simulator.sweep",
                              "simulator.cli", "reports"),
    "simulator.des": ("simulator.sweep", "simulator.cli", "simulator.experiments", "reports",
                      "simulator.comparison"),
    "simulator.comparison": ("simulator.sweep", "simulator.cli", "reports"),
    "simulator.sweep": ("simulator.cli", "reports"),
    "reports": ("simulator.des", "simulator.cli", "simulator.serving", "simulator.comparison"),
}
#: the shared ground at ``simulator/*.py`` imports nothing of the packages above.
SHARED = ("simulator.atomic", "simulator.checks", "simulator.errors", "simulator.metrics",
          "simulator.registry", "simulator.seeds", "simulator.version")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module (of ours, or a third-party top name) that ``name`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in MODULES else mod)
    return found


GRAPH = {name: {m for m in _imports(name, path) if m in MODULES and m != name}
         for name, path in MODULES.items()}


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_at_most_eight_loose_modules() -> None:
    loose = sorted(p.name for p in (ROOT / "simulator").glob("*.py"))
    assert len(loose) <= 8, loose


def test_packages_of_the_layout_exist() -> None:
    for pkg in ("pools", "traffic", "allocation", "policies", "serving", "scenario",
                "experiments", "des", "sweep", "cli"):
        assert (ROOT / "simulator" / pkg / "__init__.py").is_file(), pkg


def test_no_import_circles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert circles == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_above_itself(layer: str) -> None:
    bad = []
    for name, path in MODULES.items():
        if not _inside(name, layer):
            continue
        for imported in _imports(name, path):
            if any(_inside(imported, f) for f in FORBIDDEN[layer]):
                bad.append(f"{name} imports {imported}")
    assert bad == []


def test_shared_ground_imports_only_shared_ground() -> None:
    bad = [f"{m} imports {i}" for m in SHARED for i in GRAPH[m] if i not in SHARED]
    assert bad == []


def test_the_checker_sees_lazy_imports() -> None:
    """A guard on the guard: the graph includes imports inside functions."""
    assert "simulator.des.runner" in GRAPH["simulator.sweep.kind_scenario"]
