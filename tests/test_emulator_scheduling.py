"""The emulator's nodes, scheduler and volume binding, beyond what the contract tests can set up on
the shared real cluster (its nodes cannot be changed there): node shapes, extended resources, pod
counts, spreading, init containers, volumes chosen and reclaimed."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from kjob.testing.emulator import Clients, Emulator, Node, PodScript, scripted
from kjob.testing.emulator.quantity import parse_quantity, scheduler_units
from kjob.testing.emulator.scheduler import fit_error

NS = "default"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Fraction(1)),
        ("250m", Fraction(1, 4)),
        ("1.5", Fraction(3, 2)),
        ("32Gi", Fraction(32 * 2**30)),
        ("1G", Fraction(10**9)),
        ("1e3", Fraction(1000)),
        ("100n", Fraction(1, 10**7)),
        (".5", Fraction(1, 2)),
        (2, Fraction(2)),
    ],
)
def test_quantities(text: Any, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["lots", "1Gib", "", "1.2.3", "--1"])
def test_bad_quantities(bad: str) -> None:
    with pytest.raises(ValueError, match="quantities must match the regular expression"):
        parse_quantity(bad)


def test_scheduler_units_round_up_like_milli_value_and_value() -> None:
    assert scheduler_units("cpu", "1n") == 1
    assert scheduler_units("cpu", "1.5") == 1500
    assert scheduler_units("memory", "0.5") == 1
    assert scheduler_units("nvidia.com/gpu", "2") == 2


def test_fit_error_sorts_the_reason_histogram_as_the_scheduler_does() -> None:
    by_node = {"a": ["Insufficient cpu"], "b": ["node(s) didn't match Pod's node affinity/selector"]}
    assert fit_error(2, None, by_node) == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling.."
    )


def pod(name: str, *, requests: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox", "command": ["true"]}
    if requests:
        container["resources"] = {"requests": requests}
    return {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def scheduled(emu: Emulator, k: Clients, name: str) -> Any:
    def condition() -> Any:
        p = k.core.read_namespaced_pod(name, NS)
        return next((c for c in p.status.conditions or [] if c.type == "PodScheduled"), None)

    return emu.wait_for(condition)


def node_of(k: Clients, name: str) -> str | None:
    node: str | None = k.core.read_namespaced_pod(name, NS).spec.node_name
    return node


def test_nodes_are_api_objects_with_the_given_shape() -> None:
    nodes = [Node("small", cpu="500m", memory="1Gi", pods=3, labels={"pool": "a"})]
    with Emulator(nodes=nodes, tick=0.005) as emu:
        (node,) = emu.clients().core.list_node().items
        assert node.metadata.name == "small" and node.metadata.labels["pool"] == "a"
        assert node.status.allocatable == {
            "cpu": "500m",
            "ephemeral-storage": "100Gi",
            "memory": "1Gi",
            "pods": "3",
        }


def test_extended_resources_and_node_selectors_pick_the_node() -> None:
    nodes = [Node("cpu-0"), Node("gpu-0", extended={"nvidia.com/gpu": 2}, labels={"accelerator": "a100"})]
    with Emulator(scripted(default=PodScript(duration=60)), nodes=nodes, tick=0.005) as emu:
        k = emu.clients()
        for name in ("g1", "g2", "g3"):
            k.core.create_namespaced_pod(NS, pod(name, requests={"nvidia.com/gpu": "1"}))
        k.core.create_namespaced_pod(NS, pod("labelled", nodeSelector={"accelerator": "a100"}))
        assert scheduled(emu, k, "g3").message == (
            "0/2 nodes are available: 2 Insufficient nvidia.com/gpu. "
            "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
        )
        assert node_of(k, "g1") == node_of(k, "g2") == "gpu-0" and node_of(k, "g3") is None
        assert scheduled(emu, k, "labelled").status == "True" and node_of(k, "labelled") == "gpu-0"


def test_pod_count_limits_and_freeing_on_completion() -> None:
    with Emulator(scripted(default=PodScript(duration=0.3)), nodes=[Node("n", pods=2)], tick=0.005) as emu:
        k = emu.clients()
        for i in range(3):
            k.core.create_namespaced_pod(NS, pod(f"p{i}"))
        assert scheduled(emu, k, "p2").message == (
            "0/1 nodes are available: 1 Too many pods. "
            "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
        )
        emu.wait_for(lambda: k.core.read_namespaced_pod("p2", NS).status.phase == "Succeeded")
        assert emu.errors == []


def test_pods_without_requests_spread_over_the_nodes() -> None:
    with Emulator(scripted(default=PodScript(duration=60)), tick=0.005) as emu:
        k = emu.clients()
        for i in range(4):
            k.core.create_namespaced_pod(NS, pod(f"p{i}"))
        emu.wait_for(lambda: all(node_of(k, f"p{i}") for i in range(4)))
        placed = sorted(str(node_of(k, f"p{i}")) for i in range(4))
        assert placed == ["emulator-node-0", "emulator-node-0", "emulator-node-1", "emulator-node-1"]


def test_the_largest_init_container_counts_if_it_exceeds_the_containers() -> None:
    with Emulator(tick=0.005) as emu:
        k = emu.clients()
        init = [
            {"name": "i", "image": "busybox", "command": ["true"], "resources": {"requests": {"cpu": "9"}}}
        ]
        k.core.create_namespaced_pod(NS, pod("init", requests={"cpu": "1"}, initContainers=init))
        assert scheduled(emu, k, "init").message.startswith("0/2 nodes are available: 2 Insufficient cpu.")


def test_no_nodes_at_all() -> None:
    with Emulator(nodes=[], tick=0.005) as emu:
        k = emu.clients()
        k.core.create_namespaced_pod(NS, pod("lonely"))
        assert scheduled(emu, k, "lonely").message == "no nodes available to schedule pods"
        emu.add_node(Node("late"))
        emu.wait_for(lambda: node_of(k, "lonely") == "late")


def test_a_job_wider_than_the_cluster_runs_in_waves() -> None:
    with Emulator(scripted(default=PodScript(duration=0.2)), tick=0.005) as emu:
        k = emu.clients()
        template = pod("x", requests={"cpu": "4"})["spec"]
        k.batch.create_namespaced_job(
            NS,
            {
                "metadata": {"name": "wide"},
                "spec": {"completions": 6, "parallelism": 6, "template": {"spec": template}},
            },
        )

        def running() -> int:
            pods = k.core.list_namespaced_pod(NS, label_selector="job-name=wide").items
            return sum(1 for p in pods if p.spec.node_name and p.status.phase == "Running")

        peak = 0

        def done() -> bool:
            nonlocal peak
            peak = max(peak, running())
            return bool(k.batch.read_namespaced_job("wide", NS).status.succeeded == 6)

        emu.wait_for(done, timeout=20)
        assert 1 <= peak <= 4  # two nodes of 8 cpu hold four 4-cpu pods at a time


def claim(name: str, storage: str = "1Gi", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": storage}},
            "storageClassName": "",
            **spec,
        },
    }


def volume(name: str, storage: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"size": storage}},
        "spec": {
            "capacity": {"storage": storage},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": f"/tmp/{name}"},
            **spec,
        },
    }


def phase_of_claim(k: Clients, name: str) -> str:
    return str(k.core.read_namespaced_persistent_volume_claim(name, NS).status.phase)


def test_claims_bind_to_the_smallest_fitting_volume_and_volumes_are_reclaimed() -> None:
    with Emulator(tick=0.005, default_storage_class=None) as emu:
        k = emu.clients()
        for name, size in (("v-small", "1Gi"), ("v-medium", "5Gi"), ("v-large", "10Gi")):
            k.core.create_persistent_volume(volume(name, size, persistentVolumeReclaimPolicy="Delete"))
        k.core.create_namespaced_persistent_volume_claim(NS, claim("c-fits", "2Gi"))
        k.core.create_namespaced_persistent_volume_claim(
            NS, claim("c-selects", "1Gi", selector={"matchLabels": {"size": "10Gi"}})
        )
        k.core.create_namespaced_persistent_volume_claim(NS, claim("c-too-big", "20Gi"))
        emu.wait_for(lambda: phase_of_claim(k, "c-fits") == phase_of_claim(k, "c-selects") == "Bound")
        assert k.core.read_namespaced_persistent_volume_claim("c-fits", NS).spec.volume_name == "v-medium"
        assert k.core.read_namespaced_persistent_volume_claim("c-selects", NS).spec.volume_name == "v-large"
        assert phase_of_claim(k, "c-too-big") == "Pending"
        assert k.core.read_persistent_volume("v-small").status.phase == "Available"
        k.core.delete_namespaced_persistent_volume_claim("c-fits", NS)

        def gone() -> bool:
            return "v-medium" not in {v.metadata.name for v in k.core.list_persistent_volume().items}

        emu.wait_for(gone)  # persistentVolumeReclaimPolicy: Delete


def test_a_claim_without_a_class_gets_the_default_class_and_a_new_volume() -> None:
    with Emulator(tick=0.005) as emu:
        k = emu.clients()
        body = claim("dyn")
        del body["spec"]["storageClassName"]
        k.core.create_namespaced_persistent_volume_claim(NS, body)
        emu.wait_for(lambda: phase_of_claim(k, "dyn") == "Bound")
        c = k.core.read_namespaced_persistent_volume_claim("dyn", NS)
        assert c.spec.storage_class_name == "standard"
        v = k.core.read_persistent_volume(c.spec.volume_name)
        assert v.metadata.name == f"pvc-{c.metadata.uid}" and v.spec.claim_ref.name == "dyn"
        k.core.create_namespaced_persistent_volume_claim(NS, claim("static-only"))
        assert phase_of_claim(k, "static-only") == "Pending"  # "" means no dynamic provisioning
