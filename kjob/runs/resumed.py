"""Taking a run up again: what ``kjob resume`` and ``kjob retry`` (and :func:`kjob.runs.resume`,
:func:`kjob.runs.retry`) drive.  A Kubernetes run is taken up from what the cluster holds (its Jobs
adopted, never created twice); a local run from its run directory (journal, node agent, workflow
copy).  Each function returns a :class:`~kjob.runs.drive.Launch` for :func:`~kjob.runs.drive.drive`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kjob.errors import KjobError
from kjob.rundir import RunDir, runs_root
from kjob.runs.drive import Launch, Notice, log_notice
from kjob.runs.start import cluster_resources, local_resources
from kjob.runs.workflowfile import pick_workflow

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster, RunObject
    from kjob.engine.rerun import Rerun
    from kjob.spec.model import Workflow


def local_run(run: str) -> RunDir | None:
    """RUN's directory if it is a local run recorded on this machine (by id or a unique prefix)."""
    try:
        run_dir = RunDir.find(run)
    except KjobError:
        return None
    record = record_or_none(run_dir)
    return run_dir if record is not None and record.get("backend") == "local" else None


def record_or_none(run_dir: RunDir) -> dict[str, Any] | None:
    try:
        return run_dir.read_record()
    except KjobError:
        return None


def local_launch(
    run_dir: RunDir, parallelism: int | None, rerun: Rerun | None = None, *, notice: Notice = log_notice
) -> Launch:
    """Finish the local run of ``run_dir``: its finished tasks are not run again, tasks still running
    under its node agent are waited for."""
    from kjob.backends.local import LocalBackend
    from kjob.spec import load_file
    from kjob.spec.templates_dir import carried_library

    record = run_dir.read_record()
    copy = run_dir.path / "workflow.yaml"
    if not copy.is_file():
        raise KjobError(f"run {run_dir.run_id} cannot be resumed: its workflow copy {copy} is missing")
    carried = run_dir.templates.read_text() if run_dir.templates.is_file() else ""
    loaded = load_file(str(copy), templates=carried_library(carried, str(run_dir.templates)))
    workflow = pick_workflow(loaded, str(copy), record.get("workflow_name"))
    return Launch(
        workflow,
        local_resources(
            LocalBackend(run_dir, notice=notice, resume=True), workflow, None, None, None, notice
        ),
        run_id=run_dir.run_id,
        run_dir=run_dir,
        source=str(record.get("workflow") or copy),
        parameters=dict(record.get("parameters") or {}),
        parallelism=parallelism or record.get("parallelism"),
        namespace=str(record.get("namespace") or "default"),
        where="local",
        kind="retried" if rerun is not None else "resumed",
        previous=record,
        rerun=rerun,
    )


def held_cluster_launch(
    conn: Cluster,
    run: str,
    *,
    parallelism: int | None,
    rerun: Rerun | None = None,
    notice: Notice = log_notice,
) -> Launch:
    """Finish the run ``run`` the cluster holds, from its run object's workflow and parameters."""
    from kjob.backends.kubernetes import KubernetesBackend
    from kjob.render.manifests import TEMPLATES_KEY
    from kjob.spec import load_text
    from kjob.spec.templates_dir import carried_library

    held = KubernetesBackend.open_run(conn, run)
    source = f"configmap/{run} in namespace {conn.namespace}"
    library = carried_library(held.templates_text, f"{source}, key {TEMPLATES_KEY}")
    workflow = pick_workflow(load_text(held.workflow_text, path=source, templates=library), source, None)
    return cluster_launch(
        conn,
        held.run,
        workflow,
        source=source,
        parameters=held.parameters,
        parallelism=parallelism,
        rerun=rerun,
        notice=notice,
    )


def cluster_launch(
    conn: Cluster,
    run_object: RunObject,
    workflow: Workflow,
    *,
    source: str,
    parameters: dict[str, str],
    parallelism: int | None,
    ttl: int | None = None,
    queue: str | None = None,
    indexed_jobs: bool = True,
    rerun: Rerun | None = None,
    notice: Notice = log_notice,
) -> Launch:
    """Finish a run that exists in the cluster (``kjob resume RUN``, or a new run whose id the cluster
    already holds: a driver Job's next pod): its Jobs are adopted, its finished tasks replayed from
    what the cluster holds, only the rest started."""
    from kjob.backends.kubernetes import KubernetesBackend, permissions
    from kjob.render.resource_access import resource_permissions

    run = run_object.run_id
    if needs := permissions.workflow_needs(workflow):  # Leases, memoize caches
        permissions.check(conn, needs)
    permissions.check(
        conn,
        permissions.features(ttl=ttl, workspace_claim=run_object.workspace),
        resource_permissions(workflow),
    )
    exact = runs_root() / run  # this run's directory only, never one that merely starts with its id
    run_dir = RunDir(exact) if exact.is_dir() else RunDir.create(run)
    backend = KubernetesBackend(
        conn,
        run_object,
        notice=notice,
        ttl_seconds_after_finished=ttl,
        queue_name=queue,
        indexed_jobs=indexed_jobs,
    )
    return Launch(
        workflow,
        cluster_resources(backend, workflow, run_object),
        run_id=run,
        run_dir=run_dir,
        source=source,
        parameters=parameters,
        parallelism=parallelism,
        namespace=conn.namespace,
        where=f"kubernetes ({conn.where}, namespace {conn.namespace})",
        kind="retried" if rerun is not None else "resumed",
        previous=record_or_none(run_dir),
        rerun=rerun,
    )
