"""``memoize`` caches in ConfigMaps, as Argo keeps them: the ConfigMap named by the cache, labelled
``workflows.argoproj.io/configmap-type: Cache``, one data key per cache key holding the JSON entry
``{nodeID, outputs, creationTimestamp, lastHitTimestamp}``.  A ConfigMap without that label is not
used (Argo refuses it too), so a cache never overwrites a ConfigMap that is something else.  Writes
carry the read's ``resourceVersion`` and are tried again on 409."""

from __future__ import annotations

import json
import time
from typing import Any

from kjob.backends.coordination import MemoEntry, rfc3339
from kjob.backends.kubernetes.cluster import Cluster
from kjob.errors import ClusterError, KjobError
from kubernetes import client

CACHE_LABEL = "workflows.argoproj.io/configmap-type"
CACHE_LABEL_VALUE = "Cache"
_CONFLICT_TRIES = 5


class ConfigMapMemo:
    """Memoize caches in the ConfigMaps of ``cluster.namespace``."""

    def __init__(self, cluster: Cluster) -> None:
        self.namespace = cluster.namespace
        self.core: Any = client.CoreV1Api(cluster.api)  # bodies are plain dicts

    def now(self) -> float:
        return time.time()

    def load(self, cache: str, key: str) -> MemoEntry | None:
        for _ in range(_CONFLICT_TRIES):
            config_map = self._read(cache)
            if config_map is None:
                return None
            raw = (config_map.data or {}).get(key)
            if not raw:
                return None
            try:
                data = json.loads(raw)
            except json.JSONDecodeError:
                raise KjobError(f"malformed cache entry {key} in ConfigMap {cache}: not JSON") from None
            entry = MemoEntry.from_argo(data)
            data["lastHitTimestamp"] = rfc3339(self.now())
            config_map.data[key] = json.dumps(data, separators=(",", ":"))
            if self._write(cache, config_map):
                return entry
        raise ClusterError(f"ConfigMap {cache} kept changing while its cache entry {key} was read")

    def save(self, cache: str, key: str, entry: MemoEntry) -> None:
        text = json.dumps(entry.to_argo(), separators=(",", ":"))
        for _ in range(_CONFLICT_TRIES):
            config_map = self._read(cache)
            if config_map is None:
                body: Any = {
                    "metadata": {"name": cache, "labels": {CACHE_LABEL: CACHE_LABEL_VALUE}},
                    "data": {key: text},
                }
                try:
                    self.core.create_namespaced_config_map(self.namespace, body)
                    return
                except client.ApiException as err:
                    if err.status != 409:
                        raise _error(err, f"creating ConfigMap {cache}") from None
                    continue
            config_map.data = {**(config_map.data or {}), key: text}
            if self._write(cache, config_map):
                return
        raise ClusterError(f"ConfigMap {cache} kept changing while its cache entry {key} was saved")

    def _read(self, cache: str) -> Any:
        try:
            config_map = self.core.read_namespaced_config_map(cache, self.namespace)
        except client.ApiException as err:
            if err.status == 404:
                return None
            raise _error(err, f"reading ConfigMap {cache}") from None
        if (config_map.metadata.labels or {}).get(CACHE_LABEL) != CACHE_LABEL_VALUE:
            raise KjobError(
                f"memoization ConfigMap {cache} does not have the label {CACHE_LABEL}={CACHE_LABEL_VALUE}: "
                "refusing to use it",
                hint="name another cache, or label the ConfigMap if it is a cache",
            )
        return config_map

    def _write(self, cache: str, config_map: Any) -> bool:
        """Replace the ConfigMap as read; ``False`` on 409 (changed since)."""
        try:
            self.core.replace_namespaced_config_map(cache, self.namespace, config_map)
            return True
        except client.ApiException as err:
            if err.status == 409:
                return False
            raise _error(err, f"writing ConfigMap {cache}") from None


def _error(err: client.ApiException, what: str) -> KjobError:
    return ClusterError(f"{what}: {err.status} {err.reason}")
