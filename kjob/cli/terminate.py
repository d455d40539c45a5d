"""``kjob terminate RUN``: stop a run without running its exit handler."""

from __future__ import annotations

import click

from kjob.cli.runflags import cluster_flags
from kjob.cli.runrequest import deliver


@click.command("terminate")
@click.argument("run")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds to wait for a run watched on this machine to end.",
)
@cluster_flags
def command(
    run: str, timeout: float, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Terminate RUN: as `kjob stop`, but its exit handler does not run; it ends Failed with
    "terminated". Exit codes as `kjob stop`."""
    deliver("terminate", run, timeout, kubeconfig, context, namespace)
