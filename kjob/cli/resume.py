"""``kjob resume RUN``: finish a Kubernetes run whose client stopped, from what the cluster holds."""

from __future__ import annotations

import click

from kjob.cli import console
from kjob.cli.common import pick_workflow
from kjob.cli.execute import cluster_options, execute
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.spec import load_text


@click.command("resume")
@click.argument("run")
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@cluster_options
def command(
    run: str,
    parallelism: int | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    qps: float,
    burst: int,
    detach: bool,
) -> None:
    """Adopt RUN's existing Jobs (never creating one twice) and finish the workflow."""
    from kjob.backends.kubernetes import KubernetesBackend, connect, permissions

    conn = connect(kubeconfig=kubeconfig, context=context, namespace=namespace, qps=qps, burst=burst)
    run_object, text, parameters = KubernetesBackend.open_run(conn, run)
    permissions.check(conn, permissions.features(workspace_claim=run_object.workspace))
    source = f"configmap/{run} in namespace {conn.namespace}"
    workflow = pick_workflow(load_text(text, path=source), source, None)
    try:
        run_dir = RunDir.find(run)
    except KjobError:
        run_dir = RunDir.create(run)
    console.line(f"Run {run} (resumed)", style="bold")
    console.line(f"  backend: kubernetes ({conn.where}, namespace {conn.namespace})    files: {run_dir.path}")
    backend = KubernetesBackend(conn, run_object, notice=console.notice)
    execute(
        workflow,
        backend,
        run_id=run,
        run_dir=run_dir,
        source=source,
        parameters=parameters,
        parallelism=parallelism,
        namespace=conn.namespace,
        detach=detach,
    )
