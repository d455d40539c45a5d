"""A daemon's Job on Kubernetes: ready once its pod is Ready (its readinessProbe, run by the kubelet,
passes; the Job's ``status.ready`` counts it), reached at the pod's IP.  The Job never completes while
the daemon runs; kjob deletes it when the dag/steps that started it ends."""

from __future__ import annotations

from kjob.backends.kubernetes.cluster import Cluster
from kubernetes import client


def ready_pod_ip(cluster: Cluster, namespace: str, job: str) -> str | None:
    """The IP of the running, Ready pod of ``job`` (``None``: none is, or it has no IP yet)."""
    pods = cluster.core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items
    for pod in pods:
        status = pod.status
        if status is None or status.phase != "Running" or not status.pod_ip:
            continue
        if any(c.type == "Ready" and c.status == "True" for c in status.conditions or ()):
            ip: str = status.pod_ip
            return ip
    return None


def job_ready(status: client.V1JobStatus) -> bool:
    """Whether the Job controller counts a Ready pod of the Job."""
    return (status.ready or 0) > 0
