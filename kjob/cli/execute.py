"""Running the engine for ``kjob run`` and ``kjob resume``: progress, record, signals, exit code."""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

import click

from kjob.backends.base import Backend
from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.progress import Progress
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.record import RunRecorder
from kjob.rundir import RunDir
from kjob.spec.model import Workflow

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(command: F) -> F:
    """The options that say which cluster to use (shared by run and resume)."""
    for option in reversed(
        [
            click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file to use."),
            click.option("--context", help="Kubeconfig context to use."),
            click.option("-n", "--namespace", help="Namespace (default: the context's)."),
            click.option(
                "--qps",
                type=click.FloatRange(min=0.1),
                default=20.0,
                show_default=True,
                help="Client-side API request rate.",
            ),
            click.option(
                "--burst",
                type=click.IntRange(min=1),
                default=30,
                show_default=True,
                help="Client-side API request burst.",
            ),
        ]
    ):
        command = option(command)
    return command


def execute(
    workflow: Workflow,
    backend: Backend,
    *,
    run_id: str,
    run_dir: RunDir,
    source: str,
    parameters: dict[str, str],
    parallelism: int | None,
    namespace: str,
) -> None:
    """Run to the end, show progress and the summary, record ``run.json``, exit 0/1/130."""
    progress = Progress(console.out, root=workflow.entrypoint, clock=backend.now)
    recorder = RunRecorder(
        run_dir,
        header={"run_id": run_id, "workflow": source, "backend": backend.name, "namespace": namespace},
        clock_now=backend.now(),
    )
    engine = Engine(
        workflow,
        backend,
        run_id=run_id,
        options=EngineOptions(
            parameters=parameters, parallelism=parallelism, namespace=namespace, uid=str(uuid.uuid4())
        ),
        observers=[progress, recorder],
    )
    try:
        with _sigterm_as_interrupt():
            result = engine.run()
    finally:
        progress.close()
        backend.close()
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
