"""The Lease protocol kjob's cross-run locks rely on, on the emulator and on a real cluster: one holder
per Lease slot, a stale write refused with 409, a semaphore's limit read from its ConfigMap, a dead
holder's Lease taken over once it expires, and the memoize cache kept in a labelled ConfigMap."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from kjob.backends.coordination import Lock, MemoEntry
from kjob.backends.kubernetes.cluster import Cluster as KjobCluster
from kjob.backends.kubernetes.leases import LeaseLocks, lease_name
from kjob.backends.kubernetes.memo import CACHE_LABEL, ConfigMapMemo
from kjob.errors import KjobError
from tests.contract.conftest import Cluster


def kjob_cluster(cluster: Cluster) -> KjobCluster:
    return KjobCluster(cluster.api, cluster.namespace, cluster.batch, cluster.core, (1, 28), cluster.kind)


def test_a_mutex_lease_has_one_holder_at_a_time(cluster: Cluster) -> None:
    one, other = LeaseLocks(kjob_cluster(cluster)), LeaseLocks(kjob_cluster(cluster))
    mutex = Lock("mutex", cluster.namespace, "shared")
    try:
        assert one.acquire(mutex, "run-a") is None
        assert one.acquire(mutex, "run-a") is None  # held already: the same answer
        denied = other.acquire(mutex, "run-b")
        assert denied is not None
        assert denied.message == f"Waiting for {cluster.namespace}/Mutex/shared lock. Lock status: 0/1"
        one.release(mutex, "run-a")
        assert other.acquire(mutex, "run-b") is None
        lease = client.CoordinationV1Api(cluster.api).read_namespaced_lease(
            lease_name(mutex, None), cluster.namespace
        )
        assert lease.spec.holder_identity == "run-b"
    finally:
        one.close()
        other.close()


def test_a_write_with_a_stale_resource_version_is_refused(cluster: Cluster) -> None:
    api = client.CoordinationV1Api(cluster.api)
    body = {"metadata": {"name": "stale"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 10}}
    created = api.create_namespaced_lease(cluster.namespace, body)
    fresh = {**body, "metadata": {"name": "stale", "resourceVersion": created.metadata.resource_version}}
    api.replace_namespaced_lease("stale", cluster.namespace, {**fresh, "spec": {"holderIdentity": "b"}})
    with pytest.raises(client.ApiException) as caught:
        api.replace_namespaced_lease("stale", cluster.namespace, {**fresh, "spec": {"holderIdentity": "c"}})
    assert caught.value.status == 409


def test_a_semaphore_has_as_many_holders_as_its_config_map_says(cluster: Cluster) -> None:
    cluster.core.create_namespaced_config_map(
        cluster.namespace, {"metadata": {"name": "limits"}, "data": {"jobs": "2"}}
    )
    locks = LeaseLocks(kjob_cluster(cluster))
    semaphore = Lock("semaphore", cluster.namespace, "limits", "jobs")
    try:
        assert locks.acquire(semaphore, "a") is None
        assert locks.acquire(semaphore, "b") is None
        denied = locks.acquire(semaphore, "c")
        assert denied is not None and (denied.holders, denied.limit) == (2, 2)
        locks.release(semaphore, "a")
        assert locks.acquire(semaphore, "c") is None
        with pytest.raises(KjobError, match="does not exist"):
            locks.acquire(Lock("semaphore", cluster.namespace, "missing", "jobs"), "d")
    finally:
        locks.close()


def test_the_lease_of_a_holder_that_stopped_renewing_is_taken_over_once_it_expires(cluster: Cluster) -> None:
    dead = LeaseLocks(kjob_cluster(cluster), lease_seconds=1)
    mutex = Lock("mutex", cluster.namespace, "orphan")
    assert dead.acquire(mutex, "crashed-run") is None
    dead._stop.set()  # the kjob holding it dies: nobody renews, nobody releases
    alive = LeaseLocks(kjob_cluster(cluster))
    try:
        deadline = time.monotonic() + 30
        while alive.acquire(mutex, "next-run") is not None:
            assert time.monotonic() < deadline, "the expired Lease was never taken over"
            time.sleep(0.5)
    finally:
        alive.close()


def test_the_memoize_cache_is_a_labelled_config_map_of_argo_entries(cluster: Cluster) -> None:
    memo = ConfigMapMemo(kjob_cluster(cluster))
    assert memo.load("memo-cache", "k1") is None
    memo.save("memo-cache", "k1", MemoEntry("node-1", {"out": "42"}, "printed", 0, 1000.0, 1000.0))
    entry = memo.load("memo-cache", "k1")
    assert entry is not None and (entry.node_id, dict(entry.parameters), entry.result) == (
        "node-1",
        {"out": "42"},
        "printed",
    )
    stored = cluster.core.read_namespaced_config_map("memo-cache", cluster.namespace)
    assert stored.metadata.labels[CACHE_LABEL] == "Cache"
    cluster.core.create_namespaced_config_map(
        cluster.namespace, {"metadata": {"name": "not-a-cache"}, "data": {"k1": "{}"}}
    )
    with pytest.raises(KjobError, match="refusing to use it"):
        memo.load("not-a-cache", "k1")


def test_the_permissions_table_grants_what_the_lease_locks_use_and_no_less(cluster: Cluster) -> None:
    """An identity allowed exactly the table's Lease entries takes and gives back locks; one
    without them is refused with what to grant."""
    from kjob.errors import AccessError
    from kjob.render.permissions import Need, needed, role_rules
    from tests import realk8s
    from tests.contract.conftest import restricted_kubeconfig

    rules = [r for r in role_rules({Need.SYNCHRONIZATION}) if r["resources"] == ["leases"]]
    assert rules == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "get", "update"]}
    ]
    assert {p.resource for p in needed({Need.SYNCHRONIZATION})} >= {"leases"}
    mutex = Lock("mutex", cluster.namespace, "granted")
    for allowed, expect_refusal in (
        (rules, False),
        ([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}], True),
    ):
        api = realk8s.connect(restricted_kubeconfig(cluster, allowed))
        try:
            locks = LeaseLocks(
                KjobCluster(api, cluster.namespace, cluster.batch, cluster.core, (1, 28), cluster.kind)
            )
            if expect_refusal:
                with pytest.raises(AccessError, match=r"leases\.coordination\.k8s\.io"):
                    locks.acquire(mutex, "someone")
            else:
                assert locks.acquire(mutex, "someone") is None
                locks.close()
        finally:
            api.close()
