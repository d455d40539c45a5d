"""What only a run can decide: a ``when``, ``withParam`` or ``withSequence`` that reads values the run
produces (another task's outputs or status, or an input parameter a caller fills with such a value).

``kjob run --dry-run`` shows the Jobs as if such a ``when`` held and names it; ``kjob plan --mode
waves`` refuses a workflow that has any (its Jobs are fixed objects, applied in order by a GitOps
tool that decides nothing), pointing at ``--mode driver``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kjob.errors import TemplateError
from kjob.expr import parse_template
from kjob.spec.model import DagTask, Template, Workflow, frozen_map


@dataclass(frozen=True, slots=True)
class Decision:
    """A ``when``, ``withParam`` or ``withSequence`` of ``task`` (in ``template``) that reads values
    only the run produces."""

    template: str
    task: str
    field: str  # "when" | "withParam" | "withSequence"
    text: str

    def describe(self) -> str:
        if self.field == "when":
            return f"created only if its when '{self.text}' holds"
        return f"{self.field} '{self.text}' is known only at run time: its Jobs are not shown"


def run_time_decisions(workflow: Workflow) -> dict[tuple[str, str], list[Decision]]:
    """Every ``when``/``withParam``/``withSequence`` whose value depends on the run, by (template,
    task).  A reference depends on the run when it names a task's outputs, status or exit code, the
    workflow's status, an item of such a fan-out, or an input parameter some caller passes such a
    value (followed through nested templates until nothing changes)."""
    argo = workflow.api_version.startswith("argoproj.io/")  # {{ }} allowed too
    tainted: dict[str, set[str]] = {name: set() for name in workflow.templates}
    changed = True
    while changed:
        changed = False
        for template in workflow.templates.values():
            for task in _tasks(template):
                callee = tainted.setdefault(task.template, set())
                item_run_time = _fan_out_run_time(task, tainted[template.name], argo) is not None
                for arg in task.arguments.parameters:
                    if arg.name in callee or arg.value is None:
                        continue
                    if _run_time(arg.value, tainted[template.name], argo, item=item_run_time):
                        callee.add(arg.name)
                        changed = True
    found: dict[tuple[str, str], list[Decision]] = {}
    for template in workflow.templates.values():
        for task in _tasks(template):
            decisions: list[Decision] = []
            fan_out = _fan_out_run_time(task, tainted[template.name], argo)
            if fan_out is not None:
                decisions.append(Decision(template.name, task.name, *fan_out))
            if task.when is not None and _run_time(
                task.when, tainted[template.name], argo, item=fan_out is not None
            ):
                decisions.append(Decision(template.name, task.name, "when", task.when))
            if decisions:
                found[(template.name, task.name)] = decisions
    return found


def _tasks(template: Template) -> list[DagTask]:
    if template.dag is not None:
        return list(template.dag.tasks)
    return [step for group in template.steps or () for step in group]


def _fan_out_run_time(task: DagTask, tainted: set[str], argo: bool) -> tuple[str, str] | None:
    if task.with_param is not None and _run_time(task.with_param, tainted, argo):
        return "withParam", task.with_param
    seq = task.with_sequence
    if seq is not None:
        texts = [t for t in (seq.count, seq.start, seq.end) if t is not None]
        if any(_run_time(t, tainted, argo) for t in texts):
            what = ", ".join(
                f"{k}={v}"
                for k, v in zip(("count", "start", "end"), (seq.count, seq.start, seq.end), strict=True)
                if v is not None
            )
            return "withSequence", what
    return None


def _run_time(text: str, tainted: set[str], argo: bool, *, item: bool = False) -> bool:
    try:
        refs = parse_template(text, argo_braces=argo).refs
    except TemplateError:
        return False  # malformed: the engine reports it where it evaluates it
    for ref in refs:
        parts = ref.path.split(".")
        if parts[0] in ("tasks", "steps") and len(parts) >= 3:
            return True
        if parts[0] == "workflow" and parts[1:2] in (["status"], ["failures"]):
            return True
        if parts[0] == "inputs" and parts[1:2] == ["parameters"] and parts[2:3] and parts[2] in tainted:
            return True
        if parts[0] == "item" and item:
            return True
    return False


def without_run_time_decisions(
    workflow: Workflow, decisions: Mapping[tuple[str, str], Sequence[Decision]]
) -> Workflow:
    """The workflow the dry run executes: a run-time ``when`` dropped (the task is shown), a run-time
    fan-out given no items (nothing is shown for it, its dependents still are)."""

    def strip(template: Template, task: DagTask) -> DagTask:
        fields = {d.field for d in decisions.get((template.name, task.name), ())}
        if not fields:
            return task
        changes: dict[str, Any] = {}
        if "when" in fields:
            changes["when"] = None
        if fields & {"withParam", "withSequence"}:
            changes.update(with_param=None, with_sequence=None, with_items=())
        return dataclasses.replace(task, **changes)

    templates: dict[str, Template] = {}
    for name, template in workflow.templates.items():
        if template.dag is not None:
            dag = dataclasses.replace(
                template.dag, tasks=tuple(strip(template, t) for t in template.dag.tasks)
            )
            template = dataclasses.replace(template, dag=dag)
        elif template.steps is not None:
            steps = tuple(tuple(strip(template, s) for s in group) for group in template.steps)
            template = dataclasses.replace(template, steps=steps)
        templates[name] = template
    return dataclasses.replace(workflow, templates=frozen_map(templates))
