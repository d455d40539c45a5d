"""The attempts waiting to be submitted, oldest first.

An attempt that a full ``parallelism`` scope holds back is *parked* on that scope and only looked at
again once the scope has room, so a DAG of 100,000 tasks under ``parallelism: 10`` costs
O(log n) per attempt instead of a walk past every held-back attempt at every dispatch.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable

from kjob.engine.state import Node, Scope

_COMPACT_AT = 1000  # stale entries worth a pass over the ready heap

_Entry = tuple[int, Node]  # (queue position, node); stale once the node left or was queued again


class AttemptQueue:
    """Queued attempts: *ready* ones in a heap by queue position, *parked* ones per full scope."""

    def __init__(self) -> None:
        self._order = itertools.count()
        self._ready: list[_Entry] = []
        self._parked: dict[Scope, list[_Entry]] = {}  # insertion ordered: deterministic unparking
        self._position: dict[Node, int] = {}  # every queued node (ready or parked) -> its position
        self._fan_outs: dict[tuple[Node, int], dict[Node, None]] = {}  # (group, attempt) -> items
        self._left = 0  # nodes removed since the ready heap was last compacted (their entries are stale)

    def __len__(self) -> int:
        return len(self._position)

    def push(self, node: Node) -> None:
        """Queue ``node``'s latest attempt behind everything queued so far."""
        position = next(self._order)
        self._position[node] = position
        heapq.heappush(self._ready, (position, node))
        if node.parent is not None:
            self._fan_outs.setdefault(_fan_out_key(node), {})[node] = None

    def pop(self) -> Node | None:
        """The oldest ready node, still queued until :meth:`remove` or :meth:`park`; ``None`` if
        nothing is ready."""
        if self._left > _COMPACT_AT and self._left > len(self._ready) // 2:
            self._compact()
        while self._ready:
            position, node = heapq.heappop(self._ready)
            if self._position.get(node) == position:
                return node
        return None

    def park(self, node: Node, scope: Scope) -> None:
        """Hold ``node`` (just popped) until ``scope`` has room."""
        heapq.heappush(self._parked.setdefault(scope, []), (self._position[node], node))

    def remove(self, node: Node) -> None:
        """``node`` leaves the queue (submitted, or finished without running)."""
        del self._position[node]
        self._left += 1
        if node.parent is not None:
            key = _fan_out_key(node)
            items = self._fan_outs[key]
            del items[node]
            if not items:
                del self._fan_outs[key]

    def _compact(self) -> None:
        """Drop the ready heap's stale entries at once: a fan-out submitted as one batch leaves one
        per item, which popping would otherwise wade through one by one (O(n log n))."""
        self._ready = [(p, n) for p, n in self._ready if self._position.get(n) == p]
        heapq.heapify(self._ready)
        self._left = 0

    def siblings(self, node: Node) -> list[Node]:
        """The other queued items of ``node``'s fan-out waiting for the same attempt, oldest first."""
        items = self._fan_outs.get(_fan_out_key(node), {})
        return [n for n in items if n is not node]

    def unpark(self, room: Callable[[Scope], int]) -> None:
        """Make ready again, oldest first, as many parked nodes of each scope as it has ``room`` for."""
        for scope in list(self._parked):
            self._move(scope, room(scope))

    def release(self, scopes: Iterable[Scope] | None = None) -> None:
        """Make every node parked on ``scopes`` (all scopes if ``None``) ready again: a stop, which
        finishes them without a slot."""
        for scope in list(self._parked if scopes is None else scopes):
            if scope in self._parked:
                self._move(scope, len(self._parked[scope]))

    def _move(self, scope: Scope, count: int) -> None:
        heap = self._parked[scope]
        while count > 0 and heap:
            position, node = heapq.heappop(heap)
            if self._position.get(node) == position:
                heapq.heappush(self._ready, (position, node))
                count -= 1
        if not heap:
            del self._parked[scope]


def _fan_out_key(node: Node) -> tuple[Node, int]:
    assert node.parent is not None
    return node.parent, node.attempts[-1].number  # a retried item (a later number) goes alone
