"""The run workspace's PersistentVolumeClaim must exist before a run that passes artifacts starts."""

from __future__ import annotations

from typing import Any

from kjob.errors import KjobError
from kjob.render.workspace import OPTION
from kubernetes import client


def check_claim(core: Any, namespace: str, claim: str) -> None:
    """The claim must exist: a pod that mounts a missing claim stays Pending forever.  Not being
    allowed to read claims (403) is not an error: the pods will tell."""
    try:
        core.read_namespaced_persistent_volume_claim(claim, namespace)
    except client.ApiException as err:
        if err.status == 404:
            raise KjobError(
                f"{OPTION} {claim}: no PersistentVolumeClaim '{claim}' in namespace {namespace}",
                hint="create it first (kubectl apply -f pvc.yaml), or choose another namespace with -n",
            ) from None
        if err.status != 403:
            raise
