"""Dispatch policies: which ready task goes first, and HEFT's static schedule.

``eager``          dispatch a task the moment its dependencies are done, oldest ready first (kjob's
                   engine does exactly this; it is the default)
``levels``         level barriers: level k+1 starts when every task of level k is done (how a GitOps
                   sync-wave rollout runs), oldest first within a level
``critical-path``  eager, but the ready task with the longest remaining path (upward rank) first
``largest-first``  eager, but the ready task with the longest expected duration first
``heft``           Topcuoglu et al.'s HEFT: upward ranks with mean costs, then each task on the
                   processor that finishes it earliest, filling idle gaps (insertion-based); the
                   plan is then executed, so drawn durations shift it without reordering it

The dynamic policies are a *key* per task (smaller goes first, ties by the order of becoming ready);
the core loop does the rest.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kjob.plan import Plan

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

POLICIES = ("eager", "levels", "critical-path", "largest-first", "heft")
_NUMPY_LEVEL = 32
"""Levels wider than this are done with numpy in :func:`upward_rank`; narrower ones in Python."""


def priority_key(policy: str, plan: Plan, expected: FloatArray) -> list[float] | None:
    """Per task the dispatch key (smaller first), or ``None`` for first-in-first-out."""
    if policy == "critical-path":
        keys: list[float] = (-upward_rank(plan, expected)).tolist()
        return keys
    if policy == "largest-first":
        keys = (-expected).tolist()
        return keys
    return None


def upward_rank(plan: Plan, weight: FloatArray, edge_weight: FloatArray | None = None) -> FloatArray:
    """Longest path from each task to the end of the DAG, the task's own weight included.

    ``rank[u] = weight[u] + max(edge_weight[u->s] + rank[s] for s in successors(u))`` (0 without
    successors); ``edge_weight`` is aligned with ``plan.indices`` (CSR order).  Levels are done from
    the last: wide ones with one ``maximum.reduceat``, narrow ones in a Python loop.
    """
    n = plan.n
    rank = np.asarray(weight, dtype=np.float64).copy()
    if n == 0 or plan.indices.size == 0:
        return rank
    indptr = plan.indptr.astype(np.int64)
    indices = plan.indices.astype(np.int64)
    outdeg = np.diff(indptr)
    order = plan.order.astype(np.int64)
    lptr = plan.level_ptr.tolist()
    for lv in range(plan.levels - 2, -1, -1):
        nodes = order[lptr[lv] : lptr[lv + 1]]
        nodes = nodes[outdeg[nodes] > 0]
        if nodes.size == 0:
            continue
        if nodes.size > _NUMPY_LEVEL:
            counts = outdeg[nodes]
            ends = np.cumsum(counts)
            idx = np.repeat(indptr[nodes] - (ends - counts), counts) + np.arange(int(ends[-1]))
            vals = rank[indices[idx]]
            if edge_weight is not None:
                vals = vals + edge_weight[idx]
            rank[nodes] += np.maximum.reduceat(vals, ends - counts)
        else:
            for u in nodes.tolist():
                a, b = int(indptr[u]), int(indptr[u + 1])
                vals = rank[indices[a:b]]
                if edge_weight is not None:
                    vals = vals + edge_weight[a:b]
                rank[u] += float(vals.max())
    return rank


# ---------------------------------------------------------------------------------------------- HEFT
@dataclass(frozen=True, eq=False)
class StaticPlan:
    """A static schedule: per task its processor and planned start/finish; ``order`` runs the tasks
    in planned-start order (a topological order that also respects each processor's sequence)."""

    processor: IntArray
    start: FloatArray
    finish: FloatArray
    order: IntArray

    @property
    def makespan(self) -> float:
        return float(self.finish.max()) if self.finish.size else 0.0


def heft(
    plan: Plan,
    cost: FloatArray,
    proc_node: IntArray,
    transfer: FloatArray | None,
) -> StaticPlan:
    """HEFT on ``cost[i, p]`` (time of task ``i`` on processor ``p``).

    A transfer ``transfer[e]`` (CSR order) is paid when the two tasks of edge ``e`` run on processors
    of different nodes (``proc_node``).  Ranks use the mean cost over processors and the mean transfer
    over pairs of distinct processors, as in the paper; ties go to the lower task id / processor.
    """
    n, procs = cost.shape
    mean_cost = cost.mean(axis=1) if procs else np.zeros(n)
    indptr = plan.indptr.astype(np.int64)
    indices = plan.indices.astype(np.int64)
    if transfer is not None and procs > 1:
        same = np.bincount(proc_node).astype(np.float64)
        distinct_pairs = procs * (procs - 1)
        cross = (distinct_pairs - float((same * (same - 1)).sum())) / distinct_pairs
        rank = upward_rank(plan, mean_cost, transfer * cross)
    else:
        rank = upward_rank(plan, mean_cost)
    sequence = np.lexsort((np.arange(n), plan.level, -rank))

    # Predecessor lists: (pred, transfer) per task.
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    by_dst = np.argsort(indices, kind="stable")
    pptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n), out=pptr[1:])
    pred = src[by_dst]
    pcost = transfer[by_dst] if transfer is not None else np.zeros(pred.size)

    node_of = proc_node.astype(np.int64)
    diff_node = (node_of[:, None] != node_of[None, :]).astype(np.float64)  # (P, P)
    finish = np.zeros(n)
    start = np.zeros(n)
    proc = np.zeros(n, dtype=np.int64)
    starts: list[list[float]] = [[] for _ in range(procs)]  # busy intervals per processor, by start
    ends: list[list[float]] = [[] for _ in range(procs)]
    for i in sequence.tolist():
        a, b = int(pptr[i]), int(pptr[i + 1])
        if a == b:
            ready = np.zeros(procs)
        else:
            ps = pred[a:b]
            # arrival on each processor: finish of the predecessor + transfer if the nodes differ
            arrive = finish[ps][:, None] + pcost[a:b][:, None] * diff_node[proc[ps]]
            ready = arrive.max(axis=0)
        costs = cost[i]
        best_p, best_s, best_f = -1, 0.0, np.inf
        for p, r in enumerate(ready.tolist()):
            length = float(costs[p])
            s = _earliest_gap(starts[p], ends[p], r, length)
            f = s + length
            if f < best_f:
                best_p, best_s, best_f = p, s, f
        k = bisect.bisect_right(starts[best_p], best_s)
        starts[best_p].insert(k, best_s)
        ends[best_p].insert(k, best_f)
        proc[i], start[i], finish[i] = best_p, best_s, best_f
    position = np.empty(n, dtype=np.int64)
    position[sequence] = np.arange(n)
    run_order = np.lexsort((position, start))
    return StaticPlan(processor=proc, start=start, finish=finish, order=run_order)


def _earliest_gap(starts: list[float], ends: list[float], ready: float, length: float) -> float:
    """The earliest time >= ``ready`` at which an idle gap of ``length`` opens on one processor."""
    k = bisect.bisect_right(ends, ready)  # intervals ending at or before ``ready`` do not matter
    at = ready
    for s, e in zip(starts[k:], ends[k:], strict=True):
        if at + length <= s:
            return at
        at = max(at, e)
    return at


def execute_static(
    schedule: StaticPlan,
    plan: Plan,
    duration: FloatArray,
    proc_node: IntArray,
    transfer: FloatArray | None,
    startup: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Run a static plan with actual per-task ``duration`` (on its planned processor) and start-up:
    each task starts once its processor has finished the previous task of its sequence and every
    input has arrived.  With the planned durations and no start-up this gives the plan back."""
    n = plan.n
    start = np.zeros(n)
    end = np.zeros(n)
    if n == 0:
        return start, end
    indptr = plan.indptr.tolist()
    indices = plan.indices.tolist()
    # inputs arrive per task: max over predecessors, filled in as predecessors finish
    arrive = [0.0] * n
    proc = schedule.processor.tolist()
    node = proc_node[schedule.processor].tolist()
    free = [0.0] * int(proc_node.size)
    tr = transfer.tolist() if transfer is not None else None
    dur = duration.tolist()
    stu = startup.tolist()
    s_out = [0.0] * n
    e_out = [0.0] * n
    for i in schedule.order.tolist():
        p = proc[i]
        s = max(free[p], arrive[i]) + stu[i]
        e = s + dur[i]
        s_out[i], e_out[i] = s, e
        free[p] = e
        ni = node[i]
        for k in range(indptr[i], indptr[i + 1]):
            v = indices[k]
            at = e + (tr[k] if tr is not None and node[v] != ni else 0.0)
            if at > arrive[v]:
                arrive[v] = at
    start[:] = s_out
    end[:] = e_out
    return start, end
