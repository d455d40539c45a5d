"""What the live view shows of a run, as plain values: one row per task, fan-out (its items counted,
not listed, unless it is expanded) and nested template, in reading order, plus the run's totals.

Two sources make the same state: the engine's nodes while ``kjob run`` runs (:class:`NodeTracker`,
kept up to date as nodes change, so that a refresh costs the run's tasks, not its items) and a run's
``run.json`` for ``kjob watch`` (:func:`state_from_record`).  The view is drawn from the state alone
(:mod:`kjob.cli.liveview`).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from kjob.engine.state import Node, Phase
from kjob.runrecord import NodeRecord, RunRecord

RETRYING = "Retrying"  # a tally's key for a task waiting for its next attempt (its phase is Running)
EXPAND_ALL = "all"
N = TypeVar("N")


class Kind(enum.Enum):
    TASK = "task"
    FANOUT = "fanout"
    TEMPLATE = "template"  # a task that runs a nested dag or steps template
    ITEM = "item"


@dataclass(frozen=True, slots=True)
class Tally:
    """How many tasks (or items) are in each phase; ``Retrying`` ones are counted apart from
    ``Running``."""

    counts: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return self.total - self["Pending"] - self["Running"] - self[RETRYING]

    @property
    def failed(self) -> int:
        return self["Failed"] + self["Error"]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the view."""

    id: str
    kind: Kind
    phase: Phase
    depth: int = 0
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    message: str = ""
    retry_at: float | None = None  # when its next attempt starts (same clock as ``now``)
    items: Tally | None = None  # a fan-out's items
    expanded: bool = False


@dataclass(frozen=True, slots=True)
class Bulk:
    """A long step under way: ``done`` of ``total`` ``what``."""

    what: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class LiveState:
    """A run as the live view draws it.  Times are seconds on one clock, ``now`` included."""

    run: str
    phase: str
    now: float
    started: float | None
    finished: float | None
    rows: Sequence[Row]
    tasks: Tally  # every task and item that runs a container
    bulk: Bulk | None = None


def tally_key(phase: Phase, retrying: bool) -> str:
    return RETRYING if phase is Phase.RUNNING and retrying else phase.value


def wants_expanded(expand: Collection[str], node_id: str, task: str) -> bool:
    return EXPAND_ALL in expand or node_id in expand or task in expand


def walk(
    tops: Iterable[N],
    *,
    below: Callable[[N], Iterable[N]],
    opens: Callable[[N], bool | None],
    make_row: Callable[[N, int, bool, bool], Row],
) -> list[Row]:
    """Rows in reading order: each node, then what is below it (a nested template's tasks; a
    fan-out's items only if it is expanded).  ``opens``: ``None`` for a node that is no fan-out, else
    whether it is expanded; ``make_row(node, depth, is_item, expanded)``."""
    rows: list[Row] = []

    def visit(level: Iterable[N], depth: int, are_items: bool) -> None:
        for node in level:
            expanded = opens(node)
            rows.append(make_row(node, depth, are_items, bool(expanded)))
            if expanded is None or expanded:
                visit(below(node), depth + 1, expanded is not None)

    visit(tops, 0, False)
    return rows


# ------------------------------------------------------------------------------ from the engine
class NodeTracker:
    """The engine's nodes as the live view needs them, kept as they change: per fan-out the tally of
    its items, over the run the tally of its tasks, and under each node what it owns (so a refresh
    walks the run's tasks, and the items of expanded fan-outs only)."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self._keys: dict[str, tuple[str, bool]] = {}  # id -> (tally key, whether a task) last counted
        self._tasks: Counter[str] = Counter()
        self._items: dict[str, Counter[str]] = {}  # fan-out id -> its items' tally
        self._below: dict[int | None, list[Node]] = {}  # id(owner) -> nodes of its nested template
        self._known: set[int] = set()
        self._rows: dict[int, Row] = {}  # id(node) -> its row as last drawn, until the node changes

    def changed(self, node: Node) -> None:
        if node.id == self.root and not node.template.is_leaf:
            return
        self._rows.pop(id(node), None)
        if node.parent is not None:
            self._rows.pop(id(node.parent), None)  # its items' tally moves
        if id(node) not in self._known:
            self._known.add(id(node))
            if node.parent is None:
                owner = node.scope.owner
                self._below.setdefault(
                    id(owner) if owner is not None and id(owner) in self._known else None, []
                ).append(node)
        key = (tally_key(node.phase, node.retry_at is not None), node.is_leaf)
        before = self._keys.get(node.id)
        if before == key:
            return
        self._keys[node.id] = key
        if before is not None and before[1]:
            self._tasks[before[0]] -= 1
        if key[1]:  # (a fan-out is a task until the engine finds it fans out)
            self._tasks[key[0]] += 1
        if node.parent is not None:
            items = self._items.setdefault(node.parent.id, Counter())
            if before is not None:
                items[before[0]] -= 1
            items[key[0]] += 1

    @property
    def tasks(self) -> Tally:
        """Every task and item that runs a container, by phase."""
        return _tally(self._tasks)

    def state(
        self, *, run: str, phase: str, now: float, started: float | None, expand: Collection[str]
    ) -> LiveState:
        def opens(node: Node) -> bool | None:
            return wants_expanded(expand, node.id, node.task.name) if node.is_group else None

        def below(node: Node) -> Iterable[Node]:
            return node.children if node.is_group else self._below.get(id(node), ())

        def make_row(node: Node, depth: int, is_item: bool, expanded: bool) -> Row:
            known = self._rows.get(id(node))
            if known is not None and known.depth == depth and known.expanded == expanded:
                return known
            kind = (
                Kind.FANOUT
                if node.is_group
                else Kind.ITEM
                if is_item
                else Kind.TASK
                if node.is_leaf
                else Kind.TEMPLATE
            )
            row = self._rows[id(node)] = Row(
                id=node.id,
                kind=kind,
                phase=node.phase,
                depth=depth,
                started=node.started_at,
                finished=node.finished_at,
                attempts=len(node.attempts),
                message=node.message,
                retry_at=node.retry_at,
                items=_tally(self._items.get(node.id)) if node.is_group else None,
                expanded=expanded,
            )
            return row

        rows = walk(self._below.get(None, ()), below=below, opens=opens, make_row=make_row)
        return LiveState(
            run=run,
            phase=phase,
            now=now,
            started=started,
            finished=None,
            rows=rows,
            tasks=_tally(self._tasks),
        )


# ------------------------------------------------------------------------------ from run.json
def state_from_record(record: RunRecord, *, now: float, expand: Collection[str]) -> LiveState:
    """The state of a run from its record (wall-clock times; ``now`` is ``time.time()``).  The
    entrypoint's node is not a row when it runs a dag or steps template (its tasks are)."""
    tree = record.children()
    tops = tree.get(None, [])
    root = record.nodes[0].id if record.nodes and record.nodes[0].id in tree else None
    if root is not None:
        tops = [*tree[root], *(n for n in tops if n.id != root)]
    tasks: Counter[str] = Counter()
    items: dict[str, Counter[str]] = {}
    for n in record.nodes:
        key = tally_key(_phase(n.phase), n.next_retry is not None)
        if not n.group and n.id not in tree:
            tasks[key] += 1
        up = n.parent_id
        if up is not None and n.id.startswith(up + "("):
            items.setdefault(up, Counter())[key] += 1

    def opens(n: NodeRecord) -> bool | None:
        return wants_expanded(expand, n.id, n.task) if n.group else None

    def make_row(n: NodeRecord, depth: int, is_item: bool, expanded: bool) -> Row:
        kind = (
            Kind.FANOUT if n.group else Kind.ITEM if is_item else Kind.TEMPLATE if n.id in tree else Kind.TASK
        )
        return Row(
            id=n.id,
            kind=kind,
            phase=_phase(n.phase),
            depth=depth,
            started=n.started,
            finished=n.finished,
            attempts=len(n.attempts),
            message=n.message,
            retry_at=n.next_retry,
            items=_tally(items.get(n.id)) if n.group else None,
            expanded=expanded,
        )

    rows = walk(tops, below=lambda n: tree.get(n.id, ()), opens=opens, make_row=make_row)
    return LiveState(
        run=record.run_id,
        phase=record.phase,
        now=now,
        started=record.started,
        finished=record.finished,
        rows=rows,
        tasks=_tally(tasks),
    )


def _tally(counter: Counter[str] | None) -> Tally:
    return Tally({key: count for key, count in (counter or {}).items() if count})


def _phase(name: str) -> Phase:
    try:
        return Phase(name)
    except ValueError:
        return Phase.PENDING
