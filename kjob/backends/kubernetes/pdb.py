"""The run's PodDisruptionBudget (:mod:`kjob.render.pdb`): created before its first Job, deleted as the
run ends (Argo's controller deletes it when the workflow completes); owned by the run object, so
deleting the run deletes it too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import urllib3

from kjob.backends.kubernetes.backend import KubernetesBackend
from kjob.backends.kubernetes.cluster import describe_error
from kjob.errors import ClusterError
from kjob.render.manifests import RunObject
from kjob.render.pdb import pdb_manifest
from kjob.spec.model import Workflow
from kubernetes import client


def create_pdb(api: client.ApiClient, workflow: Workflow, run: RunObject) -> None:
    """Create the run's PodDisruptionBudget, if its workflow has one; one that exists already (a
    resumed start) is kept."""
    manifest = pdb_manifest(workflow, run)
    if manifest is None:
        return
    body: Any = manifest  # the client takes the manifest as a dict
    try:
        client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(run.namespace, body)
    except client.ApiException as err:
        if err.status == 409:
            return
        raise ClusterError(
            f"could not create the run's PodDisruptionBudget: {err.status} {err.reason}",
            hint="kjob needs to create poddisruptionbudgets (policy) in the run's namespace",
        ) from None


def delete_pdb(backend: KubernetesBackend, workflow: Workflow, notice: Callable[[str], None]) -> None:
    """Delete the run's PodDisruptionBudget as the run ends (one already gone is fine); if the cluster
    refuses, a notice says so: it goes with the run object all the same."""
    if workflow.pod_disruption_budget is None:
        return
    run = backend.run
    try:
        client.PolicyV1Api(backend.cluster.api).delete_namespaced_pod_disruption_budget(
            run.run_id, run.namespace
        )
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        if isinstance(err, client.ApiException) and err.status == 404:
            return
        notice(
            f"could not delete the run's PodDisruptionBudget ({describe_error(err)}): "
            "it is deleted with the run (kjob delete)"
        )
