"""Building one workflow document: header, metadata and spec, into a :class:`LoadedWorkflow`.

:func:`build` reads ``apiVersion``, ``kind`` and ``metadata``, unwraps a ``CronWorkflow``'s
``workflowSpec`` (:mod:`kjob.spec.build_cron`), and builds the spec: arguments, templates
(:mod:`kjob.spec.build_templates`), entrypoint and the workflow-wide settings.
"""

from __future__ import annotations

import re
from typing import Any

from kjob.spec import (
    build_claims,
    build_cron,
    build_gc,
    build_hooks,
    build_io,
    build_metrics,
    build_pdb,
    build_templates,
    template_defaults,
)
from kjob.spec import fields as F
from kjob.spec.build_sync import synchronization
from kjob.spec.loaded import LoadedTemplate, LoadedWorkflow
from kjob.spec.model import CronSpec, Mark, Template, TemplateKind, Workflow, frozen_map
from kjob.spec.reader import Reader
from kjob.spec.values import describe, plain
from kjob.spec.yamlnodes import YamlMap, empty_map

ARGO_API = "argoproj.io/v1alpha1"
KJOB_API = "kjob.dev/v1alpha1"
API_VERSIONS = (ARGO_API, KJOB_API)
KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")

_HEADER_HINT = f"add `apiVersion: {ARGO_API}` and `kind: Workflow` at the top of the document"
K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def build(r: Reader, root: Any) -> LoadedWorkflow | None:
    """The workflow of one document, or ``None`` when there is too little of it to build."""
    if not isinstance(root, YamlMap):
        r.diag.error(
            f"a workflow document must be a mapping, not {describe(root)}",
            r.src.node(root),
            hint=_HEADER_HINT,
        )
        return None
    here = r.src.node(root)
    r.fields(root, F.ROOT)
    api_version, kind = _header(r, root, here)
    r.argo = api_version != KJOB_API
    meta = _metadata(r, root, here, kind)
    spec = r.mapping(root, "spec")
    spec_mark = r.src.key(root, "spec") if "spec" in root else here
    if spec is None:
        if root.get("spec") is None:
            r.diag.error("missing spec", spec_mark, hint="add `spec:` with an entrypoint and templates")
        return None
    cron: CronSpec | None = None
    what = "spec"
    if kind == "CronWorkflow":
        cron, workflow_spec = build_cron.cron(r, spec, spec_mark)
        if workflow_spec is None:
            workflow_spec = empty_map()
        elif "workflowSpec" in spec:
            spec_mark = r.src.key(spec, "workflowSpec")
            what = "spec.workflowSpec"
        spec = workflow_spec
    return _workflow(r, spec, spec_mark, what, api_version, kind, meta, cron, here)


def _header(r: Reader, root: YamlMap, here: Mark) -> tuple[str, str]:
    api_version = r.string(root, "apiVersion")
    if api_version is None:
        if "apiVersion" not in root or root["apiVersion"] is None:
            r.diag.error("missing apiVersion", here, hint=_HEADER_HINT)
        api_version = ""
    elif api_version not in API_VERSIONS:
        r.diag.error(
            f"unsupported apiVersion '{api_version}'",
            r.src.value(root, "apiVersion"),
            hint=f"use {ARGO_API} (or kjob's own {KJOB_API})",
        )
    kind = r.string(root, "kind")
    if kind is None:
        if "kind" not in root or root["kind"] is None:
            r.diag.error(
                "missing kind",
                here,
                hint="add `kind: Workflow` (or WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow)",
            )
        kind = ""
    elif kind not in KINDS:
        r.diag.error(
            f"unsupported kind '{kind}'",
            r.src.value(root, "kind"),
            hint=F.suggest(kind, KINDS, noun="kinds kjob reads"),
        )
    return api_version, kind


def _metadata(r: Reader, root: YamlMap, here: Mark, kind: str) -> dict[str, Any]:
    meta = r.mapping(root, "metadata")
    node = meta if meta is not None else empty_map()
    if meta is not None:
        r.fields(meta, F.METADATA)
    name = r.string(node, "name")
    generate = r.string(node, "generateName")
    needs_plain_name = kind in ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
    if name is None and (generate is None or needs_plain_name):
        where = r.src.key(root, "metadata") if meta is not None else here
        if needs_plain_name:
            r.diag.error("missing metadata.name", where, hint="add `metadata: {name: my-workflow}`")
        else:
            r.diag.error(
                "missing metadata.name or metadata.generateName",
                where,
                hint="add `metadata: {generateName: my-workflow-}`",
            )
    for key, value, suffix in (("name", name, ""), ("generateName", generate, "x")):
        if value is not None and not (K8S_NAME.fullmatch(value + suffix) and len(value) <= 253):
            r.diag.error(
                f"invalid metadata.{key} '{value}'",
                r.src.value(node, key),
                hint="use lower-case letters, digits, '-' and '.'; start and end with a letter or digit",
            )
    return {
        "name": name,
        "generate_name": generate,
        "namespace": r.string(node, "namespace"),
        "labels": r.string_map(node, "labels"),
        "annotations": r.string_map(node, "annotations"),
    }


def _workflow(
    r: Reader,
    spec: YamlMap,
    spec_mark: Mark,
    what: str,
    api_version: str,
    kind: str,
    meta: dict[str, Any],
    cron: CronSpec | None,
    here: Mark,
) -> LoadedWorkflow:
    r.fields(spec, F.WORKFLOW_SPEC, what)
    spec = template_defaults.applied(r, spec)
    arguments = build_io.io(r, spec, "arguments", F.ARGUMENTS, "spec", None)
    templates = build_templates.templates(r, spec, spec_mark, what)
    entrypoint = r.string(spec, "entrypoint")
    entry_mark = r.src.value(spec, "entrypoint") if entrypoint is not None else None
    workflow_ref = r.template_ref(spec, "workflowTemplateRef", F.WORKFLOW_TEMPLATE_REF)
    if entrypoint is None and kind not in ("WorkflowTemplate", "ClusterWorkflowTemplate") and templates:
        r.diag.error(f"missing {what}.entrypoint", spec_mark, hint=_entrypoint_hint(templates))
    if not templates and "workflowTemplateRef" not in spec:
        named = f" named '{entrypoint}'" if entrypoint else ""
        r.diag.error(
            f"no templates in {what}",
            spec_mark,
            hint=f"add `templates:` with at least one template{named}",
        )
    on_exit = r.string(spec, "onExit")
    on_exit_mark = r.src.value(spec, "onExit") if on_exit is not None else None
    hooks = build_hooks.hooks_of(r, spec, what)
    exit_hook = next((h for h in hooks if h.is_exit), None)
    if exit_hook is not None and on_exit is not None:
        r.diag.error(
            f"{what} has both onExit and hooks.exit",
            r.src.key(spec, "onExit"),
            hint="keep one of them: `hooks: {exit: {template: ...}}` is the newer spelling",
        )
    elif exit_hook is not None:
        on_exit, on_exit_mark = exit_hook.template, exit_hook.mark
    pod_extra = {
        F.WORKFLOW_POD_RENAMES.get(key, key): plain(spec[key])
        for key in map(str, spec)
        if key in F.WORKFLOW_POD_FIELDS
    }
    claims, claim_volumes = build_claims.claims(r, spec)
    if claim_volumes:
        pod_extra["volumes"] = [*(pod_extra.get("volumes") or ()), *claim_volumes]
    by_name: dict[str, Template] = {}
    for loaded in templates:
        if loaded.template.name:
            by_name.setdefault(loaded.template.name, loaded.template)
    pdb, pdb_mark = build_pdb.pod_disruption_budget(r, spec)
    workflow = Workflow(
        api_version=api_version,
        kind=kind,
        name=meta["name"],
        generate_name=meta["generate_name"],
        namespace=meta["namespace"],
        entrypoint=entrypoint,
        templates=frozen_map(by_name),
        arguments=arguments,
        parallelism=r.integer(spec, "parallelism", minimum=1),
        on_exit=on_exit,
        active_deadline_seconds=r.duration(spec, "activeDeadlineSeconds", positive=True),
        service_account_name=r.string(spec, "serviceAccountName"),
        synchronization=synchronization(r, spec, what),
        labels=meta["labels"],
        annotations=meta["annotations"],
        cron=cron,
        hooks=hooks,
        pod_extra=frozen_map(pod_extra),
        pod_marks=frozen_map(
            {
                F.WORKFLOW_POD_RENAMES.get(k, k): r.src.key(spec, k)
                for k in map(str, spec)
                if k in F.WORKFLOW_POD_FIELDS
            }
        ),
        pod_spec_patch=r.string(spec, "podSpecPatch"),  # rendered in each template's pods
        volume_claims=claims,
        pod_gc=build_gc.pod_gc(r, spec),
        ttl_strategy=build_gc.ttl_strategy(r, spec),
        workflow_metadata=build_gc.workflow_metadata(r, spec),
        metrics=build_metrics.metrics(r, spec, what),
        pod_disruption_budget=pdb,
        pod_disruption_budget_mark=pdb_mark or here,
        path=r.src.path,
        mark=here,
    )
    build_metrics.notice(r, workflow)
    return LoadedWorkflow(
        workflow=workflow,
        templates=tuple(templates),
        argo=r.argo,
        entrypoint_mark=entry_mark,
        on_exit_mark=on_exit_mark,
        sites=tuple(r.take_sites()),
        template_refs=tuple(r.template_refs),
        workflow_template_ref=workflow_ref,
    )


def _entrypoint_hint(templates: list[LoadedTemplate]) -> str:
    names = [t.template.name for t in templates if t.template.name]
    if not names:
        return "add `entrypoint: <name of the template to start with>`"
    drivers = [
        t.template.name for t in templates if t.template.kind in (TemplateKind.DAG, TemplateKind.STEPS)
    ]
    first = (drivers or names)[0]
    return f"add `entrypoint: {first}` (the template to start with)"
