"""Where a simulated makespan goes: the chain of tasks that ended last, split into what each waited for.

Walking back from the task that ended last, each step goes to the dependency that ended last (the one
that let it be queued).  Along that chain every second of the makespan is one of:

- **running**: from a task's start to its end (its retries and their back-offs included);
- **start-up**: from getting a node to running (pod start-up latency);
- **transfers**: inputs arriving from other nodes, past the start-up (where transfers are modelled);
- **waiting**: queued with nothing free for it: a parallelism limit or no node with room;
- **api-rate**: submissions held back by the client's API rate (``--qps``/``--burst``);
- **run start-up**: before the first task was queued (kjob starting the run, as a recorded run measured);
- **gaps**: between a dependency's end and the task being queued (none in kjob's engine, which queues
  a task the moment its last dependency ends; kept so that the parts add up to the makespan).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kjob.plan import Plan
from sim.results import NOT_RUN, Result

PARTS = ("run start-up", "running", "start-up", "transfers", "waiting", "api-rate", "gaps")


def explain(result: Result, plan: Plan, names: list[str] | None = None) -> dict[str, Any]:
    """The makespan of ``result`` split along its last-ending chain (see the module doc): seconds per
    part, and the chain's task names (first to last)."""
    totals = dict.fromkeys(PARTS, 0.0)
    chain = last_chain(result, plan)
    previous_end = 0.0
    for k, i in enumerate(chain):
        ready, start, stop = float(result.ready[i]), float(result.start[i]), float(result.end[i])
        if k == 0:  # before the first task was queued: kjob starting the run
            totals["run start-up"] += ready
            previous_end = ready
        waited = 0.0 if math.isnan(result.wait[i]) else float(result.wait[i])
        rate = min(waited, float(result.rate_wait[i])) if result.rate_wait is not None else 0.0
        before_run = max(0.0, start - ready - waited)
        moved = min(before_run, float(result.transfer_wait[i])) if result.transfer_wait is not None else 0.0
        totals["gaps"] += max(0.0, ready - previous_end)
        totals["waiting"] += waited - rate
        totals["api-rate"] += rate
        totals["start-up"] += before_run - moved
        totals["transfers"] += moved
        totals["running"] += stop - start
        previous_end = stop
    return {
        "chain": [names[k] if names else k for k in chain],
        **totals,
        "makespan": result.makespan if chain else 0.0,
    }


def last_chain(result: Result, plan: Plan) -> list[int]:
    """The tasks from a root to the task that ended last, each step back to the dependency that
    ended last (first to last; empty when nothing ran)."""
    ran = result.status != NOT_RUN
    if not ran.any():
        return []
    preds = _predecessors(plan)
    i = int(np.argmax(np.where(ran, result.end, -math.inf)))
    chain = [i]
    while before := [p for p in preds[i] if ran[p]]:
        i = max(before, key=lambda p: float(result.end[p]))
        chain.append(i)
    chain.reverse()
    return chain


def _predecessors(plan: Plan) -> list[list[int]]:
    indptr = plan.indptr.tolist()
    indices = plan.indices.tolist()
    preds: list[list[int]] = [[] for _ in range(plan.n)]
    for u in range(plan.n):
        for v in indices[indptr[u] : indptr[u + 1]]:
            preds[v].append(u)
    return preds
