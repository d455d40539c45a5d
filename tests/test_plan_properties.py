"""Property tests: the planner against ``graphlib`` and naive reference code, on every code path."""

from __future__ import annotations

import graphlib
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kjob.plan.chains as chains_mod
import kjob.plan.critical as critical_mod
import kjob.plan.levels as levels_mod
from kjob.errors import CycleError
from kjob.plan import plan_edges

Edges = tuple[int, list[tuple[int, int]]]

# Each configuration forces different code paths on small graphs (the thresholds are module
# constants; "tiny-windows" makes every windowed loop take many small steps).
CONFIGS = {
    "default": {},
    "chains": {"CHAIN_MIN_LINKS": 1, "CHAIN_FRACTION": 10**9},
    "all-scalar": {"SCALAR_EDGES": 10**9, "SCALAR_PREDS": 10**9},
    "all-vector": {"SCALAR_EDGES": 0, "SCALAR_PREDS": 0, "BACKTRACK_ROUNDS": 0},
    "chains-vector": {"CHAIN_MIN_LINKS": 1, "CHAIN_FRACTION": 10**9, "SCALAR_EDGES": 0, "SCALAR_PREDS": 0},
    "chains-scalar-backtrack-all": {
        "CHAIN_MIN_LINKS": 1,
        "CHAIN_FRACTION": 10**9,
        "SCALAR_EDGES": 10**9,
        "BACKTRACK_ROUNDS": 0,
        "EXPAND_LOOP": 0,
        "SPARSE_SOURCES": 10**9,
    },
    "tiny-windows": {
        "CHAIN_MIN_LINKS": 1,
        "CHAIN_FRACTION": 10**9,
        "SCALAR_EDGES": 10**9,
        "SCALAR_PREDS": 10**9,
        "BACKTRACK_ROUNDS": 0,
        "FLUSH_NODES": 2,
        "SCALAR_WINDOW": 3,
        "BACKTRACK_WINDOW": 2,
        "SPARSE_SOURCES": 0,
    },
}
_MODULES = {
    "CHAIN_MIN_LINKS": chains_mod,
    "CHAIN_FRACTION": chains_mod,
    "SCALAR_EDGES": levels_mod,
    "SCALAR_PREDS": critical_mod,
    "BACKTRACK_ROUNDS": critical_mod,
    "BACKTRACK_WINDOW": critical_mod,
    "EXPAND_LOOP": critical_mod,
    "SPARSE_SOURCES": critical_mod,
    "SCALAR_WINDOW": critical_mod,
    "FLUSH_NODES": levels_mod,
}


@contextmanager
def config(name: str) -> Iterator[None]:
    values = CONFIGS[name]
    old = {k: getattr(_MODULES[k], k) for k in values}
    try:
        for k, v in values.items():
            setattr(_MODULES[k], k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(_MODULES[k], k, v)


# ------------------------------------------------------------------------------------------ strategies


@st.composite
def any_graph(draw: st.DrawFn) -> Edges:
    """Arbitrary directed multigraphs (cycles and self-loops likely)."""
    n = draw(st.integers(0, 25))
    if n == 0:
        return 0, []
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    return n, draw(st.lists(pair, max_size=3 * n))


@st.composite
def dag(draw: st.DrawFn) -> Edges:
    """Random DAGs: edges go forward in a random permutation of the nodes; duplicates allowed."""
    n = draw(st.integers(0, 30))
    if n < 2:
        return n, []
    perm = draw(st.permutations(range(n)))
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    raw = draw(st.lists(pair, max_size=4 * n))
    return n, [(perm[min(a, b)], perm[max(a, b)]) for a, b in raw]


@st.composite
def chainy(draw: st.DrawFn) -> Edges:
    """Long unary chains joined by a few extra edges, sometimes closed into a cycle or a ring."""
    n = draw(st.integers(2, 120))
    perm = draw(st.permutations(range(n)))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=6)))
    pairs: list[tuple[int, int]] = []
    start = 0
    for end in [*cuts, n]:
        pairs += [(perm[i], perm[i + 1]) for i in range(start, end - 1)]
        start = end
    extra = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] < p[1])
    pairs += [(perm[a], perm[b]) for a, b in draw(st.lists(extra, max_size=5))]
    shape = draw(st.sampled_from(["dag", "back-edge", "ring"]))
    if shape == "back-edge":
        a, b = draw(extra)
        pairs.append((perm[b], perm[a]))
    elif shape == "ring" and cuts:
        # close the last chain on itself: it becomes an isolated ring of links
        first, last = cuts[-1], n - 1
        pairs = [p for p in pairs if p[1] != perm[first] and p[0] != perm[last]]
        pairs += [(perm[last], perm[first])] if last > first else [(perm[last], perm[last])]
    order = draw(st.permutations(range(len(pairs)))) if pairs else []
    return n, [pairs[i] for i in order]


# ------------------------------------------------------------------------------------------ references


def reference(n: int, pairs: list[tuple[int, int]]) -> tuple[list[int], dict[int, list[int]]] | None:
    """Levels by naive longest-path depth, or None when graphlib finds a cycle."""
    preds: dict[int, list[int]] = {v: [] for v in range(n)}
    for a, b in pairs:
        preds[b].append(a)
    try:
        order = list(graphlib.TopologicalSorter(preds).static_order())
    except graphlib.CycleError:
        return None
    depth: dict[int, int] = {}
    for v in order:
        depth[v] = 1 + max((depth[p] for p in preds[v]), default=-1)
    return [depth[v] for v in range(n)], preds


def check(n: int, pairs: list[tuple[int, int]], durations: list[float]) -> None:
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    ref = reference(n, pairs)
    edge_set = set(pairs)
    try:
        p = plan_edges(n, src, dst)
    except CycleError as err:
        assert ref is None, "kjob found a cycle graphlib did not"
        cyc = err.nodes
        assert len(cyc) >= 2 and cyc[0] == cyc[-1]
        assert len(set(cyc[:-1])) == len(cyc) - 1
        for a, b in itertools.pairwise(cyc):
            assert (a, b) in edge_set
        return
    assert ref is not None, "graphlib found a cycle kjob did not"
    level, preds = ref
    assert p.level.tolist() == level
    assert p.levels == (max(level) + 1 if n else 0)
    order = p.order.tolist()
    assert sorted(order) == list(range(n))
    place = {v: i for i, v in enumerate(order)}
    assert all(place[a] < place[b] for a, b in pairs), "order is topological"
    assert order == sorted(range(n), key=lambda v: (level[v], v))
    assert p.indegree.tolist() == [len(preds[v]) for v in range(n)]

    dur = durations[:n] + [1.0] * (n - len(durations))
    dist: dict[int, float] = {}
    for v in order:
        dist[v] = dur[v] + max((dist[q] for q in preds[v]), default=0.0)
    want = max(dist.values(), default=0.0)
    length, path = p.critical_path(np.array(dur))
    assert math.isclose(length, want, rel_tol=1e-9, abs_tol=1e-12)
    nodes = path.tolist()
    if n:
        assert nodes, "a non-empty graph has a non-empty critical path"
        assert not preds[nodes[0]], "the path starts at a source"
        for a, b in itertools.pairwise(nodes):
            assert (a, b) in edge_set
        assert math.isclose(sum(dur[v] for v in nodes), length, rel_tol=1e-9, abs_tol=1e-12)
    assert p.critical_path(np.array(dur))[1].tolist() == nodes, "deterministic"


durations = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25, 7.0]), max_size=120)
SETTINGS: dict[str, Any] = {
    "max_examples": 150,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
}


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(**SETTINGS)
@given(graph=any_graph(), dur=durations)
def test_any_graph(name: str, graph: Edges, dur: list[float]) -> None:
    with config(name):
        check(*graph, dur)


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(**SETTINGS)
@given(graph=dag(), dur=durations)
def test_dag(name: str, graph: Edges, dur: list[float]) -> None:
    with config(name):
        check(*graph, dur)


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(**SETTINGS)
@given(graph=chainy(), dur=durations)
def test_chains(name: str, graph: Edges, dur: list[float]) -> None:
    with config(name):
        check(*graph, dur)


@settings(max_examples=60, deadline=None)
@given(graph=dag())
def test_same_input_same_arrays(graph: Edges) -> None:
    n, pairs = graph
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    a = plan_edges(n, src, dst)
    b = plan_edges(n, src[::-1].copy(), dst[::-1].copy())
    assert np.array_equal(a.level, b.level)
    assert np.array_equal(a.order, b.order)
    assert np.array_equal(a.indices, b.indices)
