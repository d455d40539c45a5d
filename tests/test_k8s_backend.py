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
    return kjob(
        "run",
        str(EXAMPLES / example),
        "--backend",
        "kubernetes",
        "--kubeconfig",
        kubeconfig,
        "-n",
        "default",
        *args,
    )


def test_basic_dag_on_kubernetes(kjob: Any, cluster: tuple[Emulator, str]) -> None:
    done = run_on(kjob, cluster, "01-basic-dag.yaml")
    assert done.code == 0, done.stdout + done.stderr
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
    emu, _ = cluster
    created = emu.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)
    assert len(created) == 6 and set(created.values()) == {1}


def test_conditional_on_kubernetes_reads_the_output_parameter(
    kjob: Any, cluster: tuple[Emulator, str]
) -> None:
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


def test_a_failing_task_fails_the_run_on_kubernetes(
    kjob: Any, cluster: tuple[Emulator, str], tmp_path: Path
) -> None:
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


def test_resume_after_the_client_is_killed_creates_every_job_exactly_once(
    cluster: tuple[Emulator, str], tmp_path: Path, kjob_home: Path, kjob: Any
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO, kjob_env

    emu, kubeconfig = cluster
    tasks = []
    for level in range(10):
        for i in range(5):
            deps = f", dependencies: [t{level - 1}-{i}]" if level else ""
            tasks.append(f"      - {{name: t{level}-{i}, template: nap{deps}}}\n")
    wf = tmp_path / "fifty.yaml"
    wf.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: fifty}\nspec:\n"
        "  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
        + "".join(tasks)
        + "  - name: nap\n    container: {image: alpine, command: [sh, -c, 'sleep 0.2']}\n"
    )
    args = ["--backend", "kubernetes", "--kubeconfig", kubeconfig, "-n", "default"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(wf), *args],
        env=kjob_env(kjob_home),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and len(emu.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)) < 15
    ):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    created_before = len(emu.audit_counts(verb="create", resource="jobs", code=201, dry_run=False))
    assert 15 <= created_before < 50, "the client should die in the middle of the run"

    done = kjob("resume", "fifty", "--kubeconfig", kubeconfig, "-n", "default")
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert sum(1 for n in nodes.values() if n["phase"] == "Succeeded" and n["id"] != "main") == 50
    created = emu.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)
    assert len(created) == 50
    assert set(created.values()) == {1}


def test_an_unreachable_cluster_is_said_in_one_whole_line(kjob: Any, tmp_path: Path) -> None:
    """Once 28 s of retries and a message cut mid-word: now two quick tries and the root cause."""
    import socket

    from kjob.testing.emulator import kubeconfig as emulator_kubeconfig

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = emulator_kubeconfig.write(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", namespace="default")
    for args in (("run", str(EXAMPLES / "01-basic-dag.yaml")), ("resume", "some-run")):
        done = kjob(*args, "--kubeconfig", str(path))
        assert done.code == 1, done.stdout + done.stderr
        assert done.stderr == (
            f"error: cannot reach the cluster ({path}, context kjob-emulator): "
            f"127.0.0.1:{port}: connection refused\n"
            "  hint: check that it runs and that the kubeconfig's server address is right\n"
        )
