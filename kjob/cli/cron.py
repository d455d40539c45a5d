"""``kjob cron next FILE``: when a CronWorkflow's CronJobs will fire."""

from __future__ import annotations

import datetime as dt

import click

from kjob.cli import console
from kjob.cli.common import lenient_option, load, pick_workflow
from kjob.errors import KjobError


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
    for gap in skipped:
        console.notice(
            f"{gap.wall.isoformat(sep=' ', timespec='minutes')} does not exist in {where} (the clocks "
            f"skip it): the CronJob does not fire for '{gap.schedule}' that day"
        )
    if len(fires) < count:
        console.notice(f"only {len(fires)} fire times in the next 50 years")


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
