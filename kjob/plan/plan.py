"""``plan_edges`` and the ``Plan`` it returns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kjob.plan.chains import Chains, find_chains
from kjob.plan.critical import Preds, build_preds, check_durations, critical_path
from kjob.plan.graph import CSR, PACK_LIMIT, IndexArray, build_csr, check_edges, is_sorted
from kjob.plan.levels import Rounds, kahn, raise_cycle


class Plan:
    """The levels, a topological order and the critical path of a DAG with nodes ``0..n-1``.

    Built by :func:`plan_edges`; every array is read-only.  Ids and offsets are ``int32`` while the
    node and edge counts are below ``2**31 - 1``, ``int64`` beyond.

    Attributes:
        n: number of nodes.
        indptr: CSR row offsets, shape ``(n + 1,)``: the successors of ``u`` are
            ``indices[indptr[u]:indptr[u + 1]]``.
        indices: CSR successor ids, shape ``(m,)``, ascending within each row; a duplicated edge
            appears as often as it was given.
        indegree: number of edges into each node, shape ``(n,)`` (duplicates counted).
        level: level of each node, shape ``(n,)``: 0 for a node without predecessors, otherwise one
            more than the largest level among its predecessors.
        levels: number of distinct levels (``0`` for an empty graph).
        order: a topological order, shape ``(n,)``: nodes sorted by level, ascending ids within a
            level, so ``order[level_ptr[k]:level_ptr[k + 1]]`` is level ``k``.

    Example:
        >>> import numpy as np
        >>> p = plan_edges(4, np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3]))
        >>> p.level.tolist(), p.levels, p.order.tolist()
        ([0, 1, 1, 2], 3, [0, 1, 2, 3])
        >>> length, path = p.critical_path(np.array([1.0, 5.0, 2.0, 1.0]))
        >>> length, path.tolist()
        (7.0, [0, 1, 3])
    """

    __slots__ = ("_chains", "_csr", "_level_ptr", "_preds", "_rounds", "level", "levels", "order")

    def __init__(
        self,
        csr: CSR,
        rounds: Rounds,
        chains: Chains | None,
        level: IndexArray,
        order: IndexArray,
    ) -> None:
        self._csr = csr
        self._rounds = rounds
        self._chains = chains
        self._preds: Preds | None = None
        self._level_ptr: npt.NDArray[np.int64] | None = None
        self.level = level
        self.order = order
        self.levels = int(level.max()) + 1 if level.size else 0
        for arr in (csr.indptr, csr.indices, csr.indegree, csr.outdegree, level, order, rounds.order):
            arr.flags.writeable = False

    @property
    def n(self) -> int:
        return self._csr.n

    @property
    def indptr(self) -> IndexArray:
        return self._csr.indptr

    @property
    def indices(self) -> IndexArray:
        return self._csr.indices

    @property
    def indegree(self) -> IndexArray:
        return self._csr.indegree

    @property
    def outdegree(self) -> IndexArray:
        """Number of edges out of each node, shape ``(n,)`` (``np.diff(indptr)``)."""
        return self._csr.outdegree

    @property
    def level_ptr(self) -> npt.NDArray[np.int64]:
        """Offsets of the levels in ``order``, shape ``(levels + 1,)``."""
        if self._level_ptr is None:
            ptr = np.zeros(self.levels + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.level, minlength=self.levels), out=ptr[1:])
            ptr.flags.writeable = False
            self._level_ptr = ptr
        return self._level_ptr

    def critical_path(self, durations: npt.ArrayLike) -> tuple[float, IndexArray]:
        """The longest path when node ``v`` takes ``durations[v]``: ``(length, nodes)``.

        ``length`` is the largest sum of durations along any path (0.0 for an empty graph) and
        ``nodes`` one such path, source first.  Ties go to the path ending at the node earliest in
        ``order`` and, walking back, to the predecessor earliest in ``order``, so the answer is
        deterministic.  ``durations`` must hold ``n`` finite numbers ``>= 0``.

        The first call builds predecessor lists (one sort of the edges); later calls reuse them.

        Example:
            >>> p = plan_edges(3, [0, 1], [1, 2])
            >>> p.critical_path([1.0, 2.0, 3.0])[0]
            6.0
        """
        dur = check_durations(durations, self.n)
        if self._preds is None:
            self._preds = build_preds(self._csr, self._rounds, self._chains)
        return critical_path(self._csr, self._rounds, self._chains, self._preds, dur)

    def __repr__(self) -> str:
        return f"Plan(n={self.n}, edges={self.indices.size}, levels={self.levels})"


def plan_edges(n: int, src: npt.ArrayLike, dst: npt.ArrayLike) -> Plan:
    """Plan the DAG with nodes ``0..n-1`` and edges ``src[i] -> dst[i]`` (``dst[i]`` needs ``src[i]``).

    ``src`` and ``dst`` are equal-length one-dimensional arrays (or sequences) of integers of any
    dtype.  Duplicate edges are allowed (each is counted in the degrees; levels do not change).
    The work is one sort of the edges (the CSR build) and O(n + m) numpy operations for Kahn's
    algorithm, one level at a time; long unary chains are contracted first and narrow levels run in
    plain Python (see ``kjob/plan/levels.py``).

    Raises:
        PlanInputError: ``n`` is negative or not an integer, an array is not one-dimensional
            integers, the lengths differ, or an id is outside ``0..n-1``.
        CycleError: the graph has a cycle (a self-loop counts); ``.nodes`` is one cycle, first node
            repeated at the end, every consecutive pair an edge.

    Example:
        >>> import numpy as np
        >>> src = np.array([0, 0, 1, 2])  # a diamond: 0 -> {1, 2} -> 3
        >>> dst = np.array([1, 2, 3, 3])
        >>> p = plan_edges(4, src, dst)
        >>> p.levels, p.level.tolist()
        (3, [0, 1, 1, 2])
        >>> plan_edges(3, [0, 1, 2], [1, 2, 0])
        Traceback (most recent call last):
            ...
        kjob.errors.CycleError: dependency cycle: 0 -> 1 -> 2 -> 0
    """
    count, s, d = check_edges(n, src, dst)
    csr = build_csr(count, s, d)
    chains = find_chains(csr)
    rounds = kahn(csr, chains)
    level = rounds.level
    if chains is not None:
        _expand_levels(level, chains)
        if chains.cyclic:
            raise_cycle(csr, level >= 0)
        supers = count - int(np.count_nonzero(chains.absorbed))
        if rounds.done < supers:
            raise_cycle(csr, level >= 0)
        order = _by_level(level)
    else:
        if rounds.done < count:
            raise_cycle(csr, level >= 0)
        order = rounds.order
    return Plan(csr, rounds, chains, level, order)


def _expand_levels(level: IndexArray, chains: Chains) -> None:
    """Give every chain node ``level[head] + rank`` (``-1`` stays for heads that were not placed)."""
    dt = level.dtype
    head_level = level[chains.heads]
    lv: IndexArray = np.arange(chains.seq.size, dtype=dt)
    lv -= chains.start.astype(dt).repeat(chains.length)
    lv += head_level.repeat(chains.length)
    if (head_level < 0).any():  # a cycle upstream of some chains: leave those chains unplaced
        lv[(head_level < 0).repeat(chains.length)] = -1
    level[chains.seq] = lv


def _by_level(level: IndexArray) -> IndexArray:
    """Node ids sorted by level, ascending ids within a level (one sort of packed keys)."""
    n = level.size
    if n > PACK_LIMIT:
        return np.lexsort((np.arange(n, dtype=level.dtype), level)).astype(level.dtype)
    key = level.astype(np.int64)
    key <<= 32
    key |= np.arange(n, dtype=level.dtype)
    if not is_sorted(key):
        key.sort()
    key &= 0xFFFFFFFF
    order: IndexArray = key.astype(level.dtype)
    return order
