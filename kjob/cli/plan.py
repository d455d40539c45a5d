"""``kjob plan FILE``: the DAG's levels and critical path, as text, YAML or JSON; or, with ``-o DIR``,
a GitOps plan written to DIR (``--mode waves``, the default, or ``--mode driver``).

``-o`` follows kubectl and argo: ``-o yaml`` and ``-o json`` print the plan in that format; any other
value is a directory (write ``-o ./yaml`` for a directory named yaml).

``--check-quota`` compares each level with the namespace's ResourceQuotas and LimitRanges (read from the
cluster, or from ``--quota FILE``) before anything is created.  Exit codes: 0 when everything fits, 1
when a level or a task will be refused (or the cluster cannot be read: the message says so), 2 for
bad input (the workflow, the quota file, the options, no cluster and no ``--quota``).
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any, cast

import click
import numpy as np
from ruamel.yaml import YAML

from kjob.cli import console
from kjob.cli.common import lenient_option, load, parse_parameters, pick_workflow, templates_option
from kjob.errors import CycleError, KjobError
from kjob.graph import Graph, expand
from kjob.plan import plan_edges
from kjob.spec.model import Workflow


@click.command("plan")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--levels", "show_levels", is_flag=True, help="Print the tasks of each level.")
@click.option(
    "-o",
    "--output",
    metavar="yaml|json|DIR",
    help="Print the whole plan as yaml or json, or write a GitOps plan (one file per object and a "
    "kustomization.yaml) to the directory DIR.",
)
@click.option(
    "--mode",
    type=click.Choice(["waves", "driver"]),
    default="waves",
    show_default=True,
    help="With -o DIR: waves (each task a Job in an Argo CD sync wave, for static DAGs) or driver "
    "(kjob runs the workflow inside the cluster).",
)
@click.option("--flux", is_flag=True, help="With --mode waves: one Flux Kustomization per level.")
@click.option(
    "--flux-path",
    metavar="PATH",
    help="With --flux: DIR's path in the Flux source (default: DIR as given).",
)
@click.option(
    "-p", "--parameter", "parameters", multiple=True, metavar="NAME=VALUE", help="Set a workflow parameter."
)
@click.option("-n", "--namespace", metavar="NS", help="The namespace of the plan's objects.")
@click.option(
    "--ttl-seconds-after-finished",
    "ttl",
    type=click.IntRange(min=0),
    metavar="SECONDS",
    help="Delete each finished Job after this long (a GitOps tool would then create it again).",
)
@click.option(
    "--driver-image",
    metavar="IMAGE",
    help="With --mode driver: the image that runs kjob in the cluster (see the README's Containerfile).",
)
@click.option(
    "--driver-command",
    metavar="COMMAND",
    help="With --mode driver: how the image runs kjob, split as a shell would (default: kjob), e.g. "
    "'python -m kjob'.",
)
@click.option(
    "--workspace-pvc",
    "workspace_claim",
    metavar="NAME",
    help="With --mode driver: the PersistentVolumeClaim that holds the run's artifacts.",
)
@click.option(
    "--check-quota",
    is_flag=True,
    help="Say which level will not fit the namespace's ResourceQuotas and LimitRanges, and by how "
    "much (exit 1 if one will not, 0 if all fit).",
)
@click.option(
    "--quota",
    "quota_file",
    metavar="FILE",
    help="With --check-quota: read them from FILE (kubectl get resourcequota,limitrange -o yaml), "
    "not from the cluster.",
)
@click.option("--kubeconfig", metavar="FILE", help="With --check-quota: the cluster's kubeconfig.")
@click.option("--context", metavar="NAME", help="With --check-quota: the kubeconfig context.")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@lenient_option
@templates_option
def command(
    file: str,
    show_levels: bool,
    output: str | None,
    mode: str,
    flux: bool,
    flux_path: str | None,
    parameters: tuple[str, ...],
    namespace: str | None,
    ttl: int | None,
    driver_image: str | None,
    driver_command: str | None,
    workspace_claim: str | None,
    check_quota: bool,
    quota_file: str | None,
    kubeconfig: str | None,
    context: str | None,
    workflow_name: str | None,
    lenient: bool,
) -> None:
    """Plan the workflow in FILE: levels (tasks that may run together) and the critical path; with
    -o DIR, write it as Kubernetes objects for Argo CD or Flux to apply."""
    loaded = load(file, lenient=lenient)
    workflow = pick_workflow(loaded, file, workflow_name)
    if (quota_file or kubeconfig or context) and not check_quota:
        raise click.UsageError("--quota, --kubeconfig and --context go with --check-quota")
    if check_quota:
        if output is not None or flux or parameters or mode != "waves":
            raise click.UsageError("--check-quota goes alone (with -n, --quota, --kubeconfig, --context)")
        from kjob.cli.quota import check_quota as check

        check(workflow, quota_file, kubeconfig=kubeconfig, context=context, namespace=namespace)
        return
    if output is not None and output not in ("yaml", "json"):
        write_plan(
            file,
            workflow,
            directory=output,
            mode=mode,
            flux=flux,
            flux_path=flux_path,
            parameters=parse_parameters(parameters),
            namespace=namespace,
            ttl=ttl,
            driver_image=driver_image,
            driver_command=driver_command,
            workspace_claim=workspace_claim,
            templates_text=loaded.carried_templates(workflow),
        )
        return
    if (
        flux
        or flux_path
        or parameters
        or namespace
        or ttl is not None
        or driver_image
        or driver_command
        or workspace_claim
        or mode != "waves"
    ):
        raise click.UsageError(
            "--mode, --flux, --flux-path, -p, -n, --ttl-seconds-after-finished, --driver-image, "
            "--driver-command and --workspace-pvc go with -o DIR"
        )
    graph = expand(workflow)
    data = plan_document(graph, workflow.display_name, workflow.entrypoint or "")
    if output == "json":
        console.out.print(json.dumps(data, indent=2), markup=False, highlight=False)
    elif output == "yaml":
        buffer = io.StringIO()
        yaml = YAML()
        yaml.default_flow_style = False
        yaml.dump(data, buffer)
        console.out.print(buffer.getvalue().rstrip("\n"), markup=False, highlight=False)
    if show_levels or output is None:
        for level, names in enumerate(data["levelTasks"]):
            console.line(f"level {level}: {', '.join(names)}")
        path = data["criticalPath"]
        console.line(f"critical path ({path['length']:g} tasks): {' -> '.join(path['tasks'])}")


def plan_document(graph: Graph, name: str, entrypoint: str) -> dict[str, Any]:
    """The plan as plain data, in a stable order (byte-identical output for the same input)."""
    n = len(graph.nodes)
    try:
        plan = plan_edges(n, graph.src, graph.dst)
    except CycleError as err:
        raise CycleError([graph.nodes[cast(int, i)].id for i in err.nodes]) from None
    levels = [int(x) for x in plan.level]
    length, path = plan.critical_path(np.ones(n))
    by_level: list[list[str]] = [[] for _ in range(plan.levels)]
    for node, level in zip(graph.nodes, levels, strict=True):
        by_level[level].append(node.id)
    tasks = []
    for node, level in zip(graph.nodes, levels, strict=True):
        entry: dict[str, Any] = {
            "name": node.id,
            "task": node.task,
            "template": node.template,
            "level": level,
            "dependencies": list(graph.dependencies.get(node.task, ())),
        }
        if node.fan_out:
            entry["fanOut"] = node.fan_out + (" (items known at run time)" if node.dynamic else "")
        tasks.append(entry)
    return {
        "workflow": name,
        "entrypoint": entrypoint,
        "levels": plan.levels,
        "levelTasks": [sorted(names) for names in by_level],
        "criticalPath": {"length": float(length), "tasks": [graph.nodes[int(i)].id for i in path]},
        "tasks": tasks,
    }


def write_plan(
    file: str,
    workflow: Workflow,
    *,
    directory: str,
    mode: str,
    flux: bool,
    flux_path: str | None,
    parameters: dict[str, str],
    namespace: str | None,
    ttl: int | None,
    driver_image: str | None,
    driver_command: str | None,
    workspace_claim: str | None,
    templates_text: str = "",
) -> None:
    """``kjob plan FILE -o DIR``: render the plan's objects and write them to DIR (created if needed;
    files of an earlier plan that this one does not write are removed, so DIR is exactly the plan)."""
    text = Path(file).read_text()
    ns = namespace or workflow.namespace or "default"
    if mode == "driver":
        if flux or ttl is not None:
            raise click.UsageError("--flux and --ttl-seconds-after-finished go with --mode waves")
        from kjob.render import driver
        from kjob.render.kustomize import ordered_files

        options = driver.DriverOptions(
            parameters=parameters,
            namespace=ns,
            workspace_claim=workspace_claim,
            templates_text=templates_text,
        )
        if driver_image:
            options = dataclasses.replace(options, image=driver_image)
        if driver_command is not None:
            options = dataclasses.replace(options, command=split_command(driver_command))
        files = ordered_files(driver.driver_plan(workflow, text, options))
        warnings: list[str] = []
    else:
        if workspace_claim or driver_image or driver_command:
            raise click.UsageError(
                "--workspace-pvc, --driver-image and --driver-command go with --mode driver"
            )
        if flux and not flux_path and Path(directory).is_absolute():
            raise click.UsageError(
                f"--flux: give --flux-path, {directory}'s path inside the Git repository Flux reads "
                "(a Flux Kustomization's path is relative to its source)"
            )
        files, warnings = _waves_files(workflow, text, ns, parameters, ttl, flux, flux_path or directory)
    _write_directory(Path(directory), files)
    for warning in warnings:
        console.notice(f"warning: {warning}")
    console.notice(f"plan: {len(files)} files written to {directory} ({mode} mode)")


def _waves_files(
    workflow: Workflow,
    text: str,
    namespace: str,
    parameters: dict[str, str],
    ttl: int | None,
    flux: bool,
    flux_path: str,
) -> tuple[dict[str, str], list[str]]:
    from kjob.backends import dryrun
    from kjob.render import waves

    waves.require_static(workflow)
    graph = expand(workflow)
    levels = {t["task"]: int(t["level"]) for t in plan_document(graph, "", "")["tasks"]}
    rendered = dryrun.dry_run(
        workflow,
        run_id=workflow.display_name,  # not a run id: a changed task must change no other task's Job
        namespace=namespace,
        workflow_text=text,
        parameters=parameters,
        indexed_jobs=False,
    )
    scripts = {k: v for k, v in rendered.configmap["data"].items() if k.startswith("script-")}
    configmap = None
    if scripts:
        configmap = {**rendered.configmap, "data": scripts}
    jobs = [waves.WaveJob(job.top_task, job.template, job.manifest, rendered.run_id) for job in rendered.jobs]
    flux_dir = flux_path if flux_path.startswith(("./", "/")) else f"./{flux_path}"
    options = waves.Options(
        namespace=namespace, ttl_seconds_after_finished=ttl, flux=flux, flux_path=flux_dir.rstrip("/")
    )
    plan = waves.waves_plan(workflow, jobs, levels, configmap, options)
    return plan.files, plan.warnings


def _write_directory(directory: Path, files: dict[str, str]) -> None:
    """Write ``files`` under ``directory``, and remove what an earlier plan there wrote that this one
    does not (a task renamed by its content hash leaves no stale Job behind): the files its
    ``kustomization.yaml`` files list.  Nothing else in the directory is touched."""
    if directory.exists() and not directory.is_dir():
        raise KjobError(f"-o {directory}: not a directory", hint="name a directory to write the plan to")
    for stale in sorted(_earlier_plan(directory) - set(files)):
        (directory / stale).unlink(missing_ok=True)
        folder = (directory / stale).parent
        if folder != directory and not any(folder.iterdir()):
            folder.rmdir()  # a level's folder of a --flux plan
    for relative, text in sorted(files.items()):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _earlier_plan(directory: Path) -> set[str]:
    """The files (relative to ``directory``) of the plan written there before: each kustomization.yaml
    in it or one folder down, and the plain files each lists."""
    found: set[str] = set()
    for kustomization in [directory / "kustomization.yaml", *sorted(directory.glob("*/kustomization.yaml"))]:
        try:
            data = yaml_safe_load(kustomization.read_text())
        except (OSError, ValueError):
            continue
        resources = data.get("resources") if isinstance(data, dict) else None
        folder = kustomization.parent.relative_to(directory)
        found.add((folder / "kustomization.yaml").as_posix())
        for resource in resources if isinstance(resources, list) else []:
            entry = folder / str(resource)
            if ".." not in entry.parts and not entry.is_absolute() and (directory / entry).is_file():
                found.add(entry.as_posix())
    return found


def yaml_safe_load(text: str) -> Any:
    """A small YAML file as plain data; a ValueError for anything that is not YAML."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(str(err)) from None


def split_command(text: str) -> tuple[str, ...]:
    import shlex

    try:
        words = tuple(shlex.split(text))
    except ValueError as err:
        raise click.BadParameter(f"{text!r}: {err}", param_hint="--driver-command") from None
    if not words:
        raise click.BadParameter(
            "give the command that runs kjob, e.g. 'kjob'", param_hint="--driver-command"
        )
    return words
