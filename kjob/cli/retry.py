"""``kjob retry RUN``: run the failed and errored tasks of a finished run again, keeping the rest."""

from __future__ import annotations

import click

from kjob.cli import console
from kjob.cli.execute import execute
from kjob.cli.runargs import complete_run, where_options
from kjob.runs.manage import find, retry_launch


@click.command("retry")
@click.argument("run", shell_complete=complete_run)
@click.option(
    "--node-field-selector",
    "selector",
    metavar="SELECTOR",
    help="Only the failed tasks that match, e.g. displayName=train or templateName!=flaky,phase=Error "
    "(fields: id, name, displayName, templateName, phase).",
)
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@click.option(
    "--detach-on-interrupt",
    "detach",
    is_flag=True,
    help="On Ctrl-C or SIGTERM, leave a Kubernetes run's running Jobs running (finish with kjob resume).",
)
@where_options
def command(
    run: str,
    selector: str | None,
    parallelism: int | None,
    detach: bool,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Retry RUN, which failed or was stopped: its failed and errored tasks run again (as new
    attempts; the failed ones stay in its record and logs), and so does what depends on them and the
    exit handler. What succeeded is not run again: its outputs are kept. Stays with the run to its
    end, as `kjob run` does.

    Exit 0 if the retried run succeeded, 1 if it failed, 130 if interrupted, 2 if RUN is not found,
    still running or succeeded."""
    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    if detach and ref.backend == "local":
        raise click.UsageError("--detach-on-interrupt: only for a Kubernetes run")
    execute(
        retry_launch(ref, selector=selector, parallelism=parallelism, notice=console.notice), detach=detach
    )
