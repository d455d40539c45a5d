"""Building ``spec.podDisruptionBudget``: a Kubernetes PodDisruptionBudgetSpec, kept as written for the
run's PodDisruptionBudget (:mod:`kjob.render.pdb`).  Its keys are checked, and ``minAvailable`` with
``maxUnavailable`` is refused as the API server refuses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kjob.spec import fields as F
from kjob.spec.model import Mark, Workflow
from kjob.spec.reader import Reader
from kjob.spec.values import plain
from kjob.spec.yamlnodes import YamlMap

# a Kubernetes PodDisruptionBudgetSpec (Argo's schema does not list its fields): kept as written
SPEC_FIELDS = F.FieldSet(
    "podDisruptionBudget",
    supported=frozenset({"minAvailable", "maxUnavailable", "selector", "unhealthyPodEvictionPolicy"}),
)
LOCAL_NOTE = "podDisruptionBudget does nothing: a task is a host process, not a pod that can be evicted"


def pod_disruption_budget(r: Reader, spec: YamlMap) -> tuple[Mapping[str, Any] | None, Mark | None]:
    """The spec as written and its place, or ``(None, None)`` when the workflow has none."""
    body = r.mapping(spec, "podDisruptionBudget")
    if body is None:
        if "podDisruptionBudget" in spec and spec.get("podDisruptionBudget") is None:
            return {}, r.src.key(spec, "podDisruptionBudget")  # `podDisruptionBudget:` alone: empty
        return None, None
    r.fields(body, SPEC_FIELDS, "podDisruptionBudget")
    if body.get("minAvailable") is not None and body.get("maxUnavailable") is not None:
        r.diag.error(
            "podDisruptionBudget has both minAvailable and maxUnavailable",
            r.src.key(body, "maxUnavailable"),
            hint="Kubernetes takes one of them: keep minAvailable or maxUnavailable",
        )
    for key in ("minAvailable", "maxUnavailable"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
            r.wrong_type(body, key, "a number or a percentage ('50%')")
    return plain(body), r.src.key(spec, "podDisruptionBudget")


def local_note(workflow: Workflow) -> list[tuple[str, Mark, str]]:
    """What the local backend makes of it, for lint (message, place, hint)."""
    if workflow.pod_disruption_budget is None:
        return []
    return [(LOCAL_NOTE, workflow.pod_disruption_budget_mark, "it applies on the kubernetes backend")]
