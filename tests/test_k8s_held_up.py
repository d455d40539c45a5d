"""Pods the cluster keeps behind kjob's back: a pod that cannot start (its image cannot be pulled)
stays Pending for ever and its Job never fails, so kjob shows why on the task.  (A short
``--ttl-seconds-after-finished``: ``tests/contract/test_kjob_on_cluster.py``.)"""

from __future__ import annotations

from pathlib import Path

from kjob.backends.kubernetes import KubernetesBackend, connect
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.state import Node, Phase
from kjob.spec import load_text
from kjob.testing.emulator import Emulator, PodScript
from kjob.testing.emulator.behaviour import PodView

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pull}
spec:
  entrypoint: main
  activeDeadlineSeconds: 3
  templates:
  - name: main
    dag:
      tasks:
      - {name: fine, template: fine}
      - {name: typo, template: typo}
  - name: fine
    container: {image: alpine, command: [echo, ok]}
  - name: typo
    container: {image: registry.invalid/alpyne, command: [echo, never]}
"""


def pulls(pod: PodView) -> PodScript:
    if "invalid" in pod.raw["spec"]["containers"][0]["image"]:
        return PodScript(stuck_waiting="ImagePullBackOff")
    return PodScript(duration=0.1)


class Messages:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def node_changed(self, node: Node) -> None:
        self.seen.append((node.id, node.phase.value, node.message))


def test_a_pod_that_cannot_pull_its_image_is_reported_on_its_task(tmp_path: Path) -> None:
    with Emulator(pulls) as emu:
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
        cluster = connect(kubeconfig=str(kubeconfig))
        workflow = load_text(WORKFLOW, path="pull.yaml").workflows[0]
        run = KubernetesBackend.create_run(cluster, "pull", workflow_text=WORKFLOW, parameters={})
        backend = KubernetesBackend(cluster, run, held_up_after=0.5)
        messages = Messages()
        try:
            result = Engine(
                workflow, backend, run_id="pull", options=EngineOptions(), observers=[messages]
            ).run()
        finally:
            backend.close()
    typo = [(phase, message) for node, phase, message in messages.seen if node == "typo"]
    assert ("Running", "waiting: ImagePullBackOff") in typo
    assert not [m for node, _, m in messages.seen if node == "fine" and m.startswith("waiting")]
    assert result.phase is Phase.FAILED and "activeDeadlineSeconds" in result.message
