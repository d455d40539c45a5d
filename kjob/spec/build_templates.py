"""Building the templates of a workflow: name, body kind, inputs and outputs, retry and timeouts.

Each template becomes a :class:`LoadedTemplate`: the model object plus the reference texts read while
building it and, for a dag, the marks of each task's dependencies.  The body itself is built by
:mod:`kjob.spec.build_container` (container, script) or :mod:`kjob.spec.build_tasks` (dag, steps).
"""

from __future__ import annotations

from kjob.spec import (
    build_container,
    build_inprocess,
    build_io,
    build_metrics,
    build_pod,
    build_resource,
    build_tasks,
)
from kjob.spec import fields as F
from kjob.spec.build_sync import memoize, synchronization
from kjob.spec.loaded import LoadedTemplate, Locator, SiteKind, TaskMarks
from kjob.spec.model import (
    Backoff,
    Container,
    Dag,
    DagTask,
    Mark,
    Resource,
    RetryPolicy,
    RetryStrategy,
    Template,
    TemplateKind,
    frozen_map,
)
from kjob.spec.reader import Reader
from kjob.spec.values import argo_string, describe, plain
from kjob.spec.yamlnodes import YamlMap


def templates(r: Reader, spec: YamlMap, spec_mark: Mark, what: str) -> list[LoadedTemplate]:
    """Every template of the spec in file order, duplicates included (validation reports those)."""
    seq = r.sequence(spec, "templates", hint="write `templates:` followed by `- name: ...` entries")
    if seq is None:
        return []
    outer = r.take_sites()  # workflow-level texts read so far
    inline: list[LoadedTemplate] = []
    loaded = [_template(r, node, mark, inline) for node, mark in r.items(seq, "template")]
    r.sites = outer
    return loaded + inline


def inline_name(parent: str, task: str) -> str:
    """The name an inline template of task ``task`` of template ``parent`` gets: '/' is in no template's
    own name, so it cannot clash."""
    return f"{parent}/{task}"


def _template(
    r: Reader, node: YamlMap, mark: Mark, inline: list[LoadedTemplate], given: str | None = None
) -> LoadedTemplate:
    """One template; the inline templates of its tasks go to ``inline``.  ``given``: the name of an
    inline template (its own ``name``, if any, is not used, as in Argo)."""
    name = r.name(node, mark, "template") if given is None else given
    where = f"template '{name}'" if name else "template"

    def build_inline(body: YamlMap, body_mark: Mark, task: str) -> str:
        child = inline_name(name, task)
        outer, task_now, item_now = r.take_sites(), r.current_task, r.item_allowed
        r.current_task, r.item_allowed = None, False
        inline.append(_template(r, body, body_mark, inline, child))
        r.sites, r.current_task, r.item_allowed = outer, task_now, item_now
        return child

    r.fields(node, F.TEMPLATE, where)
    present = [key for key in map(str, node) if key in F.TEMPLATE_BODIES and node[key] is not None]
    kind = _body_kind(r, node, present, name, mark)
    inputs = build_io.io(r, node, "inputs", F.INPUTS, where, kind)
    outputs = build_io.io(r, node, "outputs", F.OUTPUTS, where, kind)
    container: Container | None = None
    resource: Resource | None = None
    dag: Dag | None = None
    steps: tuple[tuple[DagTask, ...], ...] | None = None
    task_marks: list[TaskMarks] = []
    target: Locator | None = None
    container_set = build_pod.container_set(r, node, where) if kind is TemplateKind.CONTAINER_SET else None
    if kind in (TemplateKind.CONTAINER, TemplateKind.SCRIPT):
        container = build_container.container(r, node, kind, where)
    elif container_set is not None:
        container = container_set.main
    elif kind is TemplateKind.DAG:
        dag, target = build_tasks.dag(r, node, where, task_marks, build_inline)
    elif kind is TemplateKind.STEPS:
        steps = build_tasks.steps(r, node, where, build_inline)
    elif kind is TemplateKind.RESOURCE:
        resource = build_resource.resource(r, node, where)
    build_resource.check_outputs(r, kind, outputs, where)
    http = build_inprocess.http(r, node, where) if kind is TemplateKind.HTTP else None
    suspend = build_inprocess.suspend(r, node, where) if kind is TemplateKind.SUSPEND else None
    retry = _retry(r, node)
    pod = build_pod.parts(r, node, where, kind, container_set)
    pod_extra = {
        F.TEMPLATE_POD_RENAMES.get(key, key): plain(node[key])
        for key in map(str, node)
        if key in F.TEMPLATE.passthrough
    }
    template = Template(
        synchronization=synchronization(r, node, where),
        memoize=memoize(r, node, where),
        name=name,
        kind=kind or TemplateKind.CONTAINER,
        dag=dag,
        steps=steps,
        container=container,
        resource=resource,
        http=http,
        suspend=suspend,
        inputs=inputs,
        outputs=outputs,
        retry_strategy=retry,
        active_deadline_seconds=_deadline(r, node, "activeDeadlineSeconds"),
        timeout=_deadline(r, node, "timeout"),
        parallelism=r.integer(node, "parallelism", minimum=1),
        deadline_texts=tuple(_deadline_texts(r, node)),
        fail_fast=bool(r.boolean(node, "failFast")),
        annotations=r.string_map(node, "annotations"),
        pod_extra=frozen_map(pod_extra),
        pod_marks=frozen_map(
            {
                F.TEMPLATE_POD_RENAMES.get(k, k): r.src.key(node, k)
                for k in map(str, node)
                if k in F.TEMPLATE.passthrough
            }
        ),
        mark=mark,
        daemon=_daemon(r, node, kind, where),
        init_containers=pod.init_containers,
        sidecars=pod.sidecars,
        container_set=container_set,
        pod_spec_patch=pod.pod_spec_patch,
        metrics=build_metrics.metrics(r, node, where),
    )
    return LoadedTemplate(template, tuple(r.take_sites()), tuple(task_marks), target)


def _deadline(r: Reader, node: YamlMap, key: str) -> float | None:
    """A literal ``timeout``/``activeDeadlineSeconds``; a templated one is read by
    :func:`_deadline_texts`."""
    value = node.get(key)
    if isinstance(value, str) and ("{{" in value or "<<" in value):
        return None
    return r.duration(node, key, positive=True)


def _deadline_texts(r: Reader, node: YamlMap) -> list[str]:
    """The templated ``timeout``/``activeDeadlineSeconds`` (Argo renders them as the node starts)."""
    texts = []
    for key in ("activeDeadlineSeconds", "timeout"):
        value = node.get(key)
        if isinstance(value, str) and ("{{" in value or "<<" in value):
            r.text(node, key, key)
            texts.append(str(value))
    return texts


def _body_kind(r: Reader, node: YamlMap, present: list[str], name: str, mark: Mark) -> TemplateKind | None:
    label = f"template '{name}'" if name else "template"
    if len(present) > 1:
        r.diag.error(
            f"{label} has both {present[0]} and {present[1]}",
            r.src.key(node, present[1]),
            hint="a template has exactly one of container, script, dag, steps: split it in two",
        )
    if present:
        return TemplateKind(present[0])
    unsupported = [key for key in map(str, node) if key in F.UNSUPPORTED_BODIES]
    if unsupported:
        if r.diag.lenient:  # the field itself became a warning, but there is nothing to run
            r.diag.error(
                f"{label} has no body kjob can run ('{unsupported[0]}' is not supported yet)",
                mark,
                hint="add one of container, script, dag, steps",
            )
        return None
    r.diag.error(f"{label} has no body: add one of container, script, dag, steps", mark)
    return None


def _retry(r: Reader, node: YamlMap) -> RetryStrategy | None:
    retry = r.mapping(node, "retryStrategy")
    if retry is None:
        return None
    mark = r.src.key(node, "retryStrategy")
    r.fields(retry, F.RETRY_STRATEGY)
    limit = r.integer(retry, "limit", strings=True)
    policy = RetryPolicy.ON_FAILURE
    name = r.string(retry, "retryPolicy")
    if name is not None:
        choices = [p.value for p in RetryPolicy]
        if name in choices:
            policy = RetryPolicy(name)
        else:
            r.diag.error(
                f"unknown retryPolicy '{name}'",
                r.src.value(retry, "retryPolicy"),
                hint=f"use one of: {', '.join(choices)}",
            )
    backoff: Backoff | None = None
    backoff_node = r.mapping(retry, "backoff")
    if backoff_node is not None:
        backoff = _backoff(r, backoff_node)
    expression = r.text(retry, "expression", "retryStrategy.expression", SiteKind.RETRY_EXPRESSION)
    return RetryStrategy(limit=limit, policy=policy, backoff=backoff, mark=mark, expression=expression)


def _backoff(r: Reader, node: YamlMap) -> Backoff:
    r.fields(node, F.BACKOFF)
    factor = 1.0
    raw = node.get("factor")
    if raw is not None:
        mark = r.src.value(node, "factor")
        number: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = float(raw)
        elif isinstance(raw, str):
            try:
                number = float(raw)
            except ValueError:
                number = None
        if number is None:
            r.diag.error(f"'factor' must be a number, not {describe(raw)}", mark)
        elif number <= 0:
            r.diag.error(f"'factor' must be more than zero, not {argo_string(raw)}", mark)
        else:
            factor = number
    return Backoff(
        duration=r.duration(node, "duration") or 0.0,
        factor=factor,
        max_duration=r.duration(node, "maxDuration"),
        cap=r.duration(node, "cap"),
    )


def _daemon(r: Reader, node: YamlMap, kind: TemplateKind | None, where: str) -> bool:
    """``daemon: true``, allowed on a container or script template (a pod that keeps running)."""
    daemon = bool(r.boolean(node, "daemon"))
    if daemon and kind not in (TemplateKind.CONTAINER, TemplateKind.SCRIPT, None):
        r.diag.error(
            f"{where} is a {kind.value} template; only a container or script template can be a daemon",
            r.src.key(node, "daemon"),
            hint="put `daemon: true` on the container or script template it runs",
        )
        return False
    return daemon
