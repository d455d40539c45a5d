"""A thin layer over :func:`plan_edges` for graphs whose nodes are task names."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kjob.errors import CycleError
from kjob.plan.graph import PlanInputError
from kjob.plan.plan import Plan, plan_edges


@dataclass(frozen=True, eq=False)
class NamedPlan:
    """A :class:`Plan` whose node ``i`` is ``names[i]``."""

    names: tuple[str, ...]
    index: Mapping[str, int]
    plan: Plan

    def level_of(self, name: str) -> int:
        """The level of task ``name``."""
        return int(self.plan.level[self.index[name]])

    @property
    def levels(self) -> list[list[str]]:
        """Task names level by level, in the order they were given within a level."""
        order = self.plan.order.tolist()
        ptr = self.plan.level_ptr.tolist()
        return [[self.names[i] for i in order[a:b]] for a, b in itertools.pairwise(ptr)]

    @property
    def order(self) -> list[str]:
        """All task names in a topological order (by level, then as given)."""
        return [self.names[i] for i in self.plan.order.tolist()]

    def critical_path(self, durations: Mapping[str, float], default: float = 0.0) -> tuple[float, list[str]]:
        """``(length, names)`` of the longest path, with ``default`` for tasks missing from ``durations``."""
        unknown = sorted(set(durations) - set(self.index))
        if unknown:
            raise PlanInputError(f"durations given for unknown task {unknown[0]!r}")
        dur = np.full(len(self.names), default, dtype=np.float64)
        for name, value in durations.items():
            dur[self.index[name]] = value
        length, path = self.plan.critical_path(dur)
        return length, [self.names[i] for i in path.tolist()]


def plan_names(names: Sequence[str], deps: Mapping[str, Sequence[str]]) -> NamedPlan:
    """Plan tasks ``names`` where ``deps[t]`` lists the tasks ``t`` depends on.

    Tasks missing from ``deps`` have no dependencies.  A cycle raises ``CycleError`` whose ``nodes``
    are task names (``"dependency cycle: a -> b -> a"``); an unknown or duplicate name raises
    ``PlanInputError``.

    Example:
        >>> p = plan_names(["fetch", "clean", "train"], {"clean": ["fetch"], "train": ["clean"]})
        >>> p.levels
        [['fetch'], ['clean'], ['train']]
    """
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in index:
            raise PlanInputError(f"duplicate task name {name!r}")
        index[name] = i
    src: list[int] = []
    dst: list[int] = []
    for task, needs in deps.items():
        if task not in index:
            raise PlanInputError(f"dependencies given for unknown task {task!r}")
        if isinstance(needs, str):
            raise PlanInputError(
                f"dependencies of {task!r} must be a list of task names, got the string {needs!r}"
            )
        j = index[task]
        for need in needs:
            k = index.get(need)
            if k is None:
                known = ", ".join(sorted(index)[:8])
                raise PlanInputError(
                    f"task {task!r} depends on unknown task {need!r}", hint=f"known tasks: {known}"
                )
            src.append(k)
            dst.append(j)
    ordered = tuple(names)
    try:
        plan = plan_edges(len(ordered), np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64))
    except CycleError as exc:
        raise CycleError([ordered[int(i)] for i in exc.nodes]) from None  # type: ignore[call-overload]
    return NamedPlan(names=ordered, index=index, plan=plan)
