"""Object storage with one global ``resourceVersion`` counter, a bounded event history and watches.

This plays etcd plus the apiserver's watch cache:

* every write takes the next value of a single counter, as etcd's revision does, and the object's
  ``metadata.resourceVersion`` is that value as a string (a DELETED event carries the deletion's
  revision);
* the last ``history_window`` events are kept; a watch may start from any revision still in the
  window and replays the events after it, while an older revision gets the ``410 Expired`` "too old
  resource version" error that ``kubernetes.watch.Watch`` turns into ``ApiException(410)``;
  :meth:`Store.compact` drops the whole history, as etcd compaction does;
* a watch with a selector sees an object that stops matching as DELETED and one that starts
  matching as ADDED, exactly like the cacher's filtered watchers.

One re-entrant lock guards everything; objects go in and out as deep copies.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kjob.testing.emulator.errors import expired
from kjob.testing.emulator.util import Obj, deepcopy, meta

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
Predicate = Callable[[Obj], bool]


@dataclass(frozen=True)
class Event:
    """One committed change: ``type`` is ADDED, MODIFIED or DELETED."""

    rv: int
    resource: str
    namespace: str
    type: str
    obj: Obj
    old: Obj | None


@dataclass
class Watcher:
    """A live watch: events that pass its filter land in ``queue`` (``None`` means "closed")."""

    resource: str
    namespace: str | None
    predicate: Predicate
    queue: queue.Queue[tuple[str, Obj] | None] = field(default_factory=queue.Queue)

    def transform(self, ev: Event) -> tuple[str, Obj] | None:
        """The event as this watcher sees it (selector transitions become ADDED/DELETED)."""
        if ev.resource != self.resource or (self.namespace is not None and ev.namespace != self.namespace):
            return None
        now = self.predicate(ev.obj)
        if ev.type == "ADDED":
            return ("ADDED", ev.obj) if now else None
        if ev.type == "DELETED":
            return ("DELETED", ev.obj) if now else None
        before = ev.old is not None and self.predicate(ev.old)
        if now and before:
            return ("MODIFIED", ev.obj)
        if now:
            return ("ADDED", ev.obj)
        if before:
            return ("DELETED", ev.obj)
        return None


class Store:
    """All objects of all resources, keyed by ``(namespace, name)`` within a resource."""

    def __init__(self, history_window: int = 1000) -> None:
        self.lock = threading.RLock()
        #: Notified after every commit; controllers wait on it between ticks.
        self.changed = threading.Condition(self.lock)
        self._objects: dict[str, dict[Key, Obj]] = {}
        self._rv = 0
        self._history: deque[Event] = deque()
        self._window = max(1, history_window)
        self._compacted = 0
        self._watchers: list[Watcher] = []
        #: Bumped on every commit; cheap "did anything change" test for controllers.
        self.generation = 0

    # ----------------------------------------------------------------------------- reads
    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    @property
    def compacted_revision(self) -> int:
        with self.lock:
            return self._compacted

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        with self.lock:
            obj = self._objects.get(resource, {}).get((namespace, name))
            return deepcopy(obj) if obj is not None else None

    def peek(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The stored object itself, uncopied: for callers holding :attr:`lock` that only read it."""
        with self.lock:
            return self._objects.get(resource, {}).get((namespace, name))

    def exists(self, resource: str, namespace: str, name: str) -> bool:
        with self.lock:
            return (namespace, name) in self._objects.get(resource, {})

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Copies of the objects, sorted by ``(namespace, name)`` as etcd's key order sorts them."""
        with self.lock:
            objs = self._objects.get(resource, {})
            return [deepcopy(objs[k]) for k in sorted(objs) if namespace is None or k[0] == namespace]

    # ---------------------------------------------------------------------------- writes
    def _commit(self, resource: str, namespace: str, type_: str, obj: Obj, old: Obj | None) -> Obj:
        self._rv += 1
        self.generation += 1
        meta(obj)["resourceVersion"] = str(self._rv)
        ev = Event(self._rv, resource, namespace, type_, deepcopy(obj), deepcopy(old) if old else None)
        self._history.append(ev)
        while len(self._history) > self._window:
            self._compacted = self._history.popleft().rv
        for w in list(self._watchers):
            seen = w.transform(ev)
            if seen is not None:
                w.queue.put(seen)
        self.changed.notify_all()
        return deepcopy(obj)

    def put_new(self, resource: str, namespace: str, name: str, obj: Obj) -> Obj:
        """Insert ``obj`` (the caller checked it does not exist) and return the stored copy."""
        with self.lock:
            stored = deepcopy(obj)
            self._objects.setdefault(resource, {})[(namespace, name)] = stored
            return self._commit(resource, namespace, "ADDED", stored, None)

    def put(self, resource: str, namespace: str, name: str, obj: Obj) -> Obj:
        """Replace an existing object; returns the stored copy with its new resourceVersion."""
        with self.lock:
            bucket = self._objects.setdefault(resource, {})
            old = bucket.get((namespace, name))
            stored = deepcopy(obj)
            bucket[(namespace, name)] = stored
            return self._commit(resource, namespace, "MODIFIED", stored, old)

    def remove(self, resource: str, namespace: str, name: str) -> Obj | None:
        """Remove the object; the DELETED event and the returned copy carry a fresh revision."""
        with self.lock:
            bucket = self._objects.get(resource, {})
            old = bucket.pop((namespace, name), None)
            if old is None:
                return None
            final = deepcopy(old)
            return self._commit(resource, namespace, "DELETED", final, old)

    def compact(self) -> int:
        """Forget the event history, as etcd compaction does; returns the compacted revision."""
        with self.lock:
            self._history.clear()
            self._compacted = self._rv
            return self._rv

    # ---------------------------------------------------------------------------- watches
    def watch(self, resource: str, namespace: str | None, predicate: Predicate, since: int | None) -> Watcher:
        """Register a watch. ``since=None`` replays the current objects as ADDED first.

        A revision older than the history window raises the 410 "too old resource version" error.
        """
        with self.lock:
            w = Watcher(resource, namespace, predicate)
            if since is None:
                for obj in self.list(resource, namespace):
                    if predicate(obj):
                        w.queue.put(("ADDED", obj))
            else:
                if since < self._compacted:
                    raise expired(f"too old resource version: {since} ({self._compacted})")
                for ev in self._history:
                    if ev.rv > since:
                        seen = w.transform(ev)
                        if seen is not None:
                            w.queue.put((seen[0], deepcopy(seen[1])))
            self._watchers.append(w)
            return w

    def unwatch(self, w: Watcher) -> None:
        with self.lock:
            if w in self._watchers:
                self._watchers.remove(w)

    def close_watches(self) -> None:
        with self.lock:
            for w in self._watchers:
                w.queue.put(None)
            self._watchers.clear()
            self.changed.notify_all()
