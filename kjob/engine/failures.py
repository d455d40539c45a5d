"""``workflow.failures``: the run's failed nodes as Argo writes them for the exit handler.

Argo marshals a list of ``{displayName, message, templateName, phase, podName, finishedAt}`` (Go's
field order; ``null`` when nothing failed) and quotes the JSON text as Go's ``strconv.Quote`` does, so
that the value survives substitution into other JSON.  kjob's nodes stand in for Argo's: the entrypoint
is named after the workflow, a task by its display name (or its name), and a pod by its attempt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from kjob.engine.state import Node


def workflow_failures(nodes: Iterable[Node], workflow_name: str, wall: Callable[[float], float]) -> str:
    """``wall`` turns a node's finish time (the engine's clock) into wall-clock seconds."""
    failed = [
        {
            "displayName": node.display_name or (workflow_name if _is_entry(node) else node.task.name),
            "message": node.message,
            "templateName": node.template.name,
            "phase": node.phase.value,
            "podName": node.attempts[-1].attempt_id if node.attempts else "",
            "finishedAt": _rfc3339(wall(node.finished_at) if node.finished_at is not None else None),
        }
        for node in nodes
        if node.phase.failed_or_error
    ]
    text = json.dumps(failed or None, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # as Go's json
    return json.dumps(text, ensure_ascii=False)  # strconv.Quote, for printable text


def _is_entry(node: Node) -> bool:
    return node.parent is None and node.scope.owner is None and node.id == node.template.name


def _rfc3339(at: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)) if at is not None else None
