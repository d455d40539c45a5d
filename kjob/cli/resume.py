"""``kjob resume RUN``: finish a run whose kjob stopped (killed, crashed, detached), never running a
finished task again.  A Kubernetes run is resumed from what the cluster holds; a local run from its
run directory (journal, node agent, workflow copy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kjob.cli import console
from kjob.cli.common import pick_workflow
from kjob.cli.execute import cluster_options, execute, given_options
from kjob.cli.viewoptions import view_options
from kjob.engine.rerun import Rerun
from kjob.errors import KjobError
from kjob.render.manifests import TEMPLATES_KEY
from kjob.rundir import RunDir, runs_root
from kjob.spec import load_file, load_text
from kjob.spec.model import Workflow
from kjob.spec.templates_dir import carried_library

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster, RunObject


@click.command("resume")
@click.argument("run")
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@cluster_options
@view_options
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
    """Finish RUN: adopt what is still running, replay what finished, start only the rest.

    A Kubernetes run's existing Jobs are adopted (never created twice). A local run's finished
    tasks are not run again, and tasks still running under its node agent are waited for."""
    local = _local_run(run)
    if local is not None:
        _refuse_cluster_options(local.run_id)
        resume_local(local, parallelism)
        return
    from kjob.backends.kubernetes import connect

    conn = connect(kubeconfig=kubeconfig, context=context, namespace=namespace, qps=qps, burst=burst)
    resume_cluster_run(conn, run, parallelism=parallelism, detach=detach)


def resume_cluster_run(
    conn: Cluster, run: str, *, parallelism: int | None, detach: bool, rerun: Rerun | None = None
) -> None:
    """Finish the run ``run`` the cluster holds, from its run object (``rerun``: ``kjob retry``)."""
    from kjob.backends.kubernetes import KubernetesBackend

    held = KubernetesBackend.open_run(conn, run)
    source = f"configmap/{run} in namespace {conn.namespace}"
    library = carried_library(held.templates_text, f"{source}, key {TEMPLATES_KEY}")
    workflow = pick_workflow(load_text(held.workflow_text, path=source, templates=library), source, None)
    continue_in_cluster(
        conn,
        held.run,
        workflow,
        source=source,
        parameters=held.parameters,
        parallelism=parallelism,
        detach=detach,
        rerun=rerun,
    )


def continue_in_cluster(
    conn: Cluster,
    run_object: RunObject,
    workflow: Workflow,
    *,
    source: str,
    parameters: dict[str, str],
    parallelism: int | None,
    detach: bool,
    ttl: int | None = None,
    queue: str | None = None,
    indexed_jobs: bool = True,
    rerun: Rerun | None = None,
) -> None:
    """Finish a run that exists in the cluster (``kjob resume RUN``, or ``kjob run --run-id RUN`` when
    RUN is already there: a driver Job's next pod): its Jobs are adopted, its finished tasks replayed
    from what the cluster holds, only the rest started."""
    from kjob.backends.kubernetes import KubernetesBackend, permissions

    run = run_object.run_id
    permissions.check(conn, permissions.features(ttl=ttl, workspace_claim=run_object.workspace))
    exact = runs_root() / run  # this run's directory only, never one that merely starts with its id
    run_dir = RunDir(exact) if exact.is_dir() else RunDir.create(run)
    previous = _record_or_none(run_dir)
    console.line(f"Run {run} ({'retried' if rerun is not None else 'resumed'})", style="bold")
    console.line(f"  backend: kubernetes ({conn.where}, namespace {conn.namespace})    files: {run_dir.path}")
    backend = KubernetesBackend(
        conn,
        run_object,
        notice=console.notice,
        ttl_seconds_after_finished=ttl,
        queue_name=queue,
        indexed_jobs=indexed_jobs,
    )
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
        previous=previous,
        rerun=rerun,
    )


def _local_run(run: str) -> RunDir | None:
    """RUN's directory if it is a local run recorded on this machine."""
    try:
        run_dir = RunDir.find(run)
    except KjobError:
        return None
    record = _record_or_none(run_dir)
    return run_dir if record is not None and record.get("backend") == "local" else None


def _record_or_none(run_dir: RunDir) -> dict[str, Any] | None:
    try:
        return run_dir.read_record()
    except KjobError:
        return None


def _refuse_cluster_options(run_id: str) -> None:
    names = ("kubeconfig", "context", "namespace", "qps", "burst", "detach")
    if given := given_options(click.get_current_context(), names):
        raise KjobError(f"{', '.join(given)}: only for a Kubernetes run, and {run_id} ran on this machine")


def resume_local(run_dir: RunDir, parallelism: int | None, rerun: Rerun | None = None) -> None:
    from kjob.backends.local import LocalBackend

    record = run_dir.read_record()
    copy = run_dir.path / "workflow.yaml"
    if not copy.is_file():
        raise KjobError(f"run {run_dir.run_id} cannot be resumed: its workflow copy {copy} is missing")
    carried = run_dir.templates.read_text() if run_dir.templates.is_file() else ""
    loaded = load_file(str(copy), templates=carried_library(carried, str(run_dir.templates)))
    workflow = pick_workflow(loaded, str(copy), record.get("workflow_name"))
    backend = LocalBackend(run_dir, notice=console.notice, resume=True)
    console.line(f"Run {run_dir.run_id} ({'retried' if rerun is not None else 'resumed'})", style="bold")
    console.line(f"  backend: local    logs: kjob logs {run_dir.run_id}    files: {run_dir.path}")
    execute(
        workflow,
        backend,
        run_id=run_dir.run_id,
        run_dir=run_dir,
        source=str(record.get("workflow") or copy),
        parameters=dict(record.get("parameters") or {}),
        parallelism=parallelism or record.get("parallelism"),
        namespace=str(record.get("namespace") or "default"),
        previous=record,
        rerun=rerun,
    )
