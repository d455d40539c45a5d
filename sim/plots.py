"""Pictures of a run: a Gantt chart (tasks on nodes over time) and utilisation over time.

matplotlib is optional (``pip install 'kjob[plot]'``); it is imported only when a picture is asked
for, and its absence is a clear error rather than an ImportError.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from sim.durations import human
from sim.errors import SimError
from sim.results import NOT_RUN, Result

MAX_BARS = 100_000
"""A Gantt chart draws at most this many tasks (the earliest to start); more is one grey smear."""


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        raise SimError(
            "pictures need matplotlib, which is not installed", hint="pip install 'kjob[plot]'"
        ) from None
    return plt


def gantt(
    result: Result,
    path: str,
    *,
    node_names: tuple[str, ...] = (),
    title: str = "",
    highlight: list[int] | None = None,
) -> None:
    """Each node a band of rows (one per task running at once there), each task a bar from its start
    to its end with a white edge (back-to-back tasks stay apart), coloured by level (the colour bar
    says which), the ``highlight`` tasks (the chain that ended last) outlined in red."""
    plt = _pyplot()
    fig = gantt_figure(result, node_names=node_names, title=title, highlight=highlight)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gantt_figure(
    result: Result, *, node_names: tuple[str, ...] = (), title: str = "", highlight: list[int] | None = None
) -> Any:
    """The figure :func:`gantt` saves (the caller closes it)."""
    plt = _pyplot()
    ran = np.flatnonzero(result.status != NOT_RUN)
    shown = ran[np.argsort(result.start[ran], kind="stable")][:MAX_BARS]
    row, first_row = _lanes(shown, result)
    fig, ax = plt.subplots(figsize=(12, min(2 + 0.18 * max(1, int(row.max(initial=0)) + 1), 14)))
    levels = result.level[shown]
    top = max(1, int(levels.max(initial=0)))
    cmap = plt.get_cmap("viridis")
    width = result.end[shown] - result.start[shown]
    edge = 0.4 if shown.size <= 5_000 else 0.0  # edges of thousands of bars would hide them
    ax.barh(
        row,
        width,
        left=result.start[shown],
        height=0.8,
        color=cmap(levels / top),
        edgecolor="white",
        linewidth=edge,
    )
    on_path = np.isin(shown, np.asarray(highlight or [], dtype=np.int64))
    if on_path.any():
        ax.barh(
            row[on_path],
            width[on_path],
            left=result.start[shown][on_path],
            height=0.8,
            fill=False,
            edgecolor="tab:red",
            linewidth=1.5,
            label="the chain that ended last",
        )
        ax.legend(loc="lower right")
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=plt.Normalize(0, top), cmap=cmap), ax=ax, pad=0.01)
    bar.set_label("level")
    bar.locator = importlib.import_module("matplotlib.ticker").MaxNLocator(integer=True)
    bar.update_ticks()
    if node_names and len(first_row) <= 40:
        ax.set_yticks(list(first_row.values()), [node_names[j] for j in first_row])
        ax.set_ylabel("node")
    else:
        ax.yaxis.set_major_locator(importlib.import_module("matplotlib.ticker").MaxNLocator(integer=True))
        ax.set_ylabel("lane (tasks running at once)")
    for r in first_row.values():
        ax.axhline(r - 0.5, color="0.85", linewidth=0.5)
    ax.set_xlabel("time (s)")
    note = f" (first {MAX_BARS:,} of {ran.size:,} tasks)" if ran.size > MAX_BARS else ""
    ax.set_title((title or "schedule") + f" - makespan {human(result.makespan)}{note}")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def _lanes(shown: np.ndarray, result: Result) -> tuple[np.ndarray, dict[int, int]]:
    """A row per task: within its node, the first lane free at its start (tasks in start order)."""
    lanes: dict[int, list[float]] = {}
    lane = np.zeros(shown.size, dtype=np.int64)
    for k, (i, j) in enumerate(zip(shown.tolist(), result.node[shown].tolist(), strict=True)):
        ends = lanes.setdefault(j, [])
        s, e = float(result.start[i]), float(result.end[i])
        for x, free_at in enumerate(ends):
            if free_at <= s:
                ends[x] = e
                lane[k] = x
                break
        else:
            lane[k] = len(ends)
            ends.append(e)
    first_row: dict[int, int] = {}
    offset = 0
    for j in sorted(lanes):
        first_row[j] = offset
        offset += len(lanes[j])
    base = np.array([first_row[j] for j in result.node[shown].tolist()], dtype=np.int64)
    return base + lane, first_row


def utilisation(
    result: Result,
    path: str,
    *,
    cpu: np.ndarray | None = None,
    capacity: float | None = None,
    title: str = "",
) -> None:
    """Running tasks (or CPU in use, given per-task ``cpu`` requests and the total ``capacity``) and
    queued tasks over time."""
    plt = _pyplot()
    ran = result.status != NOT_RUN
    start, end, ready = result.start[ran], result.end[ran], result.ready[ran]
    weight = cpu[ran] if cpu is not None else np.ones(start.size)
    grid = np.linspace(0.0, max(result.makespan, 1e-9), 1000)
    in_use = _level(start, end, weight, grid)
    queued = _level(ready, start, np.ones(start.size), grid)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    top.step(grid, in_use, where="post", color="tab:blue")
    if capacity is not None and np.isfinite(capacity):
        top.axhline(capacity, color="tab:red", linestyle="--", linewidth=1, label="capacity")
        top.legend(loc="upper right")
    top.set_ylabel("cpu in use" if cpu is not None else "tasks running")
    bottom.step(grid, queued, where="post", color="tab:orange")
    bottom.set_ylabel("tasks queued")
    bottom.set_xlabel("time (s)")
    top.set_title(title or "utilisation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _level(on: np.ndarray, off: np.ndarray, weight: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Sum of ``weight`` over intervals ``[on, off)`` containing each grid time."""
    a = np.argsort(on, kind="stable")
    b = np.argsort(off, kind="stable")
    up = np.concatenate([[0.0], np.cumsum(weight[a])])[np.searchsorted(on[a], grid, side="right")]
    down = np.concatenate([[0.0], np.cumsum(weight[b])])[np.searchsorted(off[b], grid, side="right")]
    return np.asarray(up - down)
