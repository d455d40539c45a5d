"""Building the schedule part of a ``CronWorkflow`` spec, with its checks.

Schedules must be five cron fields (checked with cronsim) or a macro (``@daily``, ``@every 5m``), the
timezone an IANA name (checked when the machine has a time zone database); the ``workflowSpec``
itself is handed back to be built like any workflow spec.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping

from kjob.errors import KjobError
from kjob.spec import fields as F
from kjob.spec.durations import parse_duration
from kjob.spec.model import CronSpec, Mark, frozen_map
from kjob.spec.reader import INT64_MAX, Reader
from kjob.spec.values import describe
from kjob.spec.yamlnodes import YamlMap

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
TIMEZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")  # IANA's characters, '/' between
TIMEZONE_CHARS = 64  # the longest IANA name has 32
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron(r: Reader, spec: YamlMap, spec_mark: Mark) -> tuple[CronSpec, YamlMap | None]:
    """The schedule part of a CronWorkflow ``spec``, and its ``workflowSpec`` if it is a mapping."""
    r.fields(spec, F.CRON_SPEC, "CronWorkflow spec")
    schedules: list[str] = []
    one = r.string(spec, "schedule")
    many = r.sequence(spec, "schedules")
    if one is not None and many is not None:
        r.diag.error(
            "CronWorkflow has both schedule and schedules",
            r.src.key(spec, "schedules"),
            hint="use one of schedule or schedules",
        )
    if one is not None:
        _check_schedule(r, one, r.src.value(spec, "schedule"))
        schedules.append(one)
    for index, item in enumerate(many or ()):
        mark = r.src.item(many, index) if many is not None else spec_mark
        if not isinstance(item, str):
            r.diag.error(f"each schedule must be a string, not {describe(item)}", mark)
            continue
        _check_schedule(r, str(item), mark)
        schedules.append(str(item))
    if one is None and many is None:
        r.diag.error(
            "CronWorkflow has no schedule",
            spec_mark,
            hint='add `schedule: "0 2 * * *"` (minute hour day-of-month month day-of-week)',
        )
    timezone = r.string(spec, "timezone")
    if timezone is not None:
        _check_timezone(r, timezone, r.src.value(spec, "timezone"))
    policy = r.string(spec, "concurrencyPolicy") or "Allow"
    if policy not in CONCURRENCY_POLICIES:
        r.diag.error(
            f"unknown concurrencyPolicy '{policy}'",
            r.src.value(spec, "concurrencyPolicy"),
            hint=f"use one of: {', '.join(CONCURRENCY_POLICIES)}",
        )
    _warn_inexpressible(r, spec, schedules, policy)
    workflow_meta = r.mapping(spec, "workflowMetadata")
    labels: Mapping[str, str] = frozen_map()
    annotations: Mapping[str, str] = frozen_map()
    if workflow_meta is not None:
        r.fields(workflow_meta, F.WORKFLOW_METADATA)
        labels = r.string_map(workflow_meta, "labels")
        annotations = r.string_map(workflow_meta, "annotations")
    workflow_spec = r.mapping(spec, "workflowSpec")
    if "workflowSpec" not in spec or spec["workflowSpec"] is None:
        r.diag.error(
            "CronWorkflow has no workflowSpec",
            spec_mark,
            hint="add `workflowSpec:` with the entrypoint and templates of the workflow to run",
        )
    cron = CronSpec(
        schedules=tuple(schedules),
        timezone=timezone,
        concurrency_policy=policy,
        starting_deadline_seconds=r.integer(spec, "startingDeadlineSeconds", maximum=INT64_MAX),
        successful_jobs_history_limit=r.integer(spec, "successfulJobsHistoryLimit"),
        failed_jobs_history_limit=r.integer(spec, "failedJobsHistoryLimit"),
        suspend=bool(r.boolean(spec, "suspend")),
        mark=spec_mark,
        workflow_labels=labels,
        workflow_annotations=annotations,
    )
    return cron, workflow_spec


def _warn_inexpressible(r: Reader, spec: YamlMap, schedules: list[str], policy: str) -> None:
    """Warn, where it is written, about what a CronWorkflow asks and a Kubernetes CronJob cannot do:
    kjob renders one CronJob per schedule, each with the CronJob's own fields and nothing more."""
    if policy != "Allow" and len(schedules) > 1:
        r.diag.warn(
            f"concurrencyPolicy {policy} holds within each schedule only: kjob makes one CronJob per "
            f"schedule ({len(schedules)} here), and a CronJob does not see the runs the others start",
            r.src.value(spec, "concurrencyPolicy"),
            hint="use one schedule (a list in a field, e.g. '0 2,14 * * *') where runs must never overlap",
        )
    if "when" in spec:
        r.diag.warn(
            "a CronJob has no condition: every scheduled time runs, whatever `when` says",
            r.src.key(spec, "when"),
            hint="put the condition on the first task (a `when` in the workflow), or suspend the CronJob",
        )
    if "stopStrategy" in spec:
        r.diag.warn(
            "a CronJob has no stopStrategy: it keeps firing after the condition holds",
            r.src.key(spec, "stopStrategy"),
            hint='suspend it when done: kubectl patch cronjob NAME -p \'{"spec":{"suspend":true}}\'',
        )


def _check_schedule(r: Reader, schedule: str, mark: Mark) -> None:
    problem = schedule_problem(schedule)
    if problem is not None:
        r.diag.error(f"invalid schedule '{schedule}': {problem}", mark, hint=SCHEDULE_HINT)


SCHEDULE_HINT = (
    "five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) day-of-week "
    '(0-6 or SUN-SAT), e.g. "0 2 * * *"; or @hourly, @daily, @weekly, @monthly, @yearly, @every 5m'
)


def schedule_problem(schedule: str) -> str | None:
    """What is wrong with a schedule as Kubernetes CronJobs and Argo read it (Go's robfig/cron:
    five fields or a descriptor), or ``None``.  The fields are checked by cronsim, a strict parser
    of the same five-field syntax; robfig's ``?`` (any) is read as ``*``, and cronsim's extensions
    robfig lacks (``L``, ``W``, ``#``) are refused."""
    text = schedule.strip()
    if text in CRON_MACROS:
        return None
    if text.startswith("@every "):
        try:
            seconds = parse_duration(text.removeprefix("@every ").strip())
        except KjobError as err:
            return err.message
        return None if seconds >= 1 else "@every needs at least 1s"
    fields = text.split()
    if len(fields) != 5:
        return f"{len(fields)} fields, not 5"
    if any(mark in field for field in fields for mark in ("L", "W", "#")):
        return "L, W and # are not cron fields Kubernetes reads"
    if any(_numbers_above(part, 6) for part in fields[4].split(",")):
        return "day-of-week runs 0-6 (SUN-SAT) for Kubernetes; 7 is not Sunday there"
    fields[2], fields[4] = (f.replace("?", "*") for f in (fields[2], fields[4]))
    from cronsim import CronSim, CronSimError  # here: only a CronWorkflow needs it (lint starts sooner)

    try:
        CronSim(" ".join(fields), datetime.datetime(2000, 1, 1))
    except CronSimError as err:
        return str(err).lower()
    return None


def _numbers_above(part: str, top: int) -> bool:
    """Whether one list element of a cron field (``5``, ``1-7``, ``*/2``, ``3-6/2``) names a value
    above ``top`` (a step is not a value)."""
    values = part.split("/", 1)[0].split("-")
    return any(v.isdigit() and int(v) > top for v in values)


def _check_timezone(r: Reader, timezone: str, mark: Mark) -> None:
    if len(timezone) > TIMEZONE_CHARS or not TIMEZONE_NAME.fullmatch(timezone):
        shown = timezone if len(timezone) <= 40 else f"{timezone[:37]}..."
        r.diag.error(
            f"timezone {shown!r} is not a time zone name",
            mark,
            hint="use an IANA name such as America/Los_Angeles or UTC",
        )
        return
    import zoneinfo  # here: only a CronWorkflow's timezone needs it (lint starts sooner)

    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name the disk refuses
        known = zoneinfo.available_timezones()
        if not known:
            return  # no time zone database here: leave the check to the cluster
        r.diag.error(
            f"unknown timezone '{timezone}'",
            mark,
            hint=_did_you_mean(timezone, known, "use an IANA name such as America/Los_Angeles or UTC"),
        )


def _did_you_mean(word: str, choices: Iterable[str], otherwise: str) -> str:
    hint = F.suggest(word, choices)
    return hint if hint.startswith("did you mean") else otherwise
