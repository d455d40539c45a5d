"""``kjob watch RUN``: the live view of a run from any terminal, until it ends; exits as the run did.

The run is read from its record (``run.json``, rewritten by the kjob that runs it) every ``--interval``
seconds, or less often when the record is big (reading it never takes more than a fifth of the time).
On a terminal the view updates in place, as ``kjob run`` draws it; piped, or with ``--quiet``, nothing
is shown until the run ends.  Then the final view and the outcome are printed, and the exit code is
the run's: 0 succeeded, 1 failed, 130 interrupted or detached.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from kjob.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, console
from kjob.cli.viewoptions import chosen_view, view_options
from kjob.rundir import RunDir
from kjob.runrecord import RunRecord

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from kjob.cli.livestate import LiveState

# A run recorded as Running with no kjob holding it, seen this many reads in a row, was killed.
_ORPHAN_READS = 2
_READ_SHARE = 5  # wait at least this many times as long as the last read took


@click.command("watch")
@click.argument("run")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between reads of the run's record.",
)
@view_options
def command(run: str, interval: float) -> None:
    """Show the live view of RUN until it ends, then exit as it did (0 succeeded, 1 failed, 130
    interrupted or detached). RUN is a run id, or a unique start of one."""
    run_dir = RunDir.find(run)
    watcher = _Watcher(run_dir, interval)
    record = watcher.follow()
    _finish(record)


class _Watcher:
    """Reads a run's record until the run ends, drawing the live view on a terminal meanwhile."""

    def __init__(self, run_dir: RunDir, interval: float) -> None:
        self.run_dir = run_dir
        self.interval = interval
        self.view = chosen_view()
        self.record = self._read()[0]
        self._orphan_reads = 0

    def follow(self) -> RunRecord:
        if console.animated("out") and not self.view.quiet:
            from rich.live import Live

            with Live(_View(self), console=console.out, refresh_per_second=4, transient=True):
                return self._poll()
        return self._poll()

    def _poll(self) -> RunRecord:
        pause = self.interval
        while not _ended(self.record):
            if self._orphaned():
                console.notice(
                    f"run {self.run_dir.run_id} is recorded as Running but no kjob is running it "
                    f"(was it killed?): `kjob resume {self.run_dir.run_id}` finishes it"
                )
                sys.exit(EXIT_FAILED)
            time.sleep(pause)
            self.record, took = self._read()
            pause = max(self.interval, _READ_SHARE * took)
        return self.record

    def _read(self) -> tuple[RunRecord, float]:
        began = time.monotonic()
        record = RunRecord.read(self.run_dir.record, run_id=self.run_dir.run_id)
        return record, time.monotonic() - began

    def _orphaned(self) -> bool:
        """A local run's kjob holds its lock while it runs; none for a few reads: it was killed."""
        if self.record.backend != "local" or self.run_dir.watched():
            self._orphan_reads = 0
            return False
        self._orphan_reads += 1
        return self._orphan_reads >= _ORPHAN_READS

    def state(self) -> LiveState:
        from kjob.cli.livestate import state_from_record

        return state_from_record(self.record, now=time.time(), expand=self.view.expand)


class _View:
    """The live view of the latest record, drawn again at every refresh (durations tick)."""

    def __init__(self, watcher: _Watcher) -> None:
        self.watcher = watcher

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from kjob.cli.liveview import render

        yield render(self.watcher.state(), width=options.max_width, height=options.height or console.height)


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
    sys.exit(EXIT_OK if record.phase == "Succeeded" else EXIT_FAILED)
