"""The package layout follows the data path: imports only point down, and no module imports itself in a circle.

Lower packages never import higher ones (DESIGN.md, "The data path"). Packages on one level are
independent of each other. Top-level modules (errors, defaults, formatting, table, atomic) sit below everything
and import no epee package. Lazy imports inside functions count too: they are edges all the same.
"""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "epee"
LAYERS = (  # lowest first; a tuple holds independent packages of one level
    ("data",),
    ("tasks",),
    ("models",),
    ("policies",),
    ("runtime",),
    ("train", "calibrate"),
    ("evaluate",),
    ("workflow",),
    ("report",),
    ("serve",),
    ("cli",),
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every ``epee`` module a file imports, at the top or inside a function.

    ``from epee.models import peft_adapters`` imports the submodule, not the package's ``__init__``.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("epee"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("epee"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found & modules


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in SOURCE.rglob("*.py")}
    return {name: _imports(path, set(paths)) for name, path in paths.items()}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_package_has_a_level():
    packages = {path.parent.name for path in SOURCE.glob("*/__init__.py")}
    assert packages <= set(LEVEL), f"place {sorted(packages - set(LEVEL))} in LAYERS"


def _upward_imports() -> list[str]:
    problems = []
    for module, targets in _graph().items():
        source = _package(module)
        for target in targets:
            destination = _package(target)
            if destination is None or destination == source or destination not in LEVEL:
                continue
            if source is None or source not in LEVEL:  # a top-level module: the foundation of every layer
                problems.append(f"{module} (top level) imports {target}")
            elif LEVEL[destination] >= LEVEL[source]:
                problems.append(f"{module} imports {target}, which is not below {source}")
    return sorted(problems)


def test_imports_only_point_down():
    assert _upward_imports() == []


def _cycle() -> list[str] | None:
    graph, state, stack = _graph(), {}, []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle():
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("module", ["epee.cli.commands.report"])
def test_the_checker_sees_lazy_imports(module):
    """A guard on the checker itself: the CLI imports the workflow lazily, inside its commands."""
    assert any(target.startswith("epee.workflow") for target in _graph()[module])
