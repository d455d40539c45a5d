"""Fault injection and the audit log, from Python and through the admin endpoints."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch

from kjob.testing.emulator import Emulator

NS = "default"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(tick=0.01) as e:
        yield e


def get(
    emu: Emulator, path: str = "/api/v1/namespaces/default/configmaps", method: str = "GET", body: Any = None
) -> urllib3.BaseHTTPResponse:
    data = json.dumps(body).encode() if body is not None else None
    return urllib3.request(method, emu.url + path, body=data, retries=False, timeout=5)


def codes(emu: Emulator, n: int) -> list[int]:
    return [get(emu).status for _ in range(n)]


def test_error_rate_is_roughly_as_configured_and_repeats_with_the_seed(emu: Emulator) -> None:
    emu.faults(error_rate=0.3, seed=7)
    first = codes(emu, 200)
    assert set(first) == {200, 500}
    assert 40 <= first.count(500) <= 80
    emu.faults(error_rate=0.3, seed=7)
    assert codes(emu, 200) == first
    body = get(emu).json() if first[0] == 500 else None
    del body
    emu.faults(error_rate=1.0)
    status = get(emu).json()
    assert status["reason"] == "InternalError" and status["code"] == 500


def test_throttling_carries_retry_after(emu: Emulator) -> None:
    emu.faults(throttle_rate=1.0, retry_after=3, max_faults=1)
    resp = get(emu)
    assert resp.status == 429 and resp.headers["Retry-After"] == "3"
    assert resp.json()["reason"] == "TooManyRequests" and resp.json()["details"] == {"retryAfterSeconds": 3}
    assert get(emu).status == 200
    assert [(e.code, e.fault) for e in emu.audit(verb="list")] == [(429, "throttle"), (200, None)]


def test_faults_can_target_verbs_and_resources(emu: Emulator) -> None:
    emu.faults(error_rate=1.0, verbs={"create"}, resources={"jobs"})
    assert get(emu).status == 200
    api = emu.api_client()
    batch = client.BatchV1Api(api)
    body = {
        "metadata": {"name": "j"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}
        },
    }
    with pytest.raises(client.ApiException) as err:
        batch.create_namespaced_job(NS, body)
    assert err.value.status == 500
    api.close()


def test_dropped_connection_is_observable(emu: Emulator) -> None:
    emu.faults(drop_connection_rate=1.0, verbs={"list"})
    with pytest.raises(urllib3.exceptions.HTTPError):
        get(emu)
    (entry,) = emu.audit(verb="list")
    assert entry.code == 0 and entry.fault == "drop"


def test_dropped_watch_is_observable(emu: Emulator) -> None:
    emu.faults(drop_watch_after=(0.2, 0.3), resources={"configmaps"})
    api = emu.api_client()
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    started = time.monotonic()
    seen: list[str] = []
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in watch.Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=5):
            seen.append(event["type"])
    assert seen == ["ADDED"]
    assert 0.2 <= time.monotonic() - started < 1.5
    api.close()


def test_latency(emu: Emulator) -> None:
    emu.faults(latency=(0.1, 0.1))
    started = time.monotonic()
    get(emu)
    assert time.monotonic() - started >= 0.1
    emu.clear_faults()
    started = time.monotonic()
    get(emu)
    assert time.monotonic() - started < 0.1


def test_admin_endpoints(emu: Emulator) -> None:
    resp = get(emu, "/_emulator/faults", "PUT", {"error_rate": 1.0, "verbs": ["list"], "seed": 3})
    assert resp.status == 200 and resp.json()["verbs"] == ["list"]
    assert get(emu).status == 500
    assert get(emu, "/_emulator/faults").json()["error_rate"] == 1.0
    assert get(emu, "/_emulator/faults", "PUT", {"eror_rate": 1}).status == 400
    assert get(emu, "/_emulator/faults", "DELETE").status == 200
    assert get(emu).status == 200
    audit = get(emu, "/_emulator/audit?verb=list").json()["items"]
    assert [e["code"] for e in audit] == [500, 200]
    assert get(emu, "/_emulator/audit", "DELETE").status == 200
    assert emu.audit() == []
    assert get(emu, "/_emulator/compact", "POST").json()["resourceVersion"] == str(emu.resource_version)


def test_audit_counts_each_create(emu: Emulator) -> None:
    api = emu.api_client()
    batch = client.BatchV1Api(api)

    def body(name: str, generate: bool = False) -> dict[str, Any]:
        meta = {"generateName" if generate else "name": name}
        spec = {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}},
        }
        return {"metadata": meta, "spec": spec}

    for name in ("a", "b"):
        batch.create_namespaced_job(NS, body(name))
    with pytest.raises(client.ApiException):
        batch.create_namespaced_job(NS, body("a"))
    generated = batch.create_namespaced_job(NS, body("g-", generate=True)).metadata.name
    batch.read_namespaced_job("a", NS)
    counts = emu.audit_counts(verb="create", resource="jobs", code=201)
    assert counts == {
        ("create", "jobs", "a"): 1,
        ("create", "jobs", "b"): 1,
        ("create", "jobs", generated): 1,
    }
    (conflict,) = emu.audit(verb="create", code=409)
    assert (conflict.name, conflict.namespace, conflict.path) == (
        "a",
        NS,
        f"/apis/batch/v1/namespaces/{NS}/jobs",
    )
    assert [e.verb for e in emu.audit(name="a")] == ["create", "create", "get"]
    api.close()
