"""Fit the model to a recorded kjob run (``run.json``: per attempt queued/started/finished).

- **Durations**, per template: ``finished - started`` of its succeeded attempts.  Two or more distinct
  samples give ``lognormal(median, sigma)`` (``sigma`` the standard deviation of the logs), otherwise
  a fixed duration.  The failure probability is the share of its attempts that failed.
- **Start-up overhead**: every attempt is started by an event the engine saw — the run starting, an
  attempt ending (which frees a slot or a dependency) or, for a retry, its back-off ending.  The gap
  from that event to the attempt's start is the overhead of reacting, submitting and starting (for
  the local backend: noticing the exit, spawning the process; on Kubernetes: the Job, the pod, the
  image).  Its median is the fitted start-up latency; it holds the slot, as it does in the engine.
  The event is known for an attempt that cannot have waited for a slot — fewer other attempts were
  queued and unfinished when it was queued than ever ran at once — : the latest end (or the run's
  start, or a retry's back-off) at or before it was queued.  Only when no attempt is known so is the
  latest end before each start taken, which a start-up as long as the gaps between ends shortens.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kjob.rundir import RunDir
from kjob.runrecord import RunRecord
from sim.durations import Distribution, Fixed, LogNormal
from sim.errors import SimError
from sim.sources import KindSettings

_TINY = 1e-6


@dataclass(frozen=True)
class Calibration:
    """What a recorded run says: start-up overhead and per-template durations and failure rates."""

    run_id: str
    backend: str
    startup: float
    kinds: dict[str, KindSettings]
    measured_makespan: float
    attempts: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    tasks: dict[str, tuple[float, int]] = field(default_factory=dict)  # node -> (run time, failed tries)
    run_startup: float = 0.0  # before the first attempt's start-up: kjob starting the run
    widths: dict[str, int] = field(default_factory=dict)  # task -> items its fan-out had
    branches: dict[str, bool] = field(default_factory=dict)  # task -> whether it ran (its when held)

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "backend": self.backend,
            "startup": self.startup,
            "run_startup": self.run_startup,
            "measured_makespan": self.measured_makespan,
            "attempts": self.attempts,
            "templates": {
                name: {
                    "duration": str(s.duration),
                    "fail": s.fail,
                    "samples": len(self.samples.get(name, [])),
                }
                for name, s in self.kinds.items()
            },
            "fan_out_widths": dict(self.widths),
            "branches": dict(self.branches),
        }


def calibrate_run(run_id: str) -> Calibration:
    """Calibrate from ``$KJOB_HOME/runs/<run_id>/run.json`` (a unique prefix of the id is enough)."""
    run_dir = RunDir.find(run_id)
    return calibrate(RunRecord.read(run_dir.record, run_id=run_dir.run_id), run_id=run_dir.run_id)


def calibrate(record: RunRecord | Mapping[str, Any], *, run_id: str = "") -> Calibration:
    """Fit from a run record (``run.json`` read by :class:`~kjob.runrecord.RunRecord`, or its parsed
    JSON)."""
    if not isinstance(record, RunRecord):
        record = RunRecord.from_dict({"run_id": run_id, **record}, where=f"the record of run '{run_id}'")
    started = record.started
    if started is None:
        raise SimError(f"run '{run_id}' has no usable record (no start time)")
    attempts: list[tuple[str, int, float, float, float, str]] = []
    for node in record.nodes:
        for number, a in enumerate(node.attempts):
            if a.queued is not None and a.started is not None and a.finished is not None:
                attempts.append((node.template, number, a.queued, a.started, a.finished, a.phase or ""))
    if not attempts:
        raise SimError(
            f"run '{run_id}' recorded no finished attempt", hint="calibrate from a run that ran some tasks"
        )
    overheads = _overheads(attempts, float(started))
    samples: dict[str, list[float]] = {}
    tried: dict[str, int] = {}
    failed: dict[str, int] = {}
    for template, _number, _q, s, f, phase in attempts:
        tried[template] = tried.get(template, 0) + 1
        if phase == "Succeeded":
            samples.setdefault(template, []).append(max(0.0, f - s))
        elif phase in ("Failed", "Error"):
            failed[template] = failed.get(template, 0) + 1
    kinds = {}
    for template in tried:
        dist = fit(samples[template]) if template in samples else None
        kinds[template] = KindSettings(dist, failed.get(template, 0) / tried[template])
    widths, branches = choices(record)
    startup = float(np.median(overheads))
    first_start = min(a[3] for a in attempts) - float(started)
    return Calibration(
        run_id=run_id or record.run_id,
        backend=record.backend,
        startup=startup,
        run_startup=max(0.0, first_start - startup),
        kinds=kinds,
        measured_makespan=max(a[4] for a in attempts) - float(started),
        attempts=len(attempts),
        samples=samples,
        widths=widths,
        branches=branches,
        tasks=per_task(record),
    )


def per_task(record: RunRecord) -> dict[str, tuple[float, int]]:
    """Each task that ran, by its id as :func:`sim.workflow_model.flatten` names it (``fan(3).b`` for
    the record's ``fan(3:item).b``): its last attempt's run time and how many attempts failed."""
    by_id = {node.id: node for node in record.nodes}
    names: dict[str, str] = {}

    def flat(node_id: str) -> str:
        if node_id not in names:
            node = by_id[node_id]
            parent = by_id.get(node.parent) if node.parent else None
            if parent is None:
                names[node_id] = "" if not node.parent else node.id  # the entrypoint names nothing
            elif parent.group:  # an item: "fan(3:value)" -> "fan(3)"
                index = node.id[len(parent.id) + 1 :].split(":", 1)[0]
                names[node_id] = f"{flat(parent.id)}({index})"
            else:
                base = flat(parent.id)
                names[node_id] = f"{base}.{node.task}" if base else node.task
        return names[node_id]

    out: dict[str, tuple[float, int]] = {}
    for node in record.nodes:
        done = [a for a in node.attempts if a.started is not None and a.finished is not None]
        if done and not node.group:
            ran = max(0.0, float(done[-1].finished or 0.0) - float(done[-1].started or 0.0))
            out[flat(node.id)] = (ran, sum(1 for a in done if a.phase in ("Failed", "Error")))
    return out


def choices(record: RunRecord) -> tuple[dict[str, int], dict[str, bool]]:
    """What the run decided at run time: each fan-out's width (the items under its group node; the
    largest where a task fanned out more than once, as inside a loop) and, for each task, whether it
    ran or was skipped (a task that ran once anywhere counts as run)."""
    children: dict[str, int] = {}
    for node in record.nodes:
        if node.parent is not None:
            children[node.parent] = children.get(node.parent, 0) + 1
    widths: dict[str, int] = {}
    branches: dict[str, bool] = {}
    for node in record.nodes:
        task = node.task or node.id
        if node.group:
            widths[task] = max(widths.get(task, 0), children.get(node.id, 0))
        elif node.phase in ("Skipped", "Omitted"):
            branches.setdefault(task, False)
        elif node.attempts or node.phase in ("Succeeded", "Failed", "Error"):
            branches[task] = True
    return widths, branches


def _overheads(attempts: list[tuple[str, int, float, float, float, str]], started: float) -> list[float]:
    """Start-up overhead of each attempt known not to have waited for a slot (see the module doc),
    or, if none is, of every attempt measured from the latest end before its start."""
    queued = np.array([a[2] for a in attempts])
    start = np.array([a[3] for a in attempts])
    ends = np.sort(np.array([a[4] for a in attempts]))
    most_running = int(
        (np.searchsorted(np.sort(start), start, "right") - np.searchsorted(ends, start, "right")).max()
    )
    # others queued at or before, and not finished by, the moment each attempt was queued
    others = np.searchsorted(np.sort(queued), queued, "right") - np.searchsorted(ends, queued, "right") - 1
    free = others < most_running
    ended = ends.tolist()

    def gap(number: int, q: float, s: float, upto: float) -> float:
        k = bisect.bisect_right(ended, upto)
        trigger = max(started, ended[k - 1] if k else -math.inf)
        if number > 0 and q <= s:  # a retry waits for its back-off too
            trigger = max(trigger, q)
        return max(0.0, s - trigger)

    if free.any():
        return [gap(a[1], a[2], a[3], a[2]) for a, ok in zip(attempts, free.tolist(), strict=True) if ok]
    return [gap(a[1], a[2], a[3], a[3]) for a in attempts]


def fit(samples: list[float]) -> Distribution:
    """``lognormal(median, sigma)`` from two or more distinct samples, else ``fixed``."""
    values = np.asarray(samples, dtype=np.float64)
    median = float(np.median(values))
    if values.size < 2 or float(values.max()) == float(values.min()):
        return Fixed(median)
    logs = np.log(np.maximum(values, _TINY))
    return LogNormal(max(median, _TINY), float(logs.std(ddof=1)))
