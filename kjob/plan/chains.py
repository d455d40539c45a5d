"""Unary chains: maximal paths ``h -> v1 -> ... -> vk`` where every link leaves a node of out-degree 1 and
enters a node of in-degree 1.

A long chain would cost the level-by-level algorithms one round per node.  Contracted, a chain is one
super-node (its head) that enters rounds like any other node and leaves through its tail; the levels
and distances inside it are a prefix sum.  Finding the chains is list ranking, done here without a
Python loop per node by a ruling set: walkers start at the heads and at a pseudo-random 1/16 sample of
the chain nodes and step in lock-step until each meets the next ruler (about 16·ln(n) numpy steps,
linear work), then the short list of rulers is ranked by pointer jumping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kjob.plan.graph import CSR, PACK_LIMIT, BoolArray, IndexArray

CHAIN_MIN_LINKS = 1024
"""Contract chains only when there are at least this many links ..."""
CHAIN_FRACTION = 16
"""... and at least one link per ``CHAIN_FRACTION`` nodes; fewer are cheaper as narrow rounds."""

_RULER_BITS = 4  # sample 1 chain node in 2**_RULER_BITS as a ruler
_HASH = np.uint32(2654435761)  # Knuth's multiplicative hash, so the sample does not follow the ids


@dataclass(frozen=True, eq=False)
class Chains:
    """The contracted chains of a graph.

    ``seq[start[i]:start[i] + length[i]]`` is chain ``i`` from its head ``heads[i]`` to its tail.
    ``tail`` and ``span`` are per node: the last node and the node count of the super-node a head
    stands for (the node itself and 1 for every node that heads no chain).  ``absorbed`` marks the
    nodes inside a chain after its head (and nodes on isolated cycles of links); they are not
    super-nodes.  ``cyclic`` counts the nodes on isolated cycles of links (each such cycle is a whole
    connected component), which no order can place.
    """

    heads: IndexArray
    length: IndexArray
    start: IndexArray
    seq: IndexArray
    tail: IndexArray
    span: IndexArray
    absorbed: BoolArray
    cyclic: int


def find_chains(csr: CSR) -> Chains | None:
    """The chains of ``csr``, or ``None`` when too few links make contracting worth it (or the graph
    is too big for the packed keys the contracted rounds sort)."""
    n = csr.n
    dt = csr.dtype
    if n > PACK_LIMIT:
        return None
    lsrc = np.flatnonzero(csr.outdegree == 1).astype(dt)
    ldst = csr.indices[csr.indptr[lsrc]]
    ok = csr.indegree[ldst] == 1
    ok &= ldst != lsrc
    lsrc = lsrc[ok]
    ldst = ldst[ok]
    del ok
    m = int(lsrc.size)
    if m == 0 or m < max(CHAIN_MIN_LINKS, n // CHAIN_FRACTION):
        return None
    sentinel = n
    nxt = np.full(n + 1, sentinel, dtype=dt)
    nxt[lsrc] = ldst
    absorbed = np.zeros(n + 1, dtype=np.bool_)
    absorbed[ldst] = True
    heads = lsrc[~absorbed[lsrc]]  # ascending, as lsrc is
    h = heads.size
    del lsrc

    # Rulers: every head, and a deterministic pseudo-random sample of the other chain nodes.
    mixed = ldst.astype(np.uint32)
    mixed *= _HASH
    mixed >>= np.uint32(32 - _RULER_BITS)
    sample = ldst[mixed == 0]
    del mixed, ldst
    rulers = np.concatenate([heads, sample])
    del sample
    r = rulers.size
    is_ruler = np.zeros(n + 1, dtype=np.bool_)
    is_ruler[rulers] = True
    is_ruler[sentinel] = True

    # Walk from every ruler to the next one, recording the nodes passed in walk order (so nothing
    # below needs a per-node scatter or gather by id except the final placement).
    seg = np.ones(r, dtype=dt)
    next_ruler = np.full(r, sentinel, dtype=dt)
    walker = np.arange(r, dtype=dt)
    at = nxt[rulers]
    seen: list[IndexArray] = []  # the nodes passed at each step ...
    by: list[IndexArray] = []  # ... and the ruler whose walk passed them
    sizes: list[int] = []
    step = 1
    while walker.size:
        stop = is_ruler[at]
        if stop.any():
            seg[walker[stop]] = step
            next_ruler[walker[stop]] = at[stop]
            keep = ~stop
            walker = walker[keep]
            at = at[keep]
            if not walker.size:
                break
        seen.append(at)
        by.append(walker)
        sizes.append(at.size)
        at = nxt[at]
        step += 1
    del nxt, is_ruler

    # Rank the rulers by pointer jumping towards the head of their chain.
    rid = np.full(n + 1, -1, dtype=dt)
    rid[rulers] = np.arange(r, dtype=dt)
    nr = rid[next_ruler]
    del rid
    prev = np.full(r, -1, dtype=dt)
    has_next = np.flatnonzero(nr >= 0)
    prev[nr[has_next]] = has_next
    ptr = np.arange(r, dtype=dt)
    dist = np.zeros(r, dtype=dt)
    active = np.flatnonzero(prev >= 0)
    ptr[active] = prev[active]
    dist[active] = seg[prev[active]]
    for _ in range(max(1, r).bit_length() + 1):
        active = active[prev[ptr[active]] >= 0]
        if not active.size:
            break
        to = ptr[active]
        dist[active] += dist[to]
        ptr[active] = ptr[to]
    # A ruler whose pointer still has a predecessor sits on an isolated cycle of links (its values
    # are garbage, possibly wrapped); so does a chain node no walk reached (it is in no list).

    # Every chain node: its head (ruler index; heads are rulers 0..h-1) and its rank in the chain.
    nodes = np.concatenate([rulers, *seen]) if seen else rulers
    del seen
    owner = np.concatenate(by) if by else np.zeros(0, dtype=dt)
    del by
    rank = np.empty(nodes.size, dtype=dt)
    rank[:r] = dist
    rank[r:] = np.arange(1, len(sizes) + 1, dtype=dt).repeat(sizes)
    rank[r:] += dist[owner]
    head_r = np.empty(nodes.size, dtype=dt)
    head_r[:r] = ptr
    head_r[r:] = ptr[owner]
    ok_ruler = prev[ptr] < 0
    if not ok_ruler.all():
        valid = np.concatenate([ok_ruler, ok_ruler[owner]])
        nodes = nodes[valid]
        head_r = head_r[valid]
        rank = rank[valid]
        del valid
    del owner
    cyclic = h + m - int(nodes.size)

    length = np.bincount(head_r, minlength=h).astype(dt)
    start = np.zeros(h, dtype=np.int64)
    np.cumsum(length[:-1], out=start[1:])
    seq = np.empty(nodes.size, dtype=dt)
    at_seq = start[head_r]
    del head_r
    at_seq += rank
    del rank
    seq[at_seq] = nodes
    del at_seq, nodes
    tail = np.arange(n, dtype=dt)
    tail[heads] = seq[start + length - 1]
    span = np.ones(n, dtype=dt)
    span[heads] = length
    return Chains(
        heads=heads,
        length=length,
        start=start,
        seq=seq,
        tail=tail,
        span=span,
        absorbed=absorbed[:n],
        cyclic=cyclic,
    )
