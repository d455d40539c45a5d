"""``run.json``: what happened in a run, kept up to date while it runs.

Per node: phase, message, when its next attempt starts while it waits to retry (``next_retry``), and
per attempt the queued/started/finished times (wall clock, seconds since the epoch) and the log file.
``kjob logs`` reads it; the simulator calibrates start-up overhead and
durations from it.
"""

from __future__ import annotations

import time
from typing import Any

from kjob import jsonlines
from kjob.engine.engine import RunResult
from kjob.engine.state import Node
from kjob.rundir import RunDir

_MIN_INTERVAL = 0.5


class RunRecorder:
    """An engine observer that writes ``run.json`` (at most twice a second, and at the end).  A big
    record takes a while to write, on the engine's own thread: it is written at most once per twenty
    times as long as the last write took, so recording never costs a run more than 5% of its time."""

    def __init__(self, run_dir: RunDir, *, header: dict[str, Any], clock_now: float) -> None:
        self.run_dir = run_dir
        self.header = dict(header)
        self._offset = time.time() - clock_now
        self._nodes: dict[str, Node] = {}
        self._built: dict[str, tuple[tuple[Any, ...], bytes]] = {}  # id: (signature, its entry's JSON)
        self._last = 0.0
        self._pause = _MIN_INTERVAL
        self._unfinished = ""  # the phase and message of unfinished nodes, once the run was aborted
        self._dirty = False  # a node changed since the last write
        self.header["phase"] = "Running"
        self.header.setdefault("metrics", [])  # evaluated as nodes end: written with the run's end
        if self.header.get("started") is None:  # a resumed run keeps its first start
            self.header["started"] = round(clock_now + self._offset, 3)
        self._write()

    def node_changed(self, node: Node) -> None:
        self._nodes[node.id] = node
        self._dirty = True
        if time.monotonic() - self._last >= self._pause:
            self._write()

    def idle(self) -> None:
        """Between the engine's steps: write what changed since the last write once it is due, so a
        reader (``kjob ui``, ``kjob watch``) sees a task that started just after a write without
        waiting for the next change."""
        if self._dirty and time.monotonic() - self._last >= self._pause:
            self._write()

    def finish(self, result: RunResult) -> None:
        for node in result.nodes:
            self._nodes[node.id] = node
        self.header.update(
            phase=result.phase.value,
            message=result.message,
            finished=self._wall(result.finished_at),
            interrupted=result.interrupted,
            detached=result.detached,
        )
        if result.outputs:  # the outputs given a globalName
            self.header["outputs"] = result.outputs
        self.header["metrics"] = result.metrics  # the custom metrics, as evaluated
        self._write()

    def abort(self, message: str, at: float) -> None:
        """The run could not go on (kjob's or the platform's error, or a second interrupt): the
        record is closed as ``Error`` with what stopped it; every node as it was last seen, except
        that one not finished says it ended with the run."""
        self.header.update(phase="Error", message=message, finished=self._wall(at))
        self._unfinished = f"ended with the run: {message}"
        self._write()

    def _wall(self, t: float | None) -> float | None:
        return None if t is None else round(t + self._offset, 3)

    def _write(self) -> None:
        began = time.monotonic()
        nodes = b"[" + b",".join([self._node_json(n) for n in self._nodes.values()]) + b"]"
        self.run_dir.write_record_text(record_with_nodes(self.header, nodes))
        self._dirty = False
        self._last = time.monotonic()
        self._pause = max(_MIN_INTERVAL, 20 * (self._last - began))

    def _node_json(self, node: Node) -> bytes:
        """The node's entry as JSON, made again only when something it shows has changed since the last
        write (a record of thousands of nodes is written twice a second; most of them did not move)."""
        last = node.attempts[-1] if node.attempts else None
        signature = (
            node.phase,
            node.message,
            node.started_at,
            node.finished_at,
            node.exit_code,
            node.retry_at,
            len(node.attempts),
            len(node.inputs),
            None if last is None else (last.started_at, last.finished_at, last.phase),
            self._unfinished,
        )
        built = self._built.get(node.id)
        if built is None or built[0] != signature:
            built = self._built[node.id] = (signature, jsonlines.dumps(self._node(node), sort_keys=True))
        return built[1]

    def _node(self, node: Node) -> dict[str, Any]:
        shown = {"display_name": node.display_name} if node.display_name is not None else {}
        return {
            **shown,
            "id": node.id,
            "task": node.task.name,
            "template": node.template.name,
            "phase": "Error" if self._unfinished and not node.phase.finished else node.phase.value,
            "message": self._unfinished if self._unfinished and not node.phase.finished else node.message,
            "started": self._wall(node.started_at),
            "finished": self._wall(node.finished_at),
            "next_retry": self._wall(node.retry_at),
            "group": node.is_group,
            "parent": _parent_id(node),
            "depends": _depends(node),
            "inputs": dict(node.inputs),
            "outputs": {
                "parameters": dict(node.parameters),
                "artifacts": dict(node.artifacts),
                "result": _clip(node.result),
                "exit_code": node.exit_code,
            },
            "attempts": [
                {
                    "id": a.attempt_id,
                    "queued": self._wall(a.queued_at),
                    "started": self._wall(a.started_at),
                    "finished": self._wall(a.finished_at),
                    "phase": a.phase.value if a.phase else None,
                    "exit_code": a.exit_code,
                    "message": a.message,
                    "log": f"logs/{a.attempt_id}.log",
                }
                for a in node.attempts
            ],
        }


def _depends(node: Node) -> list[str]:
    """The ids of the sibling nodes this task waits for (an item waits for what its group waits for)."""
    if node.parent is not None:
        return []
    scope = node.scope
    return [scope.nodes[name].id for name in scope.deps.get(node.task.name, ()) if name in scope.nodes]


def _parent_id(node: Node) -> str:
    """The node a node belongs to: an item's fan-out, else the node whose template holds its task
    (``""`` for a top node)."""
    if node.parent is not None:
        return node.parent.id
    owner = node.scope.owner
    return "" if owner is None else owner.id


def record_with_nodes(header: dict[str, Any], nodes: bytes) -> bytes:
    """The text :func:`~kjob.rundir.record_text` makes of ``header`` with ``"nodes"``, the JSON array
    ``nodes`` (already written), among its sorted keys."""
    before = jsonlines.dumps({k: v for k, v in header.items() if k < "nodes"}, sort_keys=True)
    after = jsonlines.dumps({k: v for k, v in header.items() if k > "nodes"}, sort_keys=True)
    head = before[:-1] + (b"," if len(before) > 2 else b"")
    tail = b"," + after[1:] if len(after) > 2 else b"}"
    return head + b'"nodes":' + nodes + tail + b"\n"


_RESULT_KEPT = 4096


def _clip(text: str | None) -> str | None:
    """Keep ``run.json`` small: the first 4 KiB of a result (the full output is in the log)."""
    return text if text is None or len(text) <= _RESULT_KEPT else text[:_RESULT_KEPT]
