"""Every example runs end to end through the CLI on the local backend, as a user types it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, SEED, needs_shared


def finished_before(nodes: dict[str, dict[str, Any]], first: str, then: str) -> bool:
    return bool(nodes[first]["finished"] <= nodes[then]["started"])


def test_basic_dag_runs_in_dependency_order(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "01-basic-dag.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    assert re.fullmatch(r"data-pipeline-[a-z0-9]{5}", done.run_id())
    nodes = done.nodes()
    tasks = [
        "validate-input",
        "transform-data",
        "aggregate-users",
        "aggregate-orders",
        "generate-report",
        "upload-results",
    ]
    assert {t: nodes[t]["phase"] for t in tasks} == dict.fromkeys(tasks, "Succeeded")
    assert finished_before(nodes, "validate-input", "transform-data")
    assert finished_before(nodes, "transform-data", "aggregate-users")
    assert finished_before(nodes, "transform-data", "aggregate-orders")
    assert finished_before(nodes, "aggregate-users", "generate-report")
    assert finished_before(nodes, "aggregate-orders", "generate-report")
    assert finished_before(nodes, "generate-report", "upload-results")
    assert f"Workflow {done.run_id()} Succeeded" in done.stdout
    logs = kjob("logs", done.run_id(), "aggregate-users")
    assert logs.code == 0
    assert logs.stdout.splitlines() == ["Aggregating users data...", "users aggregation complete"]


def test_artifacts_pass_through_private_tmp(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "02-artifacts.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    assert kjob("logs", done.run_id(), "process-data").stdout.strip() == "Processing 1000 records"


def test_conditional_runs_exactly_the_branch_its_size_selects(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "03-conditional.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    size = int(nodes["check-data-size"]["outputs"]["parameters"]["size"])
    small, large = nodes["process-small-batch"]["phase"], nodes["process-large-batch"]["phase"]
    assert (small, large) == (("Succeeded", "Skipped") if size < 1000 else ("Skipped", "Succeeded"))


def test_retries_example_succeeds_without_failures(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "04-retries.yaml"), "-p", "failure-rate=0")
    assert done.code == 0, done.stdout + done.stderr
    assert len(done.nodes()["flaky-step"]["attempts"]) == 1


def test_with_param_fans_out_over_every_partition(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "05-parallel-withparam.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    children = [f"process-partition({i}:partition-{i})" for i in range(10)]
    assert all(nodes[c]["phase"] == "Succeeded" for c in children)
    assert all(finished_before(nodes, c, "merge-results") for c in children)
    logs = kjob("logs", done.run_id(), "process-partition")
    assert sorted(logs.stdout.splitlines()) == sorted(f"{c}: Processing partition-{c[-2]}" for c in children)


def test_resources_example_runs(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "06-resources.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    assert "Crunching numbers: 333332833333500000" in kjob("logs", done.run_id(), "crunch").stdout


def test_cron_workflow_runs_once_now(kjob: Any) -> None:
    done = kjob("run", str(EXAMPLES / "07-cronworkflow.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    assert re.fullmatch(r"daily-data-pipeline-\d{10}", done.run_id())
    nodes = done.nodes()
    assert [nodes[t]["phase"] for t in ("validate-input", "transform-data", "generate-report")] == [
        "Succeeded"
    ] * 3
    assert kjob("logs", done.run_id(), "generate-report").stdout.strip() == "Generating report"


@pytest.mark.parametrize(
    ("seed", "task", "missing"),
    [
        ("03-conditional.yaml", "check-size", "size"),
        ("05-parallel-withparam.yaml", "partition", "partitions"),
    ],
)
def test_the_tutorials_output_bugs_fail_as_argo_fails_them(
    kjob: Any, tmp_path: Path, seed: str, task: str, missing: str
) -> None:
    """The tutorial's scripts print their output but declare a file they never write."""
    needs_shared()
    fragment = (SEED / seed).read_text()
    template = fragment[fragment.index(f"\n  - name: {task}\n") + 1 :]
    template = (
        template[: template.index("\n  - name: ", 10) + 1] if "\n  - name: " in template[10:] else template
    )
    workflow = tmp_path / "bug.yaml"
    workflow.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: bug-\n"
        f"spec:\n  entrypoint: {task}\n  templates:\n{template}"
    )
    done = kjob("run", str(workflow))
    assert done.code == 1, done.stdout + done.stderr
    node = done.nodes()[task]
    assert node["phase"] == "Error"
    assert f"'{missing}' (/tmp/{missing}) was not written" in node["message"]
    assert "outputs.result" in node["message"]
