"""The Job controller (``pkg/controller/job``) and the TTL-after-finished controller.

Per Job, each sync does what ``syncJob`` does in 1.31:

* finds its pods by controller ``ownerReference``; counts the newly finished ones that still carry
  the ``batch.kubernetes.io/job-tracking`` finalizer (then removes it), applying
  ``podFailurePolicy`` (``FailJob``, ``Ignore``, ``Count``, ``FailIndex``) to failed pods; a
  deleted pod that had not succeeded counts as failed unless ``podReplacementPolicy: Failed``;
* decides whether the Job failed: a ``FailJob`` rule (reason ``PodFailurePolicy``),
  ``failed > backoffLimit`` or too many restarts with ``OnFailure`` (``BackoffLimitExceeded``),
  ``activeDeadlineSeconds`` past ``startTime`` (``DeadlineExceeded``), and for Indexed Jobs with
  ``backoffLimitPerIndex`` the ``maxFailedIndexes`` (``MaxFailedIndexesExceeded``) and
  ``FailedIndexes`` rules; a failing Job's active pods are deleted and counted as failed;
* otherwise manages pods: none while ``suspend: true`` (condition ``Suspended``; resuming resets
  ``startTime``), else up to ``parallelism`` active pods until ``completions`` succeed, lowest
  pending completion indexes first for Indexed Jobs, delaying replacements of failed pods by the
  pod-failure back-off (``base · 2^(failures-1)``, capped; reset by a success; per index with
  ``backoffLimitPerIndex``);
* writes ``status``: ``active``, ``ready``, ``terminating``, ``succeeded``, ``failed``,
  ``completedIndexes``/``failedIndexes`` (interval strings), ``startTime``, ``completionTime``,
  ``uncountedTerminatedPods: {}`` and the conditions. For 1.31 and later the interim
  ``SuccessCriteriaMet``/``FailureTarget`` conditions come first (reason ``CompletionsReached`` on
  success), and ``Complete``/``Failed`` follow once no pod is still terminating.

Pods are created as the real controller creates them: ``generateName`` ``<job>-`` or
``<job>-<index>-``, the template's labels plus ``batch.kubernetes.io/job-completion-index`` (label
and annotation) for Indexed Jobs, ``JOB_COMPLETION_INDEX`` in every container's env, hostname
``<job>-<index>``, the tracking finalizer, and a controller ``ownerReference`` to the Job.

Differences: status is written as soon as a sync changes it (the real controller batches pod
events for up to a second), and failure back-off bookkeeping lives in memory.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from kjob.testing.emulator.api import JOB_TRACKING_FINALIZER, Registry
from kjob.testing.emulator.errors import ApiError
from kjob.testing.emulator.features import JOB_POD_REPLACEMENT_POLICY
from kjob.testing.emulator.intervals import compress_indexes, parse_indexes
from kjob.testing.emulator.resources import BY_PLURAL
from kjob.testing.emulator.util import (
    MAX_GENERATED_NAME_LENGTH,
    Obj,
    annotations_of,
    deepcopy,
    finalizers_of,
    int_or,
    parse_time,
    sub,
)

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
FAILURE_COUNT_KEY = "batch.kubernetes.io/job-index-failure-count"
IGNORED_COUNT_KEY = "batch.kubernetes.io/job-index-ignored-failure-count"


@dataclass
class JobMemory:
    """What the controller keeps in memory per Job (the real one keeps the same in caches)."""

    failures_after_success: int = 0
    last_failure: float | None = None
    index_failures: dict[int, int] = field(default_factory=dict)
    index_ignored: dict[int, int] = field(default_factory=dict)
    index_last_failure: dict[int, float] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    failed_by_policy: set[int] = field(default_factory=set)
    create_errors: list[str] = field(default_factory=list)


def _conditions(status: Obj) -> list[Obj]:
    conds = status.get("conditions")
    return conds if isinstance(conds, list) else []


def _condition(status: Obj, type_: str) -> Obj | None:
    return next((c for c in _conditions(status) if c.get("type") == type_), None)


def _true(status: Obj, type_: str) -> bool:
    c = _condition(status, type_)
    return c is not None and c.get("status") == "True"


def is_finished(job: Obj) -> bool:
    status = sub(job, "status")
    return _true(status, "Complete") or _true(status, "Failed")


def pod_index(pod: Obj) -> int | None:
    text = annotations_of(pod).get(INDEX_KEY)
    return int(text) if text is not None and text.isdigit() else None


def pod_generate_name(job_name: str, index: int | None) -> str:
    """``podGenerateNameWithIndex``: keep the ``-<index>-`` suffix within 58 characters."""
    if index is None:
        return job_name + "-"
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[: MAX_GENERATED_NAME_LENGTH - len(suffix)] + suffix
    return prefix


class JobController:
    """The Job controller plus the TTL-after-finished controller."""

    def __init__(
        self,
        registry: Registry,
        attempts: dict[str, int],
        *,
        backoff: float = 10.0,
        max_backoff: float = 600.0,
        errors: list[str] | None = None,
    ) -> None:
        self.registry = registry
        self.clock = registry.clock
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.memory: dict[str, JobMemory] = {}
        #: Where errors are noted (the emulator passes the one list all its controllers share).
        self.errors: list[str] = [] if errors is None else errors
        self._feed = registry.store.feed()
        #: Per Job uid synced before: the emulated times after that sync at which it must be synced
        #: again although neither it nor its pods changed (deadline, back-off, TTL).
        self._due: dict[str, list[float]] = {}

    def step(self) -> float | None:
        """Sync the Jobs that changed, whose pods changed or whose timed event is due (every Job
        on the first pass); returns the emulated time of the next timed event (None: none).

        A sync of any other Job would find nothing to do: it depends only on the Job, its pods, the
        controller's memory of it (changed only by its syncs) and the time, through the deadlines
        and back-offs recorded in ``_due``.
        """
        store = self.registry.store
        now = self.clock.now()
        events, everything, touched = store.drain(self._feed)
        for ev in events:
            if ev.resource == "jobs":
                touched.add(str(sub(ev.obj, "metadata").get("uid")))
            elif ev.resource == "pods":
                for o in (ev.obj, ev.old):
                    for ref in sub(o, "metadata").get("ownerReferences") or [] if o is not None else []:
                        touched.add(str(ref.get("uid")))
        jobs = store.items("jobs")  # read-only: sync copies what it writes
        pods_by_owner: dict[str, list[Obj]] = {}
        all_pods = store.items("pods")
        for pod in all_pods:
            for ref in sub(pod, "metadata").get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "Job":
                    pods_by_owner.setdefault(str(ref.get("uid")), []).append(pod)
        live = set()
        for job in jobs:
            uid = str(sub(job, "metadata").get("uid"))
            live.add(uid)
            due = self._due.get(uid)
            if not everything and due is not None and uid not in touched and not any(t <= now for t in due):
                continue
            errors = len(self.errors)
            try:
                self.sync(job, pods_by_owner.get(uid, []))
            except ApiError as e:
                self._feed.retry.add(uid)
                if e.code not in (404, 409):
                    self.errors.append(f"{sub(job, 'metadata').get('name')}: {e.message}")
            if len(self.errors) != errors:
                self._feed.retry.add(uid)
            self._due[uid] = self._job_due(job, self.clock.now())
        for pod in all_pods:  # syncOrphanPod: drop the tracking finalizer of pods whose Job is gone
            refs = [r for r in sub(pod, "metadata").get("ownerReferences") or [] if r.get("controller")]
            if JOB_TRACKING_FINALIZER in finalizers_of(pod) and not any(
                str(r.get("uid")) in live for r in refs
            ):
                self._drop_finalizer(pod)
        for uid in [u for u in self.memory if u not in live]:
            del self.memory[uid]
        for uid in [u for u in self._due if u not in live]:
            del self._due[uid]
        now = self.clock.now()
        future = [t for times in self._due.values() for t in times if t > now]
        self._feed.unfinished = False
        return min(future) if future else None

    def _job_due(self, job: Obj, now: float) -> list[float]:
        """The Job's future deadline, TTL expiry and back-off expiries (emulated times after ``now``)."""
        times: list[float] = []
        spec, status = sub(job, "spec"), sub(job, "status")
        if is_finished(job):
            ttl = spec.get("ttlSecondsAfterFinished")
            cond = _condition(status, "Complete") or _condition(status, "Failed")
            if isinstance(ttl, int) and cond and cond.get("lastTransitionTime"):
                times.append(parse_time(str(cond["lastTransitionTime"])) + ttl)
            return [t for t in times if t > now]
        ads = spec.get("activeDeadlineSeconds")
        if isinstance(ads, int) and status.get("startTime") and not spec.get("suspend"):
            times.append(parse_time(str(status["startTime"])) + ads)
        mem = self.memory.get(str(sub(job, "metadata").get("uid")))
        if mem is not None:
            if mem.last_failure is not None:
                times.append(now + self._remaining(mem.failures_after_success, mem.last_failure, now))
            for i, last in mem.index_last_failure.items():
                times.append(now + self._remaining(mem.index_failures.get(i, 0), last, now))
        return [t for t in times if t > now]

    def _drop_finalizer(self, pod: Obj) -> None:
        m = sub(pod, "metadata")
        self.registry.remove_finalizer(
            "pods", str(m.get("namespace")), str(m.get("name")), JOB_TRACKING_FINALIZER
        )

    # --------------------------------------------------------------------------- sync
    def sync(self, job: Obj, pods: list[Obj]) -> None:
        m = sub(job, "metadata")
        ns, name, uid = str(m.get("namespace")), str(m.get("name")), str(m.get("uid"))
        spec = sub(job, "spec")
        now = self.clock.now()
        if m.get("deletionTimestamp"):
            for p in pods:
                if JOB_TRACKING_FINALIZER in finalizers_of(p):
                    self._drop_finalizer(p)
            return
        if is_finished(job):
            for p in pods:
                if JOB_TRACKING_FINALIZER in finalizers_of(p):
                    self._drop_finalizer(p)
            self._ttl(job, now)
            return
        managed_by = spec.get("managedBy")
        if managed_by not in (None, "kubernetes.io/job-controller"):
            return
        mem = self.memory.setdefault(uid, JobMemory())
        status: Obj = deepcopy(sub(job, "status"))
        indexed = spec.get("completionMode") == "Indexed"
        completions: int | None = spec.get("completions")
        per_index = indexed and spec.get("backoffLimitPerIndex") is not None
        only_failed = spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None

        def is_failed(p: Obj) -> bool:
            phase = sub(p, "status").get("phase")
            if phase == "Failed":
                return True
            if only_failed:
                return False
            return bool(sub(p, "metadata").get("deletionTimestamp")) and phase != "Succeeded"

        pods = sorted(
            pods,
            key=lambda p: (
                str(sub(p, "metadata").get("creationTimestamp")),
                str(sub(p, "metadata").get("name")),
            ),
        )
        tracked = [p for p in pods if JOB_TRACKING_FINALIZER in finalizers_of(p)]
        new_succeeded = [p for p in tracked if sub(p, "status").get("phase") == "Succeeded"]
        new_failed = [p for p in tracked if sub(p, "status").get("phase") != "Succeeded" and is_failed(p)]
        if indexed:

            def valid(p: Obj) -> bool:
                i = pod_index(p)
                return i is not None and completions is not None and i < completions

            new_succeeded = [p for p in new_succeeded if valid(p)]
            new_failed = [p for p in new_failed if valid(p)]

        fail_job_message: str | None = None
        counted_failed = 0
        for p in new_failed:
            action, message = self._match_policy(spec, p)
            idx = pod_index(p)
            if action == "FailJob" and fail_job_message is None:
                fail_job_message = message
            if action == "Ignore":
                if idx is not None:
                    mem.index_ignored[idx] = mem.index_ignored.get(idx, 0) + 1
            else:
                counted_failed += 1
                if idx is not None and per_index:
                    mem.index_failures[idx] = mem.index_failures.get(idx, 0) + 1
                    mem.index_last_failure[idx] = now
                    if action == "FailIndex":
                        mem.failed_by_policy.add(idx)
        if new_succeeded:
            mem.failures_after_success = 0
            mem.last_failure = None
        if new_failed:
            mem.failures_after_success += len(new_failed)
            mem.last_failure = now
        status["failed"] = int_or(status.get("failed"), 0) + counted_failed
        succeeded_indexes: set[int] = set()
        failed_indexes: set[int] = set()
        if indexed:
            succeeded_indexes = parse_indexes(str(status.get("completedIndexes") or ""))
            succeeded_indexes |= {i for p in new_succeeded if (i := pod_index(p)) is not None}
            status["succeeded"] = len(succeeded_indexes)
            if per_index:
                limit = int_or(spec.get("backoffLimitPerIndex"), 0)
                failed_indexes = parse_indexes(str(status.get("failedIndexes") or ""))
                failed_indexes |= {
                    i for i, n in mem.index_failures.items() if n > limit
                } | mem.failed_by_policy
                failed_indexes -= succeeded_indexes
        else:
            status["succeeded"] = int_or(status.get("succeeded"), 0) + len(new_succeeded)
        for p in tracked:
            if p in new_succeeded or p in new_failed:
                self._drop_finalizer(p)

        active = [
            p
            for p in pods
            if sub(p, "status").get("phase") not in ("Succeeded", "Failed")
            and not sub(p, "metadata").get("deletionTimestamp")
        ]
        terminating = [
            p
            for p in pods
            if sub(p, "status").get("phase") not in ("Succeeded", "Failed")
            and sub(p, "metadata").get("deletionTimestamp")
        ]
        if status.get("startTime") is None and not spec.get("suspend"):
            status["startTime"] = self.clock.timestamp(now)

        # ---- is the Job finished?
        finished: tuple[str, str, str] | None = None  # (kind, reason, message)
        target = _condition(status, "FailureTarget")
        success = _condition(status, "SuccessCriteriaMet")
        if success is not None and success.get("status") == "True":
            finished = ("Complete", str(success.get("reason") or ""), str(success.get("message") or ""))
        elif target is not None and target.get("status") == "True":
            finished = ("Failed", str(target.get("reason")), str(target.get("message")))
        elif fail_job_message is not None:
            finished = ("Failed", "PodFailurePolicy", fail_job_message)
        if finished is None:
            backoff_limit = int_or(spec.get("backoffLimit"), 6)
            if status["failed"] > backoff_limit or self._past_backoff_on_failure(spec, pods):
                finished = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            elif self._past_deadline(spec, status, now):
                finished = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
            elif per_index and completions is not None:
                mfi = spec.get("maxFailedIndexes")
                if isinstance(mfi, int) and len(failed_indexes) > mfi:
                    finished = (
                        "Failed",
                        "MaxFailedIndexesExceeded",
                        "Job has exceeded the specified maximal number of failed indexes",
                    )
                elif failed_indexes and len(failed_indexes) + len(succeeded_indexes) >= completions:
                    finished = ("Failed", "FailedIndexes", "Job has failed indexes")

        if finished is not None and finished[0] == "Failed":
            for p in active:  # every pod still running counts as failed, and is not counted again
                self._delete_pod(p)
                if JOB_TRACKING_FINALIZER in finalizers_of(p):
                    status["failed"] += 1
                    self._drop_finalizer(p)
            terminating += active
            active = []
        elif finished is None:
            active = self._manage(
                job, spec, status, mem, active, terminating, succeeded_indexes, failed_indexes, now
            )
            done = (
                int_or(status.get("succeeded"), 0) > 0
                if completions is None
                else int_or(status.get("succeeded"), 0) >= completions
            )
            if done and not active:
                finished = ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")

        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if _true(sub(p, "status"), "Ready"))
        if JOB_POD_REPLACEMENT_POLICY in self.registry.gates:
            status["terminating"] = len(terminating)
        if indexed:
            status["completedIndexes"] = compress_indexes(succeeded_indexes)
            if per_index:
                status["failedIndexes"] = compress_indexes(failed_indexes)
        status["uncountedTerminatedPods"] = {}
        if finished is not None:
            self._finish(status, finished, bool(terminating), now)
        for key in ("active", "succeeded", "failed"):
            if not status.get(key):
                status.pop(key, None)
        if not status.get("completedIndexes"):
            status.pop("completedIndexes", None)

        if status == sub(job, "status"):
            return  # nothing new to report: skip the write (a later change syncs the Job again)

        def write(j: Obj) -> None:
            j["status"] = status

        self.registry.mutate("jobs", ns, name, write)

    def _finish(self, status: Obj, finished: tuple[str, str, str], terminating: bool, now: float) -> None:
        kind, reason, message = finished
        delayed = self.registry.minor >= 31
        ts = self.clock.timestamp(now)
        conds = _conditions(status)
        status["conditions"] = conds
        if delayed:
            interim = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
            if _condition(status, interim) is None:
                conds.append(_new_condition(interim, reason, message, ts))
            if terminating:
                return
        elif kind == "Complete":
            reason, message = "", ""
        if _condition(status, kind) is None:
            conds.append(_new_condition(kind, reason, message, ts))
            if kind == "Complete":
                status["completionTime"] = ts

    def _manage(
        self,
        job: Obj,
        spec: Obj,
        status: Obj,
        mem: JobMemory,
        active: list[Obj],
        terminating: list[Obj],
        succeeded_indexes: set[int],
        failed_indexes: set[int],
        now: float,
    ) -> list[Obj]:
        """``manageJob``: create or delete pods; returns the pods now active."""
        ts = self.clock.timestamp(now)
        if spec.get("suspend"):
            for p in active:
                if JOB_TRACKING_FINALIZER in finalizers_of(p):
                    self._drop_finalizer(p)
                self._delete_pod(p)
            _ensure_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", ts)
            return []
        suspended = _condition(status, "Suspended")
        if suspended is not None and suspended.get("status") == "True":
            _ensure_condition(status, "Suspended", "False", "JobResumed", "Job resumed", ts)
            status["startTime"] = ts
        parallelism = int_or(spec.get("parallelism"), 1)
        completions = spec.get("completions")
        succeeded = int_or(status.get("succeeded"), 0)
        if completions is None:
            want = len(active) if succeeded > 0 else parallelism
        else:
            want = max(0, min(completions - succeeded, parallelism))
        indexed = spec.get("completionMode") == "Indexed"
        if indexed:
            # Pods of indexes that are already done (or duplicated) are removed first.
            seen: set[int] = set()
            keep: list[Obj] = []
            for p in active:
                i = pod_index(p)
                if i is None or i in succeeded_indexes or i in failed_indexes or i in seen:
                    self._delete_pod(p)
                else:
                    seen.add(i)
                    keep.append(p)
            active = keep
        if len(active) > want:
            ordered = sorted(
                active,
                key=lambda p: (
                    _true(sub(p, "status"), "Ready"),
                    str(sub(p, "status").get("phase")) == "Running",
                ),
            )
            for p in ordered[: len(active) - want]:
                self._delete_pod(p)
                active.remove(p)
            return active
        only_failed = spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None
        diff = want - len(active) - (len(terminating) if only_failed else 0)
        if diff <= 0:
            return active
        per_index = indexed and spec.get("backoffLimitPerIndex") is not None
        if not per_index and self._remaining(mem.failures_after_success, mem.last_failure, now) > 0:
            return active
        to_create: list[int | None]
        if indexed and isinstance(completions, int):
            busy = {pod_index(p) for p in active + terminating}
            pending = [
                i
                for i in range(completions)
                if i not in succeeded_indexes and i not in failed_indexes and i not in busy
            ]
            if per_index:
                pending = [
                    i
                    for i in pending
                    if self._remaining(mem.index_failures.get(i, 0), mem.index_last_failure.get(i), now) <= 0
                ]
            to_create = list(pending[:diff])
        else:
            to_create = [None] * diff
        for index in to_create:
            pod = self._create_pod(job, spec, mem, index, per_index)
            if pod is not None:
                active.append(pod)
        return active

    def _remaining(self, failures: int, last: float | None, now: float) -> float:
        """``getRemainingTime``: back-off left before the next pod may be created."""
        if failures <= 0 or last is None:
            return 0.0
        delay: float = min(self.backoff * 2.0 ** (failures - 1), self.max_backoff)
        return max(0.0, delay - (now - last))

    def _create_pod(
        self, job: Obj, spec: Obj, mem: JobMemory, index: int | None, per_index: bool
    ) -> Obj | None:
        m = sub(job, "metadata")
        name, ns, uid = str(m.get("name")), str(m.get("namespace")), str(m.get("uid"))
        template = deepcopy(sub(spec, "template"))
        pod_meta: Obj = deepcopy(sub(template, "metadata"))
        pod_meta.pop("name", None)
        pod_meta["generateName"] = pod_generate_name(name, index)
        pod_meta["namespace"] = ns
        fins = list(pod_meta.get("finalizers") or [])
        if JOB_TRACKING_FINALIZER not in fins:
            fins.append(JOB_TRACKING_FINALIZER)
        pod_meta["finalizers"] = fins
        pod_meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": name,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        pod_spec: Obj = deepcopy(sub(template, "spec"))
        if index is not None:
            pod_meta.setdefault("annotations", {})[INDEX_KEY] = str(index)
            if self.registry.minor >= 28:
                pod_meta.setdefault("labels", {})[INDEX_KEY] = str(index)
            pod_spec["hostname"] = f"{name}-{index}"
            source = "labels" if self.registry.minor >= 28 else "annotations"
            for key in ("initContainers", "containers"):
                for c in pod_spec.get(key) or []:
                    env: list[Any] = c.setdefault("env", [])
                    if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                        env.append(
                            {
                                "name": "JOB_COMPLETION_INDEX",
                                "valueFrom": {
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": f"metadata.{source}['{INDEX_KEY}']",
                                    }
                                },
                            }
                        )
            if per_index:
                pod_meta["annotations"][FAILURE_COUNT_KEY] = str(mem.index_failures.get(index, 0))
                if mem.index_ignored.get(index):
                    pod_meta["annotations"][IGNORED_COUNT_KEY] = str(mem.index_ignored[index])
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}
        try:
            created = self.registry.create(BY_PLURAL["pods"], ns, pod, decoded=True).body
        except ApiError as e:
            mem.create_errors.append(e.message)
            self.errors.append(f"{name}: FailedCreate: {e.message}")
            return None
        slot = -1 if index is None else index
        attempt = mem.attempts.get(slot, 0)
        mem.attempts[slot] = attempt + 1
        self.attempts[str(sub(created, "metadata").get("uid"))] = attempt
        return created

    def _delete_pod(self, pod: Obj) -> None:
        m = sub(pod, "metadata")
        with contextlib.suppress(ApiError):
            self.registry.delete_internal("pods", str(m.get("namespace")), str(m.get("name")))

    def _past_deadline(self, spec: Obj, status: Obj, now: float) -> bool:
        ads = spec.get("activeDeadlineSeconds")
        start = status.get("startTime")
        if not isinstance(ads, int) or not start or spec.get("suspend"):
            return False
        return bool(now - parse_time(str(start)) >= ads)

    def _past_backoff_on_failure(self, spec: Obj, pods: list[Obj]) -> bool:
        if sub(spec, "template", "spec").get("restartPolicy") != "OnFailure":
            return False
        restarts = 0
        for p in pods:
            if sub(p, "status").get("phase") in ("Running", "Pending"):
                for key in ("initContainerStatuses", "containerStatuses"):
                    restarts += sum(int_or(s.get("restartCount"), 0) for s in sub(p, "status").get(key) or [])
        limit = int_or(spec.get("backoffLimit"), 6)
        return restarts > 0 if limit == 0 else restarts >= limit

    def _match_policy(self, spec: Obj, pod: Obj) -> tuple[str | None, str]:
        """``matchPodFailurePolicy``: the action of the first matching rule (None: count it)."""
        policy = spec.get("podFailurePolicy")
        if not isinstance(policy, dict):
            return None, ""
        pm = sub(pod, "metadata")
        where = f"{pm.get('namespace')}/{pm.get('name')}"
        status = sub(pod, "status")
        statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
        for i, rule in enumerate(policy.get("rules") or []):
            action = str(rule.get("action"))
            codes = rule.get("onExitCodes")
            if isinstance(codes, dict):
                values = set(codes.get("values") or [])
                for cs in statuses:
                    if codes.get("containerName") not in (None, cs.get("name")):
                        continue
                    term = sub(cs, "state", "terminated")
                    code = term.get("exitCode")
                    if not isinstance(code, int) or code == 0:
                        continue
                    if (code in values) == (codes.get("operator") == "In"):
                        return action, (
                            f"Container {cs.get('name')} for pod {where} failed with exit code {code} "
                            f"matching {action} rule at index {i}"
                        )
            for pattern in rule.get("onPodConditions") or []:
                for cond in status.get("conditions") or []:
                    if cond.get("type") == pattern.get("type") and cond.get("status") == pattern.get(
                        "status", "True"
                    ):
                        kind = cond.get("type")
                        return action, f"Pod {where} has condition {kind} matching {action} rule at index {i}"
        return None, ""

    def _ttl(self, job: Obj, now: float) -> None:
        """The TTL-after-finished controller: delete (foreground) ``ttl`` seconds after finishing."""
        ttl = sub(job, "spec").get("ttlSecondsAfterFinished")
        if not isinstance(ttl, int):
            return
        status = sub(job, "status")
        cond = _condition(status, "Complete") or _condition(status, "Failed")
        finished_at = str((cond or {}).get("lastTransitionTime") or status.get("completionTime") or "")
        if not finished_at or now < parse_time(finished_at) + ttl:
            return
        m = sub(job, "metadata")
        with contextlib.suppress(ApiError):
            self.registry.delete_internal(
                "jobs",
                str(m.get("namespace")),
                str(m.get("name")),
                {"propagationPolicy": "Foreground", "preconditions": {"uid": m.get("uid")}},
            )


def _new_condition(type_: str, reason: str, message: str, ts: str) -> Obj:
    c: Obj = {"type": type_, "status": "True", "lastProbeTime": ts, "lastTransitionTime": ts}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def _ensure_condition(status: Obj, type_: str, value: str, reason: str, message: str, ts: str) -> None:
    """``ensureJobConditionStatus``: never adds a False condition, updates an existing one."""
    conds = _conditions(status)
    status["conditions"] = conds
    existing = _condition(status, type_)
    if existing is not None:
        if (existing.get("status"), existing.get("reason"), existing.get("message")) != (
            value,
            reason,
            message,
        ):
            existing.clear()
            existing.update(
                {
                    "type": type_,
                    "status": value,
                    "lastProbeTime": ts,
                    "lastTransitionTime": ts,
                    "reason": reason,
                    "message": message,
                }
            )
    elif value != "False":
        conds.append(
            {
                "type": type_,
                "status": value,
                "lastProbeTime": ts,
                "lastTransitionTime": ts,
                "reason": reason,
                "message": message,
            }
        )
    if not conds:
        status.pop("conditions", None)
