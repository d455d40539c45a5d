"""What kjob relies on from kube-apiserver and the Job controller, checked against both sides."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from kubernetes import client, watch

from tests.contract.conftest import Cluster

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _status(e: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(e.body)
    return body


def _condition(job: Any, type_: str) -> Any:
    return next((c for c in job.status.conditions or [] if c.type == type_), None)


def _configmap(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {"k": "v"},
    }


# ------------------------------------------------------------------------------ CRUD
def test_create_get_list_delete_job(cluster: Cluster) -> None:
    created = cluster.create_job(cluster.job("crud", "true", suspend=True, labels={"app": "crud"}))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    assert created.metadata.generation == 1
    assert created.spec.backoff_limit == 0 and created.spec.completions == 1 and created.spec.parallelism == 1
    assert created.spec.completion_mode == "NonIndexed"
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": created.metadata.uid}
    labels = created.spec.template.metadata.labels
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "crud"
    assert labels["controller-uid"] == labels["batch.kubernetes.io/controller-uid"] == created.metadata.uid
    container = created.spec.template.spec.containers[0]
    assert container.termination_message_path == "/dev/termination-log"
    assert container.termination_message_policy == "File"

    got = cluster.batch.read_namespaced_job("crud", cluster.namespace)
    assert got.metadata.uid == created.metadata.uid
    listed = cluster.batch.list_namespaced_job(cluster.namespace, label_selector="app=crud")
    assert [j.metadata.name for j in listed.items] == ["crud"]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)

    cluster.batch.delete_namespaced_job("crud", cluster.namespace, propagation_policy="Background")

    def gone() -> bool:
        try:
            cluster.batch.read_namespaced_job("crud", cluster.namespace)
        except client.ApiException as e:
            return e.status == 404
        return False

    cluster.wait(gone, "job crud to be deleted")
    with pytest.raises(client.ApiException) as err:
        cluster.batch.read_namespaced_job("crud", cluster.namespace)
    assert _status(err.value)["reason"] == "NotFound"
    assert _status(err.value)["details"] == {"name": "crud", "group": "batch", "kind": "jobs"}


def test_duplicate_create_is_409_already_exists(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("dup", "true", suspend=True))
    with pytest.raises(client.ApiException) as err:
        cluster.create_job(cluster.job("dup", "true", suspend=True))
    status = _status(err.value)
    assert err.value.status == 409
    assert status["kind"] == "Status" and status["reason"] == "AlreadyExists"
    assert status["message"] == 'jobs.batch "dup" already exists'
    assert status["details"] == {"name": "dup", "group": "batch", "kind": "jobs"}


def test_generate_name(cluster: Cluster) -> None:
    created = cluster.create_job(cluster.job("gen-", "true", generate=True, suspend=True))
    name = created.metadata.name
    assert name.startswith("gen-") and len(name) == len("gen-") + 5
    assert all(c in ALPHABET for c in name[4:])
    assert created.metadata.generate_name == "gen-"


def test_invalid_job_is_422_with_field_path(cluster: Cluster) -> None:
    body = cluster.job("invalid", "true", restart_policy="Always")
    with pytest.raises(client.ApiException) as err:
        cluster.create_job(body)
    status = _status(err.value)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Job" and status["details"]["name"] == "invalid"
    fields = {c["field"]: c for c in status["details"]["causes"]}
    cause = fields["spec.template.spec.restartPolicy"]
    assert cause["reason"] == "FieldValueRequired"
    assert cause["message"] == 'Required value: valid values: "OnFailure", "Never"'
    assert status["message"].startswith('Job.batch "invalid" is invalid: ')

    body = cluster.job("Bad_Name", "true")
    with pytest.raises(client.ApiException) as err:
        cluster.create_job(body)
    assert "metadata.name" in {c["field"] for c in _status(err.value)["details"]["causes"]}

    body = cluster.job("indexed-no-completions", "true", completionMode="Indexed", parallelism=1)
    with pytest.raises(client.ApiException) as err:
        cluster.create_job(body)
    causes = {c["field"]: c["message"] for c in _status(err.value)["details"]["causes"]}
    assert causes["spec.completions"] == "Required value: when completion mode is Indexed"


def test_label_selectors(cluster: Cluster) -> None:
    for name, labels in {
        "sel-a": {"tier": "a", "env": "x"},
        "sel-b": {"tier": "b"},
        "sel-c": {"other": "1"},
    }.items():
        cluster.core.create_namespaced_config_map(
            cluster.namespace, _configmap(name, {"sel": "yes", **labels})
        )

    def names(selector: str) -> list[str]:
        items = cluster.core.list_namespaced_config_map(
            cluster.namespace, label_selector=f"sel=yes,{selector}"
        ).items
        return sorted(i.metadata.name for i in items)

    assert names("tier=a") == ["sel-a"]
    assert names("tier==a") == ["sel-a"]
    assert names("tier!=a") == ["sel-b", "sel-c"]
    assert names("tier in (a,b)") == ["sel-a", "sel-b"]
    assert names("tier notin (a)") == ["sel-b", "sel-c"]
    assert names("tier") == ["sel-a", "sel-b"]
    assert names("!tier") == ["sel-c"]
    assert names("tier=a,env=x") == ["sel-a"]
    with pytest.raises(client.ApiException) as err:
        names("tier in (a")
    assert err.value.status == 400


def test_field_selector_metadata_name_and_pagination(cluster: Cluster) -> None:
    for i in range(5):
        cluster.core.create_namespaced_config_map(cluster.namespace, _configmap(f"page-{i}", {"page": "yes"}))
    by_name = cluster.core.list_namespaced_config_map(
        cluster.namespace, field_selector="metadata.name=page-3"
    )
    assert [i.metadata.name for i in by_name.items] == ["page-3"]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = cluster.core.list_namespaced_config_map(
            cluster.namespace, label_selector="page=yes", limit=2, _continue=token
        )
        pages += 1
        seen += [i.metadata.name for i in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3 and seen == [f"page-{i}" for i in range(5)]


def test_missing_namespace_is_404(cluster: Cluster) -> None:
    with pytest.raises(client.ApiException) as err:
        cluster.core.create_namespaced_config_map("kjob-no-such-namespace", _configmap("x"))
    status = _status(err.value)
    assert err.value.status == 404 and status["reason"] == "NotFound"
    assert status["details"] == {"name": "kjob-no-such-namespace", "kind": "namespaces"}


def test_stale_resource_version_is_409_conflict(cluster: Cluster) -> None:
    cm = cluster.core.create_namespaced_config_map(cluster.namespace, _configmap("stale"))
    cm.data = {"k": "v2"}
    updated = cluster.core.replace_namespaced_config_map("stale", cluster.namespace, cm)
    assert int(updated.metadata.resource_version) > int(cm.metadata.resource_version)
    cm.data = {"k": "v3"}
    with pytest.raises(client.ApiException) as err:
        cluster.core.replace_namespaced_config_map("stale", cluster.namespace, cm)
    status = _status(err.value)
    assert err.value.status == 409 and status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


# -------------------------------------------------------------------------- Job runs
def test_job_success(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("ok", "echo hello from ok"))
    job = cluster.finished("ok")
    complete = _condition(job, "Complete")
    assert complete is not None and complete.status == "True"
    assert _condition(job, "Failed") is None
    assert job.status.succeeded == 1 and not job.status.failed and not job.status.active
    assert job.status.start_time is not None and job.status.completion_time is not None
    (pod,) = cluster.pods("ok")
    assert pod.status.phase == "Succeeded"
    term = pod.status.container_statuses[0].state.terminated
    assert term.exit_code == 0 and term.reason == "Completed"
    assert pod.metadata.owner_references[0].kind == "Job" and pod.metadata.owner_references[0].controller
    assert pod.metadata.name.startswith("ok-") and len(pod.metadata.name) == len("ok-") + 5
    log = cluster.core.read_namespaced_pod_log(pod.metadata.name, cluster.namespace, container="main")
    assert log == "hello from ok\n"


def test_job_failure_reports_exit_code_and_termination_message(cluster: Cluster) -> None:
    script = "echo about to fail; printf 'boom: %s' bad > /dev/termination-log; exit 3"
    cluster.create_job(cluster.job("fails", script))
    job = cluster.finished("fails")
    failed = _condition(job, "Failed")
    assert failed.status == "True" and failed.reason == "BackoffLimitExceeded"
    assert failed.message == "Job has reached the specified backoff limit"
    assert job.status.failed == 1 and not job.status.succeeded
    (pod,) = cluster.pods("fails")
    assert pod.status.phase == "Failed"
    term = pod.status.container_statuses[0].state.terminated
    assert term.exit_code == 3 and term.reason == "Error" and term.message == "boom: bad"
    assert cluster.core.read_namespaced_pod_log(pod.metadata.name, cluster.namespace) == "about to fail\n"


def test_fallback_to_logs_on_error(cluster: Cluster) -> None:
    body = cluster.job("fallback", "echo first; echo last words; exit 2")
    body["spec"]["template"]["spec"]["containers"][0]["terminationMessagePolicy"] = "FallbackToLogsOnError"
    cluster.create_job(body)
    cluster.finished("fallback")
    (pod,) = cluster.pods("fallback")
    assert pod.status.container_statuses[0].state.terminated.message == "first\nlast words\n"


def test_indexed_job_with_backoff_limit_per_index(cluster: Cluster) -> None:
    script = 'echo "index $JOB_COMPLETION_INDEX"; [ "$JOB_COMPLETION_INDEX" = 2 ] && exit 1; exit 0'
    body = cluster.job(
        "indexed", script, completionMode="Indexed", completions=4, parallelism=2, backoffLimitPerIndex=0
    )
    del body["spec"]["backoffLimit"]
    cluster.create_job(body)
    job = cluster.finished("indexed")
    failed = _condition(job, "Failed")
    assert failed.reason == "FailedIndexes" and failed.message == "Job has failed indexes"
    assert job.status.completed_indexes == "0,1,3"  # a run of two is written as two numbers
    assert job.status.failed_indexes == "2"
    assert job.status.succeeded == 3 and job.status.failed == 1
    pods = sorted(cluster.pods("indexed"), key=lambda p: p.metadata.name)
    by_index = {p.metadata.annotations["batch.kubernetes.io/job-completion-index"]: p for p in pods}
    assert sorted(by_index) == ["0", "1", "2", "3"]
    for index, pod in by_index.items():
        assert pod.metadata.name.startswith(f"indexed-{index}-")
        assert pod.metadata.labels["batch.kubernetes.io/job-completion-index"] == index
        assert pod.spec.hostname == f"indexed-{index}"
        log = cluster.core.read_namespaced_pod_log(pod.metadata.name, cluster.namespace)
        assert log == f"index {index}\n"


@pytest.mark.parametrize(
    ("completions", "failing", "completed", "failed"),
    [
        (6, "1 2 3", "0,4,5", "1-3"),  # a triple is a range, a pair two numbers
        (7, "2 6", "0,1,3-5", "2,6"),
        (4, "0 1", "2,3", "0,1"),
    ],
)
def test_index_interval_strings(
    cluster: Cluster, completions: int, failing: str, completed: str, failed: str
) -> None:
    """``completedIndexes``/``failedIndexes`` as the Job controller writes them: runs of three or
    more as ``first-last``, runs of two as two numbers."""
    script = f'case " {failing} " in *" $JOB_COMPLETION_INDEX "*) exit 1;; esac'
    name = f"intervals-{completions}"
    body = cluster.job(
        name,
        script,
        completionMode="Indexed",
        completions=completions,
        parallelism=completions,
        backoffLimitPerIndex=0,
    )
    del body["spec"]["backoffLimit"]
    cluster.create_job(body)
    job = cluster.finished(name)
    assert (job.status.completed_indexes, job.status.failed_indexes) == (completed, failed)


def test_active_deadline_exceeded(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("deadline", "sleep 30", activeDeadlineSeconds=1, backoffLimit=5))
    job = cluster.finished("deadline")
    failed = _condition(job, "Failed")
    assert failed.reason == "DeadlineExceeded"
    assert failed.message == "Job was active longer than specified deadline"
    assert not job.status.active


def test_suspend_then_resume(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("sus", "echo resumed", suspend=True))

    def suspended() -> Any:
        job = cluster.batch.read_namespaced_job("sus", cluster.namespace)
        cond = _condition(job, "Suspended")
        return job if cond is not None and cond.status == "True" else None

    job = cluster.wait(suspended, "the Suspended condition")
    assert _condition(job, "Suspended").reason == "JobSuspended"
    assert not job.status.active and cluster.pods("sus") == []
    cluster.batch.patch_namespaced_job("sus", cluster.namespace, {"spec": {"suspend": False}})
    job = cluster.finished("sus")
    assert _condition(job, "Complete").status == "True"
    resumed = _condition(job, "Suspended")
    assert resumed.status == "False" and resumed.reason == "JobResumed"
    assert job.metadata.generation == 2


def test_cascading_delete_removes_pods(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("cascade", "sleep 30", parallelism=2, completions=2))
    cluster.wait(lambda: len(cluster.pods("cascade")) == 2, "two pods")
    cluster.batch.delete_namespaced_job("cascade", cluster.namespace, propagation_policy="Background")
    cluster.wait(lambda: cluster.pods("cascade") == [], "the pods to be deleted")


def test_job_delete_orphans_pods_by_default(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("orphan", "sleep 30"))
    cluster.wait(lambda: len(cluster.pods("orphan")) == 1, "a pod")
    cluster.batch.delete_namespaced_job("orphan", cluster.namespace)

    def orphaned() -> Any:
        pods = cluster.pods("orphan")
        return pods if pods and not pods[0].metadata.owner_references else None

    (pod,) = cluster.wait(orphaned, "the pod to lose its owner reference")
    cluster.core.delete_namespaced_pod(pod.metadata.name, cluster.namespace, grace_period_seconds=0)


# ---------------------------------------------------------------------------- watches
def test_watch_sees_added_modified_deleted_in_order(cluster: Cluster) -> None:
    start = cluster.batch.list_namespaced_job(cluster.namespace).metadata.resource_version
    cluster.create_job(cluster.job("watched", "true", suspend=True))
    cluster.batch.patch_namespaced_job(
        "watched", cluster.namespace, {"metadata": {"labels": {"seen": "yes"}}}
    )
    cluster.batch.delete_namespaced_job("watched", cluster.namespace, propagation_policy="Background")
    events: list[tuple[str, str]] = []
    w = watch.Watch()
    for ev in w.stream(
        cluster.batch.list_namespaced_job,
        cluster.namespace,
        field_selector="metadata.name=watched",
        resource_version=start,
        timeout_seconds=int(cluster.timeout),
    ):
        events.append((ev["type"], ev["object"].metadata.resource_version))
        if ev["type"] == "DELETED":
            w.stop()
    types = [t for t, _ in events]
    assert types[0] == "ADDED" and types[-1] == "DELETED"
    assert set(types[1:-1]) == {"MODIFIED"}
    versions = [int(rv) for _, rv in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_watch_from_too_old_resource_version_is_410(cluster: Cluster) -> None:
    emu = cluster.require_emulator("a real cluster's compaction cannot be forced from a test")
    old = cluster.core.list_namespaced_config_map(cluster.namespace).metadata.resource_version
    cluster.core.create_namespaced_config_map(cluster.namespace, _configmap("compacted"))
    emu.compact()
    with pytest.raises(client.ApiException) as err:
        for _ in watch.Watch().stream(
            cluster.core.list_namespaced_config_map, cluster.namespace, resource_version=old
        ):
            pass
    assert err.value.status == 410
    assert re.match(r"Expired: too old resource version: \d+ \(\d+\)", str(err.value.reason))


# ------------------------------------------------------------------------------- logs
def test_pod_log_options(cluster: Cluster) -> None:
    cluster.create_job(cluster.job("logs", "for i in 1 2 3 4 5; do echo line $i; done"))
    cluster.finished("logs")
    (pod,) = cluster.pods("logs")
    read = cluster.core.read_namespaced_pod_log
    assert read(pod.metadata.name, cluster.namespace, container="main", tail_lines=2) == "line 4\nline 5\n"
    assert read(pod.metadata.name, cluster.namespace, container="main", limit_bytes=8) == "line 1\nl"
    with pytest.raises(client.ApiException) as err:
        read(pod.metadata.name, cluster.namespace, container="nope")
    assert err.value.status == 400
