"""Starting a run: which backend runs it, its run directory, and on Kubernetes its run object (or the
run of that id the cluster already holds, taken up again).  What ``kjob run`` and :func:`kjob.run`
share; each returns a :class:`~kjob.runs.drive.Launch` for :func:`~kjob.runs.drive.drive`."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kjob.errors import ClusterError, KjobError
from kjob.rundir import RunDir
from kjob.runs.drive import Launch, Notice, log_notice
from kjob.spec import build_pdb

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster, KubernetesBackend, RunObject
    from kjob.backends.local import LocalBackend
    from kjob.spec.model import Workflow

RUN_ID = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS label: the run's ConfigMap and Job names


def check_run_id(value: str) -> str:
    if not RUN_ID.fullmatch(value):
        raise KjobError(
            f"'{value}' is not a run id: at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def choose_backend(requested: str, kubeconfig: str | None) -> str:
    """``local`` or ``kubernetes``: ``auto`` is kubernetes when a cluster is configured (a kubeconfig,
    or kjob runs in a pod)."""
    if requested not in ("auto", "local", "kubernetes"):
        raise KjobError(f"unknown backend '{requested}' (one of: auto, local, kubernetes)")
    if requested != "auto":
        return requested
    from kjob.backends.kubernetes.configured import kubeconfig_available

    return "kubernetes" if kubeconfig_available(kubeconfig) else "local"


def check_runs_in_cluster(workflow: Workflow, workspace_claim: str | None) -> None:
    """What a Kubernetes run of ``workflow`` needs before anything is created in the cluster: a
    workspace claim if it passes artifacts, an entrypoint a Job can run."""
    from kjob.render import entrypoint, workspace

    workspace.require(workflow, workspace_claim)
    entrypoint.require(workflow)


def check_runs_locally(workflow: Workflow, kubeconfig: str | None = None) -> None:
    """What a local run of ``workflow`` needs before it starts: volumes the host can provide, and a
    cluster for its resource templates."""
    from kjob.backends import localsecrets, localvolumes, resources

    localvolumes.require(workflow)
    localsecrets.require(workflow)
    resources.require(workflow, kubeconfig)


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to start: the workflow picked from the file at ``path`` (whose text is ``text``), the
    templates it carries from elsewhere, its parameters and id."""

    workflow: Workflow
    path: str
    text: str
    templates_text: str
    parameters: dict[str, str]
    run_id: str
    parallelism: int | None = None

    def record_files(self, run_dir: RunDir) -> None:
        """Keep the workflow file (and the templates it carries) in the run directory, for
        ``kjob resume`` should the file change."""
        shutil.copyfile(self.path, run_dir.path / "workflow.yaml")
        if self.templates_text:
            run_dir.templates.write_text(self.templates_text)


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """How a Kubernetes run makes its Jobs (``kjob run``'s cluster-only options)."""

    ttl: int | None = None
    queue: str | None = None
    indexed_jobs: bool = True
    workspace_claim: str | None = None
    owner_job: tuple[str, str] | None = None  # (name, uid) of the Job the run belongs to
    adopt: bool = False  # the run id was chosen: a run of that id in the cluster is taken up again


def local_start(
    new: NewRun,
    *,
    keep_workdirs: bool = False,
    notice: Notice = log_notice,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
) -> Launch:
    """A new run on this machine (its resource templates act on the cluster ``kubeconfig`` and
    ``context`` name, in ``namespace``)."""
    from kjob.backends.local import LocalBackend

    check_runs_locally(new.workflow, kubeconfig)
    run_dir = RunDir.create(new.run_id)
    new.record_files(run_dir)
    backend = LocalBackend(run_dir, notice=notice, keep_workdirs=keep_workdirs)
    if new.workflow.pod_disruption_budget is not None:
        notice(f"local backend: {build_pdb.LOCAL_NOTE}")
    return Launch(
        new.workflow,
        local_resources(backend, new.workflow, kubeconfig, context, namespace, notice),
        run_id=new.run_id,
        run_dir=run_dir,
        source=new.path,
        parameters=new.parameters,
        parallelism=new.parallelism,
        namespace=new.workflow.namespace or "default",
        where="local",
    )


def cluster_start(
    conn: Cluster, new: NewRun, options: ClusterOptions = ClusterOptions(), *, notice: Notice = log_notice
) -> Launch:
    """A new run in the cluster: its run object, then a backend watching it.  With ``options.adopt``
    a run of that id the cluster holds with this workflow and these parameters is taken up again
    instead (a driver Job's next pod); with another workflow it is an error."""
    from kjob.backends.kubernetes import KubernetesBackend, permissions
    from kjob.backends.kubernetes.backend import RunExistsError
    from kjob.backends.kubernetes.claim import check_claim
    from kjob.backends.kubernetes.claims import create_claims, label_run
    from kjob.backends.kubernetes.pdb import create_pdb
    from kjob.backends.kubernetes.podlevel import require as require_pod_level
    from kjob.render.metadata import workflow_parameters
    from kjob.render.resource_access import resource_permissions

    check_runs_in_cluster(new.workflow, options.workspace_claim)
    require_pod_level(conn, new.workflow)  # podResources, resourceClaims: refused, never dropped
    if needs := permissions.workflow_needs(new.workflow):  # Leases, memoize caches
        permissions.check(conn, needs)
    permissions.check(
        conn,
        permissions.features(ttl=options.ttl, workspace_claim=options.workspace_claim),
        resource_permissions(new.workflow),
    )
    if options.workspace_claim is not None:
        check_claim(conn.core, conn.namespace, options.workspace_claim)
    if options.adopt and (found := _same_run(conn, new)):
        return _go_on(conn, found, new, options, notice)
    run_dir = RunDir.create(new.run_id)  # first: a clash here must not leave a run in the cluster
    try:
        run = KubernetesBackend.create_run(
            conn,
            new.run_id,
            workflow_text=new.text,
            parameters=new.parameters,
            workspace_claim=options.workspace_claim,
            templates_text=new.templates_text,
        )
    except RunExistsError:
        run_dir.discard()
        # two pods of one driver Job both found no run and both created it: the one that lost
        # goes on with the winner's run, as its next pod would (never a second run of that id)
        if not options.adopt or not (found := _same_run(conn, new)):
            raise
        return _go_on(conn, found, new, options, notice)
    except BaseException:
        run_dir.discard()
        raise
    if options.owner_job is not None:
        _give_to_job(conn, new.run_id, options.owner_job)  # before any Job of the run exists
    try:
        create_claims(conn.core, new.workflow, run)  # volumeClaimTemplates, owned by the run
        create_pdb(conn.api, new.workflow, run)  # podDisruptionBudget, owned by the run
        label_run(conn.core, new.workflow, run, workflow_parameters(new.workflow, new.parameters))
        backend = KubernetesBackend(
            conn,
            run,
            notice=notice,
            ttl_seconds_after_finished=options.ttl,
            queue_name=options.queue,
            indexed_jobs=options.indexed_jobs,
        )
    except BaseException:  # it could not watch the run: nothing was started, leave nothing
        KubernetesBackend.discard_run(conn, run)
        run_dir.discard()
        raise
    new.record_files(run_dir)
    return Launch(
        new.workflow,
        cluster_resources(backend, new.workflow, run),
        run_id=new.run_id,
        run_dir=run_dir,
        source=new.path,
        parameters=new.parameters,
        parallelism=new.parallelism,
        namespace=conn.namespace,
        where=f"kubernetes ({conn.where}, namespace {conn.namespace})",
    )


def _go_on(conn: Cluster, found: RunObject, new: NewRun, options: ClusterOptions, notice: Notice) -> Launch:
    """The run is in the cluster already: adopt it (a driver Job's next pod)."""
    from kjob.runs.resumed import cluster_launch

    if options.owner_job is not None:
        _give_to_job(conn, new.run_id, options.owner_job)
    return cluster_launch(
        conn,
        found,
        new.workflow,
        source=new.path,
        parameters=new.parameters,
        parallelism=new.parallelism,
        ttl=options.ttl,
        queue=options.queue,
        indexed_jobs=options.indexed_jobs,
        notice=notice,
    )


def _give_to_job(conn: Cluster, run_id: str, owner: tuple[str, str]) -> None:
    """Name the Job ``owner`` (name, uid) as the owner of the run's ConfigMap, which owns the run's
    Jobs: the garbage collector then deletes the whole run with that Job."""
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error

    name, uid = owner
    reference = {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid}
    try:
        conn.core.patch_namespaced_config_map(
            run_id, conn.namespace, {"metadata": {"ownerReferences": [reference]}}
        )
    except client.ApiException as err:
        raise ClusterError(
            f"could not make Job {name} the owner of run {run_id}: {describe_error(err)}"
        ) from None


def _same_run(conn: Cluster, new: NewRun) -> RunObject | None:
    """The run ``new.run_id`` if the cluster holds it with this workflow text, these parameters and
    these templates; ``None`` if there is none; an error if it holds another workflow under that id."""
    from kjob.backends.kubernetes import KubernetesBackend

    try:
        held = KubernetesBackend.open_run(conn, new.run_id)
    except ClusterError:
        raise
    except KjobError:  # no such run (a ConfigMap of that name that is no run: creating it says so)
        return None
    if (held.workflow_text, held.parameters, held.templates_text) != (
        new.text,
        new.parameters,
        new.templates_text,
    ):
        raise KjobError(
            f"run '{new.run_id}' exists in namespace {conn.namespace} "
            "with another workflow or other parameters",
            hint=f"choose another --run-id, or finish that run as it is with `kjob resume {new.run_id}`",
        )
    return held.run


def local_resources(
    backend: LocalBackend,
    workflow: Workflow,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    notice: Notice,
) -> LocalBackend:
    """``backend``, with the resource templates of ``workflow`` acting on the configured cluster."""
    from kjob.backends.resources import resource_templates

    if not resource_templates(workflow):
        return backend
    from kjob.backends.kubernetes import connect
    from kjob.backends.resources.runner import ResourceRunner

    try:
        conn = connect(kubeconfig=kubeconfig, context=context, namespace=namespace or workflow.namespace)
    except BaseException:
        backend.close()
        raise
    backend.resources = ResourceRunner(conn.api, conn.namespace, backend.now, notice=notice)
    return backend


def cluster_resources(backend: KubernetesBackend, workflow: Workflow, run: RunObject) -> KubernetesBackend:
    """``backend``, with the resource templates of ``workflow`` acting in the run's namespace; what
    they create with ``setOwnerReference`` is owned by the run's ConfigMap."""
    from kjob.backends.resources import resource_templates

    if resource_templates(workflow):
        from kjob.backends.resources.action import Owner

        backend.perform_resources(Owner(run.run_id, run.uid, run.namespace))
    return backend
