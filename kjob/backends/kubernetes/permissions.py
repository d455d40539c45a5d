"""A check before a run that the cluster allows every verb of :mod:`kjob.render.permissions`'s table.

:func:`check` asks the cluster (``SelfSubjectAccessReview``, what ``kubectl auth can-i`` asks) about
each entry a run needs before the run creates anything.  A run that may not watch its Jobs would
otherwise wait for ever on a watch that is refused; this way it stops at once, naming what is
missing, and leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import urllib3

from kjob.backends.kubernetes.cluster import Cluster
from kjob.errors import AccessError
from kjob.render.permissions import PERMISSIONS, Need, Permission, features, needed, workflow_needs
from kubernetes import client

__all__ = [
    "PERMISSIONS",
    "Need",
    "Permission",
    "check",
    "denied_error",
    "features",
    "needed",
    "refused",
    "workflow_needs",
]


def check(cluster: Cluster, features: Collection[Need] = (), extra: Collection[Permission] = ()) -> None:
    """Raise :class:`AccessError` naming every verb the run needs and may not use in
    ``cluster.namespace``.  A cluster that will not answer access reviews is not refused here: the
    backend then reports the first refused request the same way."""
    denied: list[Permission] = []
    for permission in needed(features, extra):
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
