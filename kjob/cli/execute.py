"""What ``kjob run``, ``resume`` and ``retry`` add to driving a run (:mod:`kjob.runs.drive`): the header,
the live progress and summary, what Ctrl-C and SIGTERM do, and the exit code."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.failures import show_failures
from kjob.cli.progress import Progress
from kjob.cli.runargs import address_options
from kjob.runs.drive import Launch, drive

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(command: F) -> F:
    """The options that say which cluster to use (shared by run and resume)."""
    for option in reversed(
        [
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
    return address_options(command)


def given_options(ctx: click.Context, names: tuple[str, ...]) -> list[str]:
    """The flags (``--namespace``) of the options named ``names`` that the user gave."""
    return [
        max(p.opts, key=len)
        for p in ctx.command.params
        if p.name in names and ctx.get_parameter_source(p.name) is not ParameterSource.DEFAULT
    ]


def announce(launch: Launch) -> None:
    """The run's header: its id (and whether it was resumed or retried), backend, logs and files."""
    run_id = launch.run_id
    console.line(f"Run {run_id}" + ("" if launch.kind == "new" else f" ({launch.kind})"), style="bold")
    logs = (
        ""
        if launch.kind != "new" and launch.backend.name == "kubernetes"
        else f"    logs: kjob logs {run_id}"
    )
    console.line(f"  backend: {launch.where}{logs}    files: {launch.run_dir.path}")


def execute(launch: Launch, *, detach: bool = False) -> NoReturn:
    """Announce the run, drive it to the end showing its progress, show the summary, exit 0/1/130.

    On Ctrl-C a Kubernetes run asks whether to stop its running Jobs or leave them running for
    ``kjob resume`` (``detach``: leave them, without asking); SIGTERM, or no terminal to ask on,
    stops them unless ``detach``.  A local run always stops its processes.  A second Ctrl-C or SIGTERM
    while they stop kills them at once; the record is closed either way."""
    announce(launch)
    run_id, run_dir, backend = launch.run_id, launch.run_dir, launch.backend
    progress = Progress(console.out, root=launch.workflow.entrypoint, clock=backend.now, run=run_id)
    interrupt = _InterruptChoice(run_id, progress, detach=detach)
    try:
        with _sigterm_as_interrupt(interrupt):
            result = drive(
                launch,
                observers=[progress],
                detach_on_interrupt=interrupt.detach,
                on_bulk=progress.bulk,
                on_end=progress.close,
                notice=console.notice,
            )
    except KeyboardInterrupt:  # again, while the first one stopped the tasks: they were killed
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third must not cut this short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        console.notice(f"killed every running task. The record is in {run_dir.path}")
        sys.exit(EXIT_INTERRUPTED)
    progress.summary(result)
    if not (result.succeeded or result.interrupted or result.detached):
        resources = {t.name for t in launch.workflow.templates.values() if t.resource is not None}
        show_failures(run_dir, backend, resources)
    if result.detached:
        console.notice(
            f"detached: the run's running Jobs keep running in namespace {launch.namespace}; "
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
