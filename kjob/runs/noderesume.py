"""``kjob resume RUN --node NAME``: resume a suspended node of a running run, on either backend.

Requests travel as ``kjob stop``'s do (see :mod:`kjob.runs.control`): a local run's are the JSON file
``resume.json`` in its run directory; a Kubernetes run's the annotation ``kjob.dev/resume`` on its run
object.  Both hold every request made, by id: ``{id: {"node": NAME, "values": {param: value}}}``.  The
kjob that watches the run reads them between steps (:func:`resume_requests_for` makes the reader) and
applies each once, to the suspended nodes NAME names (a node id, or a task's name), as soon as one is
suspended.  ``values`` fill the node's ``valueFrom.supplied`` outputs (and may name its inputs), as
``argo node set`` and ``argo resume`` do.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kjob.errors import KjobError
from kjob.runs.control import ENDED, RunRef, cluster_running

if TYPE_CHECKING:
    from kjob.backends.base import Backend
    from kjob.backends.kubernetes import Cluster
    from kjob.rundir import RunDir

RESUME_FILE = "resume.json"  # in a local run's directory
ANNOTATION_RESUME = "kjob.dev/resume"  # on a Kubernetes run's ConfigMap
CLUSTER_LOOK_EVERY = 2.0  # seconds between reads of the run object
LOCAL_LOOK_EVERY = 0.2  # seconds between reads of the request file

Requests = dict[str, tuple[str, dict[str, str]]]


@dataclass(frozen=True, slots=True)
class ResumeRequested:
    """A resume request delivered: its id, and whether a kjob on this machine watches the run now
    (``None``: cannot be known here)."""

    run_id: str
    node: str
    request_id: str
    watched: bool | None


def request_resume(ref: RunRef, node: str, values: Mapping[str, str]) -> ResumeRequested:
    """Ask the kjob that watches ``ref`` to resume its suspended node ``node`` with ``values``.
    A run that has ended, or whose record names no node ``node``, is refused."""
    if ref.record is not None:
        if not ref.watched_here and ref.phase in ENDED:
            raise KjobError(f"run {ref.run_id} has already ended ({ref.phase})", hint="nothing to resume")
        names = {n.id for n in ref.record.nodes} | {n.task for n in ref.record.nodes}
        if node not in names:
            running = [n.id for n in ref.record.nodes if n.phase == "Running" and not n.group]
            raise KjobError(
                f"run {ref.run_id} has no node '{node}'",
                hint=f"nodes running now: {', '.join(running) or 'none'}; `kjob get {ref.run_id}` lists all",
            )
        named = [n for n in ref.record.nodes if node in (n.id, n.task)]
        if named and all(n.phase in ENDED or n.phase in ("Skipped", "Omitted") for n in named):
            raise KjobError(
                f"node '{node}' of run {ref.run_id} is not suspended: it has ended ({named[0].phase})",
                hint="nothing to resume",
            )
    request_id = f"{time.time():.3f}-{uuid.uuid4().hex[:6]}"
    entry = {"node": node, "values": dict(values)}
    if ref.backend == "local":
        assert ref.run_dir is not None
        path = ref.run_dir.path / RESUME_FILE
        _write(path, {**_read(path), request_id: entry})
        return ResumeRequested(ref.run_id, node, request_id, ref.watched_here)
    assert ref.cluster is not None
    if not ref.watched_here and not cluster_running(ref.cluster, ref.run_id) and ref.record is None:
        raise KjobError(f"run {ref.run_id} is not running", hint="nothing to resume")
    current = _cluster_requests(ref.cluster, ref.run_id)
    _annotate(ref.cluster, ref.run_id, {**current, request_id: entry})
    return ResumeRequested(ref.run_id, node, request_id, True if ref.watched_here else None)


def resume_requests_for(backend: Backend, run_dir: RunDir) -> Callable[[], Requests]:
    """What the engine reads between steps: the resume requests of the run it runs."""
    if backend.name == "kubernetes":
        from kjob.backends.kubernetes.backend import KubernetesBackend

        assert isinstance(backend, KubernetesBackend)
        cluster, run_id = backend.cluster, backend.run.run_id
        return _Throttled(lambda: _cluster_requests(cluster, run_id), CLUSTER_LOOK_EVERY)
    path = run_dir.path / RESUME_FILE
    return _Throttled(lambda: _read(path), LOCAL_LOOK_EVERY)


class _Throttled:
    """Reads the requests at most every ``every`` seconds; keeps the last good read."""

    def __init__(self, read: Callable[[], dict[str, Any]], every: float) -> None:
        self._read = read
        self._every = every
        self._next = 0.0
        self._seen: Requests = {}

    def __call__(self) -> Requests:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._every
            self._seen = _parse(self._read())
        return self._seen


def _parse(raw: Mapping[str, Any]) -> Requests:
    found: Requests = {}
    for request_id, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("node"), str):
            continue
        values = entry.get("values")
        if not isinstance(values, dict):
            values = {}
        found[str(request_id)] = (entry["node"], {str(k): str(v) for k, v in values.items()})
    return found


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True) + "\n")
    tmp.replace(path)


def _cluster_requests(cluster: Cluster, run_id: str) -> dict[str, Any]:
    from kubernetes import client

    try:
        cm = cluster.core.read_namespaced_config_map(run_id, cluster.namespace)
    except (client.ApiException, OSError):
        return {}
    text = ((cm.metadata.annotations or {}) if cm.metadata else {}).get(ANNOTATION_RESUME)
    with contextlib.suppress(ValueError, TypeError):
        data = json.loads(text or "{}")
        return data if isinstance(data, dict) else {}
    return {}


def _annotate(cluster: Cluster, run_id: str, data: Mapping[str, Any]) -> None:
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error

    body = {"metadata": {"annotations": {ANNOTATION_RESUME: json.dumps(data, sort_keys=True)}}}
    try:
        cluster.core.patch_namespaced_config_map(run_id, cluster.namespace, body)
    except client.ApiException as err:
        raise KjobError(f"could not mark run {run_id} in the cluster: {describe_error(err)}") from None


def secret_reader(backend: Backend) -> Callable[[str, str], str] | None:
    """How an http template's ``secretKeyRef`` header is read on ``backend``: from the run's namespace
    on Kubernetes; None on the local backend (no cluster)."""
    if backend.name != "kubernetes":
        return None
    from kjob.backends.kubernetes.backend import KubernetesBackend

    assert isinstance(backend, KubernetesBackend)
    cluster = backend.cluster

    def read(name: str, key: str) -> str:
        import base64

        from kubernetes import client

        from kjob.backends.kubernetes.cluster import describe_error

        try:
            secret = cluster.core.read_namespaced_secret(name, cluster.namespace)
        except client.ApiException as err:
            raise KjobError(f"could not read Secret '{name}': {describe_error(err)}") from None
        data = secret.data or {}
        if key not in data:
            raise KjobError(f"Secret '{name}' has no key '{key}'")
        return base64.b64decode(data[key]).decode()

    return read
