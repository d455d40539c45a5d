"""What a simulation returns: per-task arrays, the summary figures and the bounds that check them.

Bounds (all in seconds):

- ``lower_bound`` = max(critical path, work / capacity): no schedule on this cluster can be shorter.
  Task times are what the run actually drew (attempts, start-up and retry back-offs included), at the
  fastest node's speed; capacity is taken per resource (cpu, memory, gpu, pods, parallelism) and the
  API rate adds ``(attempts - burst) / qps``.
- ``upper_bound`` = Graham's bound for list scheduling on ``m`` identical slots,
  ``W / m + (1 - 1/m) * L`` (``W`` the work, ``L`` the critical path), plus back-off delays on the
  path and ``attempts / qps`` for the API.  It holds for every work-conserving policy when tasks
  occupy identical slots; for ``levels`` it is summed level by level.  It is ``None`` where it does
  not apply (several request shapes, node speeds, transfer costs, HEFT's static plan) and
  ``upper_bound_note`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from kjob.plan import Plan

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SUCCEEDED, FAILED, NOT_RUN = 0, 1, 2
_DIGITS = 6


@dataclass(frozen=True, eq=False)
class Bounds:
    lower: float
    upper: float | None
    note: str
    critical_path: float
    work: float


def compute_bounds(
    plan: Plan,
    *,
    work: FloatArray,
    delay: FloatArray,
    demand: FloatArray,
    capacity: FloatArray,
    slots: float | None,
    parallelism: int | None,
    attempts: int,
    qps: float | None,
    burst: int,
    levels: bool,
    no_graham: str,
) -> Bounds:
    """The bounds of the module doc.  ``work``/``delay`` per task; ``demand`` (n, k) requests whose
    totals ``capacity`` (k,) limit concurrency; ``slots`` the identical-slot count (``inf`` when
    unlimited) or ``None`` when tasks do not occupy identical slots (``no_graham`` says why)."""
    total = float(work.sum())
    cp = float(plan.critical_path(work + delay)[0]) if plan.n else 0.0
    lower = cp
    for r in range(capacity.size):
        cap = float(capacity[r])
        if math.isfinite(cap) and cap > 0:
            lower = max(lower, float(work @ demand[:, r]) / cap)
    if parallelism is not None:
        lower = max(lower, total / parallelism)
    api = 0.0
    if qps is not None:
        lower = max(lower, (attempts - burst) / qps)
        api = attempts / qps
    if slots is None:
        return Bounds(lower, None, no_graham, cp, total)
    m = min(slots, float(parallelism)) if parallelism is not None else slots
    lower = max(lower, total / m) if math.isfinite(m) else lower
    share = 1.0 - 1.0 / m if math.isfinite(m) else 1.0
    if levels and plan.n:
        # Barriers: one independent list schedule per level, one after the other.
        per_level_work = np.bincount(plan.level, weights=work, minlength=plan.levels)
        longest = np.zeros(plan.levels)
        np.maximum.at(longest, plan.level, share * work + delay)
        upper = (
            float((per_level_work / m).sum() + longest.sum()) if math.isfinite(m) else float(longest.sum())
        )
        note = "Graham's bound per level (level barriers), summed"
    else:
        chain = float(plan.critical_path(share * work + delay)[0]) if plan.n else 0.0
        upper = (total / m if math.isfinite(m) else 0.0) + chain
        note = f"Graham's bound W/m + (1 - 1/m) L on m = {_num(m)} identical slots"
    if qps is not None:
        upper += api
        note += ", plus attempts/qps for the API rate"
    return Bounds(lower, upper, note, cp, total)


@dataclass(frozen=True, eq=False)
class Result:
    """One simulated run.  Per-task arrays (shape ``(n,)``, times in seconds from the start):

    ``ready`` when first queued, ``start`` when the first attempt began to run (after start-up),
    ``end`` when the last attempt ended, ``node`` where the last attempt ran (``-1``: never ran),
    ``attempts``, ``wait`` (time queued before getting a node, summed over attempts), ``busy`` (time a
    node was held, start-up included), ``status`` (0 succeeded, 1 failed, 2 not run).  NaN where a
    task never ran.
    """

    makespan: float
    bounds: Bounds
    ready: FloatArray
    start: FloatArray
    end: FloatArray
    node: IntArray
    attempts: IntArray
    wait: FloatArray
    busy: FloatArray
    status: npt.NDArray[np.int8]
    level: IntArray
    utilisation: dict[str, float]
    events: int
    policy: str
    seed: int
    info: dict[str, Any] = field(default_factory=dict)
    rate_wait: FloatArray | None = None  # of ``wait``: held back by the API rate
    transfer_wait: FloatArray | None = None  # of start-up: waiting for inputs from other nodes

    @property
    def lower_bound(self) -> float:
        return self.bounds.lower

    def delayed(self, seconds: float) -> Result:
        """This run started ``seconds`` later (kjob's own start before the first task): every time,
        the makespan and the bounds move by as much (nothing can start before it)."""
        b = self.bounds
        bounds = Bounds(
            b.lower + seconds,
            None if b.upper is None else b.upper + seconds,
            b.note + (f", plus {seconds:g}s of run start-up" if seconds else ""),
            b.critical_path + seconds,
            b.work,
        )
        return replace(
            self,
            makespan=self.makespan + seconds,
            bounds=bounds,
            ready=self.ready + seconds,
            start=self.start + seconds,
            end=self.end + seconds,
        )

    @property
    def upper_bound(self) -> float | None:
        return self.bounds.upper

    def queue_wait(self) -> dict[str, float]:
        ran = self.wait[self.status != NOT_RUN]
        if ran.size == 0:
            return {"mean": 0.0, "p95": 0.0, "max": 0.0}
        return {
            "mean": float(ran.mean()),
            "p95": float(np.percentile(ran, 95)),
            "max": float(ran.max()),
        }

    def busiest_level(self) -> dict[str, float | int] | None:
        """The level with the most work (node-seconds held), with its task count and mean wait."""
        if self.level.size == 0:
            return None
        levels = int(self.level.max()) + 1
        work = np.bincount(self.level, weights=np.nan_to_num(self.busy), minlength=levels)
        count = np.bincount(self.level, minlength=levels)
        waits = np.bincount(self.level, weights=np.nan_to_num(self.wait), minlength=levels)
        k = int(np.argmax(work))
        return {
            "level": k,
            "tasks": int(count[k]),
            "work": float(work[k]),
            "queue_wait_mean": float(waits[k] / count[k]) if count[k] else 0.0,
        }

    def summary(self) -> dict[str, Any]:
        """The figures as plain data with rounded floats (byte-identical JSON for the same seed)."""
        n = int(self.status.size)
        data: dict[str, Any] = {
            "makespan": self.makespan,
            "lower_bound": self.bounds.lower,
            "upper_bound": self.bounds.upper,
            "upper_bound_note": self.bounds.note,
            "critical_path": self.bounds.critical_path,
            "work": self.bounds.work,
            "tasks": n,
            "succeeded": int(np.count_nonzero(self.status == SUCCEEDED)),
            "failed": int(np.count_nonzero(self.status == FAILED)),
            "not_run": int(np.count_nonzero(self.status == NOT_RUN)),
            "attempts": int(self.attempts.sum()),
            "events": self.events,
            "utilisation": dict(self.utilisation),
            "queue_wait": self.queue_wait(),
            "busiest_level": self.busiest_level(),
            "policy": self.policy,
            "seed": self.seed,
        }
        data.update(self.info)
        return cast(dict[str, Any], rounded(data))

    def tasks(self, names: list[str] | None = None, node_names: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Per-task rows for JSON output (in task order)."""
        rows = []
        for i in range(self.status.size):
            j = int(self.node[i])
            rows.append(
                {
                    "task": names[i] if names else i,
                    "start": _opt(self.start[i]),
                    "end": _opt(self.end[i]),
                    "node": (node_names[j] if node_names and j >= 0 else j),
                    "attempts": int(self.attempts[i]),
                    "wait": _opt(self.wait[i]),
                    "status": ("succeeded", "failed", "not run")[int(self.status[i])],
                }
            )
        return cast(list[dict[str, Any]], rounded(rows))


@dataclass(frozen=True)
class RunFigures:
    """The figures of one run of many, kept for the distributions (not its per-task arrays)."""

    seed: int
    makespan: float
    lower_bound: float
    upper_bound: float | None
    critical_path: float
    work: float
    tasks: int
    succeeded: int
    failed: int
    not_run: int
    attempts: int
    events: int

    @staticmethod
    def of(result: Result) -> RunFigures:
        s = result.status
        return RunFigures(
            seed=result.seed,
            makespan=result.makespan,
            lower_bound=result.bounds.lower,
            upper_bound=result.bounds.upper,
            critical_path=result.bounds.critical_path,
            work=result.bounds.work,
            tasks=int(s.size),
            succeeded=int(np.count_nonzero(s == SUCCEEDED)),
            failed=int(np.count_nonzero(s == FAILED)),
            not_run=int(np.count_nonzero(s == NOT_RUN)),
            attempts=int(result.attempts.sum()),
            events=result.events,
        )

    @property
    def within_bounds(self) -> bool:
        return self.makespan >= self.lower_bound - 1e-9 and (
            self.upper_bound is None or self.makespan <= self.upper_bound + 1e-9
        )


# Figures that are per run and reported as distributions; counts reported as per-run means.
_DISTRIBUTED = ("makespan", "lower_bound", "upper_bound", "critical_path", "work")
_COUNTS = ("tasks", "succeeded", "failed", "not_run", "attempts", "events")


@dataclass(frozen=True, eq=False)
class MonteCarlo:
    """Many runs with independent seeds, each with its own bounds: every time figure as a distribution
    over the runs (``X_p50``, ``X_p95``, ... with ``X`` the p50), every count as a per-run mean
    (``counts`` says so), the runs one by one in ``per_run``, and the first run for detail."""

    runs: tuple[RunFigures, ...]
    first: Result

    @staticmethod
    def of(results: list[Result]) -> MonteCarlo:
        return MonteCarlo(tuple(RunFigures.of(r) for r in results), results[0])

    def column(self, name: str) -> FloatArray:
        return np.array([np.nan if (v := getattr(r, name)) is None else v for r in self.runs], dtype=float)

    @property
    def within_bounds(self) -> bool:
        return all(r.within_bounds for r in self.runs)

    def summary(self) -> dict[str, Any]:
        data = self.first.summary()  # utilisation, queue wait, busiest level: of the first run
        data["runs"] = len(self.runs)
        for name in _DISTRIBUTED:
            values = self.column(name)
            if np.isnan(values).any():
                data[name] = None
                continue
            p50, p95, p99 = np.percentile(values, [50, 95, 99])
            data[name] = float(p50)
            data.update(
                {
                    f"{name}_p50": float(p50),
                    f"{name}_p95": float(p95),
                    f"{name}_p99": float(p99),
                    f"{name}_mean": float(values.mean()),
                    f"{name}_min": float(values.min()),
                    f"{name}_max": float(values.max()),
                }
            )
        for name in _COUNTS:
            data[name] = float(self.column(name).mean())
        data["events_total"] = int(sum(r.events for r in self.runs))
        data["counts"] = "per-run means"
        data["detail_of"] = "utilisation, queue_wait and busiest_level are of the first run"
        data["within_bounds"] = self.within_bounds
        data["per_run"] = [
            {
                "seed": r.seed,
                "makespan": r.makespan,
                "lower_bound": r.lower_bound,
                "upper_bound": r.upper_bound,
                "critical_path": r.critical_path,
                "within_bounds": r.within_bounds,
            }
            for r in self.runs
        ]
        return cast(dict[str, Any], rounded(data))


def rounded(value: Any) -> Any:
    """Floats rounded to 6 decimals (NaN/inf to None), recursively: stable, readable JSON."""
    if isinstance(value, float):
        return round(value, _DIGITS) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _num(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else "unlimited"
