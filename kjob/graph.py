"""The *expand* step: a workflow's entrypoint DAG as a flat graph of numbered nodes and edge arrays.

``withItems`` and ``withSequence`` with literal bounds expand here into one node per item (a dependent
of a fanned-out task depends on every item); ``withParam`` is only known at run time and stays one
*dynamic* node.  A ``steps`` template becomes a chain of groups.  Nested templates stay one node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kjob.errors import KjobError
from kjob.expr import parse_depends
from kjob.spec.model import DagTask, Template, TemplateKind, Workflow

if TYPE_CHECKING:  # numpy is imported by expand() only: `kjob run` (the engine's task_graph) needs none
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    task: str
    template: str
    fan_out: str | None = None  # withItems | withSequence | withParam
    dynamic: bool = False  # how many items is only known at run time


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[GraphNode, ...]
    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    dependencies: dict[str, tuple[str, ...]]  # task -> the tasks it waits for


def task_graph(
    template: Template, target: str | None = None
) -> tuple[dict[str, DagTask], dict[str, tuple[str, ...]]]:
    """The tasks of a ``dag`` or ``steps`` template, by name in declaration order, and what each
    waits for.  A ``steps`` template is a chain of groups: every step waits for the whole previous
    group.  ``dag.target`` (or ``target``, the engine's rendering of a templated one) keeps only the
    targets and what they need; a target still holding a reference keeps every task."""
    tasks: dict[str, DagTask] = {}
    deps: dict[str, tuple[str, ...]] = {}
    if template.dag is not None:
        for task in template.dag.tasks:
            tasks[task.name] = task
            deps[task.name] = (
                tuple(sorted(parse_depends(task.depends).tasks))
                if task.depends is not None
                else task.dependencies
            )
        target = target if target is not None else template.dag.target
        if target and not ("{{" in target or "<<" in target):
            needed: set[str] = set()
            stack = [t for t in target.split() if t in tasks]
            while stack:
                name = stack.pop()
                if name not in needed:
                    needed.add(name)
                    stack.extend(deps[name])
            tasks = {n: t for n, t in tasks.items() if n in needed}
            deps = {n: d for n, d in deps.items() if n in needed}
    else:
        previous: tuple[str, ...] = ()
        for group in template.steps or ():
            for step in group:
                tasks[step.name] = step
                deps[step.name] = previous
            previous = tuple(step.name for step in group)
    return tasks, deps


def expand(workflow: Workflow) -> Graph:
    """The entrypoint's tasks as a graph (a container entrypoint is a one-node graph)."""
    if workflow.entrypoint is None:
        raise KjobError(f"{workflow.path}: the workflow has no entrypoint", hint="set spec.entrypoint")
    entry = workflow.templates[workflow.entrypoint]
    if entry.kind in (TemplateKind.DAG, TemplateKind.STEPS):
        by_name, deps = task_graph(entry)
        tasks = list(by_name.values())
    else:
        tasks = [DagTask(name=entry.name, template=entry.name)]
        deps = {entry.name: ()}
    nodes: list[GraphNode] = []
    members: dict[str, list[int]] = {}
    for task in tasks:
        members[task.name] = []
        for node in nodes_of(task):
            members[task.name].append(len(nodes))
            nodes.append(node)
    src: list[int] = []
    dst: list[int] = []
    for task in tasks:
        for dep in deps[task.name]:
            for a in members[dep]:
                for b in members[task.name]:
                    src.append(a)
                    dst.append(b)
    import numpy as np

    return Graph(tuple(nodes), np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64), deps)


def nodes_of(task: DagTask) -> list[GraphNode]:
    if task.with_items is not None:
        return [
            GraphNode(f"{task.name}({i})", task.name, task.template, "withItems")
            for i in range(len(task.with_items))
        ]
    if task.with_sequence is not None:
        count = literal_count(task)
        if count is not None:
            return [
                GraphNode(f"{task.name}({i})", task.name, task.template, "withSequence") for i in range(count)
            ]
        return [GraphNode(task.name, task.name, task.template, "withSequence", dynamic=True)]
    if task.with_param is not None:
        return [GraphNode(task.name, task.name, task.template, "withParam", dynamic=True)]
    return [GraphNode(task.name, task.name, task.template)]


def literal_count(task: DagTask) -> int | None:
    """The item count of a ``withSequence`` whose bounds are literal numbers, else ``None``."""
    seq = task.with_sequence
    if seq is None:
        return None
    try:
        if seq.count is not None:
            return int(seq.count)
        start, end = int(seq.start or "0"), int(seq.end or "0")
    except ValueError:
        return None
    return abs(end - start) + 1
