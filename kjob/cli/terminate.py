"""``kjob terminate RUN``: stop a run without running its exit handler."""

from __future__ import annotations

import click

from kjob.cli.runargs import complete_run, where_options
from kjob.cli.runrequest import deliver, timeout_option


@click.command("terminate")
@click.argument("run", shell_complete=complete_run)
@timeout_option
@where_options
def command(
    run: str, timeout: float, backend: str, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Terminate RUN: as `kjob stop`, but its exit handler does not run; it ends Failed with
    "terminated". Exit codes as `kjob stop`."""
    deliver("terminate", run, timeout, backend, kubeconfig, context, namespace)
