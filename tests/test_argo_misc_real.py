"""Argo's smaller spec features on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped without it), in
one run: an inline template, templateDefaults, a volumeClaimTemplates claim shared by two tasks,
global outputs read by a later task and the exit handler, workflowMetadata labels on the run ConfigMap,
podGC of the succeeded pods a selector names and ttlStrategy deleting the whole run after it ends."""

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

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

RUN = "misc-real"
TTL = 4

WORKFLOW = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: {RUN}}}
spec:
  entrypoint: main
  onExit: report
  arguments:
    parameters:
    - {{name: team, value: blue}}
    - {{name: greeting, valueFrom: {{configMapKeyRef: {{name: settings, key: greeting}}}}}}
  workflowMetadata:
    labels: {{kind: nightly}}
    labelsFrom: {{team: {{expression: workflow.parameters.team}}}}
  podGC: {{strategy: OnPodSuccess, labelSelector: {{matchLabels: {{gc: "yes"}}}}}}
  ttlStrategy: {{secondsAfterSuccess: {TTL}}}
  templateDefaults:
    container: {{image: alpine, volumeMounts: [{{name: work, mountPath: /tmp/work}}]}}
  volumeClaimTemplates:
  - metadata: {{name: work}}
    spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Mi}}}}}}
  templates:
  - name: main
    steps:
    - - name: write
        inline:
          metadata: {{labels: {{gc: "yes"}}}}
          container: {{command: [sh, -c, 'echo shared > /tmp/work/file; echo hi > /tmp/word']}}
          outputs: {{parameters: [{{name: word, globalName: word, valueFrom: {{path: /tmp/word}}}}]}}
    - - name: read
        arguments: {{parameters: [{{name: word, value: "{{{{workflow.outputs.parameters.word}}}}"}}]}}
        inline:
          inputs: {{parameters: [{{name: word}}]}}
          container:
            command: [sh, -c, 'echo "$W $(cat /tmp/work/file)" > /tmp/out']
            env: [{{name: W, value: "{{{{inputs.parameters.word}}}}"}}]
          outputs: {{parameters: [{{name: got, valueFrom: {{path: /tmp/out}}}}]}}
  - name: report
    container:
      command: [sh, -c, 'echo "$W" > /tmp/out']
      env: [{{name: W, value: "{{{{workflow.parameters.greeting}}}}: exit handler read {{{{workflow.outputs.parameters.word}}}}"}}]
    outputs: {{parameters: [{{name: got, valueFrom: {{path: /tmp/out}}}}]}}
"""


def test_inline_defaults_claims_global_outputs_metadata_pod_gc_and_ttl(tmp_path: Path) -> None:
    with namespace("kjob-misc") as ns:
        claim = f"{RUN}-work"
        volume = f"{claim}-{ns.name}"
        ns.core.create_persistent_volume(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": volume},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "hostPath": {"path": f"/var/tmp/{volume}", "type": "DirectoryOrCreate"},
                    "claimRef": {"namespace": ns.name, "name": claim},  # binds only the run's claim
                },
            }
        )
        ns.cleanup.append(lambda: ns.core.delete_persistent_volume(volume))
        settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
        ns.core.create_namespaced_config_map(ns.name, {**settings, "data": {"greeting": "hello"}})
        (tmp_path / "wf.yaml").write_text(WORKFLOW)
        home = tmp_path / "home"
        home.mkdir()
        args = ["run", str(tmp_path / "wf.yaml"), "--backend", "kubernetes", "-n", ns.name]
        done = subprocess.run(
            [sys.executable, "-m", "kjob", *args],
            capture_output=True,
            text=True,
            env=kjob_env(home, ns.kubeconfig),
            cwd=REPO,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        record: dict[str, Any] = json.loads((home / "runs" / RUN / "run.json").read_text())
        nodes = {n["id"]: n for n in record["nodes"]}
        assert nodes["read"]["outputs"]["parameters"] == {"got": "hi shared"}  # the claim, the global output
        assert nodes["onExit"]["outputs"]["parameters"] == {"got": "hello: exit handler read hi"}
        assert record["outputs"]["parameters"] == {"word": "hi"}
        held = ns.core.read_namespaced_config_map(RUN, ns.name)
        assert {"kind": "nightly", "team": "blue"}.items() <= (held.metadata.labels or {}).items()
        owners = ns.core.read_namespaced_persistent_volume_claim(claim, ns.name).metadata.owner_references
        assert [o.name for o in owners] == [RUN]
        pods = {p.metadata.labels["kjob.dev/task"] for p in ns.core.list_namespaced_pod(ns.name).items}
        assert "write" not in pods and "read" in pods  # podGC: the succeeded pod gc=yes names

        def run_gone() -> bool:
            try:
                ns.core.read_namespaced_config_map(RUN, ns.name)
            except client.ApiException as err:
                return bool(err.status == 404)
            return False

        ns.wait("the run's time to live to end", run_gone, timeout=60)
        ns.wait("the run's Jobs to go with it", lambda: not ns.jobs(f"kjob.dev/run={RUN}"), timeout=60)
