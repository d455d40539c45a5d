"""``kjob resubmit RUN``: a fresh run of RUN's workflow with RUN's parameters, under a new id."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import click

from kjob.cli.runargs import complete_run, where_options
from kjob.render import names
from kjob.runs.control import RunRef
from kjob.runs.manage import find

_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"  # as Kubernetes' generateName


@click.command("resubmit")
@click.argument("run", shell_complete=complete_run)
@click.option(
    "--wait",
    type=click.BOOL,
    default=True,
    show_default=True,
    metavar="BOOL",
    help="--wait=false: submit and print the new run's id (as `kjob run --wait=false`).",
)
@click.option("--driver-image", metavar="IMAGE", help="With --wait=false on Kubernetes: see `kjob run`.")
@click.option("--driver-command", metavar="COMMAND", help="With --driver-image: see `kjob run`.")
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@where_options
@click.pass_context
def command(
    ctx: click.Context,
    run: str,
    wait: bool,
    driver_image: str | None,
    driver_command: str | None,
    parallelism: int | None,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Run RUN's workflow again from the start, as a new run with the same parameters (and the
    WorkflowTemplates RUN carried), on the same backend and namespace. RUN is left as it is.

    Exit codes as `kjob run`: 0 succeeded, 1 failed, 130 interrupted, 2 RUN not found."""
    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    with tempfile.TemporaryDirectory(prefix="kjob-resubmit-") as scratch:
        workflow, templates, parameters = _what_ran(ref, Path(scratch))
        record = ref.record
        stem = names.slug(record.workflow_name if record and record.workflow_name else ref.run_id, 57)
        args = [str(workflow), "--backend", ref.backend, "--run-id", f"{stem}-{_suffix()}"]
        for name, value in sorted(parameters.items()):
            args += ["-p", f"{name}={value}"]
        if templates is not None:
            args += ["--templates", str(templates)]
        chosen = parallelism or (record.parallelism if record is not None else None)
        if chosen is not None:
            args += ["--parallelism", str(chosen)]
        if ref.cluster is not None:
            args += ["--namespace", ref.cluster.namespace]
            args += ["--kubeconfig", kubeconfig] if kubeconfig else []
            args += ["--context", context] if context else []
        if not wait:
            args += ["--wait=false"]
        args += ["--driver-image", driver_image] if driver_image else []
        args += ["--driver-command", driver_command] if driver_command else []
        from kjob.cli import run as run_verb

        run_verb.command.main(
            args, prog_name=f"{ctx.find_root().info_name or 'kjob'} run", standalone_mode=False
        )


def _what_ran(ref: RunRef, scratch: Path) -> tuple[Path, Path | None, dict[str, str]]:
    """RUN's workflow file, a directory of the templates it carried (or None) and its parameters."""
    if ref.run_dir is not None and (ref.run_dir.path / "workflow.yaml").is_file():
        workflow = ref.run_dir.path / "workflow.yaml"
        carried = ref.run_dir.templates.read_text() if ref.run_dir.templates.is_file() else ""
        parameters = dict(ref.record.parameters) if ref.record is not None else {}
    else:
        from kjob.backends.kubernetes import KubernetesBackend

        assert ref.cluster is not None
        held = KubernetesBackend.open_run(ref.cluster, ref.run_id)
        workflow = scratch / "workflow.yaml"
        workflow.write_text(held.workflow_text)
        carried, parameters = held.templates_text, dict(held.parameters)
    if not carried:
        return workflow, None, parameters
    directory = scratch / "templates"
    directory.mkdir()
    (directory / "templates.yaml").write_text(carried)
    return workflow, directory, parameters


def _suffix() -> str:
    return "".join(secrets.choice(_SUFFIX) for _ in range(5))
