"""``podDisruptionBudget`` and custom metrics on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped
without it), in one run: while the run waits at a suspend node, its PodDisruptionBudget exists, owned by
the run ConfigMap and selecting the run's pods; once resumed and ended, the budget is gone and the run
record holds the task's metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.conftest import REPO, kjob_env
from tests.realk8s import namespace
from tests.test_local_hooks import _wait_for

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

RUN = "pdb-real"

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: pdb-}
spec:
  entrypoint: main
  podDisruptionBudget: {minAvailable: 1}
  templates:
  - name: main
    steps:
    - - {name: work, template: work}
    - - {name: hold, template: hold}
  - name: work
    metrics:
      prometheus:
      - name: work_runs
        help: runs of work
        labels: [{key: status, value: "{{status}}"}]
        counter: {value: "1"}
    container: {image: alpine, command: [sh, -c, "echo hi"]}
  - name: hold
    suspend: {}
"""


def _kjob(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_the_budget_lives_with_the_run_and_metrics_are_recorded(tmp_path: Path) -> None:
    with namespace("kjob-pdb") as ns:
        policy = client.PolicyV1Api(ns.api)
        home = tmp_path / "home"
        env = kjob_env(home, ns.kubeconfig)
        wf = tmp_path / "wf.yaml"
        wf.write_text(WORKFLOW)
        command = ["run", str(wf), "--backend", "kubernetes", "-n", ns.name, "--run-id", RUN]
        run = subprocess.Popen(
            [sys.executable, "-m", "kjob", *command],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            record = home / "runs" / RUN / "run.json"

            def suspended(data: dict[str, Any]) -> bool:
                return any(n["id"] == "hold" and "suspended:" in n["message"] for n in data["nodes"])

            _wait_for(record, suspended, run)
            budget = ns.api.sanitize_for_serialization(
                policy.read_namespaced_pod_disruption_budget(RUN, ns.name)
            )
            assert budget["spec"]["minAvailable"] == 1
            [owner] = budget["metadata"]["ownerReferences"]
            assert (owner["kind"], owner["name"]) == ("ConfigMap", RUN)
            selector = ",".join(f"{k}={v}" for k, v in budget["spec"]["selector"]["matchLabels"].items())
            assert selector == f"kjob.dev/run={RUN}"
            pods = ns.core.list_namespaced_pod(ns.name, label_selector=selector).items
            assert pods and all(p.metadata.labels["kjob.dev/run"] == RUN for p in pods)
            asked = _kjob(env, "resume", RUN, "--node", "hold", "-n", ns.name)
            assert asked.returncode == 0, asked.stdout + asked.stderr
            out, err = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
        assert run.returncode == 0, out + err
        with pytest.raises(client.ApiException) as gone:
            policy.read_namespaced_pod_disruption_budget(RUN, ns.name)
        assert gone.value.status == 404
        got = _kjob(env, "get", RUN, "-o", "json", "-n", ns.name)
        assert '"work_runs"' in got.stdout, got.stdout + got.stderr
        [metric] = json.loads(got.stdout)["metrics"]
        assert metric == {
            "name": "work_runs",
            "help": "runs of work",
            "type": "counter",
            "labels": {"status": "Succeeded"},
            "node": "work",
            "value": 1.0,
        }
