"""What the engine needs for ``synchronization`` and ``memoize``, and what backends implement.

:class:`Locks` holds mutexes and semaphores for holders (a run, or one node of a run): within one run
and across runs that share the same place (the local machine, a cluster's namespace).  :class:`MemoCache`
keeps succeeded nodes' outputs by cache name and key.  The in-memory versions here serve runs in virtual
time and runs with nowhere shared to keep them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kjob.errors import KjobError
from kjob.spec.model import frozen_map


@dataclass(frozen=True, slots=True)
class Lock:
    """A rendered lock: a mutex ``namespace/name``, or a semaphore on the ConfigMap ``name`` key
    ``key`` (a database semaphore: ``name`` alone) in ``namespace``."""

    kind: str  # "mutex" or "semaphore"
    namespace: str
    name: str
    key: str | None = None

    @property
    def label(self) -> str:
        """How a message names it, as Argo keys its locks: ``ns/Mutex/name``, ``ns/ConfigMap/cm/key``."""
        if self.kind == "mutex":
            return f"{self.namespace}/Mutex/{self.name}"
        if self.key is None:
            return f"{self.namespace}/Database/{self.name}"
        return f"{self.namespace}/ConfigMap/{self.name}/{self.key}"

    @property
    def limit_name(self) -> str:
        """A semaphore's name where its limit is configured: ``configmap/key`` (or the database key)."""
        return self.name if self.key is None else f"{self.name}/{self.key}"


@dataclass(frozen=True, slots=True)
class Denied:
    """A lock held elsewhere: ``holders`` of ``limit`` slots taken."""

    lock: Lock
    holders: int
    limit: int

    @property
    def message(self) -> str:
        """Argo's words: the status is the free slots over the limit (``0/1``: a mutex held)."""
        return f"Waiting for {self.lock.label} lock. Lock status: {self.limit - self.holders}/{self.limit}"


class Locks(Protocol):
    """Mutexes and semaphores shared by holders.  Every call is idempotent for one holder."""

    @property
    def retry_every(self) -> float | None:
        """Seconds between tries of a lock held elsewhere (another run may free it at any time);
        ``None``: only a release in this process frees one, and the engine tries again then."""

    def acquire(self, lock: Lock, holder: str) -> Denied | None:
        """Take one slot of ``lock`` for ``holder`` (already held: ``None`` again), or say who holds
        it.  Raises :class:`~kjob.errors.KjobError` when the lock cannot be used (no limit known)."""

    def release(self, lock: Lock, holder: str) -> None:
        """Give back ``holder``'s slot of ``lock`` (not held: nothing happens)."""

    def close(self) -> None:
        """Give back everything still held (the run is over)."""


@dataclass(frozen=True, slots=True)
class MemoEntry:
    """One cache entry as Argo stores it: the node that made it, its outputs, when it was made and
    last used (seconds since the epoch)."""

    node_id: str
    parameters: Mapping[str, str] = field(default_factory=frozen_map)
    result: str | None = None
    exit_code: int | None = None
    created_at: float = 0.0
    last_hit_at: float = 0.0

    def to_argo(self) -> dict[str, Any]:
        """The JSON Argo keeps under the key: ``{nodeID, outputs, creationTimestamp, lastHitTimestamp}``."""
        outputs: dict[str, Any] = {}
        if self.parameters:
            outputs["parameters"] = [{"name": k, "value": v} for k, v in self.parameters.items()]
        if self.result is not None:
            outputs["result"] = self.result
        if self.exit_code is not None:
            outputs["exitCode"] = str(self.exit_code)
        return {
            "nodeID": self.node_id,
            "outputs": outputs,
            "creationTimestamp": rfc3339(self.created_at),
            "lastHitTimestamp": rfc3339(self.last_hit_at),
        }

    @classmethod
    def from_argo(cls, data: object) -> MemoEntry:
        """Read an entry Argo (or kjob) wrote; :class:`KjobError` if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("nodeID"), str):
            raise KjobError("malformed cache entry: not an object with a nodeID")
        outputs = data.get("outputs") or {}
        if not isinstance(outputs, dict):
            raise KjobError("malformed cache entry: outputs is not an object")
        params = {
            str(p.get("name")): str(p.get("value", ""))
            for p in outputs.get("parameters") or ()
            if isinstance(p, dict) and "name" in p
        }
        code = outputs.get("exitCode")
        return cls(
            node_id=data["nodeID"],
            parameters=frozen_map(params),
            result=outputs.get("result") if isinstance(outputs.get("result"), str) else None,
            exit_code=int(code) if isinstance(code, str) and code.lstrip("-").isdigit() else None,
            created_at=_epoch(data.get("creationTimestamp")),
            last_hit_at=_epoch(data.get("lastHitTimestamp")),
        )


class MemoCache(Protocol):
    """Caches of succeeded nodes' outputs, by cache name and key."""

    def load(self, cache: str, key: str) -> MemoEntry | None:
        """The entry (its ``lastHitTimestamp`` updated), or ``None``.  :class:`KjobError` if the cache
        cannot be read."""

    def save(self, cache: str, key: str, entry: MemoEntry) -> None:
        """Store ``entry`` under ``key`` (replacing one there).  :class:`KjobError` if it cannot."""

    def now(self) -> float:
        """Seconds since the epoch by the cache's clock: what ``maxAge`` is measured against."""


class MemoryLocks:
    """Locks of one process: enough for one run (no other run can see them).  A semaphore's limit
    comes from ``limits`` (``configmap/key`` -> N); one not there has no limit (a dry run, which
    has no ConfigMap to read, still renders every task)."""

    def __init__(self, limits: Mapping[str, int] | None = None) -> None:
        self.limits = dict(limits or {})
        self._holders: dict[Lock, dict[str, None]] = {}

    @property
    def retry_every(self) -> float | None:
        return None

    def limit(self, lock: Lock) -> int:
        if lock.kind == "mutex":
            return 1
        return self.limits.get(lock.limit_name, 1 << 62)

    def acquire(self, lock: Lock, holder: str) -> Denied | None:
        holders = self._holders.setdefault(lock, {})
        if holder in holders:
            return None
        limit = self.limit(lock)
        if len(holders) >= limit:
            return Denied(lock, len(holders), limit)
        holders[holder] = None
        return None

    def release(self, lock: Lock, holder: str) -> None:
        self._holders.get(lock, {}).pop(holder, None)

    def close(self) -> None:
        self._holders.clear()


class MemoryMemo:
    """Caches of one process, timed by ``clock`` (seconds since the epoch)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self.entries: dict[tuple[str, str], MemoEntry] = {}

    def now(self) -> float:
        return float(self._clock())

    def load(self, cache: str, key: str) -> MemoEntry | None:
        return self.entries.get((cache, key))

    def save(self, cache: str, key: str, entry: MemoEntry) -> None:
        self.entries[(cache, key)] = entry


def rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _epoch(text: object) -> float:
    if not isinstance(text, str):
        return 0.0
    import calendar  # here: only reading a cache entry needs it

    try:
        return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return 0.0
