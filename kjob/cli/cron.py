"""``kjob cron next FILE``: when a CronWorkflow's CronJobs will fire."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from kjob.cli import console
from kjob.cli.common import lenient_option, load, pick_workflow
from kjob.errors import KjobError

if TYPE_CHECKING:
    from kjob.spec.cron_times import Fire


@click.group("cron")
def command() -> None:
    """CronWorkflows: when they fire (kjob plan renders them as CronJobs)."""


@command.command("next")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "-n", "count", type=click.IntRange(min=1, max=10_000), default=5, show_default=True, help="How many."
)
@click.option(
    "--after",
    metavar="ISO-TIME",
    help="Start from this time instead of now (2027-03-14T00:00; without an offset, in the workflow's "
    "timezone).",
)
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@lenient_option
def next_command(file: str, count: int, after: str | None, workflow_name: str | None, lenient: bool) -> None:
    """Print the next N times the CronWorkflow in FILE fires, in its timezone.

    The times are those of the Kubernetes CronJob it renders to: at a DST change a wall time the
    clocks skip does not fire that day (it is named below the list), and one they repeat fires twice.
    """
    from kjob.spec.cron_times import next_fires, zone

    workflow = pick_workflow(load(file, lenient=lenient), file, workflow_name)
    if workflow.cron is None:
        raise KjobError(
            f"{file}: {workflow.display_name} is a {workflow.kind}, not a CronWorkflow",
            hint="kjob cron next reads a file with `kind: CronWorkflow`",
        )
    tz = zone(workflow.cron.timezone)
    start = _parse_after(after, tz)
    fires, skipped = next_fires(workflow.cron.schedules, tz, start, count)
    several = len(workflow.cron.schedules) > 1
    where = workflow.cron.timezone or "UTC (no timezone: the controller's own)"
    console.line(f"{workflow.display_name}: next {len(fires)} fire times in {where}", style="bold")
    for fire in fires:
        assert fire.at is not None
        text = f"  {fire.at.isoformat()}  {fire.at.tzname()}"
        if several:
            text += f"  ({fire.schedule})"
        if fire.repeat:
            text += "  again: the clocks went back and repeat this time"
        console.line(text)
    for schedule, first, last, times in _gaps(skipped):
        span = first.isoformat(sep=" ", timespec="minutes")
        if times > 1:
            span += f" to {last.isoformat(sep=' ', timespec='minutes')} ({times} times)"
        console.notice(
            f"{span}: no such time in {where} (the clocks skip it), so '{schedule}' does not fire then "
            "(cron would run it just after the change)"
        )
    if len(fires) < count:
        console.notice(f"only {len(fires)} fire times in the next 50 years")


def _gaps(skipped: list[Fire]) -> list[tuple[str, dt.datetime, dt.datetime, int]]:
    """Skipped wall times as (schedule, first, last, how many), one entry per schedule and DST gap."""
    gaps: list[tuple[str, dt.datetime, dt.datetime, int]] = []
    for fire in skipped:
        same = [i for i, g in enumerate(gaps) if g[0] == fire.schedule and fire.wall - g[2] < GAP]
        if same:
            schedule, first, _, times = gaps[same[-1]]
            gaps[same[-1]] = (schedule, first, fire.wall, times + 1)
        else:
            gaps.append((fire.schedule, fire.wall, fire.wall, 1))
    return gaps


GAP = dt.timedelta(hours=3)  # skipped times closer than this are one DST change


def _parse_after(text: str | None, tz: dt.tzinfo) -> dt.datetime:
    if text is None:
        return dt.datetime.now(tz)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"'{text}' is not an ISO time such as 2027-03-14T00:00 or 2027-03-14T08:00Z",
            param_hint="--after",
        ) from None
    return when.replace(tzinfo=tz) if when.tzinfo is None else when
