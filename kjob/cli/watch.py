"""``kjob watch RUN``: the live view of a run from any terminal, until it ends; exits as the run did.

The run is followed by :func:`kjob.runs.follow.follow_run` (read as ``kjob get`` reads it, every
``--interval`` seconds).  On a terminal the view updates in place, as ``kjob run`` draws it; piped, or
with ``--quiet``, nothing is shown until the run ends.  Then the final view and the outcome are
printed, and the exit code is the run's: 0 succeeded, 1 failed (or left unfinished by its kjob), 130
interrupted or detached.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.runargs import complete_run, where_options
from kjob.cli.viewoptions import chosen_view, view_options
from kjob.runrecord import RunRecord

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console, ConsoleOptions, RenderResult


@click.command("watch")
@click.argument("run", shell_complete=complete_run)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between reads of the run.",
)
@view_options
@where_options
def command(
    run: str,
    interval: float,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Show the live view of RUN until it ends, then exit as it did (0 succeeded, 1 failed, 130
    interrupted or detached). RUN is a run id (a unique start of one is enough for a run recorded on
    this machine); a Kubernetes run started elsewhere is read from the cluster's Jobs."""
    from kjob.runs.follow import follow_run

    records = follow_run(
        run, interval=interval, backend=backend, namespace=namespace, kubeconfig=kubeconfig, context=context
    )
    _finish(_Watcher(records).follow())


class _Watcher:
    """Takes each record as it is read, drawing the live view on a terminal meanwhile."""

    def __init__(self, records: Iterator[RunRecord]) -> None:
        self.records = records
        self.view = chosen_view()
        self.record = next(records)

    def follow(self) -> RunRecord:
        if console.animated("out") and not self.view.quiet:
            from rich.live import Live

            with Live(_View(self), console=console.out, refresh_per_second=4, transient=True):
                return self._last()
        return self._last()

    def _last(self) -> RunRecord:
        for record in self.records:
            self.record = record
        return self.record


class _View:
    """The live view of the latest record, drawn again at every refresh (durations tick)."""

    def __init__(self, watcher: _Watcher) -> None:
        self.watcher = watcher

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from kjob.cli.livestate import state_from_record
        from kjob.cli.liveview import on_terminal

        watcher = self.watcher
        state = state_from_record(watcher.record, now=time.time(), expand=watcher.view.expand)
        yield on_terminal(state, console, options)


def _finish(record: RunRecord) -> None:
    """Print the run's final view (unless ``--quiet``) and its outcome, and exit with its code."""
    from kjob.cli.livestate import state_from_record
    from kjob.cli.liveview import outcome, render
    from kjob.runs.follow import succeeded

    view = chosen_view()
    if not view.quiet:
        final = state_from_record(record, now=record.finished or time.time(), expand=view.expand)
        console.out.print(render(final, width=console.out.width))
        console.out.print()
    console.out.print(outcome(record.run_id, record.phase, record.duration, record.message))
    if record.detached:
        console.notice(f"detached: its Jobs were left running; `kjob resume {record.run_id}` finishes it")
        sys.exit(EXIT_INTERRUPTED)
    if record.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if succeeded(record) else EXIT_FAILED)
