"""Resource templates (``resource:``): kjob performs their action on a cluster itself, on the
Kubernetes backend and on the local backend when a cluster is configured.  This module answers,
without loading the Kubernetes client, whether a workflow needs a cluster for them."""

from __future__ import annotations

from kjob.errors import SpecError, SpecErrors
from kjob.spec.model import Template, Workflow


def resource_templates(workflow: Workflow) -> list[Template]:
    return [t for t in workflow.templates.values() if t.resource is not None]


def problems(workflow: Workflow, kubeconfig: str | None = None) -> list[SpecError]:
    """A located error for each resource template, when a local run of ``workflow`` would have no
    cluster to act on (no kubeconfig, no in-cluster service account)."""
    from kjob.backends.kubernetes.configured import kubeconfig_available

    if kubeconfig_available(kubeconfig):
        return []
    return [
        SpecError(
            f"template '{t.name}' acts on a cluster (resource: {t.resource.action if t.resource else ''}), "
            "and no cluster is configured here",
            path=t.mark.path,
            line=t.mark.line,
            col=t.mark.col,
            hint="name one with --kubeconfig (or $KUBECONFIG, ~/.kube/config), or use --backend kubernetes",
        )
        for t in resource_templates(workflow)
    ]


def require(workflow: Workflow, kubeconfig: str | None = None) -> None:
    """Raise :func:`problems`, if any: before a local run starts."""
    found = problems(workflow, kubeconfig)
    if len(found) == 1:
        raise found[0]
    if found:
        raise SpecErrors(found)
