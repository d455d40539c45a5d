"""How ``valueFrom.configMapKeyRef`` parameters are read on a backend: from the run's namespace on
Kubernetes; not at all on the local backend (a run there names no cluster), which the engine reports."""

from __future__ import annotations

from collections.abc import Callable

from kjob.backends.base import Backend
from kjob.errors import KjobError


def config_map_reader(backend: Backend) -> Callable[[str, str], str | None] | None:
    """Read a ConfigMap's key in the run's namespace (None when the ConfigMap or key is not there)."""
    if backend.name != "kubernetes":
        return None
    from kubernetes import client

    from kjob.backends.kubernetes.backend import KubernetesBackend
    from kjob.backends.kubernetes.cluster import describe_error

    assert isinstance(backend, KubernetesBackend)
    cluster = backend.cluster

    def read(name: str, key: str) -> str | None:
        try:
            held = cluster.core.read_namespaced_config_map(name, cluster.namespace)
        except client.ApiException as err:
            if err.status == 404:
                return None
            raise KjobError(f"could not read ConfigMap '{name}': {describe_error(err)}") from None
        data = held.data or {}
        return str(data[key]) if key in data else None

    return read
