"""Scheduling with capacity and claims: what the real scheduler writes on a pod it cannot place, and
that the pod is placed once it can be. Checked against both sides."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.contract.conftest import Cluster

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
MISMATCH = "node(s) didn't match Pod's node affinity/selector"


def cpu_units(text: str) -> float:
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def nodes(cluster: Cluster) -> list[Any]:
    return sorted(cluster.core.list_node().items, key=lambda n: n.metadata.name)


def message(total: int, reasons: str, preemption: str) -> str:
    return (
        f"0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are available: {preemption}.."
    )


def test_nodes_are_registered_with_their_allocatable_resources(cluster: Cluster) -> None:
    found = nodes(cluster)
    assert len(found) >= 1
    for node in found:
        assert node.metadata.labels["kubernetes.io/hostname"] == node.metadata.name
        assert {"cpu", "memory", "pods"} <= set(node.status.allocatable)
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True"


def test_a_pod_no_node_can_take_stays_pending_and_says_why(cluster: Cluster) -> None:
    found = nodes(cluster)
    n = len(found)
    too_much_cpu = str(math.floor(max(cpu_units(x.status.allocatable["cpu"]) for x in found)) + 1)
    first = found[0].metadata.name
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "cpu": (
            {"resources": {"requests": {"cpu": too_much_cpu}}},
            message(n, f"{n} Insufficient cpu", f"{n} {NO_VICTIMS}"),
        ),
        "cpu-and-memory": (
            {"resources": {"requests": {"cpu": too_much_cpu, "memory": "100Ti"}}},
            message(n, f"{n} Insufficient cpu, {n} Insufficient memory", f"{n} {NO_VICTIMS}"),
        ),
        "limits-only": (  # a limit without a request is requested at the limit
            {"resources": {"limits": {"cpu": too_much_cpu}}},
            message(n, f"{n} Insufficient cpu", f"{n} {NO_VICTIMS}"),
        ),
        "gpu": (
            {"resources": {"limits": {"nvidia.com/gpu": "1"}}},
            message(n, f"{n} Insufficient nvidia.com/gpu", f"{n} {NO_VICTIMS}"),
        ),
        "selector": (
            {"nodeSelector": {"kjob.dev/no-such-pool": "x"}},
            message(n, f"{n} {MISMATCH}", f"{n} {NOT_HELPFUL}"),
        ),
    }
    if n > 1:
        cases["pinned"] = (
            {
                "nodeSelector": {"kubernetes.io/hostname": first},
                "resources": {"requests": {"cpu": too_much_cpu}},
            },
            message(n, f"1 Insufficient cpu, {n - 1} {MISMATCH}", f"1 {NO_VICTIMS}, {n - 1} {NOT_HELPFUL}"),
        )
    for name, (spec, _) in cases.items():
        cluster.core.create_namespaced_pod(cluster.namespace, cluster.pod(f"unfit-{name}", **spec))
    for name, (_, expected) in cases.items():
        cond = cluster.scheduled(f"unfit-{name}")
        assert (cond.status, cond.reason, cond.message) == ("False", "Unschedulable", expected), name
        pod = cluster.core.read_namespaced_pod(f"unfit-{name}", cluster.namespace)
        assert pod.status.phase == "Pending" and pod.spec.node_name is None
    limits_only = cluster.core.read_namespaced_pod("unfit-limits-only", cluster.namespace)
    assert limits_only.spec.containers[0].resources.requests == {"cpu": too_much_cpu}
    gpu = cluster.core.read_namespaced_pod("unfit-gpu", cluster.namespace)
    assert gpu.spec.containers[0].resources.requests == {"nvidia.com/gpu": "1"}
    assert gpu.status.qos_class == "BestEffort"  # only cpu and memory decide the QoS class
    for name in cases:
        cluster.core.delete_namespaced_pod(f"unfit-{name}", cluster.namespace, grace_period_seconds=0)


def free_cpu_millis(cluster: Cluster, node: Any) -> int:
    """What the node has left of its allocatable cpu (every namespace's pods count)."""
    used = 0
    for pod in cluster.core.list_pod_for_all_namespaces(
        field_selector=f"spec.nodeName={node.metadata.name}"
    ).items:
        if pod.status.phase in ("Succeeded", "Failed"):
            continue
        for c in pod.spec.containers:
            requests = (c.resources.requests if c.resources else None) or {}
            used += round(cpu_units(requests.get("cpu", "0")) * 1000)
    return round(cpu_units(node.status.allocatable["cpu"]) * 1000) - used


def test_a_pod_waits_for_room_and_is_placed_when_a_pod_finishes(cluster: Cluster) -> None:
    node = nodes(cluster)[0]
    pin = {"nodeSelector": {"kubernetes.io/hostname": node.metadata.name}}
    free = free_cpu_millis(cluster, node)
    assert free >= 1000, f"node {node.metadata.name} is too busy for this test ({free}m cpu free)"
    hold = 2 if cluster.emulator is not None else 4
    cluster.core.create_namespaced_pod(
        cluster.namespace,
        cluster.pod("holder", f"sleep {hold}", resources={"requests": {"cpu": f"{free}m"}}, **pin),
    )
    assert cluster.scheduled("holder").status == "True"
    cluster.core.create_namespaced_pod(
        cluster.namespace, cluster.pod("waiter", "true", resources={"requests": {"cpu": "1"}}, **pin)
    )
    waiting = cluster.scheduled("waiter")
    n = len(nodes(cluster))
    others = f", {n - 1} {MISMATCH}" if n > 1 else ""
    assert (waiting.status, waiting.reason) == ("False", "Unschedulable")
    assert waiting.message == message(
        n, f"1 Insufficient cpu{others}", f"1 {NO_VICTIMS}" + (f", {n - 1} {NOT_HELPFUL}" if n > 1 else "")
    )

    def succeeded(name: str) -> Any:
        pod = cluster.core.read_namespaced_pod(name, cluster.namespace)
        return pod if pod.status.phase == "Succeeded" else None

    holder = cluster.wait(lambda: succeeded("holder"), "the holder to finish")
    waiter = cluster.wait(lambda: succeeded("waiter"), "the waiter to run")
    assert waiter.spec.node_name == node.metadata.name
    bound = next(c for c in waiter.status.conditions if c.type == "PodScheduled")
    assert bound.status == "True" and bound.reason is None
    finished = holder.status.container_statuses[0].state.terminated.finished_at
    assert bound.last_transition_time >= finished  # placed only once the holder had finished


def test_a_pod_waits_for_its_claim_to_be_bound(cluster: Cluster) -> None:
    n = len(nodes(cluster))
    mount = {"volume_mounts": [{"name": "data", "mountPath": "/data"}]}

    def claim_volume(claim: str) -> list[dict[str, Any]]:
        return [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]

    cluster.core.create_namespaced_pod(
        cluster.namespace, cluster.pod("no-claim", volumes=claim_volume("absent-claim"), **mount)
    )
    cluster.core.create_namespaced_persistent_volume_claim(
        cluster.namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "later"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "",  # no dynamic provisioning: only a volume made for it will do
            },
        },
    )
    cluster.core.create_namespaced_pod(
        cluster.namespace,
        cluster.pod("unbound", "echo written > /data/out", volumes=claim_volume("later"), **mount),
    )
    cond = cluster.scheduled("no-claim")
    expected = message(n, 'persistentvolumeclaim "absent-claim" not found', f"{n} {NOT_HELPFUL}")
    assert (cond.status, cond.reason, cond.message) == ("False", "Unschedulable", expected)
    cond = cluster.scheduled("unbound")
    expected = message(n, "pod has unbound immediate PersistentVolumeClaims", f"{n} {NOT_HELPFUL}")
    assert (cond.status, cond.reason, cond.message) == ("False", "Unschedulable", expected)
    assert (
        cluster.core.read_namespaced_persistent_volume_claim("later", cluster.namespace).status.phase
        == "Pending"
    )

    volume_name = f"{cluster.namespace}-later"
    host_dir = Path("/var/tmp") / volume_name
    cluster.core.create_persistent_volume(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume_name},
            "spec": {
                "capacity": {"storage": "2Gi"},
                "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(host_dir), "type": "DirectoryOrCreate"},
            },
        }
    )
    try:

        def bound() -> Any:
            claim = cluster.core.read_namespaced_persistent_volume_claim("later", cluster.namespace)
            return claim if claim.status.phase == "Bound" else None

        claim = cluster.wait(bound, "the claim to be bound")
        assert claim.spec.volume_name == volume_name
        assert claim.status.capacity == {"storage": "2Gi"}
        assert claim.status.access_modes == ["ReadWriteOnce", "ReadWriteMany"]
        assert claim.metadata.annotations["pv.kubernetes.io/bind-completed"] == "yes"
        volume = cluster.core.read_persistent_volume(volume_name)
        assert volume.status.phase == "Bound"
        assert (volume.spec.claim_ref.name, volume.spec.claim_ref.namespace) == ("later", cluster.namespace)
        assert volume.spec.claim_ref.uid == claim.metadata.uid

        def ran() -> Any:
            pod = cluster.core.read_namespaced_pod("unbound", cluster.namespace)
            return pod if pod.status.phase in ("Succeeded", "Failed") else None

        pod = cluster.wait(ran, "the pod to run once its claim is bound")
        assert pod.status.phase == "Succeeded"
        assert next(c for c in pod.status.conditions if c.type == "PodScheduled").status == "True"
        still = cluster.scheduled("no-claim")
        assert still.status == "False"  # a missing claim keeps waiting
    finally:
        for name in ("no-claim", "unbound"):
            cluster.core.delete_namespaced_pod(name, cluster.namespace, grace_period_seconds=0)
        try:
            cluster.core.delete_persistent_volume(volume_name)
        except client.ApiException as e:
            if e.status != 404:
                raise
        shutil.rmtree(host_dir, ignore_errors=True)


def test_a_quantity_that_is_not_one_is_400(cluster: Cluster) -> None:
    pattern = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
    with pytest.raises(client.ApiException) as err:
        cluster.core.create_namespaced_pod(
            cluster.namespace, cluster.pod("bad-quantity", resources={"requests": {"cpu": "lots"}})
        )
    assert err.value.status == 400
    assert json.loads(err.value.body)["message"] == (
        f"Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '{pattern}'"
    )
