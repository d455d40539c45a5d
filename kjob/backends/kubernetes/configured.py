"""Whether a cluster is configured here, answered without loading the Kubernetes client (``kjob run``
asks it before every local run)."""

from __future__ import annotations

import os


def kubeconfig_available(kubeconfig: str | None = None) -> bool:
    """Whether a cluster is configured here: an explicit file, $KUBECONFIG, ~/.kube/config, or the
    in-cluster service account."""
    if kubeconfig:
        return True
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    paths = [*os.environ.get("KUBECONFIG", "").split(os.pathsep), os.path.expanduser("~/.kube/config")]
    return any(p and os.path.isfile(p) for p in paths)
