"""Kahn's algorithm, one round (frontier) at a time, and the cycle finder for when it stops early.

A wide round is a handful of numpy calls: gather the successor lists of the whole frontier, sort the
targets, count each target's in-edges from this round with one pass over the sorted array, subtract,
and the targets that reach zero are the next frontier (already sorted).  A numpy call costs a few
microseconds whatever its size, so narrow rounds (a few edges) run in a plain Python loop instead,
round after round, until the frontier is wide again.

With contracted chains (``kjob.plan.chains``) a round no longer equals a level: a super-node enters
the frontier when all its predecessors are done, and its level is the largest ``level[p] + span[p]``
over its predecessors ``p``, carried in the low half of a packed ``target << 32 | level`` key so the
same sort also yields the maximum.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kjob.errors import CycleError
from kjob.plan.chains import Chains
from kjob.plan.graph import CSR, Arange, BoolArray, IndexArray, gather_ranges, group_counts, pack

FLUSH_NODES = 1 << 13
"""A long scalar run stores its nodes every this many (so its lists stay small)."""
SCALAR_EDGES = 48
"""A round whose frontier has at most this many out-edges runs in Python rather than numpy."""


@dataclass(frozen=True, eq=False)
class Rounds:
    """Kahn's rounds: round ``r`` is ``order[ptr[r]:ptr[r + 1]]`` (ascending ids).

    ``level`` holds the level of every node that was reached (``-1`` for the rest); ``done`` counts
    the super-nodes placed (all of them unless there is a cycle).
    """

    order: IndexArray
    ptr: npt.NDArray[np.int64]
    level: IndexArray
    done: int


def kahn(csr: CSR, chains: Chains | None) -> Rounds:
    """Run Kahn's algorithm over ``csr`` (contracted by ``chains`` when given)."""
    return _Kahn(csr, chains).run()


class _Kahn:
    def __init__(self, csr: CSR, chains: Chains | None) -> None:
        self.csr = csr
        self.dt = csr.dtype
        self.indptr = csr.indptr
        self.outdeg = csr.outdegree
        self.indices = csr.indices
        self.deg = csr.indegree.copy()
        self.level = np.full(csr.n, -1, dtype=self.dt)
        self.chains = chains
        self.weighted = chains is not None
        if chains is not None:
            self.tail = chains.tail
            self.span = chains.span
            self.best = np.zeros(csr.n, dtype=self.dt)
            supers = csr.n - int(np.count_nonzero(chains.absorbed))
        else:
            supers = csr.n
        self.order = np.empty(supers, dtype=self.dt)
        self.ptr = array("q", [0])  # 8 bytes a round, even when there are millions of rounds
        self.pos = 0
        self.scalar_edges = SCALAR_EDGES
        self.arange = Arange(self.dt)

    def run(self) -> Rounds:
        frontier: IndexArray = np.flatnonzero(self.deg == 0).astype(self.dt)
        self.level[frontier] = 0
        round_no = 0
        while frontier.size:
            k = frontier.size
            self.order[self.pos : self.pos + k] = frontier
            self.pos += k
            self.ptr.append(self.pos)
            leave = self.tail[frontier] if self.weighted else frontier
            starts = self.indptr[leave]
            counts = self.outdeg[leave]
            total = int(np.add.reduce(counts))
            if total == 0:
                break
            if total <= self.scalar_edges:
                frontier, round_no = self._scalar_run(frontier, starts, counts, round_no)
            elif self.weighted:
                frontier = self._weighted_round(frontier, starts, counts, total)
                round_no += 1
            else:
                frontier = self._round(starts, counts, total, round_no + 1)
                round_no += 1
        ptr = np.frombuffer(self.ptr, dtype=np.int64).copy()
        return Rounds(order=self.order, ptr=ptr, level=self.level, done=self.pos)

    def _round(self, starts: IndexArray, counts: IndexArray, total: int, lvl: int) -> IndexArray:
        targets = self.indices[gather_ranges(starts, counts, total, self.arange)]
        targets.sort()
        first, hits = group_counts(targets)
        nodes = targets[first]
        left = self.deg[nodes]
        left -= hits.astype(self.dt, copy=False)
        self.deg[nodes] = left
        ready: IndexArray = nodes[left == 0]
        self.level[ready] = lvl
        return ready

    def _weighted_round(
        self, frontier: IndexArray, starts: IndexArray, counts: IndexArray, total: int
    ) -> IndexArray:
        targets = self.indices[gather_ranges(starts, counts, total, self.arange)]
        reach = np.repeat(self.level[frontier] + self.span[frontier], counts)
        key = pack(targets, reach)
        key.sort()
        tg = key >> 32
        first, hits = group_counts(tg)
        nodes = tg[first].astype(self.dt)
        last = first + hits
        last -= 1
        top = (key[last] & 0xFFFFFFFF).astype(self.dt)
        np.maximum(self.best[nodes], top, out=top)
        self.best[nodes] = top
        left = self.deg[nodes]
        left -= hits.astype(self.dt, copy=False)
        self.deg[nodes] = left
        ready: IndexArray = nodes[left == 0]
        self.level[ready] = top[left == 0]
        return ready

    def _scalar_run(
        self, frontier: IndexArray, starts: IndexArray, counts: IndexArray, round_no: int
    ) -> tuple[IndexArray, int]:
        """Rounds in plain Python while each has at most ``scalar_edges`` out-edges.

        Entered with ``frontier`` already recorded; returns the first frontier that is wide again (its
        levels set, not yet recorded), or an empty one when the graph is exhausted.  Arrays are read
        and written through memoryviews, which trade Python ints without numpy's per-item overhead.
        """
        deg = self.deg.data
        indices = self.indices.data
        indptr = self.indptr.data
        limit = self.scalar_edges
        weighted = self.weighted
        if weighted:
            best, span, tail = self.best.data, self.span.data, self.tail.data
            reach0 = (self.level[frontier] + self.span[frontier]).tolist()
        else:
            reach0 = [round_no + 1] * frontier.size
        todo = [(s, c, r) for s, c, r in zip(starts.tolist(), counts.tolist(), reach0, strict=True) if c]
        run_nodes: list[int] = []
        run_levels: list[int] = []  # per node when weighted, per round otherwise
        ptr = self.ptr
        pos = self.pos
        while True:
            ready: list[int] = []
            for s, c, reach in todo:
                for j in range(s, s + c):
                    v = indices[j]
                    left = deg[v] - 1
                    deg[v] = left
                    if weighted and reach > best[v]:
                        best[v] = reach
                    if not left:
                        ready.append(v)
            if not ready:
                break
            k = len(ready)
            if k > 1:
                ready.sort()
            round_no += 1
            todo = []
            total = 0
            if weighted:
                lv = [best[v] for v in ready]
                for v, lvl in zip(ready, lv, strict=True):
                    t = tail[v]
                    s = indptr[t]
                    c = indptr[t + 1] - s
                    if c:
                        todo.append((s, c, lvl + span[v]))
                        total += c
            else:
                for v in ready:
                    s = indptr[v]
                    c = indptr[v + 1] - s
                    if c:
                        todo.append((s, c, 0))
                        total += c
            if total > limit or not todo:
                # Hand this frontier to the vectorised loop, which records it (and stops if no
                # edge leaves it).
                self._flush(run_nodes, run_levels, round_no - 1)
                ready_arr = np.asarray(ready, dtype=self.dt)
                self.level[ready_arr] = lv if weighted else round_no
                return ready_arr, round_no
            run_nodes += ready
            if weighted:
                run_levels += lv
            else:
                run_levels.append(k)
            pos += k
            ptr.append(pos)
            if len(run_nodes) >= FLUSH_NODES:  # keep the Python lists (36 bytes an int) short
                self._flush(run_nodes, run_levels, round_no)
                run_nodes = []
                run_levels = []
        self._flush(run_nodes, run_levels, round_no)
        return np.zeros(0, dtype=self.dt), round_no

    def _flush(self, nodes: list[int], levels: list[int], last_round: int) -> None:
        """Store a scalar run: ``levels`` per node when weighted, else the size of each round up to
        round ``last_round``."""
        if not nodes:
            return
        arr = np.asarray(nodes, dtype=self.dt)
        self.order[self.pos : self.pos + arr.size] = arr
        if self.weighted:
            self.level[arr] = levels
        else:
            first = last_round - len(levels) + 1
            self.level[arr] = np.arange(first, last_round + 1, dtype=self.dt).repeat(levels)
        self.pos += arr.size


def find_cycle(csr: CSR, placed: BoolArray) -> list[int]:
    """One cycle among the nodes Kahn could not place, as ``[c0, c1, ..., c0]``.

    Every unplaced node has an unplaced predecessor, so walking to the smallest such predecessor
    from any unplaced node must repeat a node; the repeated stretch, reversed, is a cycle whose
    consecutive pairs are edges.  The cycle is rotated to start at its smallest id.
    """
    n = csr.n
    left = ~placed
    srcs = np.repeat(np.arange(n, dtype=csr.dtype), csr.outdegree)
    keep = left[srcs] & left[csr.indices]
    pred = np.full(n, n, dtype=np.int64)
    np.minimum.at(pred, csr.indices[keep], srcs[keep])
    start = int(np.flatnonzero(left)[0])
    seen: dict[int, int] = {}
    walk: list[int] = []
    v = start
    while v not in seen:
        seen[v] = len(walk)
        walk.append(v)
        v = int(pred[v])
        if v >= n:  # cannot happen: every unplaced node has an unplaced predecessor
            raise AssertionError("cycle search left the unplaced nodes")
    cycle = walk[seen[v] :][::-1]
    i = cycle.index(min(cycle))
    cycle = cycle[i:] + cycle[:i]
    return [*cycle, cycle[0]]


def raise_cycle(csr: CSR, placed: BoolArray) -> None:
    """Raise ``CycleError`` naming one cycle among the unplaced nodes."""
    raise CycleError(find_cycle(csr, placed))
