"""The run's state: nodes (one per task, fan-out item or nested template) grouped in scopes (one per
running ``dag``/``steps`` template).  Plain mutable records owned by the engine; observers read them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from kjob.backends.base import AttemptPhase
from kjob.spec.model import DagTask, Template


class Phase(enum.Enum):
    """A node's phase, named as Argo names them."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    SKIPPED = "Skipped"
    OMITTED = "Omitted"

    @property
    def finished(self) -> bool:
        return self not in (Phase.PENDING, Phase.RUNNING)

    @property
    def failed_or_error(self) -> bool:
        return self in (Phase.FAILED, Phase.ERROR)

    @property
    def depends_name(self) -> str:
        """The word a ``depends`` expression uses for this phase (``Errored`` for ``Error``)."""
        return "Errored" if self is Phase.ERROR else self.value

    @classmethod
    def of_attempt(cls, phase: AttemptPhase) -> Phase:
        return cls(phase.value)


NO_ITEM: Any = object()


@dataclass(eq=False)
class AttemptRecord:
    """One try of a leaf node, with the engine-clock times the simulator calibrates from."""

    number: int
    attempt_id: str
    queued_at: float
    started_at: float | None = None
    finished_at: float | None = None
    phase: AttemptPhase | None = None
    exit_code: int | None = None
    message: str = ""


@dataclass(eq=False)
class Node:
    """One thing the run shows a state for: a task, one item of a fanned-out task, or a nested
    template.  A fanned-out task is a *group* node whose ``children`` are its items."""

    id: str
    task: DagTask
    template: Template
    scope: Scope
    item: Any = NO_ITEM
    item_index: int | None = None
    parent: Node | None = None
    phase: Phase = Phase.PENDING
    message: str = ""
    children: list[Node] = field(default_factory=list)
    inner: Scope | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    input_artifacts: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    parameter_sets: str | None = None  # a loop's ``outputs.parameters``: one {name: value} per item
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    retry_at: float | None = None
    is_group: bool = False
    unfinished_children: int = 0
    deadline: float | None = None  # seconds, from the template's templated timeout, rendered
    display_name: str | None = None  # the template's ``workflows.argoproj.io/display-name``, rendered
    ip: str | None = None  # a daemon's address, once it is ready
    daemoned: bool = False  # a daemon that succeeded (ready) and still runs, until its scope ends

    @property
    def depends_name(self) -> str:
        """The word a ``depends`` expression uses for this node's result: ``Daemoned`` for a daemon
        that is ready and still runs (Argo's node phase is Running then, not Succeeded)."""
        return "Daemoned" if self.daemoned else self.phase.depends_name

    @property
    def is_leaf(self) -> bool:
        return self.template.is_leaf and not self.is_group

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else self.started_at
        return end - self.started_at


@dataclass(eq=False)
class Scope:
    """A running ``dag`` or ``steps`` template: its task nodes, by task name, in declaration order."""

    template: Template
    tasks: dict[str, DagTask]
    deps: dict[str, tuple[str, ...]]
    owner: Node | None
    inputs: dict[str, str] = field(default_factory=dict)
    input_artifacts: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    dependents: dict[str, list[str]] = field(default_factory=dict)
    stopping: bool = False
    stop_reason: str = ""
    running: int = 0
    fail_fast: bool = True
    target_tasks: tuple[str, ...] = ()

    @property
    def parallelism(self) -> int | None:
        """The template's limit on its running children; none for the scope that holds only the
        entrypoint (or the exit handler), whose template limits its own scope's children."""
        return self.template.parallelism if self.owner is not None else None

    unfinished: int = 0  # tasks not finished yet
    results_read: frozenset[str] | None = None  # tasks whose outputs.result a sibling reads (lazy)
    waiting_on: dict[str, int] = field(default_factory=dict)  # task -> dependencies not finished yet
