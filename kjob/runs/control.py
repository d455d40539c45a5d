"""Managing a run once it exists: stop or terminate it, retry it, delete it; on either backend.

Nothing here prints or exits: each function returns what happened or raises a
:class:`~kjob.errors.KjobError`, so the CLI verbs, the web page and Python users share it.

**Stop requests reach the kjob that watches the run**, wherever it is: another terminal, a detached
``kjob run --wait=false``, or a driver Job in the cluster.  A local run's request is the file
``control`` in its run directory; a Kubernetes run's is the annotation ``kjob.dev/control`` on its run
object.  The engine reads it between steps (:func:`requests_for` makes the reader) and stops: no new
tasks, running attempts stopped, then the exit handler for ``stop`` and not for ``terminate``.  The
run ends Failed with ``stopped`` or ``terminated``.  A request stays until a retry clears it, so a
run nobody watches is stopped by the next ``kjob resume``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from kjob.engine.rerun import Rerun
from kjob.errors import KjobError
from kjob.rundir import RunDir, runs_root
from kjob.runrecord import FAILED, RunRecord

if TYPE_CHECKING:
    from kjob.backends.base import Backend
    from kjob.backends.kubernetes import Cluster
    from kjob.engine.state import Node

STOP, TERMINATE = "stop", "terminate"
ACTIONS = (STOP, TERMINATE)
REQUEST_FILE = "control"  # in a local run's directory
ANNOTATION_CONTROL = "kjob.dev/control"  # on a Kubernetes run's ConfigMap
CLUSTER_LOOK_EVERY = 2.0  # seconds between reads of the run object while a run is watched
LOCAL_LOOK_EVERY = 0.1  # seconds between looks at a local run's request file
ENDED = frozenset({"Succeeded", "Failed", "Error"})


@dataclass(frozen=True, slots=True)
class RunRef:
    """A run found by id: where it runs, its directory on this machine (if it has one) and record,
    and for a Kubernetes run the cluster and namespace that hold it."""

    run_id: str
    backend: str  # "local" or "kubernetes"
    run_dir: RunDir | None = None
    record: RunRecord | None = None
    cluster: Cluster | None = None

    @property
    def watched_here(self) -> bool:
        """Whether a kjob on this machine watches the run now."""
        return self.run_dir is not None and self.run_dir.watched()

    @property
    def phase(self) -> str:
        return self.record.phase if self.record is not None else "Unknown"


def local_ref(run: str) -> RunRef | None:
    """The run ``run`` (an id or a unique prefix) if this machine has its directory and record."""
    try:
        run_dir = RunDir.find(run)
    except KjobError:
        return None
    try:
        record = RunRecord.read(run_dir.record)
    except KjobError:
        return None
    backend = "kubernetes" if record.backend == "kubernetes" else "local"
    return RunRef(run_dir.run_id, backend, run_dir, record)


def find_run(run: str, connect: Callable[[str | None], Cluster], *, where: str = "auto") -> RunRef:
    """The run ``run``: its directory on this machine if there is one, else the cluster's run object.
    ``connect(namespace)`` connects to the cluster (``namespace``: the one the record names, or None
    for the options' own).  ``where``: ``local`` looks only on this machine, ``kubernetes`` only in
    the cluster, ``auto`` both."""
    found = local_ref(run) if where != "kubernetes" else None
    if found is not None and found.backend == "local":
        return found
    if found is None and where == "local":
        raise KjobError(f"no run '{run}' on this machine", hint="`kjob list` shows the runs")
    namespace = found.record.namespace if found is not None and found.record is not None else None
    cluster = connect(namespace)
    run_id = found.run_id if found is not None else run
    from kjob.backends.kubernetes import KubernetesBackend

    KubernetesBackend.open_run(cluster, run_id)  # that it is there, and a kjob run
    if found is not None:
        return RunRef(run_id, "kubernetes", found.run_dir, found.record, cluster)
    exact = runs_root() / run_id
    run_dir = RunDir(exact) if exact.is_dir() else None
    return RunRef(run_id, "kubernetes", run_dir, None, cluster)


# ------------------------------------------------------------------------------------- requests
@dataclass(frozen=True, slots=True)
class Requested:
    """A stop or terminate request delivered; ``watched``: a kjob on this machine acts on it now
    (``None``: cannot be known here, a Kubernetes run may be watched from elsewhere)."""

    run_id: str
    action: str
    watched: bool | None


def request(ref: RunRef, action: str) -> Requested:
    """Ask the run's watcher to ``stop`` or ``terminate`` it.  A run that has ended is refused."""
    if action not in ACTIONS:
        raise KjobError(f"unknown request '{action}' (one of: {', '.join(ACTIONS)})")
    if ref.backend == "local":
        assert ref.run_dir is not None
        if not ref.watched_here and ref.phase in ENDED:
            raise KjobError(f"run {ref.run_id} has already ended ({ref.phase})", hint="nothing to stop")
        _write_request(ref.run_dir, action)
        return Requested(ref.run_id, action, ref.watched_here)
    assert ref.cluster is not None
    if not cluster_running(ref.cluster, ref.run_id) and not ref.watched_here:
        raise KjobError(
            f"run {ref.run_id} has no Job running in namespace {ref.cluster.namespace}",
            hint="nothing to stop; `kjob resume` finishes a run that was left part-way",
        )
    _annotate(ref.cluster, ref.run_id, action)
    return Requested(ref.run_id, action, True if ref.watched_here else None)


def clear_request(ref: RunRef) -> None:
    """Forget a stop request (``kjob retry`` runs a stopped run on)."""
    if ref.run_dir is not None:
        with contextlib.suppress(FileNotFoundError):
            (ref.run_dir.path / REQUEST_FILE).unlink()
    if ref.cluster is not None:
        _annotate(ref.cluster, ref.run_id, None)


def wait_until_unwatched(ref: RunRef, timeout: float, *, step: float = 0.1) -> bool:
    """Wait until no kjob on this machine watches the run (it acted on a request and ended)."""
    deadline = time.monotonic() + timeout
    while ref.watched_here:
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


def requests_for(backend: Backend, run_dir: RunDir) -> Callable[[], str | None]:
    """What the engine asks between steps: the pending request of the run it runs, if any.  For a
    Kubernetes run it also holds the run directory's watch lock while it lives (the local backend
    holds it itself), so that ``kjob stop`` on this machine knows a kjob here acts on the request."""
    if backend.name == "kubernetes":
        from kjob.backends.kubernetes.backend import KubernetesBackend

        assert isinstance(backend, KubernetesBackend)
        return _ClusterRequests(backend.cluster, backend.run.run_id, run_dir)
    return _LocalRequests(run_dir.path / REQUEST_FILE)


class _LocalRequests:
    """Reads a local run's request file, at most every :data:`LOCAL_LOOK_EVERY` seconds (a busy
    engine steps thousands of times a second)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next = 0.0
        self._seen: str | None = None

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now < self._next:
            return self._seen
        self._next = now + LOCAL_LOOK_EVERY
        try:
            text = self.path.read_text().strip()
        except OSError:
            return self._seen
        self._seen = text if text in ACTIONS else None
        return self._seen


def started_before(previous: Mapping[str, Any] | None) -> frozenset[str]:
    """The nodes of an earlier record that had an attempt start, and every node around them (their fan-out,
    the tasks whose templates hold them): what a stop on resuming still replays (see
    ``EngineOptions.started_before``)."""
    if not previous:
        return frozenset()
    record = RunRecord.from_dict(previous)
    parents = {node.id: node.parent_id for node in record.nodes}
    found: set[str] = set()
    for node in record.nodes:
        ran = any(attempt.started is not None for attempt in node.attempts)
        current: str | None = node.id if ran else None
        while current is not None and current not in found:
            found.add(current)
            current = parents.get(current)
    return frozenset(found)


def _write_request(run_dir: RunDir, action: str) -> None:
    path = run_dir.path / REQUEST_FILE
    with contextlib.suppress(OSError):
        if path.read_text().strip() == TERMINATE:
            return  # a terminate is not weakened to a stop
    tmp = path.with_suffix(".tmp")
    tmp.write_text(action + "\n")
    tmp.replace(path)


class _ClusterRequests:
    """Reads the run object's annotation, at most every :data:`CLUSTER_LOOK_EVERY` seconds."""

    def __init__(self, cluster: Cluster, run_id: str, run_dir: RunDir) -> None:
        self.cluster = cluster
        self.run_id = run_id
        try:
            self._lock: BinaryIO | None = run_dir.watch()  # let go of when this is collected
        except KjobError:
            self._lock = None  # another kjob here watches it too: the cluster keeps them apart
        self._next = 0.0
        self._seen: str | None = None

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now < self._next or self._seen == TERMINATE:
            return self._seen
        self._next = now + CLUSTER_LOOK_EVERY
        from kubernetes import client

        try:
            cm = self.cluster.core.read_namespaced_config_map(self.run_id, self.cluster.namespace)
        except (client.ApiException, OSError):
            return self._seen  # the run's own watch reports a cluster that went away
        value = ((cm.metadata.annotations or {}) if cm.metadata else {}).get(ANNOTATION_CONTROL)
        self._seen = value if value in ACTIONS else None
        return self._seen


def _annotate(cluster: Cluster, run_id: str, action: str | None) -> None:
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error

    body = {"metadata": {"annotations": {ANNOTATION_CONTROL: action}}}
    try:
        cluster.core.patch_namespaced_config_map(run_id, cluster.namespace, body)
    except client.ApiException as err:
        raise KjobError(f"could not mark run {run_id} in the cluster: {describe_error(err)}") from None


# ----------------------------------------------------------------------------- cluster state
def run_jobs(cluster: Cluster, run_id: str) -> list[Any]:
    """The run's Jobs (by its label)."""
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error
    from kjob.render import names

    try:
        found = cluster.batch.list_namespaced_job(
            cluster.namespace, label_selector=names.run_selector(run_id)
        )
    except client.ApiException as err:
        raise KjobError(f"could not list the Jobs of run {run_id}: {describe_error(err)}") from None
    return list(found.items)


def driver_jobs(cluster: Cluster, run_id: str) -> list[Any]:
    """The driver Jobs that own the run (``kjob run --wait=false``, a driver plan), if any."""
    from kubernetes import client

    try:
        cm = cluster.core.read_namespaced_config_map(run_id, cluster.namespace)
    except client.ApiException:
        return []
    found = []
    for owner in (cm.metadata.owner_references if cm.metadata else None) or []:
        if owner.kind == "Job":
            with contextlib.suppress(client.ApiException):
                found.append(cluster.batch.read_namespaced_job(owner.name, cluster.namespace))
    return found


def cluster_running(cluster: Cluster, run_id: str) -> bool:
    """Whether a Job of the run, or a driver Job that drives it, has not finished (no Complete or
    Failed condition)."""
    jobs = run_jobs(cluster, run_id) + driver_jobs(cluster, run_id)
    return any(not _job_ended(job) for job in jobs)


def _job_ended(job: Any) -> bool:
    conditions = (job.status.conditions if job.status else None) or []
    return any(c.type in ("Complete", "Failed") and c.status == "True" for c in conditions)


# ------------------------------------------------------------------------------------- delete
@dataclass(frozen=True, slots=True)
class Deleted:
    run_id: str
    jobs: int  # Jobs deleted in the cluster
    directory: str | None  # the run directory removed, if any


def delete(ref: RunRef, *, force: bool = False, grace: float = 30.0) -> Deleted:
    """Delete the run: its Jobs and ConfigMaps in the cluster, and its directory on this machine.
    A running run is refused unless ``force``, which terminates it first."""
    running = ref.watched_here or (ref.cluster is not None and cluster_running(ref.cluster, ref.run_id))
    if running and not force:
        raise KjobError(
            f"run {ref.run_id} is running",
            hint=f"`kjob stop {ref.run_id}` first, or delete it anyway with --force",
        )
    if ref.watched_here:
        if ref.backend == "local":
            assert ref.run_dir is not None
            _write_request(ref.run_dir, TERMINATE)
        elif ref.cluster is not None:
            _annotate(ref.cluster, ref.run_id, TERMINATE)
        if not wait_until_unwatched(ref, grace):
            raise KjobError(f"run {ref.run_id} did not stop within {grace:g}s", hint="try again")
    jobs = _delete_in_cluster(ref.cluster, ref.run_id) if ref.cluster is not None else 0
    directory = None
    if ref.run_dir is not None and ref.run_dir.path.is_dir():
        shutil.rmtree(ref.run_dir.path)
        directory = str(ref.run_dir.path)
    return Deleted(ref.run_id, jobs, directory)


def _delete_in_cluster(cluster: Cluster, run_id: str) -> int:
    """Delete the run's Jobs (their pods go with them), the driver Job that drove it with its plan's
    ConfigMap, and its run object (which owns the fan-outs' item ConfigMaps, so the garbage
    collector takes those).  A driver plan's ServiceAccount, Role and RoleBinding are the workflow's,
    shared by its runs: they stay."""
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error
    from kjob.render.driver import LABEL_PLAN

    drivers = driver_jobs(cluster, run_id)
    jobs = run_jobs(cluster, run_id) + drivers
    for driver in drivers:
        plan = f"{driver.metadata.name}-workflow"
        with contextlib.suppress(client.ApiException):
            held = cluster.core.read_namespaced_config_map(plan, cluster.namespace)
            labels = (held.metadata.labels if held.metadata else None) or {}
            if labels.get(LABEL_PLAN) == driver.metadata.name:
                cluster.core.delete_namespaced_config_map(plan, cluster.namespace)
    for job in jobs:
        with contextlib.suppress(client.ApiException):
            cluster.batch.delete_namespaced_job(
                job.metadata.name, cluster.namespace, propagation_policy="Background"
            )
    try:
        cluster.core.delete_namespaced_config_map(run_id, cluster.namespace, propagation_policy="Background")
    except client.ApiException as err:
        if err.status != 404:
            raise KjobError(f"could not delete run {run_id}: {describe_error(err)}") from None
    return len(jobs)


# -------------------------------------------------------------------------------------- retry
_ATTEMPT_NUMBER = re.compile(r"-(\d+)$")


def retry_plan(ref: RunRef, selector: str | None = None) -> Rerun:
    """What ``kjob retry`` runs again: the failed and errored tasks the selector chooses (see
    :func:`parse_selector`), what depends on them, and the exit handler.  A run still running or
    one that succeeded is refused."""
    if ref.watched_here or (ref.cluster is not None and cluster_running(ref.cluster, ref.run_id)):
        raise KjobError(
            f"run {ref.run_id} is running", hint=f"wait for it to end, or `kjob stop {ref.run_id}` first"
        )
    if ref.record is not None and ref.record.phase == "Succeeded":
        raise KjobError(f"run {ref.run_id} succeeded: nothing to retry", hint=f"`kjob resubmit {ref.run_id}`")
    phases: dict[str, str] = {}
    failed: set[str] = set()
    next_attempt: dict[str, int] = {}
    if ref.record is not None:
        for node in ref.record.nodes:
            phases[node.id] = node.phase
            if node.attempts and node.phase in FAILED:
                failed.add(node.id)
            for attempt in node.attempts:
                if (m := _ATTEMPT_NUMBER.search(attempt.id)) is not None:
                    next_attempt[node.id] = max(next_attempt.get(node.id, 0), int(m.group(1)) + 1)
    if ref.cluster is not None:
        _cluster_attempts(ref.cluster, ref.run_id, failed, next_attempt)
    return Rerun(failed=frozenset(failed), next_attempt=next_attempt, chosen=parse_selector(selector, phases))


def _cluster_attempts(cluster: Cluster, run_id: str, failed: set[str], next_attempt: dict[str, int]) -> None:
    """Add what the run's Jobs say: each node's (or fan-out's) attempt numbers, and the nodes whose
    last Job failed (an Indexed Job's failed items are found while replaying)."""
    from kjob.render import indexed, names

    last: dict[str, tuple[int, bool]] = {}
    for job in run_jobs(cluster, run_id):
        meta = job.metadata
        node = (meta.annotations or {}).get(names.ANNOTATION_NODE_ID)
        attempt = (meta.labels or {}).get(names.LABEL_ATTEMPT, "")
        if node is None or not attempt.isdigit():
            continue
        number = int(attempt)
        next_attempt[node] = max(next_attempt.get(node, 0), number + 1)
        if indexed.item_indexes(meta.annotations or {}) is None and number >= last.get(node, (-1, False))[0]:
            conditions = (job.status.conditions if job.status else None) or []
            last[node] = (number, any(c.type == "Failed" and c.status == "True" for c in conditions))
    failed.update(node for node, (_, did_fail) in last.items() if did_fail)


# Fields of --node-field-selector, as Argo names them, and what each reads of a node.
_FIELDS: Mapping[str, Callable[[Node, Mapping[str, str]], str]] = {
    "id": lambda node, _phases: node.id,
    "name": lambda node, _phases: node.id,
    "displayName": lambda node, _phases: node.task.name,
    "templateName": lambda node, _phases: node.template.name,
    "phase": lambda node, phases: phases.get(node.id, ""),
}


def parse_selector(text: str | None, phases: Mapping[str, str]) -> Callable[[Node], bool]:
    """``--node-field-selector``: ``field=value`` or ``field!=value`` terms joined by commas, all of
    which a node must meet; fields ``id``/``name`` (the node id), ``displayName`` (the task),
    ``templateName`` and ``phase`` (as recorded)."""
    if not text:
        return lambda _node: True
    terms: list[tuple[Callable[[Node, Mapping[str, str]], str], bool, str]] = []
    for raw in text.split(","):
        term = raw.strip()
        match = re.fullmatch(r"([A-Za-z]+)\s*(!=|==|=)\s*(.*)", term)
        if match is None or match.group(1) not in _FIELDS:
            raise KjobError(
                f"--node-field-selector: '{term}' is not FIELD=VALUE or FIELD!=VALUE",
                hint=f"fields: {', '.join(_FIELDS)}; e.g. displayName=train,phase=Failed",
            )
        terms.append((_FIELDS[match.group(1)], match.group(2) != "!=", match.group(3).strip()))

    def chosen(node: Node) -> bool:
        return all((read(node, phases) == value) is equal for read, equal, value in terms)

    return chosen
