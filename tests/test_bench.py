"""The benchmarks run apart from `make test`, so a moved module would break them unnoticed: each
one must at least import against the tree as it is."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"))
def test_each_benchmark_imports(name):
    importlib.import_module(f"bench.{name}")
