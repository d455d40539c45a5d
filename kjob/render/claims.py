"""The PersistentVolumeClaims of a run's ``volumeClaimTemplates`` (:mod:`kjob.spec.build_claims`).

One claim per template, named ``<run>-<name>`` and owned by the run object, so that deleting the run
(``kjob delete``) deletes its claims with its Jobs, as Argo's default ``volumeClaimGC`` deletes them with
the workflow.
"""

from __future__ import annotations

import copy
from typing import Any

from kjob.render import names
from kjob.render.manifests import RunObject
from kjob.spec.build_claims import claim_name
from kjob.spec.model import Workflow

Manifest = dict[str, Any]


def claim_manifests(workflow: Workflow, run: RunObject) -> list[Manifest]:
    """The claims ``run`` mounts, in the order the workflow lists them."""
    found: list[Manifest] = []
    for template in workflow.volume_claims:
        body: Manifest = copy.deepcopy(dict(template))
        meta = dict(body.get("metadata") or {})
        name = str(meta.get("name"))
        labels = dict(meta.get("labels") or {})
        labels.update({names.LABEL_RUN: names.label_value(run.run_id), names.LABEL_ROLE: "claim"})
        meta.update(
            {
                "name": claim_name(run.run_id, name),
                "namespace": run.namespace,
                "labels": labels,
                "ownerReferences": [run.owner_reference()],
            }
        )
        body.update({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta})
        body.pop("status", None)
        found.append(body)
    return found
