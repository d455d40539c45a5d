"""``kjob plan --check-quota``: will each level of the plan fit the namespace's ResourceQuotas and
LimitRanges?  Pure planning: the objects come in as plain data (from a file or the cluster), the
verdict goes out as lines; nothing here talks to a cluster.

What is counted, as the API server's admission does it:

* **LimitRange** (``type: Container``): a container without a request or limit gets the range's
  ``defaultRequest``/``default`` (a request left unset with a limit set equals the limit, as pod
  defaulting does); ``min``, ``max`` and ``maxLimitRequestRatio`` refuse a container outside them, and
  ``type: Pod`` the pod's sums.
* **ResourceQuota**: ``hard`` minus ``used``, for pods matching its scopes (``Terminating``,
  ``NotTerminating``, ``BestEffort``, ``NotBestEffort``, ``PriorityClass``): ``pods``/``count/pods``,
  ``requests.*`` (and bare ``cpu``, ``memory``, ``ephemeral-storage``) and ``limits.*``; a quota on cpu
  or memory refuses a pod whose container does not say it.  ``count/jobs.batch`` counts every Job the
  run has created so far (a run keeps its Jobs), one per task and per fan-out item.
* A level runs all its pods at once unless ``parallelism`` (the workflow's, or the DAG template's for
  its tasks) allows fewer: then the largest that many are counted.  A nested DAG or steps template
  counts as its own largest level.  Levels are not barriers in a run (a task starts when its own
  dependencies end), so each level is a lower bound on what may run together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kjob.graph import Graph, task_graph
from kjob.plan import plan_edges, plan_names
from kjob.quantity import human, parse_quantity
from kjob.spec.model import Template, TemplateKind, Workflow

Amounts = dict[str, Fraction]
COMPUTE = ("cpu", "memory", "ephemeral-storage")
SPECIFIED = {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"}


# ------------------------------------------------------------------------------- the objects
@dataclass(frozen=True, slots=True)
class RangeItem:
    """One ``spec.limits[]`` entry of a LimitRange, defaults filled in as the API server does."""

    kind: str  # Container | Pod | PersistentVolumeClaim
    default: Amounts = field(default_factory=dict)
    default_request: Amounts = field(default_factory=dict)
    min: Amounts = field(default_factory=dict)
    max: Amounts = field(default_factory=dict)
    ratio: Amounts = field(default_factory=dict)  # maxLimitRequestRatio


@dataclass(frozen=True, slots=True)
class LimitRange:
    name: str
    items: tuple[RangeItem, ...]


@dataclass(frozen=True, slots=True)
class ScopeRule:
    scope: str
    operator: str = "Exists"  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceQuota:
    name: str
    hard: Amounts
    used: Amounts
    scopes: tuple[ScopeRule, ...] = ()

    def left(self, key: str) -> Fraction:
        return self.hard[key] - self.used.get(key, Fraction(0))


@dataclass(frozen=True, slots=True)
class Limits:
    """A namespace's ResourceQuotas and LimitRanges."""

    quotas: tuple[ResourceQuota, ...] = ()
    ranges: tuple[LimitRange, ...] = ()


class QuotaObjectError(ValueError):
    """A quota object that is not what Kubernetes accepts; ``path`` is where in it (keys, indexes)."""

    def __init__(self, message: str, path: Sequence[str | int]) -> None:
        super().__init__(message)
        self.path = tuple(path)


def read_objects(objects: Iterable[tuple[Sequence[str | int], Any]]) -> Limits:
    """The ResourceQuotas and LimitRanges among ``objects`` (each with its path in the source);
    ``v1`` Lists are opened, other kinds are skipped.  Raises :class:`QuotaObjectError`."""
    quotas: list[ResourceQuota] = []
    ranges: list[LimitRange] = []
    pending = list(objects)
    while pending:
        path, obj = pending.pop(0)
        if obj is None:
            continue
        if not isinstance(obj, Mapping):
            raise QuotaObjectError("expected a Kubernetes object (a mapping with kind)", path)
        kind = obj.get("kind")
        if kind == "List" or (isinstance(kind, str) and kind.endswith("List")):
            items = obj.get("items") or []
            if not isinstance(items, list):
                raise QuotaObjectError("items must be a list", [*path, "items"])
            pending[:0] = [([*path, "items", i], item) for i, item in enumerate(items)]
        elif kind == "ResourceQuota":
            quotas.append(_quota(obj, path))
        elif kind == "LimitRange":
            ranges.append(_range(obj, path))
    return Limits(tuple(quotas), tuple(ranges))


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name") or "?") if isinstance(meta, Mapping) else "?"


def _amounts(value: Any, path: Sequence[str | int]) -> Amounts:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise QuotaObjectError("expected a map of resource names to quantities", path)
    out: Amounts = {}
    for key, text in value.items():
        try:
            out[str(key)] = parse_quantity(text)
        except ValueError:
            raise QuotaObjectError(
                f"{key}: '{text}' is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)", [*path, key]
            ) from None
    return out


def _section(obj: Mapping[str, Any], key: str, path: Sequence[str | int]) -> Mapping[str, Any]:
    value = obj.get(key) or {}
    if not isinstance(value, Mapping):
        raise QuotaObjectError(f"{key} must be a mapping", [*path, key])
    return value


def _quota(obj: Mapping[str, Any], path: Sequence[str | int]) -> ResourceQuota:
    spec = _section(obj, "spec", path)
    status = _section(obj, "status", path)
    scopes = [ScopeRule(str(s)) for s in spec.get("scopes") or []]
    selector = spec.get("scopeSelector") or {}
    for i, rule in enumerate(selector.get("matchExpressions") or [] if isinstance(selector, Mapping) else []):
        if not isinstance(rule, Mapping) or "scopeName" not in rule:
            raise QuotaObjectError(
                "a scopeSelector expression needs scopeName and operator",
                [*path, "spec", "scopeSelector", "matchExpressions", i],
            )
        values = tuple(str(v) for v in rule.get("values") or [])
        scopes.append(ScopeRule(str(rule["scopeName"]), str(rule.get("operator") or "Exists"), values))
    return ResourceQuota(
        _name(obj),
        _amounts(spec.get("hard"), [*path, "spec", "hard"]),
        _amounts(status.get("used"), [*path, "status", "used"]),
        tuple(scopes),
    )


def _range(obj: Mapping[str, Any], path: Sequence[str | int]) -> LimitRange:
    spec = _section(obj, "spec", path)
    items = []
    for i, entry in enumerate(spec.get("limits") or []):
        where = [*path, "spec", "limits", i]
        if not isinstance(entry, Mapping):
            raise QuotaObjectError("a LimitRange limit must be a mapping", where)
        kind = str(entry.get("type") or "")
        if kind not in ("Container", "Pod", "PersistentVolumeClaim"):
            raise QuotaObjectError(
                f"type '{kind}' is not one of Container, Pod, PersistentVolumeClaim", [*where, "type"]
            )
        part = {k: _amounts(entry.get(k), [*where, k]) for k in _RANGE_KEYS}
        if kind == "Container":  # the API server's defaulting of a LimitRange
            for key, value in part["max"].items():
                part["default"].setdefault(key, value)
            for key, value in part["default"].items():
                part["defaultRequest"].setdefault(key, value)
            for key, value in part["min"].items():
                part["defaultRequest"].setdefault(key, value)
        items.append(
            RangeItem(
                kind,
                part["default"],
                part["defaultRequest"],
                part["min"],
                part["max"],
                part["maxLimitRequestRatio"],
            )
        )
    return LimitRange(_name(obj), tuple(items))


_RANGE_KEYS = ("default", "defaultRequest", "min", "max", "maxLimitRequestRatio")


# ------------------------------------------------------------------------------- the pods
@dataclass(frozen=True, slots=True)
class Pod:
    """One task's pod as admission sees it (LimitRange defaults applied), and what it cannot be."""

    task: str
    requests: Amounts
    limits: Amounts
    unset: frozenset[str]  # cpu/memory requests or limits no container states (quota needs them)
    terminating: bool
    priority_class: str
    refusals: tuple[str, ...] = ()  # LimitRange violations: the pod is never admitted


@dataclass(frozen=True, slots=True)
class Unit:
    """What one task of a level adds at its peak: its pods (several for a nested template)."""

    task: str
    pods: tuple[Pod, ...]
    jobs: int  # Jobs created for it in all


@dataclass
class Level:
    index: int
    units: list[Unit]
    parallelism: int | None
    jobs_before: int  # Jobs earlier levels created


@dataclass
class Verdict:
    """The check's result: one line per finding, ``fits`` when nothing will be refused."""

    lines: list[str]
    assumptions: list[str]
    fits: bool


def _apply_ranges(
    task: str, resources: tuple[Mapping[str, str], Mapping[str, str]], ranges: Sequence[LimitRange]
) -> tuple[Amounts, Amounts, list[str], list[str]]:
    """A container's requests and limits after the LimitRanger; its violations; quantities unknown
    before run time."""
    unknown: list[str] = []
    raw: list[Amounts] = []
    for kind, given in zip(("requests", "limits"), resources, strict=True):
        amounts: Amounts = {}
        for key, text in given.items():
            try:
                amounts[key] = parse_quantity(text)
            except ValueError:
                unknown.append(f"{task}: {kind}.{key} '{text}' is known only at run time (taken as unset)")
        raw.append(amounts)
    requests, limits = raw
    for key, value in limits.items():
        requests.setdefault(key, value)  # pod defaulting, before admission
    refusals: list[str] = []
    for lr in ranges:
        for item in lr.items:
            if item.kind != "Container":
                continue
            for key, value in item.default.items():
                limits.setdefault(key, value)
            for key, value in item.default_request.items():
                requests.setdefault(key, value)
    for lr in ranges:
        for item in lr.items:
            if item.kind == "Container":
                refusals += _range_breaks(f"limitrange/{lr.name}", "Container", item, requests, limits)
    for key in set(requests) & set(limits):
        if requests[key] > limits[key]:
            refusals.append(
                f"{key} request {human(key, requests[key])} is above its limit {human(key, limits[key])}"
            )
    return requests, limits, refusals, unknown


def _range_breaks(where: str, kind: str, item: RangeItem, requests: Amounts, limits: Amounts) -> list[str]:
    out = []
    for key, low in sorted(item.min.items()):
        for what, amounts in (("request", requests), ("limit", limits)):
            if key in amounts and amounts[key] < low:
                out.append(
                    f"{where}: {key} {what} {human(key, amounts[key])} is below the minimum "
                    f"{human(key, low)} per {kind}"
                )
            elif key not in amounts and what == "request":
                out.append(f"{where}: no {key} request, and the minimum per {kind} is {human(key, low)}")
    for key, high in sorted(item.max.items()):
        if key not in limits:
            out.append(f"{where}: no {key} limit, and the maximum per {kind} is {human(key, high)}")
        elif limits[key] > high:
            out.append(
                f"{where}: {key} limit {human(key, limits[key])} is above the maximum "
                f"{human(key, high)} per {kind}"
            )
    for key, ratio in sorted(item.ratio.items()):
        if key in limits and requests.get(key) and limits[key] / requests[key] > ratio:
            out.append(f"{where}: {key} limit/request ratio above {float(ratio):g}")
    return out


def _pod(workflow: Workflow, template: Template, task: str, limits: Limits, notes: list[str]) -> Pod:
    assert template.container is not None
    res = template.container.resources
    requests, lims, refusals, unknown = _apply_ranges(task, (res.requests, res.limits), limits.ranges)
    notes += unknown
    for lr in limits.ranges:
        for item in lr.items:
            if item.kind == "Pod":
                refusals += _range_breaks(f"limitrange/{lr.name}", "Pod", item, requests, lims)
    unset = frozenset(
        k
        for k in SPECIFIED
        if (requests if not k.startswith("limits.") else lims).get(k.split(".")[-1]) is None
    )
    pod_extra = {**workflow.pod_extra, **template.pod_extra}
    deadline = template.deadline is not None or "activeDeadlineSeconds" in pod_extra
    return Pod(
        task,
        requests,
        lims,
        unset,
        deadline,
        str(pod_extra.get("priorityClassName") or ""),
        tuple(refusals),
    )


def _units_of(
    workflow: Workflow,
    template: Template,
    task: str,
    width: int,
    limits: Limits,
    notes: list[str],
    depth: int,
) -> list[Unit]:
    """``width`` copies of what the task running ``template`` adds at its peak."""
    if template.kind in (TemplateKind.CONTAINER, TemplateKind.SCRIPT):
        pod = _pod(workflow, template, task, limits, notes)
        return [Unit(task, (pod,), 1) for _ in range(width)]
    if depth > 20:  # a recursive template: its depth is decided at run time
        notes.append(f"{task}: template {template.name} nests itself; counted once")
        return []
    inner = _template_levels(workflow, template, limits, notes, depth + 1)
    jobs = sum(u.jobs for level in inner for u in level.units)
    peak: list[Pod] = []
    for level in inner:
        pods = [p for u in _at_once(level.units, level.parallelism) for p in u.pods]
        if _weight(pods) > _weight(peak):
            peak = pods
    return [Unit(task, tuple(peak), jobs) for _ in range(width)]


def _weight(pods: Sequence[Pod]) -> tuple[int, Fraction, Fraction]:
    return (
        len(pods),
        sum((p.requests.get("cpu", Fraction(0)) for p in pods), Fraction(0)),
        sum((p.requests.get("memory", Fraction(0)) for p in pods), Fraction(0)),
    )


def _template_levels(
    workflow: Workflow, template: Template, limits: Limits, notes: list[str], depth: int
) -> list[Level]:
    tasks, deps = task_graph(template)
    planned = plan_names(list(tasks), deps)
    levels: list[Level] = []
    jobs = 0
    for index, names in enumerate(planned.levels):
        units: list[Unit] = []
        for name in names:
            task = tasks[name]
            width = _width(task, notes)
            units += _units_of(workflow, workflow.templates[task.template], name, width, limits, notes, depth)
        levels.append(Level(index, units, template.parallelism, jobs))
        jobs += sum(u.jobs for u in units)
    return levels


def _width(task: Any, notes: list[str]) -> int:
    from kjob.graph import nodes_of

    nodes = nodes_of(task)
    if any(n.dynamic for n in nodes):
        notes.append(f"{task.name}: {nodes[0].fan_out} items are known only at run time (counted as 1)")
    return len(nodes)


def plan_levels(workflow: Workflow, graph: Graph, limits: Limits) -> tuple[list[Level], list[str]]:
    """The entrypoint's levels as units of pods, and the assumptions made."""
    notes: list[str] = []
    n = len(graph.nodes)
    levels_of = [int(x) for x in plan_edges(n, graph.src, graph.dst).level] if n else []
    count = max(levels_of, default=-1) + 1
    entry = workflow.templates[workflow.entrypoint or ""]
    widths: list[dict[str, int]] = [{} for _ in range(count)]
    for node, level in zip(graph.nodes, levels_of, strict=True):
        widths[level][node.task] = widths[level].get(node.task, 0) + 1
        if node.dynamic:
            notes.append(f"{node.task}: {node.fan_out} items are known only at run time (counted as 1)")
    levels: list[Level] = []
    jobs = 0
    caps = [p for p in (entry.parallelism, workflow.parallelism) if p is not None]
    parallelism = min(caps) if caps else None
    for index, tasks in enumerate(widths):
        units: list[Unit] = []
        for task, width in tasks.items():
            template = workflow.templates[next(nd.template for nd in graph.nodes if nd.task == task)]
            units += _units_of(workflow, template, task, width, limits, notes, 0)
        levels.append(Level(index, units, parallelism, jobs))
        jobs += sum(u.jobs for u in units)
    return levels, sorted(set(notes))


def _at_once(units: Sequence[Unit], parallelism: int | None) -> list[Unit]:
    if parallelism is None or parallelism >= len(units):
        return list(units)
    return sorted(units, key=lambda u: _weight(u.pods), reverse=True)[: max(parallelism, 0)]


# ------------------------------------------------------------------------------- the check
def _matches(quota: ResourceQuota, pod: Pod) -> bool:
    for rule in quota.scopes:
        best_effort = not pod.requests and not pod.limits
        if rule.scope == "Terminating":
            ok = pod.terminating
        elif rule.scope == "NotTerminating":
            ok = not pod.terminating
        elif rule.scope == "BestEffort":
            ok = best_effort
        elif rule.scope == "NotBestEffort":
            ok = not best_effort
        elif rule.scope == "PriorityClass":
            if rule.operator == "Exists":
                ok = bool(pod.priority_class)
            elif rule.operator == "DoesNotExist":
                ok = not pod.priority_class
            elif rule.operator == "In":
                ok = pod.priority_class in rule.values
            else:
                ok = pod.priority_class not in rule.values
        else:
            ok = False  # CrossNamespacePodAffinity: kjob's pods carry no such affinity
        if not ok:
            return False
    return True


def _pod_usage(key: str, pod: Pod) -> Fraction | None:
    """What ``pod`` counts against the quota key ``key``; None when the key is not about pods."""
    if key in ("pods", "count/pods"):
        return Fraction(1)
    if key.startswith("limits."):
        return pod.limits.get(key[len("limits.") :], Fraction(0))
    if key.startswith("requests."):
        return pod.requests.get(key[len("requests.") :], Fraction(0))
    if key in COMPUTE:
        return pod.requests.get(key, Fraction(0))
    return None


def check(levels: Sequence[Level], limits: Limits, assumptions: Sequence[str] = ()) -> Verdict:
    """Each level against every quota, and each task against the LimitRanges."""
    lines: list[str] = []
    fits = True
    refused: set[tuple[str, str]] = set()
    for level in levels:
        for unit in level.units:
            for pod in unit.pods:
                for reason in pod.refusals:
                    if (pod.task, reason) not in refused:
                        refused.add((pod.task, reason))
                        lines.append(f"task {pod.task}: refused: {reason}")
                        fits = False
    for level in levels:
        running = _at_once(level.units, level.parallelism)
        pods = [p for u in running for p in u.pods]
        jobs = level.jobs_before + sum(u.jobs for u in level.units)
        capped = (
            f", {len(running)} of {len(level.units)} tasks at once (parallelism)"
            if len(running) < len(level.units)
            else ""
        )
        problems: list[str] = []
        for quota in limits.quotas:
            problems += _level_against(quota, pods, jobs)
        head = f"level {level.index} ({len(pods)} pod{'' if len(pods) == 1 else 's'}{capped})"
        if problems:
            fits = False
            lines.append(f"{head}: does not fit")
            lines += [f"  {p}" for p in problems]
        else:
            lines.append(f"{head}: fits")
    notes = list(assumptions)
    if any("count/jobs.batch" in q.hard for q in limits.quotas):
        notes.append(
            "count/jobs.batch: one Job per task and per fan-out item, as a waves plan makes them "
            "(kjob run makes one Indexed Job for a fan-out where it can, and one more Job per retry)"
        )
    return Verdict(lines, notes, fits)


def _level_against(quota: ResourceQuota, pods: Sequence[Pod], jobs: int) -> list[str]:
    where = f"resourcequota/{quota.name}"
    problems: list[str] = []
    matching = [p for p in pods if _matches(quota, p)]
    for key in sorted(quota.hard):
        if key == "count/jobs.batch" and not quota.scopes:
            need = Fraction(jobs)
        else:
            values = [v for p in matching if (v := _pod_usage(key, p)) is not None]
            if not values:
                continue
            need = sum(values, Fraction(0))
            if key in SPECIFIED:
                missing = sorted({p.task for p in matching if key in p.unset})
                if missing:
                    problems.append(f"{where}: must specify {key}: {', '.join(missing)} (pods refused)")
        left = quota.left(key)
        if need > left:
            problems.append(
                f"{where}: {key} needs {human(key, need)}, {human(key, max(left, Fraction(0)))} left "
                f"(hard {human(key, quota.hard[key])}, used {human(key, quota.used.get(key, Fraction(0)))}): "
                f"{human(key, need - max(left, Fraction(0)))} short"
            )
    return problems
