"""Table tests for the numpy planner (``kjob.plan``)."""

from __future__ import annotations

import doctest
import itertools
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import kjob.plan.chains as chains_mod
import kjob.plan.critical as critical_mod
import kjob.plan.graph as graph_mod
import kjob.plan.levels as levels_mod
import kjob.plan.plan as plan_mod
from kjob.errors import CycleError, KjobError
from kjob.plan import NamedPlan, Plan, PlanInputError, plan_edges, plan_names


@contextmanager
def tuned(**values: Any) -> Iterator[None]:
    """Temporarily set planner thresholds (module constants) to force one code path."""
    where = {
        "CHAIN_MIN_LINKS": chains_mod,
        "CHAIN_FRACTION": chains_mod,
        "SCALAR_EDGES": levels_mod,
        "SCALAR_PREDS": critical_mod,
        "BACKTRACK_ROUNDS": critical_mod,
        "INT32_LIMIT": graph_mod,
    }
    old = {k: getattr(where[k], k) for k in values}
    try:
        for k, v in values.items():
            setattr(where[k], k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(where[k], k, v)


def edges(pairs: list[tuple[int, int]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a = np.array(pairs, dtype=np.int64)
    return a[:, 0], a[:, 1]


def assert_cycle_in(nodes: list[object], pairs: set[tuple[int, int]]) -> None:
    assert len(nodes) >= 2
    assert nodes[0] == nodes[-1]
    assert len(set(nodes[:-1])) == len(nodes) - 1, "a simple cycle"
    for a, b in itertools.pairwise(nodes):
        assert (a, b) in pairs, f"{a} -> {b} is not an edge"


# ------------------------------------------------------------------------------------------ shapes


@pytest.mark.parametrize(
    ("n", "pairs", "level", "order"),
    [
        pytest.param(1, [], [0], [0], id="single node"),
        pytest.param(3, [], [0, 0, 0], [0, 1, 2], id="no edges"),
        pytest.param(4, [(0, 1), (0, 2), (1, 3), (2, 3)], [0, 1, 1, 2], [0, 1, 2, 3], id="diamond"),
        pytest.param(
            5, [(4, 0), (4, 1), (4, 2), (0, 3), (1, 3), (2, 3)], [1, 1, 1, 2, 0], [4, 0, 1, 2, 3], id="fan"
        ),
        pytest.param(4, [(3, 2), (2, 1), (1, 0)], [3, 2, 1, 0], [3, 2, 1, 0], id="chain backwards"),
        pytest.param(3, [(0, 1), (0, 1), (1, 2), (0, 2), (0, 2)], [0, 1, 2], [0, 1, 2], id="duplicate edges"),
        pytest.param(
            6, [(0, 2), (1, 2), (2, 3), (0, 3), (4, 5)], [0, 0, 1, 2, 0, 1], [0, 1, 4, 2, 5, 3], id="mixed"
        ),
    ],
)
def test_levels_and_order(n: int, pairs: list[tuple[int, int]], level: list[int], order: list[int]) -> None:
    src, dst = edges(pairs)
    p = plan_edges(n, src, dst)
    assert p.n == n
    assert p.level.tolist() == level
    assert p.order.tolist() == order
    assert p.levels == max(level) + 1
    assert p.level_ptr.tolist() == np.concatenate([[0], np.cumsum(np.bincount(level))]).tolist()


def test_empty_graph() -> None:
    p = plan_edges(0, [], [])
    assert p.n == 0
    assert p.levels == 0
    assert p.level.shape == (0,)
    assert p.order.shape == (0,)
    assert p.indptr.tolist() == [0]
    length, path = p.critical_path([])
    assert length == 0.0
    assert path.shape == (0,)


def test_csr_and_degrees_count_duplicates() -> None:
    p = plan_edges(3, [1, 0, 0, 1, 0], [2, 2, 1, 2, 1])
    assert p.indptr.tolist() == [0, 3, 5, 5]
    assert p.indices.tolist() == [1, 1, 2, 2, 2]  # ascending within each row
    assert p.indegree.tolist() == [0, 2, 3]
    assert p.outdegree.tolist() == [3, 2, 0]
    assert p.level.tolist() == [0, 1, 2]


def test_diamond_critical_path() -> None:
    p = plan_edges(4, [0, 0, 1, 2], [1, 2, 3, 3])
    length, path = p.critical_path([1.0, 5.0, 2.0, 1.0])
    assert (length, path.tolist()) == (7.0, [0, 1, 3])
    length, path = p.critical_path([1.0, 2.0, 5.0, 1.0])
    assert (length, path.tolist()) == (7.0, [0, 2, 3])


def test_critical_path_ties_are_deterministic() -> None:
    p = plan_edges(4, [0, 0, 1, 2], [1, 2, 3, 3])
    length, path = p.critical_path([1.0, 1.0, 1.0, 1.0])
    assert (length, path.tolist()) == (3.0, [0, 1, 3])  # the earlier predecessor wins a tie
    length, path = p.critical_path(np.zeros(4))
    assert (length, path.tolist()) == (0.0, [0])


def test_critical_path_single_and_isolated_nodes() -> None:
    p = plan_edges(3, [0], [1])
    length, path = p.critical_path([1.0, 1.0, 5.0])
    assert (length, path.tolist()) == (5.0, [2])
    p = plan_edges(1, [], [])
    assert p.critical_path(np.array([2], dtype=np.int32))[0] == 2.0


def test_fan_out_fan_in() -> None:
    width = 1000
    mid = np.arange(1, width + 1)
    src = np.concatenate([np.zeros(width, dtype=np.int64), mid])
    dst = np.concatenate([mid, np.full(width, width + 1)])
    p = plan_edges(width + 2, src, dst)
    assert p.levels == 3
    assert p.level[0] == 0 and p.level[-1] == 2 and (p.level[1:-1] == 1).all()
    dur = np.ones(width + 2)
    dur[500] = 10
    length, path = p.critical_path(dur)
    assert (length, path.tolist()) == (12.0, [0, 500, width + 1])


@pytest.mark.parametrize("shuffled", [False, True])
def test_long_chain_is_contracted_and_correct(shuffled: bool) -> None:
    n = 5000
    rng = np.random.default_rng(3)
    ids = rng.permutation(n) if shuffled else np.arange(n)
    src, dst = ids[:-1], ids[1:]
    if shuffled:
        perm = rng.permutation(n - 1)
        src, dst = src[perm], dst[perm]
    p = plan_edges(n, src, dst)
    assert p._chains is not None  # really took the contracted path
    assert p.levels == n
    assert (p.level[ids] == np.arange(n)).all()
    assert (p.order == ids).all()
    dur = rng.random(n)
    length, path = p.critical_path(dur)
    assert math.isclose(length, dur.sum(), rel_tol=1e-12)
    assert (path == ids).all()


def test_chain_hanging_off_a_wide_graph() -> None:
    # A fan whose middle nodes each start a chain of 3 extra nodes, all closing into one sink.
    width, depth = 400, 4
    pairs = []
    nxt = 1
    tails = []
    for _ in range(width):
        pairs.append((0, nxt))
        for _ in range(depth - 1):
            pairs.append((nxt, nxt + 1))
            nxt += 1
        tails.append(nxt)
        nxt += 1
    sink = nxt
    pairs += [(t, sink) for t in tails]
    src, dst = edges(pairs)
    with tuned(CHAIN_MIN_LINKS=1, CHAIN_FRACTION=10**9):
        p = plan_edges(sink + 1, src, dst)
        assert p._chains is not None
    with tuned(CHAIN_MIN_LINKS=10**9):
        q = plan_edges(sink + 1, src, dst)
    assert q._chains is None
    assert (p.level == q.level).all() and (p.order == q.order).all()
    assert p.level[sink] == depth + 1
    dur = np.arange(sink + 1, dtype=np.float64)
    assert p.critical_path(dur)[0] == q.critical_path(dur)[0]
    assert p.critical_path(dur)[1].tolist() == q.critical_path(dur)[1].tolist()


def test_any_integer_dtype_and_sequences() -> None:
    want = plan_edges(4, [0, 0, 1, 2], [1, 2, 3, 3]).level.tolist()
    for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
        src = np.array([0, 0, 1, 2], dtype=dt)
        dst = np.array([1, 2, 3, 3], dtype=dt)
        assert plan_edges(np.int64(4), src, dst).level.tolist() == want
        # unsorted edges take the packed-key sort
        assert plan_edges(4, src[::-1], dst[::-1]).level.tolist() == want
    assert plan_edges(4, (0, 1, 2), range(1, 4)).levels == 4


def test_int64_ids_path() -> None:
    rng = np.random.default_rng(5)
    src = rng.integers(0, 500, 2000)
    dst = src + rng.integers(1, 50, 2000)
    want = plan_edges(600, src, dst)
    with tuned(INT32_LIMIT=10):
        got = plan_edges(600, src, dst)
    assert got.level.dtype == np.int64 and got.indices.dtype == np.int64
    assert (got.level == want.level).all() and (got.order == want.order).all()
    dur = rng.random(600)
    assert got.critical_path(dur)[0] == want.critical_path(dur)[0]


def test_sort_pairs_lexsort_fallback_agrees() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 50, 500)
    b = rng.integers(0, 50, 500)
    packed = graph_mod.sort_pairs(a, b, 50, np.dtype(np.int32))
    lex = graph_mod.sort_pairs(a, b, 50, np.dtype(np.int32), force_lexsort=True)
    assert (packed[0] == lex[0]).all() and (packed[1] == lex[1]).all()


def test_arrays_are_read_only() -> None:
    p = plan_edges(2, [0], [1])
    for arr in (p.level, p.order, p.indptr, p.indices, p.indegree, p.level_ptr):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1


def test_repr() -> None:
    assert repr(plan_edges(3, [0, 1], [1, 2])) == "Plan(n=3, edges=2, levels=3)"


# ------------------------------------------------------------------------------------------ cycles


def test_self_loop_is_a_cycle() -> None:
    with pytest.raises(CycleError) as err:
        plan_edges(3, [0, 1], [1, 1])
    assert err.value.nodes == [1, 1]
    assert str(err.value) == "dependency cycle: 1 -> 1"
    assert isinstance(err.value, KjobError)


def test_two_cycle() -> None:
    with pytest.raises(CycleError) as err:
        plan_edges(4, [0, 1, 2, 2], [1, 2, 1, 3])
    assert err.value.nodes == [1, 2, 1]


def test_cycle_deep_inside_a_big_graph() -> None:
    rng = np.random.default_rng(11)
    n, m = 20_000, 80_000
    src = rng.integers(0, n - 1, m)
    dst = src + 1 + rng.integers(0, 50, m)
    dst = np.minimum(dst, n - 1)
    # One back edge from deep down to the middle closes a long cycle.
    a = int(dst[12345])
    back_to = int(src[12345])
    src = np.append(src, a)
    dst = np.append(dst, back_to)
    pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
    with pytest.raises(CycleError) as err:
        plan_edges(n, src, dst)
    assert_cycle_in(err.value.nodes, pairs)
    assert min(err.value.nodes) == err.value.nodes[0]  # rotated to its smallest node


def test_cycle_downstream_of_a_chain() -> None:
    # 0 -> 1 -> ... -> 2999 -> 3000 <-> 3001: the chain is placed, the 2-cycle is not.
    n = 3002
    src = [*range(3000), 3001, 3000]
    dst = [*range(1, 3001), 3000, 3001]
    with pytest.raises(CycleError) as err:
        plan_edges(n, src, dst)
    assert err.value.nodes == [3000, 3001, 3000]


@pytest.mark.parametrize("size", [2, 5, 3000])
def test_isolated_ring_of_links(size: int) -> None:
    # A ring where every node has one edge in and one out is all "chain links" and has no head.
    n = size + 10
    ring = np.arange(size)
    src = np.concatenate([ring, np.arange(size, n - 1)])
    dst = np.concatenate([(ring + 1) % size, np.arange(size + 1, n)])
    pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
    for forced in (True, False):
        knobs = {"CHAIN_MIN_LINKS": 1, "CHAIN_FRACTION": 10**9} if forced else {}
        with tuned(**knobs), pytest.raises(CycleError) as err:
            plan_edges(n, src, dst)
        assert_cycle_in(err.value.nodes, pairs)
        assert len(err.value.nodes) == size + 1


# ------------------------------------------------------------------------------------------ invalid input


@pytest.mark.parametrize(
    ("n", "src", "dst", "message"),
    [
        (-1, [], [], "n must be a non-negative integer, got -1"),
        (2.5, [], [], "n must be a non-negative integer, got 2.5"),
        (True, [], [], "n must be a non-negative integer, got True"),
        ("3", [], [], "n must be a non-negative integer"),
        (3, [0, 1], [1], "src and dst must have the same length, got 2 and 1"),
        (3, [0, 3], [1, 2], r"src\[1\] = 3 is out of range for n = 3 nodes \(valid ids: 0..2\)"),
        (3, [0, 1], [-1, 2], r"dst\[0\] = -1 is out of range"),
        (0, [0], [0], r"src\[0\] = 0 is out of range for n = 0 nodes \(valid ids: none"),
        (3, [0.0, 1.0], [1, 2], "src must hold integers, got dtype float64"),
        (3, [True], [1], "src must hold integers, got dtype bool"),
        (3, ["a"], [1], "src must hold integers"),
        (3, [[0, 1]], [[1, 2]], r"src must be one-dimensional, got shape \(1, 2\)"),
        (3, 0, 1, r"src must be one-dimensional, got shape \(\)"),
        (3, [0, 2**70], [1, 2], "src must hold integers, got dtype object"),
    ],
)
def test_invalid_input(n: Any, src: Any, dst: Any, message: str) -> None:
    with pytest.raises(PlanInputError, match=message) as err:
        plan_edges(n, src, dst)
    assert isinstance(err.value, KjobError)


def test_uint64_out_of_range() -> None:
    with pytest.raises(PlanInputError, match="out of range"):
        plan_edges(3, np.array([2**63 + 5], dtype=np.uint64), np.array([1], dtype=np.uint64))


@pytest.mark.parametrize(
    ("durations", "message"),
    [
        ([1.0, 2.0], r"durations must have shape \(3,\) \(one per node\), got \(2,\)"),
        ([1.0, -2.0, 1.0], r"durations\[1\] = -2.0 must be a finite number >= 0"),
        ([1.0, 1.0, float("nan")], r"durations\[2\] = nan must be a finite number"),
        ([1.0, float("inf"), 1.0], r"durations\[1\] = inf"),
        (["x", 1, 2], "durations must be an array of 3 numbers"),
    ],
)
def test_invalid_durations(durations: Any, message: str) -> None:
    p = plan_edges(3, [0], [1])
    with pytest.raises(PlanInputError, match=message):
        p.critical_path(durations)


# ------------------------------------------------------------------------------------------ determinism


def test_same_input_same_arrays() -> None:
    rng = np.random.default_rng(2)
    src = rng.integers(0, 3000, 12000)
    dst = src + rng.integers(1, 40, 12000)
    dur = rng.random(3100)
    a = plan_edges(3100, src, dst)
    b = plan_edges(3100, src.copy(), dst.copy())
    for name in ("level", "order", "indptr", "indices", "indegree"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    la, pa = a.critical_path(dur)
    lb, pb = b.critical_path(dur)
    assert la == lb and np.array_equal(pa, pb)
    # Edge order does not matter either.
    perm = rng.permutation(src.size)
    c = plan_edges(3100, src[perm], dst[perm])
    assert np.array_equal(a.level, c.level) and np.array_equal(a.order, c.order)
    assert np.array_equal(a.indices, c.indices)
    assert c.critical_path(dur)[1].tolist() == pa.tolist()


def test_names_are_hash_seed_independent() -> None:
    code = (
        "from kjob.plan import plan_names;"
        "p = plan_names(['x', 'b', 'a', 'y'], {'a': ['x', 'b'], 'y': ['a'], 'b': ['x']});"
        "print(p.levels, p.critical_path({'b': 2.0, 'a': 1.0}))"
    )
    env = dict(os.environ)
    out = set()
    for seed in ("0", "1", "12345"):
        env["PYTHONHASHSEED"] = seed
        out.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
    assert out == {"[['x'], ['b'], ['a'], ['y']] (3.0, ['x', 'b', 'a'])\n"}


# ------------------------------------------------------------------------------------------ named plans


def test_plan_names() -> None:
    p = plan_names(
        ["fetch", "clean", "stats", "train"],
        {"clean": ["fetch"], "stats": ["fetch"], "train": ["clean", "stats"]},
    )
    assert isinstance(p, NamedPlan) and isinstance(p.plan, Plan)
    assert p.levels == [["fetch"], ["clean", "stats"], ["train"]]
    assert p.order == ["fetch", "clean", "stats", "train"]
    assert p.level_of("train") == 2
    assert p.critical_path({"fetch": 1, "clean": 5, "stats": 2, "train": 1}) == (
        7.0,
        ["fetch", "clean", "train"],
    )
    assert p.critical_path({"stats": 4}, default=1.0) == (6.0, ["fetch", "stats", "train"])


def test_plan_names_cycle_message() -> None:
    with pytest.raises(CycleError) as err:
        plan_names(["a", "b", "c", "d"], {"b": ["a", "c"], "c": ["b"], "d": ["c"]})
    assert err.value.nodes == ["b", "c", "b"]
    assert str(err.value) == "dependency cycle: b -> c -> b"
    with pytest.raises(CycleError, match=r"^dependency cycle: a -> b -> c -> a$"):
        plan_names(["a", "b", "c"], {"a": ["c"], "b": ["a"], "c": ["b"]})


@pytest.mark.parametrize(
    ("names", "deps", "message"),
    [
        (["a", "a"], {}, "duplicate task name 'a'"),
        (["a"], {"b": ["a"]}, "dependencies given for unknown task 'b'"),
        (["a", "b"], {"b": ["c"]}, "task 'b' depends on unknown task 'c'"),
        (["a", "b"], {"b": "a"}, "dependencies of 'b' must be a list of task names"),
    ],
)
def test_plan_names_invalid(names: list[str], deps: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanInputError, match=message):
        plan_names(names, deps)


def test_plan_names_unknown_duration() -> None:
    p = plan_names(["a"], {})
    with pytest.raises(PlanInputError, match="durations given for unknown task 'z'"):
        p.critical_path({"z": 1.0})


def test_docstring_examples() -> None:
    for module in (plan_mod, sys.modules["kjob.plan.named"]):
        result = doctest.testmod(module, extraglobs={"plan_edges": plan_edges}, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0
