"""Resolving ``templateRef`` and ``workflowTemplateRef`` against a :class:`TemplateLibrary`.

A task's ``templateRef: {name: W, template: T}`` runs template ``T`` of the WorkflowTemplate ``W``
(``clusterScope: true``: of the ClusterWorkflowTemplate ``W``).  The template is copied into the
workflow under the name ``W.T`` (a template's own name holds no '.', so it cannot clash), with the
templates it calls in turn, so that the checks and the engine see one self-contained workflow.

A Workflow's ``spec.workflowTemplateRef: {name: W}`` runs ``W``'s spec: its templates and entrypoint,
with the Workflow's own arguments laid over ``W``'s by name (as Argo merges them) and the Workflow's
settings winning where it gives them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kjob.errors import SpecError
from kjob.spec.diagnostics import Diagnostics, listing
from kjob.spec.loaded import LoadedTemplate, LoadedWorkflow, TemplateRef
from kjob.spec.model import IO, Dag, DagTask, Workflow, frozen_map

TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")


@dataclass(frozen=True, slots=True)
class TemplateLibrary:
    """The WorkflowTemplates and ClusterWorkflowTemplates a workflow may refer to, by name."""

    namespaced: Mapping[str, LoadedWorkflow]
    cluster: Mapping[str, LoadedWorkflow]
    origin: str  # where they came from, for messages: "--templates DIR"
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # path: its text
    # the mistakes of each (kind, name) that has some: reported by a workflow that uses it
    problems: Mapping[tuple[str, str], tuple[SpecError, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def kind_of(self, ref: TemplateRef) -> tuple[str, Mapping[str, LoadedWorkflow]]:
        if ref.cluster:
            return "ClusterWorkflowTemplate", self.cluster
        return "WorkflowTemplate", self.namespaced


EMPTY = TemplateLibrary(frozen_map(), frozen_map(), "")


def needs_library(loaded: LoadedWorkflow) -> bool:
    return bool(loaded.template_refs) or loaded.workflow_template_ref is not None


def resolve(loaded: LoadedWorkflow, library: TemplateLibrary, diag: Diagnostics) -> LoadedWorkflow:
    """``loaded`` with every reference resolved (each missing one reported into ``diag``); its
    workflow's ``template_sources`` name where the templates used were read from."""
    used: list[str] = []
    if loaded.workflow_template_ref is not None:
        base = _find(loaded.workflow_template_ref, library, diag)
        if base is not None:
            loaded = _merge(base, loaded)
            used.append(base.workflow.path)
    if not loaded.template_refs:
        return _using(loaded, used)
    own = {t.template.name for t in loaded.templates}
    imported: dict[str, LoadedTemplate] = {}
    pending = list(loaded.template_refs)
    while pending:
        ref = pending.pop(0)
        if ref.local_name in imported or ref.local_name in own:
            continue
        source = _find(ref, library, diag)
        if source is None:
            continue
        used.append(source.workflow.path)
        template = _template_of(source, ref, diag)
        if template is None:
            continue
        copied, calls = _imported(template, ref, source)
        imported[ref.local_name] = copied
        pending.extend(calls)
    if not imported:
        return _using(loaded, used)
    templates = loaded.templates + tuple(imported.values())
    by_name = dict(loaded.workflow.templates)
    by_name.update((name, t.template) for name, t in imported.items())
    workflow = dataclasses.replace(loaded.workflow, templates=frozen_map(by_name))
    return _using(dataclasses.replace(loaded, workflow=workflow, templates=templates), used)


def _using(loaded: LoadedWorkflow, used: list[str]) -> LoadedWorkflow:
    own = loaded.workflow.path
    sources = tuple(dict.fromkeys(p for p in used if p != own))  # the file itself is carried anyway
    if not sources:
        return loaded
    workflow = dataclasses.replace(loaded.workflow, template_sources=sources)
    return dataclasses.replace(loaded, workflow=workflow)


def _find(ref: TemplateRef, library: TemplateLibrary, diag: Diagnostics) -> LoadedWorkflow | None:
    kind, known = library.kind_of(ref)
    found = known.get(ref.name)
    problems = library.problems.get((kind, ref.name), ())
    if problems and not any(e is problems[0] for e in diag.errors):
        diag.error(f"{kind} '{ref.name}' has mistakes (below)", ref.mark, hint="fix them in its file")
        diag.errors.extend(problems)
    if found is None:
        where = f" in {library.origin}" if library.origin else ""
        hint = (
            f"add a {kind} named '{ref.name}' to {library.origin}"
            if library.origin
            else f"give the directory that holds the {kind} with --templates DIR, or store it in the "
            "cluster with `kjob template apply FILE`"
        )
        diag.error(
            f"no {kind} named '{ref.name}'{where} (found: {listing(sorted(known))})", ref.mark, hint=hint
        )
    return found


def _template_of(source: LoadedWorkflow, ref: TemplateRef, diag: Diagnostics) -> LoadedTemplate | None:
    for loaded in source.templates:
        if loaded.template.name == ref.template:
            return loaded
    names = sorted({t.template.name for t in source.templates if t.template.name})
    diag.error(
        f"{source.workflow.kind} '{ref.name}' has no template '{ref.template}' (defined: {listing(names)})",
        ref.mark,
        hint=f"templates of '{ref.name}' are in {source.workflow.path}",
    )
    return None


def _imported(
    loaded: LoadedTemplate, ref: TemplateRef, source: LoadedWorkflow
) -> tuple[LoadedTemplate, list[TemplateRef]]:
    """The template renamed ``W.T``, its calls renamed alike, and the references those calls make."""
    own_refs = {r.local_name: r for r in source.template_refs}
    calls: list[TemplateRef] = []

    def renamed(task: DagTask) -> DagTask:
        if not task.template:
            return task
        call = own_refs.get(task.template)
        if call is None:  # a template of the same WorkflowTemplate
            call = TemplateRef(ref.name, task.template, ref.cluster, task.template_mark)
        calls.append(call)
        return dataclasses.replace(task, template=call.local_name)

    template = loaded.template
    dag = template.dag
    if dag is not None:
        dag = Dag(tuple(renamed(t) for t in dag.tasks), dag.fail_fast, dag.target)
    steps = template.steps
    if steps is not None:
        steps = tuple(tuple(renamed(s) for s in group) for group in steps)
    copy = dataclasses.replace(template, name=ref.local_name, dag=dag, steps=steps)
    return dataclasses.replace(loaded, template=copy), calls


def _merge(base: LoadedWorkflow, own: LoadedWorkflow) -> LoadedWorkflow:
    """The WorkflowTemplate ``base`` run as the Workflow ``own``: ``own``'s name, arguments laid over
    ``base``'s by name, ``own``'s settings where it gives them, both's templates (``own``'s win)."""
    b, w = base.workflow, own.workflow
    templates = dict(b.templates)
    templates.update(w.templates)
    workflow = Workflow(
        api_version=w.api_version,
        kind=w.kind,
        name=w.name,
        generate_name=w.generate_name,
        namespace=w.namespace or b.namespace,
        entrypoint=w.entrypoint or b.entrypoint,
        templates=frozen_map(templates),
        arguments=_merged_arguments(b.arguments, w.arguments),
        parallelism=w.parallelism if w.parallelism is not None else b.parallelism,
        on_exit=w.on_exit or b.on_exit,
        hooks=w.hooks or b.hooks,
        active_deadline_seconds=(
            w.active_deadline_seconds if w.active_deadline_seconds is not None else b.active_deadline_seconds
        ),
        service_account_name=w.service_account_name or b.service_account_name,
        labels=frozen_map({**b.labels, **w.labels}),
        annotations=frozen_map({**b.annotations, **w.annotations}),
        cron=w.cron,
        pod_extra=frozen_map({**b.pod_extra, **w.pod_extra}),
        path=w.path,
        mark=w.mark,
    )
    own_names = {t.template.name for t in own.templates}
    return LoadedWorkflow(
        workflow=workflow,
        templates=tuple(t for t in base.templates if t.template.name not in own_names) + own.templates,
        argo=own.argo,
        entrypoint_mark=own.entrypoint_mark if w.entrypoint else base.entrypoint_mark,
        on_exit_mark=own.on_exit_mark if w.on_exit else base.on_exit_mark,
        sites=base.sites + own.sites,
        template_refs=base.template_refs + own.template_refs,
    )


def _merged_arguments(base: IO, own: IO) -> IO:
    given = {p.name for p in own.parameters}
    given_artifacts = {a.name for a in own.artifacts}
    return dataclasses.replace(
        base,
        parameters=tuple(p for p in base.parameters if p.name not in given) + own.parameters,
        artifacts=tuple(a for a in base.artifacts if a.name not in given_artifacts) + own.artifacts,
    )


def with_documents(library: TemplateLibrary, loaded: list[LoadedWorkflow]) -> TemplateLibrary:
    """``library`` and the WorkflowTemplates of the file being loaded (those win: they are nearer)."""
    namespaced = dict(library.namespaced)
    cluster = dict(library.cluster)
    for doc in loaded:
        name = doc.workflow.name
        if doc.workflow.kind in TEMPLATE_KINDS and name:
            target = cluster if doc.workflow.kind == "ClusterWorkflowTemplate" else namespaced
            target[name] = doc
    return dataclasses.replace(library, namespaced=frozen_map(namespaced), cluster=frozen_map(cluster))


def as_submitted(workflow: Workflow) -> Workflow:
    """A WorkflowTemplate as ``argo submit --from`` runs it: each input of its entrypoint that its
    arguments do not give becomes a workflow parameter (with the input's default, if any), so that
    ``-p name=value`` supplies it and a missing one is named before anything runs."""
    if workflow.kind not in TEMPLATE_KINDS or workflow.entrypoint is None:
        return workflow
    entry = workflow.templates.get(workflow.entrypoint)
    declared = {p.name for p in workflow.arguments.parameters}
    if entry is None:
        return workflow
    added = tuple(
        dataclasses.replace(p, value=p.value if p.value is not None else p.default)
        for p in entry.inputs.parameters
        if p.name not in declared
    )
    if not added:
        return workflow
    arguments = dataclasses.replace(workflow.arguments, parameters=workflow.arguments.parameters + added)
    return dataclasses.replace(workflow, arguments=arguments)
