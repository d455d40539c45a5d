"""Cluster access through the official ``kubernetes`` client, with the manners it lacks.

The Python client has no client-side rate limit and no retry on 429/5xx.  :class:`PoliteApiClient`
adds both underneath every call the generated APIs make: a token bucket (``qps``/``burst``, as
client-go's defaults but configurable), ``Retry-After`` honoured on 429, and exponential backoff on
5xx and dropped connections.  Creates are retried too: kjob names every object deterministically, so a
retried create that finds its own object (409) is a success for the caller, never a duplicate.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import urllib3

from kjob.backends.kubernetes.configured import kubeconfig_available
from kjob.errors import ClusterError
from kubernetes import client, config
from kubernetes.client import rest
from kubernetes.config.config_exception import ConfigException

RETRYABLE = frozenset({429, 500, 502, 503, 504})
CONNECT_TIMEOUT = 10.0  # seconds for the first request to a cluster
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class TokenBucket:
    """At most ``burst`` requests at once, refilled at ``qps`` per second; thread-safe."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.qps
            time.sleep(wait)


class PoliteApiClient(client.ApiClient):
    """An ``ApiClient`` that rate-limits and retries every request (watches included)."""

    def __init__(
        self, configuration: client.Configuration, *, qps: float, burst: int, attempts: int = 8
    ) -> None:
        super().__init__(configuration)
        self.bucket = TokenBucket(qps, burst)
        self.attempts = attempts
        self.requests = 0  # every HTTP request sent, retries included (for the benchmarks)
        self._count_lock = threading.Lock()

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> rest.RESTResponse:
        delay = 0.2
        for attempt in range(self.attempts):
            self.bucket.take()
            with self._count_lock:
                self.requests += 1
            last = attempt == self.attempts - 1
            try:
                response: rest.RESTResponse = super().call_api(method, url, *args, **kwargs)
            except (urllib3.exceptions.HTTPError, OSError):
                if last:
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 10.0)
                continue
            if response.status not in RETRYABLE or last:
                return response
            wait = _retry_after(response) if response.status == 429 else None
            time.sleep(wait if wait is not None else delay * (0.5 + random.random()))
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")


def _retry_after(response: rest.RESTResponse) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


@dataclass
class Cluster:
    """A connection to one cluster and namespace."""

    api: PoliteApiClient
    namespace: str
    batch: client.BatchV1Api
    core: client.CoreV1Api
    server_version: tuple[int, int]
    where: str  # kubeconfig path and context, or "in-cluster", for messages

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]


def configured_namespace(kubeconfig: str | None = None, context: str | None = None) -> str | None:
    """The namespace the configuration names (the pod's own in a cluster, else the kubeconfig
    context's), read from local files only: nothing is sent anywhere.  ``None`` when no cluster is
    configured or the context names no namespace."""
    if kubeconfig is not None and not os.path.isfile(kubeconfig):
        raise ClusterError(f"kubeconfig {kubeconfig} does not exist", hint="check --kubeconfig")
    if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        if os.path.isfile(SERVICE_ACCOUNT_NAMESPACE):
            with open(SERVICE_ACCOUNT_NAMESPACE) as f:
                return f.read().strip() or None
        return None
    if not kubeconfig_available(kubeconfig):
        return None
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as err:
        raise ClusterError(
            f"cannot load the cluster configuration: {err}", hint="check --kubeconfig/--context"
        ) from None
    chosen = next((c for c in contexts if c["name"] == context), None) if context else active
    if chosen is None:
        what = f"no context '{context}'" if context else "no current context"
        raise ClusterError(f"the kubeconfig has {what}", hint="check --context")
    namespace: str | None = (chosen.get("context") or {}).get("namespace")
    return namespace or None


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    qps: float = 20.0,
    burst: int = 30,
) -> Cluster:
    """Connect with the official client's own loaders: in-cluster config when running in a pod (and
    no kubeconfig was given), otherwise the kubeconfig file and context."""
    if kubeconfig is not None and not os.path.isfile(kubeconfig):
        raise ClusterError(f"kubeconfig {kubeconfig} does not exist", hint="check --kubeconfig")
    configuration = client.Configuration()
    default_namespace = "default"
    try:
        if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            where = "in-cluster"
            if os.path.isfile(SERVICE_ACCOUNT_NAMESPACE):
                with open(SERVICE_ACCOUNT_NAMESPACE) as f:
                    default_namespace = f.read().strip() or default_namespace
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
            chosen = next((c for c in contexts if c["name"] == context), active) if context else active
            default_namespace = (chosen or {}).get("context", {}).get("namespace") or default_namespace
            where = (
                f"{kubeconfig or os.environ.get('KUBECONFIG') or '~/.kube/config'}, context {chosen['name']}"
            )
    except (ConfigException, OSError) as err:
        raise ClusterError(
            f"cannot load the cluster configuration: {err}", hint="check --kubeconfig/--context"
        ) from None
    api = PoliteApiClient(configuration, qps=qps, burst=burst)
    cluster = Cluster(
        api=api,
        namespace=namespace or default_namespace,
        batch=client.BatchV1Api(api),
        core=client.CoreV1Api(api),
        server_version=(0, 0),
        where=where,
    )
    cluster.server_version = _server_version(api, where)
    return cluster


def _server_version(api: PoliteApiClient, where: str) -> tuple[int, int]:
    """The first request: tried twice, 10 s at most each, so an unreachable cluster is said at once
    (later requests ride out a flaky connection with the full retries)."""
    attempts, api.attempts = api.attempts, 2
    try:
        info = client.VersionApi(api).get_code(_request_timeout=CONNECT_TIMEOUT)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterError(
            f"cannot reach the cluster ({where}): {describe_error(err)}",
            hint="check that it runs and that the kubeconfig's server address is right",
        ) from None
    finally:
        api.attempts = attempts
    major = int("".join(ch for ch in str(info.major) if ch.isdigit()) or 0)
    minor = int("".join(ch for ch in str(info.minor) if ch.isdigit()) or 0)
    return major, minor


def describe_error(err: Exception) -> str:
    """An API or connection error in one short line: the status and reason, or the root cause of a
    connection failure (``127.0.0.1:6443: connection refused``), whole words only."""
    if isinstance(err, client.ApiException):
        return f"{err.status} {err.reason}"
    where = ""
    if isinstance(err, urllib3.exceptions.MaxRetryError) and err.reason is not None:
        pool = err.pool
        where = f"{pool.host}:{pool.port}: " if pool is not None else ""
        err = err.reason
    cause: BaseException = err
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    if isinstance(cause, OSError) and cause.strerror:
        return f"{where}{cause.strerror.lower()}"
    text = (str(err).splitlines() or [type(err).__name__])[0]
    return where + (text if len(text) <= 200 else text[:200].rsplit(" ", 1)[0] + " …")
