"""Run workflows as native ``batch/v1`` Jobs (see :mod:`kjob.backends.kubernetes.backend`)."""

from kjob.backends.kubernetes.backend import KubernetesBackend
from kjob.backends.kubernetes.cluster import Cluster, connect, kubeconfig_available
from kjob.backends.kubernetes.manifests import RunObject

__all__ = ["Cluster", "KubernetesBackend", "RunObject", "connect", "kubeconfig_available"]
