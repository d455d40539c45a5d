"""``kjob run FILE``: run a workflow to the end and exit with its result."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kjob.backends.base import Backend
from kjob.backends.local import LocalBackend
from kjob.cli import console
from kjob.cli.common import (
    ClusterTarget,
    lenient_option,
    load,
    parse_parameters,
    pick_workflow,
    run_id_for,
    templates_option,
)
from kjob.cli.execute import cluster_options, execute, given_options
from kjob.cli.viewoptions import view_options
from kjob.engine.engine import resolve_workflow_parameters
from kjob.errors import ClusterError, KjobError
from kjob.rundir import RunDir

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster, RunObject


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
@click.option(
    "--parameter-file",
    type=click.Path(dir_okay=False),
    help="A YAML or JSON map of workflow parameters (-p wins over it).",
)
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@click.option(
    "--run-id",
    "run_id_option",
    metavar="ID",
    callback=lambda _ctx, _param, value: _check_run_id(value),
    help="Name the run ID. On Kubernetes, a run ID that already exists with the same workflow and "
    "parameters is resumed, not refused (how a driver Job's next pod carries on).",
)
@click.option(
    "--owner-job",
    metavar="NAME=UID",
    callback=lambda _ctx, _param, value: _parse_owner(value),
    help="Make the run belong to this Job, so that deleting the Job deletes the run and its Jobs "
    "(a driver Job passes itself).",
)
@click.option("--keep-workdirs", is_flag=True, help="Keep every task's working directory (local backend).")
@click.option(
    "--ttl-seconds-after-finished",
    "ttl",
    type=click.IntRange(min=0),
    help="Let Kubernetes delete each finished Job N seconds after kjob has read its outcome.",
)
@click.option("--queue", metavar="NAME", help="Kueue LocalQueue: Jobs are created suspended and labelled.")
@click.option(
    "--no-indexed-jobs",
    "one_job_per_item",
    is_flag=True,
    help="Run each fan-out item as its own Job instead of one Indexed Job per fan-out.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the objects a Kubernetes run would create, and exit (see above)."
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json"]),
    help="With --dry-run: a YAML stream (the default) or a v1 List in JSON.",
)
@click.option(
    "--wait",
    type=click.BOOL,
    default=True,
    show_default=True,
    metavar="BOOL",
    help="--wait=false: submit, print the run id and return; a detached kjob (local) or a driver Job "
    "in the cluster (needs --driver-image) watches the run.",
)
@click.option("--driver-image", metavar="IMAGE", help="With --wait=false on Kubernetes: the image of kjob.")
@click.option(
    "--driver-command",
    metavar="COMMAND",
    help="With --driver-image: how the image runs kjob (default: kjob), e.g. 'python -m kjob'.",
)
@click.option(
    "--workspace-pvc",
    metavar="NAME",
    help="PersistentVolumeClaim that holds the run's artifacts (kubernetes backend).",
)
@cluster_options
@lenient_option
@templates_option
@view_options
def command(
    file: str,
    parameters: tuple[str, ...],
    parameter_file: str | None,
    backend: str,
    parallelism: int | None,
    workflow_name: str | None,
    run_id_option: str | None,
    owner_job: tuple[str, str] | None,
    keep_workdirs: bool,
    ttl: int | None,
    queue: str | None,
    one_job_per_item: bool,
    dry_run: bool,
    output: str | None,
    wait: bool,
    driver_image: str | None,
    driver_command: str | None,
    workspace_pvc: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    qps: float,
    burst: int,
    detach: bool,
    lenient: bool,
) -> None:
    """Run the workflow in FILE, show its progress, exit 0 if it succeeded and 1 if it failed.

    With --dry-run, print instead the objects a Kubernetes run would create, in order: the run
    ConfigMap, then each task's Job as it would be dispatched (--queue, --ttl-seconds-after-finished,
    --parallelism and -p apply). No cluster is contacted and nothing is recorded; stdout holds only
    YAML (or JSON), notes go to stderr. A run-time `when` or `withParam` (one that reads another
    task's outputs) cannot be decided: such tasks are named, and no values are invented.

    Pipe it to `kubectl apply --dry-run=server -f -` to have a cluster check it (schema, admission,
    quota). Applying it for real does not run the workflow: every Job would start at once, in no
    order, and their ownerReferences carry a placeholder uid (the run ConfigMap's real uid exists only
    once it is created), so the garbage collector would delete them. `kjob run` creates them in order.
    """
    overrides = {**read_parameter_file(parameter_file), **parse_parameters(parameters)}
    creates = not (dry_run or output is not None)  # --dry-run contacts no cluster, not even for templates
    loaded = load(
        file, lenient=lenient, cluster=ClusterTarget(kubeconfig, context, namespace) if creates else None
    )
    workflow = pick_workflow(loaded, file, workflow_name)
    resolve_workflow_parameters(workflow, overrides)  # bad -p values fail before anything starts
    if dry_run or output is not None:
        from kjob.cli.dryrun import print_dry_run

        if given := given_options(click.get_current_context(), ("run_id_option", "owner_job")):
            raise click.UsageError(f"{', '.join(given)}: only for a run, and --dry-run creates nothing")

        print_dry_run(
            file,
            workflow,
            dry_run=dry_run,
            backend=backend,
            output=output,
            parameters=overrides,
            parallelism=parallelism,
            ttl=ttl,
            queue=queue,
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace,
            workspace_claim=workspace_pvc,
            indexed_jobs=not one_job_per_item,
        )
        return
    chosen = _choose_backend(backend, kubeconfig)
    if chosen == "kubernetes":
        from kjob.render import entrypoint, workspace

        # before anything is created in the cluster
        workspace.require(workflow, workspace_pvc)
        entrypoint.require(workflow)
    _check_wait(click.get_current_context(), wait, chosen, driver_image)
    run_id = run_id_option or run_id_for(workflow)
    runner: Backend | None
    if chosen == "kubernetes":
        from kjob.backends.kubernetes import KubernetesBackend, connect, permissions
        from kjob.backends.kubernetes.backend import RunExistsError
        from kjob.backends.kubernetes.claim import check_claim

        conn = connect(
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace or workflow.namespace,
            qps=qps,
            burst=burst,
        )
        if not wait:
            from kjob.cli.submit import submit_driver

            submit_driver(
                conn,
                workflow,
                Path(file).read_text(),
                image=driver_image,
                command=driver_command,
                parameters=overrides,
                parallelism=parallelism,
                workspace_claim=workspace_pvc,
                templates_text=loaded.carried_templates(workflow),
            )
            return
        permissions.check(conn, permissions.features(ttl=ttl, workspace_claim=workspace_pvc))
        if workspace_pvc is not None:
            check_claim(conn.core, conn.namespace, workspace_pvc)
        text = Path(file).read_text()
        carried = loaded.carried_templates(workflow)

        def go_on(found: RunObject) -> None:
            """The run is in the cluster already: adopt it (a driver Job's next pod)."""
            from kjob.cli.resume import continue_in_cluster

            if owner_job is not None:
                _give_to_job(conn, run_id, owner_job)
            continue_in_cluster(
                conn,
                found,
                workflow,
                source=os.path.abspath(file),
                parameters=overrides,
                parallelism=parallelism,
                detach=detach,
                ttl=ttl,
                queue=queue,
                indexed_jobs=not one_job_per_item,
            )

        if run_id_option is not None and (found := _same_run(conn, run_id, text, overrides, carried)):
            go_on(found)
            return
        run_dir = RunDir.create(run_id)  # first: a clash here must not leave a run in the cluster
        try:
            run = KubernetesBackend.create_run(
                conn,
                run_id,
                workflow_text=text,
                parameters=overrides,
                workspace_claim=workspace_pvc,
                templates_text=carried,
            )
        except RunExistsError:
            run_dir.discard()
            # two pods of one driver Job both found no run and both created it: the one that lost
            # goes on with the winner's run, as its next pod would (never a second run of that id)
            if run_id_option is None or not (found := _same_run(conn, run_id, text, overrides, carried)):
                raise
            go_on(found)
            return
        except BaseException:
            run_dir.discard()
            raise
        if owner_job is not None:
            _give_to_job(conn, run_id, owner_job)  # before any Job of the run exists
        try:
            runner = KubernetesBackend(
                conn,
                run,
                notice=console.notice,
                ttl_seconds_after_finished=ttl,
                queue_name=queue,
                indexed_jobs=not one_job_per_item,
            )
        except BaseException:  # it could not watch the run: nothing was started, leave nothing
            KubernetesBackend.discard_run(conn, run)
            run_dir.discard()
            raise
        _announce(run_id, f"kubernetes ({conn.where}, namespace {conn.namespace})", run_dir)
        ns = conn.namespace
    else:
        run_dir = RunDir.create(run_id)
        runner = None  # --wait=false: a detached kjob watches the run
        if wait:
            _announce(run_id, "local", run_dir)
            runner = LocalBackend(run_dir, notice=console.notice, keep_workdirs=keep_workdirs)
        ns = workflow.namespace or "default"
    shutil.copyfile(file, run_dir.path / "workflow.yaml")
    if carried := loaded.carried_templates(workflow):  # for `kjob resume`, should the directory change
        run_dir.templates.write_text(carried)
    if runner is None:
        from kjob.cli.submit import watch_detached

        source = os.path.abspath(file)
        watch_detached(
            run_dir,
            source=source,
            workflow=workflow,
            parameters=overrides,
            parallelism=parallelism,
            namespace=ns,
        )
        return
    execute(
        workflow,
        runner,
        run_id=run_id,
        run_dir=run_dir,
        source=os.path.abspath(file),
        parameters=overrides,
        parallelism=parallelism,
        namespace=ns,
        detach=detach,
    )


RUN_ID = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS label: the run's ConfigMap and Job names


def _check_run_id(value: str | None) -> str | None:
    if value is not None and not RUN_ID.fullmatch(value):
        raise click.BadParameter(
            f"'{value}' is not a run id: at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _parse_owner(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    name, sep, uid = value.partition("=")
    if not sep or not RUN_ID.fullmatch(name) or not uid.strip():
        raise click.BadParameter(f"'{value}' is not NAME=UID of a Job")
    return name, uid.strip()


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


def _same_run(
    conn: Cluster, run_id: str, text: str, parameters: dict[str, str], templates_text: str
) -> RunObject | None:
    """The run ``run_id`` if the cluster holds it with this workflow text, these parameters and these
    templates; ``None`` if there is none; an error if it holds another workflow under that id."""
    from kjob.backends.kubernetes import KubernetesBackend

    try:
        held = KubernetesBackend.open_run(conn, run_id)
    except ClusterError:
        raise
    except KjobError:  # no such run (a ConfigMap of that name that is no run: creating it says so)
        return None
    if (held.workflow_text, held.parameters, held.templates_text) != (text, parameters, templates_text):
        raise KjobError(
            f"run '{run_id}' exists in namespace {conn.namespace} with another workflow or other parameters",
            hint=f"choose another --run-id, or finish that run as it is with `kjob resume {run_id}`",
        )
    return held.run


def read_parameter_file(path: str | None) -> dict[str, str]:
    """``--parameter-file``: a YAML (or JSON) map of parameter names to scalar values."""
    if path is None:
        return {}
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise KjobError(f"cannot read the parameter file {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        raise KjobError(f"{where}: the parameter file is not YAML or JSON") from None
    if data is None:
        return {}
    bad = not isinstance(data, dict) or any(
        not isinstance(k, str) or isinstance(v, (dict, list)) for k, v in data.items()
    )
    if bad:
        raise KjobError(
            f"{path}: a parameter file is a map of names to values",
            hint='e.g. {"message": "hello", "count": 3}',
        )
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def _choose_backend(requested: str, kubeconfig: str | None) -> str:
    ctx = click.get_current_context()
    if requested == "local":
        _refuse_cluster_options(ctx, explicit=True)
    if requested != "auto":
        return requested
    from kjob.backends.kubernetes.configured import kubeconfig_available

    if kubeconfig_available(kubeconfig):
        return "kubernetes"
    _refuse_cluster_options(ctx, explicit=False)
    console.notice("no cluster configured (no kubeconfig, not in a pod): running on the local backend")
    return "local"


# Options that only a cluster gives a meaning to (by click parameter name).
CLUSTER_ONLY = (
    "owner_job",
    "context",
    "namespace",
    "queue",
    "workspace_pvc",
    "ttl",
    "one_job_per_item",
    "qps",
    "burst",
    "detach",
    "driver_image",
    "driver_command",
)

# Options a run submitted with --wait=false cannot pass on to the kjob that watches it.
NOT_WITH_NO_WAIT = {
    "local": ("keep_workdirs",),
    "kubernetes": ("run_id_option", "owner_job", "ttl", "queue", "one_job_per_item", "detach"),
}


def _check_wait(ctx: click.Context, wait: bool, backend: str, driver_image: str | None) -> None:
    if wait and (given := given_options(ctx, ("driver_image", "driver_command"))):
        raise click.UsageError(f"{', '.join(given)}: only with --wait=false (a driver Job in the cluster)")
    if not wait and (given := given_options(ctx, NOT_WITH_NO_WAIT[backend])):
        raise click.UsageError(f"{', '.join(given)}: not with --wait=false on the {backend} backend")


def _refuse_cluster_options(ctx: click.Context, *, explicit: bool) -> None:
    """A run on this machine with an option only a cluster uses would silently ignore it: refuse."""
    given = given_options(ctx, CLUSTER_ONLY)
    if not given:
        return
    flags = ", ".join(given)
    if explicit:
        raise KjobError(f"{flags}: only for the kubernetes backend, and --backend local was chosen")
    raise KjobError(
        f"{flags}: only for the kubernetes backend, and no cluster is configured (no kubeconfig, not "
        "in a pod), so this would run on this machine",
        hint="name one with --kubeconfig FILE (or $KUBECONFIG), or drop the option to run locally",
    )


def _announce(run_id: str, backend: str, run_dir: RunDir) -> None:
    console.line(f"Run {run_id}", style="bold")
    console.line(f"  backend: {backend}    logs: kjob logs {run_id}    files: {run_dir.path}")
