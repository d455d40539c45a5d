"""``kjob delete RUN``: remove a run: its Jobs and ConfigMaps in the cluster, its directory here."""

from __future__ import annotations

import click

from kjob.cli import console
from kjob.cli.runargs import complete_run, where_options
from kjob.runs.control import delete
from kjob.runs.manage import find


@click.command("delete")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...", shell_complete=complete_run)
@click.option("--force", is_flag=True, help="Delete a running run too (it is terminated first).")
@where_options
def command(
    runs: tuple[str, ...],
    force: bool,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Delete each RUN: a Kubernetes run's Jobs (with their pods) and ConfigMaps, and the run's
    directory on this machine (logs, artifacts, record). A running run is refused unless --force.
    Exit 0 when every RUN is deleted, 2 if one is not found or refused (the ones before it are
    deleted)."""
    for run in runs:
        gone = delete(
            find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace),
            force=force,
        )
        parts = [f"{gone.jobs} Jobs"] if gone.jobs else []
        parts += [gone.directory] if gone.directory else []
        console.line(f"deleted run {gone.run_id}" + (f" ({', '.join(parts)})" if parts else ""))
