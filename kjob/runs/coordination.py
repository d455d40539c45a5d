"""Where a run keeps its ``synchronization`` locks and ``memoize`` caches, by backend: Leases and
ConfigMaps of the cluster for a Kubernetes run, files under ``$KJOB_HOME`` for a local run, this
process only for the others (a dry run, the simulator)."""

from __future__ import annotations

from kjob.backends.base import Backend
from kjob.backends.coordination import Locks, MemoCache, MemoryLocks, MemoryMemo
from kjob.rundir import kjob_home


def coordination_for(backend: Backend) -> tuple[Locks, MemoCache]:
    """The locks and memoize caches a run on ``backend`` shares with other runs."""
    if backend.name == "kubernetes":
        from kjob.backends.kubernetes.backend import KubernetesBackend
        from kjob.backends.kubernetes.leases import LeaseLocks
        from kjob.backends.kubernetes.memo import ConfigMapMemo

        if isinstance(backend, KubernetesBackend):
            return LeaseLocks(backend.cluster), ConfigMapMemo(backend.cluster)
    if backend.name == "local":
        from kjob.backends.locallocks import FileLocks, FileMemo

        return FileLocks(kjob_home()), FileMemo(kjob_home())
    return MemoryLocks(), MemoryMemo()
