"""``kjob run FILE``: run a workflow to the end and exit with its result."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from kjob.backends.base import Backend
from kjob.backends.local import LocalBackend
from kjob.cli import console
from kjob.cli.common import lenient_option, load, parse_parameters, pick_workflow, run_id_for
from kjob.cli.execute import cluster_options, execute
from kjob.engine.engine import resolve_workflow_parameters
from kjob.rundir import RunDir


@click.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "-p", "--parameter", "parameters", multiple=True, metavar="NAME=VALUE", help="Set a workflow parameter."
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "local", "kubernetes"]),
    default="auto",
    show_default=True,
    help="Where tasks run (auto: kubernetes when a cluster is configured, else local).",
)
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@click.option("--keep-workdirs", is_flag=True, help="Keep every task's working directory (local backend).")
@click.option(
    "--ttl-seconds-after-finished",
    "ttl",
    type=click.IntRange(min=0),
    help="Let Kubernetes delete finished Jobs.",
)
@click.option("--queue", metavar="NAME", help="Kueue LocalQueue: Jobs are created suspended and labelled.")
@cluster_options
@lenient_option
def command(
    file: str,
    parameters: tuple[str, ...],
    backend: str,
    parallelism: int | None,
    workflow_name: str | None,
    keep_workdirs: bool,
    ttl: int | None,
    queue: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    qps: float,
    burst: int,
    lenient: bool,
) -> None:
    """Run the workflow in FILE, show its progress, exit 0 if it succeeded and 1 if it failed."""
    overrides = parse_parameters(parameters)
    loaded = load(file, lenient=lenient)
    workflow = pick_workflow(loaded, file, workflow_name)
    resolve_workflow_parameters(workflow, overrides)  # bad -p values fail before anything starts
    chosen = _choose_backend(backend, kubeconfig)
    run_id = run_id_for(workflow)
    runner: Backend
    if chosen == "kubernetes":
        from kjob.backends.kubernetes import KubernetesBackend, connect

        conn = connect(
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace or workflow.namespace,
            qps=qps,
            burst=burst,
        )
        run = KubernetesBackend.create_run(
            conn, run_id, workflow_text=Path(file).read_text(), parameters=overrides
        )
        run_dir = RunDir.create(run_id)
        _announce(run_id, f"kubernetes ({conn.where}, namespace {conn.namespace})", run_dir)
        runner = KubernetesBackend(
            conn, run, notice=console.notice, ttl_seconds_after_finished=ttl, queue_name=queue
        )
        ns = conn.namespace
    else:
        run_dir = RunDir.create(run_id)
        _announce(run_id, "local", run_dir)
        runner = LocalBackend(run_dir, notice=console.notice, keep_workdirs=keep_workdirs)
        ns = workflow.namespace or "default"
    shutil.copyfile(file, run_dir.path / "workflow.yaml")
    execute(
        workflow,
        runner,
        run_id=run_id,
        run_dir=run_dir,
        source=os.path.abspath(file),
        parameters=overrides,
        parallelism=parallelism,
        namespace=ns,
    )


def _choose_backend(requested: str, kubeconfig: str | None) -> str:
    if requested != "auto":
        return requested
    from kjob.backends.kubernetes.cluster import kubeconfig_available

    if kubeconfig_available(kubeconfig):
        return "kubernetes"
    console.notice("no cluster configured (no kubeconfig, not in a pod): running on the local backend")
    return "local"


def _announce(run_id: str, backend: str, run_dir: RunDir) -> None:
    console.line(f"Run {run_id}", style="bold")
    console.line(f"  backend: {backend}    logs: kjob logs {run_id}    files: {run_dir.path}")
