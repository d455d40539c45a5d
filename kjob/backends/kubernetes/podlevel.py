"""Argo's ``podResources`` and ``resourceClaims`` need a cluster that keeps them: refused before a run
starts, at the first place that asks for one, rather than silently dropped by the API server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kjob.backends.kubernetes import features
from kjob.backends.kubernetes.cluster import Cluster
from kjob.errors import SpecError
from kjob.spec.model import Mark, Workflow

# pod spec key -> (the Argo field that asks for it, the probe of the cluster, what to do instead)
_NEEDS: dict[str, tuple[str, Callable[[Cluster], str | None], str]] = {
    "resources": (
        "podResources",
        features.pod_resources,
        "set `resources` on each container instead, or run on Kubernetes 1.32+ with PodLevelResources",
    ),
    "resourceClaims": (
        "resourceClaims",
        features.resource_claims,
        "enable dynamic resource allocation on the cluster (resource.k8s.io), or drop the claims",
    ),
}


def _asked(workflow: Workflow, key: str) -> Iterator[tuple[str, Mark]]:
    if workflow.pod_extra.get(key):
        yield "the workflow", workflow.pod_marks.get(key, workflow.mark)
    for name, template in workflow.templates.items():
        if template.pod_extra.get(key):
            yield f"template '{name}'", template.pod_marks.get(key, template.mark)
        elif (
            key == "resourceClaims" and template.container is not None and template.container.resources.claims
        ):
            yield f"template '{name}' (resources.claims)", template.container.mark


def require(cluster: Cluster, workflow: Workflow) -> None:
    """Raise a located :class:`SpecError` if ``workflow`` asks for a pod-level field the cluster drops."""
    for key, (argo, probe, hint) in _NEEDS.items():
        first = next(_asked(workflow, key), None)
        if first is None:
            continue
        why = probe(cluster)
        if why is not None:
            where, mark = first
            raise SpecError(
                f"{where} sets {argo}, which this cluster cannot honour: {why}",
                path=mark.path,
                line=mark.line,
                col=mark.col,
                hint=hint,
            )
