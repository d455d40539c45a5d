"""Benchmark ``sim`` (kjob's discrete-event simulator) against the same model in SimPy, in one run.

    .venv/bin/python bench/bench_sim.py              # full sizes (about a minute)
    .venv/bin/python bench/bench_sim.py --quick      # small sizes, seconds (a smoke run)
    .venv/bin/python bench/bench_sim.py --json out.json

The SimPy model is the textbook one: one process per task, started when the task becomes ready, a
``Resource`` (``PriorityResource`` for priorities) of the slots, start-up and run time as timeouts
while the slot is held, a failed attempt releasing the slot, backing off and asking again.  It gets
the very durations, start-ups and failures that ``sim`` drew, so both must give the same makespan
(checked).  Building the DAG is not timed for either; ``sim``'s time includes preparing its lists,
SimPy's does not include turning the CSR into successor lists.  Both run with the garbage collector
off.  The 1,000,000-task case runs in a fresh process so that its peak RSS is its own.  See
bench/README.md for the goals.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kjob.engine.retry import backoff_delay
from kjob.spec.model import Backoff, RetryPolicy, RetryStrategy
from sim import Cluster, LogNormal, Simulator, Workload, load_source
from sim.core import _Draws

try:
    import simpy
except ImportError:  # pragma: no cover - the test extra installs it
    simpy = None

RETRY = RetryStrategy(limit=3, policy=RetryPolicy.ALWAYS, backoff=Backoff(duration=10.0, factor=2.0))


@dataclass
class Row:
    case: str
    tasks: int
    sim_s: float
    events: int
    loop_s: float | None = None
    simpy_s: float | None = None
    simpy_events: int | None = None
    same_makespan: bool | None = None
    peak_mib: float | None = None
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.simpy_s / self.sim_s if self.simpy_s else None


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
        finally:
            gc.enable()
    return best, out


# ------------------------------------------------------------------------------------------- SimPy
def simpy_model(sim: Simulator, draws: _Draws, slots: int, key: list[float] | None) -> tuple[float, int]:
    """The same run in SimPy: returns (makespan, events SimPy scheduled)."""
    assert simpy is not None
    w = sim.workload
    indptr = w.plan.indptr.tolist()
    indices = w.plan.indices.tolist()
    succ = [indices[indptr[i] : indptr[i + 1]] for i in range(w.n)]
    indeg = w.plan.indegree.tolist()
    dur = draws.dur.tolist()
    stu = draws.startup.tolist() if draws.startup is not None else None
    stu0 = draws.startup0
    ptr = draws.ptr.tolist()
    fails = draws.fails.tolist()

    def run() -> tuple[float, int]:
        env = simpy.Environment()
        res = simpy.PriorityResource(env, slots) if key is not None else simpy.Resource(env, slots)
        left = indeg[:]

        def task(i: int) -> Generator[Any, Any, None]:
            k = ptr[i]
            while True:
                with res.request(priority=key[i]) if key is not None else res.request() as req:
                    yield req
                    yield env.timeout((stu[k] if stu is not None else stu0) + dur[k])
                    if k - ptr[i] >= fails[i]:
                        for s in succ[i]:
                            left[s] -= 1
                            if not left[s]:
                                env.process(task(s))
                        # let the dependents ask for a slot before this one is given away, as
                        # the simulator applies an instant's events before it dispatches
                        yield env.timeout(0)
                        return
                yield env.timeout(backoff_delay(RETRY.backoff, k - ptr[i]))
                k += 1

        for i in range(w.n):
            if not indeg[i]:
                env.process(task(i))
        env.run()
        return float(env.now), next(env._eid)

    return run()


# ------------------------------------------------------------------------------------------- cases
def slots_case(label: str, n: int, slots: int, *, features: bool, repeat: int, goal_s: float | None) -> Row:
    """``layered:n`` on ``slots`` identical slots, first in first out: plain, or with lognormal
    start-up and 5% failures retried with back-off."""
    w = load_source(f"layered:{n}").workload
    cluster = Cluster.slots(slots)
    if features:
        w = replace(w, fail_prob=np.array([0.05]), retry=(RETRY,))
        cluster = Cluster.slots(slots, startup=LogNormal(2.0, 0.3))
    sim_s, result = best_of(repeat, lambda: Simulator(w, cluster).run(1))
    row = Row(label, n, sim_s, result.events)
    row.loop_s = loop_time(Simulator(w, cluster), repeat)
    if simpy is not None:
        sim = Simulator(w, cluster)
        draws = sim._draw(np.random.default_rng(np.random.SeedSequence(1)))
        simpy_s, (makespan, events) = best_of(
            max(1, repeat // 2), lambda: simpy_model(sim, draws, slots, None)
        )
        row.simpy_s, row.simpy_events = simpy_s, events
        row.same_makespan = abs(makespan - result.makespan) <= 1e-6 * max(1.0, result.makespan)
    if goal_s is not None:
        row.goal = f"<= {goal_s:g} s and >= 6x SimPy"
        row.met = sim_s <= goal_s and (row.ratio is None or row.ratio >= 6)
    return row


def all_features_case(label: str, n: int, *, shapes: int, repeat: int) -> Row:
    """Every feature at once on a node pool: critical-path priority, parallelism cap, API rate, pod
    start-up, 5% failures with retries and back-off, placement by requests (one or two shapes)."""
    w = load_source(f"layered:{n}").workload
    w = replace(w, fail_prob=np.array([0.05]), retry=(RETRY,))
    if shapes == 2:
        request = w.request.copy()
        request[::3] = [2.0, 4 * 2.0**30, 0.0]
        w = replace(w, request=request)
    cluster = Cluster.uniform(
        64, cpu=8, memory=64 * 2.0**30, startup=LogNormal(2.0, 0.3), qps=50.0, burst=100
    )
    sim = Simulator(w, cluster, policy="critical-path", parallelism=400)
    sim_s, result = best_of(
        repeat, lambda: Simulator(w, cluster, policy="critical-path", parallelism=400).run(1)
    )
    row = Row(label, n, sim_s, result.events, goal=">= 500k events/s")
    row.loop_s = loop_time(sim, repeat)
    row.met = result.events / row.loop_s >= 500_000
    return row


def loop_time(sim: Simulator, repeat: int) -> float:
    """The event loop alone (the draws made and the lists prepared beforehand)."""
    draws = sim._draw(np.random.default_rng(np.random.SeedSequence(1)))
    return best_of(repeat, sim._prepared_loop(draws))[0]


def big_case(n: int, nodes: int) -> dict[str, Any]:
    """End to end: generate ``layered:n``, plan it, simulate on ``nodes`` nodes of 4 cpu."""
    t0 = time.perf_counter()
    w: Workload = load_source(f"layered:{n},width=1000").workload
    t1 = time.perf_counter()
    result = Simulator(w, Cluster.uniform(nodes, cpu=4, memory=16 * 2.0**30)).run(1)
    t2 = time.perf_counter()
    summary = result.summary()
    return {
        "tasks": n,
        "generate_plan_s": t1 - t0,
        "simulate_s": t2 - t1,
        "total_s": t2 - t0,
        "events": result.events,
        "makespan": summary["makespan"],
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_big(n: int, nodes: int) -> Row:
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_sim; "
    code += f"print(json.dumps(bench_sim.big_case({n}, {nodes})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    row = Row(f"layered {n:,} on {nodes} nodes, end to end", n, data["total_s"], data["events"])
    row.peak_mib = data["peak_mib"]
    row.goal = "<= 5 s and <= 1 GiB"
    row.met = data["total_s"] <= 5 and data["peak_mib"] <= 1024
    return row


# ------------------------------------------------------------------------------------------ report
def report(rows: list[Row]) -> str:
    head = [
        "case",
        "tasks",
        "sim s",
        "loop s",
        "events/s",
        "SimPy s",
        "ratio",
        "same",
        "peak MiB",
        "goal",
        "met",
    ]
    table = []
    for r in rows:
        table.append(
            [
                r.case,
                f"{r.tasks:,}",
                f"{r.sim_s:.3f}",
                f"{r.loop_s:.3f}" if r.loop_s else "-",
                f"{r.events / (r.loop_s or r.sim_s) / 1000:.0f}k",
                f"{r.simpy_s:.3f}" if r.simpy_s else "-",
                f"{r.ratio:.1f}x" if r.ratio else "-",
                {True: "yes", False: "NO", None: "-"}[r.same_makespan],
                f"{r.peak_mib:.0f}" if r.peak_mib else "-",
                r.goal or "-",
                {True: "met", False: "MISSED", None: "-"}[r.met],
            ]
        )
    widths = [max(len(h), *(len(t[k]) for t in table)) for k, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)) for t in table]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    q = args.quick
    n100k = 10_000 if q else 100_000
    repeat = 2 if q else 3
    rows = [
        slots_case(
            f"layered {n100k:,} on 64 slots, FIFO",
            n100k,
            64,
            features=False,
            repeat=repeat,
            goal_s=None if q else 0.4,
        ),
        slots_case(
            f"layered {n100k:,} on 64 slots, + features", n100k, 64, features=True, repeat=repeat, goal_s=None
        ),
        all_features_case(f"layered {n100k:,}, all features, 1 shape", n100k, shapes=1, repeat=repeat),
        all_features_case(f"layered {n100k:,}, all features, 2 shapes", n100k, shapes=2, repeat=repeat),
        run_big(20_000 if q else 1_000_000, 1000),
    ]
    load1, load5, _ = (f"{x:.2f}" for x in os.getloadavg())
    version = getattr(simpy, "__version__", "not installed")
    print(
        f"sim vs SimPy {version} on {platform.python_implementation()} {platform.python_version()},"
        f" {platform.machine()}, {os.cpu_count()} cpus; load average {load1} (1 min), {load5} (5 min)"
    )
    print(report(rows))
    print("sim s: Simulator built and run (lists, draws, loop, bounds); loop s: the event loop alone;")
    print("events/s: events / loop s (end to end for the last row); events: per attempt queued, placed,")
    print("ended, plus back-off and API timers.  ratio: SimPy s / sim s.")
    print("+ features: lognormal start-up, 5% failures retried with back-off (same model in SimPy)")
    print("all features: + critical-path priority, parallelism 400, API 50 qps / burst 100, 64 nodes of")
    print("8 cpu with placement by requests (2 shapes: a third of the tasks ask 2 cpu, 4 GiB)")
    mismatch = [r.case for r in rows if r.same_makespan is False]
    if mismatch:
        print(f"MAKESPAN MISMATCH with SimPy: {', '.join(mismatch)}")
    if args.json:
        Path(args.json).write_text(
            json.dumps([r.__dict__ | {"ratio": r.ratio} for r in rows], indent=2) + "\n"
        )
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
