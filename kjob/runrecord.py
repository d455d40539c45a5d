"""``run.json``, typed: the one schema its writer (:mod:`kjob.engine.record`) and every reader (``kjob
list``/``get``/``logs``, the simulator's calibration, the web page, Python users) share.

A record is read once into frozen values (:class:`RunRecord` holding :class:`NodeRecord` holding
:class:`AttemptRecord`), checked against their types by msgspec as it is read: a record that is not
what the writer writes is one located line (``run.json: damaged run record (Expected `str`, got `int` -
at `$.nodes[3].phase`)``), never a ``KeyError`` somewhere later.  Records written by an older kjob read
too: a field they lack takes its default (``parent`` is then worked out from the node id), a field a
newer kjob added is ignored.

Times are wall-clock seconds since the epoch (``None`` until they happen); phases are Argo's words
(``Pending``, ``Running``, ``Succeeded``, ``Failed``, ``Error``, ``Skipped``, ``Omitted``).  The writer
keeps building its bytes itself (it rewrites a big record twice a second and caches each node's JSON);
:func:`RunRecord.to_dict` gives the same keys, and a test holds the two to one another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from kjob import jsonlines
from kjob.errors import KjobError

#: the phases in which a run, a node or an attempt has ended
FINISHED = frozenset({"Succeeded", "Failed", "Error", "Skipped", "Omitted"})
#: the phases a script treats as failure
FAILED = frozenset({"Failed", "Error"})
#: the id of the exit handler's node (a top node, like the entrypoint's)
EXIT_NODE = "onExit"


class AttemptRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One try of a task: its id (the Job's or process's), when it was queued, started and
    finished, how it ended and where its log is (relative to the run directory)."""

    id: str = ""
    queued: float | None = None
    started: float | None = None
    finished: float | None = None
    phase: str | None = None
    exit_code: int | None = None
    message: str = ""
    log: str = ""

    @property
    def duration(self) -> float | None:
        return _span(self.started, self.finished)


class OutputsRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a node produced: output parameters, artifacts (name: where stored), the first 4 KiB of
    ``outputs.result`` and the last attempt's exit code."""

    parameters: dict[str, str] = msgspec.field(default_factory=dict)
    artifacts: dict[str, str] = msgspec.field(default_factory=dict)
    result: str | None = None
    exit_code: int | None = None


class NodeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One thing the run shows a state for: a task, one item of a fanned-out task (``group`` is the
    fan-out itself), a nested template or the exit handler.

    ``parent`` is the id of the node it belongs to (the fan-out of an item, the task whose template
    holds it), ``""`` for a top node (the entrypoint, the exit handler), ``None`` in a record written
    before kjob kept it.  ``depends`` are the ids of the sibling nodes it waits for; ``next_retry``
    when a task waiting to be tried again will be.  Ids read as paths: ``outer.inner`` is task
    ``inner`` of the template ``outer`` calls, ``fan(2:b)`` item 2 (``b``) of ``fan``."""

    id: str
    task: str = ""
    template: str = ""
    phase: str = "Pending"
    message: str = ""
    started: float | None = None
    finished: float | None = None
    next_retry: float | None = None
    group: bool = False
    parent: str | None = None
    depends: tuple[str, ...] = ()
    inputs: dict[str, str] = msgspec.field(default_factory=dict)
    outputs: OutputsRecord = msgspec.field(default_factory=OutputsRecord)
    attempts: tuple[AttemptRecord, ...] = ()

    @property
    def duration(self) -> float | None:
        return _span(self.started, self.finished)

    @property
    def finished_phase(self) -> bool:
        return self.phase in FINISHED

    @property
    def parent_id(self) -> str | None:
        """``parent`` (``""`` in the record for a top node), or for a record written before kjob
        kept it, what the id says."""
        if self.parent is not None:
            return self.parent or None
        return parent_from_id(self.id)


class BucketRecord(msgspec.Struct, frozen=True):
    """A histogram bucket: how many observations were at most ``le``."""

    le: float
    count: int


class MetricRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One custom metric series of a run (kjob.engine.metrics): a gauge's or counter's ``value``, a
    histogram's ``observations`` and ``buckets``; ``node`` is the node that last set it (``""``: the
    workflow's own metric); ``error`` says why a metric was not emitted."""

    name: str
    help: str = ""
    type: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    node: str = ""
    value: float | None = None
    observations: tuple[float, ...] = ()
    buckets: tuple[BucketRecord, ...] = ()
    realtime: bool = False
    error: str = ""


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A whole run: where it came from, how it was run, its phase and its nodes in the order they
    appeared.  ``resumed`` lists when ``kjob resume`` picked it up again."""

    run_id: str
    workflow: str = ""
    workflow_name: str = ""
    backend: str = "local"
    namespace: str = "default"
    parameters: dict[str, str] = msgspec.field(default_factory=dict)
    parallelism: int | None = None
    uid: str = ""
    phase: str = "Running"
    message: str = ""
    started: float | None = None
    finished: float | None = None
    resumed: tuple[float, ...] = ()
    interrupted: bool = False
    detached: bool = False
    nodes: tuple[NodeRecord, ...] = ()
    metrics: tuple[MetricRecord, ...] = ()

    @property
    def duration(self) -> float | None:
        return _span(self.started, self.finished)

    @property
    def finished_phase(self) -> bool:
        return self.phase in FINISHED

    def node(self, node_id: str) -> NodeRecord | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def children(self) -> dict[str | None, list[NodeRecord]]:
        """Each node's children by its id, in record order; ``None`` holds the top nodes (the
        entrypoint's and the exit handler's).  In a record without ``parent``, a node whose id names
        no parent belongs to the entrypoint's node (the first), as the entrypoint's own tasks do."""
        tree: dict[str | None, list[NodeRecord]] = {}
        root = self.nodes[0].id if self.nodes else None
        for node in self.nodes:
            parent = node.parent_id
            if parent is None and node.parent is None and node.id not in (root, EXIT_NODE):
                parent = root
            tree.setdefault(parent, []).append(node)
        return tree

    def leaves(self) -> list[NodeRecord]:
        """The nodes that are tasks of their own: neither a fan-out nor a template holding others."""
        tree = self.children()
        return [n for n in self.nodes if not n.group and n.id not in tree]

    def progress(self) -> tuple[int, int]:
        """(finished, all) over :meth:`leaves`, as ``kjob list`` shows ``n/m``."""
        leaves = self.leaves()
        return sum(1 for n in leaves if n.finished_phase), len(leaves)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON values (lists, not tuples), with the keys ``run.json`` has."""
        data: dict[str, Any] = _as_lists(msgspec.to_builtins(self))
        return data

    def to_json(self) -> bytes:
        """The record as ``run.json`` holds it: one line, sorted keys."""
        return jsonlines.dumps(self.to_dict(), sort_keys=True) + b"\n"

    def pretty_json(self) -> str:
        """The record as indented JSON for people and scripts (``kjob get -o json``), keys in the
        schema's order; the same values as :meth:`to_dict`."""
        try:
            return msgspec.json.format(msgspec.json.encode(self), indent=2).decode() + "\n"
        except UnicodeEncodeError:  # a lone surrogate a task printed: the standard library escapes it
            return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "run.json") -> RunRecord:
        """A record from parsed JSON (``where`` names it in the error if it is not one)."""
        try:
            return msgspec.convert(data, type=cls)
        except msgspec.ValidationError as err:
            raise damaged(where, str(err)) from None

    @classmethod
    def from_json(cls, text: bytes | str, *, where: str = "run.json") -> RunRecord:
        """A record from the text of ``run.json``."""
        try:
            return msgspec.json.decode(text, type=cls)
        except msgspec.ValidationError as err:
            raise damaged(where, str(err)) from None
        except msgspec.DecodeError:
            pass  # not JSON to msgspec; the standard library also reads lone surrogates
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise damaged(where, f"byte {err.pos}: {err.msg}") from None
        except UnicodeDecodeError as err:
            raise damaged(where, f"byte {err.start}: not UTF-8") from None
        return cls.from_dict(data, where=where)

    @classmethod
    def read(cls, path: Path, *, run_id: str | None = None) -> RunRecord:
        """The record in the file ``path`` (a run's ``run.json``)."""
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise KjobError(f"run '{run_id or path.parent.name}' has no record yet ({path})") from None
        except OSError as err:
            raise KjobError(f"cannot read {path}: {err.strerror}") from None
        return cls.from_json(text, where=str(path))


def damaged(where: str, why: str) -> KjobError:
    return KjobError(
        f"{where}: damaged run record ({why})",
        hint="it was cut short or edited; the run's logs and files beside it are still there",
    )


def parent_from_id(node_id: str) -> str | None:
    """The parent an id names: ``a.b(3:x)`` → ``a.b``, ``a.b`` → ``a``, ``a`` → ``None`` (a top node;
    a node of the entrypoint's own DAG has no prefix, so its parent is not in its id)."""
    if node_id.endswith(")"):
        depth = 0
        for i in range(len(node_id) - 1, -1, -1):
            ch = node_id[i]
            if ch == ")":
                depth += 1
            elif ch == "(":
                depth -= 1
                if depth == 0:
                    return node_id[:i] or None
    head, dot, _ = _outside_parentheses_rpartition(node_id)
    return head if dot else None


def _outside_parentheses_rpartition(text: str) -> tuple[str, str, str]:
    """``text.rpartition('.')`` over the dots not inside an item label's parentheses."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
        elif ch == "." and depth == 0:
            return text[:i], ".", text[i + 1 :]
    return "", "", text


def _as_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_lists(v) for v in value]
    return value


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else max(0.0, end - start)
