"""``kjob logs RUN [TASK]``: print the logs a run kept."""

from __future__ import annotations

import sys
from typing import Any

import click

from kjob.cli import console
from kjob.errors import KjobError
from kjob.rundir import RunDir


@click.command("logs")
@click.argument("run")
@click.argument("task", required=False)
@click.option("--all-attempts", is_flag=True, help="Every attempt, not only the last one.")
def command(run: str, task: str | None, all_attempts: bool) -> None:
    """Print the logs of RUN: every task's lines prefixed with its name, or one TASK's as they are."""
    run_dir = RunDir.find(run)
    nodes: list[dict[str, Any]] = [n for n in run_dir.read_record().get("nodes", []) if n.get("attempts")]
    if task is not None:
        chosen = [n for n in nodes if n["id"] == task or n["task"] == task or n["id"].startswith(task + "(")]
        if not chosen:
            names = ", ".join(sorted({n["task"] for n in nodes})) or "none"
            raise KjobError(f"run {run_dir.run_id} has no task '{task}'", hint=f"tasks with logs: {names}")
        nodes = chosen
    prefix = task is None or len(nodes) > 1
    for node in nodes:
        attempts = node["attempts"] if all_attempts else node["attempts"][-1:]
        for attempt in attempts:
            path = run_dir.path / attempt["log"]
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                continue
            label = node["id"] if not all_attempts else f"{node['id']}#{attempt['id'].rsplit('-', 1)[-1]}"
            for line in text.splitlines():
                if prefix or all_attempts:
                    console.out.print(f"[bold]{label}[/]: ", end="")
                sys.stdout.flush()
                console.out.print(line, markup=False, highlight=False)
