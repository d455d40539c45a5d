"""The critical path: the longest path when every node costs its duration.

``dist[v] = dur[v] + max(dist[p] for p in preds(v))`` round by round, in the order Kahn's algorithm
placed the (super-)nodes.  Everything is indexed by *position* in that order, so a round is a
contiguous slice: its predecessor lists are one contiguous slice of ``pidx`` and one
``np.maximum.reduceat`` takes every node's maximum.  Runs of narrow rounds go through a plain Python
loop instead (one numpy call costs as much as a few hundred Python steps).  A contracted chain is one
super-node whose duration is the sum of its nodes' (``np.add.reduceat``), entered at its head and
left at its tail, so the chain costs nothing per node here.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kjob.plan.chains import Chains
from kjob.plan.graph import (
    CSR,
    Arange,
    FloatArray,
    IndexArray,
    PlanInputError,
    gather_ranges,
    group_counts,
    sort_pairs,
)
from kjob.plan.levels import Rounds

SCALAR_PREDS = 64
"""Rounds with at most this many nodes and predecessor entries are computed in Python."""
SCALAR_WINDOW = 1 << 12
"""Positions per Python pass in a long narrow run (bounds the temporary Python lists)."""
BACKTRACK_ROUNDS = 4096
"""With more rounds than this the path may be long: find every node's best predecessor at once."""
BACKTRACK_WINDOW = 1 << 16
"""Positions per step of ``_backtrack_all``."""
EXPAND_LOOP = 1024
"""Paths of at most this many super-nodes are expanded by slicing chains in a Python loop."""
SPARSE_SOURCES = 8
"""With chains, find the sources of the kept edges by binary search when fewer than 1 edge in this
many is kept (else by one ``repeat`` over all edges)."""


@dataclass(frozen=True, eq=False)
class Preds:
    """Predecessor lists in round order: position ``q``'s predecessors are the positions
    ``pidx[pptr[q]:pptr[q + 1]]`` (ascending, all in earlier rounds).  ``head_pos`` holds the
    positions of the chain heads (empty without chains)."""

    pidx: IndexArray
    pptr: npt.NDArray[np.int64]
    head_pos: IndexArray


def build_preds(csr: CSR, rounds: Rounds, chains: Chains | None) -> Preds:
    """The predecessor lists of the (contracted) graph, by position in ``rounds.order``."""
    dt = csr.dtype
    order = rounds.order
    s = order.size
    pos = np.full(csr.n, -1, dtype=dt)
    pos[order] = np.arange(s, dtype=dt)
    # A super-node's in-edges are all its original in-edges (none of them is a chain link).
    pptr = np.zeros(s + 1, dtype=np.int64)
    np.cumsum(csr.indegree[order], out=pptr[1:])
    if chains is None:
        from_pos = pos.repeat(csr.outdegree)
        to_pos = pos[csr.indices]
        head_pos = np.zeros(0, dtype=dt)
    else:
        # Edges into absorbed nodes are the links inside chains; every other edge leaves a chain's
        # tail (or a plain node) and counts as leaving the chain's head.
        keep = np.flatnonzero(~chains.absorbed[csr.indices])
        if keep.size * SPARSE_SOURCES < csr.indices.size:
            src = np.searchsorted(csr.indptr, keep, side="right") - 1
        else:
            src = np.arange(csr.n, dtype=dt).repeat(csr.outdegree)[keep]
        from_pos = pos[_head_of(src, chains)]
        to_pos = pos[csr.indices[keep]]
        head_pos = pos[chains.heads]
    del pos
    return Preds(pidx=sort_pairs(to_pos, from_pos, s, dt)[1], pptr=pptr, head_pos=head_pos)


def _head_of(nodes: IndexArray, chains: Chains) -> IndexArray:
    """``nodes`` with every chain tail replaced by the head of its chain."""
    if not chains.heads.size:
        return nodes
    tails = chains.tail[chains.heads]
    by_tail = np.argsort(tails)
    tails = tails[by_tail]
    at = np.minimum(np.searchsorted(tails, nodes), tails.size - 1)
    hit = tails[at] == nodes
    out: IndexArray = np.where(hit, chains.heads[by_tail][at], nodes)
    return out


def check_durations(durations: object, n: int) -> FloatArray:
    """``durations`` as ``n`` finite non-negative float64 values, or a ``PlanInputError``."""
    try:
        dur = np.asarray(durations, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PlanInputError(f"durations must be an array of {n} numbers ({exc})") from None
    if dur.shape != (n,):
        raise PlanInputError(f"durations must have shape ({n},) (one per node), got {dur.shape}")
    if n and not (np.isfinite(dur).all() and dur.min() >= 0):
        bad = int(np.flatnonzero(~(np.isfinite(dur) & (dur >= 0)))[0])
        raise PlanInputError(f"durations[{bad}] = {dur[bad]} must be a finite number >= 0")
    return dur


def critical_path(
    csr: CSR, rounds: Rounds, chains: Chains | None, preds: Preds, dur: FloatArray
) -> tuple[float, IndexArray]:
    """Length of the longest node-weighted path and its nodes, source first (``dur`` validated)."""
    order = rounds.order
    dt = csr.dtype
    s = order.size
    if s == 0:
        return 0.0, np.zeros(0, dtype=dt)
    wpos = dur[order]
    if chains is not None and chains.heads.size:
        wpos[preds.head_pos] = np.add.reduceat(dur[chains.seq], chains.start)
    dist = np.empty(s, dtype=np.float64)
    _forward(rounds.ptr, preds, wpos, dist)

    end = int(np.argmax(dist))
    length = float(dist[end])
    if rounds.ptr.size - 1 > BACKTRACK_ROUNDS:
        path_pos = _backtrack_all(preds, dist, end)
    else:
        path_pos = _backtrack(preds, dist, end)
    supers = order[path_pos]
    if chains is None:
        return length, supers
    return length, _expand(supers, chains)


def _forward(ptr: npt.NDArray[np.int64], preds: Preds, wpos: FloatArray, dist: FloatArray) -> None:
    pidx, pptr = preds.pidx, preds.pptr
    first = int(ptr[1])
    dist[:first] = wpos[:first]  # round 0: the sources
    rounds = ptr.size - 1
    if rounds < 2:
        return
    nodes = np.diff(ptr[1:])
    entries = pptr[ptr[2:]] - pptr[ptr[1:-1]]
    narrow = (nodes <= SCALAR_PREDS) & (entries <= SCALAR_PREDS)
    # Runs of rounds that are all narrow or all wide: [cuts[i], cuts[i + 1]) in rounds 1..rounds-1.
    cuts = np.flatnonzero(np.diff(narrow.astype(np.int8))) + 1
    bounds = [0, *cuts.tolist(), narrow.size]
    ptr_l = ptr[1:].data  # memoryviews index as Python ints without a list of them
    narrow_l = narrow.data
    for i in range(len(bounds) - 1):
        r0, r1 = bounds[i], bounds[i + 1]
        if narrow_l[r0]:
            # Positions only depend on earlier ones, so a long run is done in bounded windows.
            for lo in range(ptr_l[r0], ptr_l[r1], SCALAR_WINDOW):
                _scalar(lo, min(lo + SCALAR_WINDOW, ptr_l[r1]), preds, wpos, dist)
            continue
        for r in range(r0, r1):
            lo, hi = ptr_l[r], ptr_l[r + 1]
            a = pptr[lo]
            vals = dist[pidx[a : pptr[hi]]]
            best = np.maximum.reduceat(vals, pptr[lo:hi] - a)
            np.add(wpos[lo:hi], best, out=dist[lo:hi])


def _scalar(lo: int, hi: int, preds: Preds, wpos: FloatArray, dist: FloatArray) -> None:
    """Positions ``lo..hi-1`` of a narrow run in Python, in order (each depends on earlier ones only).

    ``values`` holds the distances of every predecessor entry before ``lo`` (gathered at once)
    followed by the run's own distances as they are computed; ``src`` points each entry at its slot.
    """
    a = int(preds.pptr[lo])
    b = int(preds.pptr[hi])
    k = b - a
    plist = preds.pidx[a:b]
    inside = plist >= lo
    values: list[float] = dist[plist].tolist() + [0.0] * (hi - lo)
    src = np.where(inside, plist.astype(np.int64) + (k - lo), np.arange(k)).tolist()
    bounds = (preds.pptr[lo : hi + 1] - a).tolist()
    w = wpos[lo:hi].tolist()
    for i in range(hi - lo):
        j, e = bounds[i], bounds[i + 1]
        if e - j == 1:
            best = values[src[j]]
        else:
            best = 0.0  # every node past round 0 has a predecessor, and distances are >= 0
            for q in src[j:e]:
                x = values[q]
                if x > best:
                    best = x
        values[k + i] = w[i] + best
    dist[lo:hi] = values[k:]


def _backtrack(preds: Preds, dist: FloatArray, end: int) -> IndexArray:
    """Walk back from ``end`` to the first (lowest-position) best predecessor, step by step."""
    pidx, pptr = preds.pidx, preds.pptr
    path = [end]
    q = end
    while True:
        a, b = int(pptr[q]), int(pptr[q + 1])
        if a == b:
            break
        cand = pidx[a:b]
        q = int(cand[int(np.argmax(dist[cand]))])
        path.append(q)
    path.reverse()
    return np.asarray(path, dtype=pidx.dtype)


def _backtrack_all(preds: Preds, dist: FloatArray, end: int) -> IndexArray:
    """As ``_backtrack``, but every node's best predecessor is found at once (for long paths), a
    window of positions at a time so the temporaries stay small."""
    pidx, pptr = preds.pidx, preds.pptr
    s = dist.size
    parent = np.full(s, -1, dtype=pidx.dtype)
    for lo in range(0, s, BACKTRACK_WINDOW):
        hi = min(lo + BACKTRACK_WINDOW, s)
        a, b = int(pptr[lo]), int(pptr[hi])
        if a == b:
            continue
        counts = np.diff(pptr[lo : hi + 1])
        has = np.flatnonzero(counts)  # positions (from lo) with predecessors
        vals = dist[pidx[a:b]]
        # Consecutive positions with predecessors own consecutive, non-empty runs of entries.
        top = np.maximum.reduceat(vals, pptr[lo:hi][has] - a)
        hits = np.flatnonzero(vals == top.repeat(counts[has]))
        who = np.searchsorted(pptr[lo : hi + 1], hits + a, side="right") - 1
        first, _ = group_counts(who)
        parent[lo + who[first]] = pidx[a + hits[first]]
    up = parent.data  # a memoryview: Python ints without a list of them
    path = array("q")
    q = end
    while q >= 0:
        path.append(q)
        q = up[q]
    out: IndexArray = np.frombuffer(path, dtype=np.int64)[::-1].astype(pidx.dtype)
    return out


def _expand(supers: IndexArray, chains: Chains) -> IndexArray:
    """Replace every chain head on a path by its whole chain."""
    span = chains.span[supers]
    is_head = span > 1
    chain = np.searchsorted(chains.heads, supers)
    if supers.size <= EXPAND_LOOP:
        starts = chains.start[np.where(is_head, chain, 0)].tolist() if chains.heads.size else []
        pieces = [
            chains.seq[starts[i] : starts[i] + k] if k > 1 else supers[i : i + 1]
            for i, k in enumerate(span.tolist())
        ]
        return np.concatenate(pieces)
    span64 = span.astype(np.int64)
    at = np.zeros(supers.size, dtype=np.int64)
    np.cumsum(span64[:-1], out=at[1:])
    out: IndexArray = np.empty(int(span64.sum()), dtype=supers.dtype)
    out[at[~is_head]] = supers[~is_head]
    arange = Arange(np.dtype(np.int64))
    k = int(span64[is_head].sum())
    to = gather_ranges(at[is_head], span64[is_head], k, arange)
    frm = gather_ranges(chains.start[chain[is_head]], span64[is_head], k, arange)
    out[to] = chains.seq[frm]
    return out
