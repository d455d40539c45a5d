"""``kjob cron next`` and the CronWorkflow lint: fire times as a Kubernetes CronJob fires.

The expected times follow the rules of robfig/cron v3's ``SpecSchedule.Next``, which the CronJob
controller uses: it steps hours and minutes on the absolute clock in the CronJob's zone, so a wall
time that a spring-forward change skips does not fire that day (stepping from 01:00 PST by one hour
lands on 03:00 PDT, never on hour 2), and one that a fall-back change repeats fires at each of its two
offsets (stepping a minute from 01:59 PDT lands on 01:00 PST, which matches again;
kubernetes/kubernetes#121594).  Debian's cron, and cronsim left to itself, do the opposite (run a
skipped time at 03:00, a repeated one once): the rows marked ``debian`` say what they would give.

America/Los_Angeles in 2027: clocks spring forward on 14 March at 02:00 PST (to 03:00 PDT) and fall
back on 7 November at 02:00 PDT (to 01:00 PST).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kjob.spec.cron_times import next_fires, zone

LA = "America/Los_Angeles"

# schedule, zone, after (in the zone unless it has an offset), expected fire times
DST_TABLE = [
    # spring forward: 02:30 and 02:00 do not exist on 14 March; the CronJob skips that day
    # (debian: 2027-03-14T03:00:00-07:00)
    ("30 2 * * *", LA, "2027-03-13T03:00", ["2027-03-15T02:30:00-07:00", "2027-03-16T02:30:00-07:00"]),
    ("0 2 * * *", LA, "2027-03-13T03:00", ["2027-03-15T02:00:00-07:00"]),
    ("0 3 * * *", LA, "2027-03-13T04:00", ["2027-03-14T03:00:00-07:00", "2027-03-15T03:00:00-07:00"]),
    ("0 1 * * *", LA, "2027-03-13T12:00", ["2027-03-14T01:00:00-08:00", "2027-03-15T01:00:00-07:00"]),
    ("0 * * * *", LA, "2027-03-14T00:30", ["2027-03-14T01:00:00-08:00", "2027-03-14T03:00:00-07:00"]),
    # fall back: 01:00-01:59 happens twice on 7 November; the CronJob fires in both
    # (debian: 01:00 once)
    (
        "0 1 * * *",
        LA,
        "2027-11-06T12:00",
        ["2027-11-07T01:00:00-07:00", "2027-11-07T01:00:00-08:00", "2027-11-08T01:00:00-08:00"],
    ),
    (
        "*/30 1 * * *",
        LA,
        "2027-11-07T00:00",
        [
            "2027-11-07T01:00:00-07:00",
            "2027-11-07T01:30:00-07:00",
            "2027-11-07T01:00:00-08:00",
            "2027-11-07T01:30:00-08:00",
            "2027-11-08T01:00:00-08:00",
        ],
    ),
    ("0 2 * * *", LA, "2027-11-06T12:00", ["2027-11-07T02:00:00-08:00", "2027-11-08T02:00:00-08:00"]),
    (
        "0 * * * *",
        LA,
        "2027-11-07T00:30",
        ["2027-11-07T01:00:00-07:00", "2027-11-07T01:00:00-08:00", "2027-11-07T02:00:00-08:00"],
    ),
    # starting inside the repeated hour, at its second pass: only the later instants are left
    ("30 1 * * *", LA, "2027-11-07T09:00Z", ["2027-11-07T01:30:00-08:00", "2027-11-08T01:30:00-08:00"]),
    # @every counts elapsed time, not wall time: across fall-back the wall clock shows 1:30 then 2:00
    ("@every 90m", LA, "2027-11-07T00:00", ["2027-11-07T01:30:00-07:00", "2027-11-07T02:00:00-08:00"]),
    # no timezone: UTC, no DST
    ("0 2 * * *", None, "2027-03-13T03:00", ["2027-03-14T02:00:00+00:00", "2027-03-15T02:00:00+00:00"]),
    (
        "@weekly",
        "Europe/Berlin",
        "2027-03-27T12:00",
        ["2027-03-28T00:00:00+01:00", "2027-04-04T00:00:00+02:00"],
    ),
    # day-of-month and day-of-week both restricted: either matches (OR), as in robfig and Vixie cron
    ("0 0 13 * 5", None, "2027-08-01T00:00", ["2027-08-06T00:00:00+00:00", "2027-08-13T00:00:00+00:00"]),
]


def _after(text: str, tz: dt.tzinfo) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


@pytest.mark.parametrize(("schedule", "tz_name", "after", "expected"), DST_TABLE)
def test_fire_times_follow_the_cronjob_controller_across_dst(
    schedule: str, tz_name: str | None, after: str, expected: list[str]
) -> None:
    tz = zone(tz_name)
    fires, _ = next_fires([schedule], tz, _after(after, tz), len(expected))
    assert [f.at.isoformat() for f in fires if f.at is not None] == expected


def test_a_skipped_wall_time_is_reported_and_a_repeated_one_marked() -> None:
    tz = zone(LA)
    fires, skipped = next_fires(["30 2 * * *"], tz, _after("2027-03-13T03:00", tz), 1)
    assert [s.wall.isoformat() for s in skipped] == ["2027-03-14T02:30:00"]
    fires, skipped = next_fires(["30 1 * * *"], tz, _after("2027-11-07T00:00", tz), 2)
    assert [f.repeat for f in fires] == [False, True] and not skipped


def test_several_schedules_merge_in_time_order() -> None:
    tz = zone(LA)
    fires, _ = next_fires(["0 2 * * *", "30 1 * * *"], tz, _after("2027-11-06T12:00", tz), 4)
    assert [(f.at.isoformat() if f.at else "", f.schedule) for f in fires] == [
        ("2027-11-07T01:30:00-07:00", "30 1 * * *"),
        ("2027-11-07T01:30:00-08:00", "30 1 * * *"),
        ("2027-11-07T02:00:00-08:00", "0 2 * * *"),
        ("2027-11-08T01:30:00-08:00", "30 1 * * *"),
    ]


def test_a_leap_day_schedule_reaches_years_ahead() -> None:
    fires, _ = next_fires(["0 0 29 2 *"], zone(None), dt.datetime(2027, 1, 1, tzinfo=dt.UTC), 2)
    assert [f.at.isoformat() for f in fires if f.at] == [
        "2028-02-29T00:00:00+00:00",
        "2032-02-29T00:00:00+00:00",
    ]


# ------------------------------------------------------------------------------- the command
SEED_CRON = Path(__file__).resolve().parents[1] / "examples" / "07-cronworkflow.yaml"


def test_cron_next_prints_the_seed_schedule_and_names_the_skipped_night(kjob: Any) -> None:
    done = kjob("cron", "next", str(SEED_CRON), "-n", "3", "--after", "2027-03-13T00:00")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "daily-data-pipeline: next 3 fire times in America/Los_Angeles",
        "  2027-03-13T02:00:00-08:00  PST",
        "  2027-03-15T02:00:00-07:00  PDT",
        "  2027-03-16T02:00:00-07:00  PDT",
    ]
    assert done.stderr == (
        "2027-03-14 02:00: no such time in America/Los_Angeles (the clocks skip it), so '0 2 * * *' "
        "does not fire then (cron would run it just after the change)\n"
    )


def test_cron_next_marks_the_repeated_hour(kjob: Any, tmp_path: Path) -> None:
    path = _cron_file(tmp_path, "schedule: '30 1 * * *'\n  timezone: America/Los_Angeles")
    done = kjob("cron", "next", str(path), "-n", "2", "--after", "2027-11-07T00:00")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "  2027-11-07T01:30:00-07:00  PDT",
        "  2027-11-07T01:30:00-08:00  PST  again: the clocks went back and repeat this time",
    ]


def test_cron_next_names_the_schedule_of_each_time_when_there_are_several(kjob: Any, tmp_path: Path) -> None:
    path = _cron_file(tmp_path, "schedules: ['0 2 * * *', '@hourly']")
    done = kjob("cron", "next", str(path), "-n", "3", "--after", "2027-01-01T00:30Z")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "nightly: next 3 fire times in UTC (no timezone: the controller's own)",
        "  2027-01-01T01:00:00+00:00  UTC  (@hourly)",
        "  2027-01-01T02:00:00+00:00  UTC  (0 2 * * *)",
        "  2027-01-01T02:00:00+00:00  UTC  (@hourly)",
    ]


def test_cron_next_names_a_skipped_hour_once(kjob: Any, tmp_path: Path) -> None:
    path = _cron_file(tmp_path, "schedule: '*/15 * * * *'\n  timezone: America/Los_Angeles")
    done = kjob("cron", "next", str(path), "-n", "3", "--after", "2027-03-14T01:40")
    assert done.stdout.splitlines()[1:] == [
        "  2027-03-14T01:45:00-08:00  PST",
        "  2027-03-14T03:00:00-07:00  PDT",
        "  2027-03-14T03:15:00-07:00  PDT",
    ]
    assert done.stderr.startswith("2027-03-14 02:00 to 2027-03-14 02:45 (4 times): no such time in")


def test_cron_next_refuses_a_workflow_and_a_bad_time(kjob: Any) -> None:
    plain = Path(__file__).resolve().parents[1] / "examples" / "01-basic-dag.yaml"
    done = kjob("cron", "next", str(plain))
    assert done.code == 2 and "not a CronWorkflow" in done.stderr
    done = kjob("cron", "next", str(SEED_CRON), "--after", "tomorrow")
    assert done.code == 2 and "--after" in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------------- lint
def _cron_file(tmp_path: Path, spec_lines: str) -> Path:
    path = tmp_path / "cron.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata:
              name: nightly
            spec:
              {spec}
              workflowSpec:
                entrypoint: main
                templates:
                - name: main
                  container: {{image: alpine, command: [echo, hi]}}
            """
        ).format(spec=spec_lines)
    )
    return path


def test_lint_warns_where_a_cronjob_cannot_do_what_the_cronworkflow_says(kjob: Any, tmp_path: Path) -> None:
    path = _cron_file(
        tmp_path,
        "schedules: ['0 2 * * *', '0 14 * * 1-5']\n"
        "  concurrencyPolicy: Forbid\n"
        "  when: '{{= cronworkflow.failed == 0 }}'\n"
        "  stopStrategy: {expression: 'cronworkflow.failed >= 3'}",
    )
    done = kjob("lint", str(path))
    assert done.code == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if ": warning: " in line]
    assert [w.split(": warning: ")[0] for w in warnings] == [f"{path}:7:22", f"{path}:8:3", f"{path}:9:3"]
    assert "concurrencyPolicy Forbid holds within each schedule only" in warnings[0]
    assert "`when`" in warnings[1] and "stopStrategy" in warnings[2]


def test_one_schedule_with_forbid_lints_clean(kjob: Any) -> None:
    done = kjob("lint", str(SEED_CRON))
    assert done.code == 0 and "warning" not in done.stderr


@pytest.mark.parametrize("schedule", ["0 0 * * 7", "0 0 * * 5-7", "99 99 * * *", "0 0 L * *"])
def test_lint_refuses_a_schedule_kubernetes_refuses(kjob: Any, tmp_path: Path, schedule: str) -> None:
    done = kjob("lint", str(_cron_file(tmp_path, f"schedule: '{schedule}'")))
    assert done.code == 2
    assert f"{tmp_path / 'cron.yaml'}:6:13: error: invalid schedule '{schedule}'" in done.stderr
