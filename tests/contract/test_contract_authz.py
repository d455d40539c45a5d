"""Authorization: an identity allowed only some verbs gets the RBAC authorizer's 403 for the others,
on plain requests and watches, and SelfSubjectAccessReviews answer the same. Both sides, through
the restricted-identity kubeconfig of the contract conftest."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from tests.contract.conftest import Cluster, restricted_kubeconfig

RULES = [
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
]


class Limited:
    """Clients acting as the restricted identity."""

    def __init__(self, cluster: Cluster) -> None:
        self.name = f"limited-{secrets.token_hex(3)}"
        kubeconfig = restricted_kubeconfig(cluster, RULES, name=self.name)
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        self.api = client.ApiClient(cfg)
        self.batch = client.BatchV1Api(self.api)
        self.core = client.CoreV1Api(self.api)
        self.authz = client.AuthorizationV1Api(self.api)
        self.user = f"system:serviceaccount:{cluster.namespace}:{self.name}"
        self.namespace = cluster.namespace

    def denied(self, what: str, verb: str, resource: str, group: str = "", *, scope: str = "") -> str:
        where = scope or f'in the namespace "{self.namespace}"'
        return (
            f'{what} is forbidden: User "{self.user}" cannot {verb} resource "{resource}" '
            f'in API group "{group}" {where}'
        )

    def review(self, **attrs: str) -> dict[str, Any]:
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": attrs}
        response = self.authz.create_self_subject_access_review(body, _preload_content=False)
        assert response.status == 201
        data: dict[str, Any] = json.loads(response.data)
        return data


@pytest.fixture
def limited(cluster: Cluster) -> Iterator[Limited]:
    who = Limited(cluster)
    try:
        yield who
    finally:
        who.api.close()


def refused(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(client.ApiException) as err:
        call(*args, **kwargs)
    assert err.value.status == 403
    status: dict[str, Any] = json.loads(err.value.body)
    assert status["kind"] == "Status" and status["reason"] == "Forbidden" and status["code"] == 403
    return status


def test_a_verb_the_identity_lacks_is_403_with_the_rbac_message(cluster: Cluster, limited: Limited) -> None:
    ns = cluster.namespace
    status = refused(limited.batch.list_namespaced_job, ns)
    assert status["message"] == limited.denied("jobs.batch", "list", "jobs", "batch")
    assert status["details"] == {"group": "batch", "kind": "jobs"}

    status = refused(limited.batch.delete_namespaced_job, "absent", ns)  # denied before it is looked up
    assert status["message"] == limited.denied('jobs.batch "absent"', "delete", "jobs", "batch")
    assert status["details"] == {"name": "absent", "group": "batch", "kind": "jobs"}

    status = refused(limited.batch.list_job_for_all_namespaces)
    assert status["message"] == limited.denied(
        "jobs.batch", "list", "jobs", "batch", scope="at the cluster scope"
    )

    status = refused(limited.core.create_namespaced_config_map, ns, {"metadata": {"name": "c"}})
    assert status["message"] == limited.denied("configmaps", "create", "configmaps")
    assert status["details"] == {"kind": "configmaps"}

    status = refused(limited.core.read_namespaced_pod_log, "absent", ns)
    assert status["message"] == limited.denied('pods "absent"', "get", "pods/log")

    status = refused(limited.batch.patch_namespaced_job_status, "absent", ns, {"status": {}})
    assert status["message"] == limited.denied('jobs.batch "absent"', "patch", "jobs/status", "batch")


def test_allowed_verbs_work(cluster: Cluster, limited: Limited) -> None:
    with pytest.raises(client.ApiException) as err:
        limited.batch.read_namespaced_job("absent", cluster.namespace)
    assert err.value.status == 404  # allowed to get: the Job is simply not there
    created = limited.batch.create_namespaced_job(
        cluster.namespace, cluster.job("by-limited", "true", suspend=True)
    )
    assert created.metadata.name == "by-limited"
    assert limited.core.list_namespaced_pod(cluster.namespace).items is not None


def test_a_watch_the_identity_lacks_is_403(cluster: Cluster, limited: Limited) -> None:
    status = refused(limited.batch.list_namespaced_job, cluster.namespace, watch=True, timeout_seconds=1)
    assert status["message"] == limited.denied("jobs.batch", "watch", "jobs", "batch")
    status = refused(limited.core.list_namespaced_pod, cluster.namespace, watch=True, timeout_seconds=1)
    assert status["message"] == limited.denied("pods", "watch", "pods")
    assert status["details"] == {"kind": "pods"}


def test_self_subject_access_reviews_agree_with_the_answers(cluster: Cluster, limited: Limited) -> None:
    ns = cluster.namespace

    def answer(**attrs: str) -> dict[str, Any]:
        data = limited.review(resourceAttributes=attrs)
        assert data["kind"] == "SelfSubjectAccessReview" and data["apiVersion"] == "authorization.k8s.io/v1"
        assert data["spec"] == {"resourceAttributes": attrs}
        status: dict[str, Any] = data["status"]
        return status

    binding = (
        f'RoleBinding "{limited.name}/{ns}" of Role "{limited.name}" to ServiceAccount "{limited.name}/{ns}"'
    )
    allowed = {"allowed": True, "reason": f"RBAC: allowed by {binding}"}
    assert answer(namespace=ns, verb="get", group="batch", resource="jobs") == allowed
    assert answer(namespace=ns, verb="list", resource="pods") == allowed
    assert answer(namespace=ns, verb="watch", group="batch", resource="jobs") == {"allowed": False}
    assert answer(namespace=ns, verb="get", resource="pods", subresource="log") == {"allowed": False}
    assert answer(verb="get", group="batch", resource="jobs") == {"allowed": False}  # cluster scope
    with pytest.raises(client.ApiException) as err:
        limited.review()
    status = json.loads(err.value.body)
    assert err.value.status == 422 and status["details"]["causes"][0]["field"] == "spec.resourceAttributes"


def test_the_admin_is_allowed(cluster: Cluster) -> None:
    attrs = {"namespace": cluster.namespace, "verb": "watch", "group": "batch", "resource": "jobs"}
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs},
    }
    response = client.AuthorizationV1Api(cluster.api).create_self_subject_access_review(
        body, _preload_content=False
    )
    assert json.loads(response.data)["status"] == {"allowed": True}
