"""Every API verb kjob uses, in one table, and a check before a run that the cluster allows them.

The table is the single statement of what kjob may do in a namespace: the Kubernetes backend keeps to
it, a generated least-privilege Role can be derived from it, and :func:`check` asks the cluster
(``SelfSubjectAccessReview``, what ``kubectl auth can-i`` asks) about each entry a run needs before the
run creates anything.  A run that may not watch its Jobs would otherwise wait for ever on a watch
that is refused; this way it stops at once, naming what is missing, and leaves nothing behind.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import urllib3

from kjob.backends.kubernetes.cluster import Cluster
from kjob.errors import AccessError
from kubernetes import client


class Need(enum.Enum):
    """When a run needs a permission."""

    ALWAYS = "always"
    TTL = "with --ttl-seconds-after-finished"  # a finished Job's TTL is set once its outcome is read
    WORKSPACE = "with --workspace-pvc"


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
    *_entries("", "configmaps", "the run object and each fan-out's items", "create", "get", "patch"),
    *_entries("", "configmaps", "removing a run object that could not start", "delete"),
    *_entries("batch", "jobs", "one Job per attempt, one watch per run", "create", "list", "watch"),
    *_entries("batch", "jobs", "adopting a Job an earlier life of the run created", "get"),
    *_entries("batch", "jobs", "stopping an attempt", "delete"),
    *_entries("batch", "jobs", "setting a TTL once the outcome is read", "patch", need=Need.TTL),
    *_entries("", "pods", "a finished attempt's exit code and outputs", "list"),
    *_entries("", "pods/log", "outputs.result and kjob logs", "get"),
    *_entries("", "persistentvolumeclaims", "checking the workspace claim", "get", need=Need.WORKSPACE),
)


def features(*, ttl: int | None = None, workspace_claim: str | None = None) -> set[Need]:
    """The optional needs of a run with these options."""
    return {need for need, on in ((Need.TTL, ttl is not None), (Need.WORKSPACE, workspace_claim)) if on}


def needed(features: Collection[Need] = ()) -> list[Permission]:
    """The table's entries a run with these optional features needs."""
    return [p for p in PERMISSIONS if p.need is Need.ALWAYS or p.need in features]


def check(cluster: Cluster, features: Collection[Need] = ()) -> None:
    """Raise :class:`AccessError` naming every verb the run needs and may not use in
    ``cluster.namespace``.  A cluster that will not answer access reviews is not refused here: the
    backend then reports the first refused request the same way."""
    denied: list[Permission] = []
    for permission in needed(features):
        allowed = _allowed(cluster, permission)
        if allowed is None:
            return
        if not allowed:
            denied.append(permission)
    if denied:
        raise denied_error(cluster, denied)


def denied_error(cluster: Cluster, denied: Iterable[Permission]) -> AccessError:
    by_resource: dict[str, list[str]] = {}
    for p in denied:
        by_resource.setdefault(p.qualified, []).append(p.verb)
    what = "; ".join(f"{', '.join(verbs)} {resource}" for resource, verbs in by_resource.items())
    first = next(iter(by_resource))
    return AccessError(
        f"kjob may not {what} in namespace {cluster.namespace} ({cluster.where})",
        hint=f"ask for a Role granting it (`kubectl auth can-i {by_resource[first][0]} {first} "
        f"-n {cluster.namespace}` checks), or use another namespace with -n",
    )


def refused(cluster: Cluster, verb: str, group: str, resource: str) -> AccessError:
    """The error for a request the cluster answered 401/403 during a run."""
    return denied_error(cluster, [Permission(group, resource, verb, "")])


def _allowed(cluster: Cluster, p: Permission) -> bool | None:
    """Whether the cluster allows ``p``; ``None`` if it will not say."""
    name, _, sub = p.resource.partition("/")
    review: Any = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": cluster.namespace,
                "verb": p.verb,
                "group": p.group,
                "resource": name,
                **({"subresource": sub} if sub else {}),
            }
        },
    }
    try:
        answer = client.AuthorizationV1Api(cluster.api).create_self_subject_access_review(review)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError):
        return None
    status = answer.status
    return bool(status is not None and status.allowed)
