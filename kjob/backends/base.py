"""The small interface every backend implements.

The engine hands a backend fully rendered :class:`AttemptSpec` objects (one per task attempt) and reads
back :class:`AttemptStarted` / :class:`AttemptFinished` events.  A backend never decides anything about
the workflow: retries, ``when``, outputs passing and parallelism all live in the engine.
"""

from __future__ import annotations

import enum
import queue
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from kjob.spec.model import Container, GitSource, HttpSource, Resource, frozen_map


class AttemptPhase(enum.Enum):
    """How one attempt ended.  ``ERROR`` is kjob's or the platform's fault (could not start, output
    missing); ``FAILED`` is the task's own (non-zero exit, deadline exceeded)."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"


@dataclass(frozen=True, slots=True)
class InputArtifact:
    """An artifact to place at ``path`` inside the task before it starts; ``source`` is the backend's
    locator of the stored copy (a host path for the local backend)."""

    name: str
    path: str
    source: str
    raw: str | None = None  # a raw artifact's content, written at ``path`` (``source`` is then empty)
    mode: int | None = None  # permission bits to set on it once placed
    remote: HttpSource | GitSource | None = None  # downloaded / cloned at ``path`` (``source`` empty)


@dataclass(frozen=True, slots=True)
class OutputParameterSpec:
    name: str
    path: str
    default: str | None = None


@dataclass(frozen=True, slots=True)
class OutputArtifactSpec:
    name: str
    path: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class ResourceOutputSpec:
    """An output parameter of a resource template: read from the object by a kubectl-style JSONPath
    template (``{.metadata.name}``) or a jq filter."""

    name: str
    json_path: str | None = None
    jq_filter: str | None = None
    default: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptSpec:
    """Everything a backend needs to run one attempt of one task, with every template rendered."""

    attempt_id: str  # unique within the run, filesystem- and DNS-friendly
    node_id: str  # the node's display name, e.g. ``process-partition(3:partition-3)``
    attempt: int  # 0 for the first try
    template_name: str
    container: Container
    input_artifacts: tuple[InputArtifact, ...] = ()
    output_parameters: tuple[OutputParameterSpec, ...] = ()
    output_artifacts: tuple[OutputArtifactSpec, ...] = ()
    deadline: float | None = None  # seconds the attempt may run
    pod_extra: Mapping[str, object] = field(default_factory=frozen_map)
    # the pod's other containers, rendered: init containers (in order), sidecars, and a containerSet's
    # containers (``container`` is its main one); podSpecPatch texts, the workflow's then the template's
    init_containers: tuple[Container, ...] = ()
    sidecars: tuple[Container, ...] = ()
    container_set: tuple[Container, ...] = ()
    set_retries: int = 0  # containerSet retryStrategy: runs of a failed container's command again
    set_retry_duration: float | None = None  # ... none starting later than this after its first run
    pod_spec_patches: tuple[str, ...] = ()
    task_name: str = ""
    inputs: Mapping[str, str] = field(default_factory=frozen_map)
    wants_result: bool = True  # whether anything reads outputs.result (a backend may skip fetching it)
    group_id: str = ""  # a fan-out item's group node (``process-partition``), else empty
    item_index: int | None = None  # the item's position in its fan-out
    # a resource template's attempt (its action rendered; ``container`` is then empty): performed
    # against the cluster by kjob itself, see kjob.backends.resources
    resource: Resource | None = None
    resource_outputs: tuple[ResourceOutputSpec, ...] = ()
    # a daemon: reported ready (AttemptReady) once it runs and its readinessProbe passes, then left
    # running until the engine cancels it
    daemon: bool = False


@dataclass(frozen=True, slots=True)
class AttemptStarted:
    attempt_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AttemptFinished:
    """The end of an attempt.  ``missing_outputs`` names declared outputs the task never wrote and that
    have no default; the engine turns them into an error with a hint."""

    attempt_id: str
    phase: AttemptPhase
    at: float
    exit_code: int | None = None
    message: str = ""
    result: str | None = None
    parameters: Mapping[str, str] = field(default_factory=frozen_map)
    artifacts: Mapping[str, str] = field(default_factory=frozen_map)
    missing_outputs: tuple[str, ...] = ()
    transient: bool = False


@dataclass(frozen=True, slots=True)
class AttemptWaiting:
    """An attempt is held up by its platform (an image that cannot be pulled, a pod no node can
    take): shown to the user as the node's message; the attempt is still going."""

    attempt_id: str
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class AttemptReady:
    """A daemon's attempt runs and is ready (its readinessProbe passed, or it started and has
    none); ``ip`` is the address its ports are reached at (the pod IP; 127.0.0.1 on the host)."""

    attempt_id: str
    at: float
    ip: str


AttemptEvent = AttemptStarted | AttemptFinished | AttemptWaiting | AttemptReady
E = TypeVar("E")


class Backend(Protocol):
    """What the engine needs from a place that runs containers."""

    name: str

    def now(self) -> float:
        """The backend's clock, in seconds; the engine times everything with it."""

    def submit(self, spec: AttemptSpec) -> None:
        """Start (or queue) an attempt; returns at once."""

    def submit_batch(self, specs: Sequence[AttemptSpec], parallelism: int) -> bool:
        """Take items of one fan-out together, running at most ``parallelism`` of them at once (the
        Kubernetes backend makes them one Indexed Job).  ``False``: not taken, nothing was done, and
        the engine submits them one by one instead."""

    def cancel(self, attempt_id: str) -> None:
        """Stop an attempt; it still reports an :class:`AttemptFinished`."""

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        """Wait up to ``timeout`` seconds (``None``: until something happens) and return what happened."""

    def close(self) -> None:
        """Release everything; called once when the run ends, also after an error or interrupt."""


def drain(events: queue.Queue[E], timeout: float | None) -> list[E]:
    """Wait up to ``timeout`` for one event (``0``: don't wait), then take every event already there:
    the ``poll`` of backends that feed a queue from their own threads."""
    try:
        first = events.get(timeout=timeout) if timeout != 0 else events.get_nowait()
    except queue.Empty:
        return []
    taken = [first]
    while True:
        try:
            taken.append(events.get_nowait())
        except queue.Empty:
            return taken


def settle_outputs(
    declared: Sequence[OutputParameterSpec], written: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Each declared output parameter's value: what the task wrote, else its ``valueFrom.default``;
    the names with neither are returned as missing (the engine makes that an error)."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for out in declared:
        if out.name in written:
            values[out.name] = written[out.name]
        elif out.default is not None:
            values[out.name] = out.default
        else:
            missing.append(out.name)
    return values, missing
