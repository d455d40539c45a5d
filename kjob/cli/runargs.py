"""Options every verb about existing runs takes the same way (``--backend``, ``--kubeconfig``,
``--context``, ``-n``), and shell completion of run ids and task names.

Completion reads only this machine: the run directories under ``$KJOB_HOME/runs`` and a run's
``run.json``; it never waits for a cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])


def address_options(command: F) -> F:
    """``--kubeconfig``, ``--context`` and ``-n/--namespace``: which cluster and namespace a verb talks
    to (every verb that may talk to one takes them the same way)."""
    for option in reversed(
        [
            click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file to use."),
            click.option("--context", help="Kubeconfig context to use."),
            click.option("-n", "--namespace", help="Namespace (default: the kubeconfig context's)."),
        ]
    ):
        command = option(command)
    return command


def where_options(func: F) -> F:
    """``--backend``, then :func:`address_options`."""
    backend = click.option(
        "--backend",
        type=click.Choice(["auto", "local", "kubernetes"]),
        default="auto",
        show_default=True,
        help="Where to look: runs recorded on this machine (local), a cluster (kubernetes), "
        "or both when a cluster is configured (auto).",
    )
    return backend(address_options(func))


def complete_run(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The ids of the runs recorded on this machine that start with what was typed, newest first."""
    from kjob.rundir import runs_root

    try:
        entries = [p for p in runs_root().iterdir() if p.name.startswith(incomplete) and p.is_dir()]
    except OSError:
        return []
    entries.sort(key=lambda p: _mtime(p), reverse=True)
    return [CompletionItem(p.name) for p in entries]


def complete_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The task names and node ids of the run named before, that start with what was typed."""
    from kjob.errors import KjobError
    from kjob.runs.store import read_local_run

    run = ctx.params.get("run")
    if not run:
        return []
    try:
        record = read_local_run(str(run))
    except KjobError:
        return []
    words = dict.fromkeys([*(n.task for n in record.nodes if n.task), *(n.id for n in record.nodes)])
    return [CompletionItem(w) for w in words if w.startswith(incomplete)]


def _mtime(path: Any) -> float:
    try:
        return float((path / "run.json").stat().st_mtime)
    except OSError:
        return 0.0
