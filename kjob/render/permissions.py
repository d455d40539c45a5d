"""Every API verb kjob uses, in one table.

The table is the single statement of what kjob may do in a namespace: the Kubernetes backend keeps to
it and checks it before a run (:mod:`kjob.backends.kubernetes.permissions`), and a generated
least-privilege Role is derived from it (:func:`role_rules`).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from kjob.spec.model import Workflow


class Need(enum.Enum):
    """When a run needs a permission."""

    ALWAYS = "always"
    TTL = "with --ttl-seconds-after-finished"  # no verb of its own today: `patch jobs` is always needed
    WORKSPACE = "with --workspace-pvc"
    # a driver never needs it: its plan carries the templates the workflow uses
    STORED_TEMPLATES = "reading templates stored by `kjob template apply`"
    # the submitter's, never the driver's: the driver plan's objects, which the driver runs under
    SUBMIT_DRIVER = "kjob run --wait=false (creating a driver Job and its account)"
    SYNCHRONIZATION = "with synchronization (mutexes, semaphores)"
    MEMOIZE = "with memoize"
    HTTP_SECRETS = "with http templates whose headers read Secrets"
    CLAIMS = "with volumeClaimTemplates"
    POD_GC = "with podGC"
    PDB = "with podDisruptionBudget"


@dataclass(frozen=True, slots=True)
class Permission:
    group: str  # "" for the core API group
    resource: str  # ``pods/log`` for a subresource
    verb: str
    why: str
    need: Need = Need.ALWAYS

    @property
    def qualified(self) -> str:
        """``jobs.batch``, ``pods/log``: the resource as ``kubectl auth can-i`` names it."""
        name, _, sub = self.resource.partition("/")
        base = f"{name}.{self.group}" if self.group else name
        return f"{base}/{sub}" if sub else base


def _entries(group: str, resource: str, why: str, *verbs: str, need: Need = Need.ALWAYS) -> list[Permission]:
    return [Permission(group, resource, verb, why, need) for verb in verbs]


PERMISSIONS: tuple[Permission, ...] = (
    *_entries("", "configmaps", "the run object and each fan-out's items", "create", "get"),
    *_entries("", "configmaps", "the fan-out's items; kjob stop's request on the run object", "patch"),
    *_entries("", "configmaps", "removing a run object that could not start; kjob delete", "delete"),
    *_entries("batch", "jobs", "one Job per attempt", "create"),
    *_entries("batch", "jobs", "one watch per run; kjob retry and delete find the run's Jobs", "list"),
    *_entries("batch", "jobs", "one watch per run", "watch"),
    *_entries("batch", "jobs", "adopting a Job an earlier life of the run created", "get"),
    *_entries("batch", "jobs", "stopping an attempt; kjob delete", "delete"),
    *_entries("batch", "jobs", "starting a split fan-out's next part; a TTL once read", "patch"),
    *_entries("", "pods", "a finished attempt's exit code and outputs", "list"),
    *_entries("", "pods/log", "outputs.result and kjob logs", "get"),
    *_entries("", "persistentvolumeclaims", "checking the workspace claim", "get", need=Need.WORKSPACE),
    *_entries("", "configmaps", "the WorkflowTemplates a run refers to", "list", need=Need.STORED_TEMPLATES),
    *_entries(
        "coordination.k8s.io",
        "leases",
        "a Lease per mutex and per semaphore slot, held while a node runs",
        "get",
        "create",
        "update",
        need=Need.SYNCHRONIZATION,
    ),
    *_entries("", "configmaps", "memoize cache entries", "update", need=Need.MEMOIZE),
    *_entries("", "secrets", "an http template's secretKeyRef headers", "get", need=Need.HTTP_SECRETS),
    *_entries("", "persistentvolumeclaims", "the run's volumeClaimTemplates", "create", need=Need.CLAIMS),
    *_entries("", "pods", "podGC: deleting the run's pods when it ends", "delete", need=Need.POD_GC),
    *_entries(
        "policy", "poddisruptionbudgets", "the run's podDisruptionBudget", "create", "delete", need=Need.PDB
    ),
    *_entries("", "serviceaccounts", "the driver's account", "create", need=Need.SUBMIT_DRIVER),
    *_entries("rbac.authorization.k8s.io", "roles", "the driver's Role", "create", need=Need.SUBMIT_DRIVER),
    *_entries(
        "rbac.authorization.k8s.io",
        "rolebindings",
        "the driver's RoleBinding",
        "create",
        need=Need.SUBMIT_DRIVER,
    ),
)


def features(*, ttl: int | None = None, workspace_claim: str | None = None) -> set[Need]:
    """The optional needs of a run with these options."""
    return {need for need, on in ((Need.TTL, ttl is not None), (Need.WORKSPACE, workspace_claim)) if on}


def workflow_needs(workflow: Workflow) -> set[Need]:
    """The optional needs of a run of ``workflow``: Leases for its locks, ConfigMap updates for its
    memoize caches, Secrets for its http templates' headers."""
    templates = workflow.templates.values()
    needs: set[Need] = set()
    if workflow.synchronization or any(t.synchronization for t in templates):
        needs.add(Need.SYNCHRONIZATION)
    if any(t.memoize is not None for t in templates):
        needs.add(Need.MEMOIZE)
    if any(h.secret is not None for t in templates if t.http is not None for h in t.http.headers):
        needs.add(Need.HTTP_SECRETS)
    if workflow.volume_claims:
        needs.add(Need.CLAIMS)
    if workflow.pod_gc is not None and workflow.pod_gc.strategy:
        needs.add(Need.POD_GC)
    if workflow.pod_disruption_budget is not None:
        needs.add(Need.PDB)
    return needs


def needed(features: Collection[Need] = (), extra: Collection[Permission] = ()) -> list[Permission]:
    """The table's entries a run with these optional features needs, and ``extra`` (what its
    resource templates do: :mod:`kjob.render.resource_access`)."""
    return [p for p in PERMISSIONS if p.need is Need.ALWAYS or p.need in features] + list(extra)


def role_rules(features: Collection[Need] = (), extra: Collection[Permission] = ()) -> list[dict[str, Any]]:
    """The ``rules`` of a Role granting exactly :func:`needed` (one rule per API group and resource,
    verbs sorted): what a run with these optional features may do, and nothing more."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for p in needed(features, extra):
        verbs.setdefault((p.group, p.resource), set()).add(p.verb)
    return [
        {"apiGroups": [group], "resources": [resource], "verbs": sorted(vs)}
        for (group, resource), vs in sorted(verbs.items())
    ]
