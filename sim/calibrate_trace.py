"""Fit the simulator to a WfCommons trace (WfFormat): the workflow system's effective concurrency.

A trace records each task's runtime and the machines' cores, but not how many jobs the workflow
system let run at once (Pegasus/HTCondor slots, DAGMan throttles, Makeflow's job limit), nor its
release and staging delays.  Replayed on the recorded cores alone, every trace finishes several times
faster than it did.  :func:`fit_trace` finds the number of tasks at once ``K`` (a ``--parallelism``)
whose simulated makespan comes closest to the recorded one; another instance of the same application
is then predicted with that ``K``.  What this one number cannot express (fixed per-run staging,
per-task release delays that grow with the workflow, a concurrency that depends on the input size) is
what the prediction error shows (bench/bench_sim_wfcommons.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.cluster import Cluster
from sim.core import Simulator
from sim.errors import SimError
from sim.sources import load_source


@dataclass(frozen=True)
class TraceFit:
    """The fitted concurrency of a trace, and how close it comes to the recorded makespan."""

    trace: str
    parallelism: int
    recorded_makespan: float
    fitted_makespan: float

    def summary(self) -> dict[str, object]:
        return {
            "trace": self.trace,
            "parallelism": self.parallelism,
            "recorded_makespan": self.recorded_makespan,
            "fitted_makespan": self.fitted_makespan,
        }


def is_trace(path: str) -> bool:
    """Whether ``--calibrate`` names a file (a trace) rather than a recorded run's id."""
    return Path(path).is_file()


def fit_trace(path: str) -> TraceFit:
    """The ``K`` whose simulated makespan (on the trace's own machines) is closest to the recorded
    makespan; the makespan does not grow with ``K``, so a bisection finds it."""
    source = load_source(path)
    recorded = source.workload.info.get("recorded_makespan")
    if source.kind != "wfformat" or not isinstance(recorded, float):
        raise SimError(
            f"--calibrate {path}: not a WfCommons trace with a recorded makespan",
            hint="calibrate from a WfFormat file, or from a recorded kjob run by its id",
        )
    cluster = source.cluster or Cluster()

    def makespan(k: int) -> float:
        return Simulator(source.workload, cluster, parallelism=k).run(0).makespan

    lo, hi = 1, max(1, source.workload.n)
    while lo < hi:  # the smallest K that is at least as fast as the recording
        mid = (lo + hi) // 2
        if makespan(mid) <= recorded:
            hi = mid
        else:
            lo = mid + 1
    best = min({max(1, lo - 1), lo}, key=lambda k: abs(makespan(k) - recorded))
    return TraceFit(Path(path).name, best, recorded, makespan(best))
