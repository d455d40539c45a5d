"""What a run's object needs before its first Job: its ``volumeClaimTemplates`` claims
(:mod:`kjob.render.claims`) and its ``workflowMetadata`` labels and annotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kjob.errors import ClusterError
from kjob.render.claims import claim_manifests
from kjob.render.manifests import RunObject
from kjob.render.metadata import run_metadata
from kjob.spec.model import Workflow
from kubernetes import client


def create_claims(core: client.CoreV1Api, workflow: Workflow, run: RunObject) -> None:
    """Create each claim of the run; one that exists already (a resumed or retried start) is kept."""
    for manifest in claim_manifests(workflow, run):
        body: Any = manifest  # the client takes the manifest as a dict
        try:
            core.create_namespaced_persistent_volume_claim(run.namespace, body)
        except client.ApiException as err:
            if err.status == 409:
                continue
            name = body["metadata"]["name"]
            reason = f"{err.status} {err.reason}"
            raise ClusterError(
                f"could not create the PersistentVolumeClaim {name} of volumeClaimTemplates: {reason}",
                hint="kjob needs to create persistentvolumeclaims in the run's namespace",
            ) from None


def label_run(
    core: client.CoreV1Api, workflow: Workflow, run: RunObject, parameters: Mapping[str, str]
) -> None:
    """Put ``workflowMetadata``'s labels and annotations on the run object (the run ConfigMap), as Argo
    puts them on the Workflow."""
    labels, annotations = run_metadata(workflow, run.run_id, run.namespace, parameters)
    if not labels and not annotations:
        return
    body = {"metadata": {"labels": labels, "annotations": annotations}}
    try:
        core.patch_namespaced_config_map(run.run_id, run.namespace, body)
    except client.ApiException as err:
        raise ClusterError(
            f"could not label the run object with workflowMetadata: {err.status} {err.reason}"
        ) from None
