"""Run workflows as native ``batch/v1`` Jobs (see :mod:`kjob.backends.kubernetes.backend`).

This package only talks to the cluster; the objects it creates are made by :mod:`kjob.render`.  The
official client takes over a second to import, so this package imports it only when one of the names
below is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kjob.backends.kubernetes.backend import KubernetesBackend
    from kjob.backends.kubernetes.cluster import Cluster, connect
    from kjob.backends.kubernetes.configured import kubeconfig_available
    from kjob.render.manifests import RunObject

__all__ = ["Cluster", "KubernetesBackend", "RunObject", "connect", "kubeconfig_available"]

_WHERE = {
    "KubernetesBackend": f"{__name__}.backend",
    "Cluster": f"{__name__}.cluster",
    "connect": f"{__name__}.cluster",
    "kubeconfig_available": f"{__name__}.configured",
    "RunObject": "kjob.render.manifests",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
