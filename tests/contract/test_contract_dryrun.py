"""Server-side dry run (``?dryRun=All``): validated, defaulted and answered, never stored; and the
feature probe built on it (a gated field read back from a dry-run create). Both sides."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

from tests.contract.conftest import Cluster

MAX_INT32 = 2**31 - 1


def raw(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, JSON body)`` of an official-client call, error or not."""
    try:
        response = call(*args, _preload_content=False, **kwargs)
    except client.ApiException as e:
        return int(e.status), json.loads(e.body)
    return int(response.status), json.loads(response.data)


def indexed_job(cluster: Cluster, **meta: str) -> dict[str, Any]:
    body = cluster.job("unused", "true", completionMode="Indexed", completions=3, backoffLimitPerIndex=1)
    del body["spec"]["backoffLimit"]
    body["metadata"] = dict(meta)
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    return body


def test_dry_run_create_is_defaulted_and_returned_but_not_stored(cluster: Cluster) -> None:
    code, job = raw(
        cluster.batch.create_namespaced_job,
        cluster.namespace,
        indexed_job(cluster, generateName="dry-"),
        dry_run="All",
    )
    assert code == 201
    meta, spec = job["metadata"], job["spec"]
    name = meta["name"]
    assert name.startswith("dry-") and len(name) == len("dry-") + 5
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert "resourceVersion" not in meta  # nothing was stored
    assert spec["backoffLimitPerIndex"] == 1 and spec["backoffLimit"] == MAX_INT32
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": meta["uid"]}}
    assert spec["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == name
    container = spec["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "1"}}  # templates keep what was written
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert job["status"] == {}
    assert (
        cluster.batch.list_namespaced_job(cluster.namespace, field_selector=f"metadata.name={name}").items
        == []
    )

    code, pod = raw(
        cluster.core.create_namespaced_pod, cluster.namespace, cluster.pod("dry-pod"), dry_run="All"
    )
    assert code == 201 and pod["status"]["phase"] == "Pending"
    code, _ = raw(cluster.core.read_namespaced_pod, "dry-pod", cluster.namespace)
    assert code == 404


def test_dry_run_create_is_validated_like_a_create(cluster: Cluster) -> None:
    bad = cluster.job("dry-bad", "true", restart_policy="Always")
    code, status = raw(cluster.batch.create_namespaced_job, cluster.namespace, bad, dry_run="All")
    assert code == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.template.spec.restartPolicy"

    cluster.create_job(cluster.job("dry-dup", "true", suspend=True))
    code, status = raw(
        cluster.batch.create_namespaced_job, cluster.namespace, cluster.job("dry-dup", "true"), dry_run="All"
    )
    assert code == 409 and status["message"] == 'jobs.batch "dry-dup" already exists'

    code, status = raw(
        cluster.batch.create_namespaced_job, "kjob-no-such-namespace", cluster.job("x", "true"), dry_run="All"
    )
    assert code == 404 and status["details"] == {"name": "kjob-no-such-namespace", "kind": "namespaces"}


def test_an_unknown_dry_run_value_is_422(cluster: Cluster) -> None:
    code, status = raw(
        cluster.batch.create_namespaced_job,
        cluster.namespace,
        cluster.job("dry-bogus", "true"),
        dry_run="Bogus",
    )
    detail = 'Unsupported value: []string{"Bogus"}: supported values: "All"'
    assert code == 422
    assert status["message"] == f'CreateOptions.meta.k8s.io "" is invalid: dryRun: {detail}'
    assert status["details"] == {
        "group": "meta.k8s.io",
        "kind": "CreateOptions",
        "causes": [{"reason": "FieldValueNotSupported", "message": detail, "field": "dryRun"}],
    }


def test_a_gated_field_reads_back_from_a_dry_run_create_when_the_gate_is_on(cluster: Cluster) -> None:
    """How a client can tell whether ``JobBackoffLimitPerIndex`` is on: a server with the gate off
    drops the field silently (see tests/test_emulator_features.py for that side)."""
    emu = cluster.emulator
    if emu is not None:
        assert "JobBackoffLimitPerIndex" in emu.registry.gates  # the default of the emulated version
    code, job = raw(
        cluster.batch.create_namespaced_job,
        cluster.namespace,
        indexed_job(cluster, generateName="probe-"),
        dry_run="All",
    )
    assert code == 201 and job["spec"].get("backoffLimitPerIndex") == 1
