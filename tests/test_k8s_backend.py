"""The examples on the Kubernetes backend, through the CLI, against the API emulator: the same
results and states as on the local backend, every Job created once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.testing.emulator import Emulator, host_process
from tests.conftest import EXAMPLES


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Emulator, str]]:
    with Emulator(host_process()) as emu:
        yield emu, str(emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default"))


def run_on(kjob: Any, cluster: tuple[Emulator, str], example: str, *args: str) -> Any:
    _, kubeconfig = cluster
    return kjob("run", str(EXAMPLES / example), "--backend", "kubernetes", "--kubeconfig", kubeconfig, "-n", "default", *args)


def test_basic_dag_on_kubernetes(kjob: Any, cluster: tuple[Emulator, str]) -> None:
    done = run_on(kjob, cluster, "01-basic-dag.yaml")
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    tasks = ["validate-input", "transform-data", "aggregate-users", "aggregate-orders", "generate-report", "upload-results"]
    assert {t: nodes[t]["phase"] for t in tasks} == dict.fromkeys(tasks, "Succeeded")
    emu, _ = cluster
    created = emu.audit_counts(verb="create", resource="jobs", code=201)
    assert len(created) == 6 and set(created.values()) == {1}


def test_conditional_on_kubernetes_reads_the_output_parameter(kjob: Any, cluster: tuple[Emulator, str]) -> None:
    done = run_on(kjob, cluster, "03-conditional.yaml")
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    size = int(nodes["check-data-size"]["outputs"]["parameters"]["size"])
    small, large = nodes["process-small-batch"]["phase"], nodes["process-large-batch"]["phase"]
    assert (small, large) == (("Succeeded", "Skipped") if size < 1000 else ("Skipped", "Succeeded"))


def test_with_param_on_kubernetes(kjob: Any, cluster: tuple[Emulator, str]) -> None:
    done = run_on(kjob, cluster, "05-parallel-withparam.yaml")
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert all(nodes[f"process-partition({i}:partition-{i})"]["phase"] == "Succeeded" for i in range(10))
    assert nodes["merge-results"]["phase"] == "Succeeded"


def test_a_failing_task_fails_the_run_on_kubernetes(kjob: Any, cluster: tuple[Emulator, str], tmp_path: Path) -> None:
    wf = tmp_path / "fail.yaml"
    wf.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: fail-}\nspec:\n"
        "  entrypoint: boom\n  templates:\n  - name: boom\n    container: {image: alpine, command: [sh, -c, 'exit 3']}\n"
    )
    _, kubeconfig = cluster
    done = kjob("run", str(wf), "--backend", "kubernetes", "--kubeconfig", kubeconfig)
    assert done.code == 1, done.stdout + done.stderr
    node = done.nodes()["boom"]
    assert (node["phase"], node["message"]) == ("Failed", "exit code 3")
