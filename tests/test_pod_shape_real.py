"""A containerSet graph, init containers, a sidecar and podSpecPatch on the real cluster
(``KJOB_TEST_KUBECONFIG``; skipped without it), in one run: the set's containers run in their
dependencies' order in one pod (one failing once runs again), the init container prepares a file the
main container reads, the sidecar (stopped by kjob's watcher on a cluster without native sidecars)
ends with the main container so the Job completes, the patches set env and resources, and a failing
init container fails its task with its name in the message."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, kjob_env
from tests.realk8s import Namespace, namespace
from tests.test_pod_shape import CONTAINER_SET, POD

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]


def _template(body: str, name: str) -> str:
    """The single template of one of test_pod_shape's workflows, renamed ``name``."""
    lines = body.split("  templates:\n", 1)[1].splitlines()
    return "\n".join(lines).replace("  - name: main", f"  - name: {name}", 1)


WORKFLOW = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: pods-}}
spec:
  entrypoint: main
  arguments: {{parameters: [{{name: greeting, value: hello}}]}}
  podSpecPatch: '{{"containers": [{{"name": "main", "resources": {{"limits": {{"cpu": "100m"}}}}}}]}}'
  templates:
  - name: main
    dag:
      tasks:
      - {{name: set, template: set}}
      - {{name: pod, template: pod}}
      - {{name: bad-init, template: bad-init, continueOn: {{failed: true}}}}
      - name: report
        dependencies: [set, pod]
        template: report
        arguments: {{parameters: [{{name: got, value: "{{{{tasks.set.outputs.result}}}}|{{{{tasks.pod.outputs.result}}}}"}}]}}
{_template(CONTAINER_SET, "set")}
{_template(POD, "pod")}
  - name: report
    inputs: {{parameters: [{{name: got}}]}}
    container: {{image: alpine, command: [echo, "{{{{inputs.parameters.got}}}}"]}}
  - name: bad-init
    initContainers: [{{name: prepare, image: alpine, command: [sh, -c, "exit 5"]}}]
    container: {{image: alpine, command: [echo, never]}}
"""


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with namespace("kjob-pods") as made:
        yield made


def test_container_set_init_sidecar_and_patch_on_the_real_cluster(ns: Namespace, tmp_path: Path) -> None:
    home = tmp_path / "home"
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    run_id = "pods-real"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kjob",
            "run",
            str(wf),
            "--backend",
            "kubernetes",
            "-n",
            ns.name,
            "--run-id",
            run_id,
        ],
        env=kjob_env(home, ns.kubeconfig),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    nodes = {n["id"]: n for n in json.loads((home / "runs" / run_id / "run.json").read_text())["nodes"]}
    assert nodes["set"]["outputs"]["result"] == "a\nabc"
    assert sorted(nodes["set"]["outputs"]["parameters"]["log"].split("\n")) == ["a", "b", "c"]
    assert nodes["pod"]["outputs"]["result"] == "prepared\nhello"
    assert nodes["report"]["phase"] == "Succeeded"
    assert nodes["bad-init"]["phase"] == "Failed"
    assert "init container 'prepare': exit code 5" in nodes["bad-init"]["message"]

    (pod,) = ns.core.list_namespaced_pod(ns.name, label_selector="kjob.dev/task=pod").items
    names = [c.name for c in pod.spec.containers] + [c.name for c in pod.spec.init_containers or ()]
    assert sorted(names) == ["main", "prepare", "server"]
    main = next(c for c in pod.spec.containers if c.name == "main")
    assert main.resources.limits == {"cpu": "100m"}  # the workflow's patch
    assert any(e.name == "GREETING" for e in main.env or ())  # the template's
    assert ns.core.read_namespaced_pod_log(pod.metadata.name, ns.name, container="server").startswith(
        "serving"
    )
