"""What the DAG page shows of a run, worked out from its ``run.json`` record (or, for ``kjob viz``,
from a workflow before it runs): the boxes, the edges between them, each box's state, a task's details
and the rows of the timeline.

A run is drawn at the level of the entrypoint's tasks: a fan-out is one box counting its items by
state (``12 running · 40 done · 2 failed``), a task calling a ``dag``/``steps`` template one box
counting the tasks inside it, and a click shows what is inside.  So a 2,000-item fan-out is one box,
and the drawing of a run keeps its shape while the run goes: only states and counts change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kjob.render.dag_layout import Box
from kjob.render.svg_dag import BoxState
from kjob.render.svg_gantt import Bar, Row
from kjob.render.svg_style import COUNT_WORDS, STATE_FILL
from kjob.runrecord import EXIT_NODE, NodeRecord, RunRecord
from kjob.spec.model import Template, TemplateKind, Workflow

CHILDREN_SHOWN = 500


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as the page draws it."""

    run_id: str
    boxes: tuple[Box, ...]
    edges: tuple[tuple[str, str], ...]
    states: dict[str, BoxState]
    phase: str
    message: str
    done: int
    total: int


class Tree:
    """The nodes of a record by id and by parent (:meth:`RunRecord.children`: a record written before
    kjob kept ``parent`` is read from the ids); the entrypoint's node is the first."""

    def __init__(self, record: RunRecord) -> None:
        self.nodes = {n.id: n for n in record.nodes}
        self.root = record.nodes[0].id if record.nodes else None
        tree = record.children()
        self.tops = [n.id for n in tree.get(None, [])]
        self.children = {parent: [n.id for n in kids] for parent, kids in tree.items() if parent is not None}

    def leaves(self, node_id: str) -> list[str]:
        """The tasks under ``node_id`` that ran (or will run) on their own; itself if it has none."""
        out: list[str] = []
        stack = [node_id]
        while stack:
            current = stack.pop()
            kids = self.children.get(current)
            if kids:
                stack.extend(reversed(kids))
            elif current != node_id or not self.nodes[current].group:
                out.append(current)
        return out


def run_view(record: RunRecord, known_edges: Sequence[tuple[str, str]] = ()) -> RunView:
    """The boxes of a run: the entrypoint's tasks (or the entrypoint itself when it is one task), then
    the exit handler, drawn after every task that nothing waits for.  ``known_edges`` (between task
    names) stand in for the ``depends`` of a record written before kjob kept them."""
    tree = Tree(record)
    entry = [t for t in tree.tops if t != EXIT_NODE]
    others = [t for t in tree.tops if t == EXIT_NODE]
    # the entrypoint's tasks; else a one-task entrypoint, or a run as a cluster tells it (no entrypoint node)
    held = tree.children.get(entry[0], []) if len(entry) == 1 else []
    main = list(held) if held else entry
    in_main = set(main)
    boxes: list[Box] = []
    edges: list[tuple[str, str]] = []
    states: dict[str, BoxState] = {}
    for node_id in main + others:
        node = tree.nodes[node_id]
        kids = tree.children.get(node_id, [])
        kind = "exit" if node_id not in in_main else "group" if node.group else "nested" if kids else "task"
        boxes.append(Box(node_id, node.task or node_id, _detail(node, kind, len(kids)), kind))
        states[node_id] = BoxState(node.phase, _counts(tree, node_id, kids))
        if node_id in in_main:
            edges.extend((d, node_id) for d in node.depends if d in tree.nodes)
    if not edges:
        edges = [(a, b) for a, b in known_edges if a in in_main and b in in_main]
    waited_for = {a for a, _ in edges}
    sinks = [b for b in main if b not in waited_for]
    edges.extend((s, o) for o in others for s in sinks)
    done, total = record.progress()
    return RunView(
        run_id=record.run_id,
        boxes=tuple(boxes),
        edges=tuple(edges),
        states=states,
        phase=record.phase,
        message=record.message,
        done=done,
        total=total,
    )


def _detail(node: NodeRecord, kind: str, children: int) -> str:
    if kind == "group":
        return f"fan-out · {children} items" if children else "fan-out"
    if kind == "nested":
        return f"{node.template} · {children} tasks"
    if kind == "exit":
        return f"onExit · {node.template}"
    return node.template


def _counts(tree: Tree, node_id: str, kids: list[str]) -> str:
    """``12 running · 40 done · 2 failed`` for a box holding tasks; ``""`` for a single task."""
    if not kids:
        return ""
    counts: dict[str, int] = {}
    for leaf in tree.leaves(node_id):
        phase = tree.nodes[leaf].phase.lower()
        counts[phase] = counts.get(phase, 0) + 1
    return " · ".join(f"{counts[p]} {word}" for p, word in COUNT_WORDS.items() if counts.get(p))


def state_document(view: RunView, shape: str) -> dict[str, Any]:
    """The JSON a page polls: the run's phase and progress, and each box's ``[state, counts]``."""
    return {
        "run": view.run_id,
        "phase": view.phase,
        "message": view.message,
        "progress": [view.done, view.total],
        "shape": shape,
        "boxes": {box_id: [_state_word(s.phase), s.counts] for box_id, s in sorted(view.states.items())},
    }


def _state_word(phase: str) -> str:
    lowered = phase.lower()
    return lowered if lowered in STATE_FILL else "pending"


def node_detail(record: RunRecord, node_id: str, tree: Tree | None = None) -> dict[str, Any] | None:
    """What a click on a box shows: the node's phase, message, inputs, outputs, attempts, and for a box
    holding tasks, :data:`CHILDREN_SHOWN` of them with their phases (failures first); ``None`` if no node has
    that id.  ``tree`` is the record's :class:`Tree`, when the caller has it already."""
    tree = tree or Tree(record)
    node = tree.nodes.get(node_id)
    if node is None:
        return None
    kids = tree.children.get(node_id, [])
    parent = node.parent_id
    attempts = [
        {
            "number": number,
            "id": a.id,
            "phase": a.phase or "Running",
            "exit_code": a.exit_code,
            "message": a.message,
            "started": a.started,
            "finished": a.finished,
            "duration": _rounded(a.duration),
        }
        for number, a in enumerate(node.attempts)
    ]
    return {
        "id": node.id,
        "task": node.task or node.id,
        "template": node.template,
        "phase": node.phase,
        "message": node.message,
        "started": node.started,
        "finished": node.finished,
        "duration": _rounded(node.duration),
        "part_of": parent if parent is not None and parent != tree.root else None,
        "depends": list(node.depends),
        "inputs": dict(node.inputs),
        "outputs": {
            "parameters": dict(node.outputs.parameters),
            "artifacts": dict(node.outputs.artifacts),
            "result": node.outputs.result,
            "exit_code": node.outputs.exit_code,
        },
        "attempts": attempts,
        "children": [{"id": k, "phase": tree.nodes[k].phase} for k in _failures_first(tree, kids)],
        "more_children": max(0, len(kids) - CHILDREN_SHOWN),
    }


_SHOWN_FIRST = {"Failed": 0, "Error": 1, "Running": 2, "Pending": 3}


def _failures_first(tree: Tree, kids: list[str]) -> list[str]:
    """The first :data:`CHILDREN_SHOWN` of ``kids``: failed and errored ones first, then running, then
    waiting, then the rest, each in the record's order (a failed item of 2,000 is not on page 5)."""
    ranked = sorted(range(len(kids)), key=lambda i: (_SHOWN_FIRST.get(tree.nodes[kids[i]].phase, 4), i))
    return [kids[i] for i in ranked[:CHILDREN_SHOWN]]


def gantt_rows(record: RunRecord, now: float) -> tuple[list[Row], float]:
    """The timeline's rows (tasks that made an attempt, by first start) and its length in seconds:
    ``now`` (wall clock) for a run still going, its end for a finished one."""
    t0 = record.started
    if t0 is None:
        return [], 0.0
    rows: list[tuple[float, Row]] = []
    for node in record.nodes:
        bars = []
        for a in node.attempts:
            start = a.started if a.started is not None else a.queued
            if start is None:
                continue
            end = None if a.finished is None else a.finished - t0
            bars.append(Bar(start - t0, end, a.phase or "Running", a.message))
        if bars:
            rows.append((bars[0].start, Row(node.id, node.id, tuple(bars))))
    rows.sort(key=lambda r: r[0])
    end = record.finished if record.finished is not None and record.finished_phase else now
    return [r for _, r in rows], max(0.0, end - t0)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def workflow_boxes(workflow: Workflow) -> tuple[list[Box], list[tuple[str, str]]]:
    """``kjob viz``: the entrypoint's tasks as boxes before anything runs (a fan-out says how many
    items, or that they are known at run time), and the exit handler after the rest."""
    from kjob.graph import nodes_of, task_graph

    if workflow.entrypoint is None:
        return [], []
    entry = workflow.templates[workflow.entrypoint]
    boxes: list[Box] = []
    edges: list[tuple[str, str]] = []
    if entry.kind in (TemplateKind.DAG, TemplateKind.STEPS):
        tasks, deps = task_graph(entry)
        for name, task in tasks.items():
            template = workflow.templates[task.template]
            if task.fans_out:
                items = nodes_of(task)
                known = not (len(items) == 1 and items[0].dynamic)
                detail = f"fan-out · {len(items)} items" if known else "fan-out · items at run time"
                boxes.append(Box(name, name, detail, "group"))
            elif _holds_tasks(template):
                boxes.append(Box(name, name, f"{template.name} · {_kind_word(template)}", "nested"))
            else:
                boxes.append(Box(name, name, template.name, "task"))
            edges.extend((dep, name) for dep in deps[name])
    else:
        boxes.append(Box(entry.name, entry.name, entry.name, "task"))
    if workflow.on_exit:
        exit_id = "onExit"
        waited_for = {a for a, _ in edges}
        sinks = [b.id for b in boxes if b.id not in waited_for]
        boxes.append(Box(exit_id, exit_id, f"onExit · {workflow.on_exit}", "exit"))
        edges.extend((s, exit_id) for s in sinks)
    return boxes, edges


def _holds_tasks(template: Template) -> bool:
    return template.kind in (TemplateKind.DAG, TemplateKind.STEPS)


def _kind_word(template: Template) -> str:
    return "dag" if template.kind is TemplateKind.DAG else "steps"
