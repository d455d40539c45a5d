"""One Kubernetes run on the API emulator with a workflow-level mutex and a memoized, mutex-guarded step
run twice: the Leases and the ConfigMap cache kjob leaves behind, and the second memoized step served
from the cache within the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.k8s_runs import Runner

pytestmark = pytest.mark.slow

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: gated-}
spec:
  entrypoint: main
  synchronization: {mutexes: [{name: whole-run}]}
  templates:
  - name: main
    steps:
    - - {name: first, template: make}
    - - {name: again, template: make}
  - name: make
    synchronization: {mutexes: [{name: one-maker}]}
    memoize: {key: made, cache: {configMap: {name: made-cache}}}
    container: {image: busybox, command: [sh, -c, "echo -n 7 > /tmp/n"]}
    outputs: {parameters: [{name: n, valueFrom: {path: /tmp/n}}]}
"""


def test_locks_are_leases_and_the_memoize_cache_a_config_map_on_the_emulator(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    run = Runner(tmp_path / "runs").kubernetes(tmp_path / "wf.yaml")
    assert run.done.code == 0, run.done.stdout + run.done.stderr
    nodes = run.done.nodes()
    assert not nodes["first"]["message"].startswith("cached")
    assert nodes["again"]["message"] == "cached: memoize key made in made-cache (from first)"
    assert nodes["again"]["outputs"]["parameters"] == {"n": "7"}
    leases = {lease["metadata"]["name"]: lease["spec"] for lease in run.emulator.objects("leases", "default")}
    assert len(leases) == 2 and all(not spec.get("holderIdentity") for spec in leases.values())
    cache = next(
        cm for cm in run.emulator.objects("configmaps", "default") if cm["metadata"]["name"] == "made-cache"
    )
    assert json.loads(cache["data"]["made"])["nodeID"] == "first"
