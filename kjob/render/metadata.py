"""``spec.workflowMetadata`` of a run: the labels and annotations its run object carries (the run
ConfigMap on Kubernetes, ``run.json`` locally), ``labelsFrom`` expressions evaluated as the run starts
against the workflow's variables (``workflow.name``, ``workflow.parameters.NAME``, ...), as Argo does."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kjob.errors import KjobError, TemplateError
from kjob.expr import compile_expression, lookup_env
from kjob.spec.model import Workflow

_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def run_metadata(
    workflow: Workflow, run_id: str, namespace: str, parameters: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations of run ``run_id`` from ``workflowMetadata``; a KjobError names a
    ``labelsFrom`` expression that fails or gives no valid label value."""
    meta = workflow.workflow_metadata
    if meta is None:
        return {}, {}
    labels = dict(meta.labels)
    variables = {
        "workflow.name": run_id,
        "workflow.namespace": namespace,
        **{f"workflow.parameters.{k}": v for k, v in parameters.items()},
        **{f"workflow.labels.{k}": v for k, v in workflow.labels.items()},
        **{f"workflow.annotations.{k}": v for k, v in workflow.annotations.items()},
    }

    def lookup(path: str) -> str:
        if path not in variables:
            raise KeyError(path)
        return variables[path]

    for key, text in meta.labels_from.items():
        try:
            value = compile_expression(text).render(lookup_env(lookup))
        except TemplateError as err:
            raise KjobError(f"workflowMetadata.labelsFrom '{key}': {err}") from None
        if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            raise KjobError(
                f"workflowMetadata.labelsFrom '{key}' gives '{value[:80]}', which is no label value"
            )
        labels[key] = value
    return labels, dict(meta.annotations)


def workflow_parameters(workflow: Workflow, given: Mapping[str, str]) -> dict[str, str]:
    """The workflow's parameters: ``given`` over the values ``spec.arguments`` declares."""
    declared = {p.name: p.value for p in workflow.arguments.parameters if p.value is not None}
    return {**declared, **given}
