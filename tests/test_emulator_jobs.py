"""The emulated Job controller with scripted pods: retries, back-off, policies, TTL, versions."""

from __future__ import annotations

import itertools
import time
from typing import Any

from kjob.testing.emulator import Clients, Emulator, PodScript, PodView, scripted

NS = "default"


def job(name: str, restart: str = "Never", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": restart,
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
        },
    }


def conditions(obj: Any) -> dict[str, tuple[str, str | None]]:
    return {c.type: (c.status, c.reason) for c in obj.status.conditions or []}


def finished(emu: Emulator, k: Clients, name: str, timeout: float = 5.0) -> Any:
    def done() -> Any:
        j = k.batch.read_namespaced_job(name, NS)
        return (
            j if {"Complete", "Failed"} & {t for t, (s, _) in conditions(j).items() if s == "True"} else None
        )

    return emu.wait_for(done, timeout)


def test_retries_with_doubling_backoff_and_attempt_numbers() -> None:
    calls: list[tuple[int, float]] = []

    def behaviour(pod: PodView) -> PodScript:
        calls.append((pod.attempt, time.monotonic()))
        return PodScript(exit_code=1 if pod.attempt < 2 else 0, logs=f"attempt {pod.attempt}\n")

    with Emulator(behaviour, tick=0.005, pod_backoff=0.1) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("retry", backoffLimit=2))
        j = finished(emu, k, "retry")
        assert conditions(j)["Complete"] == ("True", "CompletionsReached")
        assert (j.status.succeeded, j.status.failed) == (1, 2)
        assert [a for a, _ in calls] == [0, 1, 2]
        gaps = [b - a for (_, a), (_, b) in itertools.pairwise(calls)]
        assert gaps[0] >= 0.1 and gaps[1] >= 0.2
        pods = k.core.list_namespaced_pod(NS, label_selector="job-name=retry").items
        assert sorted(p.status.phase for p in pods) == ["Failed", "Failed", "Succeeded"]
        assert all(p.metadata.finalizers is None for p in pods)  # the tracking finalizer is gone once counted
        k.close()


def test_backoff_limit_counts_failed_pods() -> None:
    with Emulator(scripted(default=PodScript(exit_code=2)), tick=0.005, pod_backoff=0.01) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("exhaust", backoffLimit=2))
        j = finished(emu, k, "exhaust")
        assert conditions(j)["Failed"] == ("True", "BackoffLimitExceeded")
        assert conditions(j)["FailureTarget"] == ("True", "BackoffLimitExceeded")
        assert j.status.failed == 3 and j.status.completion_time is None
        k.close()


def test_pod_failure_policy_fail_job_and_ignore() -> None:
    rules = [
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}},
    ]
    behaviour = scripted(
        by_job={"fatal": PodScript(exit_code=42), "flaky": [PodScript(exit_code=7), PodScript()]}
    )
    with Emulator(behaviour, tick=0.005, pod_backoff=0.01) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("fatal", backoffLimit=5, podFailurePolicy={"rules": rules}))
        k.batch.create_namespaced_job(NS, job("flaky", backoffLimit=0, podFailurePolicy={"rules": rules}))
        fatal = finished(emu, k, "fatal")
        failed = next(c for c in fatal.status.conditions if c.type == "Failed")
        (pod,) = k.core.list_namespaced_pod(NS, label_selector="job-name=fatal").items
        assert failed.reason == "PodFailurePolicy"
        assert (
            failed.message
            == f"Container main for pod {NS}/{pod.metadata.name} failed with exit code 42 matching FailJob rule at index 0"
        )
        flaky = finished(emu, k, "flaky")
        assert conditions(flaky)["Complete"][0] == "True" and not flaky.status.failed
        assert fatal.spec.pod_replacement_policy == "Failed"
        k.close()


def test_indexed_max_failed_indexes() -> None:
    behaviour = scripted(
        by_index={1: PodScript(exit_code=1), 2: PodScript(exit_code=1)}, default=PodScript(duration=0.2)
    )
    with Emulator(behaviour, tick=0.005) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(
            NS,
            job(
                "mfi",
                completionMode="Indexed",
                completions=6,
                parallelism=6,
                backoffLimitPerIndex=0,
                maxFailedIndexes=1,
            ),
        )
        j = finished(emu, k, "mfi")
        assert conditions(j)["Failed"] == ("True", "MaxFailedIndexesExceeded")
        assert j.status.failed_indexes == "1,2"  # a run of two is two numbers
        assert j.spec.backoff_limit == 2**31 - 1
        pods = k.core.list_namespaced_pod(NS, label_selector="job-name=mfi").items
        assert all(p.metadata.annotations["batch.kubernetes.io/job-index-failure-count"] == "0" for p in pods)
        env = pods[0].spec.containers[0].env
        assert env[-1].name == "JOB_COMPLETION_INDEX"
        assert (
            env[-1].value_from.field_ref.field_path
            == "metadata.labels['batch.kubernetes.io/job-completion-index']"
        )
        k.close()


def test_parallelism_and_completions() -> None:
    running: list[int] = []
    live = {"n": 0}

    def behaviour(pod: PodView) -> PodScript:
        live["n"] += 1
        running.append(live["n"])
        return PodScript(duration=0.05)

    with Emulator(behaviour, tick=0.005) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("par", completions=5, parallelism=2))

        def watch_active() -> Any:
            j = k.batch.read_namespaced_job("par", NS)
            assert (j.status.active or 0) <= 2
            live["n"] = j.status.active or 0
            return j if conditions(j).get("Complete", ("", ""))[0] == "True" else None

        j = emu.wait_for(watch_active, 5)
        assert j.status.succeeded == 5
        assert len(k.core.list_namespaced_pod(NS, label_selector="job-name=par").items) == 5
        k.close()


def test_ttl_seconds_after_finished_deletes_job_and_pods() -> None:
    with Emulator(tick=0.005) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("ttl", ttlSecondsAfterFinished=0))
        emu.wait_for(
            lambda: not k.batch.list_namespaced_job(NS).items and not k.core.list_namespaced_pod(NS).items, 5
        )
        k.close()


def test_on_failure_restarts_in_place_until_the_backoff_limit() -> None:
    with Emulator(
        scripted(default=PodScript(exit_code=1, logs="bad\n")), tick=0.005, crashloop_backoff=0.02
    ) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("crash", restart="OnFailure", backoffLimit=2))
        j = finished(emu, k, "crash")
        assert conditions(j)["Failed"] == ("True", "BackoffLimitExceeded")
        events = emu.audit()  # the client only read; pods were created by the controller, not over HTTP
        assert all(e.verb != "create" or e.resource == "jobs" for e in events)
        k.close()


def test_active_deadline_with_a_speed_factor() -> None:
    with Emulator(scripted(default=PodScript(duration=1000)), speed=20, tick=0.005) as emu:
        k = emu.clients()
        started = time.monotonic()
        k.batch.create_namespaced_job(NS, job("fast", activeDeadlineSeconds=2))
        j = finished(emu, k, "fast")
        assert conditions(j)["Failed"] == ("True", "DeadlineExceeded")
        assert time.monotonic() - started < 1.0
        assert j.status.failed == 1
        k.close()


def test_stuck_pod_stays_pending() -> None:
    with Emulator(scripted(default=PodScript(stuck_waiting="ImagePullBackOff")), tick=0.005) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("stuck"))

        def waiting() -> Any:
            pods = k.core.list_namespaced_pod(NS).items
            if pods and pods[0].status.container_statuses:
                return pods[0].status.container_statuses[0].state.waiting
            return None

        state = emu.wait_for(waiting)
        assert state.reason == "ImagePullBackOff"
        (pod,) = k.core.list_namespaced_pod(NS).items
        assert pod.status.phase == "Pending" and pod.spec.node_name == "emulator-node-0"
        j = k.batch.read_namespaced_job("stuck", NS)
        assert j.status.active == 1 and j.status.ready == 0
        k.close()


def test_older_versions_have_no_interim_conditions() -> None:
    with Emulator(version="v1.29.4", tick=0.005) as emu:
        k = emu.clients()
        k.batch.create_namespaced_job(NS, job("old"))
        j = finished(emu, k, "old")
        assert [(c.type, c.reason) for c in j.status.conditions] == [("Complete", None)]
        assert k.api.call_api  # the client works against the reported version
        k.close()


def test_same_seed_same_names() -> None:
    def names(seed: int) -> list[str]:
        with Emulator(seed=seed, tick=0.005) as emu:
            k = emu.clients()
            k.batch.create_namespaced_job(NS, job("det", completions=3, parallelism=1))
            finished(emu, k, "det")
            out = sorted(p.metadata.name for p in k.core.list_namespaced_pod(NS).items)
            out.append(k.batch.read_namespaced_job("det", NS).metadata.uid)
            k.close()
            return out

    assert names(5) == names(5)
    assert names(5) != names(6)
