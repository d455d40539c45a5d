"""The audit log: one entry per API request, like the apiserver's audit backend at level Metadata.

Entries carry the verb (``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``,
``delete``, ``deletecollection``), resource, subresource, namespace, name (for ``create``, the
name the object got, so ``generateName`` creates are countable), the response code (``0`` for a
connection the fault injector dropped), the injected fault if any, whether it was a dry run
(``?dryRun=All``: answered, nothing stored) and the wall-clock time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    verb: str
    resource: str
    namespace: str
    name: str
    code: int
    time: float
    subresource: str = ""
    path: str = ""
    fault: str | None = None
    user_agent: str = ""
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AuditLog:
    def __init__(self, limit: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[AuditEntry] = deque(maxlen=limit)

    def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def query(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        code: int | None = None,
        subresource: str | None = None,
        since: float | None = None,
        dry_run: bool | None = None,
    ) -> list[AuditEntry]:
        with self._lock:
            entries = list(self._entries)
        return [
            e
            for e in entries
            if (verb is None or e.verb == verb)
            and (resource is None or e.resource == resource)
            and (namespace is None or e.namespace == namespace)
            and (name is None or e.name == name)
            and (code is None or e.code == code)
            and (subresource is None or e.subresource == subresource)
            and (since is None or e.time >= since)
            and (dry_run is None or e.dry_run == dry_run)
        ]

    def counts(self, **filters: Any) -> Counter[tuple[str, str, str]]:
        """``Counter`` of ``(verb, resource, name)`` over the entries matching ``filters``."""
        return Counter((e.verb, e.resource, e.name) for e in self.query(**filters))
