"""What a driver pod relies on in ``kjob run``, against the API emulator: ``--run-id`` names the run,
and a run id the cluster already holds with the same workflow and parameters is resumed (the Job's
next pod after one died), never refused and never run twice; ``--parameter-file`` reads the plan's
parameters."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.testing.emulator import Emulator, host_process
from tests.conftest import REPO, kjob_env

SLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: slow-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: word, value: default}]
  templates:
  - name: main
    dag:
      tasks:
      - {name: nap, template: nap}
      - {name: after, template: quick, dependencies: [nap]}
  - name: nap
    container: {image: alpine, command: [sh, -c, "sleep 3; echo rested"]}
  - name: quick
    container: {image: alpine, command: [echo, "{{workflow.parameters.word}}"]}
"""
QUICK = SLOW.replace("sleep 3; ", "")  # for the tests that need no task still running part-way


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(host_process()) as emu:
        yield emu


@pytest.fixture
def setup(emulator: Emulator, tmp_path: Path) -> tuple[Path, Path]:
    wf = tmp_path / "quick.yaml"
    wf.write_text(QUICK)
    return wf, emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")


def _argv(wf: Path, kubeconfig: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kjob",
        "run",
        str(wf),
        "--backend",
        "kubernetes",
        "--kubeconfig",
        str(kubeconfig),
        *extra,
    ]


def _run(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    home.mkdir(exist_ok=True)
    return subprocess.run(
        argv, env=kjob_env(home), cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_same_run_id_again_resumes_the_run_in_the_cluster(
    emulator: Emulator, setup: tuple[Path, Path], tmp_path: Path
) -> None:
    wf, kubeconfig = setup
    wf.write_text(SLOW)  # the nap still runs when the first driver is stopped
    argv = _argv(wf, kubeconfig, "--run-id", "nightly-1", "-p", "word=hello", "--detach-on-interrupt")
    first_home = tmp_path / "pod-1"
    first_home.mkdir()
    proc = subprocess.Popen(
        argv, env=kjob_env(first_home), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not emulator.objects("pods", "default"):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # what a pod deletion sends: the driver leaves its Jobs running
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out.decode() + err.decode()
    assert out.decode().startswith("Run nightly-1\n")

    again = _run(argv, tmp_path / "pod-2")  # the next pod: a fresh home, the same command
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("Run nightly-1 (resumed)\n")
    creates = emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)
    assert len(creates) == 2 and set(creates.values()) == {1}, creates  # nap and after, once each

    finished = _run(argv, tmp_path / "pod-3")  # a pod after the end: the run is over, nothing runs
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False) == creates


def test_a_run_id_held_by_another_workflow_or_parameters_is_refused(
    emulator: Emulator, setup: tuple[Path, Path], tmp_path: Path
) -> None:
    wf, kubeconfig = setup
    assert _run(_argv(wf, kubeconfig, "--run-id", "shared"), tmp_path / "a").returncode == 0
    other = _run(_argv(wf, kubeconfig, "--run-id", "shared", "-p", "word=other"), tmp_path / "b")
    assert other.returncode == 2
    assert (
        "run 'shared' exists in namespace default with another workflow or other parameters" in other.stderr
    )
    assert "Traceback" not in other.stderr


def test_a_run_id_must_be_a_dns_label(setup: tuple[Path, Path], tmp_path: Path) -> None:
    wf, kubeconfig = setup
    bad = _run(_argv(wf, kubeconfig, "--run-id", "Not_A_Name"), tmp_path / "h")
    assert bad.returncode == 2 and "is not a run id" in bad.stderr


def test_run_id_and_owner_job_are_refused_with_dry_run(kjob: Any) -> None:
    done = kjob("run", "examples/01-basic-dag.yaml", "--dry-run", "--run-id", "x", "--owner-job", "x=uid")
    assert (
        done.code == 2
        and "--run-id, --owner-job: only for a run, and --dry-run creates nothing" in done.stderr
    )


def test_parameter_file_sets_parameters_and_p_wins(tmp_path: Path, kjob: Any) -> None:
    wf = tmp_path / "echo.yaml"
    wf.write_text(QUICK)
    params = tmp_path / "params.json"
    params.write_text('{"word": "from-file"}')
    done = kjob("run", str(wf), "--backend", "local", "--parameter-file", str(params))
    assert done.code == 0, done.stderr
    assert done.nodes()["after"]["outputs"]["result"] == "from-file"
    done = kjob("run", str(wf), "--backend", "local", "--parameter-file", str(params), "-p", "word=flag")
    assert done.nodes()["after"]["outputs"]["result"] == "flag"


@pytest.mark.parametrize(
    ("content", "message"),
    [("[1, 2]", "a parameter file is a map of names to values"), ("word: [unclosed", "is not YAML or JSON")],
)
def test_a_bad_parameter_file_is_a_clear_error(tmp_path: Path, kjob: Any, content: str, message: str) -> None:
    wf = tmp_path / "echo.yaml"
    wf.write_text(SLOW)
    params = tmp_path / "params.yaml"
    params.write_text(content)
    done = kjob("run", str(wf), "--backend", "local", "--parameter-file", str(params))
    assert done.code == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_driver_pod_that_loses_the_race_to_create_its_run_goes_on_with_the_winners_run(
    emulator: Emulator, setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pods of one driver Job both looked for the run, found none, and both create it: the one
    whose create comes second must drive the run the first created, not fail the Job (exit 2)."""
    from click.testing import CliRunner

    from kjob.backends.kubernetes import KubernetesBackend, connect
    from kjob.cli import cli
    from kjob.runs import start

    wf, kubeconfig = setup
    conn = connect(kubeconfig=str(kubeconfig))
    KubernetesBackend.create_run(conn, "race-1", workflow_text=wf.read_text(), parameters={})  # the winner
    conn.close()
    real = start._same_run
    looked: list[str] = []

    def looked_too_early(*args: Any) -> Any:  # the loser looked before the winner's create landed
        looked.append("looked")
        return None if len(looked) == 1 else real(*args)

    monkeypatch.setattr(start, "_same_run", looked_too_early)
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "loser"))
    argv = _argv(wf, kubeconfig, "--run-id", "race-1")[3:]  # the arguments after `-m kjob`
    done = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert looked == ["looked", "looked"]
    assert "Run race-1 (resumed)" in done.output
    runs = [c for c in emulator.objects("configmaps", "default") if c["metadata"]["name"] == "race-1"]
    assert len(runs) == 1
    creates = emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)
    assert len(creates) == 2 and set(creates.values()) == {1}, creates
