"""``kjob plan FILE -o DIR --mode waves``: a static DAG as plain Jobs that a GitOps tool applies in order.

Each task is one ``batch/v1`` Job annotated ``argocd.argoproj.io/sync-wave: "<level>"`` with its level
from the planner, so Argo CD applies a level's Jobs only once every Job of the levels before it is
healthy (a Job is healthy when it is Complete).  With ``--flux`` the same Jobs are grouped one
directory per level, each applied by a Flux ``Kustomization`` that ``dependsOn`` the level before and
``wait``\\ s for its Jobs.

Re-syncing re-runs only what changed:

* A Job's name ends in a hash of its content (everything but the name), so an unchanged task keeps its
  name and stays Complete (in sync: nothing runs), while a changed one is a new object (no error about
  a Job's immutable ``spec.template``).  The run label is the workflow's name, not a run id, so a
  change to one task changes no other task's content.
* Jobs are plain resources, not hooks: Argo CD recreates a hook on every sync, which would re-run
  every task.  ``argocd.argoproj.io/sync-options: PruneLast=true`` removes the Job a changed task
  replaces (with ``prune`` on) only after every wave is healthy.
* No ``ownerReferences``: the run ConfigMap of ``kjob run`` does not exist here (a Job owned by a
  missing object would be garbage-collected); the tool's own tracking takes its place.

A workflow that needs a decision only a run can make is refused here with a located error that
suggests ``--mode driver`` (kjob itself running in the cluster): see :func:`require_static`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from kjob.errors import SpecError, TemplateError, raise_found
from kjob.expr import parse_template
from kjob.render import names
from kjob.render.decisions import run_time_decisions
from kjob.render.kustomize import kustomization, object_text
from kjob.render.manifests import Manifest
from kjob.spec.model import DagTask, Mark, Resource, RetryPolicy, Template, TemplateKind, Workflow

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
PRUNE_LAST = "PruneLast=true"
ANNOTATION_LEVEL = "kjob.dev/level"
HINT_DRIVER = "use `kjob plan FILE -o DIR --mode driver`: kjob runs in the cluster and decides at run time"
FLUX_API = "kustomize.toolkit.fluxcd.io/v1"
_HASH = 10


# --------------------------------------------------------------------------------- refusals
def require_static(workflow: Workflow) -> None:
    """Raise a located error for each thing a waves plan cannot express (one error, or all of them)."""
    raise_found(problems(workflow))


def problems(workflow: Workflow) -> list[SpecError]:
    """What a waves plan cannot express: it is fixed objects applied in order, nothing decides at
    run time."""
    found: list[SpecError] = []
    templates = workflow.templates
    for (template_name, task_name), decisions in sorted(run_time_decisions(workflow).items()):
        task = _task(templates[template_name], task_name)
        for d in decisions:
            what = "a when" if d.field == "when" else d.field
            found.append(
                _error(
                    task.mark,
                    workflow,
                    f"task '{task_name}' has {what} that reads values known only at run time "
                    f"('{d.text}'): a waves plan cannot decide it",
                )
            )
    for template in templates.values():
        for task in _tasks(template):
            for arg in task.arguments.parameters:
                if arg.value is not None and _reads_outputs(arg.value, workflow):
                    found.append(
                        _error(
                            arg.mark if arg.mark.line else task.mark,
                            workflow,
                            f"task '{task.name}' passes parameter '{arg.name}' from another task's "
                            f"outputs ('{arg.value}'): Jobs applied by a GitOps tool cannot pass values",
                        )
                    )
            for art in task.arguments.artifacts:
                if art.from_ is not None:
                    found.append(
                        _error(
                            art.mark if art.mark.line else task.mark,
                            workflow,
                            f"task '{task.name}' takes artifact '{art.name}' from another task: "
                            "a waves plan has no run workspace to pass it through",
                        )
                    )
            if task.depends is not None and _on_failure(task.depends):
                found.append(
                    _error(
                        task.mark,
                        workflow,
                        f"task '{task.name}' runs on another task's failure ('{task.depends}'): "
                        "a GitOps tool stops at a failed wave",
                    )
                )
        if template.daemon:
            found.append(
                _error(
                    template.mark,
                    workflow,
                    f"template '{template.name}' is a daemon: its Job never completes, and a waves plan "
                    "has no kjob to stop it when its dag ends",
                )
            )
        found += _retry_problems(template, workflow)
        found += _resource_problems(template, workflow)
        found += _gate_problems(template, workflow)
        found += _run_time_problems(template, workflow)
    entry = templates.get(workflow.entrypoint or "")
    if entry is not None:
        for task in _tasks(entry):
            inner = templates.get(task.template)
            if inner is not None and inner.kind in (TemplateKind.DAG, TemplateKind.STEPS):
                found.append(
                    _error(
                        task.mark,
                        workflow,
                        f"task '{task.name}' runs the {inner.kind.value} template '{inner.name}': "
                        "a waves plan orders the entrypoint's tasks only",
                    )
                )
    if workflow.synchronization:
        found.append(
            _error(
                workflow.synchronization[0].mark,
                workflow,
                "the workflow has synchronization: a waves plan has no kjob to hold its locks",
            )
        )
    if workflow.volume_claims or workflow.pod_gc is not None or workflow.ttl_strategy is not None:
        what = "volumeClaimTemplates" if workflow.volume_claims else "podGC or ttlStrategy"
        found.append(
            _error(
                workflow.mark,
                workflow,
                f"the workflow has {what}: a waves plan has no kjob to create its claims or collect its "
                "pods and runs",
            )
        )
    if workflow.pod_disruption_budget is not None:
        found.append(
            _error(
                workflow.pod_disruption_budget_mark,
                workflow,
                "the workflow has podDisruptionBudget: a waves plan has no kjob to create and delete it",
            )
        )
    metrics = [*workflow.metrics, *(m for t in workflow.templates.values() for m in t.metrics)]
    if metrics:
        found.append(
            _error(
                metrics[0].mark, workflow, "the workflow has metrics: a waves plan has no kjob to record them"
            )
        )
    if workflow.on_exit is not None:
        found.append(
            _error(
                workflow.mark,
                workflow,
                f"the exit handler '{workflow.on_exit}' runs after a failure too: a GitOps tool stops "
                "at a failed wave",
            )
        )
    return sorted(found, key=lambda e: (e.line or 0, e.col or 0, e.message))


def _gate_problems(template: Template, workflow: Workflow) -> list[SpecError]:
    """Locks and memoize caches need a kjob to take them and look them up as each node starts."""
    found: list[SpecError] = []
    if template.synchronization:
        found.append(
            _error(
                template.synchronization[0].mark,
                workflow,
                f"template '{template.name}' has synchronization: a waves plan has no kjob to hold its locks",
            )
        )
    if template.memoize is not None:
        found.append(
            _error(
                template.memoize.mark,
                workflow,
                f"template '{template.name}' is memoized: a waves plan has no kjob to look its cache up",
            )
        )
    return found


def _retry_problems(template: Template, workflow: Workflow) -> list[SpecError]:
    retry = template.retry_strategy
    if retry is None:
        return []
    mark = retry.mark if retry.mark.line else template.mark
    if retry.limit is None:
        return [
            _error(
                mark,
                workflow,
                f"template '{template.name}' retries without a limit: a Job's backoffLimit needs one",
                hint="set retryStrategy.limit, or " + HINT_DRIVER[0].lower() + HINT_DRIVER[1:],
            )
        ]
    if retry.policy not in (RetryPolicy.ALWAYS, RetryPolicy.ON_FAILURE):
        return [
            _error(
                mark,
                workflow,
                f"template '{template.name}' retries only on {retry.policy.value}: a Job retries "
                "every failed pod",
                hint="use retryPolicy Always or OnFailure, or " + HINT_DRIVER[0].lower() + HINT_DRIVER[1:],
            )
        ]
    return []


def _run_time_problems(template: Template, workflow: Workflow) -> list[SpecError]:
    """What only a kjob watching the run does: http requests, suspends, tasks' lifecycle hooks."""
    found: list[SpecError] = []
    body = template.http or template.suspend
    if body is not None:
        what = "an http request" if template.http is not None else "a suspend"
        mark = body.mark if body.mark.line else template.mark
        why = f"template '{template.name}' is {what}, which only a kjob running the workflow does"
        found.append(_error(mark, workflow, why))
    for task in _tasks(template):
        for hook in task.hooks:
            found.append(
                _error(
                    hook.mark if hook.mark.line else task.mark,
                    workflow,
                    f"task '{task.name}' has a hook '{hook.name}': a GitOps tool runs no hooks",
                )
            )
    return found


def _resource_problems(template: Template, workflow: Workflow) -> list[SpecError]:
    """A resource template is its object in a waves plan (what Argo CD applies) only when it is a
    create or apply of one named object that nothing waits on or reads back."""
    resource = template.resource
    if resource is None:
        return []
    why = ""
    if resource.action not in ("create", "apply"):
        why = f"a {resource.action} is an action, not an object a GitOps tool applies"
    elif template.outputs.parameters:
        why = "its outputs are read from the object at run time"
    elif resource.success_condition or resource.failure_condition:
        why = "its success/failure condition is checked at run time"
    elif resource.set_owner_reference:
        why = "setOwnerReference needs the run's ConfigMap, which a waves plan has not"
    elif resource.flags:
        why = "its flags are kubectl options a GitOps tool does not pass"
    else:
        obj = resource_object(resource)
        meta = obj.get("metadata") if obj is not None else None
        if not isinstance(meta, dict) or not meta.get("name"):
            why = "its manifest is not one object with a metadata.name (no tool applies a generateName)"
    if not why:
        return []
    mark = resource.mark if resource.mark.line else template.mark
    return [_error(mark, workflow, f"resource template '{template.name}' cannot be a wave's object: {why}")]


def resource_object(resource: Resource) -> dict[str, Any] | None:
    """The object a create or apply sends (its manifest parsed), or ``None`` for any other action or
    a manifest that is not one object."""
    if resource.action not in ("create", "apply"):
        return None
    try:
        documents = [d for d in yaml.safe_load_all(resource.manifest) if d is not None]
    except yaml.YAMLError:
        return None
    return documents[0] if len(documents) == 1 and isinstance(documents[0], dict) else None


def _error(mark: Mark, workflow: Workflow, message: str, *, hint: str = HINT_DRIVER) -> SpecError:
    where = mark if mark.line else workflow.mark
    return SpecError(message, path=where.path, line=where.line, col=where.col, hint=hint)


def _tasks(template: Template) -> list[DagTask]:
    if template.dag is not None:
        return list(template.dag.tasks)
    return [step for group in template.steps or () for step in group]


def _task(template: Template, name: str) -> DagTask:
    return next(t for t in _tasks(template) if t.name == name)


def _reads_outputs(text: str, workflow: Workflow) -> bool:
    try:
        refs = parse_template(text, argo_braces=workflow.api_version.startswith("argoproj.io/")).refs
    except TemplateError:
        return False  # malformed: lint and the dry run report it
    for ref in refs:
        parts = ref.path.split(".")
        if parts[0] in ("tasks", "steps") and len(parts) >= 3:
            return True
    return False


def _on_failure(depends: str) -> bool:
    return any(word in depends for word in (".Failed", ".Errored", ".AnyFailed", ".AllFailed", ".Omitted"))


# ------------------------------------------------------------------------------------ plan
@dataclass(frozen=True, slots=True)
class WaveJob:
    """A task's Job as ``kjob run`` renders it, with the entrypoint task it belongs to."""

    task: str
    template: str
    manifest: Manifest
    scripts_from: str  # the ConfigMap its scripts are mounted from (the run's, in ``kjob run``)


@dataclass(frozen=True, slots=True)
class Options:
    namespace: str
    ttl_seconds_after_finished: int | None = None
    flux: bool = False
    flux_path: str = "."
    flux_source: tuple[str, str] = ("GitRepository", "flux-system")
    flux_namespace: str = "flux-system"
    flux_interval: str = "10m"


@dataclass(frozen=True, slots=True)
class WavesPlan:
    files: dict[str, str]  # relative path -> text, byte-identical for the same input
    warnings: list[str]
    levels: int


def waves_plan(
    workflow: Workflow,
    jobs: Sequence[WaveJob],
    levels: Mapping[str, int],
    scripts: Manifest | None,
    options: Options,
) -> WavesPlan:
    """The plan's files: one per object and the ``kustomization.yaml`` (one per level too with flux).

    ``jobs`` come from the dry run (one Job per task attempt, fan-outs one Job per item), ``levels``
    from the planner by entrypoint task, ``scripts`` is the ConfigMap the Jobs mount scripts from."""
    warnings: list[str] = []
    if workflow.cron is not None:
        warnings.append(
            f"{workflow.kind} {workflow.display_name}: a waves plan runs the workflow once, when it is "
            "synced, and has no schedule; --mode driver makes it a CronJob"
        )
    if options.ttl_seconds_after_finished is not None:
        warnings.append(
            f"ttlSecondsAfterFinished {options.ttl_seconds_after_finished}: the TTL controller deletes "
            "each finished Job, and Argo CD or Flux then sees it missing and creates it again, so the "
            "task runs again on every sync; leave it out of a GitOps plan"
        )
    for template in sorted({j.template for j in jobs}):
        retry = workflow.templates[template].retry_strategy
        if retry is not None and retry.backoff is not None:
            warnings.append(
                f"template '{template}': retried as the Job's backoffLimit {retry.limit}, after the "
                "Job controller's delays (10 s doubling, at most 6 min), not retryStrategy.backoff"
            )
    by_level: dict[int, list[tuple[str, Manifest]]] = {}
    for job in jobs:
        level = levels[job.task]
        manifest = _wave_job(workflow, job, level, options)
        file = f"{str(manifest.get('kind', 'job')).lower()}-{manifest['metadata']['name']}.yaml"
        by_level.setdefault(level, []).append((file, manifest))
    files: dict[str, str] = {}
    count = max(by_level, default=-1) + 1
    width = max(2, len(str(count - 1)))
    if scripts is not None:
        scripts = _setup(workflow, scripts, options)
    if not options.flux:
        listed: list[str] = []
        if scripts is not None:
            listed.append(f"configmap-{scripts['metadata']['name']}.yaml")
            files[listed[-1]] = object_text(scripts)
        for level in sorted(by_level):
            for file, manifest in sorted(by_level[level], key=lambda x: x[0]):
                path = f"{level:0{width}d}-{file}"
                files[path] = object_text(manifest)
                listed.append(path)
        files["kustomization.yaml"] = kustomization(listed)
        return WavesPlan(files, warnings, count)
    parents: list[str] = []
    for level in range(count):
        folder = f"wave-{level:0{width}d}"
        listed = []
        if level == 0 and scripts is not None:
            listed.append(f"configmap-{scripts['metadata']['name']}.yaml")
            files[f"{folder}/{listed[-1]}"] = object_text(scripts)
        for file, manifest in sorted(by_level.get(level, []), key=lambda x: x[0]):
            files[f"{folder}/{file}"] = object_text(manifest)
            listed.append(file)
        files[f"{folder}/kustomization.yaml"] = kustomization(listed)
        flux = _fluxkustomization(workflow, level, width, folder, options)
        parents.append(f"flux-{folder}.yaml")
        files[parents[-1]] = object_text(flux)
    files["kustomization.yaml"] = kustomization(parents)
    return WavesPlan(files, warnings, count)


def _wave_job(workflow: Workflow, job: WaveJob, level: int, options: Options) -> Manifest:
    manifest: dict[str, Any] = json.loads(json.dumps(job.manifest))  # a deep copy, plain data
    if workflow.templates[job.template].resource is not None:
        return _wave_object(manifest, level)
    meta = manifest["metadata"]
    meta.pop("ownerReferences", None)
    meta["namespace"] = options.namespace
    meta["annotations"] = {
        **meta.get("annotations", {}),
        SYNC_WAVE: str(level),
        SYNC_OPTIONS: PRUNE_LAST,
        ANNOTATION_LEVEL: str(level),
    }
    meta["annotations"].pop(names.ANNOTATION_TTL, None)
    retry = workflow.templates[job.template].retry_strategy
    spec = manifest["spec"]
    if retry is not None and retry.limit is not None and "backoffLimit" in spec:
        spec["backoffLimit"] = retry.limit
    if options.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = options.ttl_seconds_after_finished
    for volume in spec["template"]["spec"].get("volumes", []):
        if volume.get("configMap", {}).get("name") == job.scripts_from:
            volume["configMap"]["name"] = scripts_name(workflow)
    meta.pop("name", None)
    digest = content_hash(manifest)
    node = str(meta["annotations"].get(names.ANNOTATION_NODE_ID, job.task))
    meta["name"] = names.slug(f"{workflow.display_name}-{node}", 63 - _HASH - 1) + "-" + digest
    return manifest


def _wave_object(manifest: dict[str, Any], level: int) -> Manifest:
    """A resource template's object in its wave: as the manifest says (its own name and namespace,
    the run's namespace if it names none), with the wave's annotations."""
    meta = manifest.setdefault("metadata", {})
    meta["annotations"] = {**meta.get("annotations", {}), SYNC_WAVE: str(level), ANNOTATION_LEVEL: str(level)}
    return manifest


def content_hash(manifest: Mapping[str, Any]) -> str:
    """A short hash of an object's content (keys sorted), the same on every machine."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]


def scripts_name(workflow: Workflow) -> str:
    """The plan's ConfigMap of scripts: not the name of a run's ConfigMap, which ``kjob`` reads back."""
    return names.slug(f"{workflow.display_name}-scripts")


def _setup(workflow: Workflow, scripts: Manifest, options: Options) -> Manifest:
    cm: dict[str, Any] = json.loads(json.dumps(scripts))
    meta = cm["metadata"]
    meta["name"] = scripts_name(workflow)
    meta["namespace"] = options.namespace
    meta["labels"] = {**meta.get("labels", {}), names.LABEL_ROLE: "scripts"}
    meta.pop("ownerReferences", None)
    meta["annotations"] = {**meta.get("annotations", {}), SYNC_WAVE: "-1"}
    return cm


def _fluxkustomization(workflow: Workflow, level: int, width: int, folder: str, options: Options) -> Manifest:
    name = names.slug(f"{workflow.display_name}-{folder}")
    spec: dict[str, Any] = {
        "interval": options.flux_interval,
        "path": f"{options.flux_path.rstrip('/')}/{folder}",
        "prune": True,
        "sourceRef": {"kind": options.flux_source[0], "name": options.flux_source[1]},
        "wait": True,
        "timeout": "1h",
    }
    if level > 0:
        spec["dependsOn"] = [{"name": names.slug(f"{workflow.display_name}-wave-{level - 1:0{width}d}")}]
    return {
        "apiVersion": FLUX_API,
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": options.flux_namespace},
        "spec": spec,
    }
