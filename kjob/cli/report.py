"""``kjob report RUN -o run.html``: a run's page (its DAG, states, timeline, every task's details and
the tail of its logs) as one self-contained HTML file to attach to a ticket: nothing in it is fetched."""

from __future__ import annotations

from pathlib import Path

import click

from kjob.cli import console
from kjob.errors import KjobError


@click.command("report")
@click.argument("run")
@click.option("-o", "--output", metavar="FILE", help="Write the page to FILE (default: RUN.html).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (Kubernetes runs).")
@click.option("--context", help="Kubeconfig context (Kubernetes runs).")
@click.option("-n", "--namespace", help="The namespace of a Kubernetes run not recorded here.")
def command(
    run: str, output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Write the page of RUN as one self-contained HTML file."""
    from kjob.rundir import RunDir
    from kjob.ui.source import RunSource
    from kjob.ui.views import report

    source = RunSource(kubeconfig=kubeconfig, context=context, namespace=namespace)
    try:
        run_id = RunDir.find(run).run_id  # a unique prefix of a run recorded here is enough
    except KjobError:
        if not source.cluster_wanted():
            raise
        run_id = run  # a run the cluster may have, by its whole id
    html = report(source, run_id)
    target = Path(output or f"{run_id}.html")
    try:
        target.write_text(html, encoding="utf-8")
    except OSError as err:
        raise KjobError(f"-o {target}: cannot write it: {err.strerror}") from None
    console.notice(f"report: run {run_id} written to {target}")
