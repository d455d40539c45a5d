"""The emulator's minimal authorization beyond the contract tests: ``forbid`` for everyone, cluster-wide
identities, wildcards, and that the controllers are never refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch

from kjob.testing.emulator import Emulator
from kjob.testing.emulator.authz import Attributes, Authorizer, Identity, Rule

NS = "default"


def clients(emu: Emulator, tmp_path: Path, token: str | None = None) -> tuple[Any, Any]:
    cfg = client.Configuration()
    config.load_kube_config(
        config_file=str(emu.write_kubeconfig(tmp_path / f"kc-{token}", token=token)), client_configuration=cfg
    )
    api = client.ApiClient(cfg)
    return client.BatchV1Api(api), client.CoreV1Api(api)


def forbidden_message(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(client.ApiException) as err:
        call(*args, **kwargs)
    assert err.value.status == 403
    message: str = json.loads(err.value.body)["message"]
    return message


def test_forbid_denies_a_verb_to_every_client_including_watches(tmp_path: Path) -> None:
    with Emulator(tick=0.005, forbid=[("watch", "jobs")]) as emu:
        batch, _ = clients(emu, tmp_path)
        assert batch.list_namespaced_job(NS).items == []  # list is still allowed
        with pytest.raises(client.ApiException) as err:
            for _ in watch.Watch().stream(batch.list_namespaced_job, NS, timeout_seconds=1):
                pass
        assert err.value.status == 403
        assert json.loads(err.value.body)["message"] == (
            'jobs.batch is forbidden: User "admin" cannot watch resource "jobs" in API group "batch" '
            'in the namespace "default"'
        )
        emu.forbid(("get", "pods/log"))
        _, core = clients(emu, tmp_path)
        assert 'cannot get resource "pods/log"' in forbidden_message(core.read_namespaced_pod_log, "p", NS)
        emu.allow_all()
        assert list(watch.Watch().stream(batch.list_namespaced_job, NS, timeout_seconds=1)) == []


def test_the_controllers_are_never_refused(tmp_path: Path) -> None:
    with Emulator(tick=0.005, forbid=[("create", "pods"), ("update", "jobs/status")]) as emu:
        batch, _ = clients(emu, tmp_path)
        job = {
            "metadata": {"name": "j"},
            "spec": {
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}
            },
        }
        batch.create_namespaced_job(NS, job)
        emu.wait_for(lambda: batch.read_namespaced_job("j", NS).status.succeeded == 1)


def test_a_cluster_wide_identity_with_wildcards(tmp_path: Path) -> None:
    with Emulator(tick=0.005) as emu:
        token = emu.add_identity(
            "reader", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
        )
        batch, core = clients(emu, tmp_path, token)
        assert batch.list_job_for_all_namespaces().items == []
        assert [n.metadata.name for n in core.list_namespace().items][:1] == ["default"]
        assert forbidden_message(core.delete_namespace, "default") == (
            'namespaces "default" is forbidden: User "reader" cannot delete resource "namespaces" in API group "" '
            'in the namespace "default"'
        )


def test_rules_match_verbs_groups_and_subresources() -> None:
    authorizer = Authorizer()
    who = Identity(
        "u", (Rule.from_dict({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}),), "ns"
    )
    assert authorizer.decide(who, Attributes("get", "", "pods/log", "ns")).allowed
    assert not authorizer.decide(who, Attributes("get", "", "pods", "ns")).allowed
    assert not authorizer.decide(who, Attributes("get", "", "pods/log", "other")).allowed
    assert authorizer.decide(
        who, Attributes("create", "authorization.k8s.io", "selfsubjectaccessreviews")
    ).allowed
