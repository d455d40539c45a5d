"""A ``CronWorkflow`` as native ``batch/v1`` CronJobs, one per schedule, each starting a driver Job.

The CronJob controller names each Job it creates after the scheduled time, and the driver takes that
name as its run id (:mod:`kjob.render.driver`): one run per fire, resumed by the Job's next pod if its
driver dies.  The CronWorkflow's own fields map one to one (``timezone`` → ``timeZone``); what a
CronJob cannot express (``concurrencyPolicy`` across several schedules, ``when``, ``stopStrategy``) is
warned about by ``kjob lint`` (:mod:`kjob.spec.build_cron`).  ``@every`` has no CronJob form
(Kubernetes reads it, but counts from the CronJob's creation): it is rendered as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kjob.render import names
from kjob.spec.model import CronSpec

Manifest = dict[str, Any]


def cronjobs(
    cron: CronSpec, base: str, namespace: str, labels: Mapping[str, str], job_spec: Manifest
) -> list[Manifest]:
    """One CronJob per schedule of ``cron``, each creating Jobs with ``job_spec``.  They are named
    ``base``, or ``base-1``, ``base-2``, ... when there are several schedules, in at most 52
    characters (the controller names each Job after its CronJob plus 11, within a DNS label's 63)."""
    several = len(cron.schedules) > 1
    found: list[Manifest] = []
    for index, schedule in enumerate(cron.schedules, start=1):
        name = f"{base}-{index}" if several else base
        spec: dict[str, Any] = {
            "schedule": schedule,
            "concurrencyPolicy": cron.concurrency_policy,
            "suspend": cron.suspend,
            "jobTemplate": {
                "metadata": _workflow_metadata(cron, labels),
                "spec": job_spec,
            },
        }
        if cron.timezone is not None:
            spec["timeZone"] = cron.timezone
        optional = {
            "startingDeadlineSeconds": cron.starting_deadline_seconds,
            "successfulJobsHistoryLimit": cron.successful_jobs_history_limit,
            "failedJobsHistoryLimit": cron.failed_jobs_history_limit,
        }
        spec.update({key: value for key, value in optional.items() if value is not None})
        found.append(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {
                    "name": names.slug(name, 52),
                    "namespace": namespace,
                    "labels": dict(labels),
                    "annotations": {"kjob.dev/schedule": schedule},
                },
                "spec": spec,
            }
        )
    return found


def _workflow_metadata(cron: CronSpec, labels: Mapping[str, str]) -> dict[str, Any]:
    """The Jobs' labels and annotations: the plan's, and ``workflowMetadata``'s (Argo puts those on
    each Workflow it starts; here each fire is a Job)."""
    meta: dict[str, Any] = {"labels": {**cron.workflow_labels, **labels}}
    if cron.workflow_annotations:
        meta["annotations"] = dict(cron.workflow_annotations)
    return meta
