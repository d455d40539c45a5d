"""``kjob stop RUN``: stop a run; its exit handler runs, and it ends Failed with "stopped"."""

from __future__ import annotations

import click

from kjob.cli.runargs import complete_run, where_options
from kjob.cli.runrequest import deliver, timeout_option


@click.command("stop")
@click.argument("run", shell_complete=complete_run)
@timeout_option
@where_options
def command(
    run: str, timeout: float, backend: str, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Stop RUN: no new tasks start, running ones are stopped, then its exit handler runs.

    The kjob watching RUN acts on it (this terminal's, a detached `kjob run --wait=false`, or a
    driver Job in the cluster). Exit 0 once stopped (or, for a run watched elsewhere, once asked),
    1 if it did not end within --timeout, 2 if there is no such run or it has already ended."""
    deliver("stop", run, timeout, backend, kubeconfig, context, namespace)
