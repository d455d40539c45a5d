"""What the cluster's API server actually honours, found out rather than read off ``/version``.

Distributions backport features and gate them, so a version number says little.  An API server that
does not know a field (or has its feature gate off) drops it from a created object without an error;
a server-side dry-run create (validated, defaulted, never stored, nothing runs) shows whether it kept
the field.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3

from kjob.backends.kubernetes.cluster import Cluster, describe_error
from kubernetes import client

PROBE_IMAGE = "registry.invalid/kjob-probe"  # never pulled: a dry run stores and starts nothing


def backoff_limit_per_index(cluster: Cluster) -> str | None:
    """``None`` if Indexed Jobs with ``backoffLimitPerIndex`` work here, else why not (one phrase)."""
    probe: Any = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "kjob-probe-"},
        "spec": {
            "completionMode": "Indexed",
            "completions": 1,
            "parallelism": 1,
            "backoffLimitPerIndex": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": ["true"]}],
                }
            },
        },
    }
    try:
        created = cluster.batch.create_namespaced_job(cluster.namespace, probe, dry_run="All")
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        return f"the cluster refused a dry-run Indexed Job ({describe_error(err)})"
    spec = created.spec
    if spec is None or spec.backoff_limit_per_index is None:
        return "the cluster drops backoffLimitPerIndex (Kubernetes before 1.29, or its feature gate is off)"
    return None


def native_sidecars(cluster: Cluster) -> str | None:
    """``None`` if the API server keeps ``restartPolicy: Always`` on an init container (native
    sidecars: Kubernetes 1.29+, or 1.28 with the SidecarContainers gate), else why not."""
    probe: Any = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "kjob-probe-"},
        "spec": {
            "restartPolicy": "Never",
            "initContainers": [
                {"name": "sidecar", "image": PROBE_IMAGE, "command": ["true"], "restartPolicy": "Always"}
            ],
            "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": ["true"]}],
        },
    }
    try:
        created = cluster.core.create_namespaced_pod(cluster.namespace, probe, dry_run="All")
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        return f"the cluster refused a dry-run pod with a sidecar ({describe_error(err)})"
    inits = created.spec.init_containers if created.spec is not None else None
    if not inits or getattr(inits[0], "restart_policy", None) != "Always":
        return (
            "the cluster drops restartPolicy on init containers (Kubernetes before 1.29, or its gate is off)"
        )
    return None


def _kept_pod_field(cluster: Cluster, key: str, value: Any) -> bool | str:
    """Whether a dry-run pod with ``spec[key] = value`` keeps it, or why the server refused the pod.
    The raw answer is read: the client's own models may not know a field newer than they are."""
    probe: Any = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "kjob-probe-"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": ["true"]}],
            key: value,
        },
    }
    try:
        answer: Any = cluster.core.create_namespaced_pod(
            cluster.namespace, probe, dry_run="All", _preload_content=False
        )
        created = json.loads(answer.data)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as err:
        return describe_error(err) if not isinstance(err, ValueError) else str(err)
    return bool((created.get("spec") or {}).get(key))


def pod_resources(cluster: Cluster) -> str | None:
    """``None`` if the API server keeps pod-level ``resources`` (Kubernetes 1.32+ with the
    PodLevelResources gate), else why not (one phrase)."""
    kept = _kept_pod_field(cluster, "resources", {"limits": {"cpu": "1"}})
    if isinstance(kept, str):
        return f"the cluster refused a dry-run pod with pod-level resources ({kept})"
    return (
        None if kept else "the cluster drops pod-level resources (Kubernetes before 1.32, or its gate is off)"
    )


def resource_claims(cluster: Cluster) -> str | None:
    """``None`` if the API server keeps a pod's ``resourceClaims`` (dynamic resource allocation),
    else why not (one phrase)."""
    kept = _kept_pod_field(cluster, "resourceClaims", [{"name": "probe", "resourceClaimName": "kjob-probe"}])
    if isinstance(kept, str):
        return f"the cluster refused a dry-run pod with resourceClaims ({kept})"
    return (
        None
        if kept
        else "the cluster drops resourceClaims (dynamic resource allocation is off: the resource.k8s.io "
        "API and the DynamicResourceAllocation gate)"
    )
