"""``kjob watch RUN``: the live view of a run from any terminal, until it ends; exits as the run did.

The run is read as ``kjob get`` reads it (:func:`kjob.runs.get_run`: its ``run.json``, rewritten by the
kjob that runs it, and for a Kubernetes run the cluster's Jobs) every ``--interval`` seconds, or less
often when that takes long (reading never takes more than a fifth of the time).
On a terminal the view updates in place, as ``kjob run`` draws it; piped, or with ``--quiet``, nothing
is shown until the run ends.  Then the final view and the outcome are printed, and the exit code is
the run's: 0 succeeded, 1 failed, 130 interrupted or detached.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.runargs import complete_run, where_options
from kjob.cli.viewoptions import chosen_view, view_options
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.runrecord import FAILED, RunRecord

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from kjob.cli.livestate import LiveState

# Seconds a run may look left alone (a local run's lock free; a cluster run with nothing going and
# no end recorded) before watch says so: a kjob between two steps of a run is not mistaken for gone.
_LOCAL_PATIENCE = 1.0
_CLUSTER_PATIENCE = 15.0
_RECORD_PATIENCE = 30.0  # seconds to wait for the record of a run whose directory exists
_READ_SHARE = 5  # wait at least this many times as long as the last read took


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
    from kjob.runs.query import get_run

    def read() -> RunRecord:
        return get_run(run, backend=backend, namespace=namespace, kubeconfig=kubeconfig, context=context)

    _await_record(run, interval)
    _finish(_Watcher(read, interval).follow())


def _await_record(run: str, interval: float) -> None:
    """A run just started here has its directory a moment before its record: wait for it (a while)."""
    try:
        run_dir = RunDir.find(run)
    except KjobError:
        return  # not recorded here: the cluster may know it
    waited = 0.0
    while not run_dir.record.exists() and waited < _RECORD_PATIENCE:
        time.sleep(interval)
        waited += interval


class _Watcher:
    """Reads a run until it ends, drawing the live view on a terminal meanwhile."""

    def __init__(self, read: Callable[[], RunRecord], interval: float) -> None:
        self.read = read
        self.interval = interval
        self.view = chosen_view()
        self.record, _ = self._read()
        self.run_dir = _local_dir(self.record)
        self._unowned_since: float | None = None

    def follow(self) -> RunRecord:
        if console.animated("out") and not self.view.quiet:
            from rich.live import Live

            with Live(_View(self), console=console.out, refresh_per_second=4, transient=True):
                return self._poll()
        return self._poll()

    def _poll(self) -> RunRecord:
        pause = self.interval
        while not _ended(self.record):
            if self._abandoned():
                if self.record.phase == "Unknown":  # every task ended; only the kjob that ran it knew more
                    return self.record
                console.notice(
                    f"run {self.record.run_id} is not finished but nothing runs it any more (was its kjob "
                    f"killed?): `kjob resume {self.record.run_id}` finishes it"
                )
                sys.exit(EXIT_FAILED)
            time.sleep(pause)
            self.record, took = self._read()
            pause = max(self.interval, _READ_SHARE * took)
        return self.record

    def _read(self) -> tuple[RunRecord, float]:
        began = time.monotonic()
        record = self.read()
        return record, time.monotonic() - began

    def _abandoned(self) -> bool:
        """Whether the run was left unfinished: a local run whose kjob no longer holds its lock, or a
        cluster run with no Job going and no end recorded, for a while."""
        unowned = (self.run_dir is not None and not self.run_dir.watched()) or self.record.phase == "Unknown"
        if not unowned:
            self._unowned_since = None
            return False
        now = time.monotonic()
        if self._unowned_since is None:
            self._unowned_since = now
        patience = _LOCAL_PATIENCE if self.run_dir is not None else _CLUSTER_PATIENCE
        return now - self._unowned_since >= max(patience, 2 * self.interval)

    def state(self) -> LiveState:
        from kjob.cli.livestate import state_from_record

        return state_from_record(self.record, now=time.time(), expand=self.view.expand)


def _local_dir(record: RunRecord) -> RunDir | None:
    """The directory of a local-backend run (its kjob holds a lock there while it runs)."""
    if record.backend != "local":
        return None
    try:
        return RunDir.find(record.run_id)
    except KjobError:
        return None


class _View:
    """The live view of the latest record, drawn again at every refresh (durations tick)."""

    def __init__(self, watcher: _Watcher) -> None:
        self.watcher = watcher

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from kjob.cli.liveview import on_terminal

        yield on_terminal(self.watcher.state(), console, options)


def _ended(record: RunRecord) -> bool:
    return record.finished_phase or record.finished is not None or record.detached


def _finish(record: RunRecord) -> None:
    """Print the run's final view (unless ``--quiet``) and its outcome, and exit with its code."""
    from kjob.cli.livestate import state_from_record
    from kjob.cli.liveview import outcome, render

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
    sys.exit(EXIT_OK if _succeeded(record) else EXIT_FAILED)


def _succeeded(record: RunRecord) -> bool:
    """Succeeded; or, for a run whose end the cluster does not keep (``Unknown``), no task failed."""
    if record.phase == "Unknown":
        return not any(n.phase in FAILED for n in record.leaves())
    return record.phase == "Succeeded"
