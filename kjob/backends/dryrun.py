"""``kjob run --dry-run``: every object a Kubernetes run would create, rendered, never sent.

The engine drives a :class:`DryRunBackend` in virtual time exactly as it drives the real backend: each
submitted attempt is rendered by :func:`~kjob.render.manifests.job_manifest` and
collected, then reported as succeeded at once.  So the Jobs come out in dispatch order, with the names,
labels and inputs the real run gives them (``--parallelism``, ``--queue`` and
``--ttl-seconds-after-finished`` included), and the run ConfigMap carries every script the Jobs mount.

What only the run can tell is never invented:

* A ``when`` that reads another task's outputs or status (directly, or through a nested template's
  inputs) cannot be decided: the dry run shows the Jobs as if it held and marks them *conditional*.
* A ``withParam``/``withSequence`` over run-time values has no items yet: its Jobs are
  not shown, and the fan-out is named.
* An output parameter or result that another Job reads appears in that Job as
  ``<run-time: NODE.outputs...>``.  (Artifacts are not values: their place in the run workspace is
  known, and shown.)
* Every attempt succeeds, so Jobs that run only after a failure (``depends: A.Failed``, retries) are
  not shown; tasks omitted that way, and templates that retry, are named.
* A fan-out whose items are known is shown as the run creates it: one Indexed Job after the ConfigMap
  of its items' commands, or a few such pairs when the items do not fit one (named, with the reason),
  or one Job per item (named with the reason) when they cannot share one or with
  ``--no-indexed-jobs``.  A real run falls back to one Job per item where the cluster drops
  ``backoffLimitPerIndex`` (it asks the cluster; a dry run contacts nothing).

The run ConfigMap's ``uid`` is assigned by the API server when it is created; the Jobs'
``ownerReferences`` carry :data:`PLACEHOLDER_UID` in its place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptReady,
    AttemptSpec,
    AttemptStarted,
)
from kjob.engine.bulk import BulkReport
from kjob.engine.engine import Engine, EngineOptions, RunResult
from kjob.engine.state import Node, Phase
from kjob.errors import KjobError
from kjob.expr import template
from kjob.render import entrypoint, indexed, manifests, workspace
from kjob.render.claims import claim_manifests
from kjob.render.decisions import Decision, run_time_decisions, without_run_time_decisions
from kjob.render.manifests import Manifest, RunObject
from kjob.render.pdb import pdb_manifest
from kjob.render.waves import resource_object
from kjob.render.yamltext import comment, json_text, yaml_text
from kjob.spec.model import Resource, Workflow

PLACEHOLDER_UID = "00000000-0000-0000-0000-000000000000"
RUN_TIME = template.RUN_TIME  # a value known only at run time: <run-time: NODE.outputs.result>


# ----------------------------------------------------------------------------------- backend
class DryRunBackend:
    """Renders each attempt into its Job, collects it, and reports it succeeded at once (virtual
    time: the clock only moves when the engine waits for a timer).  Declared outputs come back as
    ``<run-time: ...>`` placeholders.  A Job that cannot be rendered (say, a template with several
    outputs and no command) stops the dry run with that error."""

    name = "kubernetes (dry run)"

    def __init__(
        self,
        run: RunObject,
        *,
        ttl_seconds_after_finished: int | None = None,
        queue: str | None = None,
        indexed_jobs: bool = True,
    ) -> None:
        self.run = run
        self.indexed_jobs = indexed_jobs
        self.ttl_seconds_after_finished = ttl_seconds_after_finished
        self.queue = queue
        # in dispatch order; an Indexed Job (after its items' ConfigMap) under its fan-out's node id
        self.jobs: list[tuple[AttemptSpec, Manifest]] = []
        self.scripts: dict[str, str] = {}  # run ConfigMap key -> rendered script source
        self.fan_outs: list[str] = []  # fan-outs shown one Job per item, and why
        self.resource_notes: list[str] = []  # resource actions that send no object to show
        self._now = 0.0
        self._events: list[AttemptEvent] = []
        self._daemons: set[str] = set()  # daemons ready and "running": their end comes when stopped

    def now(self) -> float:
        return self._now

    def submit(self, spec: AttemptSpec) -> None:
        if spec.resource is not None:
            self._resource(spec, spec.resource)
            return
        job = manifests.job_manifest(
            spec, self.run, ttl_seconds_after_finished=self.ttl_seconds_after_finished, queue=self.queue
        )
        if spec.container.source is not None:
            self.scripts[manifests.script_key(spec.container.source)] = spec.container.source
        self.jobs.append((spec, job))
        self._succeed(spec)

    def _resource(self, spec: AttemptSpec, resource: Resource) -> None:
        """A resource attempt: a create or apply shows its object (what it sends), any other action
        is named in the notes (kjob performs it at run time)."""
        obj = resource_object(resource)
        if obj is not None:
            meta = obj.setdefault("metadata", {})
            if isinstance(meta, dict):
                meta.setdefault("namespace", self.run.namespace)
            self.jobs.append((spec, obj))
        else:
            target = " ".join(resource.flags) or "the object of its manifest"
            self.resource_notes.append(f"{spec.node_id}: resource {resource.action} of {target}, at run time")
        self._succeed(spec)

    def _succeed(self, spec: AttemptSpec) -> None:
        node = spec.node_id
        self._events.append(AttemptStarted(spec.attempt_id, self._now))
        if spec.daemon:  # ready at once, and running until the engine stops it
            self._events.append(AttemptReady(spec.attempt_id, self._now, f"{RUN_TIME}{node}.ip>"))
            self._daemons.add(spec.attempt_id)
            return
        self._events.append(
            AttemptFinished(
                spec.attempt_id,
                AttemptPhase.SUCCEEDED,
                self._now,
                exit_code=0,
                result=f"{RUN_TIME}{node}.outputs.result>" if spec.wants_result else None,
                parameters={
                    name: f"{RUN_TIME}{node}.outputs.parameters.{name}>"
                    for name in [p.name for p in spec.output_parameters]
                    + [p.name for p in spec.resource_outputs]
                },
                artifacts={
                    a.name: workspace.location(self.run.run_id, node, spec.attempt, a.name)
                    for a in spec.output_artifacts
                },
            )
        )

    def submit_batch(self, specs: Sequence[AttemptSpec], parallelism: int) -> bool:
        """Indexed Jobs and their items' ConfigMaps, as a run creates them where the cluster keeps
        ``backoffLimitPerIndex``; not taken with ``--no-indexed-jobs`` or when the items cannot share
        one (the fan-out is named with the reason, and each item is shown as its own Job)."""
        ordered = sorted(specs, key=lambda s: s.item_index or 0)
        layout = indexed.prepare(ordered) if self.indexed_jobs else "--no-indexed-jobs"
        if isinstance(layout, str):
            self.fan_outs.append(f"{specs[0].group_id}: one Job per item ({layout})")
            return False
        planned = indexed.plan(
            ordered,
            self.run,
            parallelism=parallelism,
            ttl_seconds_after_finished=self.ttl_seconds_after_finished,
            queue=self.queue,
            layout=layout,
        )
        if planned.split is not None:
            self.fan_outs.append(f"{specs[0].group_id}: {planned.split}")
        group = dataclasses.replace(ordered[0], node_id=ordered[0].group_id)
        for part in planned.parts:
            self.jobs += [(group, part.items), (group, part.job)]
        for spec in ordered:
            self._succeed(spec)
        return True

    def cancel(self, attempt_id: str) -> None:
        """Nothing to stop but a daemon: every other attempt's end is already queued."""
        if attempt_id in self._daemons:
            self._daemons.discard(attempt_id)
            self._events.append(
                AttemptFinished(attempt_id, AttemptPhase.FAILED, self._now, message="stopped")
            )

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        if self._events:
            taken, self._events = self._events, []
            return taken
        if timeout is not None:
            self._now += timeout
        return []

    def close(self) -> None:
        self._events.clear()


# ----------------------------------------------------------------------------------- dry run
@dataclass
class RenderedJob:
    manifest: Manifest
    node_id: str
    notes: list[str] = field(default_factory=list)  # why this Job may differ at run time
    top_task: str = ""  # the entrypoint's task this Job belongs to (itself, its fan-out, its nesting)
    template: str = ""  # the template it runs


@dataclass
class DryRun:
    """What a run would create: the run ConfigMap first, then the Jobs in dispatch order."""

    run_id: str
    namespace: str
    configmap: Manifest
    jobs: list[RenderedJob]
    notes: list[str]  # what the dry run cannot show, one line each
    result: RunResult
    # made before the Jobs: volumeClaimTemplates' claims, the podDisruptionBudget
    claims: list[Manifest] = field(default_factory=list)

    @property
    def manifests(self) -> list[Manifest]:
        return [self.configmap, *self.claims, *(j.manifest for j in self.jobs)]


def dry_run(
    workflow: Workflow,
    *,
    run_id: str,
    namespace: str,
    workflow_text: str,
    parameters: Mapping[str, str],
    parallelism: int | None = None,
    ttl_seconds_after_finished: int | None = None,
    queue: str | None = None,
    workspace_claim: str | None = None,
    indexed_jobs: bool = True,
    on_bulk: BulkReport | None = None,
) -> DryRun:
    """Drive the engine over a :class:`DryRunBackend` and gather the manifests and notes.  Raises
    :class:`KjobError` when the run would fail even if every task succeeded (a Job that cannot be
    rendered, an input with no value, a malformed expression)."""
    workspace.require(workflow, workspace_claim)
    entrypoint.require(workflow)
    decisions = run_time_decisions(workflow)
    run = RunObject(run_id, namespace, PLACEHOLDER_UID, workspace=workspace_claim)
    backend = DryRunBackend(
        run, ttl_seconds_after_finished=ttl_seconds_after_finished, queue=queue, indexed_jobs=indexed_jobs
    )
    engine = Engine(
        without_run_time_decisions(workflow, decisions),
        backend,
        run_id=run_id,
        options=EngineOptions(
            parameters=dict(parameters),
            parallelism=parallelism,
            namespace=namespace,
            uid=PLACEHOLDER_UID,
            on_bulk=on_bulk,
            rehearsal=True,
        ),
    )
    try:
        result = engine.run()
    finally:
        backend.close()
    if not result.succeeded:
        raise _failure(result)
    configmap = manifests.run_configmap(
        run_id, namespace, workflow_text=workflow_text, parameters=parameters, workspace_claim=workspace_claim
    )
    for key in sorted(backend.scripts):
        configmap["data"][key] = backend.scripts[key]
    by_id = {n.id: n for n in result.nodes}
    jobs = [
        RenderedJob(
            job,
            spec.node_id,
            _job_notes(by_id[spec.node_id], job, decisions),
            _top_task(by_id[spec.node_id]),
            spec.template_name,
        )
        for spec, job in backend.jobs
    ]
    notes = _run_notes(workflow, result, decisions, backend.jobs)
    notes += backend.fan_outs + backend.resource_notes
    pdb = pdb_manifest(workflow, run)
    before_jobs = [*claim_manifests(workflow, run), *([pdb] if pdb is not None else [])]
    return DryRun(run_id, namespace, configmap, jobs, notes, result, before_jobs)


def _failure(result: RunResult) -> KjobError:
    """The first node that failed on its own (not because something inside it did)."""
    own = [n for n in result.nodes if n.phase.failed_or_error and not n.children and n.inner is None]
    where = f"{own[0].id}: {own[0].message}" if own else result.message
    return KjobError(
        f"the run would fail at {where}",
        hint="the dry run assumes every task succeeds: this is a mistake in the workflow or its parameters",
    )


def _lineage(node: Node) -> list[Node]:
    """``node`` and every node that contains it (fan-out group, nested template), outermost first."""
    chain: list[Node] = []
    current: Node | None = node
    while current is not None:
        chain.append(current)
        current = current.parent if current.parent is not None else current.scope.owner
    return chain[::-1]


def _top_task(node: Node) -> str:
    """The name of the entrypoint's task that holds ``node`` (the entrypoint's own, if it is one)."""
    chain = _lineage(node)
    return chain[min(1, len(chain) - 1)].task.name


def _decided_by(node: Node, decisions: Mapping[tuple[str, str], Sequence[Decision]]) -> list[Decision]:
    """The run-time decisions of ``node``'s own task (a fan-out item has its group's)."""
    if node.scope.owner is None or node.parent is not None:
        return []  # the entrypoint or the exit handler (no DAG task), or an item (its group decides)
    return list(decisions.get((node.scope.template.name, node.task.name), ()))


def _job_notes(
    node: Node, job: Manifest, decisions: Mapping[tuple[str, str], Sequence[Decision]]
) -> list[str]:
    notes = [
        f"{n.id}: {d.describe()}"
        for n in _lineage(node)
        for d in _decided_by(n, decisions)
        if d.field == "when"
    ]
    if RUN_TIME in json_text(job):
        notes.append("holds run-time values, shown as <run-time: ...>")
    return notes


def _run_notes(
    workflow: Workflow,
    result: RunResult,
    decisions: Mapping[tuple[str, str], Sequence[Decision]],
    jobs: Sequence[tuple[AttemptSpec, Manifest]],
) -> list[str]:
    notes = [f"{n.id}: {d.describe()}" for n in result.nodes for d in _decided_by(n, decisions)]
    notes += [
        f"{n.id}: not shown when every task succeeds: {n.message}"
        for n in result.nodes
        if n.phase is Phase.OMITTED
    ]
    retrying = sorted(
        {spec.template_name for spec, _ in jobs if workflow.templates[spec.template_name].retry_strategy}
    )
    if retrying:
        notes.append(
            f"retryStrategy of {', '.join(retrying)}: each retry would be one more Job like the first, "
            "named ...-1, ...-2 and so on instead of ...-0"
        )
    return notes


# --------------------------------------------------------------------------------- rendering
def to_yaml(dry: DryRun, *, source: str) -> str:
    """A multi-document YAML stream (the ConfigMap, then the Jobs) with what it cannot show as
    comments; the same bytes for the same input."""
    header = [
        f"kjob run {source} --dry-run: what run {dry.run_id} would create in namespace "
        f"{dry.namespace}, in order. Nothing was created.",
        f"ownerReferences[].uid {PLACEHOLDER_UID} is a placeholder for the run ConfigMap's uid, "
        "which the API server assigns when it creates the ConfigMap.",
    ]
    if dry.notes:
        header.append("Known only at run time (the dry run shows what it can and invents no values):")
        header.extend(f"  {note}" for note in dry.notes)
    chunks = []  # the header goes inside the first document: no document is only comments
    notes_of = [header, *([] for _ in dry.claims), *(job.notes for job in dry.jobs)]
    for notes, doc in zip(notes_of, dry.manifests, strict=True):
        chunks.append("---\n" + comment(notes) + yaml_text(doc))
    return "".join(chunks)


def to_json(dry: DryRun) -> str:
    """A ``v1`` List of the same objects (notes go to stderr: JSON has no comments)."""
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": dry.manifests,
    }
    return json_text(listing, indent=True) + "\n"
