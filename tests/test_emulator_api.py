"""Emulator-only checks of apiserver behaviour the contract suite does not pin down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch

from kjob.testing.emulator import Clients, Emulator, PodScript, scripted

NS = "default"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(scripted(default=PodScript(duration=0.05)), tick=0.01, bookmark_interval=0.1) as e:
        yield e


@pytest.fixture
def k(emu: Emulator) -> Iterator[Clients]:
    c = emu.clients()
    yield c
    c.close()


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
        },
    }


def status_of(e: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(e.body)
    return body


def raw(emu: Emulator, method: str, path: str, body: Any = None, **headers: str) -> urllib3.BaseHTTPResponse:
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json", **headers}
    return urllib3.request(method, emu.url + path, body=data, headers=hdrs, retries=False, timeout=10)


# ---------------------------------------------------------------------------- decoding
def test_unknown_field_is_rejected_in_strict_mode(emu: Emulator) -> None:
    # (the v37 client refuses unknown fields itself, so this goes over plain HTTP)
    body = job("strict")
    body["spec"]["bogus"] = 1
    path = f"/apis/batch/v1/namespaces/{NS}/jobs"
    resp = raw(emu, "POST", path, body)
    assert resp.status == 400
    assert resp.json()["message"] == (
        'Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.bogus"'
    )
    ok = raw(emu, "POST", path + "?fieldValidation=Ignore", body)
    assert ok.status == 201 and "bogus" not in ok.json()["spec"]


def test_warn_mode_drops_unknown_fields_with_a_warning() -> None:
    with Emulator(strict_fields=False) as emu:
        body = job("warned")
        body["spec"]["template"]["spec"]["containers"][0]["bogus"] = True
        resp = raw(emu, "POST", f"/apis/batch/v1/namespaces/{NS}/jobs", body)
        assert resp.status == 201
        assert resp.headers["Warning"] == '299 - "unknown field \\"spec.template.spec.containers[0].bogus\\""'
        assert "bogus" not in json.dumps(resp.json())


def test_wrong_type_is_a_400(emu: Emulator) -> None:
    body = job("typed", backoffLimit="six")
    resp = raw(emu, "POST", f"/apis/batch/v1/namespaces/{NS}/jobs", body)
    assert resp.status == 400
    assert (
        "cannot unmarshal string into Go struct field Job.spec.backoffLimit of type int32"
        in resp.json()["message"]
    )


def test_long_job_name_fails_on_the_job_name_label(k: Clients) -> None:
    name = "j" * 64
    with pytest.raises(client.ApiException) as err:
        k.batch.create_namespaced_job(NS, job(name))
    causes = status_of(err.value)["details"]["causes"]
    assert {
        "reason": "FieldValueInvalid",
        "message": f'Invalid value: "{name}": must be no more than 63 characters',
        "field": "spec.template.metadata.labels",
    } in causes


def test_semantic_rules_of_the_job_api(k: Clients) -> None:
    cases = {
        "spec.backoffLimitPerIndex": job("a", backoffLimitPerIndex=1),
        "spec.template.spec.restartPolicy": {
            **job(
                "b",
                podFailurePolicy={
                    "rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}}]
                },
            ),
        },
        "spec.parallelism": job("c", parallelism=-1),
        "metadata.labels": {**job("d"), "metadata": {"name": "d", "labels": {"ok": "not ok!"}}},
    }
    cases["spec.template.spec.restartPolicy"]["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    for fld, body in cases.items():
        with pytest.raises(client.ApiException) as err:
            k.batch.create_namespaced_job(NS, body)
        assert err.value.status == 422, fld
        assert fld in [c["field"] for c in status_of(err.value)["details"]["causes"]], status_of(err.value)


def test_dry_run_does_not_store(k: Clients) -> None:
    out = k.batch.create_namespaced_job(NS, job("dry"), dry_run="All")
    assert out.metadata.name == "dry"
    with pytest.raises(client.ApiException):
        k.batch.read_namespaced_job("dry", NS)


# ----------------------------------------------------------------------------- updates
def test_status_is_only_written_through_the_status_subresource(emu: Emulator, k: Clients) -> None:
    cm = k.core.create_namespaced_config_map(NS, {"metadata": {"name": "x"}, "data": {"a": "1"}})
    same = k.core.replace_namespaced_config_map("x", NS, cm)
    assert same.metadata.resource_version == cm.metadata.resource_version  # a no-op write stores nothing
    created = k.batch.create_namespaced_job(NS, job("st", suspend=True))
    emu.wait_for(lambda: k.batch.read_namespaced_job("st", NS).status.conditions)
    current = k.batch.read_namespaced_job("st", NS)
    current.status.active = 7
    current.metadata.labels["new"] = "label"
    updated = k.batch.replace_namespaced_job("st", NS, current)
    assert updated.status.active is None and updated.metadata.labels["new"] == "label"
    assert updated.metadata.generation == created.metadata.generation == 1
    patched = k.batch.patch_namespaced_job_status("st", NS, {"status": {"active": 0, "ready": 0}})
    assert patched.status.ready == 0
    bumped = k.batch.patch_namespaced_job("st", NS, {"spec": {"activeDeadlineSeconds": 100}})
    assert bumped.metadata.generation == 2


def test_job_template_is_immutable(k: Clients) -> None:
    k.batch.create_namespaced_job(NS, job("imm", suspend=True))
    k.batch.patch_namespaced_job("imm", NS, {"spec": {"suspend": False}})
    with pytest.raises(client.ApiException) as err:
        k.batch.patch_namespaced_job(
            "imm", NS, {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "other"}]}}}}
        )
    causes = status_of(err.value)["details"]["causes"]
    assert any(c["field"] == "spec.template" and c["message"].endswith("field is immutable") for c in causes)


def test_patch_content_types(emu: Emulator, k: Clients) -> None:
    k.core.create_namespaced_config_map(
        NS, {"metadata": {"name": "p", "labels": {"a": "1"}}, "data": {"x": "1", "y": "2"}}
    )
    path = f"/api/v1/namespaces/{NS}/configmaps/p"
    merged = raw(
        emu,
        "PATCH",
        path,
        {"data": {"x": None, "z": "3"}},
        **{"Content-Type": "application/merge-patch+json"},
    )
    assert merged.status == 200 and merged.json()["data"] == {"y": "2", "z": "3"}
    jp = k.core.patch_namespaced_config_map("p", NS, [{"op": "replace", "path": "/data/y", "value": "9"}])
    assert jp.data == {"y": "9", "z": "3"}
    smp = k.core.patch_namespaced_config_map("p", NS, {"metadata": {"labels": {"b": "2"}}})
    assert smp.metadata.labels == {"a": "1", "b": "2"}
    applied = raw(emu, "PATCH", path, {}, **{"Content-Type": "application/apply-patch+yaml"})
    assert applied.status == 415


def test_pod_spec_is_immutable_and_configmaps_can_be(k: Clients) -> None:
    pod = {
        "metadata": {"name": "solo"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"},
    }
    k.core.create_namespaced_pod(NS, pod)
    with pytest.raises(client.ApiException) as err:
        k.core.patch_namespaced_pod("solo", NS, {"spec": {"restartPolicy": "Always"}})
    assert err.value.status == 422 and "pod updates may not change fields" in status_of(err.value)["message"]
    k.core.create_namespaced_config_map(
        NS, {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True}
    )
    with pytest.raises(client.ApiException) as err:
        k.core.patch_namespaced_config_map("frozen", NS, {"data": {"a": "2"}})
    assert err.value.status == 422


# ----------------------------------------------------------------------------- deletes
def test_foreground_delete_waits_for_dependents(emu: Emulator, k: Clients) -> None:
    emu.set_behaviour(scripted(default=PodScript(duration=60)))
    k.batch.create_namespaced_job(NS, job("fg", parallelism=2, completions=2))
    emu.wait_for(lambda: len(k.core.list_namespaced_pod(NS, label_selector="job-name=fg").items) == 2)
    rv = str(emu.resource_version)
    k.batch.delete_namespaced_job("fg", NS, propagation_policy="Foreground")

    def gone() -> bool:
        return not k.batch.list_namespaced_job(NS).items and not k.core.list_namespaced_pod(NS).items

    emu.wait_for(gone, timeout=5)
    jobs = list(watch.Watch().stream(k.batch.list_namespaced_job, NS, resource_version=rv, timeout_seconds=1))
    pods = list(watch.Watch().stream(k.core.list_namespaced_pod, NS, resource_version=rv, timeout_seconds=1))
    marked = [e for e in jobs if e["object"].metadata.deletion_timestamp]
    first = marked[0]["object"].metadata
    assert marked[0]["type"] == "MODIFIED" and "foregroundDeletion" in first.finalizers
    assert jobs[-1]["type"] == "DELETED"
    pod_deletions = [int(e["object"].metadata.resource_version) for e in pods if e["type"] == "DELETED"]
    assert len(pod_deletions) == 2
    assert max(pod_deletions) < int(jobs[-1]["object"].metadata.resource_version)


def test_namespace_deletion_terminates_and_forbids_new_content(emu: Emulator, k: Clients) -> None:
    k.core.create_namespace({"metadata": {"name": "doomed"}})
    ns = k.core.read_namespace("doomed")
    assert ns.status.phase == "Active" and ns.metadata.labels == {"kubernetes.io/metadata.name": "doomed"}
    k.core.create_namespaced_config_map(
        "doomed", {"metadata": {"name": "c", "finalizers": ["example.com/hold"]}}
    )
    k.core.delete_namespace("doomed")
    assert k.core.read_namespace("doomed").status.phase == "Terminating"
    with pytest.raises(client.ApiException) as err:
        k.core.create_namespaced_config_map("doomed", {"metadata": {"name": "d"}})
    assert (
        err.value.status == 403
        and status_of(err.value)["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    )
    k.core.patch_namespaced_config_map(
        "c", "doomed", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/hold"]}}
    )

    def gone() -> bool:
        return "doomed" not in [n.metadata.name for n in k.core.list_namespace().items]

    emu.wait_for(gone, timeout=5)


def test_deletecollection_by_label(k: Clients) -> None:
    for i, tier in enumerate(["a", "a", "b"]):
        k.core.create_namespaced_config_map(NS, {"metadata": {"name": f"dc-{i}", "labels": {"tier": tier}}})
    k.core.delete_collection_namespaced_config_map(NS, label_selector="tier=a")
    assert [c.metadata.name for c in k.core.list_namespaced_config_map(NS).items] == ["dc-2"]


# ----------------------------------------------------------------------------- reads
def test_field_selector_on_pod_phase_and_unsupported_fields(emu: Emulator, k: Clients) -> None:
    k.batch.create_namespaced_job(NS, job("phase"))
    emu.wait_for(lambda: k.core.list_namespaced_pod(NS, field_selector="status.phase=Succeeded").items)
    assert not k.core.list_namespaced_pod(NS, field_selector="status.phase=Running").items
    with pytest.raises(client.ApiException) as err:
        k.core.list_namespaced_pod(NS, field_selector="spec.bogus=1")
    assert err.value.status == 400


def test_all_namespaces_list_and_list_items_omit_kind(emu: Emulator, k: Clients) -> None:
    k.core.create_namespace({"metadata": {"name": "other"}})
    k.core.create_namespaced_config_map("other", {"metadata": {"name": "o"}})
    k.core.create_namespaced_config_map(NS, {"metadata": {"name": "d"}})
    names = [
        (c.metadata.namespace, c.metadata.name) for c in k.core.list_config_map_for_all_namespaces().items
    ]
    assert names == [("default", "d"), ("other", "o")]
    body = raw(emu, "GET", "/api/v1/configmaps").json()
    assert body["kind"] == "ConfigMapList" and "kind" not in body["items"][0]


def test_expired_continue_token_is_410(emu: Emulator, k: Clients) -> None:
    for i in range(3):
        k.core.create_namespaced_config_map(NS, {"metadata": {"name": f"c{i}"}})
    page = k.core.list_namespaced_config_map(NS, limit=1)
    assert page.metadata.remaining_item_count == 2
    k.core.create_namespaced_config_map(NS, {"metadata": {"name": "later"}})
    emu.compact()
    with pytest.raises(client.ApiException) as err:
        k.core.list_namespaced_config_map(NS, limit=1, _continue=page.metadata._continue)
    assert err.value.status == 410 and status_of(err.value)["reason"] == "Expired"


def test_discovery(emu: Emulator) -> None:
    version = raw(emu, "GET", "/version").json()
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "31", "v1.31.0")
    assert raw(emu, "GET", "/api").json()["versions"] == ["v1"]
    groups = raw(emu, "GET", "/apis").json()["groups"]
    assert {
        "name": "batch",
        "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"},
    } in groups
    batch = raw(emu, "GET", "/apis/batch/v1").json()
    assert {r["name"] for r in batch["resources"]} >= {"jobs", "jobs/status"}
    core = {r["name"]: r for r in raw(emu, "GET", "/api/v1").json()["resources"]}
    assert core["pods"]["namespaced"] and not core["namespaces"]["namespaced"] and "pods/log" in core
    assert raw(emu, "GET", "/apis/nope/v1/things").status == 404


# ----------------------------------------------------------------------------- watches
def test_selector_watch_turns_label_changes_into_added_and_deleted(emu: Emulator, k: Clients) -> None:
    k.core.create_namespaced_config_map(NS, {"metadata": {"name": "w", "labels": {"run": "r1"}}})
    rv = k.core.list_namespaced_config_map(NS).metadata.resource_version
    k.core.patch_namespaced_config_map("w", NS, {"metadata": {"labels": {"run": "r2"}}})
    k.core.patch_namespaced_config_map("w", NS, {"metadata": {"labels": {"run": "r1"}}})
    k.core.patch_namespaced_config_map("w", NS, {"data": {"a": "b"}})
    stream = watch.Watch().stream(
        k.core.list_namespaced_config_map, NS, label_selector="run=r1", resource_version=rv, timeout_seconds=1
    )
    assert [e["type"] for e in stream] == ["DELETED", "ADDED", "MODIFIED"]


def test_watch_without_version_starts_with_synthetic_added_and_bookmarks(emu: Emulator, k: Clients) -> None:
    k.core.create_namespaced_config_map(NS, {"metadata": {"name": "pre"}})
    types: list[str] = []
    started = time.monotonic()
    w = watch.Watch()
    for e in w.stream(k.core.list_namespaced_config_map, NS, allow_watch_bookmarks=True, timeout_seconds=1):
        types.append(e["type"])
        if e["type"] == "BOOKMARK":
            assert int(e["raw_object"]["metadata"]["resourceVersion"]) == emu.resource_version
            w.stop()
    assert types[0] == "ADDED" and types[-1] == "BOOKMARK"
    assert time.monotonic() - started < 1.0


def test_watch_timeout_is_honoured(emu: Emulator, k: Clients) -> None:
    started = time.monotonic()
    events = list(
        watch.Watch().stream(
            k.core.list_namespaced_config_map,
            NS,
            resource_version=str(emu.resource_version),
            timeout_seconds=1,
        )
    )
    assert events == []
    assert 0.9 < time.monotonic() - started < 2.5


def test_pod_graceful_delete(emu: Emulator, k: Clients) -> None:
    emu.set_behaviour(scripted(default=PodScript(duration=60)))
    pod = {
        "metadata": {"name": "slow"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"},
    }
    k.core.create_namespaced_pod(NS, pod)
    emu.wait_for(lambda: k.core.read_namespaced_pod("slow", NS).status.phase == "Running")
    deleted = k.core.delete_namespaced_pod("slow", NS)
    assert deleted.metadata.name == "slow"
    emu.wait_for(lambda: not k.core.list_namespaced_pod(NS).items, timeout=5)
