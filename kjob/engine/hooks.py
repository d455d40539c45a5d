"""What lifecycle hooks and suspend nodes need from the run's state, apart from the engine's loop.

* :func:`task_env` / :func:`workflow_env` — the variables a hook's ``expression`` reads, as nested maps
  the way Argo builds them (``tasks["a"].status``, ``steps.b.outputs.result``, ``workflow.status``).
* :func:`hook_due` — whether a hook should start now (an ``exit`` hook once its node has ended; any
  other once its expression is true).
* :func:`supplied_outputs` — the output parameters a resumed ``suspend`` node gets from the values
  given to ``kjob resume --node`` (``valueFrom.supplied``), Argo's way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kjob.engine.lookup import WorkflowInfo
from kjob.engine.state import Node, Phase
from kjob.errors import KjobError
from kjob.expr.condition import Condition, compile_condition
from kjob.spec.model import LifecycleHook, Template

_compiled: dict[str, Condition] = {}


def _node_env(node: Node) -> dict[str, Any]:
    outputs: dict[str, Any] = {"parameters": dict(node.parameters)}
    if node.result is not None:
        outputs["result"] = node.result
    env: dict[str, Any] = {"status": node.phase.value, "outputs": outputs}
    if node.exit_code is not None:
        env["exitCode"] = str(node.exit_code)
    return env


def workflow_env(info: WorkflowInfo) -> dict[str, Any]:
    """``workflow.*``: its status is ``Running`` until the entrypoint has ended."""
    return {
        "workflow": {
            "name": info.name,
            "namespace": info.namespace,
            "uid": info.uid,
            "status": info.status or Phase.RUNNING.value,
            "parameters": dict(info.parameters),
            "labels": dict(info.labels),
            "annotations": dict(info.annotations),
        }
    }


def task_env(node: Node, info: WorkflowInfo) -> dict[str, Any]:
    """What the hooks of ``node`` read: its siblings (``tasks``/``steps``; its own name reads ``node``
    itself, one item of a loop), its template's inputs, ``workflow``."""
    scope = node.scope
    nodes = {name: _node_env(sibling) for name, sibling in scope.nodes.items()}
    nodes[node.task.name] = _node_env(node)
    return {
        **workflow_env(info),
        "tasks": nodes,
        "steps": nodes,
        "inputs": {"parameters": dict(scope.inputs)},
    }


def hook_due(hook: LifecycleHook, ended: bool, env: Callable[[], Mapping[str, object]]) -> bool:
    """Whether ``hook`` starts now: an ``exit`` hook when its node has ``ended`` (and its expression,
    if any, holds); another hook when its expression holds.  ``env`` is built only when needed."""
    if hook.is_exit and not ended:
        return False
    if hook.expression is None:
        return hook.is_exit
    condition = _compiled.get(hook.expression)
    if condition is None:
        condition = _compiled[hook.expression] = compile_condition(hook.expression)
    try:
        return condition.holds(env())
    except KjobError as err:
        raise KjobError(f"hook '{hook.name}': {err.message}") from None


def supplied_outputs(
    template: Template, inputs: Mapping[str, str]
) -> Callable[[Mapping[str, str]], tuple[dict[str, str], str]]:
    """How a suspend node of ``template`` with ``inputs`` turns the values of a resume into its
    outputs: a supplied output is the value given for its name, else its ``valueFrom.default``, else
    the node's input of that name.  A value for an input with an ``enum`` must be one of it, and a
    value must name a supplied output or an input; otherwise the message says what is wrong."""
    supplied = [p for p in template.outputs.parameters if p.supplied]

    def outputs(values: Mapping[str, str]) -> tuple[dict[str, str], str]:
        known = {p.name for p in supplied} | {p.name for p in template.inputs.parameters}
        for name, value in values.items():
            if name not in known:
                names = ", ".join(sorted(known)) or "none"
                return (
                    {},
                    f"--set {name}: node has no supplied output or input of that name (it has: {names})",
                )
            declared = template.inputs.parameter(name)
            if declared is not None and declared.enum and value not in declared.enum:
                return {}, f"--set {name}={value}: not one of {', '.join(declared.enum)}"
        found: dict[str, str] = {}
        for param in supplied:
            given = values.get(param.name)
            if given is None:
                given = param.value_from_default
            if given is None:
                given = inputs.get(param.name)
            if given is not None:
                found[param.name] = given
        for param in template.outputs.parameters:
            if not param.supplied and param.value is not None:
                found.setdefault(param.name, param.value)
        return found, ""

    return outputs
