"""The import rules of docs/architecture.md: every module imports only from its own layer
or the layers below, so the flow runs one way (data -> features -> models -> review ->
pipeline -> report -> command line) and no arrow runs back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "custvalue"

#: Layer of each top-level module or package of custvalue (the same table as docs/architecture.md).
LAYERS = {
    # 0: foundations, knowing nothing of the models
    "errors": 0, "cells": 0, "contract": 0, "quarters": 0, "memory": 0, "progress": 0, "atomic": 0, "frozen": 0,
    "drivers": 0, "config": 0, "engine": 0, "stored": 0, "frames": 0, "paths": 0, "validation": 0,
    "loading": 0,
    # the demo world is built from the contract alone (the report's truth check reads it)
    "demo": 0,
    # 1: the feature step
    "features": 1,
    # 2: the models
    "lifetime": 2, "cost_to_serve": 2, "payment": 2,
    # 3: the policy
    "review": 3,
    # 4: a quarter end to end, and questions asked of it
    "pipeline": 4, "whatif": 4, "provenance": 4,
    # 5: what readers see
    "exports": 5, "pages": 5, "executive": 5, "report": 5,
    # 6: entry points and the test helpers
    "testing": 6, "cli": 6, "__main__": 6, "__init__": 6,
}  # fmt: skip

#: Tools that stand on the foundations only, so that tests and benchmarks can use them anywhere.
FOUNDATION_ONLY = {"demo", "testing"}  # testing builds on the demo world only


def _top(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("custvalue"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "custvalue" and len(parts) > 1:
                    found.add(parts[1])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer():
    assert {_top(p) for p in MODULES} <= set(LAYERS), {_top(p) for p in MODULES} - set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_layers(path):
    own = _top(path)
    upward = {name for name in _imports(path) if name in LAYERS and name != own and LAYERS[name] > LAYERS[own]}
    assert not upward, f"{path.relative_to(PACKAGE)} ({own}, layer {LAYERS[own]}) imports from a higher layer: {sorted(upward)}"
    if own in FOUNDATION_ONLY:
        beyond = {name for name in _imports(path) if name in LAYERS and name != own and LAYERS[name] > 0 and name not in FOUNDATION_ONLY}
        assert not beyond, f"{path.relative_to(PACKAGE)} is a tool on the foundations but imports {sorted(beyond)}"


def test_models_do_not_know_each_other():
    """Each model stands alone: the review is where their figures meet."""
    models = {"lifetime", "cost_to_serve", "payment"}
    for path in MODULES:
        own = _top(path)
        if own in models:
            assert not (_imports(path) & (models - {own})), f"{path.relative_to(PACKAGE)} imports another model"
