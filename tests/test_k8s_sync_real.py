"""``synchronization`` and ``memoize`` across runs on a real cluster (``KJOB_TEST_KUBECONFIG``), through
the CLI as a user runs them: two runs started together share a mutex (a Lease), so their locked parts
never overlap (the tasks' own clocks show it); inside the locked part a memoized task runs in the first
run only, and the second takes its output from the ConfigMap cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client

from kjob.backends.kubernetes.memo import CACHE_LABEL
from tests.conftest import REPO, kjob_env
from tests.realk8s import namespace

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: shared-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: section, template: section}
  - name: section
    synchronization:
      mutexes: [{name: one-at-a-time}]
    steps:
    - - {name: work, template: work}
    - - {name: make, template: make}
  - name: work
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo -n $(date +%s.%N) $(sleep 0.2; date +%s.%N) > /tmp/span"]
    outputs: {parameters: [{name: span, valueFrom: {path: /tmp/span}}]}
  - name: make
    memoize:
      key: answer-v1
      maxAge: 10m
      cache: {configMap: {name: answers}}
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo -n forty-two > /tmp/answer"]
    outputs: {parameters: [{name: answer, valueFrom: {path: /tmp/answer}}]}
"""


def test_two_runs_share_a_mutex_lease_and_the_second_takes_the_memoized_output(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    with namespace("kjob-sync") as ns:
        homes = [tmp_path / "a", tmp_path / "b"]
        runs = []
        for home in homes:
            home.mkdir()
            args = ["run", str(tmp_path / "wf.yaml"), "--backend", "kubernetes", "-n", ns.name]
            runs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "kjob", *args, "--kubeconfig", str(ns.kubeconfig)],
                    env=kjob_env(home),
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = [run.communicate(timeout=180)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        records = [json.loads(next((home / "runs").glob("*/run.json")).read_text()) for home in homes]
        nodes = [{n["id"]: n for n in record["nodes"]} for record in records]
        spans = sorted(
            tuple(map(float, n["section.work"]["outputs"]["parameters"]["span"].split())) for n in nodes
        )
        assert spans[0][1] <= spans[1][0], spans  # the second run's section started after the first's ended
        first, second = sorted(
            nodes, key=lambda n: float(n["section.work"]["outputs"]["parameters"]["span"].split()[0])
        )
        assert not first["section.make"]["message"].startswith("cached")
        assert second["section.make"]["message"].startswith("cached: memoize key answer-v1 in answers")
        assert second["section.make"]["outputs"]["parameters"] == {"answer": "forty-two"}
        cache = ns.core.read_namespaced_config_map("answers", ns.name)
        assert cache.metadata.labels[CACHE_LABEL] == "Cache"
        entry = json.loads(cache.data["answer-v1"])
        assert entry["outputs"]["parameters"] == [{"name": "answer", "value": "forty-two"}]
        leases = client.CoordinationV1Api(ns.api).list_namespaced_lease(ns.name).items
        assert [lease.spec.holder_identity for lease in leases] == [None]  # one mutex, given back
