"""Creating a run's ``volumeClaimTemplates`` claims (:mod:`kjob.render.claims`) before its first Job."""

from __future__ import annotations

from typing import Any

from kjob.errors import ClusterError
from kjob.render.claims import claim_manifests
from kjob.render.manifests import RunObject
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
