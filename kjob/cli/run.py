"""``kjob run FILE``: run a workflow to the end and exit with its result."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from kjob.backends.local import LocalBackend
from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.common import lenient_option, load, parse_parameters, pick_workflow, run_id_for
from kjob.cli.progress import Progress
from kjob.engine.engine import Engine, EngineOptions, resolve_workflow_parameters
from kjob.engine.record import RunRecorder
from kjob.errors import KjobError
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
    help="Where tasks run.",
)
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@click.option("--keep-workdirs", is_flag=True, help="Keep every task's working directory (local backend).")
@lenient_option
def command(
    file: str,
    parameters: tuple[str, ...],
    backend: str,
    parallelism: int | None,
    workflow_name: str | None,
    keep_workdirs: bool,
    lenient: bool,
) -> None:
    """Run the workflow in FILE, show its progress, exit 0 if it succeeded and 1 if it failed."""
    overrides = parse_parameters(parameters)
    loaded = load(file, lenient=lenient)
    workflow = pick_workflow(loaded, file, workflow_name)
    resolve_workflow_parameters(workflow, overrides)  # bad -p values fail before anything starts
    if backend == "kubernetes":
        raise KjobError("the kubernetes backend is not available in this version", hint="use --backend local")
    run_id = run_id_for(workflow)
    run_dir = RunDir.create(run_id)
    shutil.copyfile(file, run_dir.path / "workflow.yaml")
    console.line(f"Run {run_id}", style="bold")
    console.line(f"  backend: local    logs: kjob logs {run_id}    files: {run_dir.path}")
    local = LocalBackend(run_dir, notice=console.notice, keep_workdirs=keep_workdirs)
    progress = Progress(console.out, root=workflow.entrypoint, clock=local.now)
    recorder = RunRecorder(
        run_dir,
        header={"run_id": run_id, "workflow": os.path.abspath(file), "backend": local.name},
        clock_now=local.now(),
    )
    engine = Engine(
        workflow,
        local,
        run_id=run_id,
        options=EngineOptions(
            parameters=overrides,
            parallelism=parallelism,
            namespace=workflow.namespace or "default",
            uid=str(uuid.uuid4()),
        ),
        observers=[progress, recorder],
    )
    try:
        with _sigterm_as_interrupt():
            result = engine.run()
    finally:
        progress.close()
        local.close()
    recorder.finish(result)
    progress.summary(result)
    if result.interrupted:
        console.notice(f"stopped; every running task was stopped. The record is in {run_dir.path}")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILED)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run the way Ctrl-C does, so no task is left running behind us."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
