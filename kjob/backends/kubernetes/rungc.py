"""A Kubernetes run's ``podGC`` and ``ttlStrategy``, applied by the kjob that sees the run end.

``podGC`` deletes the run's pods that its strategy names (the succeeded ones for ``OnPodSuccess``,
all of them for ``OnPodCompletion`` and ``OnWorkflowCompletion``, all of them once the run succeeded
for ``OnWorkflowSuccess``) and that match its ``labelSelector``; the Jobs stay, so the run's record
and outcome stay readable.  kjob deletes them when the run ends, once it has read every pod's outcome,
not as each pod completes (there is no controller to do it while no kjob watches); a
``deleteDelayDuration`` is therefore not waited for.

``ttlStrategy`` deletes the whole run (its ConfigMap, and through it its Jobs, pods and claims) that
many seconds after it ended, with no controller: kjob creates a Job with no pods (``completions: 0``,
complete at once) whose ``ttlSecondsAfterFinished`` is the run's time to live, and adds it to the
run ConfigMap's owners.  The cluster's TTL controller deletes that Job when the time is up, and the
garbage collector the run with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import urllib3

from kjob.backends.kubernetes.backend import KubernetesBackend
from kjob.backends.kubernetes.cluster import describe_error
from kjob.render import names
from kjob.spec.model import Workflow
from kubernetes import client

_ERRORS = (client.ApiException, urllib3.exceptions.HTTPError, OSError)


def collect(backend: object, workflow: Workflow, *, succeeded: bool, notice: Callable[[str], None]) -> None:
    """Apply ``podGC`` and ``ttlStrategy`` to a Kubernetes run that ended (nothing for another backend)."""
    if not isinstance(backend, KubernetesBackend):
        return
    try:
        _pod_gc(backend, workflow, succeeded)
    except _ERRORS as err:
        notice(f"podGC: could not delete the run's pods ({describe_error(err)})")
    ttl = workflow.ttl_strategy.seconds(succeeded) if workflow.ttl_strategy is not None else None
    if ttl is None:
        return
    try:
        _expire(backend, ttl)
    except _ERRORS as err:
        notice(f"ttlStrategy: could not give the run a time to live ({describe_error(err)})")


def _pod_gc(backend: KubernetesBackend, workflow: Workflow, succeeded: bool) -> None:
    gc = workflow.pod_gc
    if gc is None or not gc.strategy or (gc.strategy == "OnWorkflowSuccess" and not succeeded):
        return
    run = backend.run
    selector = ",".join(s for s in (names.run_selector(run.run_id), gc.selector) if s)
    core = backend.cluster.core
    pods = core.list_namespaced_pod(run.namespace, label_selector=selector).items
    for pod in pods:
        phase = pod.status.phase if pod.status is not None else None
        if gc.strategy == "OnPodSuccess" and phase != "Succeeded":
            continue
        try:
            core.delete_namespaced_pod(str(_meta(pod).name), run.namespace)
        except client.ApiException as err:
            if err.status != 404:
                raise


def reaper_name(run_id: str) -> str:
    return names.slug(f"{run_id}-ttl")


def _expire(backend: KubernetesBackend, ttl: int) -> None:
    run = backend.run
    name = reaper_name(run.run_id)
    job: Any = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            # not the run's label: the run's Jobs are its attempts, this one only keeps its time
            "labels": {names.LABEL_ROLE: "ttl"},
            "annotations": {names.LABEL_RUN: run.run_id},
        },
        "spec": {
            "completions": 0,
            "parallelism": 0,
            "ttlSecondsAfterFinished": ttl,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "none", "image": "none", "command": ["true"]}],
                }
            },
        },
    }
    batch = backend.cluster.batch
    try:
        created = batch.create_namespaced_job(run.namespace, job)
    except client.ApiException as err:
        if err.status != 409:
            raise
        created = batch.read_namespaced_job(name, run.namespace)  # the run ended before: keep its clock
    core = backend.cluster.core
    held = core.read_namespaced_config_map(run.run_id, run.namespace)
    owners = [o.to_dict() for o in (_meta(held).owner_references or [])]
    owners = [
        {"apiVersion": o["api_version"], "kind": o["kind"], "name": o["name"], "uid": o["uid"]}
        for o in owners
    ]
    if any(o["uid"] == _meta(created).uid for o in owners):
        return
    owners.append({"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": _meta(created).uid})
    core.patch_namespaced_config_map(run.run_id, run.namespace, {"metadata": {"ownerReferences": owners}})


def _meta(obj: Any) -> client.V1ObjectMeta:
    meta: client.V1ObjectMeta = obj.metadata
    return meta
