"""``workflow.scheduledTime`` of a CronWorkflow's run: when its schedule fired.

A CronJob names each Job it creates ``<cronjob>-<scheduled time in minutes since the epoch>``
(Kubernetes' ``getTimeHashInMinutes``), and a driver Job's run takes its Job's name as its run id
(:mod:`kjob.render.driver`), so the run id says when the schedule fired, on any Kubernetes version
and without reading the Job (its ``batch.kubernetes.io/cronjob-scheduled-timestamp`` annotation,
1.28+, says the same).
It is written as Argo writes it, RFC 3339 in the CronWorkflow's ``timezone`` (else UTC).  A run not
made by a CronJob (``kjob run`` of a CronWorkflow) has none: the engine then takes the run's start, as
``argo submit --from cronwf/NAME`` does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo

from kjob.spec.model import Workflow

MINUTES_DIGITS = 8  # the CronJob controller's suffix (minutes since 1970 have had 8 digits since 1975)


def cron_scheduled_time(workflow: Workflow, run_id: str) -> str | None:
    """When the CronJob that made the Job ``run_id`` scheduled it, if ``workflow`` is a CronWorkflow
    and ``run_id`` is such a Job's name (its suffix minutes of a time already come); else ``None``."""
    if workflow.cron is None:
        return None
    head, _, minutes = run_id.rpartition("-")
    if not head or not minutes.isdigit() or len(minutes) < MINUTES_DIGITS:
        return None
    zone: dt.tzinfo = dt.UTC
    # a zone the CronJob took but this host's tz data does not know: UTC
    with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(workflow.cron.timezone or "UTC")
    at = dt.datetime.fromtimestamp(int(minutes) * 60, tz=zone)
    if at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1):
        return None  # not minutes: a Job is made once its time has come (kjob run's ids end in seconds)
    return rfc3339(at)


def rfc3339(at: dt.datetime) -> str:
    """``at`` as Go's ``time.RFC3339`` writes it: ``Z`` for UTC, else ``+hh:mm``."""
    text = at.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
