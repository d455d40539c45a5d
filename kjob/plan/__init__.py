"""The numpy planner: levels, a topological order, cycle detection and the critical path of a DAG.

The array API is for callers with large generated graphs::

    from kjob.plan import plan_edges

    p = plan_edges(n, src, dst)  # edges src[i] -> dst[i], ids 0..n-1
    p.level, p.levels, p.order   # per-node level, level count, a topological order
    length, path = p.critical_path(durations)

``plan_names`` wraps it for task names.  Invalid input raises ``PlanInputError`` and a cycle raises
``kjob.errors.CycleError`` naming one cycle; both are ``KjobError``.
"""

from kjob.plan.graph import PlanInputError
from kjob.plan.named import NamedPlan, plan_names
from kjob.plan.plan import Plan, plan_edges

__all__ = ["NamedPlan", "Plan", "PlanInputError", "plan_edges", "plan_names"]
