"""The emulated cluster's nodes: what each can hold, and its ``Node`` object as a kubelet registers it.

By default there are two nodes of 8 cpu, 32Gi of memory and 110 pods each, like the real test
cluster of this project (``realk8s``). A :class:`Node` may also carry extended resources such as
``nvidia.com/gpu`` and labels for ``nodeSelector``. The ``Node`` objects are served by the API
(``GET /api/v1/nodes``) and are what the scheduler reads, so a test may also create, relabel or
delete nodes through the API; the emulated kubelet runs the pods bound to any node that exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kjob.testing.emulator.quantity import parse_quantity
from kjob.testing.emulator.util import Obj


@dataclass(frozen=True)
class Node:
    """One node: its name, allocatable resources and extra labels.

    ``extended`` maps extended resource names to counts, e.g. ``{"nvidia.com/gpu": 4}``.
    """

    name: str
    cpu: str | int = "8"
    memory: str = "32Gi"
    pods: int = 110
    ephemeral_storage: str = "100Gi"
    extended: Mapping[str, str | int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for value in (self.cpu, self.memory, self.ephemeral_storage, *self.extended.values()):
            parse_quantity(value)  # a ValueError now rather than a node nothing fits on

    def allocatable(self) -> dict[str, str]:
        out = {
            "cpu": str(self.cpu),
            "ephemeral-storage": self.ephemeral_storage,
            "memory": self.memory,
            "pods": str(self.pods),
        }
        out.update({k: str(v) for k, v in self.extended.items()})
        return dict(sorted(out.items()))


def default_nodes() -> tuple[Node, ...]:
    """Two nodes of 8 cpu / 32Gi / 110 pods, as the real test cluster has by default."""
    return (Node("emulator-node-0"), Node("emulator-node-1"))


def node_object(node: Node, index: int, timestamp: str) -> Obj:
    """The ``Node`` a kubelet registers for ``node`` (the ``index``-th node: its address)."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        **node.labels,
    }

    def condition(type_: str, status: str, reason: str, message: str) -> Obj:
        return {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": timestamp,
            "lastTransitionTime": timestamp,
        }

    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": host_ip(index)},
                {"type": "Hostname", "address": node.name},
            ],
            "allocatable": node.allocatable(),
            "capacity": node.allocatable(),
            "conditions": [
                condition(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                ),
                condition(
                    "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
                ),
                condition(
                    "PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"
                ),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.0",
                "kernelVersion": "6.0.0",
                "kubeProxyVersion": "",
                "kubeletVersion": "",
                "operatingSystem": "linux",
                "osImage": "kjob emulator",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
        },
    }


def host_ip(index: int) -> str:
    return f"172.18.0.{index + 2}"


def internal_ip(node_obj: Obj) -> str:
    for address in (node_obj.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return "172.18.0.2"
