"""The PodDisruptionBudget of a run whose workflow has ``podDisruptionBudget`` (Argo's
``spec.podDisruptionBudget``, a Kubernetes PodDisruptionBudgetSpec).

As Argo's controller does, the spec is taken as written (``minAvailable``/``maxUnavailable``; an empty
spec stays empty) and, when it has no ``selector``, selects the run's pods: kjob's by their
``kjob.dev/run`` label.  It is named after the run and owned by the run object, so deleting the run
(``kjob delete``) deletes it; the run deletes it itself as it ends, as Argo deletes it when the workflow
completes.
"""

from __future__ import annotations

import copy
from typing import Any

from kjob.render import names
from kjob.render.manifests import RunObject
from kjob.spec.model import Workflow

Manifest = dict[str, Any]


def pdb_manifest(workflow: Workflow, run: RunObject) -> Manifest | None:
    """The run's PodDisruptionBudget, or ``None`` when the workflow asks for none."""
    if workflow.pod_disruption_budget is None:
        return None
    spec: Manifest = copy.deepcopy(dict(workflow.pod_disruption_budget))
    run_label = {names.LABEL_RUN: names.label_value(run.run_id)}
    if not spec.get("selector"):
        spec["selector"] = {"matchLabels": dict(run_label)}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": run.run_id,
            "namespace": run.namespace,
            "labels": {**run_label, names.LABEL_ROLE: "pdb"},
            "ownerReferences": [run.owner_reference()],
        },
        "spec": spec,
    }
