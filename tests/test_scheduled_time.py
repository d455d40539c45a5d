"""``workflow.scheduledTime``: a CronWorkflow's run's scheduled time.  A driver Job made by a CronJob
reads it off its own name (``<cronjob>-<minutes since 1970>``); ``kjob run`` of a CronWorkflow takes the
run's start, as ``argo submit --from cronwf`` does; a Workflow may carry Argo's annotation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.errors import SpecErrors
from kjob.runs.scheduled import cron_scheduled_time
from kjob.spec.loader import load_text

CRON = """\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: sched}
spec:
  schedule: "*/5 * * * *"
  %s
  workflowSpec:
    entrypoint: main
    templates:
    - name: main
      outputs:
        parameters:
        - {name: seen, valueFrom: {path: /tmp/seen}}
      container:
        image: alpine
        command: [sh, -c, 'echo "{{workflow.scheduledTime}} {{workflow.creationTimestamp}}" > /tmp/seen']
"""


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [("", "2025-12-31T23:55:00Z"), ("timezone: Europe/Paris", "2026-01-01T00:55:00+01:00")],
)
def test_a_cronjobs_job_name_gives_the_time_it_was_scheduled_for(timezone: str, expected: str) -> None:
    workflow = load_text(CRON % timezone, path="cron.yaml").workflows[0]
    minutes = 1767225300 // 60  # 2025-12-31T23:55:00Z
    assert cron_scheduled_time(workflow, f"sched-{minutes}") == expected


@pytest.mark.parametrize("run_id", ["sched-1796682927", "sched-abcde", "sched-12345", "sched"])
def test_a_run_id_not_made_by_a_cronjob_gives_none(run_id: str) -> None:
    # kjob run's own ids end in seconds: read as minutes, a time still to come
    assert cron_scheduled_time(load_text(CRON % "", path="cron.yaml").workflows[0], run_id) is None


def test_kjob_run_of_a_cronworkflow_is_scheduled_when_it_starts(kjob: Any, tmp_path: Path) -> None:
    path = tmp_path / "cron.yaml"
    path.write_text(CRON % "")
    done = kjob("run", str(path), "--backend", "local")
    assert done.code == 0, done.stdout + done.stderr
    [node] = done.nodes().values()
    scheduled, created = node["outputs"]["parameters"]["seen"].split()
    assert scheduled == created and scheduled.endswith("Z")


WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: sched-
  %s
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [echo, "{{workflow.scheduledTime}}"]}
"""


def test_a_workflow_reads_argos_annotation_and_without_it_has_no_scheduled_time() -> None:
    load_text(WORKFLOW % "annotations: {workflows.argoproj.io/scheduled-time: x}", path="wf.yaml")
    with pytest.raises(SpecErrors) as raised:
        load_text(WORKFLOW % "", path="wf.yaml")
    [error] = raised.value.errors
    assert error.message == "'{{workflow.scheduledTime}}' is not supported by kjob yet"
