"""Resolving ``<< ref >>`` / ``{{ ref }}`` references against the run's state.

A lookup is a function from a dotted reference (``tasks.a.outputs.result``) to its text; unknown or
not-yet-known references raise ``KeyError`` and the expression layer turns that into a TemplateError
pointing at the reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kjob.engine.state import NO_ITEM, Node, Phase, Scope
from kjob.expr import Absent

Lookup = Callable[[str], str]


def item_text(item: Any) -> str:
    """How an item reads when substituted: strings as they are, everything else as JSON (Argo's way)."""
    if isinstance(item, str):
        return item
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return json.dumps(item)
    return json.dumps(item, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """The ``workflow.*`` values of a run."""

    name: str
    namespace: str
    uid: str
    parameters: Mapping[str, str]
    status: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # the workflow's metadata, as in Argo
    annotations: Mapping[str, str] = field(default_factory=dict)
    # the outputs given a ``globalName`` so far: ``workflow.outputs.parameters.X`` / ``.artifacts.X``
    output_parameters: Mapping[str, str] = field(default_factory=dict)
    output_artifacts: Mapping[str, str] = field(default_factory=dict)
    created: str | None = None  # workflow.creationTimestamp: when the run started, RFC 3339 in UTC
    scheduled: str | None = None  # workflow.scheduledTime: a CronWorkflow's run's (RFC 3339)
    main_entrypoint: str = ""  # workflow.mainEntrypoint
    service_account_name: str = ""  # workflow.serviceAccountName
    # known once the entrypoint has ended (the exit handler reads them): workflow.duration, .failures
    duration: str | None = None
    failures: str | None = None

    def get(self, parts: list[str]) -> str:
        if parts == ["name"]:
            return self.name
        if parts == ["namespace"]:
            return self.namespace
        if parts == ["uid"]:
            return self.uid
        if parts == ["status"] and self.status is not None:
            return self.status
        if len(parts) == 2 and parts[0] == "parameters" and parts[1] in self.parameters:
            return self.parameters[parts[1]]
        if len(parts) == 3 and parts[0] == "outputs" and parts[1] in ("parameters", "artifacts"):
            outputs = self.output_parameters if parts[1] == "parameters" else self.output_artifacts
            if parts[2] in outputs:
                return outputs[parts[2]]
        if parts == ["parameters", "json"]:  # all of them, as Argo writes spec.arguments.parameters
            listed = [{"name": k, "value": v} for k, v in self.parameters.items()]
            return json.dumps(listed, separators=(",", ":"))
        if parts == ["creationTimestamp"] and self.created is not None:
            return self.created
        if parts == ["scheduledTime"] and self.scheduled is not None:
            return self.scheduled
        if parts == ["mainEntrypoint"]:
            return self.main_entrypoint
        if parts == ["serviceAccountName"]:
            return self.service_account_name
        if parts == ["duration"] and self.duration is not None:
            return self.duration
        if parts == ["failures"] and self.failures is not None:
            return self.failures
        if len(parts) >= 1 and parts[0] in ("labels", "annotations"):
            key = ".".join(parts[1:])  # a key's own dots (example.com/owner) split the reference
            values = self.labels if parts[0] == "labels" else self.annotations
            if key in values:
                return values[key]
            if key in ("", "json"):
                return go_json(values)
        raise KeyError(".".join(["workflow", *parts]))


def go_json(values: Mapping[str, str]) -> str:
    """``values`` as Go's json.Marshal writes a map: keys sorted, compact, and <, > and & escaped."""
    text = json.dumps(dict(sorted(values.items())), separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _node_value(node: Node, parts: list[str], ref: str) -> str:
    """``tasks.X.<parts>`` for one finished node."""
    if parts == ["status"]:
        return node.phase.value
    if parts == ["exitCode"] and node.exit_code is not None:
        return str(node.exit_code)
    if parts == ["ip"] and node.ip is not None:
        return node.ip
    if parts == ["outputs", "result"] and node.result is not None:
        return node.result
    if parts == ["outputs", "parameters"] and node.parameter_sets is not None:
        return node.parameter_sets
    if len(parts) == 3 and parts[:2] == ["outputs", "parameters"] and parts[2] in node.parameters:
        return node.parameters[parts[2]]
    if len(parts) == 3 and parts[:2] == ["outputs", "artifacts"] and parts[2] in node.artifacts:
        return node.artifacts[parts[2]]
    if node.phase in (Phase.SKIPPED, Phase.OMITTED):
        return _not_run_value(node, parts, ref)
    raise KeyError(ref)


def _not_run_value(node: Node, parts: list[str], ref: str) -> str:
    """An output of a task that did not run (skipped or omitted), as Argo (>= 4.0.7) reads it: a
    declared output parameter is its ``valueFrom.default``; without one, and for ``outputs.result``,
    it is absent, which a consumer's input ``default`` may stand in for (see the engine)."""
    if parts == ["outputs", "result"]:
        raise Absent(ref)
    if len(parts) == 3 and parts[:2] == ["outputs", "parameters"]:
        declared = next((p for p in node.template.outputs.parameters if p.name == parts[2]), None)
        if declared is not None:
            if declared.value_from_default is not None:
                return declared.value_from_default
            raise Absent(ref)
    raise KeyError(ref)


def scope_lookup(scope: Scope, workflow: WorkflowInfo, item: Any = NO_ITEM) -> Lookup:
    """References visible to a task of ``scope``: its DAG's inputs, sibling tasks, ``item``, workflow."""

    def lookup(ref: str) -> str:
        parts = ref.split(".")
        head = parts[0]
        if head in ("tasks", "steps") and len(parts) >= 3 and parts[1] in scope.nodes:
            return _node_value(scope.nodes[parts[1]], parts[2:], ref)
        if head == "item" and item is not NO_ITEM:
            if len(parts) == 1:
                return item_text(item)
            if len(parts) == 2 and isinstance(item, dict) and parts[1] in item:
                return item_text(item[parts[1]])
        if head == "inputs":
            return _inputs_value(scope.inputs, scope.input_artifacts, parts, ref)
        if head == "workflow":
            return workflow.get(parts[1:])
        raise KeyError(ref)

    return lookup


def template_lookup(
    inputs: Mapping[str, str], input_artifacts: Mapping[str, str], workflow: WorkflowInfo
) -> Lookup:
    """References visible to a ``dag``/``steps`` template itself (its ``target``): its inputs and the
    workflow's values."""

    def lookup(ref: str) -> str:
        parts = ref.split(".")
        if parts[0] == "inputs":
            return _inputs_value(inputs, input_artifacts, parts, ref)
        if parts[0] == "workflow":
            return workflow.get(parts[1:])
        raise KeyError(ref)

    return lookup


def _inputs_value(params: Mapping[str, str], artifacts: Mapping[str, str], parts: list[str], ref: str) -> str:
    if len(parts) == 3 and parts[1] == "parameters" and parts[2] in params:
        return params[parts[2]]
    if len(parts) == 3 and parts[1] == "artifacts" and parts[2] in artifacts:
        return artifacts[parts[2]]
    raise KeyError(ref)


def container_lookup(
    node: Node, workflow: WorkflowInfo, attempt: int, artifact_paths: Mapping[str, str] | None = None
) -> Lookup:
    """References visible inside a container or script template: its inputs, ``retries``, workflow.
    ``artifact_paths`` (input artifact -> its path) may be passed by a caller that keeps it."""
    if artifact_paths is None:
        artifact_paths = {a.name: a.path or "" for a in node.template.inputs.artifacts}

    def lookup(ref: str) -> str:
        parts = ref.split(".")
        if ref == "retries":
            return str(attempt)
        if parts[0] == "inputs":
            if (
                len(parts) == 4
                and parts[1] == "artifacts"
                and parts[3] == "path"
                and parts[2] in artifact_paths
            ):
                return artifact_paths[parts[2]]
            return _inputs_value(node.inputs, {}, parts, ref)
        if parts[0] == "workflow":
            return workflow.get(parts[1:])
        if parts[0] == "outputs" and len(parts) == 4 and parts[3] == "path":
            found = node.template.output_path(parts[1], parts[2])
            if found is not None:
                return found
        raise KeyError(ref)

    return lookup


def own_lookup(node: Node, base: Lookup) -> Lookup:
    """``base``, except that ``tasks.X.*`` / ``steps.X.*`` of ``node``'s own task read ``node`` itself:
    what an item of a loop's hooks read (its own outputs, as Argo's hooks do)."""
    name = node.task.name

    def lookup(ref: str) -> str:
        parts = ref.split(".")
        if parts[0] in ("tasks", "steps") and len(parts) >= 3 and parts[1] == name:
            return _node_value(node, parts[2:], ref)
        return base(ref)

    return lookup
