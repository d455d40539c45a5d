"""Running the engine for ``kjob run`` and ``kjob resume``: progress, record, signals, exit code."""

from __future__ import annotations

import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from kjob.backends.base import Backend
from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.failures import show_failures
from kjob.cli.progress import Progress
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.record import RunRecorder
from kjob.engine.rerun import Rerun
from kjob.errors import AccessError, KjobError
from kjob.rundir import RunDir
from kjob.runs.control import requests_for, started_before
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
            click.option(
                "--detach-on-interrupt",
                "detach",
                is_flag=True,
                help="On Ctrl-C or SIGTERM, leave the running Jobs running (finish with kjob resume) "
                "instead of asking / stopping them.",
            ),
        ]
    ):
        command = option(command)
    return command


def given_options(ctx: click.Context, names: tuple[str, ...]) -> list[str]:
    """The flags (``--namespace``) of the options named ``names`` that the user gave."""
    return [
        max(p.opts, key=len)
        for p in ctx.command.params
        if p.name in names and ctx.get_parameter_source(p.name) is not ParameterSource.DEFAULT
    ]


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
    detach: bool = False,
    previous: dict[str, Any] | None = None,
    rerun: Rerun | None = None,
) -> None:
    """Run to the end, show progress and the summary, record ``run.json``, exit 0/1/130.

    ``previous`` is the record of an earlier kjob of this run (``kjob resume``): its start time, uid
    and resumptions are kept.  On Ctrl-C a Kubernetes run asks whether to stop its running Jobs or
    leave them running for ``kjob resume`` (``detach``: leave them, without asking); SIGTERM, or no
    terminal to ask on, stops them unless ``detach``.  A local run always stops its processes.  A
    second Ctrl-C or SIGTERM while they stop kills them at once; the record is closed either way.
    ``kjob stop``/``terminate`` requests are read between steps; ``rerun`` is ``kjob retry``'s choice."""
    progress = Progress(console.out, root=workflow.entrypoint, clock=backend.now, run=run_id)
    interrupt = _InterruptChoice(run_id, progress, detach=detach)
    earlier = previous or {}
    uid = str(earlier.get("uid") or uuid.uuid4())
    header: dict[str, Any] = {
        "run_id": run_id,
        "workflow": source,
        "workflow_name": workflow.display_name,
        "backend": backend.name,
        "namespace": namespace,
        "parameters": parameters,
        "parallelism": parallelism,
        "uid": uid,
    }
    if previous is not None:
        header["started"] = earlier.get("started")
        resumed = [*earlier.get("resumed", [])]
        if earlier.get("phase") != "Pending":  # Pending: submitted (--wait=false), first watched now
            resumed.append(round(time.time(), 3))
        header["resumed"] = resumed
    recorder = RunRecorder(run_dir, header=header, clock_now=backend.now())
    engine = Engine(
        workflow,
        backend,
        run_id=run_id,
        options=EngineOptions(
            parameters=parameters,
            parallelism=parallelism,
            namespace=namespace,
            uid=uid,
            detach_on_interrupt=interrupt.detach if backend.name == "kubernetes" else None,
            control=requests_for(backend, run_dir),
            rerun=rerun,
            started_before=started_before(previous),
            on_bulk=progress.bulk,
        ),
        observers=[progress, recorder],
    )
    try:
        with _sigterm_as_interrupt(interrupt):
            result = engine.run()
    except KeyboardInterrupt:  # again, while the first one stopped the tasks: kill them now
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third must not cut the record short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        progress.close()
        backend.close()
        recorder.abort("interrupted again while stopping: every running task was killed", backend.now())
        console.notice(f"killed every running task. The record is in {run_dir.path}")
        sys.exit(EXIT_INTERRUPTED)
    except KjobError as err:
        recorder.abort(err.message, backend.now())
        if isinstance(err, AccessError):  # once access is granted, the run can go on
            err.hint = (err.hint + "; " if err.hint else "") + (
                f"the Jobs it created are left as they are: `kjob resume {run_id}` finishes the run"
            )
        raise
    finally:
        progress.close()
        backend.close()
    recorder.finish(result)
    if backend.name == "kubernetes" and not result.detached:  # readers elsewhere learn how it ended
        from kjob.backends.kubernetes.runend import mark_run_end

        end = recorder.header.get("finished")
        mark_run_end(
            backend, phase=result.phase.value, message=result.message, finished=end, notice=console.notice
        )
    progress.summary(result)
    if not (result.succeeded or result.interrupted or result.detached):
        show_failures(run_dir, backend)
    if result.detached:
        console.notice(
            f"detached: the run's running Jobs keep running in namespace {namespace}; "
            f"finish the run with `kjob resume {run_id}`"
        )
        sys.exit(EXIT_INTERRUPTED)
    if result.interrupted:
        console.notice(f"stopped; every running task was stopped. The record is in {run_dir.path}")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILED)


class _InterruptChoice:
    """What an interrupt does to a resumable run: stop its running Jobs, or leave them running."""

    def __init__(self, run_id: str, progress: Progress, *, detach: bool) -> None:
        self.run_id = run_id
        self.progress = progress
        self.always_detach = detach
        self.by_signal = False

    def detach(self) -> bool:
        if self.always_detach:
            return True
        if self.by_signal or not sys.stdin.isatty():
            return False
        self.progress.close()  # the live table would draw over the question
        try:
            stop: bool = click.confirm(
                f"\nStop the running tasks of {self.run_id}? "
                f"(no: they keep running, and `kjob resume {self.run_id}` finishes the run later)",
                default=True,
                err=True,
            )
        except (click.Abort, EOFError):
            return False  # Ctrl-C again (or stdin closed): stop
        return not stop


@contextmanager
def _sigterm_as_interrupt(choice: _InterruptChoice) -> Iterator[None]:
    """SIGTERM stops a run the way Ctrl-C does (without asking), so no task is left running behind
    us unless the user chose ``--detach-on-interrupt``."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        choice.by_signal = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
