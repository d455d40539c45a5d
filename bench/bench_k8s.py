"""Benchmark kjob's Kubernetes backend on the API emulator or on a real cluster: API requests per task,
the time from a dependency's completion to its dependent's Job, and a fan-out as one Indexed Job vs
one Job per item.

    .venv/bin/python bench/bench_k8s.py                  # full sizes on the emulator (about 12 minutes here)
    .venv/bin/python bench/bench_k8s.py --quick          # small sizes, seconds (tests/test_k8s_bench.py)
    .venv/bin/python bench/bench_k8s.py --only fan       # the cases whose name contains "fan"
    .venv/bin/python bench/bench_k8s.py --json out.json
    .venv/bin/python bench/bench_k8s.py --kubeconfig ~/.cache/realk8s/kubeconfig [--fan-items 500]

Each run is kjob's own CLI, ``kjob run FILE --backend kubernetes ...`` as a user types it (or, for
the ``engine`` driver, kjob's Engine + KubernetesBackend without the CLI's progress display and run
record), in a child process of its own, started through :func:`child` so that it can report the
requests its client sent (``PoliteApiClient.requests``, and each request by verb and resource).

* **emulator** (the default): a fresh :class:`~kjob.testing.emulator.Emulator` per run, in this
  process, whose pods succeed after a scripted duration without running anything.  Requests are
  read from its audit log (and checked against the client's own count); a Job's creation and its
  ``Complete`` condition are timestamped where the emulator commits them (a store watcher in the
  committing thread).
* **cluster** (``--kubeconfig``): a namespace of its own per run on a real cluster, deleted after the
  run (also when it fails).  There is no audit log, so requests are the client's own count; a watch
  of the namespace's Jobs, pods and ConfigMaps from this process timestamps when each Job is
  ``ADDED`` and when its ``Complete`` condition first shows (this machine's clock, milliseconds).
  The Jobs' own second-resolution timestamps (``creationTimestamp``, the condition's
  ``lastTransitionTime``) are reported beside them.

A task's latency is its Job's creation minus the completion of the last of its dependencies' Jobs:
what kjob adds between "the Job controller says Complete" and "the dependent Job exists".  What the
Job controller adds before it (its pod ended -> the Job Complete) is reported on its own.  Workflows
and pod durations are generated from fixed seeds; the pods sleep for those durations (on the
emulator, they are scripted to).  bench/README.md explains the cases, the goals and the estimate of
what Argo would need (an estimate: Argo is not run here).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kjob.render import names

if TYPE_CHECKING:
    from kjob.testing.emulator import Emulator, PodScript, PodView

REPO = Path(__file__).resolve().parent.parent
DEFAULTS = (20.0, 30)  # the CLI's --qps/--burst defaults
HIGH = (10_000.0, 10_000)  # the token bucket never waits
TIMEOUT = 1800.0  # seconds one run may take


# ---------------------------------------------------------------------------------------- workflows
@dataclass(frozen=True)
class Pods:
    """How long each pod runs: a duration in [low, high) that depends only on its task (and completion
    index), in milliseconds.  The workflows pass it to ``sleep``; on the emulator the pods are
    scripted to take it (printing ``ok`` as their log and termination message)."""

    low: float
    high: float
    start_delay: float = 0.0

    def seconds(self, key: str) -> float:
        h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
        return round(self.low + (self.high - self.low) * h, 3)

    def __call__(self, pod: PodView) -> PodScript:
        from kjob.testing.emulator import PodScript

        key = pod.labels.get(names.LABEL_TASK, pod.name)
        if pod.index is not None:
            key += f"/{pod.index}"
        return PodScript(
            duration=self.seconds(key),
            logs="ok\n",
            termination_message="ok",
            start_delay=self.start_delay,
        )


@dataclass(frozen=True)
class Workload:
    """A generated workflow: its YAML, each task's dependencies, how many Jobs' worth of work, and
    how long its pods run."""

    text: str
    deps: dict[str, list[str]]
    tasks: int
    pods: Pods


def _header(name: str) -> list[str]:
    return [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        f"metadata: {{name: {name}}}",
        "spec:",
        "  entrypoint: main",
        "  templates:",
        "  - name: main",
        "    dag:",
        "      tasks:",
    ]


def layered(layers: int, width: int, pods: Pods, *, outputs: str = "", seed: int = 0) -> Workload:
    """``layers`` x ``width`` tasks; each task after the first layer depends on 1 to 3 random tasks
    of the layer before; each pod sleeps for its task's duration.  ``outputs="parameter"``: every
    task writes an output parameter and passes its first dependency's on; ``outputs="result"``: the
    same through ``outputs.result`` (the log)."""
    rng = random.Random(seed)
    deps: dict[str, list[str]] = {}
    for layer in range(layers):
        for i in range(width):
            chosen = sorted(rng.sample(range(width), k=min(width, rng.randint(1, 3)))) if layer else []
            deps[f"t{layer:03d}-{i:03d}"] = [f"t{layer - 1:03d}-{j:03d}" for j in chosen]
    lines = _header(f"bench-{outputs or 'dag'}")
    for name, ds in deps.items():
        task = f"      - {{name: {name}, template: work"
        if ds:
            task += f", dependencies: [{', '.join(ds)}]"
        params = [f'{{name: s, value: "{pods.seconds(name):.3f}"}}']
        if outputs:
            ref = {"parameter": "outputs.parameters.out", "result": "outputs.result"}[outputs]
            value = "{{tasks." + ds[0] + "." + ref + "}}" if ds else "start"
            params.append(f'{{name: v, value: "{value}"}}')
        lines.append(task + f", arguments: {{parameters: [{', '.join(params)}]}}}}")
    sleep = "sleep {{inputs.parameters.s}}"
    echo = "echo {{inputs.parameters.v}}"
    lines.append("  - name: work")
    if outputs == "parameter":
        lines += [
            "    inputs: {parameters: [{name: s}, {name: v}]}",
            f"    container: {{image: alpine:3.20, command: [sh, -c, '{echo} > /tmp/out; {sleep}']}}",
            "    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}",
        ]
    elif outputs == "result":
        lines += [
            "    inputs: {parameters: [{name: s}, {name: v}]}",
            f"    container: {{image: alpine:3.20, command: [sh, -c, '{echo}; {sleep}']}}",
        ]
    else:
        lines += [
            "    inputs: {parameters: [{name: s}]}",
            "    container: {image: alpine:3.20, command: [sleep, '{{inputs.parameters.s}}']}",
        ]
    return Workload("\n".join(lines) + "\n", deps, layers * width, pods)


def independent(n: int, pods: Pods) -> Workload:
    """``n`` tasks with no dependencies (for the slow-start case: emulator only)."""
    lines = _header("bench-slow")
    lines += [f"      - {{name: t{i:04d}, template: work}}" for i in range(n)]
    lines += ["  - name: work", "    container: {image: alpine:3.20, command: [sh, -c, 'true']}"]
    return Workload("\n".join(lines) + "\n", {f"t{i:04d}": [] for i in range(n)}, n, pods)


def fan_out(items: int) -> Workload:
    """One task fanned out over ``items`` items (``withSequence``) whose pods print their item and
    end at once, then one task after them all."""
    text = f"""apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: bench-fan}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: fan
        template: work
        arguments: {{parameters: [{{name: i, value: "{{{{item}}}}"}}]}}
        withSequence: {{count: "{items}"}}
      - {{name: after, template: done, dependencies: [fan]}}
  - name: work
    inputs: {{parameters: [{{name: i}}]}}
    container: {{image: alpine:3.20, command: [sh, -c, 'echo {{{{inputs.parameters.i}}}}']}}
  - name: done
    container: {{image: alpine:3.20, command: [sh, -c, 'true']}}
"""
    return Workload(text, {"fan": [], "after": ["fan"]}, items + 1, Pods(0.0, 0.0))


def critical_path(deps: dict[str, list[str]], seconds: Callable[[str], float]) -> float:
    """The longest chain of pod durations through the DAG (tasks come in dependency order)."""
    end: dict[str, float] = {}
    for task, ds in deps.items():
        end[task] = max((end[d] for d in ds), default=0.0) + seconds(task)
    return max(end.values(), default=0.0)


# ------------------------------------------------------------------------- the child: kjob itself
def request_key(method: str, url: str) -> str:
    """``verb resource[/subresource]`` of one request, as an apiserver's audit log names it (``get``
    alone for a non-resource path such as ``/version``; `` (dry run)`` added for ``dryRun=All``)."""
    split = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(split.query)
    parts = [p for p in split.path.split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return "get" if method == "GET" else method.lower()
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    resource, name, sub = [*rest, "", "", ""][:3]
    if method == "POST":
        verb = "create"
    elif method == "GET":
        verb = "watch" if query.get("watch", [""])[0] in ("true", "1") else "get" if name else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = {"PUT": "update", "PATCH": "patch"}.get(method, method.lower())
    key = f"{verb} {resource}" + (f"/{sub}" if sub else "")
    return key + (" (dry run)" if query.get("dryRun") else "")


class RequestTally:
    """Counts every HTTP request the ``kubernetes`` client sends in this process, by
    :func:`request_key`, underneath kjob's ``PoliteApiClient`` (so retries count, as they do in its
    own ``requests``), and remembers the clients to read that figure too."""

    def __init__(self) -> None:
        self.by: Counter[str] = Counter()
        self.first: float | None = None
        self.clients: dict[int, Any] = {}
        self._lock = threading.Lock()

    def install(self) -> RequestTally:
        from kubernetes.client import ApiClient

        from kjob.backends.kubernetes.cluster import PoliteApiClient

        send = ApiClient.call_api

        def counted(api: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.by[request_key(method, url)] += 1
                if self.first is None:
                    self.first = time.time()
                if isinstance(api, PoliteApiClient):
                    self.clients[id(api)] = api
            return send(api, method, url, *args, **kwargs)

        ApiClient.call_api = counted  # type: ignore[method-assign,assignment]
        return self

    def write(self, path: Path) -> None:
        with self._lock:
            data = {
                "requests": sum(c.requests for c in self.clients.values()),  # PoliteApiClient's count
                "by": dict(sorted(self.by.items())),
                "first": self.first,
            }
        path.write_text(json.dumps(data))


def child(argv: list[str]) -> int:
    """``REQUESTS_FILE DRIVER ARGS...``: run kjob's CLI (``kjob``: ARGS are ``kjob``'s) or the
    ``engine`` driver, then write what its client sent to REQUESTS_FILE (JSON), however it ends."""
    out, driver, args = Path(argv[0]), argv[1], argv[2:]
    tally = RequestTally().install()
    try:
        if driver == "engine":
            return engine_main(args)
        from kjob.cli import main as kjob_main

        sys.argv = ["kjob", *args]
        kjob_main()
        return 0
    finally:
        tally.write(out)


def engine_main(argv: list[str]) -> int:
    """The ``engine`` driver: what ``kjob run`` does, minus the progress display and ``run.json``."""
    import uuid

    from kjob.backends.kubernetes import KubernetesBackend, connect
    from kjob.cli.common import load, pick_workflow, run_id_for
    from kjob.engine.engine import Engine, EngineOptions

    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--kubeconfig")
    ap.add_argument("-n", "--namespace")
    ap.add_argument("--qps", type=float, default=DEFAULTS[0])
    ap.add_argument("--burst", type=int, default=DEFAULTS[1])
    ap.add_argument("--ttl-seconds-after-finished", type=int)
    ap.add_argument("--no-indexed-jobs", action="store_true")
    ap.add_argument("--trace", type=Path, help="write when each task was submitted (JSON)")
    args = ap.parse_args(argv)
    text = Path(args.file).read_text()
    workflow = pick_workflow(load(args.file, lenient=False), args.file, None)
    cluster = connect(kubeconfig=args.kubeconfig, namespace=args.namespace, qps=args.qps, burst=args.burst)
    run_id = run_id_for(workflow)
    run = KubernetesBackend.create_run(cluster, run_id, workflow_text=text, parameters={})
    kwargs: dict[str, Any] = {"ttl_seconds_after_finished": args.ttl_seconds_after_finished}
    if args.no_indexed_jobs:
        kwargs["indexed_jobs"] = False
    backend = KubernetesBackend(cluster, run, **kwargs)
    submitted: dict[str, float] = {}
    submit = backend.submit

    def timed_submit(spec: Any) -> None:
        submitted.setdefault(spec.task_name or spec.node_id, time.time())
        submit(spec)

    backend.submit = timed_submit  # type: ignore[method-assign]
    options = EngineOptions(namespace=cluster.namespace, uid=str(uuid.uuid4()))
    try:
        result = Engine(workflow, backend, run_id=run_id, options=options).run()
    finally:
        backend.close()
        if args.trace:
            args.trace.write_text(json.dumps(submitted))
    return 0 if result.succeeded else 1


# ------------------------------------------------------------------------------------ observation
def _epoch(stamp: str | None) -> float | None:
    """An RFC 3339 timestamp of the API (second resolution) as seconds since the epoch."""
    return datetime.fromisoformat(stamp).timestamp() if stamp else None


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c.get("type") == kind and c.get("status") == "True":
            return dict(c)
    return None


def _owner_job(meta: dict[str, Any]) -> str | None:
    return next((str(r["name"]) for r in meta.get("ownerReferences") or () if r.get("kind") == "Job"), None)


class Seen:
    """What the bench saw happen to a run's Jobs, pods and ConfigMaps, each moment on this machine's
    clock (``time.time()``, as the child's).  Thread-safe: the emulator's committing threads or the
    bench's watch threads call :meth:`job`, :meth:`pod`, :meth:`configmap`."""

    def __init__(self) -> None:
        self.created: dict[str, float] = {}  # Job -> first seen
        self.complete: dict[str, float] = {}  # Job -> Complete first seen
        self.failed: set[str] = set()
        self.gone: set[str] = set()  # Jobs seen deleted
        self.added: Counter[str] = Counter()  # Job -> ADDED events (a watch sees a re-create)
        self.task_job: dict[str, str] = {}
        self.server: dict[str, tuple[float | None, float | None]] = {}  # creationTimestamp, Complete's
        self.writes: dict[str, set[tuple[str, str]]] = {"jobs": set(), "pods": set()}
        self.pod_ended: dict[str, float] = {}  # pod -> Succeeded/Failed first seen
        self.pod_job: dict[str, str] = {}
        self.configmaps: set[str] = set()
        self.lock = threading.Lock()

    def job(self, obj: dict[str, Any], now: float, event: str | None = None) -> None:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        if names.LABEL_RUN not in labels:
            return
        name = str(meta.get("name"))
        with self.lock:
            self.writes["jobs"].add((name, str(meta.get("resourceVersion"))))
            self.created.setdefault(name, now)
            if event == "ADDED":
                self.added[name] += 1
            if event == "DELETED":
                self.gone.add(name)
                return
            task = labels.get(names.LABEL_TASK)
            if task:
                self.task_job.setdefault(task, name)
            done = _condition(obj, "Complete")
            if done is not None and name not in self.complete:
                self.complete[name] = now
                self.server[name] = (
                    _epoch(meta.get("creationTimestamp")),
                    _epoch(done.get("lastTransitionTime")),
                )
            elif name not in self.server:
                self.server[name] = (_epoch(meta.get("creationTimestamp")), None)
            if _condition(obj, "Failed") is not None:
                self.failed.add(name)

    def pod(self, obj: dict[str, Any], now: float) -> None:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name"))
        with self.lock:
            self.writes["pods"].add((name, str(meta.get("resourceVersion"))))
            job = _owner_job(meta)
            if job:
                self.pod_job.setdefault(name, job)
            if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                self.pod_ended.setdefault(name, now)

    def configmap(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if names.LABEL_RUN in (meta.get("labels") or {}):
            with self.lock:
                self.configmaps.add(str(meta.get("name")))

    def settled(self) -> bool:
        """Every Job seen has been seen finished (or deleted)."""
        with self.lock:
            return all(j in self.complete or j in self.failed or j in self.gone for j in self.created)

    def controller_ms(self) -> list[float]:
        """Per Job that completed: its Complete minus the end of its last pod (ms): what the Job
        controller (and the API between) adds before kjob can see the outcome."""
        with self.lock:
            last: dict[str, float] = {}
            for pod, at in self.pod_ended.items():
                job = self.pod_job.get(pod)
                if job is not None:
                    last[job] = max(at, last.get(job, at))
            return sorted((self.complete[j] - at) * 1000 for j, at in last.items() if j in self.complete)


@dataclass
class Audit:
    """What only the emulator knows: every request it received."""

    requests: dict[str, int]
    duplicates: int
    problems: list[str]


class Side(Protocol):
    """Where one run goes: the kubeconfig and namespace to give kjob, and what was seen there."""

    kubeconfig: Path
    namespace: str
    seen: Seen
    version: str

    def settle(self) -> None: ...

    def audit(self) -> Audit | None: ...


class EmulatorSide:
    """A fresh emulator for one run, in this process; a store watcher (whose filter never lets
    anything through) sees every commit to Jobs, pods and ConfigMaps in the committing thread."""

    def __init__(self, pods: Pods, root: Path) -> None:
        from kjob.testing.emulator import Emulator

        self.emu: Emulator = Emulator(pods)
        self.root = root
        self.seen = Seen()
        self.namespace = "default"
        self.version = self.emu.version
        self.kubeconfig = root / "kubeconfig"

    def __enter__(self) -> EmulatorSide:
        self.emu.__enter__()
        look = {"jobs": self.seen.job, "pods": self.seen.pod}
        for resource in ("jobs", "pods", "configmaps"):
            self.emu.store.watch(resource, None, self._predicate(resource, look.get(resource)), since=None)
        self.emu.write_kubeconfig(self.kubeconfig, namespace=self.namespace)
        return self

    def _predicate(
        self, resource: str, record: Callable[[dict[str, Any], float], None] | None
    ) -> Callable[[dict[str, Any]], bool]:
        def look(obj: dict[str, Any]) -> bool:
            if record is not None:
                record(obj, time.time())
            else:
                self.seen.configmap(obj)
            return False

        return look

    def __exit__(self, *exc: object) -> None:
        self.emu.__exit__(None, None, None)

    def settle(self) -> None:
        """Commits are seen as they happen: nothing to wait for."""

    def audit(self) -> Audit:
        entries = self.emu.audit()
        requests: Counter[str] = Counter()
        creates: Counter[str] = Counter()
        for e in entries:
            key = f"{e.verb} {e.resource}".strip() + (f"/{e.subresource}" if e.subresource else "")
            if e.dry_run:  # kjob's probe of Indexed Jobs (features.py): answered, never stored
                key += " (dry run)"
            elif e.verb == "create" and e.resource == "jobs" and e.code == 201:
                creates[e.name] += 1
            requests[key] += 1
        return Audit(
            dict(sorted(requests.items())),
            sum(n - 1 for n in creates.values()),
            [f"emulator: {e}" for e in self.emu.errors],
        )


IO_PRESSURE = Path("/proc/pressure/io")


def quiet(limit: float = 20.0, timeout: float = 600.0) -> None:
    """Wait (at most ``timeout`` s) until this machine's I/O pressure (``some avg10``, the share of
    the last 10 s in which some task waited for I/O) is below ``limit`` percent.  A node agent on
    this machine (realk8s's runs each pod here) removes a deleted namespace's pod directories after
    the namespace is gone; thousands of them keep the disk busy for minutes, and a run started then
    would measure the disk, not kjob.  Without the file (not Linux, no PSI) it does not wait."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            some = IO_PRESSURE.read_text().splitlines()[0]
        except (OSError, IndexError):
            return
        fields = dict(f.split("=") for f in some.split()[1:])
        if float(fields.get("avg10", 0)) < limit:
            break
        time.sleep(2)
    waited = time.monotonic() - started
    if waited > 5:
        print(f"... waited {waited:.0f} s for the disk to settle (I/O pressure below {limit:g}%)", flush=True)


class ClusterSide:
    """A namespace of its own on a real cluster for one run, watched from this process (Jobs, pods,
    ConfigMaps; each event timestamped when it arrives), and deleted afterwards with everything in it
    — also when the run fails or the bench is interrupted."""

    def __init__(
        self, kubeconfig: Path, api: Any, version: str, *, deleting: list[ClusterSide] | None = None
    ) -> None:
        from kubernetes import client

        #: given, the namespace's deletion is only asked for on leaving, and added here for the
        #: caller to :meth:`wait_deleted` later (the next run starts meanwhile)
        self.deleting = deleting
        self.kubeconfig = kubeconfig
        self.api = api
        self.version = version
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.namespace = f"kjob-bench-{secrets.token_hex(3)}"
        self.seen = Seen()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._responses: dict[str, Any] = {}
        self._deleting_since = 0.0

    def __enter__(self) -> ClusterSide:
        from kubernetes import client

        quiet()

        meta = client.V1ObjectMeta(name=self.namespace, labels={"kjob.dev/bench": "k8s"})
        self.core.create_namespace(client.V1Namespace(metadata=meta))
        try:
            # a pod needs the namespace's default ServiceAccount and kube-root-ca.crt (its token
            # volume): waiting here keeps the first Jobs from being refused or held up by them
            self._wait(
                "the default ServiceAccount",
                lambda: self._exists(self.core.read_namespaced_service_account, "default"),
            )
            self._wait(
                "kube-root-ca.crt",
                lambda: self._exists(self.core.read_namespaced_config_map, "kube-root-ca.crt"),
            )
            Record = Callable[[dict[str, Any], float, str], None]
            watches: dict[str, tuple[Callable[..., Any], Record]] = {
                "jobs": (self.batch.list_namespaced_job, self.seen.job),
                "pods": (self.core.list_namespaced_pod, lambda o, t, _e: self.seen.pod(o, t)),
                "configmaps": (
                    self.core.list_namespaced_config_map,
                    lambda o, _t, _e: self.seen.configmap(o),
                ),
            }
            for resource, (lister, record) in watches.items():
                version = lister(self.namespace).metadata.resource_version
                thread = threading.Thread(
                    target=self._follow, args=(resource, lister, record, version), daemon=True
                )
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _exists(self, read: Callable[..., Any], name: str) -> bool:
        from kubernetes import client

        try:
            read(name, self.namespace)
        except client.ApiException as err:
            if err.status == 404:
                return False
            raise
        return True

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not appear in namespace {self.namespace} in {timeout:.0f} s")
            time.sleep(0.1)

    def _follow(
        self,
        resource: str,
        lister: Callable[..., Any],
        record: Callable[[dict[str, Any], float, str], None],
        version: str,
    ) -> None:
        """Watch ``resource`` from ``version`` until stopped, re-opening from the last version seen
        when the server ends the watch; each event is timestamped as soon as its line arrives."""
        from kubernetes.watch.watch import iter_resp_lines

        while not self._stop.is_set():
            try:
                resp = lister(
                    self.namespace,
                    watch=True,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=300,
                    _preload_content=False,
                )
                self._responses[resource] = resp
                if self._stop.is_set():
                    break
                for line in iter_resp_lines(resp):  # type: ignore[no-untyped-call]
                    now = time.time()
                    if not line:
                        continue
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        raise RuntimeError(f"{obj.get('code')} {obj.get('reason')}: {obj.get('message')}")
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        record(obj, now, event["type"])
            except Exception as err:  # stopping closes the connection under the read
                if not self._stop.is_set():
                    self.errors.append(
                        f"watch of {resource} in {self.namespace}: {type(err).__name__}: {err}"
                    )
                return

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until the watch has seen every Job it saw created finish (kjob saw it before it
        exited; the bench's own watch may be a few milliseconds behind), then stop watching."""
        deadline = time.monotonic() + timeout
        while not self.seen.settled() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the writes that follow the last Complete (pod finalizers)
        self._stop_watches()

    def _stop_watches(self) -> None:
        self._stop.set()
        for resp in list(self._responses.values()):
            with contextlib.suppress(Exception):  # the connection may already be gone
                resp.shutdown()
                resp.release_conn()
        for thread in self._threads:
            thread.join(timeout=10)

    def audit(self) -> None:
        """A real cluster keeps no audit log we can read."""
        return None

    def __exit__(self, *exc: object) -> None:
        from kubernetes import client

        self._stop_watches()
        started = time.monotonic()
        try:
            self.core.delete_namespace(self.namespace)
        except client.ApiException as err:
            if err.status != 404:
                print(
                    f"... could not delete namespace {self.namespace}: {err.status} {err.reason}", flush=True
                )
                return
        self._deleting_since = started
        if self.deleting is not None:
            self.deleting.append(self)
        else:
            self.wait_deleted()

    def wait_deleted(self) -> None:
        """Wait until the namespace, whose deletion was asked for, is gone."""
        try:
            self._wait("deletion", lambda: not self._namespace_exists(), timeout=900)
        except TimeoutError:
            print(f"... namespace {self.namespace} is still being deleted (left to the cluster)", flush=True)
            return
        took = time.monotonic() - self._deleting_since
        if took > 15:
            print(f"... deleting namespace {self.namespace} took {took:.0f} s", flush=True)

    def _namespace_exists(self) -> bool:
        from kubernetes import client

        try:
            self.core.read_namespace(self.namespace)
        except client.ApiException as err:
            if err.status == 404:
                return False
            raise
        return True


# ------------------------------------------------------------------------------------- one run
@dataclass
class Run:
    """One run of a workflow, and what it cost."""

    case: str
    driver: str  # "kjob run" (the CLI) or "engine" (Engine + KubernetesBackend, no observers)
    qps: float
    burst: int
    options: str  # extra command-line options, as typed
    tasks: int
    mode: str = "emulator"  # or "cluster"
    namespace: str = ""
    load: float = 0.0  # the machine's 1-minute load average when the run started
    code: int = -1
    startup_s: float = 0.0  # process start -> first API request
    run_s: float = 0.0  # first API request -> the last Job's Complete
    tail_s: float = 0.0  # the last Job's Complete -> process exit
    ideal_s: float | None = None  # the critical path of pod start delays and durations alone
    # "verb resource[/sub]" -> count: the emulator's audit log, or (cluster) the client's own tally
    requests: dict[str, int] = field(default_factory=dict)
    client_requests: int = 0  # PoliteApiClient.requests in the kjob process
    client_by: dict[str, int] = field(default_factory=dict)  # the tally under it, by verb and resource
    jobs_created: int = 0
    duplicates: int = 0
    configmaps_created: int = 0
    pods: int = 0
    job_writes: int = 0  # every write to a Job seen (the client's creates included)
    pod_writes: int = 0
    latency_ms: list[float] = field(default_factory=list)
    controller_ms: list[float] = field(default_factory=list)  # a Job's last pod ended -> its Complete
    server_latency_s: list[float] = field(default_factory=list)  # the same as latency_ms, from the
    # Jobs' own timestamps: dependent's creationTimestamp - dependency's Complete lastTransitionTime
    # engine driver only, per dependent task: last dependency Complete -> the engine calls submit,
    # and submit -> the Job seen created
    decide_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    # kube-controller-manager's client during the run (--controller-metrics): requests sent, and
    # requests through its rate limiter and the seconds they waited there
    controller_manager: tuple[float, float, float] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def per_task(self) -> float:
        return self.total_requests / max(self.tasks, 1)

    @property
    def label(self) -> str:
        qps = "defaults" if (self.qps, self.burst) == DEFAULTS else f"qps {self.qps:g}"
        return ", ".join(x for x in (self.driver, qps, self.options) if x)

    def summary(self) -> dict[str, Any]:
        def pcts(values: list[float]) -> dict[str, float]:
            return {f"p{q}": pct(values, q) for q in (50, 95, 99)} | {"n": len(values)}

        return dataclasses.asdict(self) | {
            "label": self.label,
            "total_requests": self.total_requests,
            "per_task": self.per_task,
            "latency": pcts(self.latency_ms),
            "controller": pcts(self.controller_ms),
            "server_latency": pcts(self.server_latency_s),
        }


def child_env(home: Path, kubeconfig: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env.update(KJOB_HOME=str(home), KUBECONFIG=str(kubeconfig), NO_COLOR="1", COLUMNS="200", TERM="dumb")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    return env


class Target:
    """Where the runs go: ``emulator`` (a fresh emulator per run) or ``cluster`` (``kubeconfig``; a
    fresh namespace per run), and the sizes asked for."""

    def __init__(
        self,
        *,
        quick: bool,
        fan_items: int | None,
        kubeconfig: Path | None,
        controller_metrics: str | None = None,
    ) -> None:
        self.quick = quick
        self.fan_items = fan_items if fan_items is not None else 20 if quick else 2000
        self.kubeconfig = kubeconfig
        self.mode = "cluster" if kubeconfig else "emulator"
        self.version = ""
        self.api: Any = None
        if kubeconfig is not None:
            from kubernetes import client, config

            cfg = client.Configuration()
            config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)  # type: ignore[no-untyped-call]
            self.api = client.ApiClient(cfg)
            self.version = str(client.VersionApi(self.api).get_code().git_version)
        self.metrics = ControllerMetrics(controller_metrics, cfg) if controller_metrics else None
        self.runs: list[Run] = []  # every run measured so far, in order
        #: a quick run's namespaces being deleted while the next runs go on (waited for on closing);
        #: a full run waits for each before the next, so that no deletion weighs on its figures
        self.deleting: list[ClusterSide] | None = [] if quick else None
        self.on_run: Callable[[Run], None] | None = None

    def side(self, pods: Pods, root: Path) -> EmulatorSide | ClusterSide:
        if self.kubeconfig is None:
            side = EmulatorSide(pods, root)
            self.version = side.version
            return side
        return ClusterSide(self.kubeconfig, self.api, self.version, deleting=self.deleting)

    def close(self) -> None:
        for side in self.deleting or []:
            side.wait_deleted()
        if self.api is not None:
            self.api.close()
        if self.metrics is not None:
            self.metrics.api.close()


class ControllerMetrics:
    """kube-controller-manager's own API client, read off its ``/metrics`` before and after a run
    (``--controller-metrics URL``, cluster mode): the requests it sent (the Job controller's pod
    creates and Job status writes, the garbage collector's, ...) and how long they waited in its
    client-side rate limiter (``--kube-api-qps``, 20 by default).  These are the whole controller
    manager's: on a shared cluster, other users' work is in them too."""

    def __init__(self, url: str, cfg: Any) -> None:
        import copy

        from kubernetes import client

        cfg = copy.copy(cfg)
        cfg.verify_ssl = False  # its serving certificate is self-signed (loopback only)
        self.url = url
        self.api: Any = client.ApiClient(cfg)

    def read(self) -> tuple[float, float, float]:
        """(requests sent, requests that went through the rate limiter, seconds they waited there)."""
        import warnings

        import urllib3

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            resp = self.api.call_api("GET", self.url, {"Accept": "text/plain"})
            resp.read()
        sums = {"rest_client_requests_total": 0.0, "_count": 0.0, "_sum": 0.0}
        for line in resp.data.decode().splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("rest_client_requests_total{"):
                sums["rest_client_requests_total"] += float(value)
            elif name.startswith("rest_client_rate_limiter_duration_seconds_count{"):
                sums["_count"] += float(value)
            elif name.startswith("rest_client_rate_limiter_duration_seconds_sum{"):
                sums["_sum"] += float(value)
        return sums["rest_client_requests_total"], sums["_count"], sums["_sum"]


def measure(
    target: Target,
    case: str,
    work: Workload,
    *,
    driver: str = "kjob run",
    qps: tuple[float, int] = HIGH,
    options: tuple[str, ...] = (),
    latency: bool = False,
) -> Run:
    """Run ``work`` once through ``driver`` on a fresh emulator or namespace, and measure it."""
    run = Run(case, driver, qps[0], qps[1], " ".join(options), work.tasks, mode=target.mode)
    print(f"... {case}: {run.label}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kjob-bench-") as tmp, target.side(work.pods, Path(tmp)) as side:
        root = Path(tmp)
        run.namespace = side.namespace
        run.load = os.getloadavg()[0]
        wf = root / "workflow.yaml"
        wf.write_text(work.text)
        home = root / "home"
        home.mkdir()
        tally, trace = root / "requests.json", root / "submits.json"
        common = ["--kubeconfig", str(side.kubeconfig), "-n", side.namespace, "--qps", f"{qps[0]:g}"]
        common += ["--burst", str(qps[1]), *options]
        code = "import sys, bench_k8s; sys.exit(bench_k8s.child(sys.argv[1:]))"
        cmd = [sys.executable, "-c", code, str(tally)]
        if driver == "kjob run":
            cmd += ["kjob", "run", str(wf), "--backend", "kubernetes", *common]
        else:
            cmd += ["engine", str(wf), "--trace", str(trace), *common]
        before = target.metrics.read() if target.metrics else None
        started = time.time()
        try:
            done = subprocess.run(
                cmd,
                env=child_env(home, side.kubeconfig),
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            run.code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as err:
            run.code, output = -1, f"timed out after {TIMEOUT:g} s: {err.stdout!r}"
        ended = time.time()
        side.settle()
        if before is not None and target.metrics is not None:
            after = target.metrics.read()
            run.controller_manager = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
        if run.code != 0:
            run.problems.append(f"exit {run.code}: {output[-1500:]}")
        audit = side.audit()
        if isinstance(side, ClusterSide):
            run.problems += side.errors
        sent: dict[str, Any] = json.loads(tally.read_text()) if tally.exists() else {}
        submits: dict[str, float] = json.loads(trace.read_text()) if trace.exists() else {}
    seen = side.seen
    run.client_requests = int(sent.get("requests") or 0)
    run.client_by = {str(k): int(v) for k, v in (sent.get("by") or {}).items()}
    if sum(run.client_by.values()) != run.client_requests:
        run.problems.append(
            f"the client counted {run.client_requests} requests, the tally {sum(run.client_by.values())}"
        )
    if audit is None:
        run.requests = run.client_by
        run.duplicates = sum(n - 1 for n in seen.added.values())
    else:
        run.requests = audit.requests
        run.duplicates = audit.duplicates
        run.problems += audit.problems
        if run.total_requests != run.client_requests:
            run.problems.append(
                f"the emulator audited {run.total_requests} requests,"
                f" the client counted {run.client_requests}"
            )
    first = float(sent.get("first") or started)
    last = max(seen.complete.values(), default=first)
    run.startup_s, run.run_s, run.tail_s = first - started, last - first, ended - last
    run.jobs_created = len(seen.created)
    run.configmaps_created = len(seen.configmaps)
    run.pods = len({name for name, _ in seen.writes["pods"]})
    run.job_writes, run.pod_writes = len(seen.writes["jobs"]), len(seen.writes["pods"])
    pods = work.pods
    run.ideal_s = critical_path(work.deps, lambda task: pods.start_delay + pods.seconds(task))
    run.controller_ms = seen.controller_ms()
    if run.duplicates:
        run.problems.append(f"{run.duplicates} Job(s) created more than once")
    if latency:
        run.latency_ms = latencies(work.deps, seen.task_job, seen.created, seen.complete)
        if len(run.latency_ms) != sum(1 for d in work.deps.values() if d):
            run.problems.append(f"latency measured for {len(run.latency_ms)} tasks only")
        created_s = {j: c for j, (c, _) in seen.server.items() if c is not None}
        complete_s = {j: d for j, (_, d) in seen.server.items() if d is not None}
        run.server_latency_s = [
            ms / 1000 for ms in latencies(work.deps, seen.task_job, created_s, complete_s)
        ]
        if submits:
            submitted = {seen.task_job[t]: at for t, at in submits.items() if t in seen.task_job}
            run.decide_ms = latencies(work.deps, seen.task_job, submitted, seen.complete)
            run.post_ms = sorted(
                (seen.created[j] - at) * 1000 for j, at in submitted.items() if j in seen.created
            )
    target.runs.append(run)
    print(f"    {brief(run)}", flush=True)
    if target.on_run is not None:
        target.on_run(run)
    return run


def brief(r: Run) -> str:
    """One line for a run just measured (the tables come at the end)."""
    parts = [
        f"exit {r.code}",
        f"{r.total_requests:,} requests ({r.per_task:.3f}/task)",
        f"{r.jobs_created:,} Jobs, {r.pods:,} pods",
        f"run {r.run_s:.1f} s",
    ]
    if r.latency_ms:
        parts.append(f"latency p50 {ms(pct(r.latency_ms, 50))} / p99 {ms(pct(r.latency_ms, 99))} ms")
    parts.append(f"load {r.load:.1f}")
    return "; ".join(parts) + ("; PROBLEMS" if r.problems else "")


def latencies(
    deps: dict[str, list[str]], job_of: dict[str, str], created: dict[str, float], complete: dict[str, float]
) -> list[float]:
    """Per task with dependencies: its Job's creation minus its last dependency's completion (ms)."""
    out: list[float] = []
    for task, ds in deps.items():
        job = job_of.get(task)
        ready = [complete.get(job_of.get(d, ""), math.nan) for d in ds]
        if ds and job in created and not any(math.isnan(r) for r in ready):
            out.append((created[job] - max(ready)) * 1000)
    return sorted(out)


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of sorted ``values``; NaN when empty."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


# -------------------------------------------------------------------------------------- the cases
def dag_runs(t: Target) -> list[Run]:
    """The 1,000-task DAG: requests per task and latency, with the CLI's rate-limit defaults and
    without a limit, keeping every Job or letting the TTL controller delete finished ones, through
    the CLI and through the bare engine; plus a chain (one Job at a time)."""
    layers, width = (3, 10) if t.quick else (20, 50)
    work = layered(layers, width, Pods(0.05, 0.15) if t.quick else Pods(0.5, 1.5))
    case = f"dag {work.tasks:,}"
    ttl0 = ("--ttl-seconds-after-finished", "0")
    if t.quick:
        return [
            measure(t, case, work, qps=HIGH, latency=True),
            measure(t, case, work, driver="engine", qps=HIGH, latency=True),
        ]
    return [
        measure(t, case, work, qps=DEFAULTS, latency=True),
        measure(t, case, work, qps=HIGH, latency=True),
        measure(t, case, work, qps=HIGH, options=ttl0, latency=True),
        measure(t, case, work, driver="engine", qps=HIGH, options=ttl0, latency=True),
        measure(t, "chain 50", layered(50, 1, Pods(0.1, 0.2)), qps=HIGH, latency=True),
    ]


def output_runs(t: Target) -> list[Run]:
    """Tasks whose outputs are read: a parameter (the pod's termination message) or the result
    (its log) cost reads per task."""
    if t.quick:
        return []
    return [
        measure(t, f"dag 100 + {kind}", layered(10, 10, Pods(0.1, 0.2), outputs=kind))
        for kind in ("parameter", "result")
    ]


def slow_start_runs(t: Target) -> list[Run]:
    """Pods stuck in ContainerCreating for 25 s: kjob looks at why (every 10 s).  Emulator only: a
    real cluster's pods cannot be scripted to start late."""
    if t.quick:
        return []
    if t.mode == "cluster":
        print("... slow start: skipped on a real cluster (pod start-up cannot be scripted there)", flush=True)
        return []
    return [measure(t, "slow start 100", independent(100, Pods(0.5, 0.6, start_delay=25.0)), qps=HIGH)]


def fan_runs(t: Target) -> list[Run]:
    """A fan-out as one Indexed Job and as one Job per item (``--no-indexed-jobs``): on the emulator
    with both rate-limit settings; on a real cluster with the CLI's defaults only (its pods really
    run: one setting keeps the load on the shared machine modest)."""
    work = fan_out(t.fan_items)
    case = f"fan-out {t.fan_items:,}"
    settings = [HIGH] if t.quick else [DEFAULTS] if t.mode == "cluster" else [DEFAULTS, HIGH]
    return [
        measure(t, case, work, qps=qps, options=options)
        for qps in settings
        for options in ((), ("--no-indexed-jobs",))
    ]


CASES: dict[str, Callable[[Target], list[Run]]] = {
    "dag": dag_runs,
    "outputs": output_runs,
    "slow start": slow_start_runs,
    "fan-out": fan_runs,
}


# ------------------------------------------------------------------------------------------ report
def table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    line = fmt(head)
    return "\n".join([line, "-" * len(line), *(fmt(r) for r in rows)])


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def secs(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(runs: list[Run], mode: str) -> str:
    out: list[str] = []
    if not runs:
        return "no case selected"
    cluster = mode == "cluster"
    verbs = sorted({k for r in runs for k in r.requests}, key=lambda v: (not v.startswith("create jobs"), v))
    source = (
        "the client's own count, PoliteApiClient.requests; by verb: a tally under it"
        if cluster
        else "the client's, from the emulator's audit log; checked against the client's own count"
    )
    out += ["", f"API requests ({source}); goal: <= 2 per task on the DAG"]
    out.append(
        table(
            ["case", "run", "tasks", "requests", "per task", *verbs, "goal"],
            [
                [
                    r.case,
                    r.label,
                    f"{r.tasks:,}",
                    f"{r.total_requests:,}",
                    f"{r.per_task:.3f}",
                    *(f"{r.requests.get(v, 0):,}" for v in verbs),
                    verdict(r.per_task <= 2) if r.case.startswith("dag") else "-",
                ]
                for r in runs
            ],
        )
    )
    timed = [r for r in runs if r.latency_ms]
    if timed:
        clock = (
            "as this process's watch saw them: Complete seen -> ADDED seen"
            if cluster
            else "the emulator's commits"
        )
        out += [
            "",
            f"dependency's Job Complete -> dependent's Job created (ms, {clock});"
            " goal p50 <= 50, p99 <= 250;",
            "Job ctl: a Job's last pod ended -> its Complete (ms, same clock); server: the same latency from"
            " the Jobs' own\ntimestamps (creationTimestamp - Complete lastTransitionTime, whole seconds)",
        ]
        out.append(
            table(
                [
                    "case",
                    "run",
                    "n",
                    "p50",
                    "p95",
                    "p99",
                    "max",
                    "goal",
                    "Job ctl p50",
                    "p99",
                    "server p50 s",
                    "p99",
                ],
                [
                    [
                        r.case,
                        r.label,
                        str(len(r.latency_ms)),
                        *(ms(pct(r.latency_ms, q)) for q in (50, 95, 99, 100)),
                        verdict(pct(r.latency_ms, 50) <= 50 and pct(r.latency_ms, 99) <= 250),
                        *(ms(pct(r.controller_ms, q)) for q in (50, 99)),
                        *(secs(pct(r.server_latency_s, q)) for q in (50, 99)),
                    ]
                    for r in timed
                ],
            )
        )
    split = [r for r in runs if r.decide_ms]
    if split:
        out += [
            "",
            "where it goes (engine driver): Complete -> the engine calls submit;"
            " submit -> the Job seen created",
        ]
        out.append(
            table(
                ["case", "run", "decide p50", "p95", "p99", "POST p50", "p95", "p99"],
                [
                    [
                        r.case,
                        r.label,
                        *(ms(pct(r.decide_ms, q)) for q in (50, 95, 99)),
                        *(ms(pct(r.post_ms, q)) for q in (50, 95, 99)),
                    ]
                    for r in split
                ],
            )
        )
    out += ["", "objects, in-cluster writes and wall time"]
    out.append(
        table(
            [
                "case",
                "run",
                "Jobs",
                "ConfigMaps",
                "pods",
                "Job writes",
                "pod writes",
                "start s",
                "run s",
                "ideal s",
                "tail s",
                "total s",
            ],
            [
                [
                    r.case,
                    r.label,
                    f"{r.jobs_created:,}",
                    f"{r.configmaps_created:,}",
                    f"{r.pods:,}",
                    f"{r.job_writes - r.jobs_created:,}",
                    f"{r.pod_writes:,}",
                    f"{r.startup_s:.1f}",
                    f"{r.run_s:.1f}",
                    "-" if r.ideal_s is None else f"{r.ideal_s:.1f}",
                    f"{r.tail_s:.1f}",
                    f"{r.startup_s + r.run_s + r.tail_s:.1f}",
                ]
                for r in runs
            ],
        )
    )
    managed = [r for r in runs if r.controller_manager is not None]
    if managed:
        out += [
            "",
            "kube-controller-manager's own client from start to settle (all of it: other users' work on"
            " a shared\ncluster included): requests, the rate they came at, their mean wait in its rate"
            " limiter",
        ]
        rows = []
        for r in managed:
            assert r.controller_manager is not None
            sent, limited, waited = r.controller_manager
            span = r.startup_s + r.run_s + r.tail_s
            rows.append(
                [
                    r.case,
                    r.label,
                    f"{sent:,.0f}",
                    f"{sent / span:.1f}" if span > 0 else "-",
                    ms(waited / limited * 1000) if limited else "-",
                ]
            )
        out.append(table(["case", "run", "requests", "per s", "mean wait ms"], rows))
    who = "the real Job controller and kubelet" if cluster else "the emulated Job controller and kubelet"
    out.append(
        "  Jobs, ConfigMaps: created by the client (a dry-run probe is not a Job); pods: created by the Job"
        f" controller;\n  Job/pod writes: by {who} (distinct resourceVersions, the client's"
        " creates excluded).\n  start: process start -> first request; run: first request -> last Job"
        " Complete; ideal: the critical path\n  of the pods' own durations; tail: last Job Complete ->"
        " process exit."
    )
    fans = [r for r in runs if r.case.startswith("fan-out")]
    for qps in sorted({(r.qps, r.burst) for r in fans}):
        pair = [r for r in fans if (r.qps, r.burst) == qps]
        indexed = [r for r in pair if "--no-indexed-jobs" not in r.options]
        per_item = [r for r in pair if "--no-indexed-jobs" in r.options]
        if indexed and per_item and indexed[0].run_s > 0:
            a, b = indexed[0], per_item[0]
            jobs = b.jobs_created / max(a.jobs_created, 1)
            requests = b.total_requests / max(a.total_requests, 1)
            writes = (b.job_writes - b.jobs_created) / max(a.job_writes - a.jobs_created, 1)
            out.append(
                f"  {a.case}, {a.label}: one Job per item creates {times(jobs)} the Jobs, makes"
                f" {times(requests)} the requests and {times(writes)} the Job writes, and takes"
                f" {b.run_s / a.run_s:.1f}x as long"
                " (run s)"
            )
    for r in runs:
        for p in r.problems:
            out.append(f"  PROBLEM {r.case} ({r.label}): {p}")
    return "\n".join(out)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so a run's namespace is deleted however the bench is stopped."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the runs as JSON")
    ap.add_argument(
        "--only", metavar="TEXT", help=f"run only the cases whose name contains TEXT ({', '.join(CASES)})"
    )
    ap.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="PATH",
        help="run on the real cluster of this kubeconfig (a namespace of its own per run) instead of"
        " the emulator",
    )
    ap.add_argument(
        "--controller-metrics",
        metavar="URL",
        help="with --kubeconfig: also read kube-controller-manager's client figures from this /metrics"
        " URL before and after each run (realk8s: https://127.0.0.1:10257/metrics)",
    )
    ap.add_argument(
        "--fan-items", type=int, metavar="N", help="items in the fan-out case (default 2000; 20 with --quick)"
    )
    args = ap.parse_args(argv)
    if args.kubeconfig is not None and not args.kubeconfig.is_file():
        ap.error(f"--kubeconfig {args.kubeconfig}: no such file")
    if args.fan_items is not None and args.fan_items < 1:
        ap.error("--fan-items must be at least 1")
    if args.controller_metrics and args.kubeconfig is None:
        ap.error("--controller-metrics needs --kubeconfig")
    target = Target(
        quick=args.quick,
        fan_items=args.fan_items,
        kubeconfig=args.kubeconfig,
        controller_metrics=args.controller_metrics,
    )
    where = (
        f"the real cluster of {args.kubeconfig} (Kubernetes {target.version})"
        if target.mode == "cluster"
        else "the API emulator (kjob.testing.emulator)"
    )
    load1, load5, _ = (f"{x:.2f}" for x in os.getloadavg())
    print(
        f"kjob's Kubernetes backend on {where}; {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus; "
        f"load average {load1} (1 min), {load5} (5 min)",
        flush=True,
    )

    def save(complete: bool) -> None:
        if not args.json:
            return
        data = {
            "mode": target.mode,
            "server_version": target.version,
            "kubeconfig": str(args.kubeconfig) if args.kubeconfig else None,
            "quick": args.quick,
            "fan_items": target.fan_items,
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
            },
            "complete": complete,
            "runs": [r.summary() for r in target.runs],
        }
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")

    target.on_run = lambda _run: save(complete=False)  # a long run stopped halfway keeps what it measured
    interrupted = False
    try:
        with sigterm_as_interrupt():
            for name, cases in CASES.items():
                if not args.only or args.only in name:
                    cases(target)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        target.close()
    runs = target.runs
    print(report(runs, target.mode))
    save(complete=not interrupted)
    if interrupted:
        print("interrupted: the runs above are the ones that finished", flush=True)
        return 130
    return 1 if any(r.problems for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
