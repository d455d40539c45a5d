"""Where a simulated makespan goes: the chain of tasks that ended last, split into what each waited for.

Walking back from the task that ended last, each step goes to the dependency that ended last (the one
that let it be queued).  Along that chain every second of the makespan is one of:

- **running**: from a task's start to its end (its retries and their back-offs included);
- **start-up**: from getting a node to running (pod start-up latency, and inputs arriving from other
  nodes where transfers are modelled);
- **waiting**: queued with nothing free for it: a parallelism limit, the API rate, or no node with room;
- **gaps**: between a dependency's end and the task being queued (none in kjob's engine, which queues
  a task the moment its last dependency ends; kept so that the parts add up to the makespan).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kjob.plan import Plan
from sim.results import NOT_RUN, Result

PARTS = ("running", "start-up", "waiting", "gaps")


def explain(result: Result, plan: Plan, names: list[str] | None = None) -> dict[str, Any]:
    """The makespan of ``result`` split along its last-ending chain (see the module doc): seconds per
    part, and the chain's task names (first to last)."""
    ran = result.status != NOT_RUN
    totals = dict.fromkeys(PARTS, 0.0)
    if not ran.any():
        return {"chain": [], **totals, "makespan": 0.0}
    end = np.where(ran, result.end, -math.inf)
    preds = _predecessors(plan)
    chain: list[int] = []
    i = int(np.argmax(end))
    while True:
        chain.append(i)
        ready, start, stop = float(result.ready[i]), float(result.start[i]), float(result.end[i])
        waited = float(result.wait[i]) if not math.isnan(result.wait[i]) else 0.0
        totals["running"] += stop - start
        totals["waiting"] += waited
        totals["start-up"] += max(0.0, start - ready - waited)
        before = [p for p in preds[i] if ran[p]]
        if not before:
            totals["gaps"] += ready  # a root: queued at the run's start, so 0 unless a barrier held it
            break
        j = max(before, key=lambda p: float(result.end[p]))
        totals["gaps"] += max(0.0, ready - float(result.end[j]))
        i = j
    chain.reverse()
    return {
        "chain": [names[k] if names else k for k in chain],
        **totals,
        "makespan": result.makespan,
    }


def _predecessors(plan: Plan) -> list[list[int]]:
    indptr = plan.indptr.tolist()
    indices = plan.indices.tolist()
    preds: list[list[int]] = [[] for _ in range(plan.n)]
    for u in range(plan.n):
        for v in indices[indptr[u] : indptr[u + 1]]:
            preds[v].append(u)
    return preds
