"""Where a run keeps its ``synchronization`` locks and ``memoize`` caches, by backend: Leases and
ConfigMaps of the cluster for a Kubernetes run, files under ``$KJOB_HOME`` for a local run, this
process only for the others (a dry run, the simulator).  A local run reads a semaphore's limit from
``$KJOB_HOME/semaphores.yaml``, else from its ConfigMap in the configured cluster, if there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kjob.backends.base import Backend
from kjob.backends.coordination import Lock, Locks, MemoCache, MemoryLocks, MemoryMemo
from kjob.errors import KjobError
from kjob.rundir import kjob_home

if TYPE_CHECKING:
    from kjob.backends.kubernetes.cluster import Cluster


def coordination_for(backend: Backend) -> tuple[Locks, MemoCache]:
    """The locks and memoize caches a run on ``backend`` shares with other runs."""
    if backend.name == "kubernetes":
        from kjob.backends.kubernetes.backend import KubernetesBackend
        from kjob.backends.kubernetes.leases import LeaseLocks
        from kjob.backends.kubernetes.memo import ConfigMapMemo

        if isinstance(backend, KubernetesBackend):
            return LeaseLocks(backend.cluster), ConfigMapMemo(backend.cluster)
    if backend.name == "local":
        from kjob.backends.kubernetes.configured import kubeconfig_available
        from kjob.backends.locallocks import FileLocks, FileMemo

        cluster = ClusterLimits() if kubeconfig_available() else None
        return FileLocks(kjob_home(), cluster), FileMemo(kjob_home())
    return MemoryLocks(), MemoryMemo()


class ClusterLimits:
    """Semaphore limits read from the ConfigMaps of the configured cluster, for a local run: connected
    at the first semaphore whose limit ``semaphores.yaml`` does not give."""

    def __init__(self) -> None:
        self._cluster: Cluster | None = None

    def limit(self, lock: Lock) -> int:
        from kjob.backends.kubernetes.cluster import connect
        from kjob.backends.kubernetes.leases import LeaseLocks
        from kjob.backends.locallocks import LIMITS_FILE

        try:
            if self._cluster is None:
                self._cluster = connect(namespace=lock.namespace)
            return LeaseLocks(self._cluster).limit(lock)
        except KjobError as err:
            where = kjob_home() / LIMITS_FILE
            raise KjobError(f"{err.message} (or write `{lock.limit_name}: N` in {where})") from None

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
