"""The house's rules, checked on the source: no import circle, a live path free of simulation, small files, parts whole."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from dataclasses import is_dataclass
from pathlib import Path

import pytest

from edge.parts.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("drivers", "edge", "fleet")
MAX_LINES = 400
#: What the live agent must never load: simulated parts, the simulation, twins.
SIMULATION = ("drivers.sim", "edge.simulation")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every module `name` imports, anywhere in it (functions and TYPE_CHECKING blocks included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # `from pkg import module` imports that module too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    return {name: {i for i in _imports(name, path) if i in MODULES and i != name} for name, path in MODULES.items()}


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(GRAPH.get(node, ()))
    return seen


def _simulated(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(SIMULATION) or m.endswith(".twin"))


def test_architecture_finds_every_package() -> None:
    assert {"edge.cli", "edge.runtime.live", "edge.parts.registry", "drivers.bh1750", "fleet.cli"} <= set(MODULES)


def test_architecture_has_no_import_circle() -> None:
    assert _cycles(GRAPH) == []


def test_architecture_cycle_finder_sees_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_architecture_live_path_loads_no_simulation() -> None:
    live = _closure("edge.runtime.live")
    assert "edge.hardware.buses" in live and "edge.parts.registry" in live
    assert _simulated(live) == []


def test_architecture_command_line_loads_simulation_only_when_asked() -> None:
    cli = MODULES["edge.cli"]
    top_level = set()
    for node in ast.parse(cli.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module)
    reachable = set().union(*(_closure(m) for m in top_level if m in MODULES))
    assert _simulated(reachable) == []


def test_architecture_edge_top_holds_only_the_command_line() -> None:
    top = sorted(p.name for p in (ROOT / "edge").iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "cli.py"]


def test_architecture_modules_stay_small() -> None:
    long = {
        name: n for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("part", list(REGISTRY), ids=lambda p: p.driver)
def test_architecture_part_is_config_driver_and_twin(part: object) -> None:
    folder = ROOT / "edge" / "parts" / part.twin.split(".")[2]  # type: ignore[attr-defined]
    assert {"config.py", "part.py", "twin.py"} <= {p.name for p in folder.iterdir()}
    assert is_dataclass(part.config) and part.config.__dataclass_params__.frozen  # type: ignore[attr-defined]
    twin = importlib.import_module(part.twin)  # type: ignore[attr-defined]
    assert callable(twin.attach)
    assert f"{part.twin.rpartition('.')[0]}.part" in MODULES  # type: ignore[attr-defined]


def _compares_until(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Attribute) and o.attr == "until" for o in operands):
                return True
    return False


def test_architecture_overrides_are_judged_in_one_module() -> None:
    """Whether an override holds or is over is decided by the overrides module alone."""
    judges = sorted(n for n, p in MODULES.items() if n.startswith("edge.") and _compares_until(p))
    assert judges == ["edge.controllers.overrides"]


def _foreign_imports(name: str, path: Path) -> list[str]:
    """What `name` imports beyond the standard library and the protocol's own modules."""
    return sorted(
        i for i in _imports(name, path)
        if i.split(".")[0] not in sys.stdlib_module_names and i != "fleet" and not i.startswith("fleet.protocol")
    )


def test_architecture_protocol_imports_only_the_standard_library() -> None:
    """The box imports fleet.protocol and never installs the fleet's extras: stdlib only, no edge/drivers/paho."""
    protocol = {n: p for n, p in MODULES.items() if n in ("fleet", "fleet.protocol") or n.startswith("fleet.protocol_")}
    assert {"fleet", "fleet.protocol"} < set(protocol)  # the package's __init__ loads with it, on the box too
    assert {n: _foreign_imports(n, p) for n, p in protocol.items()} == {n: [] for n in protocol}
