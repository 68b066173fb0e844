"""The shape of the code, read from the source so it cannot decay silently: every public report
type resolves its type hints, only the MediaPipe adapter imports MediaPipe, the core imports no
output or app, and the types module is a leaf."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from pathlib import Path

import pytest

import analyzer.types
from tests.conftest import PROJECT_ROOT

PUBLIC_TYPES = [
    obj
    for name, obj in vars(analyzer.types).items()
    if inspect.isclass(obj) and obj.__module__ == "analyzer.types" and not name.startswith("_")
]


@pytest.mark.parametrize("cls", PUBLIC_TYPES, ids=lambda c: c.__name__)
def test_every_public_type_resolves_its_hints(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    if dataclasses.is_dataclass(cls):
        assert {f.name for f in dataclasses.fields(cls)} <= set(hints)


def test_the_report_types_are_all_checked() -> None:
    names = {c.__name__ for c in PUBLIC_TYPES}
    assert {"AnalysisReport", "PartnerReport", "ScreenTarget", "PersonReport"} <= names


def _imports(path: Path) -> set[str]:
    """Every module a source file imports, wherever the import stands (functions, type-checking
    blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)


SOURCES = {
    _module(p): _imports(p)
    for package in ("analyzer", "api")
    for p in sorted((PROJECT_ROOT / package).rglob("*.py"))
}
OUTPUTS = "analyzer.outputs"
LIVE = "analyzer.live"
APPS = ("analyzer.cli", "analyzer.live.desktop", "api")
CORE = [
    m
    for m in SOURCES
    if m.startswith("analyzer.") and not m.startswith((OUTPUTS, LIVE)) and m not in APPS
]


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_shape_is_read_from_the_source() -> None:
    assert len(SOURCES) > 50 and "analyzer.pipeline" in CORE and "analyzer.types" in CORE


def test_only_the_adapter_imports_mediapipe() -> None:
    users = sorted(m for m, imports in SOURCES.items() if _within_any(imports, ("mediapipe",)))
    assert users == ["analyzer.landmarks"]


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_output_and_no_app(module: str) -> None:
    bad = sorted(i for i in SOURCES[module] if _within(i, (OUTPUTS, LIVE, *APPS)))
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", [m for m in SOURCES if m.startswith((OUTPUTS, LIVE))])
def test_outputs_and_the_live_core_import_no_app(module: str) -> None:
    allowed = ("analyzer.live.desktop",) if module == "analyzer.live.desktop" else ()
    bad = sorted(i for i in SOURCES[module] if _within(i, APPS) and not _within(i, allowed))
    assert not bad, f"{module} imports {bad}"


def test_the_live_core_draws_nothing() -> None:
    bad = sorted(i for i in SOURCES["analyzer.live.session"] if _within(i, (OUTPUTS,)))
    assert not bad


def test_types_is_a_leaf() -> None:
    ours = {i for i in SOURCES["analyzer.types"] if _within(i, ("analyzer", "api"))}
    assert {i.rsplit(".", 1)[0] if i.count(".") > 1 else i for i in ours} <= {
        "analyzer.config",
        "analyzer.errors",
    }, ours


def _within_any(imports: set[str], prefixes: tuple[str, ...]) -> bool:
    return any(_within(i, prefixes) for i in imports)
