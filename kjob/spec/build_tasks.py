"""Building the body of a ``dag`` or ``steps`` template: its tasks or steps.

A task's dependencies (``dependencies`` or ``depends``), its fan-out (``withItems``, ``withParam``,
``withSequence``), ``when`` and arguments are read here; whether the names they use exist is checked
later by :mod:`kjob.spec.validate`, with the marks kept in :class:`TaskMarks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kjob.limits import FAN_OUT_ITEMS
from kjob.spec import build_hooks, build_io
from kjob.spec import fields as F
from kjob.spec.loaded import Locator, SiteKind, TaskMarks
from kjob.spec.model import ContinueOn, Dag, DagTask, Mark, Sequence
from kjob.spec.printf import HINT as FORMAT_HINT
from kjob.spec.printf import format_problem
from kjob.spec.reader import WHOLE_NUMBER, Reader
from kjob.spec.values import argo_string, describe, is_scalar, plain
from kjob.spec.yamlnodes import YamlMap, YamlSeq

MAX_DIGITS = 4000  # Python reads at most 4,300 digits into a number

# builds a task's ``inline`` template (its body, where it is, the task's name) and gives its name
InlineBuilder = Callable[[YamlMap, Mark, str], str]


def dag(
    r: Reader, node: YamlMap, where: str, task_marks: list[TaskMarks], inline: InlineBuilder
) -> tuple[Dag | None, Locator | None]:
    """The dag body, filling ``task_marks`` per task; with where its ``target`` text is."""
    body = r.mapping(node, "dag")
    if body is None:
        return None, None
    r.fields(body, F.DAG, f"dag of {where}")
    tasks: list[DagTask] = []
    seq = r.sequence(body, "tasks")
    if not seq:
        r.diag.error(f"dag of {where} has no tasks", r.src.key(node, "dag"), hint="add `tasks:`")
    for item, mark in r.items(seq, "task"):
        task, marks = _task(r, item, mark, F.DAG_TASK, inline)
        tasks.append(task)
        task_marks.append(marks)
    fail_fast = r.boolean(body, "failFast")
    target = r.string(body, "target")
    dag = Dag(tasks=tuple(tasks), fail_fast=True if fail_fast is None else fail_fast, target=target)
    if target is None:
        return dag, None
    return dag, r.src.locator(r.src.value(body, "target"), target)


def steps(
    r: Reader, node: YamlMap, where: str, inline: InlineBuilder
) -> tuple[tuple[DagTask, ...], ...] | None:
    """The steps body: groups of steps that run in parallel, one group after the other."""
    seq = r.sequence(node, "steps", hint="write `steps:` followed by groups: `- - name: a`")
    if seq is None:
        return None
    if not seq:
        r.diag.error(f"steps of {where} are empty", r.src.key(node, "steps"), hint="add a step")
    groups: list[tuple[DagTask, ...]] = []
    for index, group in enumerate(seq):
        mark = r.src.item(seq, index)
        if not isinstance(group, YamlSeq):
            r.diag.error(
                f"each entry of steps must be a list of parallel steps, not {describe(group)}",
                mark,
                hint="write `- - name: a` (two dashes) for a step in a group of its own",
            )
            continue
        groups.append(tuple(_task(r, item, m, F.STEP, inline)[0] for item, m in r.items(group, "step")))
    return tuple(groups)


def _task(
    r: Reader, node: YamlMap, mark: Mark, fields: F.FieldSet, inline: InlineBuilder
) -> tuple[DagTask, TaskMarks]:
    noun = "task" if fields is F.DAG_TASK else "step"
    name = r.name(node, mark, noun)
    where = f"{noun} '{name}'" if name else noun
    r.fields(node, fields, where)
    template = r.string(node, "template")
    template_mark = r.src.value(node, "template") if "template" in node else mark
    ref = r.template_ref(node, "templateRef", F.TEMPLATE_REF)
    if ref is not None:
        if "template" in node:
            r.diag.error(f"{where} has both template and templateRef", template_mark, hint="use one")
        r.template_refs.append(ref)
        template, template_mark = ref.local_name, ref.mark
    body = r.mapping(node, "inline")
    if body is not None:
        others = [k for k in ("template", "templateRef") if k in node]
        if others:
            r.diag.error(
                f"{where} has both {others[0]} and inline", r.src.key(node, "inline"), hint="use one"
            )
        template_mark = r.src.key(node, "inline")
        template = inline(body, template_mark, name)
    if node.get("template") is None and not any(k in node for k in ("templateRef", "inline")):
        r.diag.error(f"{where} has no template", mark, hint="add `template: <name of a template>`")
    dependencies, dependency_marks = _dependencies(r, node)
    depends = r.string(node, "depends")
    depends_locator = None
    if depends is not None:
        depends_locator = r.src.locator(r.src.value(node, "depends"), depends)
        if "dependencies" in node:
            marks = {k: r.src.key(node, k) for k in ("depends", "dependencies")}
            second = max(marks, key=lambda k: (marks[k].line, marks[k].col))
            r.diag.error(
                f"{where} has both depends and dependencies",
                r.src.key(node, second),
                hint="use one of depends or dependencies",
            )
    with_items, sequence = _fan_out(r, node, where)
    r.current_task = name
    r.item_allowed = with_items is not None or sequence is not None or node.get("withParam") is not None
    arguments = build_io.io(r, node, "arguments", F.ARGUMENTS, where, None)
    when = r.text(node, "when", "when", SiteKind.WHEN)
    r.item_allowed = False
    with_param = r.text(node, "withParam", "withParam", SiteKind.WITH_PARAM)
    r.current_task = None
    task = DagTask(
        name=name,
        template=template or "",
        dependencies=dependencies,
        depends=depends,
        arguments=arguments,
        when=when,
        with_items=with_items,
        with_param=with_param,
        with_sequence=sequence,
        continue_on=_continue_on(r, node),
        mark=mark,
        template_mark=template_mark,
        hooks=build_hooks.task_hooks(r, node, where),
    )
    return task, TaskMarks(dependency_marks, depends_locator)


def _dependencies(r: Reader, node: YamlMap) -> tuple[tuple[str, ...], tuple[Mark, ...]]:
    raw = node.get("dependencies")
    if isinstance(raw, str):
        r.wrong_type(node, "dependencies", "a list of task names", f"write `dependencies: [{raw}]`")
        return (), ()
    seq = r.sequence(node, "dependencies")
    names: list[str] = []
    marks: list[Mark] = []
    for index, item in enumerate(seq or ()):
        mark = r.src.item(seq, index) if seq is not None else r.src.node(node)
        if not isinstance(item, str):
            r.diag.error(f"each dependency must be a task name, not {describe(item)}", mark)
            continue
        names.append(str(item))
        marks.append(mark)
    return tuple(names), tuple(marks)


def _fan_out(r: Reader, node: YamlMap, where: str) -> tuple[tuple[Any, ...] | None, Sequence | None]:
    present = [k for k in ("withItems", "withParam", "withSequence") if node.get(k) is not None]
    if len(present) > 1:
        r.diag.error(
            f"{where} has more than one of withItems, withParam, withSequence",
            r.src.key(node, present[1]),
            hint="use one of them",
        )
    items: tuple[Any, ...] | None = None
    seq = r.sequence(node, "withItems")
    if seq is not None:
        too_many = FAN_OUT_ITEMS.problem(len(seq), "withItems")
        if too_many is not None:
            r.diag.error(too_many, r.src.value(node, "withItems"))
        items = tuple(plain(item) for item in seq)
    sequence = None
    body = r.mapping(node, "withSequence")
    if body is not None:
        sequence = _sequence_of(r, body, r.src.key(node, "withSequence"))
    return items, sequence


def _sequence_of(r: Reader, node: YamlMap, mark: Mark) -> Sequence:
    r.fields(node, F.SEQUENCE)
    values: dict[str, str | None] = {}
    for key in ("count", "start", "end"):
        raw = node.get(key)
        if raw is not None and (not is_scalar(raw) or isinstance(raw, bool)):
            r.wrong_type(node, key, "a number")
            raw = None
        values[key] = argo_string(raw)
    if values["count"] is not None and values["end"] is not None:
        r.diag.error("withSequence has both count and end", mark, hint="use count, or start and end")
    if values["count"] is None and values["end"] is None:
        r.diag.error(
            "withSequence needs count or end", mark, hint="add `count: 5` or `start: 1` and `end: 5`"
        )
    _check_size(r, node, values)
    fmt = r.string(node, "format")
    problem = format_problem(fmt) if fmt is not None else None
    if problem is not None:
        r.diag.error(f"invalid withSequence format: {problem}", r.src.value(node, "format"), hint=FORMAT_HINT)
    return Sequence(count=values["count"], start=values["start"], end=values["end"], format=fmt, mark=mark)


def _check_size(r: Reader, node: YamlMap, values: dict[str, str | None]) -> None:
    """A sequence written with literal numbers is held to :data:`~kjob.limits.FAN_OUT_ITEMS` here, so
    that lint finds it; one with rendered numbers is checked by the engine before any item is made."""
    numbers: dict[str, int | None] = {}
    for key, text in values.items():
        digits = WHOLE_NUMBER.fullmatch(text or "")
        numbers[key] = None
        if digits is None:
            continue
        if len(digits.group(1)) > MAX_DIGITS:
            r.diag.error(
                f"withSequence {key} has {len(digits.group(1)):,} digits, more than any number kjob reads",
                r.src.value(node, key),
            )
            return
        numbers[key] = int(digits.group(1))
    count, start, end = numbers["count"], numbers["start"], numbers["end"]
    if count is not None:
        size, key = count, "count"
    elif end is not None and (start is not None or values["start"] is None):
        size, key = abs(end - (start or 0)) + 1, "end"
    else:
        return
    too_many = FAN_OUT_ITEMS.problem(size, "withSequence")
    if too_many is not None:
        r.diag.error(too_many, r.src.value(node, key))


def _continue_on(r: Reader, node: YamlMap) -> ContinueOn:
    body = r.mapping(node, "continueOn")
    if body is None:
        return ContinueOn()
    r.fields(body, F.CONTINUE_ON)
    return ContinueOn(failed=bool(r.boolean(body, "failed")), error=bool(r.boolean(body, "error")))
