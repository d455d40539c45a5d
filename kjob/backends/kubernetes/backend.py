"""The Kubernetes backend: each attempt one native ``batch/v1`` Job; no controller, no CRD, no sidecar.

One watch per run (Jobs with the run's label), resumed from the last ``resourceVersion`` and re-listed
on 410 Gone, drives everything: no per-Job polling.  Pods are read only when a finished attempt has
outputs to return or failed (for its exit code).  Because Job names are deterministic, a create that
answers 409 AlreadyExists is our own Job from an earlier life of this run: it is adopted, never
duplicated, which is how ``kjob resume`` finishes a run whose client died.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import urllib3

from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptReady,
    AttemptSpec,
    AttemptStarted,
    AttemptWaiting,
    drain,
)
from kjob.backends.kubernetes import daemons, features, heldup, permissions
from kjob.backends.kubernetes.cluster import Cluster
from kjob.errors import AccessError, ClusterError, KjobError
from kjob.render import indexed, manifests, names, workspace
from kjob.render.intervals import parse_indexes
from kjob.render.manifests import RunObject
from kubernetes import client, watch

if TYPE_CHECKING:
    from kjob.backends.resources.action import Owner
    from kjob.backends.resources.runner import ResourceRunner

RESULT_LIMIT = 256 * 1024
HELD_UP_AFTER = 10.0  # seconds a pod may be not ready before kjob looks at why
WATCH_TIMEOUT = 30

Notice = Callable[[str], None]


class RunExistsError(KjobError):
    """Another client created a run of that name first."""


@dataclass(frozen=True, slots=True)
class HeldRun:
    """A run as its object in the cluster holds it: what ``kjob resume`` needs to go on with it."""

    run: RunObject
    workflow_text: str
    parameters: dict[str, str]
    templates_text: str = ""  # the WorkflowTemplates it uses from elsewhere ("" if none)


@dataclass(eq=False)
class _Tracked:
    spec: AttemptSpec
    job: str
    index: int | None = None  # the completion index, for an item of an Indexed Job
    started: bool = False
    done: bool = False
    cancelled: bool = False
    started_at: float | None = None
    held_up: str | None = None  # why its pod is stuck, as last reported
    ready: bool = False  # a daemon whose pod was found Ready (reported once)


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
        indexed_jobs: bool = True,
        held_up_after: float = HELD_UP_AFTER,
    ) -> None:
        self.cluster = cluster
        self.run = run
        self._notice = notice or (lambda _m: None)
        self._ttl = ttl_seconds_after_finished
        self._queue_name = queue_name
        self._events: queue.Queue[AttemptEvent | None] = queue.Queue()  # None: wake up, see _fatal
        self._fatal: KjobError | None = None  # the run cannot go on (refused access, namespace gone)
        self._lock = threading.Lock()
        self._tracked: dict[str, _Tracked] = {}  # attempt id -> tracked
        self._by_job: dict[str, list[_Tracked]] = {}  # job name -> its attempt (or items)
        self._latest: dict[str, client.V1Job] = {}  # job name -> last state seen
        # (fan-out, item, attempt) -> (Indexed Job, completion index), for every one seen: adopted on resume
        self._items_seen: dict[tuple[str, int, int], tuple[str, int]] = {}
        self._indexed: bool | None = None if indexed_jobs else False  # None: not probed yet
        self._native_sidecars: bool | None = None  # None: not probed yet
        self._scripts: set[str] = set()
        self._settled: set[str] = set()  # Jobs whose TTL was set (or that need none)
        self._split_said: set[str] = set()  # fan-outs whose split into parts was told
        self._handed: set[str] = set()  # waiting parts (parallelism 0) given a share
        self._stop = threading.Event()
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kjob-outputs")
        self._creates = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kjob-create")
        self._ready = threading.Event()
        self._watcher = threading.Thread(target=self._watch_loop, name="kjob-watch", daemon=True)
        self._watcher.start()
        self._held_up_after = held_up_after
        self.resources: ResourceRunner | None = None  # resource templates' attempts, see perform_resources
        threading.Thread(target=self._held_up_loop, name="kjob-held-up", daemon=True).start()
        self._ready.wait(timeout=30)
        if self._fatal is not None:
            self.close()
            raise self._fatal

    # ------------------------------------------------------------------------------ run object
    @staticmethod
    def create_run(
        cluster: Cluster,
        run_id: str,
        *,
        workflow_text: str,
        parameters: dict[str, str],
        workspace_claim: str | None = None,
        templates_text: str = "",
    ) -> RunObject:
        token = uuid.uuid4().hex
        body: Any = manifests.run_configmap(
            run_id,
            cluster.namespace,
            workflow_text=workflow_text,
            parameters=parameters,
            workspace_claim=workspace_claim,
            creator=token,
            templates_text=templates_text,
        )
        try:
            created = cluster.core.create_namespaced_config_map(cluster.namespace, body)
        except client.ApiException as err:
            if err.status == 409 and (mine := _own_run_object(cluster, run_id, token)) is not None:
                created = mine  # our create, retried after its answer was lost
            elif err.status == 409:
                raise RunExistsError(
                    f"a run named '{run_id}' already exists in namespace {cluster.namespace}",
                    hint=f"finish it with `kjob resume {run_id}`, or use metadata.generateName",
                ) from None
            elif err.status == 404:
                raise ClusterError(
                    f"namespace '{cluster.namespace}' does not exist",
                    hint="create it (kubectl create namespace ...) or choose another with -n",
                ) from None
            else:
                raise _cluster_error("create the run object", err) from None
        return RunObject(run_id, cluster.namespace, str(_meta(created).uid), workspace_claim)

    @staticmethod
    def discard_run(cluster: Cluster, run: RunObject) -> None:
        """Delete a run object that never got to create anything (best effort)."""
        with contextlib.suppress(client.ApiException, urllib3.exceptions.HTTPError, OSError):
            cluster.core.delete_namespaced_config_map(run.run_id, run.namespace)

    @staticmethod
    def open_run(cluster: Cluster, run_id: str) -> HeldRun:
        """An existing run: its object, workflow text, parameters and the templates it carries (for
        ``kjob resume``)."""
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
        claim = data.get(workspace.CONFIGMAP_KEY)
        run = RunObject(run_id, cluster.namespace, str(_meta(cm).uid), claim)
        return HeldRun(run, data["workflow.yaml"], params, data.get(manifests.TEMPLATES_KEY, ""))

    def perform_resources(self, owner: Owner | None) -> None:
        """Perform resource templates' attempts too, in the run's namespace (kjob.backends.resources);
        what they create with ``setOwnerReference`` is owned by ``owner``."""
        from kjob.backends.resources.runner import ResourceRunner

        self.resources = ResourceRunner(
            self.cluster.api,
            self.run.namespace,
            self.now,
            owner=owner,
            notice=self._notice,
            events=self._events,
        )

    # ------------------------------------------------------------------------------- interface
    def now(self) -> float:
        return time.monotonic()

    def submit(self, spec: AttemptSpec) -> None:
        if self.resources is not None and self.resources.takes(spec):
            return
        try:
            body: Any = manifests.job_manifest(
                spec,
                self.run,
                ttl_seconds_after_finished=self._ttl,
                queue=self._queue_name,
                native_sidecars=bool(spec.sidecars) and self._native_sidecars_work(),
            )
        except KjobError as err:
            self._events.put(self._ended(spec, AttemptPhase.ERROR, err.message))
            return
        job: str = body["metadata"]["name"]
        tracked = _Tracked(spec, job)
        with self._lock:
            self._tracked[spec.attempt_id] = tracked
            self._by_job[job] = [tracked]
        self._creates.submit(self._sending, [tracked], self._create_job, job, body, spec.container.source)

    def _create_job(self, job: str, body: Any, source: str | None) -> str | None:
        """Store the script, then create the Job (409: ours from before, adopted)."""
        if source is not None:
            self._ensure_script(source)
        try:
            self.cluster.batch.create_namespaced_job(self.run.namespace, body)
        except client.ApiException as err:
            if err.status != 409:
                return self._refusal("jobs", "the Job", err)
            return self._adopt(job)
        return None

    def _refusal(self, resource: str, what: str, err: client.ApiException) -> str:
        """Why a create was refused; a refusal that no retry can mend (RBAC, the namespace gone or
        going) also ends the run."""
        if _unrecoverable(err):
            self._fail(self._refused("create", resource, err))
        return f"the cluster refused {what}: {_reason(err)}"

    def _adopt(self, job: str) -> str | None:
        with self._lock:
            seen = self._latest.get(job)
        seen = seen or self._read_job(job)
        if seen is None:
            return f"Job {job} exists but cannot be read"
        self._observe(seen)
        return None

    def _sending(self, tracked: list[_Tracked], create: Callable[..., str | None], *args: Any) -> None:
        """Run ``create`` (on the create threads, so the engine never waits on HTTP); a refusal ends
        every attempt it carried, and a Job whose attempts were all cancelled meanwhile is deleted."""
        if all(t.cancelled for t in tracked):
            return  # cancelled before it was sent
        try:
            problem = create(*args)
        except KjobError as err:
            problem = err.message
        except (urllib3.exceptions.HTTPError, OSError) as err:
            problem = f"could not reach the cluster: {err}"
        if problem is not None:
            for t in tracked:
                self._finish(t, AttemptPhase.ERROR, problem)
        elif all(t.cancelled for t in tracked):
            self._delete_job(tracked[0].job)  # cancelled while it was being created

    def submit_batch(self, specs: Sequence[AttemptSpec], parallelism: int) -> bool:
        if any(s.resource is not None for s in specs):
            return False
        """A fan-out's items as Indexed Jobs (one, or a few parts when it is big: see :mod:`.indexed`);
        items an earlier life of this run already submitted are adopted from their Indexed Job
        instead."""
        if len(specs) < 2 or specs[0].daemon or not self._indexed_jobs_work():
            return False
        ordered = sorted(specs, key=lambda s: s.item_index or 0)
        layout = indexed.prepare(ordered)
        if isinstance(layout, str):
            return False
        fresh: list[AttemptSpec] = []
        for spec in ordered:
            if not self._adopt_item(spec):
                fresh.append(spec)
        if not fresh:
            return True
        try:
            planned = indexed.plan(
                fresh,
                self.run,
                parallelism=parallelism,
                ttl_seconds_after_finished=self._ttl,
                queue=self._queue_name,
                layout=layout if len(fresh) == len(ordered) else None,
            )
        except KjobError as err:
            for spec in fresh:
                self._events.put(self._ended(spec, AttemptPhase.ERROR, err.message))
            return True
        group = fresh[0].group_id
        if planned.split is not None and group not in self._split_said:
            self._split_said.add(group)
            self._notice(f"{group}: {planned.split}")
        for part in planned.parts:
            job: str = part.job["metadata"]["name"]
            tracked = [_Tracked(spec, job, index) for index, spec in enumerate(part.specs)]
            with self._lock:
                for t in tracked:
                    self._tracked[t.spec.attempt_id] = t
                self._by_job[job] = tracked
            self._creates.submit(self._sending, tracked, self._create_items, job, part.items, part.job)
        return True

    def _create_items(self, job: str, items: Any, body: Any) -> str | None:
        """Create the items' ConfigMap, then their Indexed Job (409: ours from before, adopted)."""
        try:
            self.cluster.core.create_namespaced_config_map(self.run.namespace, items)
        except client.ApiException as err:
            if err.status != 409:
                return self._refusal("configmaps", "the items' ConfigMap", err)
        try:
            self.cluster.batch.create_namespaced_job(self.run.namespace, body)
        except client.ApiException as err:
            if err.status != 409:
                return self._refusal("jobs", "the Indexed Job", err)
            return self._adopt(job)
        return None

    def _native_sidecars_work(self) -> bool:
        """Whether sidecars may be restartable init containers: asked of the cluster once, at the
        first attempt with sidecars."""
        if self._native_sidecars is None:
            why = features.native_sidecars(self.cluster)
            self._native_sidecars = why is None
            if why is not None:
                self._notice(f"{why}: kjob stops each sidecar itself when its main container ends")
        return self._native_sidecars

    def _indexed_jobs_work(self) -> bool:
        """Whether fan-outs may be Indexed Jobs: asked of the cluster once, at the first fan-out."""
        if self._indexed is None:
            why = features.backoff_limit_per_index(self.cluster)
            self._indexed = why is None
            if why is not None:
                self._notice(f"{why}: each fan-out item runs as a Job of its own")
        return self._indexed

    def _adopt_item(self, spec: AttemptSpec) -> bool:
        """Track ``spec`` on the Indexed Job that already runs it, if an earlier life created one."""
        key = (spec.group_id, spec.item_index or 0, spec.attempt)
        with self._lock:
            found = self._items_seen.get(key)
            if found is None:
                return False
            job, index = found
            tracked = _Tracked(spec, job, index)
            self._tracked[spec.attempt_id] = tracked
            self._by_job.setdefault(job, []).append(tracked)
            seen = self._latest.get(job)
        if seen is not None:
            self._observe(seen)
        return True

    def cancel(self, attempt_id: str) -> None:
        if self.resources is not None and self.resources.cancel(attempt_id):
            return
        with self._lock:
            tracked = self._tracked.get(attempt_id)
        if tracked is None or tracked.done:
            return
        tracked.cancelled = True
        self._finish(tracked, AttemptPhase.FAILED, "stopped")
        with self._lock:
            if not all(t.done for t in self._by_job.get(tracked.job, ())):
                return  # an Indexed Job that still runs other items
        self._delete_job(tracked.job)

    def _delete_job(self, job: str) -> None:
        try:
            self.cluster.batch.delete_namespaced_job(job, self.run.namespace, propagation_policy="Background")
        except client.ApiException as err:
            if err.status != 404:
                self._notice(f"could not delete Job {job}: {_reason(err)}")

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        events = [e for e in drain(self._events, timeout) if e is not None]
        if self._fatal is not None:
            raise self._fatal
        return events

    def _fail(self, error: KjobError) -> None:
        """The run cannot go on: :meth:`poll` raises ``error`` (the first one) from now on."""
        with self._lock:
            if self._fatal is None:
                self._fatal = error
        self._ready.set()
        self._events.put(None)

    def close(self) -> None:
        self._stop.set()
        if self.resources is not None:
            self.resources.close()
        self._creates.shutdown(wait=True, cancel_futures=True)
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
                    elif event["type"] == "DELETED":
                        self._deleted(obj)
                    if self._stop.is_set():
                        break
                delay = 0.2
            except client.ApiException as err:
                if err.status == 410:
                    resource_version = None  # too old: list again
                    continue
                if err.status in (401, 403):
                    verb = "list" if resource_version is None else "watch"
                    self._fail(self._refused(verb, "jobs", err))
                    return
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            except (urllib3.exceptions.HTTPError, OSError, ValueError):
                self._stop.wait(delay)  # dropped: watch again from where we were
                delay = min(delay * 2, 5.0)

    def _observe(self, job: client.V1Job) -> None:
        name = str(_meta(job).name)
        with self._lock:
            first_sight = name not in self._latest
            self._latest[name] = job
            if first_sight:
                self._remember_items(job)
            tracked = list(self._by_job.get(name, ()))
        if not tracked:
            return
        status = job.status or client.V1JobStatus()
        if tracked[0].index is not None:
            self._observe_items(tracked, status)
            return
        single = tracked[0]
        if single.done:
            return
        if not single.started and (status.active or status.start_time or status.succeeded or status.failed):
            self._started(single)
        if single.spec.daemon and not single.ready and daemons.job_ready(status):
            single.ready = True
            self._workers.submit(self._daemon_ready, single)
        condition = _terminal_condition(status)
        if condition is not None and self._claim(single):
            self._workers.submit(self._conclude, single, condition)

    def _deleted(self, job: client.V1Job) -> None:
        """A Job of the run is gone.  kjob deletes Jobs it stopped and, with a TTL, Jobs whose
        outcome it has read; anything else (a user's ``kubectl delete``, the namespace going) ends
        the attempts it still ran as errors, instead of leaving them running for ever."""
        self._observe(job)  # a last state with a terminal condition concludes as usual
        name = str(_meta(job).name)
        with self._lock:
            self._latest.pop(name, None)
            unfinished = [t for t in self._by_job.get(name, ()) if not t.done]
        for t in unfinished:
            self._finish(t, AttemptPhase.ERROR, f"its Job {name} was deleted before it finished")

    def _refused(self, verb: str, resource: str, err: client.ApiException) -> KjobError:
        """The error that ends the run when the cluster refuses a request it needs."""
        group = "batch" if resource == "jobs" else ""
        if err.status == 404 or "being terminated" in _reason(err):
            return ClusterError(
                f"namespace {self.run.namespace} is gone or going ({_reason(err)})",
                hint="the run's Jobs go with it; start the run again in another namespace",
            )
        error: AccessError = permissions.refused(self.cluster, verb, group, resource)
        error.message += f": {_reason(err)}"
        return error

    def _remember_items(self, job: client.V1Job) -> None:
        """Note which fan-out items an Indexed Job runs (under ``self._lock``)."""
        meta = _meta(job)
        annotations = meta.annotations or {}
        items = indexed.item_indexes(annotations)
        group = annotations.get(names.ANNOTATION_NODE_ID)
        attempt = (meta.labels or {}).get(names.LABEL_ATTEMPT, "")
        if items is None or group is None or not attempt.isdigit():
            return
        for index, item in enumerate(items):
            self._items_seen[(group, item, int(attempt))] = (str(meta.name), index)

    def _observe_items(self, tracked: list[_Tracked], status: client.V1JobStatus) -> None:
        """An Indexed Job changed: report the items that started and ended.  The Job controller starts
        the lowest pending indexes first, so the ``active`` count says which are running."""
        completed = parse_indexes(status.completed_indexes or "")
        failed = parse_indexes(status.failed_indexes or "")
        pending = sorted(
            (t for t in tracked if t.index not in completed and t.index not in failed),
            key=lambda t: t.index or 0,
        )
        running = {id(t) for t in pending[: status.active or 0]}
        for t in sorted(tracked, key=lambda t: t.index or 0):
            if (
                not t.started
                and not t.done
                and (id(t) in running or t.index in completed or t.index in failed)
            ):
                self._started(t)
            if t.index in completed and self._claim(t):
                self._workers.submit(self._conclude, t, _COMPLETE)
            elif t.index in failed and self._claim(t):
                self._workers.submit(self._conclude, t, _index_failed(t.index))
        condition = _terminal_condition(status)
        if condition is not None:  # ended (deleted, suspended for good...) with items unaccounted for
            why = condition.message or condition.reason or "the Indexed Job ended"
            for t in pending:
                self._finish(t, AttemptPhase.ERROR, why)
            if pending:
                self._settle(tracked[0].job)

    def _daemon_ready(self, tracked: _Tracked) -> None:
        """A daemon's Job counts a Ready pod: report it ready at its pod's IP."""
        try:
            ip = daemons.ready_pod_ip(self.cluster, self.run.namespace, tracked.job)
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError):
            ip = None
        if ip is None:
            tracked.ready = False  # looked at again at the Job's next change
            return
        self._events.put(AttemptReady(tracked.spec.attempt_id, self.now(), ip))

    def _started(self, tracked: _Tracked) -> None:
        tracked.started, tracked.started_at = True, self.now()
        self._events.put(AttemptStarted(tracked.spec.attempt_id, tracked.started_at))

    # ----------------------------------------------------------------------------- held up
    def _held_up_loop(self) -> None:
        """Every ``held_up_after`` seconds, look at the pods of Jobs that have had a pod not ready
        for that long, and report why they are stuck (or that they no longer are)."""
        while not self._stop.wait(self._held_up_after):
            try:
                self._check_held_up()
            except (client.ApiException, urllib3.exceptions.HTTPError, OSError):
                continue  # look again next time

    def _check_held_up(self) -> None:
        now = self.now()
        with self._lock:
            jobs = [
                (name, [t for t in tracked if t.started and not t.done], self._latest.get(name))
                for name, tracked in self._by_job.items()
            ]
        pods: list[client.V1Pod] | None = None
        for name, waiting, job in jobs:
            status = job.status if job is not None else None
            if not waiting or status is None:
                continue
            if (status.ready or 0) >= (status.active or 0) and not any(t.held_up for t in waiting):
                continue
            if min(t.started_at or now for t in waiting) > now - self._held_up_after:
                continue
            if pods is None:  # one list of the run's pods serves every Job looked at
                pods = self.cluster.core.list_namespaced_pod(
                    self.run.namespace, label_selector=names.run_selector(self.run.run_id)
                ).items
            by_index = {
                _completion_index(p): p
                for p in pods
                if not _finished(p) and (_meta(p).labels or {}).get("job-name") == name
            }
            for t in waiting:
                pod = by_index.get(t.index) if t.index is not None else next(iter(by_index.values()), None)
                reason = heldup.held_up(pod) if pod is not None else None
                if reason != t.held_up:
                    t.held_up = reason
                    self._events.put(AttemptWaiting(t.spec.attempt_id, now, reason or ""))

    def _claim(self, tracked: _Tracked) -> bool:
        """Mark ``tracked`` done; ``False`` if something else already had."""
        with self._lock:
            if tracked.done:
                return False
            tracked.done = True
            return True

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
            return
        self._settle(tracked.job)

    def _settle(self, job: str) -> None:
        """Every attempt ``job`` ran has its outcome read: now it may have the TTL it was created to
        have (``kjob.dev/ttl-seconds-after-finished``), whoever created it.  Until then it has none,
        so no TTL can delete it, or its pods, before kjob has read them."""
        with self._lock:
            tracked = self._by_job.get(job, [])
            seen = self._latest.get(job)
            if job in self._settled or seen is None or not all(t.done for t in tracked):
                return
            items = indexed.item_indexes(_meta(seen).annotations or {})
            if len(tracked) < (len(items) if items is not None else 1):
                return  # an Indexed Job with items this client is not following
            self._settled.add(job)
        if items is not None:
            self._hand_off(seen)
        ttl = (_meta(seen).annotations or {}).get(names.ANNOTATION_TTL, "")
        if not ttl.isdigit() or any(t.cancelled for t in tracked):
            return  # no TTL asked for; or stopped, and deleted by cancel()
        if seen.spec is not None and seen.spec.ttl_seconds_after_finished is not None:
            return  # set by an earlier life of the run
        try:
            self.cluster.batch.patch_namespaced_job(
                job, self.run.namespace, {"spec": {"ttlSecondsAfterFinished": int(ttl)}}
            )
        except client.ApiException as err:
            if err.status != 404:
                self._notice(f"could not set the TTL of Job {job}: {_reason(err)}")

    def _hand_off(self, finished: client.V1Job) -> None:
        """A part of a split fan-out ended: the first part of the same fan-out and attempt still
        waiting with ``parallelism: 0`` gets the share it ran with."""
        meta = _meta(finished)
        group = (meta.annotations or {}).get(names.ANNOTATION_NODE_ID)
        attempt = (meta.labels or {}).get(names.LABEL_ATTEMPT)
        share = max(1, (finished.spec.parallelism or 0) if finished.spec is not None else 0)
        with self._lock:
            waiting = [
                job
                for name, job in self._latest.items()
                if name not in self._handed and _waiting_part(job, group, attempt)
            ]
            if not waiting:
                return
            chosen = min(waiting, key=lambda j: indexed.item_indexes(_meta(j).annotations or {}) or [0])
            name = str(_meta(chosen).name)
            self._handed.add(name)
        try:
            self.cluster.batch.patch_namespaced_job(
                name, self.run.namespace, {"spec": {"parallelism": share}}
            )
        except client.ApiException as err:
            if err.status in (401, 403) and _unrecoverable(err):
                self._fail(self._refused("patch", "jobs", err))  # else the part would wait for ever
            elif err.status != 404:
                self._notice(f"could not start the waiting Job {name}: {_reason(err)}")

    def _succeeded(self, tracked: _Tracked) -> AttemptFinished:
        spec = tracked.spec
        if manifests.output_mode(spec) == "none" and not spec.wants_result:
            return self._ended(spec, AttemptPhase.SUCCEEDED, "", exit_code=0)
        pod = self._pod(tracked, want="Succeeded")
        if pod is None:
            return self._ended(
                spec,
                AttemptPhase.ERROR,
                f"the pod of Job {tracked.job} was deleted before kjob read its outputs",
                exit_code=0,
            )
        terminated = _terminated(pod, manifests.main_container(spec))
        result = self._log(pod, spec) if spec.wants_result else None
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
            artifacts=workspace.stored_artifacts(
                spec, self.run.run_id, terminated.message if terminated else None
            ),
            missing_outputs=tuple(missing),
        )

    def _failed(self, tracked: _Tracked, condition: client.V1JobCondition) -> AttemptFinished:
        spec = tracked.spec
        if condition.reason == "DeadlineExceeded":
            limit = f" of {spec.deadline:g}s" if spec.deadline else ""
            stuck = f" while its pod was held up ({tracked.held_up})" if tracked.held_up else ""
            return self._ended(spec, AttemptPhase.FAILED, f"exceeded its deadline{limit}{stuck}")
        pod = self._pod(tracked, want="Failed")
        main = manifests.main_container(spec)
        terminated = _terminated(pod, main)
        result = self._log(pod, spec) if spec.wants_result and pod is not None else None
        helper = _failed_helper(pod, main) if terminated is None or terminated.exit_code == 0 else None
        if helper is not None:
            where, code = helper
            message = f"{where}: exit code {code}"
            return self._ended(spec, AttemptPhase.FAILED, message, exit_code=code, result=result)
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

    def _pod(self, tracked: _Tracked, *, want: str) -> client.V1Pod | None:
        selector = f"job-name={tracked.job}"
        if tracked.index is not None:
            selector += f",{names.LABEL_COMPLETION_INDEX}={tracked.index}"
        pods = self.cluster.core.list_namespaced_pod(self.run.namespace, label_selector=selector).items
        matching = [p for p in pods if p.status is not None and p.status.phase == want] or pods
        matching.sort(key=lambda p: str(_meta(p).creation_timestamp or ""))
        return matching[-1] if matching else None

    def _log(self, pod: client.V1Pod, spec: AttemptSpec) -> str | None:
        name = str(_meta(pod).name)
        container = manifests.main_container(spec)
        try:
            text: str = self.cluster.core.read_namespaced_pod_log(
                name, self.run.namespace, container=container
            )
        except client.ApiException:
            if spec.init_containers:  # an init container failed: the main one never ran, has no log
                return None
            raise
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
        if self._claim(tracked):
            self._events.put(self._ended(tracked.spec, phase, message))


def _waiting_part(job: client.V1Job, group: str | None, attempt: str | None) -> bool:
    """An Indexed Job of fan-out ``group`` at ``attempt`` that waits for a share of its parallelism."""
    meta = _meta(job)
    return (
        job.spec is not None
        and job.spec.parallelism == 0
        and indexed.ANNOTATION_ITEMS in (meta.annotations or {})
        and (meta.annotations or {}).get(names.ANNOTATION_NODE_ID) == group
        and (meta.labels or {}).get(names.LABEL_ATTEMPT) == attempt
        and (job.status is None or _terminal_condition(job.status) is None)
    )


def _unrecoverable(err: client.ApiException) -> bool:
    """A refusal no retry mends: RBAC's 401/403 (not a quota's or an admission webhook's 403, which
    may pass later), or the namespace gone (404) or being deleted."""
    if err.status == 401 or err.status == 404:
        return True
    if err.status != 403:
        return False
    text = _reason(err)
    return (" cannot " in text and " resource " in text) or "being terminated" in text


def _own_run_object(cluster: Cluster, run_id: str, token: str) -> client.V1ConfigMap | None:
    """The existing run object if this client created it (its create's answer was lost)."""
    try:
        found: client.V1ConfigMap = cluster.core.read_namespaced_config_map(run_id, cluster.namespace)
    except client.ApiException:
        return None
    return found if (_meta(found).annotations or {}).get(names.ANNOTATION_CREATOR) == token else None


def _meta(obj: Any) -> client.V1ObjectMeta:
    meta = getattr(obj, "metadata", None)
    return meta if meta is not None else client.V1ObjectMeta()


_COMPLETE = client.V1JobCondition(type="Complete", status="True")


def _index_failed(index: int | None) -> client.V1JobCondition:
    return client.V1JobCondition(
        type="Failed", status="True", reason="FailedIndexes", message=f"index {index} failed"
    )


def _completion_index(pod: client.V1Pod) -> int | None:
    key = names.LABEL_COMPLETION_INDEX
    value = (_meta(pod).labels or {}).get(key) or (_meta(pod).annotations or {}).get(key)
    return int(value) if value is not None and value.isdigit() else None


def _finished(pod: client.V1Pod) -> bool:
    return pod.status is not None and pod.status.phase in ("Succeeded", "Failed")


def _terminal_condition(status: client.V1JobStatus) -> client.V1JobCondition | None:
    for condition in status.conditions or ():
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition
    return None


def _failed_helper(pod: client.V1Pod | None, main: str) -> tuple[str, int] | None:
    """The first other container of the pod that failed (an init container, a containerSet's
    member): ``("init container 'x'", code)``, or ``None``."""
    if pod is None or pod.status is None:
        return None
    for kind, statuses in (
        ("init container", pod.status.init_container_statuses),
        ("container", pod.status.container_statuses),
    ):
        for status in statuses or ():
            ended = status.state.terminated if status.state is not None else None
            if status.name != main and ended is not None and ended.exit_code:
                return f"{kind} '{status.name}'", int(ended.exit_code)
    return None


def _terminated(pod: client.V1Pod | None, main: str = "main") -> client.V1ContainerStateTerminated | None:
    if pod is None or pod.status is None:
        return None
    for status in pod.status.container_statuses or ():
        if status.name == main and status.state is not None and status.state.terminated is not None:
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
