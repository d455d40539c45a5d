"""``kjob run FILE``: run a workflow to the end and exit with its result."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kjob.backends.resources import resource_templates
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
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.runs.start import (
    RUN_ID,
    ClusterOptions,
    NewRun,
    check_run_id,
    check_runs_in_cluster,
    check_runs_locally,
    choose_backend,
    cluster_start,
    local_start,
)
from kjob.runs.workflowfile import parameter_values


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
    chosen = _choose_backend(backend, kubeconfig, acts_on_cluster=bool(resource_templates(workflow)))
    if chosen == "kubernetes":
        check_runs_in_cluster(workflow, workspace_pvc)  # before anything is created in the cluster
    else:
        check_runs_locally(workflow, kubeconfig)  # before the run directory is made
    _check_wait(click.get_current_context(), wait, chosen, driver_image)
    new = NewRun(
        workflow,
        os.path.abspath(file),
        Path(file).read_text(),
        loaded.carried_templates(workflow),
        overrides,
        run_id_option or run_id_for(workflow),
        parallelism,
    )
    if chosen == "kubernetes":
        from kjob.backends.kubernetes import connect

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
                new.text,
                image=driver_image,
                command=driver_command,
                parameters=overrides,
                parallelism=parallelism,
                workspace_claim=workspace_pvc,
                templates_text=new.templates_text,
            )
            return
        options = ClusterOptions(
            ttl=ttl,
            queue=queue,
            indexed_jobs=not one_job_per_item,
            workspace_claim=workspace_pvc,
            owner_job=owner_job,
            adopt=run_id_option is not None,
        )
        launch = cluster_start(conn, new, options, notice=console.notice)
    elif not wait:  # a detached kjob watches the run
        from kjob.cli.submit import watch_detached

        run_dir = RunDir.create(new.run_id)
        new.record_files(run_dir)
        watch_detached(
            run_dir,
            source=new.path,
            workflow=workflow,
            parameters=overrides,
            parallelism=parallelism,
            namespace=workflow.namespace or "default",
        )
        return
    else:
        launch = local_start(
            new,
            keep_workdirs=keep_workdirs,
            notice=console.notice,
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace,
        )
    execute(launch, detach=detach)


def _check_run_id(value: str | None) -> str | None:
    try:
        return None if value is None else check_run_id(value)
    except KjobError as err:
        raise click.BadParameter(err.message) from None


def _parse_owner(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    name, sep, uid = value.partition("=")
    if not sep or not RUN_ID.fullmatch(name) or not uid.strip():
        raise click.BadParameter(f"'{value}' is not NAME=UID of a Job")
    return name, uid.strip()


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
    return parameter_values(data)


def _choose_backend(requested: str, kubeconfig: str | None, *, acts_on_cluster: bool = False) -> str:
    """``acts_on_cluster``: the workflow has resource templates, so a local run uses --context and
    -n too (the cluster and namespace they act on)."""
    ctx = click.get_current_context()
    if requested == "local":
        _refuse_cluster_options(ctx, explicit=True, acts_on_cluster=acts_on_cluster)
    chosen = choose_backend(requested, kubeconfig)
    if requested == "auto" and chosen == "local":
        _refuse_cluster_options(ctx, explicit=False, acts_on_cluster=acts_on_cluster)
        console.notice("no cluster configured (no kubeconfig, not in a pod): running on the local backend")
    return chosen


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


def _refuse_cluster_options(ctx: click.Context, *, explicit: bool, acts_on_cluster: bool = False) -> None:
    """A run on this machine with an option only a cluster uses would silently ignore it: refuse."""
    used = ("context", "namespace") if acts_on_cluster else ()
    given = given_options(ctx, tuple(o for o in CLUSTER_ONLY if o not in used))
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
