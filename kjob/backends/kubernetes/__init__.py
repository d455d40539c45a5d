"""Run workflows as native ``batch/v1`` Jobs (see :mod:`kjob.backends.kubernetes.backend`).

The official client takes over a second to import, so this package imports it only when one of the
names below is first used: ``kjob lint`` and ``kjob run --dry-run`` use the package's pure modules
(manifests, entrypoint, workspace) without paying for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kjob.backends.kubernetes.backend import KubernetesBackend
    from kjob.backends.kubernetes.cluster import Cluster, connect
    from kjob.backends.kubernetes.configured import kubeconfig_available
    from kjob.backends.kubernetes.manifests import RunObject

__all__ = ["Cluster", "KubernetesBackend", "RunObject", "connect", "kubeconfig_available"]

_WHERE = {
    "KubernetesBackend": "backend",
    "Cluster": "cluster",
    "connect": "cluster",
    "kubeconfig_available": "configured",
    "RunObject": "manifests",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
