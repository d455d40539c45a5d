"""Argo's custom metrics (``metrics.prometheus``, issue 12): kjob evaluates them where Argo's controller
emits them and records them in the run record: lint's located errors, the recorded values on the local
backend and on the API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.k8s_runs import Runner
from tests.test_local_backend import write

METRICS = """\
  entrypoint: main
  metrics:
    prometheus:
    - name: run_seconds
      help: how long the run took
      labels: [{key: status, value: "{{workflow.status}}"}]
      gauge: {value: "{{workflow.duration}}"}
  templates:
  - name: main
    dag:
      tasks:
      - name: ok
        template: work
        arguments: {parameters: [{name: code, value: "0"}]}
      - name: bad
        template: work
        arguments: {parameters: [{name: code, value: "3"}]}
  - name: work
    inputs: {parameters: [{name: code}]}
    metrics:
      prometheus:
      - name: task_seconds
        help: how long a task took
        labels: [{key: code, value: "{{inputs.parameters.code}}"}]
        gauge: {value: "{{duration}}", realtime: true}
      - name: task_failures
        help: failed tasks
        when: "{{status}} == Failed"
        counter: {value: "1"}
      - name: task_exit_codes
        help: exit codes
        histogram: {value: "{{exitCode}}", buckets: [1, 5]}
    container:
      image: alpine
      command: [sh, -c, 'exit "$CODE"']
      env: [{name: CODE, value: "{{inputs.parameters.code}}"}]
"""

NOTICE = "metrics are recorded in the run record (kjob get RUN -o json); kjob exposes no Prometheus endpoint"


def _by_name(record: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["name"], ",".join(m.get("labels", {}).values())): m for m in record["metrics"]}


def _check_recorded(record: dict[str, Any]) -> None:
    metrics = _by_name(record)
    assert set(metrics) == {
        ("task_seconds", "0"),
        ("task_seconds", "3"),
        ("task_failures", ""),
        ("task_exit_codes", ""),
        ("run_seconds", "Failed"),
    }
    duration = metrics["task_seconds", "3"]
    assert duration["type"] == "gauge" and duration["realtime"] is True and duration["node"] == "bad"
    assert 0 <= duration["value"] < 60
    failures = metrics["task_failures", ""]  # the `when` held for the failed task only
    assert failures == {
        "name": "task_failures",
        "help": "failed tasks",
        "type": "counter",
        "node": "bad",
        "value": 1.0,
    }
    histogram = metrics["task_exit_codes", ""]
    assert sorted(histogram["observations"]) == [0.0, 3.0]
    assert histogram["buckets"] == [{"le": 1.0, "count": 1}, {"le": 5.0, "count": 2}]
    run = metrics["run_seconds", "Failed"]  # the workflow's own, as the run ended
    assert run["node"] == "" and run["value"] >= duration["value"]


def test_metrics_are_recorded_on_the_local_backend(kjob: Any, tmp_path: Path) -> None:
    path = write(tmp_path, METRICS)
    done = kjob("run", path)
    assert done.code == 1, done.stdout + done.stderr
    assert (done.stdout + done.stderr).count(NOTICE) == 1
    _check_recorded(done.record())
    shown = kjob("get", done.run_id())
    assert "Metrics:    5 series of 4 metrics (kjob get RUN -o json)" in shown.stdout
    assert '"task_failures"' in kjob("get", done.run_id(), "-o", "json").stdout


def test_a_counter_adds_up_over_a_loop_and_a_gauge_operation_moves_it(kjob: Any, tmp_path: Path) -> None:
    body = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: each
        template: work
        withItems: [2, 3, 4]
        arguments: {parameters: [{name: n, value: "{{item}}"}]}
  - name: work
    inputs: {parameters: [{name: n}]}
    metrics:
      prometheus:
      - name: items_total
        help: items done
        labels: [{key: status, value: "{{status}}"}]
        counter: {value: "{{inputs.parameters.n}}"}
      - name: level
        help: a gauge moved by each item
        gauge: {value: "1", operation: Sub}
    container: {image: alpine, command: [true]}
"""
    done = kjob("run", write(tmp_path, body))
    assert done.code == 0, done.stdout + done.stderr
    metrics = _by_name(done.record())
    assert metrics["items_total", "Succeeded"]["value"] == 9.0
    assert metrics["level", ""]["value"] == -3.0


def test_a_metric_that_cannot_be_emitted_is_recorded_with_why(kjob: Any, tmp_path: Path) -> None:
    body = """\
  entrypoint: main
  templates:
  - name: main
    metrics:
      prometheus:
      - name: words
        help: not a number
        gauge: {value: "{{outputs.result}}"}
    script: {image: python:alpine, command: [python], source: print("many")}
"""
    done = kjob("run", write(tmp_path, body))
    assert done.code == 0, done.stdout + done.stderr
    [metric] = done.record()["metrics"]
    assert metric == {
        "name": "words",
        "node": "main",
        "error": "value 'many' (from '{{outputs.result}}') is not a number",
    }


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            '{name: bad-name, help: h, gauge: {value: "1"}}',
            "wf.yaml:9:35: error: invalid metric name 'bad-name'",
        ),
        ('{name: m, gauge: {value: "1"}}', "wf.yaml:9:28: error: metric 'm' of template 'main' has no help"),
        (
            '{name: m, help: h, gauge: {value: "1"}, counter: {value: "1"}}',
            "wf.yaml:9:68: error: metric 'm' of template 'main' has gauge and counter",
        ),
        ("{name: m, help: h, counter: {}}", "error: metric 'm' of template 'main' has no counter.value"),
        (
            '{name: m, help: h, gauge: {value: "{{status}}", realtime: true}}',
            "a realtime gauge's value must be",
        ),
        ('{name: m, help: h, when: "== x", counter: {value: "1"}}', "error: invalid metric when:"),
        (
            '{name: m, help: h, labels: [{key: a-b, value: x}], counter: {value: "1"}}',
            "invalid metric label key 'a-b'",
        ),
        ("{name: m, help: h, histogram: {value: '1', buckets: [x]}}", "histogram bucket 'x' is not a number"),
    ],
)
def test_lint_locates_malformed_metrics(kjob: Any, tmp_path: Path, metric: str, message: str) -> None:
    body = f"""\
  entrypoint: main
  templates:
  - name: main
    metrics: {{prometheus: [{metric}]}}
    container: {{image: alpine, command: [true]}}
"""
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert message in done.stdout + done.stderr


def test_metrics_are_recorded_on_the_emulator(tmp_path: Path) -> None:
    workflow = Path(write(tmp_path, METRICS))
    run = Runner(tmp_path / "runs").kubernetes(workflow)
    assert run.done.code == 1, run.done.stdout + run.done.stderr
    _check_recorded(run.done.record())


def test_a_waves_plan_refuses_metrics(kjob: Any, tmp_path: Path) -> None:
    done = kjob("plan", write(tmp_path, METRICS), "-o", str(tmp_path / "plan"))
    assert done.code == 2
    assert "error: the workflow has metrics: a waves plan has no kjob to record them" in done.stderr


def test_each_retried_try_and_the_node_emit_the_templates_metrics(kjob: Any, tmp_path: Path) -> None:
    body = """\
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: 1}
    metrics:
      prometheus:
      - name: failures
        help: failed tries and nodes
        when: "{{status}} == Failed"
        labels: [{key: code, value: "{{exitCode}}"}]
        counter: {value: "1"}
    container: {image: alpine, command: [sh, -c, "exit 4"]}
"""
    done = kjob("run", write(tmp_path, body))
    assert done.code == 1, done.stdout + done.stderr
    [metric] = done.record()["metrics"]
    assert (metric["value"], metric["labels"], metric["node"]) == (2.0, {"code": "4"}, "main")
