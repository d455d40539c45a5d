"""Feature gates on the emulator: a server with ``JobBackoffLimitPerIndex`` off, as measured on a
v1.28.0 kube-apiserver started with ``--feature-gates=JobBackoffLimitPerIndex=false`` (the real
test cluster has it on, so the contract tests only see that side)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kjob.testing.emulator import Clients, Emulator, PodScript, scripted
from kjob.testing.emulator.features import feature_gates

NS = "default"
GATE_OFF = {"JobBackoffLimitPerIndex": False}


def indexed(name: str = "", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name} if name else {"generateName": "probe-"},
        "spec": {
            "completionMode": "Indexed",
            "completions": 3,
            "parallelism": 3,
            "backoffLimitPerIndex": 0,
            "maxFailedIndexes": 2,
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "x", "command": ["true"]}],
                }
            },
        },
    }


def dry_run(k: Clients, body: dict[str, Any]) -> dict[str, Any]:
    response = k.batch.create_namespaced_job(NS, body, dry_run="All", _preload_content=False)
    data: dict[str, Any] = json.loads(response.data)
    return data


def test_gate_defaults_follow_the_version() -> None:
    assert "JobBackoffLimitPerIndex" not in feature_gates(28)
    assert "JobBackoffLimitPerIndex" in feature_gates(29)
    assert "JobBackoffLimitPerIndex" in feature_gates(28, {"JobBackoffLimitPerIndex": True})
    with pytest.raises(ValueError, match="unknown feature gate"):
        feature_gates(31, {"NoSuchGate": True})


@pytest.mark.parametrize(
    ("options", "kept"), [({}, True), ({"feature_gates": GATE_OFF}, False), ({"version": "v1.28.9"}, False)]
)
def test_a_dry_run_create_tells_whether_the_gate_is_on(options: dict[str, Any], kept: bool) -> None:
    with Emulator(tick=0.005, **options) as emu:
        spec = dry_run(emu.clients(), indexed())["spec"]
        assert ("backoffLimitPerIndex" in spec, "maxFailedIndexes" in spec) == (kept, kept)
        assert spec["backoffLimit"] == 2**31 - 1  # defaulted before the field is dropped, as measured


def test_gate_off_drops_fail_index_rules_and_keeps_the_others() -> None:
    rules = [
        {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}},
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}},
    ]
    with Emulator(tick=0.005, feature_gates=GATE_OFF) as emu:
        k = emu.clients()
        spec = dry_run(k, indexed(podFailurePolicy={"rules": rules}))["spec"]
        assert [r["action"] for r in spec["podFailurePolicy"]["rules"]] == ["FailJob"]
        assert spec["podReplacementPolicy"] == "Failed"
        spec = dry_run(k, indexed(podFailurePolicy={"rules": rules[:1]}))["spec"]
        assert spec["podFailurePolicy"] == {"rules": None}  # as the real server answers


def test_gate_off_an_update_cannot_add_the_field() -> None:
    with Emulator(tick=0.005, feature_gates=GATE_OFF) as emu:
        k = emu.clients()
        body = indexed("plain", suspend=True)
        del body["spec"]["backoffLimitPerIndex"], body["spec"]["maxFailedIndexes"]
        k.batch.create_namespaced_job(NS, body)
        patched = k.batch.patch_namespaced_job("plain", NS, {"spec": {"backoffLimitPerIndex": 2}})
        assert patched.spec.backoff_limit_per_index is None and patched.spec.backoff_limit == 6


def test_gate_off_failed_indexes_are_never_written() -> None:
    behaviour = scripted(by_index={1: PodScript(exit_code=1)}, default=PodScript(duration=0.05))
    with Emulator(behaviour, tick=0.005, pod_backoff=0.01, feature_gates=GATE_OFF) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, indexed("gated", backoffLimit=0))

        def finished() -> Any:
            job = k.batch.read_namespaced_job("gated", NS)
            done = {c.type for c in job.status.conditions or [] if c.status == "True"} & {
                "Complete",
                "Failed",
            }
            return job if done else None

        job = emu.wait_for(finished)
        assert job.spec.backoff_limit_per_index is None
        assert job.status.failed_indexes is None
        assert [c.reason for c in job.status.conditions if c.type == "Failed"] == ["BackoffLimitExceeded"]
