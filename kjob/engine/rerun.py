"""Which nodes ``kjob retry`` runs again, and under which attempt numbers.

A retried run is a resumed run (every attempt that finished is replayed by its backend, nothing is
started twice) in which some nodes start again: the ones that failed or errored (chosen by a
selector), everything that ran because of them (a dependent that ran on ``continueOn``, a nested DAG
or fan-out around one), and the exit handler.  A node run again takes attempt numbers past every
number it used before, so its new attempts are new Jobs (or new local attempts), never the failed
ones adopted again; the attempts it made before stay recorded, and ``retryStrategy`` counts afresh.

What is known before the run starts (the record's failed nodes, the numbers already used) lets a
failed node start again at once, without replaying its failed attempts and their backoff.  A failure
the record did not show (an item of an Indexed Job on a cluster run never recorded on this machine) is
recognised while replaying: an attempt whose number was used before ended in failure.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from kjob.engine.state import Node


def _every(_node: Node) -> bool:
    return True


@dataclass
class Rerun:
    """The engine asks this at each node's first attempt and at each final failure (see module doc)."""

    failed: Collection[str] = frozenset()  # node ids whose last recorded attempt failed or errored
    next_attempt: Mapping[str, int] = field(default_factory=dict)  # node (or fan-out) id -> first unused
    chosen: Callable[[Node], bool] = _every  # the selector: which failed nodes to run again
    _numbering: dict[int, tuple[int, int]] = field(default_factory=dict)  # id(node) -> (number, index)
    _touched: set[int] = field(default_factory=set)  # nodes run again, and every node around one
    _forced: set[int] = field(default_factory=set)  # nodes whose every leaf runs again
    taken: list[str] = field(default_factory=list)  # ids of the leaves run again, in order

    @property
    def any_taken(self) -> bool:
        return bool(self.taken)

    def numbering(self, node: Node) -> tuple[int, int]:
        """(the attempt number of the node's first new attempt, its index in ``node.attempts``);
        (0, 0) for a node replayed as it ran."""
        return self._numbering.get(id(node), (0, 0))

    def first_attempt(self, node: Node) -> None:
        """Before a leaf's first attempt of this kjob: run it again if it failed, or if it is forced."""
        if id(node) in self._numbering:
            return
        if self._is_forced(node) or (node.id in self.failed and self.chosen(node)):
            self._take(node, index=0)

    def again_after_failure(self, node: Node, number: int) -> bool:
        """A leaf's last attempt (number ``number``) failed for good: run it again if that attempt
        was a replay of one made before and the selector chooses it."""
        if id(node) in self._numbering or number >= self._next(node) or not self.chosen(node):
            return False
        self._take(node, index=len(node.attempts))
        return True

    def dependencies_finished(self, node: Node, dependencies: Iterable[Node]) -> None:
        """A task about to be evaluated: if one of its dependencies ran again, it runs again too."""
        if any(id(dep) in self._touched for dep in dependencies):
            self.force(node)

    def force(self, node: Node) -> None:
        """Run every leaf of ``node`` again (a dependent of a node run again, the exit handler)."""
        self._forced.add(id(node))

    def _is_forced(self, node: Node) -> bool:
        return any(id(n) in self._forced for n in _self_and_above(node))

    def _next(self, node: Node) -> int:
        own = self.next_attempt.get(node.id, 0)
        group = self.next_attempt.get(node.parent.id, 0) if node.parent is not None else 0
        return max(own, group)

    def _take(self, node: Node, *, index: int) -> None:
        used = max((a.number for a in node.attempts), default=-1) + 1
        self._numbering[id(node)] = (max(self._next(node), used), index)
        self.taken.append(node.id)
        self._touched.update(id(n) for n in _self_and_above(node))


def _self_and_above(node: Node) -> Iterable[Node]:
    """``node``, its fan-out group, and every node whose nested template contains it."""
    current: Node | None = node
    while current is not None:
        yield current
        current = current.parent if current.parent is not None else current.scope.owner
