"""The workflow-level settings about a run's objects: ``podGC``, ``ttlStrategy`` and
``workflowMetadata``.

They change nothing in how the tasks run; the kubernetes backend applies them as the run ends
(:mod:`kjob.backends.kubernetes.rungc`) and to the run object (``workflowMetadata``).
"""

from __future__ import annotations

from kjob.spec import fields as F
from kjob.spec.model import Mark, PodGC, TTLStrategy, Workflow, WorkflowMetadata, frozen_map
from kjob.spec.reader import INT32_MAX, Reader
from kjob.spec.values import plain
from kjob.spec.yamlnodes import YamlMap

POD_GC_STRATEGIES = ("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")
_OPERATORS = {"In": "in", "NotIn": "notin"}


def pod_gc(r: Reader, spec: YamlMap) -> PodGC | None:
    node = r.mapping(spec, "podGC")
    if node is None:
        return None
    r.fields(node, F.POD_GC)
    strategy = r.string(node, "strategy") or ""
    if strategy and strategy not in POD_GC_STRATEGIES:
        r.diag.error(
            f"unknown podGC strategy '{strategy}'",
            r.src.value(node, "strategy"),
            hint=F.suggest(strategy, POD_GC_STRATEGIES, noun="strategies"),
        )
        strategy = ""
    selector = ""
    if "labelSelector" in node:
        selector = _selector(r, node)
    delay = r.duration(node, "deleteDelayDuration") or 0.0
    return PodGC(strategy, selector, delay, r.src.key(spec, "podGC"))


def _selector(r: Reader, node: YamlMap) -> str:
    """A ``labelSelector`` (matchLabels, matchExpressions) as a selector text the API reads."""
    body = r.mapping(node, "labelSelector")
    if body is None:
        return ""
    r.fields(body, F.LABEL_SELECTOR)
    parts = [f"{k}={v}" for k, v in r.string_map(body, "matchLabels").items()]
    for item, mark in r.items(r.sequence(body, "matchExpressions"), "match expression"):
        r.fields(item, F.LABEL_SELECTOR_REQUIREMENT)
        key, operator = r.string(item, "key"), r.string(item, "operator")
        values = [str(v) for v in plain(item.get("values") or [])]
        if not key or operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            r.diag.error(
                "a match expression needs a key and an operator In, NotIn, Exists or DoesNotExist", mark
            )
            continue
        if operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {_OPERATORS[operator]} ({','.join(values)})")
    return ",".join(parts)


def ttl_strategy(r: Reader, spec: YamlMap) -> TTLStrategy | None:
    node = r.mapping(spec, "ttlStrategy")
    if node is None:
        return None
    r.fields(node, F.TTL_STRATEGY)
    seconds = {
        key: r.integer(node, key, maximum=INT32_MAX)
        for key in ("secondsAfterCompletion", "secondsAfterSuccess", "secondsAfterFailure")
    }
    return TTLStrategy(
        mark=r.src.key(spec, "ttlStrategy"),
        after_completion=seconds["secondsAfterCompletion"],
        after_success=seconds["secondsAfterSuccess"],
        after_failure=seconds["secondsAfterFailure"],
    )


def workflow_metadata(r: Reader, spec: YamlMap) -> WorkflowMetadata | None:
    node = r.mapping(spec, "workflowMetadata")
    if node is None:
        return None
    r.fields(node, F.WORKFLOW_SPEC_METADATA)
    labels_from: dict[str, str] = {}
    froms = r.mapping(node, "labelsFrom")
    for key, value in (froms or {}).items():
        if not isinstance(value, YamlMap):
            r.wrong_type(froms or node, key, "a mapping with an expression")
            continue
        r.fields(value, F.LABEL_VALUE_FROM)
        expression = r.string(value, "expression")
        if expression is None:
            r.diag.error(f"labelsFrom '{key}' has no expression", r.src.key(froms or node, key))
            continue
        labels_from[str(key)] = expression
    return WorkflowMetadata(
        labels=r.string_map(node, "labels"),
        annotations=r.string_map(node, "annotations"),
        labels_from=frozen_map(labels_from),
    )


def local_notes(workflow: Workflow) -> list[tuple[str, Mark, str]]:
    """What the local backend does not do of these settings (message, place, hint), for lint."""
    notes: list[tuple[str, Mark, str]] = []
    if workflow.pod_gc is not None and workflow.pod_gc.strategy:
        notes.append(("podGC does nothing: a task is a host process, not a pod", workflow.pod_gc.mark, _KEPT))
    if workflow.ttl_strategy is not None:
        notes.append(
            ("ttlStrategy does nothing: a run is kept until deleted", workflow.ttl_strategy.mark, _KEPT)
        )
    return notes


_KEPT = "a local run's logs and files stay in its run directory until `kjob delete RUN`"
