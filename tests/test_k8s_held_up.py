"""Pods the cluster keeps or removes behind kjob's back: a pod that cannot start (its image cannot be
pulled) stays Pending for ever and its Job never fails, so kjob shows why on the task; a short
``--ttl-seconds-after-finished`` never deletes a Job before kjob has read its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kjob.backends.kubernetes import KubernetesBackend, connect
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.state import Node, Phase
from kjob.spec import load_text
from kjob.testing.emulator import Emulator, PodScript, host_process
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


TTL_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ttl}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: answer, template: answer}
      - {name: quiet, template: quiet}
      - name: use
        dependencies: [answer]
        template: quiet
  - name: answer
    container: {image: alpine, command: [sh, -c, "echo 42 > /tmp/a"]}
    outputs: {parameters: [{name: a, valueFrom: {path: /tmp/a}}]}
  - name: quiet
    container: {image: alpine, command: [echo, hi]}
"""


def test_a_short_ttl_never_deletes_a_job_before_its_outputs_are_read(kjob: Any, tmp_path: Path) -> None:
    wf = tmp_path / "ttl.yaml"
    wf.write_text(TTL_WORKFLOW)
    with Emulator(host_process(private_tmp=True)) as emu:
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
        done = kjob("run", str(wf), "--kubeconfig", str(kubeconfig), "--ttl-seconds-after-finished", "0")
        assert done.code == 0, done.stdout + done.stderr
        assert done.nodes()["answer"]["outputs"]["parameters"] == {"a": "42"}
        ttl = {
            j["metadata"]["labels"]["kjob.dev/task"]: j["spec"]["ttlSecondsAfterFinished"]
            for j in emu.objects("jobs", "default")
        }
        assert ttl.get("answer") == 60  # kept long enough for kjob to read its output
        assert "quiet" not in ttl  # nothing to read: deleted as asked
