"""Host-process mode: container commands run for real, with mapped paths, env and volumes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kjob.testing.emulator import Clients, Emulator, host_process

NS = "default"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(host_process(EXTRA="from-test"), tick=0.01, pod_backoff=0.05) as e:
        yield e


@pytest.fixture
def k(emu: Emulator) -> Iterator[Clients]:
    c = emu.clients()
    yield c
    c.close()


def job(name: str, command: list[str], **container: Any) -> dict[str, Any]:
    spec = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox", "command": command, **container}],
    }
    volumes = container.pop("volumes", None)
    if volumes:
        spec["volumes"] = volumes
        spec["containers"][0].pop("volumes", None)
    return {"metadata": {"name": name}, "spec": {"backoffLimit": 0, "template": {"spec": spec}}}


def terminated(emu: Emulator, k: Clients, name: str) -> tuple[Any, Any]:
    def done() -> Any:
        pods = k.core.list_namespaced_pod(NS, label_selector=f"job-name={name}").items
        if pods and pods[0].status.phase in ("Succeeded", "Failed"):
            return pods[0]
        return None

    pod = emu.wait_for(done, 10)
    return pod, pod.status.container_statuses[0].state.terminated


def test_command_log_and_termination_message(emu: Emulator, k: Clients) -> None:
    script = "echo out; echo err >&2; printf '{\"result\": 42}' > /dev/termination-log; echo $EXTRA $HOSTNAME"
    k.batch.create_namespaced_job(NS, job("real", ["sh", "-c", script]))
    pod, term = terminated(emu, k, "real")
    assert (term.exit_code, term.reason, term.message) == (0, "Completed", '{"result": 42}')
    assert (
        k.core.read_namespaced_pod_log(pod.metadata.name, NS) == f"out\nerr\nfrom-test {pod.metadata.name}\n"
    )
    assert emu.pod_log(NS, pod.metadata.name) == f"out\nerr\nfrom-test {pod.metadata.name}\n"


def test_termination_message_is_capped_at_4096_bytes(emu: Emulator, k: Clients) -> None:
    k.batch.create_namespaced_job(
        NS, job("big", ["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x > /dev/termination-log; exit 1"])
    )
    _, term = terminated(emu, k, "big")
    assert term.exit_code == 1 and term.message == "x" * 4096


def test_env_sources_expansion_and_volumes(emu: Emulator, k: Clients) -> None:
    k.core.create_namespaced_config_map(
        NS, {"metadata": {"name": "cfg"}, "data": {"greeting": "hello", "file.txt": "from a file"}}
    )
    k.core.create_namespaced_secret(NS, {"metadata": {"name": "sec"}, "stringData": {"token": "s3cret"}})
    env = [
        {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "PHRASE", "value": "$(GREETING) world"},
    ]
    mounts = [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "scratch", "mountPath": "/scratch"}]
    volumes = [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "scratch", "emptyDir": {}}]
    script = "echo $(PHRASE) $TOKEN; cat /etc/cfg/file.txt; echo; echo kept > /scratch/f; cat /scratch/f; pwd"
    body = job(
        "env", ["sh", "-c", script], env=env, volumeMounts=mounts, volumes=volumes, workingDir="/scratch"
    )
    k.batch.create_namespaced_job(NS, body)
    pod, term = terminated(emu, k, "env")
    assert term.exit_code == 0, k.core.read_namespaced_pod_log(pod.metadata.name, NS)
    lines = k.core.read_namespaced_pod_log(pod.metadata.name, NS).splitlines()
    assert lines[:3] == ["hello world s3cret", "from a file", "kept"]
    assert lines[3].endswith("/volumes/scratch")


def test_persistent_volume_claims_are_shared_between_pods(emu: Emulator, k: Clients) -> None:
    claim = {
        "metadata": {"name": "ws"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    k.core.create_namespaced_persistent_volume_claim(NS, claim)
    # the default StorageClass provisions a volume for it at once
    emu.wait_for(lambda: k.core.read_namespaced_persistent_volume_claim("ws", NS).status.phase == "Bound")
    volumes = [{"name": "ws", "persistentVolumeClaim": {"claimName": "ws"}}]
    mounts = [{"name": "ws", "mountPath": "/workspace"}]
    k.batch.create_namespaced_job(
        NS,
        job("writer", ["sh", "-c", "echo artifact > /workspace/out"], volumeMounts=mounts, volumes=volumes),
    )
    terminated(emu, k, "writer")
    k.batch.create_namespaced_job(
        NS, job("reader", ["cat", "/workspace/out"], volumeMounts=mounts, volumes=volumes)
    )
    pod, term = terminated(emu, k, "reader")
    assert term.exit_code == 0 and k.core.read_namespaced_pod_log(pod.metadata.name, NS) == "artifact\n"


def test_start_errors(emu: Emulator, k: Clients) -> None:
    k.batch.create_namespaced_job(NS, job("nocmd", []))
    k.batch.create_namespaced_job(NS, job("missing", ["/definitely/not/here"]))
    _, term = terminated(emu, k, "nocmd")
    assert (term.exit_code, term.reason) == (128, "StartError") and "command" in term.message
    _, term = terminated(emu, k, "missing")
    assert (term.exit_code, term.reason) == (128, "StartError") and '"/definitely/not/here"' in term.message


def test_missing_config_is_create_container_config_error(emu: Emulator, k: Clients) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]
    k.batch.create_namespaced_job(NS, job("cfgerr", ["true"], env=env))

    def waiting() -> Any:
        pods = k.core.list_namespaced_pod(NS).items
        statuses = pods[0].status.container_statuses if pods else None
        return statuses[0].state.waiting if statuses and statuses[0].state.waiting else None

    state = emu.wait_for(lambda: (w := waiting()) and w.reason == "CreateContainerConfigError" and w)
    assert state.message == 'configmap "absent" not found'
    k.core.create_namespaced_config_map(NS, {"metadata": {"name": "absent"}, "data": {"k": "v"}})
    terminated(emu, k, "cfgerr")


def test_deleting_a_pod_kills_its_process(emu: Emulator, k: Clients) -> None:
    body = job("sleeper", ["sleep", "60"])
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1
    body["spec"]["backoffLimit"] = 1  # the deleted pod counts as a failure; one replacement is allowed
    k.batch.create_namespaced_job(NS, body)
    pod = emu.wait_for(
        lambda: [p for p in k.core.list_namespaced_pod(NS).items if p.status.phase == "Running"]
    )[0]
    started = time.monotonic()
    k.core.delete_namespaced_pod(pod.metadata.name, NS)
    emu.wait_for(
        lambda: pod.metadata.name not in [p.metadata.name for p in k.core.list_namespaced_pod(NS).items], 5
    )
    assert time.monotonic() - started < 2.0
    emu.wait_for(lambda: len(k.core.list_namespaced_pod(NS).items) == 1)  # the Job made a replacement
