"""The Kubernetes backend: each attempt one native ``batch/v1`` Job; no controller, no CRD, no sidecar.

One watch per run (Jobs with the run's label), resumed from the last ``resourceVersion`` and re-listed
on 410 Gone, drives everything: no per-Job polling.  Pods are read only when a finished attempt has
outputs to return or failed (for its exit code).  Because Job names are deterministic, a create that
answers 409 AlreadyExists is our own Job from an earlier life of this run: it is adopted, never
duplicated, which is how ``kjob resume`` finishes a run whose client died.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import urllib3

from kjob.backends.base import AttemptEvent, AttemptFinished, AttemptPhase, AttemptSpec, AttemptStarted, drain
from kjob.backends.kubernetes import manifests, names
from kjob.backends.kubernetes.cluster import Cluster
from kjob.backends.kubernetes.manifests import RunObject
from kjob.errors import ClusterError, KjobError
from kubernetes import client, watch

RESULT_LIMIT = 256 * 1024
WATCH_TIMEOUT = 30

Notice = Callable[[str], None]


@dataclass(eq=False)
class _Tracked:
    spec: AttemptSpec
    job: str
    started: bool = False
    done: bool = False


class KubernetesBackend:
    """Runs attempts as Jobs in ``cluster.namespace``; see the module docstring."""

    name = "kubernetes"

    def __init__(
        self,
        cluster: Cluster,
        run: RunObject,
        *,
        notice: Notice | None = None,
        ttl_seconds_after_finished: int | None = None,
        queue_name: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.run = run
        self._notice = notice or (lambda _m: None)
        self._ttl = ttl_seconds_after_finished
        self._queue_name = queue_name
        self._events: queue.Queue[AttemptEvent] = queue.Queue()
        self._lock = threading.Lock()
        self._tracked: dict[str, _Tracked] = {}  # attempt id -> tracked
        self._by_job: dict[str, str] = {}  # job name -> attempt id
        self._latest: dict[str, client.V1Job] = {}  # job name -> last state seen
        self._scripts: set[str] = set()
        self._stop = threading.Event()
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kjob-outputs")
        self._ready = threading.Event()
        self._watcher = threading.Thread(target=self._watch_loop, name="kjob-watch", daemon=True)
        self._watcher.start()
        self._ready.wait(timeout=30)

    # ------------------------------------------------------------------------------ run object
    @staticmethod
    def create_run(
        cluster: Cluster, run_id: str, *, workflow_text: str, parameters: dict[str, str]
    ) -> RunObject:
        body: Any = manifests.run_configmap(
            run_id, cluster.namespace, workflow_text=workflow_text, parameters=parameters
        )
        try:
            created = cluster.core.create_namespaced_config_map(cluster.namespace, body)
        except client.ApiException as err:
            if err.status == 409:
                raise KjobError(
                    f"a run named '{run_id}' already exists in namespace {cluster.namespace}",
                    hint=f"finish it with `kjob resume {run_id}`, or use metadata.generateName",
                ) from None
            if err.status == 404:
                raise ClusterError(
                    f"namespace '{cluster.namespace}' does not exist",
                    hint="create it (kubectl create namespace ...) or choose another with -n",
                ) from None
            raise _cluster_error("create the run object", err) from None
        return RunObject(run_id, cluster.namespace, str(_meta(created).uid))

    @staticmethod
    def open_run(cluster: Cluster, run_id: str) -> tuple[RunObject, str, dict[str, str]]:
        """An existing run: its object, workflow text and parameters (for ``kjob resume``)."""
        try:
            cm = cluster.core.read_namespaced_config_map(run_id, cluster.namespace)
        except client.ApiException as err:
            if err.status == 404:
                raise KjobError(f"no run '{run_id}' in namespace {cluster.namespace}") from None
            raise _cluster_error("read the run object", err) from None
        data = cm.data or {}
        if (_meta(cm).labels or {}).get(names.LABEL_ROLE) != "run" or "workflow.yaml" not in data:
            raise KjobError(f"configmap '{run_id}' in namespace {cluster.namespace} is not a kjob run")
        params = json.loads(data.get("parameters.json") or "{}")
        return RunObject(run_id, cluster.namespace, str(_meta(cm).uid)), data["workflow.yaml"], params

    # ------------------------------------------------------------------------------- interface
    def now(self) -> float:
        return time.monotonic()

    def submit(self, spec: AttemptSpec) -> None:
        try:
            body: Any = manifests.job_manifest(
                spec, self.run, ttl_seconds_after_finished=self._ttl, queue=self._queue_name
            )
            if spec.container.source is not None:
                self._ensure_script(spec.container.source)
        except KjobError as err:
            self._events.put(self._ended(spec, AttemptPhase.ERROR, err.message))
            return
        job: str = body["metadata"]["name"]
        tracked = _Tracked(spec, job)
        with self._lock:
            self._tracked[spec.attempt_id] = tracked
            self._by_job[job] = spec.attempt_id
            seen = self._latest.get(job)
        try:
            self.cluster.batch.create_namespaced_job(self.run.namespace, body)
        except client.ApiException as err:
            if err.status != 409:
                self._finish(tracked, AttemptPhase.ERROR, f"the cluster refused the Job: {_reason(err)}")
                return
            seen = seen or self._read_job(job)  # ours from before: adopt it
            if seen is None:
                self._finish(tracked, AttemptPhase.ERROR, f"Job {job} exists but cannot be read")
                return
        if seen is not None:
            self._observe(seen)

    def cancel(self, attempt_id: str) -> None:
        with self._lock:
            tracked = self._tracked.get(attempt_id)
        if tracked is None or tracked.done:
            return
        try:
            self.cluster.batch.delete_namespaced_job(
                tracked.job, self.run.namespace, propagation_policy="Background"
            )
        except client.ApiException as err:
            if err.status != 404:
                self._notice(f"could not delete Job {tracked.job}: {_reason(err)}")
        self._finish(tracked, AttemptPhase.FAILED, "stopped")

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        return drain(self._events, timeout)

    def close(self) -> None:
        self._stop.set()
        self._workers.shutdown(wait=True, cancel_futures=True)
        # The watch thread may be blocked reading a quiet stream; it is a daemon and notices the
        # stop flag at its next event or timeout, so there is nothing to wait for.
        self._watcher.join(timeout=0.5)

    # ----------------------------------------------------------------------------------- watch
    def _watch_loop(self) -> None:
        resource_version: str | None = None
        delay = 0.2
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    listed = self.cluster.batch.list_namespaced_job(
                        self.run.namespace, label_selector=names.run_selector(self.run.run_id)
                    )
                    resource_version = listed.metadata.resource_version if listed.metadata else None
                    for job in listed.items:
                        self._observe(job)
                    self._ready.set()
                stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                    self.cluster.batch.list_namespaced_job,
                    self.run.namespace,
                    label_selector=names.run_selector(self.run.run_id),
                    resource_version=resource_version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=WATCH_TIMEOUT,
                )
                for event in stream:
                    obj = event["object"]
                    resource_version = _resource_version(obj) or resource_version
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._observe(obj)
                    if self._stop.is_set():
                        break
                delay = 0.2
            except client.ApiException as err:
                if err.status == 410:
                    resource_version = None  # too old: list again
                    continue
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            except (urllib3.exceptions.HTTPError, OSError, ValueError):
                self._stop.wait(delay)  # dropped: watch again from where we were
                delay = min(delay * 2, 5.0)

    def _observe(self, job: client.V1Job) -> None:
        name = str(_meta(job).name)
        with self._lock:
            self._latest[name] = job
            attempt_id = self._by_job.get(name)
            tracked = self._tracked.get(attempt_id) if attempt_id else None
        if tracked is None or tracked.done:
            return
        status = job.status or client.V1JobStatus()
        if not tracked.started and (status.active or status.start_time or status.succeeded or status.failed):
            tracked.started = True
            self._events.put(AttemptStarted(tracked.spec.attempt_id, self.now()))
        condition = _terminal_condition(status)
        if condition is not None:
            with self._lock:
                if tracked.done:
                    return
                tracked.done = True
            self._workers.submit(self._conclude, tracked, condition)

    # --------------------------------------------------------------------------------- results
    def _conclude(self, tracked: _Tracked, condition: client.V1JobCondition) -> None:
        spec = tracked.spec
        try:
            if condition.type == "Complete":
                self._events.put(self._succeeded(tracked))
            else:
                self._events.put(self._failed(tracked, condition))
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            message = _reason(err) if isinstance(err, client.ApiException) else str(err)
            self._events.put(self._ended(spec, AttemptPhase.ERROR, f"reading results: {message}"))

    def _succeeded(self, tracked: _Tracked) -> AttemptFinished:
        spec = tracked.spec
        if manifests.output_mode(spec) == "none" and not spec.wants_result:
            return self._ended(spec, AttemptPhase.SUCCEEDED, "", exit_code=0)
        pod = self._pod(tracked.job, want="Succeeded")
        terminated = _terminated(pod)
        result = self._log(pod) if spec.wants_result and pod is not None else None
        values, missing, problem = manifests.parse_outputs(spec, terminated.message if terminated else None)
        if problem:
            return self._ended(spec, AttemptPhase.ERROR, problem, exit_code=0, result=result)
        return AttemptFinished(
            spec.attempt_id,
            AttemptPhase.SUCCEEDED,
            self.now(),
            exit_code=0,
            result=result,
            parameters=values,
            missing_outputs=tuple(missing),
        )

    def _failed(self, tracked: _Tracked, condition: client.V1JobCondition) -> AttemptFinished:
        spec = tracked.spec
        if condition.reason == "DeadlineExceeded":
            limit = f" of {spec.deadline:g}s" if spec.deadline else ""
            return self._ended(spec, AttemptPhase.FAILED, f"exceeded its deadline{limit}")
        pod = self._pod(tracked.job, want="Failed")
        terminated = _terminated(pod)
        result = self._log(pod) if spec.wants_result and pod is not None else None
        if terminated is None:
            why = condition.message or condition.reason or "the Job failed"
            return self._ended(spec, AttemptPhase.ERROR, why, result=result)
        code = terminated.exit_code
        detail = f" ({terminated.reason})" if terminated.reason not in (None, "Error") else ""
        return self._ended(
            spec, AttemptPhase.FAILED, f"exit code {code}{detail}", exit_code=code, result=result
        )

    def _ended(
        self,
        spec: AttemptSpec,
        phase: AttemptPhase,
        message: str,
        *,
        exit_code: int | None = None,
        result: str | None = None,
    ) -> AttemptFinished:
        return AttemptFinished(
            spec.attempt_id, phase, self.now(), exit_code=exit_code, result=result, message=message
        )

    def _pod(self, job: str, *, want: str) -> client.V1Pod | None:
        selector = f"job-name={job}"
        pods = self.cluster.core.list_namespaced_pod(self.run.namespace, label_selector=selector).items
        matching = [p for p in pods if p.status is not None and p.status.phase == want] or pods
        matching.sort(key=lambda p: str(_meta(p).creation_timestamp or ""))
        return matching[-1] if matching else None

    def _log(self, pod: client.V1Pod) -> str:
        name = str(_meta(pod).name)
        text: str = self.cluster.core.read_namespaced_pod_log(name, self.run.namespace, container="main")
        return text[-RESULT_LIMIT:].rstrip("\r\n")

    def _read_job(self, name: str) -> client.V1Job | None:
        try:
            job: client.V1Job = self.cluster.batch.read_namespaced_job(name, self.run.namespace)
        except client.ApiException:
            return None
        return job

    def _ensure_script(self, source: str) -> None:
        key = manifests.script_key(source)
        if key in self._scripts:
            return
        try:
            self.cluster.core.patch_namespaced_config_map(
                self.run.run_id, self.run.namespace, {"data": {key: source}}
            )
        except client.ApiException as err:
            raise _cluster_error("store the script", err) from None
        self._scripts.add(key)

    def _finish(self, tracked: _Tracked, phase: AttemptPhase, message: str) -> None:
        with self._lock:
            if tracked.done:
                return
            tracked.done = True
        self._events.put(self._ended(tracked.spec, phase, message))


def _meta(obj: Any) -> client.V1ObjectMeta:
    meta = getattr(obj, "metadata", None)
    return meta if meta is not None else client.V1ObjectMeta()


def _terminal_condition(status: client.V1JobStatus) -> client.V1JobCondition | None:
    for condition in status.conditions or ():
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition
    return None


def _terminated(pod: client.V1Pod | None) -> client.V1ContainerStateTerminated | None:
    if pod is None or pod.status is None:
        return None
    for status in pod.status.container_statuses or ():
        if status.name == "main" and status.state is not None and status.state.terminated is not None:
            terminated: client.V1ContainerStateTerminated = status.state.terminated
            return terminated
    return None


def _resource_version(obj: Any) -> str | None:
    if isinstance(obj, dict):
        value = (obj.get("metadata") or {}).get("resourceVersion")
        return str(value) if value else None
    meta = getattr(obj, "metadata", None)
    return getattr(meta, "resource_version", None)


def _reason(err: client.ApiException) -> str:
    try:
        body = json.loads(err.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return f"{err.status} {message or err.reason}"


def _cluster_error(what: str, err: client.ApiException) -> ClusterError:
    return ClusterError(f"could not {what}: {_reason(err)}")
