"""A kjob/Argo workflow as the flat DAG the simulator runs, and every assumption that took.

The engine runs a nested ``dag``/``steps`` template's children, each item of a fan-out as a task of its
own, and only the branch a ``when`` chose.  :func:`flatten` builds that graph:

- a task that calls a ``container``/``script`` template is one simulated task per item;
- a task that calls a ``dag``/``steps`` template is that template's tasks, inlined (its roots wait for
  what the task waits for, and what waits for the task waits for its leaves);
- a fan-out's width comes from ``withItems``, a literal ``withSequence``, ``--items TASK=N`` or a
  recorded run; otherwise it is *assumed* to be one item;
- a ``when`` is decided by ``--when TASK=true|false|P`` or a recorded run; otherwise it is *assumed*
  true.  A task decided false is left out: what waits for it waits for what it waited for (a skipped
  task satisfies ``depends``, as in Argo);
- a recursive call (a template that calls itself, as fibonacci-like examples do) is not followed: the
  simulation cannot know where the recursion ends.

Each choice that was not read from the workflow is an :class:`Assumption`.  ``defaulted`` ones are the
silent defaults a planner may not know about: ``kjob sim --strict`` refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kjob.graph import literal_count, task_graph
from kjob.limits import Limit
from kjob.spec.model import DagTask, TemplateKind, Workflow
from sim.errors import SimError

WORKFLOW_TASKS = Limit("simulated tasks", 5_000_000, "KJOB_MAX_SIM_TASKS")


@dataclass(frozen=True, slots=True)
class Assumption:
    """One thing the simulation takes as given.  ``source`` says where it came from: ``default`` for a
    silent default, else the option, annotation or recorded run that set it."""

    what: str  # duration | fan-out width | when | failure rate | start-up | recursion
    subject: str  # the template or task it is about ('*' for all)
    value: str
    source: str

    @property
    def defaulted(self) -> bool:
        return self.source == "default"

    def text(self) -> str:
        origin = "assumed" if self.defaulted else f"from {self.source}"
        return f"{self.what} of {self.subject}: {self.value} ({origin})"

    def as_json(self) -> dict[str, str | bool]:
        return {
            "what": self.what,
            "subject": self.subject,
            "value": self.value,
            "source": self.source,
            "defaulted": self.defaulted,
        }


@dataclass(frozen=True)
class Decisions:
    """What the planner (or a recorded run) says about run-time choices, by task name.  ``when`` maps a
    task to True, False or the probability that its ``when`` holds; ``draws`` holds this run's outcome
    for each probability (see :func:`draw_decisions`)."""

    items: Mapping[str, int] = field(default_factory=dict)
    when: Mapping[str, bool | float] = field(default_factory=dict)
    source: Mapping[str, str] = field(default_factory=dict)  # task -> where its width/when came from
    draws: Mapping[str, bool] = field(default_factory=dict)

    @property
    def random(self) -> bool:
        """Whether some ``when`` is a probability (each run draws its own branches)."""
        return any(not isinstance(v, bool) for v in self.when.values())


def draw_decisions(decisions: Decisions, rng: np.random.Generator) -> Decisions:
    """``decisions`` with every probabilistic ``when`` drawn (in task-name order, so a seed repeats)."""
    draws = {
        task: bool(rng.random() < p) for task, p in sorted(decisions.when.items()) if not isinstance(p, bool)
    }
    return Decisions(decisions.items, decisions.when, decisions.source, draws)


@dataclass(frozen=True)
class FlatDag:
    """The simulated tasks (``ids`` like ``outer.inner(3)``, each with its task name and template),
    the edges between them, and the assumptions made building it."""

    ids: list[str]
    tasks: list[str]
    templates: list[str]
    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    assumptions: tuple[Assumption, ...]
    all_tasks: frozenset[str]  # every task name of the workflow (to check --items / --when against)
    fan_outs: frozenset[str]
    conditional: frozenset[str]


def flatten(workflow: Workflow, decisions: Decisions | None = None) -> FlatDag:
    """The workflow's entrypoint as simulated tasks (see the module doc)."""
    if workflow.entrypoint is None or workflow.entrypoint not in workflow.templates:
        raise SimError(f"{workflow.path}: the workflow has no entrypoint", hint="set spec.entrypoint")
    return _Flattener(workflow, decisions or Decisions()).run()


@dataclass
class _Scope:
    """One inlined dag/steps template while it is being added."""

    tasks: Mapping[str, DagTask]
    deps: Mapping[str, tuple[str, ...]]
    path: str  # prefix of its simulated tasks' ids
    after: tuple[int, ...]  # what its roots wait for
    stack: tuple[str, ...]  # the templates being inlined, outermost first (to stop recursion)
    done: dict[str, list[int]] = field(default_factory=dict)  # task -> what its dependents wait for
    waited: set[str] = field(default_factory=set)  # tasks another task of the scope waits for


class _Flattener:
    def __init__(self, workflow: Workflow, decisions: Decisions) -> None:
        self.workflow = workflow
        self.decisions = decisions
        self.ids: list[str] = []
        self.tasks: list[str] = []
        self.templates: list[str] = []
        self.src: list[int] = []
        self.dst: list[int] = []
        self.assumed: dict[tuple[str, str], Assumption] = {}
        self.all_tasks: set[str] = set()
        self.fan_outs: set[str] = set()
        self.conditional: set[str] = set()

    def run(self) -> FlatDag:
        entry = self.workflow.entrypoint
        assert entry is not None
        if self.workflow.templates[entry].kind in (TemplateKind.DAG, TemplateKind.STEPS):
            self._inline(entry, "", (), (entry,))  # its tasks by their own names, as kjob shows them
        else:
            self._node(entry, entry, entry, ())
        return FlatDag(
            self.ids,
            self.tasks,
            self.templates,
            np.asarray(self.src, dtype=np.int64),
            np.asarray(self.dst, dtype=np.int64),
            tuple(self.assumed.values()),
            frozenset(self.all_tasks),
            frozenset(self.fan_outs),
            frozenset(self.conditional),
        )

    def _assume(self, what: str, subject: str, value: str, source: str) -> None:
        self.assumed.setdefault((what, subject), Assumption(what, subject, value, source))

    def _call(self, task: DagTask, path: str, after: tuple[int, ...], stack: tuple[str, ...]) -> list[int]:
        """Add what ``task`` runs, each start waiting for ``after``; the simulated tasks that must end
        before what waits for ``task`` may start (``after`` itself when the task adds nothing)."""
        template = self.workflow.templates[task.template]
        width = self._width(task)
        exits: list[int] = []
        for k in range(width):
            name = f"{path}{task.name}" + (f"({k})" if self._fans_out(task) else "")
            if template.kind in (TemplateKind.DAG, TemplateKind.STEPS):
                if template.name in stack:
                    self._assume("recursion", template.name, "not simulated past its first call", "default")
                    exits.extend(after)
                    continue
                exits.extend(self._inline(template.name, f"{name}.", after, (*stack, template.name)))
            else:
                exits.append(self._node(name, task.name, template.name, after))
        return sorted(set(exits)) if exits else list(after)

    def _inline(
        self, template_name: str, path: str, after: tuple[int, ...], stack: tuple[str, ...]
    ) -> list[int]:
        """A dag/steps template's tasks; the simulated tasks nothing inside it waits for."""
        scope = _Scope(*task_graph(self.workflow.templates[template_name]), path, after, stack)
        for name in scope.tasks:  # declaration order; a dag may name a later task
            self._visit(scope, name, ())
        leaves = [i for name, ends in scope.done.items() if name not in scope.waited for i in ends]
        return sorted(set(leaves)) if leaves else list(after)

    def _visit(self, scope: _Scope, name: str, visiting: tuple[str, ...]) -> list[int]:
        """Add task ``name`` of ``scope`` after what it depends on; the simulated tasks to wait for."""
        if name in scope.done:
            return scope.done[name]
        if name in visiting:  # the loader refuses cycles; stay safe if one slips through
            raise SimError(f"a dependency cycle through task '{name}'")
        before: set[int] = set()
        deps = [d for d in scope.deps.get(name, ()) if d in scope.tasks]
        for dep in deps:
            scope.waited.add(dep)
            before.update(self._visit(scope, dep, (*visiting, name)))
        start = tuple(sorted(before)) if deps else scope.after
        task = scope.tasks[name]
        self.all_tasks.add(name)
        if self._runs(task):
            scope.done[name] = self._call(task, scope.path, start, scope.stack)
        else:
            scope.done[name] = list(start)  # left out: what waits for it waits for what it waited for
        return scope.done[name]

    def _node(self, node_id: str, task: str, template: str, after: tuple[int, ...]) -> int:
        i = len(self.ids)
        if i >= WORKFLOW_TASKS.value:
            message = WORKFLOW_TASKS.problem(i + 1, "this workflow", at_least=True)
            raise SimError(message or "too many tasks", hint="give smaller --items widths")
        self.ids.append(node_id)
        self.tasks.append(task)
        self.templates.append(template)
        for a in after:
            self.src.append(a)
            self.dst.append(i)
        return i

    # -------------------------------------------------------------------------- run-time choices
    @staticmethod
    def _fans_out(task: DagTask) -> bool:
        return task.with_items is not None or task.with_sequence is not None or task.with_param is not None

    def _width(self, task: DagTask) -> int:
        if not self._fans_out(task):
            return 1
        self.fan_outs.add(task.name)
        given = self.decisions.items.get(task.name)
        if given is not None:
            self._assume(
                "fan-out width", task.name, _items(given), self.decisions.source.get(task.name, "--items")
            )
            return given
        if task.with_items is not None:
            return len(task.with_items)
        count = literal_count(task)
        if count is not None:
            return count
        kind = "withParam" if task.with_param is not None else "withSequence"
        self._assume("fan-out width", task.name, f"1 item ({kind} is only known at run time)", "default")
        return 1

    def _runs(self, task: DagTask) -> bool:
        if task.when is None:
            return True
        self.conditional.add(task.name)
        decided = self.decisions.when.get(task.name)
        source = self.decisions.source.get(f"when:{task.name}", "--when")
        if decided is None:
            self._assume("when", task.name, "true (both branches of a condition run)", "default")
            return True
        if isinstance(decided, bool):
            self._assume("when", task.name, str(decided).lower(), source)
            return decided
        self._assume("when", task.name, f"true with probability {decided:g}, drawn per run", source)
        return self.decisions.draws.get(task.name, decided >= 0.5)


def _items(n: int) -> str:
    return f"{n} item" + ("" if n == 1 else "s")
