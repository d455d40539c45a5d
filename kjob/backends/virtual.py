"""A backend in virtual time: attempts take scripted durations and end with scripted outcomes.

The engine's unit tests run on it (a retry schedule of minutes runs in microseconds, exactly), and the
simulator can use it to check that its dispatch rules match the engine's.  It is a real implementation
of the backend interface, not a mock: it keeps its own clock and event heap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptReady,
    AttemptSpec,
    AttemptStarted,
    settle_outputs,
)
from kjob.spec.model import frozen_map


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt does: runs ``duration`` seconds, exits with ``exit_code``, prints ``stdout``,
    writes the output ``parameters`` (declared outputs not given here count as not written)."""

    duration: float = 1.0
    exit_code: int = 0
    stdout: str = ""
    parameters: Mapping[str, str] = field(default_factory=frozen_map)
    error: str | None = None  # an Error (platform fault) instead of an exit
    transient: bool = False
    ready_after: float | None = None  # a daemon: ready this long after it started (before it ends)


Script = Callable[[AttemptSpec], Outcome]


def scripted(outcomes: Mapping[str, Outcome | Sequence[Outcome]], default: Outcome | None = None) -> Script:
    """A script from outcomes keyed by node id or template name; a sequence gives one per attempt
    (the last one repeats)."""
    fallback = default or Outcome()

    def script(spec: AttemptSpec) -> Outcome:
        chosen = outcomes.get(spec.node_id, outcomes.get(spec.template_name, fallback))
        if isinstance(chosen, Outcome):
            return chosen
        return chosen[min(spec.attempt, len(chosen) - 1)]

    return script


VIRTUAL_IP = "10.0.0.1"  # the address every daemon is ready at


class VirtualBackend:
    """Runs attempts in virtual time.  ``start_latency`` delays every start (pod start-up)."""

    name = "virtual"

    def __init__(self, script: Script, *, start_latency: float = 0.0, batches: bool = False) -> None:
        self.script = script
        self.start_latency = start_latency
        self.batches = batches  # take fan-outs whole, like the Kubernetes backend's Indexed Jobs
        self.submitted: list[tuple[float, AttemptSpec]] = []
        self.batches_taken: list[tuple[float, tuple[str, ...], int]] = []  # (at, attempt ids, parallelism)
        self._now = 0.0
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, AttemptEvent]] = []
        self._finish: dict[str, tuple[float, int]] = {}
        self._cancelled: set[str] = set()

    def now(self) -> float:
        return self._now

    def submit(self, spec: AttemptSpec) -> None:
        self._schedule(spec, self._now + self.start_latency)

    def submit_batch(self, specs: Sequence[AttemptSpec], parallelism: int) -> bool:
        """With ``batches``: at most ``parallelism`` items run at once, the next starting as one ends
        (the Job controller's behaviour for an Indexed Job's ``parallelism``)."""
        if not self.batches:
            return False
        self.batches_taken.append((self._now, tuple(s.attempt_id for s in specs), parallelism))
        free = [self._now + self.start_latency] * parallelism
        for spec in specs:
            start = heapq.heappop(free)
            heapq.heappush(free, self._schedule(spec, start) + self.start_latency)
        return True

    def _schedule(self, spec: AttemptSpec, start: float) -> float:
        """Queue the attempt's start and end events; returns when it ends."""
        self.submitted.append((self._now, spec))
        outcome = self.script(spec)
        end = start + outcome.duration
        self._push(AttemptStarted(spec.attempt_id, start))
        if spec.daemon and outcome.ready_after is not None and outcome.ready_after < outcome.duration:
            self._push(AttemptReady(spec.attempt_id, start + outcome.ready_after, VIRTUAL_IP))
        if spec.deadline is not None and outcome.duration > spec.deadline:
            end = start + spec.deadline
            event = AttemptFinished(
                spec.attempt_id,
                AttemptPhase.FAILED,
                end,
                message=f"exceeded its deadline of {spec.deadline:g}s",
            )
        elif outcome.error is not None:
            event = AttemptFinished(
                spec.attempt_id, AttemptPhase.ERROR, end, message=outcome.error, transient=outcome.transient
            )
        else:
            event = self._ended(spec, outcome, end)
        self._finish[spec.attempt_id] = (end, self._push(event))
        return end

    @staticmethod
    def _ended(spec: AttemptSpec, outcome: Outcome, end: float) -> AttemptFinished:
        if outcome.exit_code != 0:
            return AttemptFinished(
                spec.attempt_id,
                AttemptPhase.FAILED,
                end,
                exit_code=outcome.exit_code,
                result=outcome.stdout,
                message=f"exit code {outcome.exit_code}",
            )
        params, missing = settle_outputs(spec.output_parameters, outcome.parameters)
        artifacts = {a.name: f"virtual://{spec.attempt_id}/{a.name}" for a in spec.output_artifacts}
        return AttemptFinished(
            spec.attempt_id,
            AttemptPhase.SUCCEEDED,
            end,
            exit_code=0,
            result=outcome.stdout,
            parameters=params,
            artifacts=artifacts,
            missing_outputs=tuple(missing),
        )

    def cancel(self, attempt_id: str) -> None:
        if attempt_id in self._finish and attempt_id not in self._cancelled:
            self._cancelled.add(attempt_id)
            self._push(AttemptFinished(attempt_id, AttemptPhase.FAILED, self._now, message="stopped"))

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        while self._heap:
            at, _, _event = self._heap[0]
            if timeout is not None and at > self._now + timeout:
                break
            self._now = max(self._now, at)
            batch: list[AttemptEvent] = []
            while self._heap and self._heap[0][0] <= self._now:
                _, _, ev = heapq.heappop(self._heap)
                if self._stale(ev):
                    continue
                batch.append(ev)
            if batch:
                return batch
        if timeout is not None:
            self._now += timeout
        return []

    def _stale(self, event: AttemptEvent) -> bool:
        """After a cancel, the attempt's own later end (and start) no longer happen."""
        if event.attempt_id not in self._cancelled:
            return False
        if isinstance(event, AttemptFinished) and event.message == "stopped":
            self._finish.pop(event.attempt_id, None)
            return False
        return True

    def close(self) -> None:
        self._heap.clear()

    def _push(self, event: AttemptEvent) -> int:
        seq = next(self._seq)
        at = event.at
        heapq.heappush(self._heap, (at, seq, event))
        return seq
