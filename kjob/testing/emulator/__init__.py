"""An in-process Kubernetes API for tests: kube-apiserver + Job controller + kubelet over real HTTP.

``Emulator`` serves the Kubernetes REST API on ``127.0.0.1`` (a random free port) so that the
official ``kubernetes`` Python client, ``kubectl``-style tools or kjob's Kubernetes backend talk
to it unchanged. A background thread plays the controllers that matter for batch work: the Job
controller, the TTL-after-finished controller, the garbage collector, the namespace controller, the
scheduler and a kubelet whose containers do what the test's *behaviour* says (a scripted outcome,
or the container command run as a host process).

Typical use::

    from kubernetes import client, config
    from kjob.testing.emulator import Emulator, PodScript, scripted

    with Emulator(behaviour=scripted(by_job={"bad": PodScript(exit_code=3)})) as emu:
        cfg = client.Configuration()
        kubeconfig = emu.write_kubeconfig(tmp / "kubeconfig")
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        batch = client.BatchV1Api(client.ApiClient(cfg))
        ...
        assert emu.audit_counts(verb="create", resource="jobs", code=201)[("create", "jobs", "my-job")] == 1

What is emulated is described module by module: :mod:`.api` (REST semantics, dry run), :mod:`.store`
(resource versions, watches, 410), :mod:`.validation` (OpenAPI schema + the Job/Pod/ConfigMap
rules), :mod:`.defaults`, :mod:`.features` (the Job feature gates, on or off), :mod:`.patch`,
:mod:`.selectors`, :mod:`.jobs` (Job + TTL controllers), :mod:`.nodes` (the nodes and their
capacity), :mod:`.scheduler` (placement by requests, node selectors and claims, with the real
scheduler's ``Unschedulable`` messages), :mod:`.volumes` (claims bound to volumes, a default
StorageClass), :mod:`.kubelet`, :mod:`.hostproc` (host-process containers), :mod:`.gc` (garbage
collector + namespace controller), :mod:`.authz` (who may do what: 403s and
SelfSubjectAccessReviews as RBAC answers them), :mod:`.faults`, :mod:`.audit`, :mod:`.ledger`
(controller errors, for test harnesses).

Not emulated (a client can tell): authentication (a bearer token names an identity made with
:meth:`Emulator.add_identity`, any other request is the admin), RBAC objects (Roles and bindings are
stored nowhere; identities carry their rules), TLS, protobuf and Table output (JSON only),
server-side apply (415), ``managedFields``, OpenAPI endpoints, Events from the controllers, CronJob
scheduling (CronJobs are stored, not run), Services/Deployments and other kinds, resource quotas and
limit ranges, taints, pod affinity, priorities and preemption, images (ignored; host-process mode
runs the command on the host), init containers (accepted, counted by the scheduler, not run),
``sendInitialEvents``, watches from a future resourceVersion (treated as "now"), snapshot-consistent
pagination (a ``continue`` page reads current objects), the Job controller's one-second batching of
pod events, ``successPolicy``, ``managedBy``, the projected service-account token volume, and the
kubelet's own checks on a pod given a ``nodeName`` directly, bypassing the scheduler (it runs
whatever the node has left, and mounts its claims Bound or not).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kjob.testing.emulator import kubeconfig
from kjob.testing.emulator.api import Registry
from kjob.testing.emulator.audit import AuditEntry, AuditLog
from kjob.testing.emulator.authz import Authorizer, Identity, Rule
from kjob.testing.emulator.behaviour import (
    Behaviour,
    HostProcess,
    Outcome,
    PodScript,
    PodView,
    host_process,
    scripted,
    succeed_instantly,
)
from kjob.testing.emulator.errors import ApiError
from kjob.testing.emulator.faults import FaultInjector, Faults, make_faults
from kjob.testing.emulator.gc import GarbageCollector
from kjob.testing.emulator.jobs import JobController
from kjob.testing.emulator.kubelet import Kubelet
from kjob.testing.emulator.ledger import LEDGER
from kjob.testing.emulator.nodes import Node, default_nodes, node_object
from kjob.testing.emulator.resources import resource
from kjob.testing.emulator.scheduler import Scheduler
from kjob.testing.emulator.server import App, EmulatorHTTPServer, ServerConfig
from kjob.testing.emulator.store import Store
from kjob.testing.emulator.util import Clock, NameGenerator, Obj
from kjob.testing.emulator.volumes import VolumeController, storage_class

__all__ = [
    "AuditEntry",
    "Behaviour",
    "Clients",
    "Emulator",
    "Faults",
    "HostProcess",
    "Node",
    "Outcome",
    "PodScript",
    "PodView",
    "host_process",
    "scripted",
]

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class Clients:
    """``kubernetes.client`` objects for one emulator: ``api`` (ApiClient), ``core``, ``batch``."""

    api: Any
    core: Any
    batch: Any

    def close(self) -> None:
        self.api.close()


class Emulator:
    """A running API server + controllers. Use as a context manager, or call :meth:`start`/:meth:`close`.

    Parameters (all keyword-only except ``behaviour``):

    * ``behaviour`` — what pods do (default: every container exits 0 at once);
    * ``version`` — the ``gitVersion`` reported by ``/version``; also selects the OpenAPI schema and
      version-dependent behaviour (1.31+: ``SuccessCriteriaMet``/``FailureTarget`` conditions);
    * ``speed`` — emulated seconds per real second (deadlines, TTLs, back-offs, scripted durations);
    * ``tick`` — controller loop period in real seconds;
    * ``pod_backoff``/``max_pod_backoff`` — the Job controller's pod-failure back-off (real: 10 s
      doubling up to 10 min); ``crashloop_backoff`` — the kubelet's restart back-off base;
    * ``history_window`` — how many events watches can resume from; ``bookmark_interval`` — seconds
      between BOOKMARKs on watches that allow them; ``max_watch_timeout`` — cap on a watch's life;
    * ``strict_fields`` — treat a request without ``fieldValidation`` as ``Strict`` (unknown fields
      are a 400) instead of the real default ``Warn`` (dropped with a warning);
    * ``seed`` — seeds UIDs, generated names and fault decisions;
    * ``workdir`` — where host processes get their pod roots (default: a temporary directory);
    * ``nodes`` — the cluster's :class:`Node` s (default: two of 8 cpu / 32Gi / 110 pods, like the
      real test cluster); more can be added with :meth:`add_node` or through the API;
    * ``default_storage_class`` — name of the default StorageClass whose claims are provisioned at
      once (``None``: no StorageClass, claims wait for a matching PersistentVolume);
    * ``feature_gates`` — gates to turn on or off, as ``kube-apiserver --feature-gates`` does, e.g.
      ``{"JobBackoffLimitPerIndex": False}`` (default: the emulated version's defaults; see
      :mod:`.features`);
    * ``forbid`` — ``(verb, resource)`` pairs denied to every client, e.g. ``[("watch", "jobs")]``
      (see :meth:`forbid` and, for an identity allowed only some rules, :meth:`add_identity`).
    """

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        version: str = "v1.31.0",
        port: int = 0,
        speed: float = 1.0,
        tick: float = 0.02,
        pod_backoff: float = 10.0,
        max_pod_backoff: float = 600.0,
        crashloop_backoff: float = 10.0,
        history_window: int = 1000,
        bookmark_interval: float = 60.0,
        max_watch_timeout: float = 1800.0,
        strict_fields: bool = True,
        seed: int | None = 0,
        workdir: str | Path | None = None,
        namespaces: Collection[str] = DEFAULT_NAMESPACES,
        nodes: Sequence[Node] | None = None,
        default_storage_class: str | None = "standard",
        feature_gates: Mapping[str, bool] | None = None,
        forbid: Collection[tuple[str, str]] = (),
    ) -> None:
        self.version = version
        self.tick = tick
        self.clock = Clock(speed)
        self.store = Store(history_window)
        self.registry = Registry(
            self.store,
            self.clock,
            NameGenerator(seed),
            version,
            strict_fields=strict_fields,
            gates=feature_gates,
        )
        self._own_workdir = workdir is None
        self.workdir = (
            Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="kjob-emulator-"))
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._attempts: dict[str, int] = {}
        #: What the controllers ran into, in order; one list shared by all of them.
        self._errors: list[str] = []
        self.kubelet = Kubelet(
            self.registry,
            behaviour or succeed_instantly,
            self.workdir,
            self._attempts,
            crashloop_backoff=crashloop_backoff,
            errors=self._errors,
        )
        self.jobs = JobController(
            self.registry,
            self._attempts,
            backoff=pod_backoff,
            max_backoff=max_pod_backoff,
            errors=self._errors,
        )
        self.gc = GarbageCollector(self.registry)
        self.scheduler = Scheduler(self.registry)
        self.volumes = VolumeController(self.registry, self.workdir)
        self._faults = FaultInjector()
        if seed is not None:
            self._faults.configure(Faults(seed=seed))
        self._audit = AuditLog()
        self.authorizer = Authorizer()
        self.authorizer.forbid(forbid)
        self._app = App(
            self.registry,
            self.kubelet,
            self._faults,
            self._audit,
            ServerConfig(version, bookmark_interval, max_watch_timeout),
            self._admin,
            self.authorizer,
        )
        self._port = port
        self._server: EmulatorHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._closed = False
        for ns in namespaces:
            self.registry.create(resource("namespaces"), None, {"metadata": {"name": ns}})
        for i, node in enumerate(default_nodes() if nodes is None else nodes):
            self.add_node(node, index=i)
        if default_storage_class is not None:
            self.registry.create(resource("storageclasses"), None, storage_class(default_storage_class))
        LEDGER.register(self)

    # ------------------------------------------------------------------------ lifecycle
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer(("127.0.0.1", self._port), self._app)
        self._app.address = f"127.0.0.1:{self._server.server_address[1]}"
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="kjob-emulator-http",
            daemon=True,
        )
        loop = threading.Thread(target=self._loop, name="kjob-emulator-controllers", daemon=True)
        self._threads = [serve, loop]
        for t in self._threads:
            t.start()
        return self

    def close(self) -> None:
        """Stop serving, end every watch, kill host processes; bounded and idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._app.closing.set()
        self.store.close_watches()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_all()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self.kubelet.shutdown()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        LEDGER.close(self)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _loop(self) -> None:
        """Run the controllers whenever the store changed or a timed event (deadline, back-off,
        scripted container exit, TTL) is due; otherwise sleep. Ends on ``close()``."""
        reruns = 0
        seen = -1
        due: float | None = None
        while not self._stop.is_set():
            generation = self.store.generation
            if generation != seen or (due is not None and self.clock.now() >= due):
                dues: list[float] = []
                steps = (
                    self.gc.step,
                    self.volumes.step,
                    self.jobs.step,
                    self.scheduler.step,
                    self.kubelet.step,
                )
                for step in steps:
                    try:
                        d = step()
                        if d is not None:
                            dues.append(d)
                    except ApiError as e:
                        self._errors.append(f"{step.__qualname__}: {e.message}")
                    except Exception as e:  # keep the cluster alive; the error is reported
                        self._errors.append(f"{step.__qualname__}: {type(e).__name__}: {e}")
                due = min(dues) if dues else None
                seen = generation
                if self.store.generation != generation and reruns < 10:
                    reruns += 1
                    continue
                reruns = 0
            wait = 0.5 if due is None else min(self.clock.real(due - self.clock.now()), 0.5)
            with self.store.changed:
                if self.store.generation == seen and not self._stop.is_set():
                    self.store.changed.wait(timeout=max(wait, self.tick))

    # --------------------------------------------------------------------------- access
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        namespace: str = "default",
        context: str = "kjob-emulator",
        token: str | None = None,
    ) -> Path:
        """Write a kubeconfig for this emulator; ``kubernetes.config.load_kube_config`` accepts it.

        ``token``: one from :meth:`add_identity`, to act as that identity (default: the admin).
        """
        return kubeconfig.write(path, self.url, namespace=namespace, context=context, token=token)

    # ----------------------------------------------------------------------- authorization
    def add_identity(
        self,
        user: str,
        rules: Sequence[Mapping[str, Sequence[str]]],
        *,
        namespace: str | None = None,
        granted_by: str = "",
    ) -> str:
        """A bearer token for ``user``, allowed exactly the RBAC ``rules`` (``{"apiGroups": [...],
        "resources": [...], "verbs": [...]}``) in ``namespace`` (``None``: everywhere), like a
        Role and RoleBinding; ``granted_by`` names the binding in review answers (see :mod:`.authz`).
        Pass the token to :meth:`write_kubeconfig`.
        """
        rule_set = tuple(Rule.from_dict(r) for r in rules)
        return self.authorizer.add_identity(Identity(user, rule_set, namespace, granted_by))

    def forbid(self, *pairs: tuple[str, str]) -> None:
        """Deny ``(verb, resource)`` pairs to every client from now on, e.g.
        ``emu.forbid(("watch", "jobs"), ("get", "pods/log"))``: a 403 as RBAC gives it."""
        self.authorizer.forbid(pairs)

    def allow_all(self) -> None:
        """Undo :meth:`forbid` (identities keep their rules)."""
        self.authorizer.allow_all()

    def configuration(self) -> Any:
        """A ``kubernetes.client.Configuration`` for this emulator (no global state touched)."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.url
        return cfg

    def api_client(self) -> Any:
        from kubernetes import client

        return client.ApiClient(self.configuration())

    def clients(self) -> Clients:
        """Official-client API objects bound to this emulator."""
        from kubernetes import client

        api = self.api_client()
        return Clients(api, client.CoreV1Api(api), client.BatchV1Api(api))

    def add_node(self, node: Node, *, index: int | None = None) -> Obj:
        """Register one more node (its ``Node`` object, as its kubelet would); returns the object."""
        if index is None:
            index = len(self.store.items("nodes"))
        obj = node_object(node, index, self.clock.timestamp())
        return self.registry.create(resource("nodes"), None, obj, decoded=True).body

    def set_behaviour(self, behaviour: Behaviour) -> None:
        """Change what pods admitted from now on do."""
        self.kubelet.behaviour = behaviour

    # ---------------------------------------------------------------------------- state
    def objects(self, resource_name: str, namespace: str | None = None) -> list[Obj]:
        """Copies of the stored objects of a resource (``"jobs"``, ``"pods"``…), sorted by name."""
        resource(resource_name)
        return self.store.list(resource_name, namespace)

    def get(self, resource_name: str, namespace: str, name: str) -> Obj | None:
        resource(resource_name)
        return self.store.get(resource_name, namespace if resource(resource_name).namespaced else "", name)

    @property
    def resource_version(self) -> int:
        return self.store.resource_version

    def compact(self) -> int:
        """Drop the watch history (like etcd compaction): watches from older versions get 410."""
        return self.store.compact()

    def pod_log(self, namespace: str, name: str, container: str | None = None) -> str:
        pod = self.registry.get(resource("pods"), namespace, name)
        text, _, _ = self.kubelet.logs(pod, container, False)
        return text

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
        """Poll ``predicate`` until it returns something truthy; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            time.sleep(interval)

    @property
    def errors(self) -> list[str]:
        """Errors the controllers ran into (failed pod creations, emulator bugs), oldest first.

        Every emulator is listed in :data:`.ledger.LEDGER`, through which a test harness can find
        new errors of emulators it never saw (``tests/conftest.py`` fails a test that caused any).
        """
        return list(self._errors)

    def describe(self) -> str:
        """``emulator http://127.0.0.1:PORT`` (or ``emulator (not started)``), for messages."""
        return f"emulator {self.url}" if self._server is not None else "emulator (not started)"

    # ---------------------------------------------------------------------------- faults
    def faults(
        self,
        *,
        error_rate: float = 0.0,
        throttle_rate: float = 0.0,
        retry_after: int = 1,
        drop_connection_rate: float = 0.0,
        drop_watch_after: tuple[float, float] | None = None,
        latency: tuple[float, float] | None = None,
        seed: int | None = 0,
        verbs: Collection[str] | None = None,
        resources: Collection[str] | None = None,
        max_faults: int | None = None,
    ) -> Faults:
        """Replace the fault configuration (see :mod:`.faults`); returns it."""
        cfg = make_faults(
            error_rate=error_rate,
            throttle_rate=throttle_rate,
            retry_after=retry_after,
            drop_connection_rate=drop_connection_rate,
            drop_watch_after=drop_watch_after,
            latency=latency,
            seed=seed,
            verbs=verbs,
            resources=resources,
            max_faults=max_faults,
        )
        self._faults.configure(cfg)
        return cfg

    def clear_faults(self) -> None:
        self._faults.configure(Faults())

    # ----------------------------------------------------------------------------- audit
    def audit(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        code: int | None = None,
        subresource: str | None = None,
        dry_run: bool | None = None,
    ) -> list[AuditEntry]:
        """The audit entries matching every given filter, oldest first (``dry_run=False``: leave out
        ``?dryRun=All`` requests, which store nothing)."""
        return self._audit.query(
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
            code=code,
            subresource=subresource,
            dry_run=dry_run,
        )

    def audit_counts(self, **filters: Any) -> Counter[tuple[str, str, str]]:
        """``Counter`` of ``(verb, resource, name)``, e.g. to check each Job was created exactly once."""
        return self._audit.counts(**filters)

    def clear_audit(self) -> None:
        self._audit.clear()

    # ----------------------------------------------------------------------------- admin
    def _admin(self, method: str, path: str, params: dict[str, str], data: Any) -> tuple[int, Obj]:
        route = path.rstrip("/")
        if route == "/_emulator/faults":
            if method == "GET":
                return 200, self._faults.config.to_json()
            if method in ("PUT", "POST"):
                cfg = Faults.from_json(dict(data or {}))
                make_faults(
                    error_rate=cfg.error_rate,
                    throttle_rate=cfg.throttle_rate,
                    drop_connection_rate=cfg.drop_connection_rate,
                )
                self._faults.configure(cfg)
                return 200, cfg.to_json()
            if method == "DELETE":
                self.clear_faults()
                return 200, Faults().to_json()
        if route == "/_emulator/audit":
            if method == "GET":
                code = params.get("code")
                entries = self.audit(
                    verb=params.get("verb"),
                    resource=params.get("resource"),
                    namespace=params.get("namespace"),
                    name=params.get("name"),
                    code=int(code) if code else None,
                )
                return 200, {"items": [e.to_json() for e in entries]}
            if method == "DELETE":
                self.clear_audit()
                return 200, {"items": []}
        if route == "/_emulator/compact" and method == "POST":
            return 200, {"resourceVersion": str(self.compact())}
        if route == "/_emulator/errors" and method == "GET":
            return 200, {"errors": self.errors}
        return 404, {"error": f"no admin endpoint {method} {path}"}
