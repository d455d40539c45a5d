"""pytest-benchmark suite for the planner, on small graphs so it runs in seconds.

    .venv/bin/pytest bench/test_bench_plan.py --benchmark-enable

Without ``--benchmark-enable`` (the project default) each benchmark runs once, as a plain test.
The full-size comparison against networkx, rustworkx and graphlib is ``bench/bench_plan.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kjob.plan import plan_edges

rx: Any
try:
    import rustworkx as rx
except ImportError:  # pragma: no cover
    rx = None


def _layered(n: int = 50_000, m: int = 200_000, layers: int = 200) -> tuple[int, Any, Any]:
    rng = np.random.default_rng(0)
    width = n // layers
    src = rng.integers(0, n - width, m)
    dst = np.minimum(src // width + rng.geometric(0.7, m), layers - 1) * width + rng.integers(0, width, m)
    perm = rng.permutation(n)
    return n, perm[src], perm[dst]


def _chain(n: int = 50_000) -> tuple[int, Any, Any]:
    src = np.arange(n - 1)
    return n, src, src + 1


def _fan(width: int = 20_000) -> tuple[int, Any, Any]:
    mid = np.arange(1, width + 1)
    return (
        width + 2,
        np.concatenate([np.zeros(width, dtype=np.int64), mid]),
        np.concatenate([mid, np.full(width, width + 1)]),
    )


SHAPES = {"layered": _layered, "chain": _chain, "fan": _fan}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_plan_edges(benchmark: Any, shape: str) -> None:
    n, src, dst = SHAPES[shape]()
    plan = benchmark(plan_edges, n, src, dst)
    assert plan.order.size == n


@pytest.mark.parametrize("shape", list(SHAPES))
def test_critical_path(benchmark: Any, shape: str) -> None:
    n, src, dst = SHAPES[shape]()
    plan = plan_edges(n, src, dst)
    dur = np.random.default_rng(1).random(n)
    length, path = benchmark(plan.critical_path, dur)
    assert np.isclose(dur[path].sum(), length)


@pytest.mark.skipif(rx is None, reason="rustworkx not installed")
@pytest.mark.parametrize("shape", list(SHAPES))
def test_rustworkx_generations(benchmark: Any, shape: str) -> None:
    n, src, dst = SHAPES[shape]()
    edges = list(zip(src.tolist(), dst.tolist(), strict=True))

    def run() -> Any:
        g = rx.PyDiGraph()
        g.add_nodes_from([None] * n)
        g.extend_from_edge_list(edges)
        return rx.topological_generations(g)

    gens = benchmark(run)
    assert sum(map(len, gens)) == n
