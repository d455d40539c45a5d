"""Hooks, an http template and a suspend node on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped
without it), in one run: the exit hook reads its task's output from the Job's pod, the http request
sends a header read from a Secret of the run's namespace, and the suspended node is resumed by
``kjob resume --node`` through the annotation on the run's ConfigMap."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.runs.noderesume import ANNOTATION_RESUME
from tests.conftest import REPO, kjob_env
from tests.realk8s import Namespace, namespace
from tests.test_local_hooks import _wait_for, server  # noqa: F401 - the local HTTP server fixture

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hooks-}
spec:
  entrypoint: main
  hooks:
    exit: {template: say, arguments: {parameters: [{name: msg, value: "ended {{workflow.status}}"}]}}
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: produce
        hooks:
          exit:
            template: say
            arguments: {parameters: [{name: msg, value: "a said {{tasks.a.outputs.result}}"}]}
          done:
            expression: tasks.a.status == "Succeeded"
            template: say
            arguments: {parameters: [{name: msg, value: done}]}
      - name: fetch
        template: fetch
      - name: approve
        depends: a && fetch
        template: approve
      - name: release
        depends: approve
        when: "{{tasks.approve.outputs.parameters.answer}} == YES"
        template: say
        arguments: {parameters: [{name: msg, value: "{{tasks.approve.outputs.parameters.answer}}"}]}
  - name: produce
    script: {image: python, command: [python], source: "print('hello')"}
  - name: fetch
    http:
      url: "URL/hello"
      headers: [{name: X-Token, valueFrom: {secretKeyRef: {name: api, key: token}}}]
      successCondition: response.statusCode == 200
  - name: approve
    suspend: {}
    outputs: {parameters: [{name: answer, valueFrom: {supplied: {}}}]}
  - name: say
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
"""


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with namespace("kjob-hooks") as made:
        yield made


def test_hooks_http_and_a_resumed_suspend_on_the_real_cluster(
    ns: Namespace,
    tmp_path: Path,
    server: str,  # noqa: F811
) -> None:
    ns.core.create_namespaced_secret(
        ns.name, {"metadata": {"name": "api"}, "stringData": {"token": "from-a-secret"}}
    )
    home = tmp_path / "home"
    env = kjob_env(home, ns.kubeconfig)
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW.replace("URL", server))
    run_id = "hooks-real"
    command = ["run", str(wf), "--backend", "kubernetes", "-n", ns.name, "--run-id", run_id]
    run = subprocess.Popen(
        [sys.executable, "-m", "kjob", *command],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        record = home / "runs" / run_id / "run.json"

        def suspended(data: dict[str, Any]) -> bool:
            return any(n["id"] == "approve" and "suspended:" in n["message"] for n in data["nodes"])

        _wait_for(record, suspended, run)
        resume = ["resume", run_id, "--node", "approve", "--set", "answer=YES", "-n", ns.name]
        asked = subprocess.run(
            [sys.executable, "-m", "kjob", *resume],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert asked.returncode == 0, asked.stdout + asked.stderr
        out, err = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, out + err
    annotations = ns.core.read_namespaced_config_map(run_id, ns.name).metadata.annotations
    assert [v["node"] for v in json.loads(annotations[ANNOTATION_RESUME]).values()] == ["approve"]
    nodes = {n["id"]: n for n in json.loads(record.read_text())["nodes"]}
    assert nodes["a.onExit"]["outputs"]["result"] == "a said hello"
    assert nodes["a.hooks.done"]["outputs"]["result"] == "done"
    assert json.loads(nodes["fetch"]["outputs"]["result"])["token"] == "from-a-secret"
    assert nodes["approve"]["outputs"]["parameters"] == {"answer": "YES"}
    assert nodes["release"]["phase"] == "Succeeded"  # its when read the supplied answer
    assert nodes["onExit"]["outputs"]["result"] == "ended Succeeded"
