"""``synchronization`` across runs through the cluster: ``coordination.k8s.io/v1`` Leases.

A mutex is one Lease; a semaphore of limit N (read from its ConfigMap key, as Argo reads it) is N Lease
*slots* ``...-0`` .. ``...-(N-1)``, of which a holder takes the first free one.  A Lease is free when it
has no ``holderIdentity`` or its holder stopped renewing it (``renewTime + leaseDurationSeconds`` has
passed: the kjob that held it died).  Every change is a read then a write carrying the read's
``resourceVersion``: of two kjobs writing one Lease, the server takes one and answers the other 409, so
a slot never has two holders.  A thread renews the held Leases every third of their duration;
releasing clears the holder.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Any

import urllib3

from kjob.backends.coordination import Denied, Lock
from kjob.backends.kubernetes.cluster import Cluster
from kjob.backends.locallocks import configured_limit
from kjob.errors import AccessError, ClusterError, KjobError
from kjob.render.names import LABEL_ROLE
from kjob.rundir import kjob_home
from kubernetes import client

LEASE_SECONDS = 15  # a holder that stops renewing loses its Lease this long after its last renewal
RETRY_EVERY = 1.0  # seconds between tries of a Lease another run holds
_CONFLICT_TRIES = 5
_NOT_IN_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Held:
    namespace: str
    lease: str


class LeaseLocks:
    """Mutexes and semaphores kept in Leases of the cluster ``cluster`` talks to."""

    def __init__(self, cluster: Cluster, *, lease_seconds: int = LEASE_SECONDS) -> None:
        self.cluster = cluster
        self.api: Any = client.CoordinationV1Api(cluster.api)  # bodies are plain dicts
        self.lease_seconds = lease_seconds
        self._held: dict[tuple[Lock, str], _Held] = {}
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def retry_every(self) -> float | None:
        return RETRY_EVERY

    # ---------------------------------------------------------------------------------- Locks
    def acquire(self, lock: Lock, holder: str) -> Denied | None:
        with self._mutex:
            if (lock, holder) in self._held:
                return None
        limit = 1 if lock.kind == "mutex" else self.limit(lock)
        taken = 0
        for slot in range(limit):
            name = lease_name(lock, slot if lock.kind == "semaphore" else None)
            if self._take(lock.namespace, name, holder):
                with self._mutex:
                    self._held[(lock, holder)] = _Held(lock.namespace, name)
                self._start_renewing()
                return None
            taken += 1
        return Denied(lock, taken, limit)

    def release(self, lock: Lock, holder: str) -> None:
        with self._mutex:
            held = self._held.pop((lock, holder), None)
        if held is not None:
            self._give_back(held, holder)

    def close(self) -> None:
        self._stop.set()
        with self._mutex:
            held, self._held = dict(self._held), {}
        for (_, holder), lease in held.items():
            self._give_back(lease, holder)

    def limit(self, lock: Lock) -> int:
        """A semaphore's limit: its ConfigMap key, read at each try as Argo reads it (a database
        semaphore's: from ``$KJOB_HOME/semaphores.yaml``, as on the local backend)."""
        if lock.key is None:  # a database semaphore: kjob has no database, the limit is configured here
            return configured_limit(kjob_home(), lock, "for a database semaphore")
        try:
            config_map = client.CoreV1Api(self.cluster.api).read_namespaced_config_map(
                lock.name, lock.namespace
            )
        except client.ApiException as err:
            if err.status == 404:
                raise KjobError(
                    f"semaphore ConfigMap {lock.namespace}/{lock.name} does not exist",
                    hint=f"create it with the limit under key {lock.key}",
                ) from None
            raise _cluster_error(err, f"reading ConfigMap {lock.namespace}/{lock.name}") from None
        text = (config_map.data or {}).get(lock.key)
        if text is None or not text.strip().isdigit():
            raise KjobError(
                f"semaphore ConfigMap {lock.namespace}/{lock.name} has no whole number under key {lock.key}"
            )
        return int(text)

    # --------------------------------------------------------------------------------- Leases
    def _take(self, namespace: str, name: str, holder: str) -> bool:
        """Whether ``holder`` now holds the Lease (created if need be): a 409 means another writer
        came first, so the Lease is read again and judged again."""
        for _ in range(_CONFLICT_TRIES):
            try:
                lease = self.api.read_namespaced_lease(name, namespace)
            except client.ApiException as err:
                if err.status != 404:
                    raise _cluster_error(err, f"reading Lease {namespace}/{name}") from None
                if self._create(namespace, name, holder):
                    return True
                continue
            spec = lease.spec
            if spec.holder_identity not in (None, "", holder) and not _expired(spec):
                return False
            body = self._body(name, holder, lease)
            try:
                self.api.replace_namespaced_lease(name, namespace, body)
                return True
            except client.ApiException as err:
                if err.status != 409:
                    raise _cluster_error(err, f"taking Lease {namespace}/{name}") from None
        return False

    def _create(self, namespace: str, name: str, holder: str) -> bool:
        try:
            self.api.create_namespaced_lease(namespace, self._body(name, holder, None))
            return True
        except client.ApiException as err:
            if err.status != 409:
                raise _cluster_error(err, f"creating Lease {namespace}/{name}") from None
            return False

    def _body(self, name: str, holder: str | None, lease: Any) -> dict[str, Any]:
        now = _micro_time()
        metadata: dict[str, Any] = {"name": name, "labels": {LABEL_ROLE: "lock"}}
        spec: dict[str, Any] = {"holderIdentity": holder, "leaseDurationSeconds": self.lease_seconds}
        if lease is not None:
            metadata["resourceVersion"] = lease.metadata.resource_version
            old = lease.spec
            same = holder is not None and old.holder_identity == holder
            transitions = old.lease_transitions or 0
            spec["leaseTransitions"] = transitions if same or holder is None else transitions + 1
            if same and old.acquire_time is not None:
                spec["acquireTime"] = _micro_time(old.acquire_time)
        if holder is not None:
            spec.setdefault("acquireTime", now)
            spec["renewTime"] = now
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}

    def _give_back(self, held: _Held, holder: str) -> None:
        """Clear ``holder`` from its Lease (not its own any more: nothing to do)."""
        for _ in range(_CONFLICT_TRIES):
            try:
                lease = self.api.read_namespaced_lease(held.lease, held.namespace)
                if lease.spec.holder_identity != holder:
                    return
                self.api.replace_namespaced_lease(
                    held.lease, held.namespace, self._body(held.lease, None, lease)
                )
                return
            except client.ApiException as err:
                if err.status == 404:
                    return
                if err.status != 409:
                    return  # it expires on its own
            except (urllib3.exceptions.HTTPError, OSError):
                return

    def _start_renewing(self) -> None:
        with self._mutex:
            if self._renewer is not None:
                return
            self._renewer = threading.Thread(target=self._renew_loop, name="kjob-leases", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._mutex:
                held = list(self._held.items())
            for (_, holder), lease in held:
                # a failed renewal is tried again at the next round, well before the Lease expires
                with contextlib.suppress(KjobError, urllib3.exceptions.HTTPError, OSError):
                    self._take(lease.namespace, lease.lease, holder)


def lease_name(lock: Lock, slot: int | None) -> str:
    """The Lease of a mutex (``slot`` None) or of a semaphore's slot: readable, and unique by a hash
    of the lock's full name."""
    digest = hashlib.sha256(lock.label.encode()).hexdigest()[:10]
    slug = _NOT_IN_NAME.sub("-", lock.limit_name.lower()).strip("-")[:40] or "lock"
    kind = "mutex" if lock.kind == "mutex" else "semaphore"
    tail = "" if slot is None else f"-{slot}"
    return f"kjob-{kind}-{slug}-{digest}{tail}"


def _expired(spec: Any) -> bool:
    renewed = spec.renew_time or spec.acquire_time
    if renewed is None:
        return True
    duration = spec.lease_duration_seconds or LEASE_SECONDS
    return bool(renewed + datetime.timedelta(seconds=duration) < datetime.datetime.now(datetime.UTC))


def _micro_time(moment: datetime.datetime | None = None) -> str:
    """A ``MicroTime`` as the API server writes it (always six fraction digits, UTC)."""
    when = (moment or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cluster_error(err: client.ApiException, what: str) -> KjobError:
    if err.status in (401, 403):  # one line in a node's message: what to grant, and where
        return AccessError(
            f"{what}: refused ({err.status}); kjob needs get, create and update on "
            "leases.coordination.k8s.io (and get on configmaps) for synchronization"
        )
    return ClusterError(f"{what}: {err.status} {err.reason}")
